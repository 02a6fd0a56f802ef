"""Serve every JS/CSS asset of Territory's folium maps from Territory itself.

folium, its plugins and branca link Leaflet, jQuery, Bootstrap, Font Awesome,
d3 and Leaflet plugins from public CDNs. Offline those maps never render, and
in mainland China the CDN hosts are slow or blocked. Pinned copies of the
files live in ``territory/static/vendor/`` (written by
``scripts/vendor_assets.py``; ``manifest.json`` maps each CDN URL to its
file). This module

* rewrites a map so that it links those copies (:func:`localise`), for the
  Streamlit app, where ``streamlit_folium.st_folium`` loads each element's
  ``default_js``/``default_css`` into its iframe;
* serves Territory's own map runtime (``territory/static/map/territory-map.js``
  and its style sheet, linked by every map of :mod:`territory.render.maps`) the
  same way: from the app, or inlined in a standalone export;
* renders a map as one self-contained HTML document, every script, style
  sheet, font and image inlined (:func:`standalone_html`), for exports that
  open from disk with no network;
* refuses, with :class:`UnvendoredAssetError`, any map that links an asset
  that is not vendored, so a new plugin cannot silently fall back to a CDN.

Tile URLs are data, not assets: they are left alone (``tiles=None`` gives a
map that needs no network at all).

In the Streamlit app::

    from streamlit_folium import st_folium
    from territory.render.assets import localise, streamlit_base_url

    st_folium(localise(m, base_url=streamlit_base_url()), returned_objects=[])

Examples
--------
>>> import folium
>>> from territory.render.assets import localise, standalone_html
>>> m = localise(folium.Map(tiles=None), base_url="/static/")
>>> m.default_js[0]
('leaflet', '/static/vendor/leaflet-1.9.3/leaflet.js')
>>> "cdn.jsdelivr.net" in standalone_html(folium.Map(tiles=None))
False
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath

import folium
from branca.colormap import ColorMap
from branca.element import CssLink, Element, JavascriptLink
from folium.elements import JSCSSMixin
from folium.template import Template

from territory.render import _folium

__all__ = [
    "OWN_ASSETS",
    "STATIC_DIR",
    "VENDOR_DIR",
    "UnvendoredAssetError",
    "linked_assets",
    "localise",
    "standalone_html",
    "static_path",
    "streamlit_base_url",
    "vendored_path",
    "write_standalone_html",
]

#: What the app serves: ``vendor/`` (third-party files) and ``map/`` (Territory's map runtime).
STATIC_DIR: Path = Path(__file__).resolve().parent.parent / "static"
#: The vendored tree: ``<package>-<version>/<file>``, ``manifest.json``, ``README.md``.
VENDOR_DIR: Path = STATIC_DIR / "vendor"
#: Territory's own files, relative to :data:`STATIC_DIR` (their links in a map are these paths).
OWN_ASSETS: frozenset[str] = frozenset({_folium.RUNTIME_JS, _folium.RUNTIME_CSS})

#: branca's ``ColorMap.render`` links d3 with this hard-coded URL (not a ``default_js``).
BRANCA_D3_URL = "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"

_MIME = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".css": "text/css",
    ".js": "text/javascript",
}

#: Where the original (CDN) links of a localised element are kept, so that
#: localising twice, or with another base URL, starts from the same links.
_ORIGINAL = "_territory_cdn_links"


class UnvendoredAssetError(ValueError):
    """A map links JS/CSS that Territory does not vendor.

    Attributes
    ----------
    urls : list of str
        The URLs that have no vendored copy.
    """

    def __init__(self, urls: list[str]):
        self.urls = list(dict.fromkeys(urls))
        listed = "\n  ".join(self.urls)
        super().__init__(
            f"the map links {len(self.urls)} asset(s) that Territory does not vendor, "
            f"so it would load them from the network:\n  {listed}\n"
            "Add the package and these URLs to PACKAGES in scripts/vendor_assets.py, "
            "run `uv run python scripts/vendor_assets.py` and commit territory/static/vendor."
        )


@cache
def _manifest() -> dict:
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))


@cache
def _vendored_files() -> frozenset[str]:
    return frozenset(f["path"] for p in _manifest()["packages"] for f in p["files"])


def vendored_path(url: str) -> str:
    """Return the vendored file (relative to :data:`VENDOR_DIR`) that replaces ``url``.

    ``url`` is a CDN URL that folium, a folium plugin or branca links (see
    ``manifest.json``), or any URL that ends in a vendored path, such as the
    ones :func:`localise` writes.

    Raises
    ------
    UnvendoredAssetError
        If no vendored file replaces ``url``.

    Examples
    --------
    >>> vendored_path("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")
    'leaflet-1.9.3/leaflet.css'
    >>> vendored_path("/app/static/vendor/leaflet-1.9.3/leaflet.css")
    'leaflet-1.9.3/leaflet.css'
    """
    urls = _manifest()["urls"]
    if url in urls:
        return urls[url]
    for path in _vendored_files():
        if url == path or url.endswith("/" + path):
            return path
    raise UnvendoredAssetError([url])


def static_path(url: str) -> str:
    """Return the file (relative to :data:`STATIC_DIR`) that a map's link ``url`` stands for.

    Territory's own files (:data:`OWN_ASSETS`) are linked by their path; a
    CDN URL of folium, a plugin or branca maps to its vendored copy under
    ``vendor/``.

    Raises
    ------
    UnvendoredAssetError
        If no served file replaces ``url``.

    Examples
    --------
    >>> static_path("map/territory-map.js"), static_path("/x/map/territory-map.css")
    ('map/territory-map.js', 'map/territory-map.css')
    >>> static_path("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    'vendor/leaflet-1.9.3/leaflet.js'
    """
    for own in OWN_ASSETS:
        if url == own or url.endswith("/" + own):
            return own
    return "vendor/" + vendored_path(url)


@cache
def _served_files() -> frozenset[str]:
    return frozenset({*(f"vendor/{p}" for p in _vendored_files()), *OWN_ASSETS})


def _local_url(url: str, base_url: str) -> str:
    return base_url + static_path(url)


def _walk(root: Element) -> Iterator[tuple[Element, str, Element]]:
    return _folium.walk(root)


def _cdn_links(el: JSCSSMixin) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The links ``el`` had before Territory localised it (its own links otherwise)."""
    return getattr(el, _ORIGINAL, None) or _folium.links(el)


class _VendoredColorMap(JSCSSMixin):
    """Stands in for a branca ``ColorMap`` so that its d3 is a ``default_js``.

    branca links d3 from a CDN inside ``ColorMap.render``, and
    ``streamlit_folium.st_folium`` adds two CDN copies of d3 for every
    ``ColorMap`` it finds in the tree. This element renders the same legend
    (the colour map's own template and computed fields) but is not a
    ``ColorMap``, and declares d3 like any plugin, so that :func:`localise`
    can point it at the vendored copy.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this.colormap_script(kwargs) }}{% endmacro %}"
    )

    def __init__(self, colormap: ColorMap):
        super().__init__()
        self.colormap = colormap
        _folium.copy_identity(self, colormap)
        _folium.set_links(self, [("d3", BRANCA_D3_URL)], [])

    def colormap_script(self, kwargs: object) -> str:
        """Return the colour map's legend script."""
        return _folium.element_script(self.colormap, kwargs)

    def render(self, **kwargs) -> None:
        """Render the colour map, then link our d3 under the same name (``d3``)."""
        self.colormap.render(**kwargs)
        super().render(**kwargs)


_ICON_PATH_KEY = "territory_leaflet_icon_path"


def localise(m: folium.Map, *, base_url: str) -> folium.Map:
    """Make ``m`` and every element in it link the files served under ``base_url``.

    Every ``default_js``/``default_css`` link of the map and of each
    descendant (plugins, icons, layers, Territory's map runtime) is replaced
    by ``base_url`` + the file's path in :data:`STATIC_DIR`
    (:func:`static_path`); each branca ``ColorMap`` (legends, ``Choropleth``) is
    replaced by an equivalent element whose d3 is vendored; links already in
    the figure's header are rewritten too; and Leaflet is told where its
    default marker images are (``st_folium`` adds style sheets without
    waiting for them, and Leaflet's fallback then asks for
    ``.../leaflet-1.9.3marker-icon.png``). If any link has no vendored copy, nothing is
    changed and :class:`UnvendoredAssetError` lists every such link.

    The map is changed in place (as folium's own ``add_to``) and returned.
    Calling it again with another ``base_url`` is allowed.

    Parameters
    ----------
    m : folium.Map
        The map, with all its layers and plugins added.
    base_url : str
        URL of :data:`STATIC_DIR` as the page showing the map sees it
        (relative URLs are relative to that page), e.g. the value of
        :func:`streamlit_base_url` in the Streamlit app, or a relative path
        for a saved file.

    Returns
    -------
    folium.Map
        ``m``.

    Raises
    ------
    UnvendoredAssetError
        If any element links an asset that is not vendored (all are listed).
    ValueError
        If ``base_url`` is empty.

    Examples
    --------
    >>> import folium
    >>> from folium.plugins import HeatMap
    >>> m = folium.Map(tiles=None)
    >>> _ = HeatMap([[30.66, 104.06, 1.0]]).add_to(m)
    >>> m = localise(m, base_url="../static/")
    >>> [url for _, url in m.default_css][:1]
    ['../static/vendor/leaflet-1.9.3/leaflet.css']
    """
    if not base_url:
        raise ValueError("base_url must not be empty; use './' for the current folder")
    base = base_url if base_url.endswith("/") else base_url + "/"

    elements: list[JSCSSMixin] = [m, *(c for _, _, c in _walk(m) if isinstance(c, JSCSSMixin))]
    colormaps = [(p, k, c) for p, k, c in _walk(m) if isinstance(c, ColorMap)]
    root = m.get_root()
    header_links = [
        c
        for c in _folium.children(getattr(root, "header", Element())).values()
        if isinstance(c, JavascriptLink | CssLink)
    ]

    unknown: list[str] = []
    for el in elements:
        js, css = _cdn_links(el)
        unknown += [u for _, u in js + css if not _is_served(u)]
    if colormaps and not _is_served(BRANCA_D3_URL):  # pragma: no cover - manifest guard
        unknown.append(BRANCA_D3_URL)
    unknown += [link.url for link in header_links if not _is_served(link.url)]
    if unknown:
        raise UnvendoredAssetError(unknown)

    for parent, key, colormap in colormaps:
        stand_in = _VendoredColorMap(colormap)
        _folium.replace_child(parent, key, stand_in)
        elements.append(stand_in)
    for el in elements:
        js, css = _cdn_links(el)
        setattr(el, _ORIGINAL, (js, css))
        _folium.set_links(
            el,
            [(name, _local_url(url, base)) for name, url in js],
            [(name, _local_url(url, base)) for name, url in css],
        )
    for link in header_links:
        link.url = _local_url(link.url, base)
    _folium.insert_first(
        m, _ICON_PATH_KEY, _folium.leaflet_icon_path(f"{base}vendor/{_leaflet_dir()}/images/")
    )
    return m


def _leaflet_dir() -> str:
    return next(p["dir"] for p in _manifest()["packages"] if p["name"] == "leaflet")


def _is_served(url: str) -> bool:
    try:
        static_path(url)
    except UnvendoredAssetError:
        return False
    return True


_SCRIPT_TAG = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script\s*>""", re.I
)
_STYLESHEET_TAG = re.compile(
    r"""<link\b(?=[^>]*\brel\s*=\s*["']stylesheet["'])[^>]*?\bhref\s*=\s*["']([^"']+)["'][^>]*>""",
    re.I,
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+?)\1\s*\)""")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_FONT_FAMILY = re.compile(r"""font-family\s*:\s*['"]?([^;'"}]+)""")


def linked_assets(m: folium.Map) -> list[str]:
    """Return the URL of every script and style sheet that rendering ``m`` links.

    This renders the map's figure (as ``m.save`` does), so it sees links
    added while rendering (branca's d3) as well as every ``default_js`` and
    ``default_css``.

    Examples
    --------
    >>> import folium
    >>> linked_assets(folium.Map(tiles=None))[0]
    'https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js'
    """
    head = _split_head(m.get_root().render())[0]
    return [*_SCRIPT_TAG.findall(head), *_STYLESHEET_TAG.findall(head)]


def _split_head(html: str) -> tuple[str, str]:
    end = html.find("</head>")
    if end < 0:  # pragma: no cover - branca always writes a head
        raise ValueError("the rendered map has no </head>")
    return html[:end], html[end:]


def _data_uri(path: str) -> str:
    data = (STATIC_DIR / path).read_bytes()
    mime = _MIME[PurePosixPath(path).suffix]
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _inline_css(path: str) -> str:
    """The served style sheet ``path`` with every ``url()`` turned into a data URI."""
    css = (STATIC_DIR / path).read_text(encoding="utf-8")
    folder = PurePosixPath(path).parent

    def replace(match: re.Match[str]) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = _normalise(f"{folder}/{ref.split('?')[0].split('#')[0]}")
        if re.match(r"^[a-z]+:", ref, re.I) or target not in _served_files():
            raise UnvendoredAssetError([f"{ref} (referenced by {path})"])
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(replace, css)


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _default_icon_script(leaflet_dir: str) -> str:
    """Give Leaflet's default marker icon its images as data URIs.

    Leaflet prefixes the icon file names with an image path it finds from
    ``leaflet.css`` (or that :func:`localise` sets); with data URIs there is
    no path, so the prefixing is switched off.
    """
    icon = {
        "iconUrl": _data_uri(f"vendor/{leaflet_dir}/images/marker-icon.png"),
        "iconRetinaUrl": _data_uri(f"vendor/{leaflet_dir}/images/marker-icon-2x.png"),
        "shadowUrl": _data_uri(f"vendor/{leaflet_dir}/images/marker-shadow.png"),
    }
    return (
        f"<script>L.Icon.Default.mergeOptions({json.dumps(icon)});"
        "L.Icon.Default.prototype._getIconUrl = L.Icon.prototype._getIconUrl;</script>"
    )


def _drop_unused_font_faces(styles: list[str], page: str) -> list[str]:
    """Leave out ``@font-face`` rules for families that nothing in the page names.

    Font Awesome declares each font under several legacy family names; only
    the ones its classes use are worth inlining.
    """
    elsewhere = _FONT_FACE.sub("", "\n".join(styles)) + page

    def keep(match: re.Match[str]) -> str:
        family = _FONT_FAMILY.search(match.group(0))
        if family and family.group(1).strip() not in elsewhere:
            return ""
        return match.group(0)

    return [_FONT_FACE.sub(keep, css) for css in styles]


def standalone_html(m: folium.Map) -> str:
    """Render ``m`` as one HTML document that needs no network.

    Every script and style sheet the map links is inlined from the vendored
    tree, and every font and image those style sheets use becomes a data
    URI. Tile layers still load their tiles from their URL (they are data);
    a map made with ``tiles=None`` needs no network at all.

    Parameters
    ----------
    m : folium.Map
        The map; it may or may not have been :func:`localise`-d.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    UnvendoredAssetError
        If the map links an asset that is not vendored, or a vendored style
        sheet references a file that is not vendored.

    Examples
    --------
    >>> import folium
    >>> html = standalone_html(folium.Map(tiles=None))
    >>> "<script src=" in html, html.startswith("<!DOCTYPE html>")
    (False, True)
    """
    head, rest = _split_head(m.get_root().render())
    unknown = [
        u for u in [*_SCRIPT_TAG.findall(head), *_STYLESHEET_TAG.findall(head)] if not _is_served(u)
    ]
    if unknown:
        raise UnvendoredAssetError(unknown)

    leaflet_dir = _leaflet_dir()
    scripts: list[str] = []
    styles: list[str] = []

    def script(match: re.Match[str]) -> str:
        path = static_path(match.group(1))
        code = (STATIC_DIR / path).read_text(encoding="utf-8")
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.I)
        tag = f"<script>/* {path} */\n{code}\n</script>"
        if path == f"vendor/{leaflet_dir}/leaflet.js":
            tag += _default_icon_script(leaflet_dir)
        scripts.append(tag)
        return f"\x00script{len(scripts) - 1}\x00"

    def style(match: re.Match[str]) -> str:
        path = static_path(match.group(1))
        styles.append(f"/* {path} */\n{_inline_css(path)}")
        return f"\x00style{len(styles) - 1}\x00"

    head = _SCRIPT_TAG.sub(script, head)
    head = _STYLESHEET_TAG.sub(style, head)
    for part in (head, rest):
        leftover = [*_SCRIPT_TAG.findall(part), *_STYLESHEET_TAG.findall(part)]
        if leftover:
            raise UnvendoredAssetError(leftover)
    styles = _drop_unused_font_faces(styles, "\n".join(scripts) + head + rest)
    for i, code in enumerate(scripts):
        head = head.replace(f"\x00script{i}\x00", code)
    for i, css in enumerate(styles):
        head = head.replace(f"\x00style{i}\x00", f"<style>{css}</style>")
    return head + rest


def write_standalone_html(m: folium.Map, path: str | Path) -> Path:
    """Write :func:`standalone_html` of ``m`` to ``path`` (UTF-8) and return the path.

    Examples
    --------
    >>> import folium, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> write_standalone_html(folium.Map(tiles=None), out).stat().st_size > 500_000
    True
    """
    path = Path(path)
    path.write_text(standalone_html(m), encoding="utf-8")
    return path


def streamlit_base_url() -> str:
    """Serve :data:`STATIC_DIR` from the running Streamlit server; return its base URL.

    Registers the static tree (vendored files and the map runtime) as the
    files of a (never displayed) custom component, which Streamlit serves at ``<app>/component/<name>/<file>``
    with the right content types, no configuration needed. The returned
    URL is relative to the ``st_folium`` iframe
    (``<app>/component/streamlit_folium.st_folium/index.html``), so it also
    works under ``server.baseUrlPath`` and behind a reverse proxy. Call it
    in the page script (each run), then pass the value to :func:`localise`.

    Returns
    -------
    str
        ``"../territory.render.assets.static/"``.
    """
    from streamlit.components.v1 import declare_component

    component = declare_component("static", path=str(STATIC_DIR))
    return f"../{component.name}/"

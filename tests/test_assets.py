import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import branca.colormap
import folium
import pytest
from branca.element import JavascriptLink
from folium import plugins
from folium.elements import JSCSSMixin

from territory.render.assets import (
    BRANCA_D3_URL,
    VENDOR_DIR,
    UnvendoredAssetError,
    linked_assets,
    localise,
    standalone_html,
    streamlit_base_url,
    vendored_path,
    write_standalone_html,
)

ZONES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"zone_id": "Z1", "name": "锦江 A", "population": 1200},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.6]]],
            },
        }
    ],
}
AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"

#: Every folium/branca element class Territory's maps use that links assets.
ELEMENT_CLASSES = [
    folium.Map,
    plugins.HeatMap,
    plugins.MarkerCluster,
    plugins.Fullscreen,
    plugins.MeasureControl,
]


def full_map(*, tiles: bool = True) -> folium.Map:
    """A map with every layer, control and plugin Territory uses."""
    m = folium.Map(location=[30.66, 104.06], zoom_start=12, tiles=None, maxZoom=18)
    if tiles:
        folium.TileLayer("OpenStreetMap").add_to(m)
        folium.TileLayer(AMAP, attr="© AutoNavi", name="高德", subdomains="1234").add_to(m)
    folium.GeoJson(
        ZONES,
        tooltip=folium.GeoJsonTooltip(["zone_id", "name"]),
        popup=folium.GeoJsonPopup(["name"]),
    ).add_to(m)
    folium.Choropleth(ZONES, data={"Z1": 1.0}, key_on="feature.properties.zone_id").add_to(m)
    folium.CircleMarker([30.65, 104.05], radius=4).add_to(m)
    folium.Marker([30.66, 104.06], icon=folium.Icon(icon="car", prefix="fa", angle=30)).add_to(m)
    folium.Marker([30.67, 104.07], icon=folium.Icon()).add_to(m)
    folium.Marker([30.68, 104.08]).add_to(m)
    plugins.HeatMap([[30.66, 104.06, 1.0]]).add_to(m)
    cluster = plugins.MarkerCluster().add_to(m)
    folium.Marker([30.61, 104.01]).add_to(cluster)
    plugins.Fullscreen().add_to(m)
    plugins.MeasureControl().add_to(m)
    branca.colormap.LinearColormap(["white", "red"], vmin=0, vmax=5, caption="R").add_to(m)
    folium.LayerControl().add_to(m)
    return m


def manifest() -> dict:
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))


def cdn_hosts() -> set[str]:
    hosts = {urlsplit(u).hostname for u in manifest()["urls"]}
    return hosts | {"unpkg.com", "d3js.org"}


# --- the vendored tree ---------------------------------------------------------------------------
def test_vendored_tree_matches_its_manifest():
    listed = {f["path"]: f for p in manifest()["packages"] for f in p["files"]}
    on_disk = {
        p.relative_to(VENDOR_DIR).as_posix()
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "README.md")
    }
    assert on_disk == set(listed)
    for path, entry in listed.items():
        data = (VENDOR_DIR / path).read_bytes()
        assert len(data) == entry["bytes"], path
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], path


def test_every_package_keeps_its_licence_and_pins_its_source():
    for package in manifest()["packages"]:
        names = {Path(f["path"]).name for f in package["files"]}
        if package["source"] == "npm":
            assert package["integrity"].startswith("sha512-"), package["name"]
            assert names & {"LICENSE", "LICENSE.txt"}, package["name"]
        assert package["license"], package["name"]


def test_vendored_css_references_only_vendored_files():
    files = {f["path"] for p in manifest()["packages"] for f in p["files"]}
    css_files = [f for f in files if f.endswith(".css")]
    assert css_files
    for css in css_files:
        text = (VENDOR_DIR / css).read_text(encoding="utf-8")
        for ref in re.findall(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", text):
            if ref.startswith(("data:", "#")):
                continue
            target = (Path(css).parent / ref).as_posix()
            parts: list[str] = []
            for part in target.split("/"):
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            assert "/".join(parts) in files, f"{css} references {ref}"


def test_only_browser_file_types_are_vendored():
    suffixes = {p.suffix for p in VENDOR_DIR.rglob("*") if p.is_file()}
    assert suffixes <= {".js", ".css", ".png", ".svg", ".woff2", ".txt", ".json", ".md", ""}
    assert not list(VENDOR_DIR.rglob("*.map")), "source maps are not vendored"


# --- coverage: every URL of every element we use -------------------------------------------------
@pytest.mark.parametrize("cls", ELEMENT_CLASSES, ids=lambda c: c.__name__)
def test_every_default_link_of_the_elements_we_use_is_vendored(cls):
    links = [*cls.default_js, *cls.default_css]
    assert links, f"{cls.__name__} links nothing: drop it from ELEMENT_CLASSES"
    for _, url in links:
        assert (VENDOR_DIR / vendored_path(url)).is_file(), url


def test_every_link_a_rendered_map_makes_is_vendored():
    urls = linked_assets(full_map())
    assert BRANCA_D3_URL in urls, "branca changed the d3 it links: update BRANCA_D3_URL"
    assert len(urls) >= 19
    for url in urls:
        assert (VENDOR_DIR / vendored_path(url)).is_file(), url


def test_vendored_path_accepts_cdn_and_local_urls():
    assert vendored_path(BRANCA_D3_URL) == "d3-3.5.5/d3.min.js"
    assert vendored_path("/app/static/vendor/d3-3.5.5/d3.min.js") == "d3-3.5.5/d3.min.js"
    assert (
        vendored_path("../territory.render.assets.vendor/d3-3.5.5/d3.min.js")
        == "d3-3.5.5/d3.min.js"
    )
    with pytest.raises(UnvendoredAssetError, match=r"unpkg\.com/leaflet@1\.9\.4"):
        vendored_path("https://unpkg.com/leaflet@1.9.4/dist/leaflet.js")


# --- localise ------------------------------------------------------------------------------------
def test_localise_points_every_link_at_the_base_url():
    m = localise(full_map(), base_url="/app/static")
    urls = linked_assets(m)
    assert urls and all(u.startswith("/app/static/vendor/") for u in urls)
    for url in urls:
        assert (VENDOR_DIR / url.removeprefix("/app/static/vendor/")).is_file(), url
    for el in [m, *m._children.values()]:
        if isinstance(el, JSCSSMixin):
            for _, url in [*el.default_js, *el.default_css]:
                assert url.startswith("/app/static/vendor/"), url


def test_localise_serves_the_map_runtime_beside_the_vendored_files():
    from territory.render import maps
    from territory.render.assets import STATIC_DIR, static_path

    m = localise(maps.base_map(lon=104.06, lat=30.66), base_url="../static/")
    urls = linked_assets(m)
    assert "../static/map/territory-map.js" in urls and "../static/map/territory-map.css" in urls
    assert urls.index("../static/vendor/leaflet-1.9.3/leaflet.js") < urls.index(
        "../static/map/territory-map.js"
    )  # the runtime extends Leaflet
    for url in urls:
        assert (STATIC_DIR / static_path(url)).is_file(), url


def test_localise_leaves_folium_class_defaults_alone():
    before = list(folium.Map.default_js)
    localise(folium.Map(tiles=None), base_url="/v/")
    assert folium.Map.default_js == before
    assert folium.Map(tiles=None).default_js[0][1].startswith("https://")


def test_localise_twice_rebases_without_duplicating():
    m = localise(full_map(), base_url="/first/")
    n_children = len(m._children)
    localise(m, base_url="../second/")
    assert len(m._children) == n_children
    assert all(u.startswith("../second/") for u in linked_assets(m))
    assert (
        'L.Icon.Default.imagePath = "../second/vendor/leaflet-1.9.3/images/"'
        in m.get_root().render()
    )


def test_localise_hides_colormaps_from_st_folium_but_keeps_the_legend():
    # st_folium adds two CDN copies of d3 for each branca ColorMap it finds in the tree.
    m = localise(full_map(), base_url="/v/")

    def walk(el):
        for child in el._children.values():
            yield child
            yield from walk(child)

    assert not [c for c in walk(m) if isinstance(c, branca.colormap.ColorMap)]
    html = m.get_root().render()
    assert html.count("d3.scale.threshold()") == 2  # the Choropleth's legend and ours
    assert '<script src="/v/vendor/d3-3.5.5/d3.min.js"></script>' in html
    assert "cdnjs" not in html


def test_localise_sets_the_default_icon_path_before_any_marker():
    html = localise(full_map(), base_url="/v/").get_root().render()
    assert html.index('L.Icon.Default.imagePath = "/v/vendor/leaflet-1.9.3/images/"') < html.index(
        "L.marker("
    )


class _FromUnpkg(JSCSSMixin):
    """A plugin Territory does not vendor."""

    def __init__(self):
        super().__init__()
        self.default_js = [("mystery", "https://unpkg.com/mystery@1.0.0/mystery.min.js")]


def test_localise_refuses_unvendored_assets_and_changes_nothing():
    m = full_map()
    m.add_child(_FromUnpkg())
    with pytest.raises(UnvendoredAssetError, match=r"unpkg\.com/mystery@1\.0\.0") as info:
        localise(m, base_url="/v/")
    assert info.value.urls == ["https://unpkg.com/mystery@1.0.0/mystery.min.js"]
    assert "scripts/vendor_assets.py" in str(info.value)
    assert m.default_js[0][1].startswith("https://cdn.jsdelivr.net/")


def test_localise_refuses_unvendored_header_links():
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(JavascriptLink("https://example.com/x.js"), name="x")
    with pytest.raises(UnvendoredAssetError, match=r"example\.com/x\.js"):
        localise(m, base_url="/v/")


def test_localise_needs_a_base_url():
    with pytest.raises(ValueError, match="base_url must not be empty"):
        localise(folium.Map(tiles=None), base_url="")


# --- standalone HTML -----------------------------------------------------------------------------
def test_standalone_html_links_nothing():
    html = standalone_html(full_map(tiles=False))
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", html, re.I)
    for host in cdn_hosts():
        assert host not in html, host
    for ref in re.findall(r"""url\(\s*['"]?([^'")]{0,30})""", html):
        assert ref.startswith(("data:", "#default#VML")), ref


def test_standalone_html_inlines_icons_fonts_and_libraries():
    html = standalone_html(full_map(tiles=False))
    assert "/* vendor/leaflet-1.9.3/leaflet.js */" in html
    assert "/* vendor/d3-3.5.5/d3.min.js */" in html
    assert "data:font/woff2;base64," in html
    assert "data:image/png;base64," in html
    assert "L.Icon.Default.mergeOptions" in html
    # Font Awesome's legacy family names are not used by anything: not inlined.
    assert '"Font Awesome 6 Free"' in html
    assert 'font-family:"FontAwesome"' not in html


def test_standalone_html_of_a_localised_map_is_the_same_document():
    plain = standalone_html(full_map(tiles=False))
    localised = standalone_html(localise(full_map(tiles=False), base_url="/v/"))
    assert abs(len(plain) - len(localised)) < 2_000


def test_standalone_html_keeps_tile_urls_as_data():
    html = standalone_html(full_map(tiles=True))
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert "is.autonavi.com/appmaptile" in html


def test_standalone_html_refuses_unvendored_assets():
    m = full_map(tiles=False)
    m.add_child(_FromUnpkg())
    with pytest.raises(UnvendoredAssetError, match=r"unpkg\.com/mystery"):
        standalone_html(m)


def test_write_standalone_html(tmp_path):
    out = write_standalone_html(full_map(tiles=False), tmp_path / "map.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert 500_000 < out.stat().st_size < 3_000_000


# --- Streamlit -----------------------------------------------------------------------------------
def test_streamlit_base_url_is_relative_to_the_st_folium_iframe():
    # Outside a running app nothing is registered; the URL is still well formed.
    assert streamlit_base_url() == "../territory.render.assets.static/"


def test_offline_map_app_runs_in_apptest():
    from streamlit.testing.v1 import AppTest

    app = Path(__file__).parent / "apps" / "offline_map_app.py"
    at = AppTest.from_file(str(app), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Offline map"

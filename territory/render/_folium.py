"""The one adapter between Territory and folium/branca internals.

folium and branca keep an element's children, id, name, parent and template in
private fields (``_children``, ``_id``, ``_name``, ``_parent``, ``_template``)
and render scripts by compiling Jinja templates. Territory needs a few things
they do not offer publicly: layers whose (large) script is added without being
compiled again, element ids that never look like phone numbers and stay the
same across renders, the tree of elements to find every linked asset, and a
place to keep what a map was made for (its coordinate system, settings,
tiles). Every access to those private fields is in this module; the map
builders (:mod:`territory.render.maps`) and the asset code
(:mod:`territory.render.assets`) call the functions below.

If a folium or branca upgrade moves one of these fields, this is the only file
to change; ``tests/test_maps.py`` and the browser tests catch it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement, JSCSSMixin
from folium.map import Layer
from folium.template import Template

from territory.settings import MapSettings

__all__ = [
    "RUNTIME_CSS",
    "RUNTIME_JS",
    "MapMeta",
    "add_data_layer",
    "add_fit",
    "add_legend",
    "add_notice",
    "add_ready",
    "children",
    "copy_identity",
    "element_script",
    "insert_first",
    "leaflet_icon_path",
    "links",
    "meta",
    "new_map",
    "replace_child",
    "set_links",
    "stable_ids",
    "walk",
]

#: Territory's own map runtime, relative to ``territory/static`` (see :mod:`territory.render.assets`).
RUNTIME_JS = "map/territory-map.js"
RUNTIME_CSS = "map/territory-map.css"

_STABLE_ID = re.compile(r"^t[a-z]+$")


@dataclass
class MapMeta:
    """What a map was made for: read by every ``add_*`` builder."""

    coord_sys: str = "wgs84"
    tiles: str = "none"
    settings: MapSettings = field(default_factory=MapSettings)


_META = "_territory_meta"


def meta(m: folium.Map) -> MapMeta:
    """The map's :class:`MapMeta` (defaults for a map not made by :func:`new_map`)."""
    return getattr(m, _META, None) or MapMeta()


# --------------------------------------------------------------------------- elements


class _Runtime(JSCSSMixin):
    """Links the map runtime (``territory-map.js`` and its style sheet) after Leaflet."""

    _template = Template("{% macro script(this, kwargs) %}{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "TerritoryRuntime"
        self.default_js = [("territory_map", RUNTIME_JS)]
        self.default_css = [("territory_map_css", RUNTIME_CSS)]


class _Raw(Element):
    """Script text added to the figure as it is: branca would compile it as a template."""

    def __init__(self, text: str) -> None:
        super().__init__("")
        self.text = text

    def render(self, **kwargs) -> str:
        """Return the text."""
        return self.text


class _DataLayer(Layer):
    """A layer the browser builds from its payload: ``territory.layer(kind, payload)``.

    The template is what ``st_folium`` renders (it builds the map's script from
    each element's ``script`` macro); :meth:`render` adds the same text for
    ``Figure.render`` without compiling it again.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = territory.layer('{{ this.kind }}', {{ this.payload }});"
        "{% endmacro %}"
    )

    def __init__(self, kind: str, payload_js: str, *, name: str, show: bool, control: bool):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "TerritoryLayer"
        self.kind = _kind(kind)
        self.payload = payload_js

    def render(self, **kwargs) -> None:
        """Add the layer's script to the figure without compiling it (it can be megabytes)."""
        if self.show:
            # One "add to map" element for good (folium makes a new one, with a new name, on
            # every render, so a map rendered twice would add the layer twice).
            adder = getattr(self, "_adder", None)
            if adder is None:
                adder = self._adder = ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=self._parent.get_name()
                )
            adder._id = f"{self._id}add"  # named after the layer: the same on every render
            adder.element_name = self.get_name()
            adder.element_parent_name = self._parent.get_name()
            self.add_child(adder, name="territory_add")
        script = element_script(self, kwargs)
        self.get_root().script.add_child(_Raw(script), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _Call(MacroElement):
    """``territory.<function>(<the map>, <argument>);`` in the map's script."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "territory.{{ this.function }}({{ this._parent.get_name() }}, {{ this.argument }});"
        "{% endmacro %}"
    )

    def __init__(self, function: str, argument_js: str, name: str) -> None:
        super().__init__()
        self._name = name
        self.function = function
        self.argument = argument_js


class _Fit(MacroElement):
    """Fit the map to bounds at once (folium's FitBounds animates a pan, which redraws)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {animate: false});"
        "{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "TerritoryFit"
        self.bounds = bounds


class _LeafletIconPath(MacroElement):
    """Tell Leaflet where its default marker images are (before any marker is made)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.Icon.Default.imagePath = {{ this.image_path|tojson }};"
        "{% endmacro %}"
    )

    def __init__(self, image_path: str):
        super().__init__()
        self._name = "LeafletIconPath"
        self.image_path = image_path


def leaflet_icon_path(image_path: str) -> MacroElement:
    """An element that sets ``L.Icon.Default.imagePath`` (put it first in a map)."""
    return _LeafletIconPath(image_path)


def _kind(text: str) -> str:
    if not re.fullmatch(r"[a-z_]+", text):  # pragma: no cover - kinds are code constants
        raise ValueError(f"not a layer kind: {text!r}")
    return text


# --------------------------------------------------------------------------- maps


def new_map(
    *,
    location: list[float],
    zoom: int,
    coord_sys: str,
    tiles: str,
    settings: MapSettings,
    metric_scale: bool = True,
) -> folium.Map:
    """A folium map that links only Leaflet and Territory's runtime (no jQuery, Bootstrap, fonts).

    The scale bar is metric only (``metric_scale``); the map's :class:`MapMeta`
    records the coordinate system, tiles and settings.
    """
    m = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        control_scale=False,
        prefer_canvas=True,
        maxZoom=18,
        zoomSnap=0.5,
    )
    m.default_js = [(n, u) for n, u in m.default_js if n == "leaflet"]
    m.default_css = [(n, u) for n, u in m.default_css if n == "leaflet_css"]
    setattr(m, _META, MapMeta(coord_sys=coord_sys, tiles=tiles, settings=settings))
    m.add_child(_Runtime(), name="territory_runtime")
    if metric_scale:
        m.add_child(_Call("scale", "{}", "TerritoryScale"), name="territory_scale")
    return m


def add_data_layer(
    m: folium.Map, kind: str, payload_js: str, *, name: str, show: bool = True, control: bool = True
) -> None:
    """Add a layer of ``kind`` built in the browser from ``payload_js`` (a JS expression)."""
    m.add_child(_DataLayer(kind, payload_js, name=name, show=show, control=control))


def add_legend(m: folium.Map, payload_js: str) -> None:
    """Add ``territory.legend(map, payload)``."""
    m.add_child(_Call("legend", payload_js, "TerritoryLegend"))


def add_notice(m: folium.Map, payload_js: str) -> None:
    """Add ``territory.notice(map, payload)`` (a one-line note on the map)."""
    m.add_child(_Call("notice", payload_js, "TerritoryNotice"), name="territory_notice")


def add_fit(m: folium.Map, bounds: list[list[float]]) -> None:
    """Open the map fitted to ``[[south, west], [north, east]]`` (replaces an earlier fit)."""
    m.add_child(_Fit(bounds), name="territory_fit")


def add_ready(m: folium.Map, background_js: str) -> None:
    """Add ``territory.ready(map, background)`` (sets ``window.territoryMapReady``)."""
    m.add_child(_Call("ready", background_js, "TerritoryReady"), name="territory_ready")


# --------------------------------------------------------------------------- element tree


def children(element: Element) -> dict[str, Element]:
    """The element's children by key (the live mapping)."""
    return element._children


def walk(root: Element) -> Iterator[tuple[Element, str, Element]]:
    """Yield ``(parent, key, child)`` for every descendant of ``root``, depth first."""
    for key, child in list(root._children.items()):
        yield root, key, child
        yield from walk(child)


def replace_child(parent: Element, key: str, child: Element) -> None:
    """Put ``child`` in ``parent`` under ``key`` in place of what was there."""
    child._parent = parent
    parent._children[key] = child


def insert_first(parent: Element, key: str, child: Element) -> None:
    """Make ``child`` the first child of ``parent`` (its script runs first)."""
    child._parent = parent
    others = [(k, c) for k, c in parent._children.items() if k != key]
    parent._children = type(parent._children)([(key, child), *others])


def links(element: Element) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """An element's ``(default_js, default_css)``."""
    return list(getattr(element, "default_js", [])), list(getattr(element, "default_css", []))


def set_links(element: Element, js: list[tuple[str, str]], css: list[tuple[str, str]]) -> None:
    """Set an element's ``default_js`` and ``default_css``."""
    element.default_js = js
    element.default_css = css


def element_script(element: Element, kwargs: Any) -> str:
    """The ``script`` macro of an element's template, rendered for ``element``."""
    return element._template.module.script(element, kwargs)


def copy_identity(target: Element, source: Element) -> None:
    """Give ``target`` the name and id of ``source`` (it stands in for it)."""
    target._name = source._name
    target._id = source._id


def _letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(97 + r) + out
    return out


def stable_ids(m: folium.Map) -> folium.Map:
    """Replace folium's random hexadecimal element ids with short letters-only ids.

    Random ids such as ``ccdf3e125e4cc779a4143953609275e6`` can hold a run of
    digits that looks like a mobile number (``14395360927``) and differ on
    every render; letters-only ids cannot and do not. Idempotent: elements
    that already have such an id keep it (a map rendered before keeps its
    variable names, so rendering it again replaces its scripts instead of
    adding a second, differently named copy). Returns ``m``.
    """
    elements = []
    stack = [m.get_root(), m]
    seen: set[int] = set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        elements.append(element)
        stack.extend(getattr(element, "_children", {}).values())
    used = {e._id for e in elements if _STABLE_ID.match(str(e._id))}
    n = 0
    for element in elements:
        if _STABLE_ID.match(str(element._id)):
            continue
        while "t" + _letters(n) in used:
            n += 1
        element._id = "t" + _letters(n)
        used.add(element._id)
    return m

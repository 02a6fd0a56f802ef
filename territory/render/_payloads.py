"""Typed payloads of the map runtime: one dataclass and one builder function per layer kind.

The browser builds each layer from a JSON payload with
``territory.layer(kind, payload)`` (``territory/static/map/territory-map.js``,
whose JSDoc ``@typedef`` blocks describe the same fields; a test keeps the two
in step). Builders take *raw* text and escape every string on the way in
(:func:`safe_text`), so no caller can forget to: a zone called
``<img src=x onerror=alert(1)>`` reaches the page as text.

=============  =====================  =============================================
kind           builder                draws
=============  =====================  =============================================
``shapes``     :func:`shapes_layer`   thousands of polygons on the canvas (zones, hexagons)
``polygons``   :func:`polygons_layer` a few vector polygons (rings, candidate areas, districts)
``dots``       :func:`dots_layer`     circles on the canvas (card bubbles, POIs)
``labels``     :func:`labels_layer`   text at points (ring distances, area numbers, names)
``sites``      :func:`sites_layer`    numbered site markers; a click opens the card or sends an action
``dealer``     :func:`dealer_layer`   the dealer's pin
(control)      :func:`legend`         a legend box in a corner
=============  =====================  =============================================

Examples
--------
>>> layer = labels_layer(points="_p~iF~ps|U", precision=5, texts=["<b>3 km</b>"])
>>> layer.kind, layer.texts
('labels', ['&lt;b&gt;3 km&lt;/b&gt;'])
>>> to_js(layer)
'JSON.parse(\\'{"points":"_p~iF~ps|U","precision":5,"texts":["&lt;b&gt;3 km&lt;/b&gt;"],"anchor":"centre","css":"","alternatives":null,"fixed":false}\\')'
"""

from __future__ import annotations

import dataclasses
import html as _html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from territory.privacy import PHONE_PATTERN, mask_phone

__all__ = [
    "Card",
    "CardAction",
    "CardRow",
    "DealerLayer",
    "DotLayer",
    "LabelLayer",
    "Legend",
    "LegendItem",
    "PolygonLayer",
    "SiteLayer",
    "Style",
    "dealer_layer",
    "dots_layer",
    "labels_layer",
    "legend",
    "polygons_layer",
    "safe_text",
    "shapes_layer",
    "sites_layer",
    "to_js",
]

_ENTITIES = str.maketrans(
    {"=": "&#61;", "$": "&#36;", "`": "&#96;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CODE = re.compile(r"^[a-z][a-z0-9_-]*$")


def safe_text(value: object) -> str:
    """Text as it may appear in a popup, tooltip or legend: escaped, no phone numbers.

    HTML special characters become entities, and so do ``=``, ``$``,
    backticks, backslashes and braces (so data can never close a tag, start
    an attribute, or be read as a JavaScript template); mainland mobile
    numbers are masked (``138****1234``). None and NA become ``""``.

    Examples
    --------
    >>> safe_text("<img src=x onerror=alert(1)>")
    '&lt;img src&#61;x onerror&#61;alert(1)&gt;'
    >>> safe_text("王府井 13812341234"), safe_text(None)
    ('王府井 138****1234', '')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = PHONE_PATTERN.sub(lambda match: str(mask_phone(match.group(0))), str(value))
    return _html.escape(text, quote=True).translate(_ENTITIES)


def _texts(values: Sequence[Any]) -> list[str]:
    return [safe_text(v) for v in values]


def _properties(columns: Mapping[str, Sequence[Any]] | None) -> dict[str, list]:
    """Columns with every string escaped; numbers (and None) as they are."""
    out: dict[str, list] = {}
    for key, values in (columns or {}).items():
        out[_code(key)] = [
            safe_text(v) if isinstance(v, str) else (None if v is None else v) for v in values
        ]
    return out


def _code(text: str) -> str:
    if not _CODE.match(text):
        raise ValueError(f"not a code: {text!r} (lower-case letters, digits, _ and -)")
    return text


def _colours(values: Sequence[str]) -> list[str]:
    for colour in values:
        if not _COLOUR.match(colour):
            raise ValueError(f"not a colour: {colour!r} (use #rrggbb)")
    return list(values)


# --------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class CardRow:
    """One row of a card: ``label`` and the value of property ``key``."""

    label: str
    key: str
    format: str = "num"  # num | pct | text
    digits: int = 0
    unit: str = ""
    lookup: bool = False  # the value indexes card.lookups[key]


@dataclass(frozen=True)
class CardAction:
    """A button on a card; a click sends ``{action, id}`` back to the app."""

    action: str
    label: str


@dataclass(frozen=True)
class Card:
    """A feature's card: its title (property column), rows, lookups, when it opens, actions."""

    title: str
    rows: list[CardRow]
    lookups: dict[str, list[str]] = field(default_factory=dict)
    on: str = "click"  # click (popup) | hover (tooltip)
    actions: list[CardAction] = field(default_factory=list)
    id: str | None = None  # property column sent with an action


@dataclass(frozen=True)
class Style:
    """How features are drawn (colours come from the layer's palette)."""

    stroke: str | None = None
    weight: float = 1.0
    opacity: float = 1.0
    fill: float = 0.0
    fills: list[float] | None = None
    dash: str | None = None
    interactive: bool = True
    radius: float | None = None


def card(
    *,
    title: str,
    rows: Sequence[CardRow],
    lookups: Mapping[str, Sequence[str]] | None = None,
    on: str = "click",
    actions: Sequence[CardAction] = (),
    id: str | None = None,
) -> Card:
    """A :class:`Card` with every text escaped (``rows`` labels and units, lookups, actions)."""
    if on not in ("click", "hover"):
        raise ValueError(f"card.on must be 'click' or 'hover', not {on!r}")
    if actions and id is None:
        raise ValueError("a card with actions needs id= (the property column sent with them)")
    return Card(
        title=_code(title),
        rows=[
            dataclasses.replace(
                r, label=safe_text(r.label), unit=safe_text(r.unit), key=_code(r.key)
            )
            for r in rows
        ],
        lookups={_code(k): _texts(v) for k, v in (lookups or {}).items()},
        on=on,
        actions=[CardAction(action=_code(a.action), label=safe_text(a.label)) for a in actions],
        id=None if id is None else _code(id),
    )


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class PolygonLayer:
    """Polygons (``shapes``: canvas, for thousands; ``polygons``: vector, for a few)."""

    kind: ClassVar[str] = "polygons"
    geometry: list
    precision: int
    palette: list[str]
    style: Style
    classes: list[int] | None = None
    properties: dict[str, list] = field(default_factory=dict)
    card: Card | None = None
    tooltip: str | None = None


@dataclass(frozen=True)
class ShapesLayer(PolygonLayer):
    """Polygons drawn on the canvas in batches (thousands of zones or hexagons)."""

    kind: ClassVar[str] = "shapes"


@dataclass(frozen=True)
class DotLayer:
    """Circles on the canvas, one per encoded point."""

    kind: ClassVar[str] = "dots"
    points: str
    precision: int
    palette: list[str]
    style: Style
    radii: list[float] | None = None
    classes: list[int] | None = None
    properties: dict[str, list] = field(default_factory=dict)
    card: Card | None = None
    tooltip: str | None = None


@dataclass(frozen=True)
class LabelLayer:
    """Text labels at encoded points."""

    kind: ClassVar[str] = "labels"
    points: str
    precision: int
    texts: list[str]
    anchor: str = "centre"  # centre | north-east
    css: str = ""
    alternatives: list[str] | None = None  # per label: encoded places it may move to
    fixed: bool = False  # legends keep clear of it (they change corner)


@dataclass(frozen=True)
class SiteLayer:
    """Numbered site markers with a card; ``click_action`` sends the id instead of a popup."""

    kind: ClassVar[str] = "sites"
    points: str
    precision: int
    ranks: list[int]
    ids: list[str]
    properties: dict[str, list]
    card: Card
    tooltip: str
    click_action: str | None = None


@dataclass(frozen=True)
class DealerLayer:
    """The dealer's pin."""

    kind: ClassVar[str] = "dealer"
    lat: float
    lng: float
    name: str
    mark: str


@dataclass(frozen=True)
class LegendItem:
    """A legend row: a colour swatch (``symbol``: "" box, "line", "dot") and its text."""

    colour: str
    text: str
    symbol: str = ""


@dataclass(frozen=True)
class Legend:
    """A legend box in a corner of the map (a control, not a layer)."""

    kind: ClassVar[str] = "legend"
    title: str
    items: list[LegendItem]
    position: str = "bottomright"
    note: str | None = None


_STYLE_KEYS = {f.name for f in dataclasses.fields(Style)}


def _style(style: Style | Mapping[str, Any]) -> Style:
    if isinstance(style, Style):
        return style
    unknown = set(style) - _STYLE_KEYS
    if unknown:
        raise ValueError(f"unknown style keys {sorted(unknown)}; use {sorted(_STYLE_KEYS)}")
    return Style(**style)


def _polygons(
    cls: type[PolygonLayer],
    *,
    geometry: list,
    precision: int,
    palette: Sequence[str],
    style: Style | Mapping[str, Any],
    classes: Sequence[int] | None = None,
    properties: Mapping[str, Sequence[Any]] | None = None,
    card: Card | None = None,
    tooltip: str | None = None,
) -> PolygonLayer:
    if classes is not None and len(classes) != len(geometry):
        raise ValueError(f"{len(classes)} classes for {len(geometry)} features")
    return cls(
        geometry=geometry,
        precision=int(precision),
        palette=_colours(palette),
        style=_style(style),
        classes=None if classes is None else [int(k) for k in classes],
        properties=_properties(properties),
        card=card,
        tooltip=None if tooltip is None else _code(tooltip),
    )


def shapes_layer(**fields: Any) -> PolygonLayer:
    """The payload of a ``shapes`` layer: many polygons drawn on the canvas.

    Keyword-only fields (see ``_polygons``): ``geometry`` holds, per feature,
    a list of polygons, each a list of encoded rings (outer first);
    ``precision``; ``palette``; ``style``; ``classes`` indexes ``palette``
    (and ``style.fills``) per feature; ``properties`` are columns (one value
    per feature) that the ``card`` and ``tooltip`` read.
    """
    return _polygons(ShapesLayer, **fields)


def polygons_layer(**fields: Any) -> PolygonLayer:
    """The payload of a ``polygons`` layer: a few vector polygons (same fields as shapes)."""
    return _polygons(PolygonLayer, **fields)


def dots_layer(
    *,
    points: str,
    precision: int,
    palette: Sequence[str],
    style: Style | Mapping[str, Any],
    radii: Sequence[float] | None = None,
    classes: Sequence[int] | None = None,
    properties: Mapping[str, Sequence[Any]] | None = None,
    card: Card | None = None,
    tooltip: str | None = None,
) -> DotLayer:
    """The payload of a ``dots`` layer: circles at encoded points (radius per dot or style.radius)."""
    return DotLayer(
        points=points,
        precision=int(precision),
        palette=_colours(palette),
        style=_style(style),
        radii=None if radii is None else [float(r) for r in radii],
        classes=None if classes is None else [int(k) for k in classes],
        properties=_properties(properties),
        card=card,
        tooltip=None if tooltip is None else _code(tooltip),
    )


def labels_layer(
    *,
    points: str,
    precision: int,
    texts: Sequence[Any],
    anchor: str = "centre",
    css: str = "",
    alternatives: Sequence[str] | None = None,
    fixed: bool = False,
) -> LabelLayer:
    """The payload of a ``labels`` layer: ``texts`` (raw; escaped here) at encoded points.

    ``alternatives`` (one encoded polyline per label) are places the label may
    move to, in order, when its own is off the map or hidden (by a legend, a
    control, the dealer's pin, a site or another label); ``fixed`` labels stay
    and the legends move away from them instead.
    """
    if anchor not in ("centre", "north-east"):
        raise ValueError(f"anchor must be 'centre' or 'north-east', not {anchor!r}")
    if css and not _CODE.match(css):
        raise ValueError(f"not a CSS class: {css!r}")
    if alternatives is not None and len(alternatives) != len(texts):
        raise ValueError(f"{len(alternatives)} alternatives for {len(texts)} labels")
    return LabelLayer(
        points=points,
        precision=int(precision),
        texts=_texts(texts),
        anchor=anchor,
        css=css,
        alternatives=None if alternatives is None else [str(a) for a in alternatives],
        fixed=bool(fixed),
    )


def sites_layer(
    *,
    points: str,
    precision: int,
    ranks: Sequence[int],
    ids: Sequence[str],
    properties: Mapping[str, Sequence[Any]],
    card: Card,
    tooltip: str,
    click_action: str | None = None,
) -> SiteLayer:
    """The payload of a ``sites`` layer: numbered markers; a click opens ``card`` or sends
    ``click_action`` with the site's id."""
    return SiteLayer(
        points=points,
        precision=int(precision),
        ranks=[int(r) for r in ranks],
        ids=_texts(ids),
        properties=_properties(properties),
        card=card,
        tooltip=_code(tooltip),
        click_action=None if click_action is None else _code(click_action),
    )


def dealer_layer(*, lat: float, lng: float, name: str, mark: str) -> DealerLayer:
    """The payload of the ``dealer`` layer (WGS-84 or display coordinates, rounded)."""
    return DealerLayer(
        lat=round(float(lat), 6),
        lng=round(float(lng), 6),
        name=safe_text(name),
        mark=safe_text(mark),
    )


def legend(
    *,
    title: str,
    items: Sequence[tuple[str, str, str] | LegendItem],
    position: str = "bottomright",
    note: str | None = None,
) -> Legend:
    """A legend: ``items`` as ``(colour, text, symbol)`` with raw texts (escaped here)."""
    if position not in ("topleft", "topright", "bottomleft", "bottomright"):
        raise ValueError(f"not a legend position: {position!r}")
    rows = []
    for item in items:
        colour, text, symbol = (
            (item.colour, item.text, item.symbol) if isinstance(item, LegendItem) else item
        )
        if symbol not in ("", "line", "dot"):
            raise ValueError(f"not a legend symbol: {symbol!r}")
        rows.append(LegendItem(colour=_colours([colour])[0], text=safe_text(text), symbol=symbol))
    return Legend(
        title=safe_text(title),
        items=rows,
        position=position,
        note=safe_text(note) if note else None,
    )


# --------------------------------------------------------------------------- JSON for a script


def _plain(value: Any) -> Any:
    """Dataclasses as dicts (recursively); lists of plain values are not copied."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


#: ``{`` before ``{``, ``%`` or ``#``: branca compiles rendered scripts as Jinja templates again.
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def json_for_script(payload: Any) -> str:
    """JSON for a ``<script>``: no NaN; ``<``, ``>``, line separators and Jinja openers escaped.

    Structural JSON never puts ``{`` before ``{``, ``%`` or ``#``, so the
    Jinja escape only ever touches string contents (polylines), where
    ``\\u007b`` decodes back to ``{``.
    """
    text = json.dumps(_plain(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _JINJA_OPEN.sub(r"\\u007b", text)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def to_js(payload: Any) -> str:
    """A JavaScript expression for ``payload``: ``JSON.parse('...')``.

    JSON.parse of a string literal is parsed faster than the same object literal.
    """
    text = json_for_script(payload).replace("\\", "\\\\").replace("'", "\\'")
    return f"JSON.parse('{text}')"

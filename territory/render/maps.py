"""Folium maps of a workspace: one map to read the environment (seed 000, step 1).

Builders take frames the package has already computed (``analysis.zones``,
``influence.influence_rings``, ``analysis.areas``, ``recommend(...).sites``,
``coverage.choropleth_frames``) and return a :class:`folium.Map`; they
compute nothing about the business. Every map

* links only Leaflet (and leaflet.heat for heat maps) and Territory's map
  runtime (``territory/static/map/territory-map.js``, which builds each layer
  from a typed payload of :mod:`territory.render._payloads`): folium's jQuery,
  Bootstrap and icon fonts are dropped, so pass the map through
  :func:`territory.render.assets.localise` (app) or
  :func:`territory.render.assets.standalone_html` (export) and nothing is
  loaded from a CDN;
* carries its data in compact form: zone outlines simplified in a projected
  CRS (tolerance from ``settings.maps``), coordinates rounded and encoded as
  Google polylines, properties as columns; existing customers only as H3
  hexagon counts (:func:`hex_counts`), cards as one bubble per zone;
* embeds only whitelisted columns, every text passed through
  :func:`safe_text` by the payload builders (HTML-escaped, ``=``, ``$``, backticks and braces as
  entities, phone numbers masked), so a zone called
  ``<img src=x onerror=alert(1)>`` shows as text;
* draws on the tiles chosen with :func:`base_map`: OpenStreetMap, AMap
  (every layer shifted to GCJ-02 with :func:`territory.inputs.coords.from_wgs84`,
  so it lines up with AMap's streets) or none (offline).

Examples
--------
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> from territory.analysis.zones import analyse
>>> ws = load_workspace(demo_path(), use_store=False)
>>> m = environment_map(ws, analyse(ws), colour_by="r_value", tiles="none")
>>> html = m.get_root().render()
>>> "territory.layer('shapes'" in html, "cdn.jsdelivr.net/npm/bootstrap" in html
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.i18n import check_lang, t
from territory.inputs import coords
from territory.render import _folium
from territory.render import _payloads as pl
from territory.render._folium import stable_ids
from territory.render._payloads import CardAction, CardRow, safe_text, to_js
from territory.settings import MapSettings, Settings
from territory.vocab import FORMATS, FORMATS_BY_ZONE_TYPE, POI_TYPES, ZONE_TYPES, label

__all__ = [
    "BASEMAPS",
    "COLOUR_BY",
    "CUSTOMER_STYLES",
    "TERRITORY_COLOURS",
    "TILES",
    "ZONE_COLOURS",
    "add_areas",
    "add_cards",
    "add_customers",
    "add_dealer",
    "add_notice",
    "add_pois",
    "add_sites",
    "add_territories",
    "add_zones",
    "base_map",
    "choropleth_map",
    "encode_polyline",
    "environment_map",
    "finish_map",
    "hex_counts",
    "safe_text",
    "sites_map",
    "stable_ids",
    "territories_map",
    "territory_colours",
    "whitespace_map",
]

#: Tile choices: code -> (URL template or None, attribution, subdomains, coordinate system).
TILES: dict[str, tuple[str | None, str, str | None, str]] = {
    "none": (None, "", None, "wgs84"),
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        None,
        "wgs84",
    ),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "&copy; 高德地图 AutoNavi",
        "1234",
        "gcj02",
    ),
}

#: The basemap a user chooses (app sidebar; shared by the map pages and print): ``auto`` is
#: AMap when its tiles can be reached, else none (with a notice on the map).
BASEMAPS: tuple[str, ...] = ("auto", "amap", "osm", "none")

#: What zones can be coloured by.
COLOUR_BY: tuple[str, ...] = (
    "zone_type",
    "density_tier",
    "income_tier",
    "r_value",
    "whitespace_score",
)

#: How existing customers can be drawn (always aggregated).
CUSTOMER_STYLES: tuple[str, ...] = ("hexagons", "heat", "off")

#: Fill colour of each zone type.
ZONE_COLOURS: dict[str, str] = {
    "residential": "#4e79a7",
    "commercial": "#f28e2b",
    "enterprise": "#76b7b2",
    "township": "#59a14f",
    "market": "#edc948",
    "driving_school": "#b07aa1",
    "other": "#bab0ac",
}
_NO_DATA = "#d9d9d9"
#: Where a ring's label may sit (degrees, counter-clockwise from east), best first: the
#: north-east keeps clear of the dealer's pin; the others are used when it is hidden.
_RING_LABEL_ANGLES = (45, 30, 60, 15, 75, 0, 90, 135, 120, 150, 315, 330, 300, 225, 180, 270)
_SEQUENTIAL = {
    2: ["#fdd49e", "#d7301f"],
    3: ["#fdd49e", "#fc8d59", "#b30000"],
    4: ["#fdd49e", "#fdbb84", "#e34a33", "#b30000"],
    5: ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],
    6: ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"],
    7: ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"],
}
_INCOME = {
    k: v
    for k, v in zip(
        range(2, 8),
        (
            ["#c7e9c0", "#238b45"],
            ["#c7e9c0", "#74c476", "#00682b"],
            ["#edf8e9", "#bae4b3", "#74c476", "#238b45"],
            ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
            ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],
            ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"],
        ),
        strict=True,
    )
}
#: R value: too cheap for the income (blue) ... at target (green) ... too dear (red).
_R_COLOURS = ["#2c7bb6", "#abd9e9", "#1a9641", "#fdae61", "#d7191c"]
_WHITESPACE_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
#: Existing customers: one dark hue, denser hexagons more opaque, so zone colours show through.
_HEX_COLOUR = "#1b1f3b"
_HEX_OPACITY = [0.08, 0.18, 0.3, 0.44, 0.6]
_HEX_COLOURS = ["#e4e5eb", "#bbbdc9", "#8d90a5", "#5c5f7b", "#2c2f4d"]
_POI_COLOURS = {
    "driving_school": "#b07aa1",
    "market": "#c9a800",
    "enterprise": "#3a8c86",
    "commercial": "#e15759",
    "residential": "#4e79a7",
    "competitor": "#1a1a1a",
    "street_spot": "#f28e2b",
}


# --------------------------------------------------------------------------- encoding


def encode_polyline(lat: np.ndarray, lon: np.ndarray, *, precision: int = 5) -> str:
    """Encode points with Google's polyline algorithm (deltas of rounded coordinates).

    The characters are ASCII 63–126, so an encoded line never holds ``<``,
    ``=`` or ``$``. Decoded by the map's script.

    Examples
    --------
    >>> encode_polyline(np.array([38.5, 40.7, 43.252]), np.array([-120.2, -120.95, -126.453]))
    '_p~iF~ps|U_ulLnnqC_mqNvxq`@'
    """
    factor = 10**precision
    ints = np.empty(2 * len(lat), dtype=np.int64)
    ints[0::2] = np.round(np.asarray(lat, dtype="float64") * factor)
    ints[1::2] = np.round(np.asarray(lon, dtype="float64") * factor)
    deltas = np.diff(ints.reshape(-1, 2), axis=0, prepend=[[0, 0]]).ravel()
    zigzag = np.where(deltas < 0, ~(deltas << 1), deltas << 1).tolist()
    out: list[str] = []
    append = out.append
    for value in zigzag:
        while value >= 0x20:
            append(chr((0x20 | (value & 0x1F)) + 63))
            value >>= 5
        append(chr(value + 63))
    return "".join(out)


def _quantised_ring(xy: np.ndarray, factor: int) -> np.ndarray | None:
    """Ring vertices rounded to the display grid, consecutive duplicates and closure dropped."""
    q = np.round(xy * factor).astype(np.int64)
    keep = np.ones(len(q), dtype=bool)
    keep[1:] = np.any(q[1:] != q[:-1], axis=1)
    q = q[keep]
    if len(q) > 1 and np.array_equal(q[0], q[-1]):
        q = q[:-1]
    return q if len(q) >= 3 else None


def _encode_ring(q: np.ndarray, precision: int) -> str:
    factor = 10**precision
    return encode_polyline(q[:, 1] / factor, q[:, 0] / factor, precision=precision)


def _tolerance_m(lat: float, ms: MapSettings) -> float:
    metres_per_px = 156_543.03392 * math.cos(math.radians(lat)) / 2**ms.detail_zoom
    return ms.simplify_px * metres_per_px


# --------------------------------------------------------------------------- map


def _display(m: folium.Map) -> str:
    return _folium.meta(m).coord_sys


def _to_display(m: folium.Map, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if _display(m) == "wgs84" or not len(np.atleast_1d(lon)):
        return lon, lat
    x, y = coords.from_wgs84(lon, lat, _display(m))
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def _ms(m: folium.Map) -> MapSettings:
    return _folium.meta(m).settings


def _add(m: folium.Map, payload: Any, *, name: str, show: bool = True, control: bool = True):
    """Add a layer payload of :mod:`territory.render._payloads` to the map."""
    _folium.add_data_layer(
        m, payload.kind, to_js(payload), name=safe_text(name), show=show, control=control
    )


def base_map(
    *,
    lon: float,
    lat: float,
    radius_km: float | None = None,
    tiles: str = "none",
    lang: str = "zh",
    zoom: int = 11,
    settings: Settings | None = None,
) -> folium.Map:
    """An empty map centred on the dealer, linking only Leaflet and the map runtime.

    Parameters
    ----------
    lon, lat : float
        Centre (WGS-84), usually the dealer.
    radius_km : float, optional
        When given, the map opens fitted to a circle of this radius.
    tiles : {"none", "osm", "amap"}
        Background tiles; ``"amap"`` switches every layer added with this
        module's ``add_*`` functions to GCJ-02.
    lang : {"zh", "en"}
        Language of AMap's labels.
    settings : Settings, optional
        ``settings.maps`` (detail, hexagons, bands).

    Raises
    ------
    ValueError
        If ``tiles`` is not one of :data:`TILES`.
    """
    if tiles not in TILES:
        raise ValueError(f"unknown tiles {tiles!r}; use one of {', '.join(TILES)}")
    ms = (settings or Settings()).maps
    url, attribution, subdomains, system = TILES[tiles]
    url = {"amap": ms.amap_url, "osm": ms.osm_url}.get(tiles, url)
    m = _folium.new_map(
        location=[round(float(lat), 6), round(float(lon), 6)],
        zoom=zoom,
        coord_sys=system,
        tiles=tiles,
        settings=ms,
    )
    if url is not None:
        folium.TileLayer(
            tiles=url.replace("{lang}", "zh_cn" if check_lang(lang) == "zh" else "en"),
            attr=attribution,
            name=t(f"maps.tiles.{tiles}", lang),
            max_zoom=18,
            subdomains=subdomains or "abc",
            control=False,
        ).add_to(m)
    if radius_km:
        x, y = _to_display(m, [lon], [lat])
        dlat = radius_km / 110.574
        dlon = radius_km / (111.320 * math.cos(math.radians(lat)))
        _folium.add_fit(
            m,
            [
                [round(float(y[0] - dlat), 6), round(float(x[0] - dlon), 6)],
                [round(float(y[0] + dlat), 6), round(float(x[0] + dlon), 6)],
            ],
        )
    return m


def finish_map(m: folium.Map, *, layer_control: bool = True) -> folium.Map:
    """Add the layer switcher and the ready flag (``window.territoryMapReady``); return ``m``.

    Also gives every element a letters-only id (:func:`stable_ids`).
    """
    if layer_control:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    background = "#f3f4f6" if _folium.meta(m).tiles == "none" else None
    _folium.add_ready(m, pl.json_for_script(background))
    return stable_ids(m)


def add_notice(m: folium.Map, text: str) -> folium.Map:
    """A one-line note at the top right of the map (e.g. why it has no basemap)."""
    _folium.add_notice(m, pl.json_for_script({"text": safe_text(text), "position": "topright"}))
    return m


def _legend(
    m: folium.Map,
    title: str,
    items: list[tuple[str, str, str]],
    *,
    pos: str,
    note: str | None = None,
) -> None:
    _folium.add_legend(m, to_js(pl.legend(title=title, items=items, position=pos, note=note)))


# --------------------------------------------------------------------------- geometry


def _encode_geoms(m: folium.Map, geoms: gpd.GeoSeries, *, simplify: bool = True) -> list:
    """Polygons as ``[[ring, hole, ...], ...]`` polylines (simplified, shifted, rounded)."""
    ms = _ms(m)
    geoms = geoms.to_crs("EPSG:4326") if geoms.crs is not None else geoms
    values = geoms.values
    if simplify and len(values):
        centre = shapely.centroid(shapely.envelope(shapely.union_all(shapely.envelope(values))))
        crs = coords.local_crs(centre.x, centre.y)
        projected = gpd.GeoSeries(values, crs="EPSG:4326").to_crs(crs)
        tol = _tolerance_m(centre.y, ms)
        simple = shapely.simplify(projected.values, tol, preserve_topology=True)
        values = gpd.GeoSeries(simple, crs=crs).to_crs("EPSG:4326").values
    if _display(m) != "wgs84":
        system = _display(m)

        def shift(xy: np.ndarray) -> np.ndarray:
            x, y = coords.from_wgs84(xy[:, 0], xy[:, 1], system)
            return np.column_stack([x, y])

        values = shapely.transform(values, shift)
    factor = 10**ms.precision
    out = []
    for geom in values:
        polygons = []
        if geom is not None and not geom.is_empty:
            for part in shapely.get_parts(geom):
                if part.geom_type != "Polygon":
                    continue
                rings = []
                for k, ring in enumerate([part.exterior, *part.interiors]):
                    q = _quantised_ring(np.asarray(ring.coords)[:, :2], factor)
                    if q is None:
                        if k == 0:
                            break
                        continue
                    rings.append(_encode_ring(q, ms.precision))
                if rings:
                    polygons.append(rings)
        out.append(polygons)
    return out


def _encode_points(m: folium.Map, lon: Any, lat: Any) -> str:
    x, y = _to_display(m, lon, lat)
    return encode_polyline(y, x, precision=_ms(m).precision)


def _column(values: Sequence | pd.Series, *, digits: int | None = None) -> list:
    """Numbers rounded (None for NA) or texts ("" for NA; the payload builders escape them)."""
    series = pd.Series(values)
    if digits is None:
        return [
            "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in series
        ]
    numeric = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    if digits == 0:
        return [None if not np.isfinite(v) else round(v) for v in numeric]
    return [None if not np.isfinite(v) else round(float(v), digits) for v in numeric]


def _nice(value: float) -> float:
    """Round to 1, 2, 3 or 5 times a power of ten."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return min((m * power for m in (1, 2, 3, 5, 10)), key=lambda c: abs(math.log(c / value)))


def _count_classes(values: np.ndarray, n: int = 5) -> tuple[np.ndarray, list[float]]:
    """Class (0..n-1) of each count on a log scale between 1 and the largest count.

    Counts are heavy-tailed (a few cells hold hundreds), so equal steps in
    log space (rounded to 1-2-3-5 numbers) separate the empty edges, the
    suburbs and the dense core.
    """
    finite = values[np.isfinite(values)]
    if not len(finite) or finite.max() <= 1:
        return np.zeros(len(values), dtype=int), []
    top = float(finite.max())
    edges = sorted({_nice(top ** (i / n)) for i in range(1, n)})
    edges = [e for e in edges if e < top]
    return np.searchsorted(np.asarray(edges), values, side="left"), edges


# --------------------------------------------------------------------------- zones


def _present(
    k: Sequence[int], entries: dict[int, tuple[str, str, str]], order: Sequence[int]
) -> list[tuple[str, str, str]]:
    """Legend items (in ``order``) of the classes that some feature has: no empty classes."""
    used = set(k)
    return [entries[c] for c in order if c in used and c in entries]


def _zone_classes(
    zones: pd.DataFrame, colour_by: str, *, lang: str, settings: Settings
) -> tuple[list[int], list[str], list[tuple[str, str, str]], str]:
    """Class index per zone, palette, legend items (classes present only) and legend title."""
    no_data = t("maps.legend.no_data", lang)
    if colour_by == "zone_type":
        codes = list(ZONE_TYPES)
        palette = [ZONE_COLOURS[c] for c in codes] + [_NO_DATA]
        index = {c: i for i, c in enumerate(codes)}
        k = [index.get(v, len(codes)) for v in zones["zone_type"]]
        entries = {
            i: (ZONE_COLOURS[c], label(c, ZONE_TYPES, lang), "") for i, c in enumerate(codes)
        }
        return k, palette, _present(k, entries, range(len(codes))), t("maps.legend.zone_type", lang)
    if colour_by in ("density_tier", "income_tier"):
        count = settings.scoring.tier_count
        colours = (_SEQUENTIAL if colour_by == "density_tier" else _INCOME)[count]
        tiers = pd.to_numeric(zones[colour_by], errors="coerce")
        labels = zones.get(f"{colour_by}_label")
        names: dict[int, str] = {}
        if labels is not None:
            for tier, text in zip(tiers, labels, strict=True):
                if pd.notna(tier) and int(tier) not in names:
                    names[int(tier)] = str(text)
        k = [int(v) if pd.notna(v) and 0 <= v < count else count for v in tiers]
        entries = {i: (colours[i], names.get(i, str(i + 1)), "") for i in range(count)}
        entries[count] = (_NO_DATA, no_data, "")
        order = [*range(count - 1, -1, -1), count]
        items = _present(k, entries, order)
        return k, [*colours, _NO_DATA], items, t(f"maps.legend.{colour_by}", lang)
    if colour_by == "r_value":
        target = settings.scoring.target_r
        edges = [target * f for f in settings.maps.r_band_factors]
        r = pd.to_numeric(zones["r_value"], errors="coerce").to_numpy(dtype="float64")
        k = [int(np.searchsorted(edges, v, side="right")) if np.isfinite(v) else 5 for v in r]
        e = [f"{v:.1f}" for v in edges]
        texts = [
            t("maps.legend.r_below", lang, hi=e[0]),
            f"{e[0]}–{e[1]}",
            t("maps.legend.r_target", lang, lo=e[1], hi=e[2], target=f"{target:g}"),
            f"{e[2]}–{e[3]}",
            t("maps.legend.r_above", lang, lo=e[3]),
        ]
        entries = {
            i: (c, text, "") for i, (c, text) in enumerate(zip(_R_COLOURS, texts, strict=True))
        }
        entries[5] = (_NO_DATA, no_data, "")
        return (
            k,
            [*_R_COLOURS, _NO_DATA],
            _present(k, entries, [4, 3, 2, 1, 0, 5]),
            t("maps.legend.r_value", lang, target=f"{target:g}"),
        )
    if colour_by == "whitespace_score":
        score = pd.to_numeric(zones["whitespace_score"], errors="coerce").to_numpy(dtype="float64")
        k = [min(int(v * 5), 4) if np.isfinite(v) else 5 for v in score]
        entries = {
            i: (c, f"{i / 5:.1f}–{(i + 1) / 5:.1f}", "") for i, c in enumerate(_WHITESPACE_COLOURS)
        }
        entries[5] = (_NO_DATA, no_data, "")
        items = _present(k, entries, [4, 3, 2, 1, 0, 5])
        return k, [*_WHITESPACE_COLOURS, _NO_DATA], items, t("maps.legend.whitespace_score", lang)
    raise ValueError(f"unknown colour_by {colour_by!r}; use one of {', '.join(COLOUR_BY)}")


def _quantile_classes(
    values: np.ndarray, palette: Sequence[str], fmt
) -> tuple[list[int], list[str], list[tuple[str, str, str]]]:
    """Up to five quantile classes (5 = no data), the palette by class, legend items darkest first.

    Class limits are compared as the legend prints them, so no two classes
    read the same ("15%–15%") and no class is empty; a class of one value
    reads as that value.
    """
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [5] * len(values), [*palette[:5], _NO_DATA], []
    shown = np.array([float(fmt(v).rstrip("%")) for v in finite])
    cuts = np.unique(np.quantile(shown, [0.2, 0.4, 0.6, 0.8]))
    cuts = cuts[(cuts > shown.min()) & (cuts <= shown.max())]
    rounded = np.array([float(fmt(v).rstrip("%")) if np.isfinite(v) else np.nan for v in values])
    k = [int(np.searchsorted(cuts, v, side="right")) if np.isfinite(v) else 5 for v in rounded]
    used = sorted(set(c for c in k if c != 5))
    # Renumber the classes in use 0..n-1 and stretch them over the palette's range.
    colours = [
        palette[round(i * (len(palette) - 1) / max(len(used) - 1, 1))] for i in range(len(used))
    ]
    if len(used) == 1:
        colours = [palette[len(palette) // 2]]
    remap = {c: i for i, c in enumerate(used)}
    k = [remap.get(c, 5) for c in k]
    items = []
    for i in remap.values():
        members = finite[np.asarray([x for x in k if x != 5]) == i]
        lo, hi = fmt(members.min()), fmt(members.max())
        items.append((colours[i], lo if lo == hi else f"{lo}–{hi}", ""))
    full = [*colours, *[_NO_DATA] * (5 - len(colours)), _NO_DATA]
    return k, full, items[::-1]


def _zone_card(
    zones: pd.DataFrame,
    lang: str,
    actions: Sequence[CardAction] = (),
    formats: Sequence[Sequence[str]] | None = None,
    feature: Sequence[str] | None = None,
) -> tuple[dict, pl.Card]:
    """The whitelisted zone card: properties (columns) and the card (rows and lookups).

    ``formats`` gives each zone's formats (aligned to ``zones``) as the site
    brief orders them (:meth:`territory.outreach.site.SiteFacts.zone_formats`,
    with the workspace's playbook); without it, the zone type's contract formats.
    """
    districts = sorted({str(d) for d in zones["district"].dropna()})
    d_index = {d: i for i, d in enumerate(districts)}
    types = list(ZONE_TYPES)
    t_index = {c: i for i, c in enumerate(types)}
    sep = "、" if lang == "zh" else ", "
    formats_by_type = [
        sep.join(label(f, FORMATS, lang) for f in FORMATS_BY_ZONE_TYPE.get(c, ())) or "—"
        for c in types
    ]

    def optional(column: str, digits: int) -> list | None:
        return _column(zones[column], digits=digits) if column in zones else None

    p = {
        "name": _column(zones["name"].where(zones["name"].notna(), zones["zone_id"])),
        "district": [d_index.get(str(v)) if pd.notna(v) else None for v in zones["district"]],
        "type": [t_index.get(v) for v in zones["zone_type"]],
        "pop": _column(zones["population"], digits=0),
        "density": optional("density", 0),
        "income": _column(zones["income"], digits=0),
        "r": optional("r_value", 2),
        "customers": optional("customers", 0),
        "expected": optional("expected_customers", 0),
        "ws": optional("whitespace_score", 2),
    }
    if formats is None:
        p["formats"] = p["type"]
    else:
        p["formats"] = [sep.join(label(f, FORMATS, lang) for f in fs) or "—" for fs in formats]
    if feature is not None:
        p["feature"] = [str(m) for m in feature]
    if actions:
        p["zone_id"] = [str(z) for z in zones["zone_id"]]
    rows = [
        CardRow(t("maps.card.district", lang), "district", "text", lookup=True),
        CardRow(t("maps.card.zone_type", lang), "type", "text", lookup=True),
        CardRow(t("maps.card.population", lang), "pop"),
        CardRow(t("maps.card.density", lang), "density", unit=t("maps.unit.density", lang)),
        CardRow(t("maps.card.income", lang), "income", unit=t("maps.unit.cny", lang)),
        CardRow(t("maps.card.r_value", lang), "r", digits=2),
        CardRow(t("maps.card.customers", lang), "customers"),
        CardRow(t("maps.card.expected", lang), "expected"),
        CardRow(t("maps.card.whitespace", lang), "ws", digits=2),
        CardRow(t("maps.card.formats", lang), "formats", "text", lookup=formats is None),
        CardRow(t("maps.card.feature_model", lang), "feature", "text"),
    ]
    rows = [r for r in rows if p.get(r.key) is not None]
    p = {k: v for k, v in p.items() if v is not None}
    lookups = {
        "district": districts,
        "type": [label(c, ZONE_TYPES, lang) for c in types],
    }
    if formats is None:
        lookups["formats"] = formats_by_type
    card = pl.card(
        title="name",
        rows=rows,
        lookups=lookups,
        actions=actions,
        id="zone_id" if actions else None,
    )
    return p, card


def add_zones(
    m: folium.Map,
    zones: gpd.GeoDataFrame,
    *,
    colour_by: str = "zone_type",
    lang: str = "zh",
    settings: Settings | None = None,
    name: str | None = None,
    legend: bool = True,
    legend_position: str = "bottomright",
    opacity: float | None = None,
    actions: Sequence[CardAction] = (),
    formats: Sequence[Sequence[str]] | None = None,
    feature: Sequence[str] | None = None,
) -> folium.Map:
    """Zones coloured by ``colour_by`` (see :data:`COLOUR_BY`), with a legend and a card on click.

    ``zones`` is ``analysis.zones`` (or ``ws.zones`` for ``"zone_type"``);
    only the card's columns are embedded: name, district, zone type,
    population, density, income, R, customers, expected customers,
    white-space score and the formats: ``formats`` (each zone's, from the site
    brief with the workspace's playbook) or the zone type's; ``feature`` the
    model to feature in each zone (its R nearest the target). ``actions`` put buttons on
    the card (e.g. ``CardAction("set_site", "设为外拓点")``); a click sends
    ``{action, id: zone_id}`` to the app (see :func:`territory.ui.components.show_map`).
    """
    lang = check_lang(lang)
    settings = settings or Settings()
    k, palette, items, title = _zone_classes(zones, colour_by, lang=lang, settings=settings)
    p, zone_card = _zone_card(zones, lang, actions, formats, feature)
    tiles = _folium.meta(m).tiles
    fill = opacity if opacity is not None else (0.72 if tiles == "none" else 0.5)
    payload = pl.shapes_layer(
        geometry=_encode_geoms(m, zones.geometry),
        precision=_ms(m).precision,
        classes=k,
        palette=palette,
        properties=p,
        card=zone_card,
        tooltip="name",
        style=pl.Style(stroke="#ffffff", weight=0.6, opacity=0.9, fill=fill),
    )
    _add(m, payload, name=name or t("maps.layer.zones", lang))
    if legend:
        _legend(m, title, items, pos=legend_position)
    return m


# --------------------------------------------------------------------------- dealer and rings


def add_dealer(
    m: folium.Map,
    *,
    lon: float,
    lat: float,
    name: str,
    rings: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
) -> folium.Map:
    """The dealer's marker and its influence rings (from ``influence.influence_rings``)."""
    lang = check_lang(lang)
    x, y = _to_display(m, [lon], [lat])
    if rings is not None and len(rings):
        radius = rings[rings["is_radius"]]
        other = rings[~rings["is_radius"]]
        for frame, style, key in (
            (
                other,
                pl.Style(stroke="#1f3a93", weight=1.2, opacity=0.7, dash="4 6", interactive=False),
                "maps.layer.rings",
            ),
            (
                radius,
                pl.Style(stroke="#1f3a93", weight=2.5, opacity=0.9, dash="10 6", interactive=False),
                "maps.layer.influence",
            ),
        ):
            if frame.empty:
                continue
            payload = pl.polygons_layer(
                geometry=_encode_geoms(m, frame.geometry, simplify=False),
                precision=_ms(m).precision,
                palette=["#1f3a93"],
                style=style,
            )
            _add(m, payload, name=t(key, lang))
        # Ring labels on each ring's north-east point (clear of the dealer's pin above the
        # centre); where that is off the map or hidden, the map moves them along the ring.
        b = rings.geometry.bounds
        cx, cy = ((b["minx"] + b["maxx"]) / 2).to_numpy(), ((b["miny"] + b["maxy"]) / 2).to_numpy()
        rx, ry = ((b["maxx"] - b["minx"]) / 2).to_numpy(), ((b["maxy"] - b["miny"]) / 2).to_numpy()
        angles = np.radians(_RING_LABEL_ANGLES)
        first = angles[0]
        texts = [
            t("maps.ring_radius", lang, km=f"{r:g}") if is_r else t("maps.ring", lang, km=f"{r:g}")
            for r, is_r in zip(rings["ring_km"], rings["is_radius"], strict=True)
        ]
        alternatives = [
            _encode_points(m, x + a * np.cos(angles[1:]), y + c * np.sin(angles[1:]))
            for x, y, a, c in zip(cx, cy, rx, ry, strict=True)
        ]
        _add(
            m,
            pl.labels_layer(
                points=_encode_points(m, cx + rx * np.cos(first), cy + ry * np.sin(first)),
                precision=_ms(m).precision,
                texts=texts,
                css="territory-label-ring",
                alternatives=alternatives,
            ),
            name=t("maps.layer.ring_labels", lang),
            control=False,
        )
    payload = pl.dealer_layer(
        lat=float(y[0]), lng=float(x[0]), name=name, mark=t("maps.dealer_mark", lang)
    )
    _add(m, payload, name=t("maps.layer.dealer", lang))
    return m


# --------------------------------------------------------------------------- customers


def hex_counts(
    lon: Any,
    lat: Any,
    *,
    max_cells: int = 6000,
    finest: int = 9,
    coarsest: int = 5,
) -> pd.DataFrame:
    """Count points per H3 hexagon at the finest resolution that gives at most ``max_cells`` cells.

    Parameters
    ----------
    lon, lat : array-like
        WGS-84 degrees; NaN points are skipped.

    Returns
    -------
    DataFrame
        ``cell`` (H3 index), ``count``, ``lon``, ``lat`` (cell centre), with
        ``attrs["resolution"]``; most populous cells first.

    Examples
    --------
    >>> frame = hex_counts([104.06, 104.0601, 104.2], [30.66, 30.6601, 30.7])
    >>> frame["count"].tolist(), frame.attrs["resolution"]
    ([2, 1], 9)
    """
    import h3

    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        frame = pd.DataFrame(
            {
                "cell": pd.Series([], dtype="str"),
                "count": pd.Series([], dtype="int64"),
                "lon": pd.Series([], dtype="float64"),
                "lat": pd.Series([], dtype="float64"),
            }
        )
        frame.attrs["resolution"] = finest
        return frame
    # Points on the same ~1 m spot (same address) share one lookup.
    offset = 1 << 30  # makes both parts positive (|degrees| x 1e5 < 2^25)
    qy = np.round(y * 1e5).astype(np.int64) + offset
    qx = np.round(x * 1e5).astype(np.int64) + offset
    keys, weights = np.unique((qy << 32) | qx, return_counts=True)
    ky = ((keys >> 32) - offset) / 1e5
    kx = ((keys & 0xFFFFFFFF) - offset) / 1e5
    cells = pd.Series(
        [h3.latlng_to_cell(a, b, finest) for a, b in zip(ky.tolist(), kx.tolist(), strict=True)]
    )
    counts = pd.Series(weights).groupby(cells.to_numpy()).sum()
    resolution = finest
    while len(counts) > max_cells and resolution > coarsest:
        resolution -= 1
        parents = [h3.cell_to_parent(c, resolution) for c in counts.index]
        counts = counts.groupby(parents).sum()
    counts = counts.sort_values(ascending=False, kind="stable")
    centres = np.array([h3.cell_to_latlng(c) for c in counts.index]).reshape(-1, 2)
    frame = pd.DataFrame(
        {
            "cell": counts.index.astype("str"),
            "count": counts.to_numpy(dtype="int64"),
            "lon": centres[:, 1],
            "lat": centres[:, 0],
        }
    )
    frame.attrs["resolution"] = resolution
    return frame


def add_customers(
    m: folium.Map,
    hexes: pd.DataFrame,
    *,
    style: str = "hexagons",
    lang: str = "zh",
    show: bool = True,
) -> folium.Map:
    """Existing customers, aggregated: H3 hexagons with counts, or a heat map of them.

    ``hexes`` is :func:`hex_counts` of the customers' coordinates; no
    individual customer ever reaches the page.
    """
    lang = check_lang(lang)
    if style not in CUSTOMER_STYLES:
        raise ValueError(
            f"unknown customer style {style!r}; use one of {', '.join(CUSTOMER_STYLES)}"
        )
    if style == "off" or hexes.empty:
        return m
    counts = hexes["count"].to_numpy(dtype="float64")
    if style == "heat":
        from folium.plugins import HeatMap

        x, y = _to_display(m, hexes["lon"], hexes["lat"])
        top = float(np.quantile(counts, 0.95)) if len(counts) else 1.0
        data = [
            [round(float(b), 5), round(float(a), 5), round(min(float(c) / max(top, 1.0), 1.0), 3)]
            for a, b, c in zip(x, y, counts, strict=True)
        ]
        HeatMap(
            data,
            name=safe_text(t("maps.layer.customers", lang)),
            radius=14,
            blur=18,
            min_opacity=0.25,
            gradient={0.2: "#fdd0a2", 0.45: "#fd8d3c", 0.7: "#d94801", 1.0: "#7f2704"},
        ).add_to(m)
        _legend(
            m,
            t("maps.legend.customers_heat", lang),
            [("#fd8d3c", t("maps.legend.heat_note", lang, n=f"{int(counts.sum()):,}"), "")],
            pos="bottomleft",
        )
        return m
    import h3

    k, edges = _count_classes(counts)
    boundaries = [h3.cell_to_boundary(c) for c in hexes["cell"]]
    g = []
    precision = _ms(m).precision
    factor = 10**precision
    for boundary in boundaries:
        latlng = np.asarray(boundary, dtype="float64")
        x, y = _to_display(m, latlng[:, 1], latlng[:, 0])
        q = _quantised_ring(np.column_stack([x, y]), factor)
        g.append([[_encode_ring(q, precision)]] if q is not None else [])
    payload = pl.shapes_layer(
        geometry=g,
        precision=precision,
        classes=[int(v) for v in k],
        palette=[_HEX_COLOUR] * len(_HEX_OPACITY),
        # Not interactive: a click goes through to the zone underneath (its card has the count).
        style=pl.Style(
            stroke=_HEX_COLOUR, weight=0.4, opacity=0.35, fills=_HEX_OPACITY, interactive=False
        ),
    )
    _add(m, payload, name=t("maps.layer.customers", lang), show=show)
    lows = [1, *[int(e) + 1 for e in edges]]
    highs = [*[int(e) for e in edges], int(counts.max())]
    items = [
        (_HEX_COLOURS[i], f"{lo:,}–{hi:,}" if hi > lo else f"{lo:,}", "")
        for i, (lo, hi) in enumerate(zip(lows, highs, strict=True))
        if hi >= lo
    ][::-1]
    _legend(
        m,
        t("maps.legend.customers", lang),
        items,
        pos="bottomleft",
        note=t(
            "maps.legend.hex_note",
            lang,
            n=f"{int(counts.sum()):,}",
            res=hexes.attrs.get("resolution", ""),
        ),
    )
    return m


# --------------------------------------------------------------------------- cards, POIs


def add_cards(
    m: folium.Map, zones: gpd.GeoDataFrame, *, lang: str = "zh", show: bool = True
) -> folium.Map:
    """A-cards and deposit cards as one pair of bubbles per zone (areas ∝ counts).

    ``zones`` needs ``a_cards`` and ``deposit_cards`` (``analysis.zones``).
    """
    lang = check_lang(lang)
    a = pd.to_numeric(zones["a_cards"], errors="coerce").fillna(0).to_numpy()
    d = pd.to_numeric(zones["deposit_cards"], errors="coerce").fillna(0).to_numpy()
    has = (a + d) > 0
    if not has.any():
        return m
    sub = zones[has]
    points = sub.geometry.representative_point()
    top = max(float(a[has].max()), 1.0)
    scale = _ms(m).max_bubble_px / math.sqrt(top)
    xy = _encode_points(m, points.x, points.y)
    names = _column(sub["name"].where(sub["name"].notna(), sub["zone_id"]))
    card = pl.card(
        title="name",
        rows=[
            CardRow(t("maps.card.a_cards", lang), "a"),
            CardRow(t("maps.card.deposit_cards", lang), "d"),
        ],
        on="hover",
    )
    props = {"name": names, "a": [int(v) for v in a[has]], "d": [int(v) for v in d[has]]}
    for values, colour, layer_key in (
        (a[has], "#2f6fb3", "maps.layer.a_cards"),
        (d[has], "#e8702a", "maps.layer.deposit_cards"),
    ):
        radius = [round(max(2.0, scale * math.sqrt(v)), 1) if v > 0 else 0 for v in values]
        payload = pl.dots_layer(
            points=xy,
            precision=_ms(m).precision,
            radii=radius,
            palette=[colour],
            properties=props,
            card=card,
            style=pl.Style(stroke="#ffffff", weight=0.8, fill=0.75),
        )
        _add(m, payload, name=t(layer_key, lang), show=show)
    _legend(
        m,
        t("maps.legend.cards", lang),
        [
            ("#2f6fb3", t("maps.card.a_cards", lang), "dot"),
            ("#e8702a", t("maps.card.deposit_cards", lang), "dot"),
        ],
        pos="bottomleft",
        note=t("maps.legend.cards_note", lang),
    )
    return m


def add_pois(
    m: folium.Map,
    pois: pd.DataFrame,
    *,
    lang: str = "zh",
    settings: Settings | None = None,
    show: bool = True,
) -> folium.Map:
    """Points of interest (driving schools, markets, enterprises...) coloured by type."""
    lang = check_lang(lang)
    located = pois[pois.geometry.notna() & ~pois.geometry.is_empty] if len(pois) else pois
    if located is None or not len(located):
        return m
    limit = (settings or Settings()).maps.max_pois
    shown = located.iloc[:limit]
    types = list(POI_TYPES)
    index = {c: i for i, c in enumerate(types)}
    k = [index.get(v, len(types)) for v in shown["poi_type"]]
    palette = [_POI_COLOURS[c] for c in types] + ["#7f7f7f"]
    type_labels = [label(c, POI_TYPES, lang) for c in types] + [t("maps.legend.other", lang)]
    payload = pl.dots_layer(
        points=_encode_points(m, shown.geometry.x, shown.geometry.y),
        precision=_ms(m).precision,
        classes=k,
        palette=palette,
        properties={
            "name": _column(shown["name"].where(shown["name"].notna(), shown["poi_id"])),
            "type": k,
        },
        card=pl.card(
            title="name",
            rows=[CardRow(t("maps.card.poi_type", lang), "type", "text", lookup=True)],
            lookups={"type": type_labels},
            on="hover",
        ),
        style=pl.Style(stroke="#ffffff", weight=1.2, fill=0.95, radius=5),
    )
    _add(m, payload, name=t("maps.layer.pois", lang), show=show)
    present = sorted(set(k))
    note = (
        t("maps.legend.pois_capped", lang, shown=limit, total=len(located))
        if len(located) > limit
        else None
    )
    _legend(
        m,
        t("maps.legend.pois", lang),
        [(palette[i], type_labels[i], "dot") for i in present],
        pos="bottomleft",
        note=note,
    )
    return m


# --------------------------------------------------------------------------- white space, sites


def add_areas(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    zone_names: dict[str, str] | None = None,
    lang: str = "zh",
) -> folium.Map:
    """White-space candidate areas (``analysis.areas``) outlined and labelled with their rank."""
    lang = check_lang(lang)
    if areas is None or not len(areas):
        return m
    names = zone_names or {}
    sep = "、" if lang == "zh" else ", "

    def zones_text(ids: Sequence[str]) -> str:
        listed = [names.get(str(z), str(z)) for z in list(ids)[:4]]
        more = len(ids) - len(listed)
        return sep.join(listed) + (t("maps.more", lang, n=more) if more > 0 else "")

    p = {
        "title": [
            t("maps.area_title", lang, rank=i + 1, area=a) for i, a in enumerate(areas["area_id"])
        ],
        "zones": [zones_text(ids) for ids in areas["zone_ids"]],
        "pop": _column(areas["population"], digits=0),
        "customers": _column(areas["customers"], digits=0),
        "expected": _column(areas["expected_customers"], digits=0),
        "shortfall": _column(areas["shortfall"], digits=0)
        if "shortfall" in areas
        else [None] * len(areas),
    }
    rows = [
        CardRow(t("maps.card.zones", lang), "zones", "text"),
        CardRow(t("maps.card.population", lang), "pop"),
        CardRow(t("maps.card.customers", lang), "customers"),
        CardRow(t("maps.card.expected", lang), "expected"),
        CardRow(t("maps.card.shortfall", lang), "shortfall"),
    ]
    payload = pl.polygons_layer(
        geometry=_encode_geoms(m, areas.geometry),
        precision=_ms(m).precision,
        palette=["#6a3d9a"],
        properties=p,
        card=pl.card(title="title", rows=rows),
        tooltip="title",
        style=pl.Style(stroke="#6a3d9a", weight=2.5, opacity=1.0, fill=0.12, dash="6 4"),
    )
    _add(m, payload, name=t("maps.layer.areas", lang))
    centres = areas.geometry.representative_point()
    _add(
        m,
        pl.labels_layer(
            points=_encode_points(m, centres.x, centres.y),
            precision=_ms(m).precision,
            texts=[str(a) for a in areas["area_id"]],
            fixed=True,
        ),
        name=t("maps.layer.area_labels", lang),
        control=False,
    )
    _legend(
        m,
        t("maps.legend.areas", lang),
        [("#6a3d9a", t("maps.legend.area_item", lang), "line")],
        pos="topleft",
    )
    return m


def add_sites(
    m: folium.Map, sites: pd.DataFrame, *, lang: str = "zh", click_action: str | None = None
) -> folium.Map:
    """Recommended sites (``recommend(...).sites``) as numbered markers with their card.

    A click on a marker opens its card; with ``click_action`` (e.g.
    ``"open_plan"``) it sends ``{action, id: zone_id}`` to the app instead and the
    card shows on hover.
    """
    lang = check_lang(lang)
    if sites is None or not len(sites):
        return m
    sep = "、" if lang == "zh" else ", "
    p = {
        "title": [f"{int(r)}. {n}" for r, n in zip(sites["rank"], sites["name"], strict=True)],
        "district": _column(sites["district"]),
        "type": [label(z, ZONE_TYPES, lang) for z in sites["zone_type"]],
        "formats": [sep.join(label(f, FORMATS, lang) for f in fs[:3]) for fs in sites["formats"]],
        "slots": [sep.join(s) for s in sites["time_slots"]],
        "leads": _column(sites["expected_leads"], digits=0),
        "cost": _column(sites["estimated_cost"], digits=0),
        "score": _column(sites["score"], digits=2),
    }
    rows = [
        CardRow(t("maps.card.district", lang), "district", "text"),
        CardRow(t("maps.card.zone_type", lang), "type", "text"),
        CardRow(t("maps.card.formats", lang), "formats", "text"),
        CardRow(t("maps.card.slots", lang), "slots", "text"),
        CardRow(t("maps.card.leads", lang), "leads"),
        CardRow(t("maps.card.cost", lang), "cost", unit=t("maps.unit.cny", lang)),
        CardRow(t("maps.card.score", lang), "score", digits=2),
    ]
    if "spot" in sites:
        # The marker stands on the spot (where the team sets up): its name and what it sells.
        p["spot"] = [str(s.get("name", "")) if isinstance(s, dict) else "" for s in sites["spot"]]
        rows.insert(0, CardRow(t("maps.card.spot", lang), "spot", "text"))
    if "expected_sales" in sites:
        p["sales"] = _column(sites["expected_sales"], digits=1)
        rows.insert(-1, CardRow(t("maps.card.sales", lang), "sales", digits=1))
    if "cost_per_sale" in sites:
        p["cps"] = _column(sites["cost_per_sale"], digits=0)
        rows.insert(
            -1, CardRow(t("maps.card.cost_per_sale", lang), "cps", unit=t("maps.unit.cny", lang))
        )
    if "chosen_by" in sites:
        p["by"] = [t(f"maps.card.chosen_by.{c}", lang) for c in sites["chosen_by"]]
        rows.append(CardRow(t("maps.card.chosen_by", lang), "by", "text"))
    payload = pl.sites_layer(
        points=_encode_points(m, sites["lon"], sites["lat"]),
        precision=_ms(m).precision,
        ranks=[int(r) for r in sites["rank"]],
        ids=[str(z) for z in (sites["zone_id"] if "zone_id" in sites else sites["rank"])],
        properties=p,
        card=pl.card(title="title", rows=rows),
        tooltip="title",
        click_action=click_action,
    )
    _add(m, payload, name=t("maps.layer.sites", lang))
    return m


# --------------------------------------------------------------------------- consultant territories

#: Territory colours, in consultant order (colour-blind friendly, after Okabe–Ito and Tol);
#: the palette repeats after twelve consultants.
TERRITORY_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#882255",
    "#999933",
    "#44AA99",
    "#AA4499",
    "#332288",
    "#117733",
)


def territory_colours(consultants: Sequence[str]) -> dict[str, str]:
    """Each consultant's colour, by their place in ``consultants`` (maps and prints agree)."""
    return {c: TERRITORY_COLOURS[i % len(TERRITORY_COLOURS)] for i, c in enumerate(consultants)}


def add_territories(
    m: folium.Map,
    zones: gpd.GeoDataFrame,
    outlines: gpd.GeoSeries,
    *,
    consultants: Sequence[str],
    zone_types: pd.Series | None = None,
    lang: str = "zh",
    actions: Sequence[CardAction] = (),
) -> folium.Map:
    """Consultant territories: zones in their consultant's colour, outlines and names.

    ``zones`` has ``zone_id``, ``name``, ``district``, ``population``,
    ``consultant``, ``locked`` (and ``open_leads`` when known); ``outlines``
    one (multi)polygon per consultant, in the order of ``consultants``.
    ``actions`` put buttons on the zone card (e.g. hand the zone to another
    consultant); a click sends ``{action, id: zone_id}`` to the app.
    """
    lang = check_lang(lang)
    colours = territory_colours(consultants)
    index = {c: i for i, c in enumerate(consultants)}
    districts = sorted({str(d) for d in zones["district"].dropna()})
    d_index = {d: i for i, d in enumerate(districts)}
    types = list(ZONE_TYPES)
    t_index = {c: i for i, c in enumerate(types)}
    kinds = zone_types if zone_types is not None else pd.Series([None] * len(zones))
    p = {
        "name": _column(zones["name"].where(zones["name"].notna(), zones["zone_id"])),
        "zone": [str(z) for z in zones["zone_id"]],
        "consultant": [index[c] for c in zones["consultant"]],
        "district": [d_index.get(str(v)) if pd.notna(v) else None for v in zones["district"]],
        "type": [t_index.get(v) for v in kinds],
        "pop": _column(zones["population"], digits=0),
        "locked": [1 if v else 0 for v in zones["locked"]],
    }
    rows = [
        CardRow(t("maps.card.consultant", lang), "consultant", "text", lookup=True),
        CardRow(t("maps.card.zone_id", lang), "zone", "text"),
        CardRow(t("maps.card.district", lang), "district", "text", lookup=True),
        CardRow(t("maps.card.zone_type", lang), "type", "text", lookup=True),
        CardRow(t("maps.card.population", lang), "pop"),
        CardRow(t("maps.card.locked", lang), "locked", "text", lookup=True),
    ]
    if "open_leads" in zones and zones["open_leads"].notna().any():
        p["leads"] = _column(zones["open_leads"], digits=0)
        rows.append(CardRow(t("maps.card.open_leads", lang), "leads"))
    if zone_types is None:
        rows = [r for r in rows if r.key != "type"]
    zone_card = pl.card(
        title="name",
        rows=rows,
        lookups={
            "consultant": list(consultants),
            "district": districts,
            "type": [label(c, ZONE_TYPES, lang) for c in types],
            "locked": [t("maps.card.unlocked", lang), t("maps.card.locked_yes", lang)],
        },
        actions=actions,
        id="zone" if actions else None,
    )
    tiles = _folium.meta(m).tiles
    payload = pl.shapes_layer(
        geometry=_encode_geoms(m, zones.geometry),
        precision=_ms(m).precision,
        classes=[index[c] for c in zones["consultant"]],
        palette=[colours[c] for c in consultants],
        properties=p,
        card=zone_card,
        tooltip="name",
        style=pl.Style(
            stroke="#ffffff", weight=0.6, opacity=0.9, fill=0.5 if tiles == "none" else 0.35
        ),
    )
    _add(m, payload, name=t("maps.layer.territory_zones", lang))
    shapes = gpd.GeoSeries(list(outlines), crs=outlines.crs)
    _add(
        m,
        pl.polygons_layer(
            geometry=_encode_geoms(m, shapes),
            precision=_ms(m).precision,
            classes=list(range(len(consultants))),
            palette=[colours[c] for c in consultants],
            style=pl.Style(weight=3.5, opacity=1.0, fill=0.0, interactive=False),
        ),
        name=t("maps.layer.territories", lang),
    )
    anchors = shapes.to_crs("EPSG:4326").representative_point()
    _add(
        m,
        pl.labels_layer(
            points=_encode_points(m, anchors.x, anchors.y),
            precision=_ms(m).precision,
            texts=list(consultants),
            css="territory-label-consultant",
        ),
        name=t("maps.layer.territory_names", lang),
        control=False,
    )
    _legend(
        m,
        t("maps.legend.territories", lang),
        [(colours[c], c, "") for c in consultants],
        pos="bottomright",
    )
    return m


# --------------------------------------------------------------------------- whole maps


def _rings(ws, settings: Settings) -> gpd.GeoDataFrame:
    from territory.analysis.influence import influence_rings

    return influence_rings(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        rings_km=settings.influence.rings_km,
        radius_km=settings.influence.radius_km,
    )


def environment_map(
    ws,
    analysis,
    *,
    colour_by: str = "zone_type",
    tiles: str = "none",
    lang: str = "zh",
    customers: pd.DataFrame | None = None,
    customer_style: str = "hexagons",
    cards: bool = True,
    pois: bool = True,
    areas: bool = False,
    sites: pd.DataFrame | None = None,
) -> folium.Map:
    """The environment map (seed 000 step 1): zones, dealer and rings, customers, cards, POIs.

    Parameters
    ----------
    ws : Workspace
    analysis : Analysis
        ``analyse(ws, ...)``: its zones carry the colouring columns and the card.
    customers : DataFrame, optional
        :func:`hex_counts` of the customers (computed here when None).
    areas : bool
        Also outline the white-space candidate areas.
    sites : DataFrame, optional
        Recommended sites to number on the map.
    """
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by=colour_by, lang=lang, settings=settings)
    if customer_style != "off":
        if customers is None:
            located = ws.customers.geometry
            located = located[located.notna() & ~located.is_empty]
            customers = hex_counts(
                located.x,
                located.y,
                max_cells=settings.maps.max_hexagons,
                finest=settings.maps.finest_hex_resolution,
                coarsest=settings.maps.coarsest_hex_resolution,
            )
        add_customers(m, customers, style=customer_style, lang=lang)
    if cards:
        add_cards(m, analysis.zones, lang=lang, show=True)
    if pois:
        add_pois(m, ws.pois, lang=lang, settings=settings)
    if areas:
        add_areas(m, analysis.areas, zone_names=_zone_names(ws), lang=lang)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    if sites is not None:
        add_sites(m, sites, lang=lang)
    return finish_map(m)


def _zone_names(ws) -> dict[str, str]:
    names = ws.zones["name"].where(ws.zones["name"].notna(), ws.zones["zone_id"])
    return dict(zip(ws.zones["zone_id"].astype(str), names.astype(str), strict=True))


def whitespace_map(ws, analysis, *, tiles: str = "none", lang: str = "zh") -> folium.Map:
    """Zones by white-space score with the candidate areas outlined and labelled."""
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by="whitespace_score", lang=lang, settings=settings)
    add_areas(m, analysis.areas, zone_names=_zone_names(ws), lang=lang)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    return finish_map(m)


def sites_map(
    ws, analysis, sites: pd.DataFrame, *, tiles: str = "none", lang: str = "zh"
) -> folium.Map:
    """Recommended sites numbered on zones coloured by zone type."""
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by="zone_type", lang=lang, settings=settings, opacity=0.45)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    add_sites(m, sites, lang=lang)
    return finish_map(m)


def territories_map(
    ws,
    split,
    *,
    tiles: str = "none",
    lang: str = "zh",
    actions: Sequence[CardAction] = (),
    settings: Settings | None = None,
) -> folium.Map:
    """The consultants' territories (a :class:`territory.outreach.split.Split`) with the dealer."""
    settings = settings or ws.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    types = dict(zip(ws.zones["zone_id"], ws.zones["zone_type"], strict=True))
    add_territories(
        m,
        split.zones,
        split.outlines(),
        consultants=split.consultants,
        zone_types=pd.Series([types.get(z) for z in split.zones["zone_id"]]),
        lang=lang,
        actions=actions,
    )
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    return finish_map(m)


def choropleth_map(
    frame: gpd.GeoDataFrame,
    column: str,
    *,
    lon: float,
    lat: float,
    radius_km: float | None = None,
    tiles: str = "none",
    lang: str = "zh",
    settings: Settings | None = None,
    bounds: Sequence[float] | None = None,
    dealer_name: str | None = None,
    rings: gpd.GeoDataFrame | None = None,
    labels: bool = True,
) -> folium.Map:
    """One coverage measure per district polygon (``coverage.choropleth_frames``).

    With ``dealer_name`` the dealer (at ``lon``/``lat``) and its ``rings``
    are drawn too; ``labels`` writes each district's name on it.

    ``bounds`` (min lon, min lat, max lon, max lat, WGS-84), e.g. of the
    dealer's market, sets the opening view; otherwise ``radius_km`` around
    ``lon``/``lat`` does.

    ``column`` is ``"a_cards_per_10k"`` or ``"deposit_rate"``; five quantile
    classes, a legend, and a card with A-cards, deposit cards, the rate and
    the diagnosis.
    """
    lang = check_lang(lang)
    if column not in ("a_cards_per_10k", "deposit_rate"):
        raise ValueError(f"unknown coverage column {column!r}; use a_cards_per_10k or deposit_rate")
    m = base_map(
        lon=lon,
        lat=lat,
        radius_km=None if bounds is not None else radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    if bounds is not None:
        x, y = _to_display(m, [bounds[0], bounds[2]], [bounds[1], bounds[3]])
        _folium.add_fit(
            m,
            [
                [round(float(y[0]), 6), round(float(x[0]), 6)],
                [round(float(y[1]), 6), round(float(x[1]), 6)],
            ],
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    palette = (
        _SEQUENTIAL[5]
        if column == "a_cards_per_10k"
        else ["#f7fcf5", "#c7e9c0", "#74c476", "#31a354", "#006d2c"]
    )
    fmt = (lambda v: f"{v:.1f}") if column == "a_cards_per_10k" else (lambda v: f"{100 * v:.0f}%")
    k, classes_palette, items = _quantile_classes(values, palette, fmt)
    items.extend([(_NO_DATA, t("maps.legend.no_data", lang), "")] if 5 in k else [])
    p = {
        "name": _column(frame["label"] if "label" in frame else frame["district"]),
        "pop": _column(frame["population"], digits=0),
        "a": _column(frame["a_cards"], digits=0),
        "d": _column(frame["deposit_cards"], digits=0),
        "per10k": _column(frame["a_cards_per_10k"], digits=1),
        "rate": _column(frame["deposit_rate"], digits=3),
        "diagnosis": _column(frame["diagnosis_label"])
        if "diagnosis_label" in frame
        else [""] * len(frame),
    }
    rows = [
        CardRow(t("maps.card.population", lang), "pop"),
        CardRow(t("maps.card.a_cards", lang), "a"),
        CardRow(t("maps.card.deposit_cards", lang), "d"),
        CardRow(t("maps.card.a_per_10k", lang), "per10k", digits=1),
        CardRow(t("maps.card.deposit_rate", lang), "rate", "pct"),
        CardRow(t("maps.card.diagnosis", lang), "diagnosis", "text"),
    ]
    payload = pl.polygons_layer(
        geometry=_encode_geoms(m, frame.geometry),
        precision=_ms(m).precision,
        classes=k,
        palette=classes_palette,
        properties=p,
        card=pl.card(title="name", rows=rows),
        tooltip="name",
        style=pl.Style(stroke="#555555", weight=0.8, opacity=0.8, fill=0.75),
    )
    _add(m, payload, name=t(f"maps.layer.{column}", lang))
    if labels and len(frame):
        centres = frame.geometry.representative_point()
        _add(
            m,
            pl.labels_layer(
                points=_encode_points(m, centres.x, centres.y),
                precision=_ms(m).precision,
                texts=p["name"],
                fixed=True,
            ),
            name=t("maps.layer.area_labels", lang),
            control=False,
        )
    if dealer_name is not None:
        add_dealer(m, lon=lon, lat=lat, name=dealer_name, rings=rings, lang=lang)
    _legend(m, t(f"maps.legend.{column}", lang), items, pos="bottomright")
    return finish_map(m, layer_control=False)

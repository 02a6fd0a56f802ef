"""The dealer network on one map: responsibility areas, dealers, gaps and candidate outlets.

:func:`network_map` returns a ``folium.Map`` (built on
:func:`territory.render.maps.base_map`, so it links only Leaflet and works
offline): each dealer's responsibility area (its zones dissolved and
simplified to the map's scale) and the dealer as a dot, both coloured by the
dealer's white-space share or by its coverage diagnosis against the network
median; the gap areas no dealer reaches in red; the new outlets chosen
jointly as numbered stars. Every text that reaches the page goes through
:func:`~territory.render.maps.safe_text`.
"""

from __future__ import annotations

import math

import folium
import geopandas as gpd
import numpy as np
import shapely

from territory.i18n import check_lang, t
from territory.render.maps import base_map, finish_map, safe_text

__all__ = [
    "COLOUR_BY",
    "DIAGNOSIS_COLOURS",
    "WHITESPACE_COLOURS",
    "network_map",
    "whitespace_class",
]

COLOUR_BY: tuple[str, ...] = ("whitespace", "diagnosis")
DIAGNOSIS_COLOURS: dict[str, str] = {
    "awareness_gap": "#f28e2b",
    "follow_up_gap": "#e15759",
    "balanced": "#59a14f",
    "no_data": "#bab0ac",
}
#: White-space share classes (upper bounds) and colours, light to dark.
WHITESPACE_BREAKS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.35)
WHITESPACE_COLOURS: tuple[str, ...] = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NO_VALUE = "#bab0ac"
GAP_COLOUR = "#ffd92f"
GAP_EDGE = "#8c6d00"
OUTLET_COLOUR = "#6a3d9a"


def whitespace_class(share: float | None) -> int | None:
    """Class 0–4 of a white-space share (None when unknown, e.g. cold start)."""
    if share is None or not math.isfinite(share):
        return None
    return int(np.searchsorted(WHITESPACE_BREAKS, share, side="right"))


def _colour(summary: dict, colour_by: str) -> str:
    if colour_by == "diagnosis":
        return DIAGNOSIS_COLOURS.get(summary.get("diagnosis") or "no_data", NO_VALUE)
    k = whitespace_class(summary.get("whitespace_score"))
    return NO_VALUE if k is None else WHITESPACE_COLOURS[k]


def _legend(items: list[tuple[str, str]], title: str) -> folium.Element:
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'margin-right:6px;border:1px solid #555"></span>{safe_text(label)}</div>'
        for c, label in items
    )
    html = (
        '<div class="territory-network-legend" style="position:absolute;bottom:44px;left:12px;'
        "z-index:1000;background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;"
        f'font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)"><b>{safe_text(title)}</b>{rows}</div>'
    )
    return folium.Element(html)


def _legend_items(colour_by: str, lang: str) -> list[tuple[str, str]]:
    if colour_by == "diagnosis":
        items = [(c, t(f"coverage.diagnosis.{k}", lang)) for k, c in DIAGNOSIS_COLOURS.items()]
    else:
        bounds = [0.0, *WHITESPACE_BREAKS]
        items = [
            (
                WHITESPACE_COLOURS[i],
                f"≥ {bounds[i]:.0%}"
                if i == len(bounds) - 1
                else f"{bounds[i]:.0%}–{bounds[i + 1]:.0%}",
            )
            for i in range(len(WHITESPACE_COLOURS))
        ]
        items.append((NO_VALUE, t("ui.network.legend_cold", lang)))
    items.append((GAP_COLOUR, t("ui.network.legend_gap", lang)))
    items.append((OUTLET_COLOUR, t("ui.network.legend_outlet", lang)))
    return items


def network_map(
    result, *, colour_by: str = "whitespace", lang: str = "zh", tiles: str = "none"
) -> folium.Map:
    """The network map of a :class:`~territory.network.engine.NetworkResult`."""
    lang = check_lang(lang)
    if colour_by not in COLOUR_BY:
        raise ValueError(f"colour_by must be one of {', '.join(COLOUR_BY)}")
    net = result.network
    dealers = net.dealers
    lon, lat = float(dealers["lon"].mean()), float(dealers["lat"].mean())
    m = base_map(lon=lon, lat=lat, tiles=tiles, lang=lang, zoom=6)
    minx, miny, maxx, maxy = net.zones.total_bounds
    span = max(maxx - minx, maxy - miny)
    tolerance = span / 1500.0  # about a pixel on a map the width of the network
    by_id = {s["dealer_id"]: s for s in result.dealers}

    # Responsibility areas: each dealer's zones, dissolved (primary dealer only).
    zones = net.zones[["geometry"]].copy()
    zones["dealer_id"] = result.areas.zone_dealer.to_numpy()
    served = zones[zones["dealer_id"].notna()]
    if len(served):
        dissolved = served.dissolve(by="dealer_id", as_index=False)
        dissolved["geometry"] = shapely.simplify(
            np.asarray(dissolved.geometry.values, dtype=object), tolerance, preserve_topology=True
        )
        dissolved["fill"] = [_colour(by_id[d], colour_by) for d in dissolved["dealer_id"]]
        dissolved["label"] = [
            safe_text(
                f"{by_id[d]['name']} · {t('ui.network.zones_n', lang, n=by_id[d]['zone_count'])}"
            )
            for d in dissolved["dealer_id"]
        ]
        folium.GeoJson(
            dissolved[["label", "fill", "geometry"]].to_json(),
            name=t("ui.network.layer_areas", lang),
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": "#444",
                "weight": 0.8,
                "fillOpacity": 0.55,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)

    # Gap areas and the outlets chosen together over them.
    gaps = result.gaps.areas
    if len(gaps):
        frame = gpd.GeoDataFrame(
            {
                "label": [
                    safe_text(
                        t(
                            "ui.network.gap_tip",
                            lang,
                            gap=g.gap_id,
                            population=int(g.population),
                            expected=float(g.expected_customers or 0),
                            km=float(g.nearest_dealer_km),
                        )
                    )
                    for g in gaps.itertuples(index=False)
                ]
            },
            geometry=shapely.simplify(np.asarray(gaps.geometry.values, dtype=object), tolerance),
            crs="EPSG:4326",
        )
        folium.GeoJson(
            frame.to_json(),
            name=t("ui.network.layer_gaps", lang),
            style_function=lambda f: {
                "fillColor": GAP_COLOUR,
                "color": GAP_EDGE,
                "weight": 1.2,
                "fillOpacity": 0.55,
                "dashArray": "4 3",
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)

    layer = folium.FeatureGroup(name=t("ui.network.layer_dealers", lang))
    for summary in result.dealers:
        text = t(
            "ui.network.dealer_tip",
            lang,
            name=summary["name"],
            dealer_id=summary["dealer_id"],
            diagnosis=t(f"coverage.diagnosis.{summary.get('diagnosis') or 'no_data'}", lang),
            share=(summary.get("whitespace_score") or 0.0),
        )
        folium.CircleMarker(
            location=[round(summary["lat"], 6), round(summary["lon"], 6)],
            radius=6,
            color="#222",
            weight=1,
            fill=True,
            fill_color=_colour(summary, colour_by),
            fill_opacity=0.95,
            tooltip=safe_text(text),
        ).add_to(layer)
    layer.add_to(m)

    outlets = result.gaps.outlets
    if len(outlets):
        group = folium.FeatureGroup(name=t("ui.network.layer_outlets", lang))
        for o in outlets.itertuples(index=False):
            folium.Marker(
                location=[round(o.lat, 6), round(o.lon, 6)],
                icon=folium.DivIcon(
                    html=(
                        f'<div style="color:{OUTLET_COLOUR};font:bold 18px sans-serif;'
                        f'text-shadow:0 0 3px #fff">★{int(o.rank)}</div>'
                    ),
                    icon_size=(30, 20),
                    icon_anchor=(9, 12),
                ),
                tooltip=safe_text(
                    t(
                        "ui.network.outlet_tip",
                        lang,
                        rank=int(o.rank),
                        name=o.name,
                        gain=o.marginal_shortfall,
                    )
                ),
            ).add_to(group)
        group.add_to(m)

    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    title = t("ui.network.legend_title_" + colour_by, lang)
    m.get_root().html.add_child(_legend(_legend_items(colour_by, lang), title))
    return finish_map(m)

"""One dealer of a network, analysed exactly as its own workspace would be.

:func:`dealer_workspace` builds, in memory, the
:class:`~territory.inputs.workspace.Workspace` the dealer would have if it
kept its own folder: ``dealer.toml`` from its row in dealers.csv and the
network's settings (:func:`territory.network.inputs.dealer_toml`, read by
the same :func:`~territory.inputs.dealer.parse_dealer`), the zones of its
responsibility area (in the network's zone order), and its own customers,
cards and events located against those zones by the same
:func:`~territory.inputs.locate.locate_points`. :func:`analyse_dealer` then
runs the single-dealer commands' functions on it — ``analyse`` (score,
white space), ``recommend`` (next sites) and ``coverage_table`` (districts)
— so a dealer's figures in the network equal ``territory score /
whitespace / recommend / coverage`` on its own folder.

Two things differ from a folder of one's own, by design: a point given only
by a ``zone_id`` of another dealer's area is placed at that zone's inside
point (its own workspace would not know the zone), and "far outside the
zones" notices are not raised (customers living in a neighbour's area are
normal in a network; they are counted as ``customers_outside``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import Problem, ProblemList
from territory.inputs._tables import Table
from territory.inputs.dealer import parse_dealer
from territory.inputs.layers import POINT_LAYERS, empty_layer
from territory.inputs.workspace import Workspace, link_layers
from territory.network.inputs import NETWORK_POINT_LAYERS, point_spec

__all__ = [
    "ZONE_COLUMNS",
    "DealerResult",
    "analyse_dealer",
    "analyse_partition",
    "dealer_workspace",
]

#: Per-zone figures each dealer's analysis hands back for the network map and the gaps.
ZONE_COLUMNS: tuple[str, ...] = (
    "zone_id",
    "dealer_id",
    "customers",
    "a_cards",
    "deposit_cards",
    "expected_customers",
    "shortfall",
    "confidence",
    "whitespace_raw",
    "whitespace_score",
    "distance_km",
    "r_value",
    "density",
    "area_km2",
    "in_influence_area",
    "site_rank",
)

_SILENT = {"notice.far_outside_zones"}


@dataclass
class DealerResult:
    """What one dealer's analysis gives back to the network (small, picklable)."""

    summary: dict[str, Any]
    zones: pd.DataFrame
    outside: np.ndarray
    cards: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    detail: dict[str, Any] | None = None


def _inside_points(geoms) -> np.ndarray:
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])


def _own_zone_ids_only(
    frame: pd.DataFrame, area_ids: set[str], zones: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Rows given only by a zone_id outside the dealer's area: placed at that zone's inside point."""
    if frame.empty or "zone_id" not in frame:
        return frame
    lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
    given = frame["zone_id"]
    other = (
        (~(np.isfinite(lon) & np.isfinite(lat)))
        & given.notna().to_numpy()
        & ~given.isin(area_ids).to_numpy()
    )
    if not other.any():
        return frame
    positions = pd.Index(zones["zone_id"]).get_indexer(given[other])
    known = positions >= 0
    if not known.any():
        return frame  # unknown everywhere: its own workspace reports it the same way
    out = frame.copy()
    idx = np.flatnonzero(other)[known]
    xy = _inside_points(zones.geometry.values[positions[known]])
    out.loc[out.index[idx], "lon"] = xy[:, 0]
    out.loc[out.index[idx], "lat"] = xy[:, 1]
    out.loc[out.index[idx], "coord_sys"] = "wgs84"
    out.loc[out.index[idx], "zone_id"] = None
    return out


def dealer_workspace(
    *,
    root: Path,
    dealer_data: dict[str, Any],
    zones: gpd.GeoDataFrame,
    positions: np.ndarray,
    layers: dict[str, pd.DataFrame],
    pois: gpd.GeoDataFrame | None,
    files: dict[str, str],
    lang: str,
    problems: ProblemList,
) -> Workspace:
    """The dealer's own workspace, in memory (see the module notes).

    ``layers`` holds the dealer's typed rows of each point layer (columns of
    :func:`territory.network.inputs.point_spec`, with ``_row``, the user's
    row numbers, encoded or not); ``positions`` the zones of its area.
    """
    from territory.inputs.geocode import geocoder_for
    from territory.inputs.locate import locate_points
    from territory.inputs.zone_index import ZoneIndex

    dealer = parse_dealer(dealer_data, lang=lang)
    own = zones.iloc[np.sort(np.asarray(positions, dtype="int64"))].reset_index(drop=True)
    own = gpd.GeoDataFrame(own, geometry="geometry", crs="EPSG:4326")
    area_ids = set(own["zone_id"])
    lookup = ZoneIndex(own.geometry).lookup if len(own) else None
    coder = _LazyGeocoder(own, geocoder_for) if len(own) else None
    located: dict[str, gpd.GeoDataFrame] = {}
    tables: dict[str, Table] = {}
    found = ProblemList()
    for name in POINT_LAYERS:
        frame = layers.get(name)
        if name == "pois":
            located[name] = pois.reset_index(drop=True) if pois is not None else empty_layer(name)
            continue
        if frame is None or frame.empty or not len(own):
            located[name] = empty_layer(name)
            continue
        frame = frame.sort_values("_row", kind="stable").reset_index(drop=True)
        rows = frame["_row"].astype("int64")
        typed = _own_zone_ids_only(
            frame.drop(columns=["_row", "_part"], errors="ignore"), area_ids, zones
        )
        typed = _restore_types(typed, name)
        file = files.get(name, name)
        tables[name] = Table(file=file, frame=typed, rows=rows)
        out = locate_points(
            typed,
            rows,
            file=file,
            zones=own,
            default_coord_sys=dealer.coord_sys,
            geocoder=coder,
            problems=found,
            settings=dealer.settings,
            zone_lookup=lookup,
        )
        _duplicate_ids(out, rows, name, file, found)
        located[name] = out
    sources = {name: files.get(name, name) for name in tables}
    link_layers(
        located, tables, sources=sources, dealer=dealer, problems=found, settings=dealer.settings
    )
    problems.extend(p for p in found if p.key not in _SILENT)
    return Workspace(
        root=Path(root), dealer=dealer, zones=own, notices=[], sources=dict(files), **located
    )


class _LazyGeocoder:
    """The workspace's offline geocoder, built only when a row has nothing but an address."""

    def __init__(self, zones: gpd.GeoDataFrame, factory) -> None:
        self._zones = zones
        self._factory = factory
        self._coder = None

    def geocode(self, addresses: pd.Series) -> pd.DataFrame:
        if self._coder is None:
            self._coder = self._factory("offline", self._zones)
        return self._coder.geocode(addresses)


def _restore_types(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """Text columns back to pandas' ``str`` (Dask may hand them over as Arrow strings)."""
    out = frame.copy()
    for col in point_spec(layer).columns:
        if col.name in out and col.kind in ("text", "code", "phone"):
            out[col.name] = out[col.name].astype("str")
    return out


def _duplicate_ids(
    layer: pd.DataFrame, rows: pd.Series, name: str, file: str, problems: ProblemList
) -> None:
    """Duplicate ids within the dealer's rows, as its own file would report them."""
    from territory.inputs.layers import LAYERS

    spec = LAYERS[name]
    column = spec.id_column
    if column is None or column not in layer:
        return
    ids = layer[column]
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        problems.add(
            file,
            "err.duplicate_id",
            column=column,
            rows=rows[dup.to_numpy()],
            severity="error" if spec.unique_ids else "notice",
            found=ids[dup].iloc[0],
        )


def analyse_dealer(
    ws: Workspace,
    *,
    dealer_id: str,
    brand: str | None,
    date: dt.date,
    top: int,
    lang: str,
    detail: bool = False,
) -> DealerResult:
    """Run the single-dealer analysis on a dealer's workspace; summarise it for the network."""
    from territory.analysis.zones import analyse, score_json, whitespace_json
    from territory.leads.coverage import coverage_json
    from territory.outreach.ranking import recommend, recommend_json
    from territory.outreach.site import market_coverage

    customers_total = len(ws.customers)
    in_area = ws.customers["zone_id"].notna()
    outside_geo = ws.customers.geometry[
        ~in_area.to_numpy() & ws.customers.geometry.notna().to_numpy()
    ]
    outside = (
        shapely.get_coordinates(np.asarray(outside_geo.values, dtype=object))
        if len(outside_geo)
        else np.empty((0, 2))
    )
    model = ws.dealer.models[0]
    summary: dict[str, Any] = {
        "dealer_id": dealer_id,
        "name": ws.dealer.name,
        "brand": brand,
        "model": model.name,
        "price": model.price,
        "lon": ws.dealer.lon,
        "lat": ws.dealer.lat,
        "radius_km": ws.dealer.radius_km,
        "zones": [str(z) for z in ws.zones["zone_id"]],
        "zone_count": len(ws.zones),
        "population": int(ws.zones["population"].sum()) if len(ws.zones) else 0,
        "customers": int(in_area.sum()),
        "customers_total": customers_total,
        "customers_outside": int(customers_total - in_area.sum()),
    }
    cards_in = ws.cards[ws.cards["zone_id"].notna()]
    cards_min = pd.DataFrame(
        {
            "dealer_id": dealer_id,
            "card_type": cards_in["card_type"].astype(object).to_numpy(),
            "date": cards_in["date"].to_numpy(dtype="datetime64[ns]"),
            "grade": cards_in["grade"].astype(object).to_numpy(),
            "status": cards_in["status"].astype(object).to_numpy(),
        }
    )
    if len(ws.zones) == 0:
        summary.update(
            {
                "mode": None,
                "expected_customers": None,
                "whitespace_score": None,
                "whitespace_customers": None,
                "areas": [],
                "a_cards": 0,
                "deposit_cards": 0,
                "sites": [],
                "districts": [],
                "notes": ["no_zones"],
            }
        )
        empty = pd.DataFrame({c: [] for c in ZONE_COLUMNS})
        return DealerResult(summary, empty, outside, cards_min)

    analysis = analyse(ws, lang=lang)
    rec = recommend(ws, date=date, top=top, analysis=analysis, lang=lang)
    # `territory coverage`'s table (market: the influence area's districts); the ranking
    # above read its awareness gaps from the same table, so it is made once.
    table = market_coverage(ws, analysis, ws.settings, lang)
    z = analysis.zones
    lookalike = analysis.mode == "lookalike"
    expected = float(z["expected_customers"].sum()) if lookalike else None
    missing = float(z["whitespace_raw"].sum()) if lookalike else None
    sites = [str(s) for s in rec.sites["zone_id"]] if len(rec.sites) else []
    summary.update(
        {
            "mode": analysis.mode,
            "expected_customers": expected,
            "whitespace_score": (missing / expected)
            if lookalike and expected
            else (0.0 if lookalike else None),
            "whitespace_customers": missing,
            "areas": [
                {
                    "area_id": a["area_id"],
                    "zone_ids": list(a["zone_ids"]),
                    "population": int(a["population"]),
                    "customers": int(a["customers"]),
                    "expected_customers": None
                    if a["expected_customers"] is None or pd.isna(a["expected_customers"])
                    else float(a["expected_customers"]),
                    "lon": float(a["lon"]),
                    "lat": float(a["lat"]),
                }
                for a in analysis.areas.drop(columns="geometry").to_dict(orient="records")
            ],
            "a_cards": int(z["a_cards"].sum()),
            "deposit_cards": int(z["deposit_cards"].sum()),
            "sites": sites,
            "districts": [
                {"district": r.label, "diagnosis": r.diagnosis}
                for r in table.itertuples(index=False)
                if not r.unlocated
            ],
            "notes": list(analysis.whitespace.notes) + list(rec.notes),
        }
    )
    zones_out = pd.DataFrame(
        {
            "zone_id": z["zone_id"].astype(object).to_numpy(),
            "dealer_id": dealer_id,
            "customers": z["customers"].to_numpy(dtype="int64"),
            "a_cards": z["a_cards"].to_numpy(dtype="int64"),
            "deposit_cards": z["deposit_cards"].to_numpy(dtype="int64"),
            "expected_customers": z["expected_customers"].to_numpy(dtype="float64"),
            "shortfall": z["shortfall"].to_numpy(dtype="float64"),
            "confidence": z["confidence"].to_numpy(dtype="float64"),
            "whitespace_raw": z["whitespace_raw"].to_numpy(dtype="float64"),
            "whitespace_score": z["whitespace_score"].to_numpy(dtype="float64"),
            "distance_km": z["distance_km"].to_numpy(dtype="float64"),
            "r_value": z["r_value"].to_numpy(dtype="float64"),
            "density": z["density"].to_numpy(dtype="float64"),
            "area_km2": z["area_km2"].to_numpy(dtype="float64"),
            "in_influence_area": z["in_influence_area"].to_numpy(dtype=bool),
        }
    )
    rank = {zone: i + 1 for i, zone in enumerate(sites)}
    zones_out["site_rank"] = zones_out["zone_id"].map(rank).astype("float64")
    doc = None
    if detail:
        doc = {
            "score": score_json(analysis, lang=lang),
            "whitespace": whitespace_json(analysis, lang=lang),
            "recommend": recommend_json(rec, lang=lang),
            "coverage": coverage_json(table, by="district"),
        }
    return DealerResult(summary, zones_out, outside, cards_min, detail=doc)


def analyse_partition(
    *,
    root: Path,
    zones: gpd.GeoDataFrame,
    dealers: list[dict[str, Any]],
    layers: dict[str, pd.DataFrame],
    pois: gpd.GeoDataFrame,
    files: dict[str, str],
    date: dt.date,
    top: int,
    lang: str,
    detail: bool,
) -> list[DealerResult]:
    """Analyse every dealer of one partition (a Dask task).

    ``dealers`` are records with ``dealer_id``, ``brand``, ``toml`` (its
    dealer.toml content) and ``positions`` (its zones); ``layers`` the
    partition's rows of each point layer (every row of these dealers).
    """
    from territory.analysis.threads import one_thread

    out: list[DealerResult] = []
    groups = {
        name: dict(tuple(frame.groupby("dealer_id", sort=False)))
        if frame is not None and len(frame)
        else {}
        for name, frame in layers.items()
    }
    area_of_poi = pois["zone_id"] if len(pois) else pd.Series([], dtype="str")
    with one_thread():
        for record in dealers:
            problems = ProblemList()
            positions = np.asarray(record["positions"], dtype="int64")
            own_ids = set(zones["zone_id"].to_numpy()[positions])
            own_pois = pois[area_of_poi.isin(own_ids).to_numpy()] if len(pois) else None
            ws = dealer_workspace(
                root=root,
                dealer_data=record["toml"],
                zones=zones,
                positions=positions,
                layers={
                    name: groups[name].get(record["dealer_id"])
                    for name in NETWORK_POINT_LAYERS
                    if name in groups
                },
                pois=own_pois,
                files=files,
                lang=lang,
                problems=problems,
            )
            result = analyse_dealer(
                ws,
                dealer_id=record["dealer_id"],
                brand=record.get("brand"),
                date=date,
                top=top,
                lang=lang,
                detail=detail,
            )
            result.problems = list(problems)
            out.append(result)
    return out

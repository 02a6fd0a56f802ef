"""The influence area divided among the sales consultants (顾问分区): ``territory split``.

:func:`split_workspace` divides the zones of the dealer's influence area
among the sales consultants (:mod:`territory.outreach.territories` draws the
territories) and returns a :class:`Split`: every zone's consultant, each
territory's totals, balance index, compactness, bridges and enclaves, and,
when a stored assignment was re-balanced (``keep=True``), which zones moved.
:func:`split_json` is the contract's JSON. Storing the result (in the
workspace's journal) is :mod:`territory.inputs.assignment`'s job.

Examples
--------
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> split = split_workspace(ws, consultants=4)
>>> len(split.territories), split.contiguous, split.balance_index > 90
(4, True, True)
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.analysis.influence import in_influence_area, zone_distance_km
from territory.i18n import Message, t
from territory.inputs import coords
from territory.outreach import territories as geo
from territory.settings import Settings

__all__ = [
    "MEASURES",
    "Split",
    "SplitError",
    "check_move",
    "describe_assignment",
    "resolve_consultants",
    "split_json",
    "split_workspace",
]

#: What territories can be balanced on.
MEASURES: tuple[str, ...] = ("population", "open_leads", "workload")


class SplitError(ValueError):
    """The split asked for cannot be made; ``message(lang)`` says why and how to fix it."""

    def __init__(self, key: str, /, **fields: Any) -> None:
        self.key = key
        self.fields = fields
        super().__init__(Message(key, **fields).text("en"))

    def message(self, lang: str | None = "zh") -> str:
        """The message in ``lang``."""
        return t(self.key, lang, **self.fields)


@dataclass
class Split:
    """The influence area divided among the consultants.

    ``zones``: one row per zone of the influence area (``zone_id``, ``name``,
    ``district``, ``consultant``, ``locked``, the measures, ``previous``: the
    consultant before a re-balance). ``territories``: one row per consultant
    (``consultant``, ``zone_ids``, ``zones``, ``population``, ``open_leads``,
    ``workload``, ``load`` and ``share`` of the balanced measure,
    ``compactness``, ``contiguous``, ``lon``/``lat`` of its centre).
    ``notices`` are :class:`~territory.i18n.Message` s explaining bridges,
    enclaves, large zones and dropped zones.
    """

    consultants: list[str]
    balance: str
    zones: gpd.GeoDataFrame
    territories: pd.DataFrame
    balance_index: float
    contiguous: bool
    bridges: list[dict[str, Any]] = field(default_factory=list)
    enclaves: list[dict[str, str]] = field(default_factory=list)
    notices: list[Message] = field(default_factory=list)
    kept: bool = False
    moved: pd.DataFrame | None = None
    dropped: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    graph: geo.ZoneGraph | None = field(default=None, repr=False)

    def assignment(self) -> pd.DataFrame:
        """The table to store: ``zone_id, consultant, locked``."""
        table = self.zones[["zone_id", "consultant", "locked"]].reset_index(drop=True).copy()
        table.attrs["consultants"] = list(self.consultants)
        return table

    def outlines(self, *, close_gaps_m: float = 20.0) -> gpd.GeoSeries:
        """One (multi)polygon per consultant (in ``consultants`` order), WGS-84.

        The territory's zones dissolved in a local projection, gaps and
        slivers narrower than ``close_gaps_m`` closed, so the outline is the
        territory's border and not every zone's.
        """
        crs = coords.local_crs(self.zones)
        projected = self.zones.geometry.to_crs(crs)
        labels = self.zones["consultant"].map({c: i for i, c in enumerate(self.consultants)})
        shapes = geo.territory_shapes(
            projected,
            labels.to_numpy(dtype="int64"),
            len(self.consultants),
            tolerance_m=close_gaps_m,
        )
        return gpd.GeoSeries(shapes, crs=crs).to_crs("EPSG:4326")


# ---------------------------------------------------------------- consultants


def _team(ws) -> list[str]:
    """The consultants listed in dealer.toml's ``[team]`` table (may be empty)."""
    return list(ws.dealer.team.consultants or ())


def _names(value: str | int | Sequence[str]) -> list[str] | int:
    """``4`` / ``"4"`` → 4; ``"张伟, 李娜"`` or a list → names."""
    if isinstance(value, bool):
        raise SplitError("split.bad_consultants", value=str(value))
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        parts = [p.strip() for p in re.split(r"[,，、;；\n]", text)]
    else:
        parts = [str(p).strip() for p in value]
    names = [p for p in parts if p]
    if not names and parts:
        raise SplitError("split.bad_consultants", value=str(value))
    return names


def resolve_consultants(
    ws, value: str | int | Sequence[str], *, stored: Sequence[str] = ()
) -> list[str]:
    """The consultants of a split, from a number or names.

    A number N takes the consultants already stored (when re-balancing),
    then ``[team] consultants`` from dealer.toml, then numbered names
    (顾问5 / Consultant 5, in the workspace's language) up to N.
    """
    spec = _names(value)
    if isinstance(spec, int):
        if spec < 1:
            raise SplitError("split.no_consultants")
        if stored and spec < len(stored):
            raise SplitError(
                "split.keep_fewer_needs_names",
                n=spec,
                stored=len(stored),
                names=",".join(list(stored)[:spec]),
            )
        names: list[str] = []
        for name in [*stored, *_team(ws)]:
            if name not in names and len(names) < spec:
                names.append(name)
        i = 1
        while len(names) < spec:
            candidate = t("split.consultant_n", ws.dealer.language, n=i)
            if candidate not in names:
                names.append(candidate)
            i += 1
        return names
    if not spec:
        raise SplitError("split.no_consultants")
    seen: set[str] = set()
    for name in spec:
        if name in seen:
            raise SplitError("split.duplicate_consultant", name=name)
        seen.add(name)
    return list(spec)


# ---------------------------------------------------------------- measures


def _measures(
    ws, area: gpd.GeoDataFrame, balance: str, settings: Settings, lang: str | None
) -> pd.DataFrame:
    """Per zone of the area: population, open leads and, when balancing on it, the workload.

    Open leads come from the cards' lead table (seed 001's lifecycle). The
    workload (expected follow-up contacts per month, :mod:`territory.leads.workload`)
    also needs the white-space model's shortfall, so the analysis is run only
    when the split balances on it; otherwise ``workload`` is NaN (null in JSON).
    """
    from territory.leads.lifecycle import lead_table
    from territory.leads.workload import zone_workload

    out = pd.DataFrame(index=area.index)
    out["population"] = area["population"].astype("float64")
    leads = lead_table(ws.cards, settings=settings)
    ids = area["zone_id"].astype(str).tolist()
    shortfall = None
    if balance == "workload":
        from territory.analysis.zones import analyse

        zones = analyse(ws, settings=settings, lang=lang or "zh").zones
        missing = zones["shortfall"].astype("float64")
        if "confidence" in zones:
            missing = missing * zones["confidence"].astype("float64")
        shortfall = pd.Series(missing.to_numpy(), index=zones["zone_id"].astype(str))
    load = zone_workload(ids, leads, shortfall=shortfall, settings=settings)
    out["open_leads"] = load["open_leads"].to_numpy().astype("float64")
    out["workload"] = load["workload"].to_numpy() if balance == "workload" else np.nan
    if balance != "population" and not np.nansum(out[balance].to_numpy()) > 0:
        raise SplitError("split.measure_unavailable", measure=_measure_label(balance, lang))
    return out


def _measure_label(balance: str, lang: str | None) -> str:
    return t(f"split.measure.{balance}", lang)


# ---------------------------------------------------------------- the split


@dataclass
class _Area:
    """The zones of the influence area, projected, their graph and measures."""

    zones: gpd.GeoDataFrame
    projected: gpd.GeoSeries
    graph: geo.ZoneGraph
    measures: pd.DataFrame
    index_of: dict[str, int]


def _area(ws, balance: str, settings: Settings, lang: str | None) -> _Area:
    if balance not in MEASURES:
        raise SplitError("split.bad_measure", value=balance, known=", ".join(MEASURES))
    dist = zone_distance_km(ws.zones, lon=ws.dealer.lon, lat=ws.dealer.lat)
    inside = in_influence_area(dist, radius_km=settings.influence.radius_km)
    area = ws.zones.loc[inside.to_numpy()].reset_index(drop=True)
    if len(area) == 0:
        raise SplitError("split.no_zones", radius=settings.influence.radius_km)
    measures = _measures(ws, area, balance, settings, lang)
    projected = area.geometry.to_crs(coords.local_crs(ws.dealer.lon, ws.dealer.lat))
    graph = geo.zone_graph(projected, settings=settings.territories)
    index_of = {z: i for i, z in enumerate(area["zone_id"])}
    return _Area(area, projected, graph, measures, index_of)


def split_workspace(
    ws,
    *,
    consultants: str | int | Sequence[str],
    balance: str = "population",
    keep: bool = False,
    stored: pd.DataFrame | None = None,
    locks: Mapping[str, str] | None = None,
    min_balance: float | None = None,
    lang: str | None = None,
    settings: Settings | None = None,
) -> Split:
    """Divide the influence area among the consultants.

    Parameters
    ----------
    ws : Workspace
    consultants : int, str or list of str
        How many consultants, or their names (``"张伟,李娜"``).
    balance : {"population", "open_leads", "workload"}
        The measure the territories are balanced on.
    keep : bool
        Re-balance ``stored`` (moving as few zones as possible) instead of
        drawing new territories.
    stored : DataFrame, optional
        The stored assignment (``zone_id, consultant, locked``); its locked
        zones stay locked in a new split too.
    locks : mapping, optional
        More locks: ``{zone_id: consultant}``.
    min_balance : float, optional
        The lowest acceptable balance index (default: settings).
    lang : {"zh", "en"}, optional
        Language of generated names and notices (default: the workspace's).
    settings : Settings, optional

    Returns
    -------
    Split

    Raises
    ------
    SplitError
        On input that cannot give territories: no or too many consultants,
        duplicate names, an unknown measure, locks that are unknown,
        outside the area, disconnected or that make balance impossible.
    """
    started = time.perf_counter()
    settings = settings or ws.settings
    s = settings.territories
    lang = lang or ws.dealer.language
    floor = s.min_balance if min_balance is None else float(min_balance)
    if not 0 <= floor <= 100 or math.isnan(floor):
        raise SplitError("split.min_balance_range", value=floor)
    stored = _clean_stored(stored)
    if keep and (stored is None or stored.empty):
        raise SplitError("split.keep_nothing")
    stored_names = (
        list(dict.fromkeys([*stored.attrs.get("consultants", ()), *stored["consultant"]]))
        if keep and stored is not None
        else []
    )
    names = resolve_consultants(ws, consultants, stored=stored_names)
    area = _area(ws, balance, settings, lang)
    n, k = len(area.zones), len(names)
    if k > n:
        raise SplitError("split.too_many_consultants", k=k, n=n)
    weights = area.measures[balance].fillna(0.0).to_numpy(dtype="float64")
    if not weights.sum() > 0:
        raise SplitError("split.zero_measure", measure=_measure_label(balance, lang))
    team = {name: i for i, name in enumerate(names)}
    notices: list[Message] = []
    locked = _locks(ws, stored, locks, area.index_of, team, n, notices)
    graph = area.graph
    _check_locked_loads(locked, weights, names, weights.sum() / k, floor, balance, lang)

    previous = np.array([None] * n, dtype=object)
    dropped: list[str] = []
    try:
        if keep:
            start = np.full(n, -1, dtype="int64")
            for zone_id, consultant in zip(stored["zone_id"], stored["consultant"], strict=True):
                i = area.index_of.get(zone_id)
                if i is None:
                    dropped.append(zone_id)
                    continue
                previous[i] = consultant
                if consultant in team:
                    start[i] = team[consultant]
            labels = geo.rebalance(graph, weights, start, k, locked=locked, min_balance=floor)
        else:
            labels = geo.partition(graph, weights, k, locked=locked, settings=s)
            labels = _name_by_bearing(labels, locked, graph, area.projected, ws, k)
    except geo.PartitionError as exc:
        raise SplitError(f"split.{exc.key}", consultant=names[exc.territory]) from None

    index = geo.balance_index(np.bincount(labels, weights, k))
    if not keep and (locked >= 0).any() and index < floor:
        _refuse_impossible_locks(
            graph, weights, k, labels, locked, names, index, floor, balance, lang, s
        )
    result = _describe(area, labels, names, locked, balance, notices)
    if keep:
        was = pd.Series(previous)
        now = result.zones["consultant"].reset_index(drop=True)
        changed = was.notna() & (was != now)
        result.moved = pd.DataFrame(
            {
                "zone_id": area.zones["zone_id"].to_numpy()[changed.to_numpy()],
                "from": was[changed].to_numpy(),
                "to": now[changed].to_numpy(),
                "orphan": ~was[changed].isin(names).to_numpy(),
                "open_leads": area.measures["open_leads"].to_numpy()[changed.to_numpy()],
            }
        )
        result.kept = True
        result.dropped = dropped
        if dropped:
            notices.append(
                Message("split.notice.dropped", n=len(dropped), zones=", ".join(dropped[:10]))
            )
        new = int(was.isna().sum())
        if new:
            notices.append(Message("split.notice.new_zones", n=new))
        if index < floor:
            notices.append(
                Message("split.notice.below_target", index=f"{index:.1f}", target=f"{floor:g}")
            )
    elif index < s.target_balance:
        notices.append(
            Message(
                "split.notice.below_target", index=f"{index:.1f}", target=f"{s.target_balance:g}"
            )
        )
    result.seconds = time.perf_counter() - started
    return result


def describe_assignment(
    ws,
    assignment: pd.DataFrame,
    *,
    balance: str = "population",
    lang: str | None = None,
    settings: Settings | None = None,
) -> Split:
    """The figures of an assignment as it stands (nothing moves): totals, balance, compactness.

    Zones of the influence area the assignment does not cover are listed in
    ``Split.unassigned`` and left out of the territories.
    """
    settings = settings or ws.settings
    lang = lang or ws.dealer.language
    table = _clean_stored(assignment)
    area = _area(ws, balance, settings, lang)
    owner = dict(zip(table["zone_id"], table["consultant"], strict=True))
    given = [c for c in assignment.attrs.get("consultants", ()) if c in set(table["consultant"])]
    names = list(dict.fromkeys([*given, *table["consultant"]]))
    team = {name: i for i, name in enumerate(names)}
    labels = np.array([team.get(owner.get(z), -1) for z in area.zones["zone_id"]], dtype="int64")
    locked_ids = set(table.loc[table["locked"], "zone_id"])
    locked = np.where(area.zones["zone_id"].isin(locked_ids).to_numpy(), labels, -1)
    covered = labels >= 0
    sub = _Area(
        area.zones.loc[covered].reset_index(drop=True),
        area.projected.loc[covered].reset_index(drop=True),
        geo.zone_graph(area.projected.loc[covered], settings=settings.territories)
        if not covered.all()
        else area.graph,
        area.measures.loc[covered].reset_index(drop=True),
        {},
    )
    result = _describe(sub, labels[covered], names, locked[covered], balance, [])
    result.unassigned = [str(z) for z in area.zones["zone_id"].to_numpy()[~covered]]
    return result


def _describe(
    area: _Area,
    labels: np.ndarray,
    names: list[str],
    locked: np.ndarray,
    balance: str,
    notices: list[Message],
) -> Split:
    """Totals, balance, compactness, contiguity, bridges and enclaves of labelled zones."""
    k = len(names)
    graph = area.graph
    weights = area.measures[balance].fillna(0.0).to_numpy(dtype="float64")
    loads = np.bincount(labels, weights, k)
    target = weights.sum() / k if k else 0.0
    index = geo.balance_index(loads)
    zones = area.zones[["zone_id", "name", "district", "population", "geometry"]].copy()
    zones["consultant"] = [names[x] for x in labels]
    zones["locked"] = locked >= 0
    zones["open_leads"] = area.measures["open_leads"].to_numpy()
    zones["workload"] = area.measures["workload"].to_numpy()
    compact = geo.compactness(graph, labels, k)
    contiguous = geo.is_contiguous(graph, labels) if k else []
    contiguous = [*contiguous, *([False] * (k - len(contiguous)))]
    lonlat = _centres_lonlat(graph, labels, k, area.projected.crs)
    ids = area.zones["zone_id"].to_numpy()
    rows = []
    for i, name in enumerate(names):
        members = labels == i
        rows.append(
            {
                "consultant": name,
                "zone_ids": [str(z) for z in ids[members]],
                "zones": int(members.sum()),
                "population": int(area.zones["population"].to_numpy()[members].sum()),
                "open_leads": _count_or_none(area.measures["open_leads"].to_numpy()[members]),
                "workload": _sum_or_none(area.measures["workload"].to_numpy()[members]),
                "load": float(loads[i]),
                "share": float(loads[i] / target) if target > 0 else None,
                "compactness": float(round(compact[i], 1)) if np.isfinite(compact[i]) else None,
                "contiguous": bool(contiguous[i]),
                "locked_zone_ids": [str(z) for z in ids[members & (locked >= 0)]],
                "lon": lonlat[i][0],
                "lat": lonlat[i][1],
            }
        )
    bridges = []
    zone_names = area.zones["name"].to_numpy()
    for b in graph.bridges:
        bridges.append(
            {
                "zone_id": str(ids[b.island]),
                "to_zone_id": str(ids[b.mainland]),
                "km": round(b.distance_m / 1000.0, 2),
            }
        )
        notices.append(
            Message(
                "split.notice.bridge",
                island=ids[b.island],
                island_name=zone_names[b.island],
                mainland=ids[b.mainland],
                mainland_name=zone_names[b.mainland],
                km=f"{b.distance_m / 1000.0:.1f}",
            )
        )
    enclaves = []
    for inner, outer in geo.enclosures(graph, labels, k):
        enclaves.append({"consultant": names[inner], "inside": names[outer]})
        notices.append(Message("split.notice.enclave", inner=names[inner], outer=names[outer]))
    heavy = np.flatnonzero(weights > 0.5 * target) if k > 1 else np.array([], dtype=int)
    for i in heavy[np.argsort(-weights[heavy])][:5]:
        notices.append(
            Message(
                "split.notice.heavy_zone",
                zone=ids[i],
                name=zone_names[i],
                share=f"{weights[i] / target:.0%}",
                measure=Message(f"split.measure.{balance}"),
            )
        )
    return Split(
        consultants=names,
        balance=balance,
        zones=zones,
        territories=pd.DataFrame(rows),
        balance_index=index,
        contiguous=bool(all(contiguous)),
        bridges=bridges,
        enclaves=enclaves,
        notices=notices,
        graph=graph,
    )


def check_move(split: Split, zone_id: str, consultant: str) -> str | None:
    """Why handing ``zone_id`` to ``consultant`` would break the territories, or None if it is fine.

    The reasons are catalogue keys: ``move.unknown`` (the zone or consultant
    is not in the split), ``move.same`` (it is theirs already),
    ``move.last_zone`` (its consultant would have no zone left),
    ``move.not_adjacent`` (it does not touch ``consultant``'s territory) and
    ``move.splits`` (its consultant's territory would fall apart).
    """
    ids = list(split.zones["zone_id"])
    if zone_id not in ids or consultant not in split.consultants or split.graph is None:
        return "move.unknown"
    i = ids.index(zone_id)
    index = {c: k for k, c in enumerate(split.consultants)}
    labels = split.zones["consultant"].map(index).to_numpy(dtype="int64")
    if labels[i] == index[consultant]:
        return "move.same"
    if (labels == labels[i]).sum() == 1:
        return "move.last_zone"
    if not any(labels[j] == index[consultant] for j in split.graph.neighbours[i]):
        return "move.not_adjacent"
    if not geo.stays_connected(split.graph, labels, i):
        return "move.splits"
    return None


def _sum_or_none(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype="float64")
    return None if np.isnan(values).all() else float(np.nansum(values))


def _count_or_none(values: np.ndarray) -> int | None:
    total = _sum_or_none(values)
    return None if total is None else round(total)


def _clean_stored(stored: pd.DataFrame | None) -> pd.DataFrame | None:
    if stored is None:
        return None
    frame = stored.copy()
    if "locked" not in frame:
        frame["locked"] = False
    frame["zone_id"] = frame["zone_id"].astype(str)
    frame["consultant"] = frame["consultant"].astype(str)
    frame["locked"] = frame["locked"].fillna(False).astype(bool)
    out = frame[["zone_id", "consultant", "locked"]].reset_index(drop=True)
    out.attrs["consultants"] = list(stored.attrs.get("consultants", ()))
    return out


def _locks(
    ws,
    stored: pd.DataFrame | None,
    locks: Mapping[str, str] | None,
    index_of: dict[str, int],
    team: dict[str, int],
    n: int,
    notices: list[Message],
) -> np.ndarray:
    """Per zone of the area, the consultant (index) it is locked to, or -1."""
    locked = np.full(n, -1, dtype="int64")
    void: dict[str, int] = {}
    if stored is not None:
        for zone_id, consultant in stored.loc[
            stored["locked"], ["zone_id", "consultant"]
        ].itertuples(index=False):
            i = index_of.get(zone_id)
            if i is None:
                continue  # no longer in the area: reported with the dropped zones
            if consultant not in team:
                void[consultant] = void.get(consultant, 0) + 1
                continue
            locked[i] = team[consultant]
    for consultant, count in void.items():
        notices.append(Message("split.notice.locks_void", consultant=consultant, n=count))
    all_ids = set(ws.zones["zone_id"])
    for zone_id, consultant in (locks or {}).items():
        zone_id = str(zone_id)
        if zone_id not in all_ids:
            raise SplitError("split.lock_unknown_zone", zone=zone_id)
        if zone_id not in index_of:
            raise SplitError("split.lock_outside", zone=zone_id)
        if consultant not in team:
            raise SplitError("split.lock_unknown_consultant", zone=zone_id, consultant=consultant)
        locked[index_of[zone_id]] = team[consultant]
    return locked


def _check_locked_loads(
    locked: np.ndarray,
    weights: np.ndarray,
    names: list[str],
    target: float,
    floor: float,
    balance: str,
    lang: str | None,
) -> None:
    """Refuse locks whose loads alone keep the balance index under ``floor``.

    The loads above the mean add up to the loads below it, so the index is
    at most 100 × (1 − 2 × Σ excess ÷ (k × mean)).
    """
    if not (locked >= 0).any():
        return
    k = len(names)
    held = np.bincount(locked[locked >= 0], weights[locked >= 0], k)
    excess = np.maximum(held - target, 0.0)
    best = 100.0 * (1.0 - 2.0 * excess.sum() / (k * target))
    if best < floor:
        worst = int(excess.argmax())
        raise SplitError(
            "split.locks_unbalanced",
            consultant=names[worst],
            load=_fmt(held[worst]),
            mean=_fmt(target),
            best=f"{max(best, 0.0):.1f}",
            min=f"{floor:g}",
            measure=_measure_label(balance, lang),
        )


def _refuse_impossible_locks(
    graph, weights, k, labels, locked, names, index, floor, balance, lang, s
) -> None:
    """The locks keep the split under ``floor`` (without them it would reach it): refuse."""
    free = geo.partition(graph, weights, k, settings=s)
    if geo.balance_index(np.bincount(free, weights, k)) < floor:
        return  # the zones themselves are too coarse: a notice explains it, not an error
    loads = np.bincount(labels, weights, k)
    target = weights.sum() / k
    holders = np.unique(locked[locked >= 0])
    worst = int(holders[np.argmax(np.abs(loads[holders] - target))])
    raise SplitError(
        "split.locks_impossible",
        index=f"{index:.1f}",
        min=f"{floor:g}",
        consultant=names[worst],
        load=_fmt(loads[worst]),
        mean=_fmt(target),
        measure=_measure_label(balance, lang),
    )


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _name_by_bearing(labels, locked, graph, projected, ws, k) -> np.ndarray:
    """Give free territories to consultants clockwise from north around the dealer.

    Territories holding locked zones already carry their consultant's number.
    """
    pinned = set(np.unique(locked[locked >= 0]).tolist())
    free_labels = [x for x in range(k) if x not in pinned]
    free_people = [x for x in range(k) if x not in pinned]
    dealer = gpd.GeoSeries.from_xy([ws.dealer.lon], [ws.dealer.lat], crs="EPSG:4326").to_crs(
        projected.crs
    )
    cx, cy = float(dealer.x.iloc[0]), float(dealer.y.iloc[0])
    centre = np.array([graph.xy[labels == x].mean(axis=0) for x in free_labels]).reshape(-1, 2)
    bearing = np.degrees(np.arctan2(centre[:, 0] - cx, centre[:, 1] - cy)) % 360.0
    order = [free_labels[o] for o in np.argsort(bearing, kind="stable")]
    mapping = np.arange(k)
    for old, new in zip(order, free_people, strict=True):
        mapping[old] = new
    return mapping[labels]


def _centres_lonlat(graph, labels, k, crs) -> list[tuple[float | None, float | None]]:
    out = []
    for i in range(k):
        members = labels == i
        if not members.any():
            out.append((None, None))
            continue
        # The zone nearest the territory's area-weighted centre: always inside the territory.
        centre = np.average(graph.xy[members], axis=0, weights=graph.area[members] + 1e-9)
        idx = np.flatnonzero(members)
        pick = idx[np.argmin(((graph.xy[idx] - centre) ** 2).sum(axis=1))]
        point = gpd.GeoSeries.from_xy([graph.xy[pick, 0]], [graph.xy[pick, 1]], crs=crs).to_crs(
            "EPSG:4326"
        )
        out.append((round(float(point.x.iloc[0]), 6), round(float(point.y.iloc[0]), 6)))
    return out


def split_json(split: Split, *, lang: str | None = "zh") -> dict[str, Any]:
    """The contract's ``split`` document (plus bridges, enclaves, moves and notices)."""
    territories = []
    for row in split.territories.to_dict(orient="records"):
        territories.append(
            {
                "consultant": row["consultant"],
                "zone_ids": row["zone_ids"],
                "zones": row["zones"],
                "workload": row["workload"],
                "population": row["population"],
                "open_leads": row["open_leads"],
                "load": row["load"],
                "share": round(row["share"], 4) if row["share"] is not None else None,
                "compactness": row["compactness"],
                "contiguous": row["contiguous"],
                "locked_zone_ids": row["locked_zone_ids"],
                "lon": row["lon"],
                "lat": row["lat"],
            }
        )
    compact = [r["compactness"] for r in territories if r["compactness"] is not None]
    document: dict[str, Any] = {
        "balance": split.balance,
        "territories": territories,
        "balance_index": round(split.balance_index, 1),
        "contiguous": split.contiguous,
        "compactness": round(float(np.mean(compact)), 1) if compact else None,
        "zones": len(split.zones),
        "bridges": split.bridges,
        "enclaves": split.enclaves,
        "kept": split.kept,
        "notices": [m.text(lang) for m in split.notices],
    }
    if split.moved is not None:
        moved = split.moved
        leads = moved["open_leads"].to_numpy(dtype="float64")
        document["zones_moved"] = len(moved)
        document["orphans_moved"] = int(moved["orphan"].sum())
        document["open_leads_moved"] = None if np.isnan(leads).all() else int(np.nansum(leads))
        document["moved"] = moved[["zone_id", "from", "to"]].to_dict(orient="records")
        document["dropped"] = split.dropped
    return document

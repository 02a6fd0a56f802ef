"""Where to go next weekend: ranked outreach sites with reasons.

Every zone in the influence area gets a **site score** (0–1) from its
white-space potential, r_score, density, distance to the dealer and the
expected sales per yuan of its best format, learned from the workspace's
recorded outings (:class:`territory.outreach.history.EventHistory`,
docs/learning.md; weights in ``settings.ranking``), times
two multipliers: the **date** (a zone type with no time slot that day, such
as enterprises at weekends, is pushed down) and **rotation** (a zone
visited within ``rotation_weeks`` is pushed down, recovering linearly).

The N sites are then chosen **together** (:mod:`territory.outreach.covering`): the
best-scoring zones are candidates, and the N are those that jointly reach
the most white-space population within ``catchment_km`` plus their own
quality, so they do not all sit in one cluster. Each site carries its
formats (best first for the date and expected sales per yuan), time slots,
tools, expected leads, sales and cost, and reasons built from its own numbers
(including what the outings taught about each format).

Examples
--------
>>> import datetime as dt
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> rec = recommend(ws, date=dt.date(2026, 11, 28), top=3)
>>> len(rec.sites), rec.sites["zone_id"].is_unique
(3, True)
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.analysis.profile import CustomerProfile
from territory.analysis.zones import Analysis, analyse
from territory.i18n import catalogue, t
from territory.inputs import coords
from territory.outreach.covering import CoverResult, coverage_matrix, max_cover
from territory.outreach.history import EventHistory
from territory.outreach.playbook import Playbook, load_playbook
from territory.settings import RankingSettings, Settings
from territory.vocab import FORMATS, ZONE_TYPES, label

__all__ = [
    "Recommendation",
    "learned_reasons",
    "next_saturday",
    "ordered_formats",
    "recommend",
    "recommend_json",
    "site_scores",
    "site_slots",
    "site_talking_points",
    "zone_poi_types",
]


def next_saturday(today: dt.date | None = None) -> dt.date:
    """The coming Saturday (today if today is a Saturday)."""
    today = today or dt.date.today()
    return today + dt.timedelta(days=(5 - today.weekday()) % 7)


@dataclass
class Recommendation:
    """Ranked sites for a date, with the covering solution behind them."""

    date: dt.date
    model: str
    sites: pd.DataFrame
    scores: gpd.GeoDataFrame
    cover: CoverResult | None
    analysis: Analysis
    notes: list[str] = field(default_factory=list)
    #: The track record behind the economic term (learned figures per format × zone type).
    history: EventHistory | None = None


def _normalise(weights: dict[str, float]) -> dict[str, float]:
    total = sum(max(v, 0.0) for v in weights.values())
    if total <= 0:
        raise ValueError(
            "ranking weights must include a positive value; check settings.ranking.weights"
        )
    return {k: max(v, 0.0) / total for k, v in weights.items()}


def _date_formats(pb: Playbook, zone_type: str, date: dt.date, poi_types=()) -> tuple[str, ...]:
    seen: list[str] = []
    for slot in pb.slots(zone_type, date, poi_types=poi_types):
        for f in slot.formats:
            if f not in seen:
                seen.append(f)
    return tuple(seen)


_AFTER_WORK_SLOTS = frozenset({"evening", "after_work"})
_DAYTIME_SLOTS = frozenset({"midday", "daytime", "lunch", "morning", "market_morning", "training"})


def zone_poi_types(ws, playbook: Playbook) -> dict[str, frozenset[str]]:
    """Per zone, the POI types in it that add formats to its sites (``street_spot``).

    Zones without such a POI are left out.
    """
    kinds = playbook.poi_types_with_formats()
    pois = getattr(ws, "pois", None)
    if not kinds or pois is None or not len(pois) or "poi_type" not in pois:
        return {}
    hit = pois[pois["poi_type"].isin(kinds) & pois["zone_id"].notna()]
    return {str(z): frozenset(g.astype(str)) for z, g in hit.groupby("zone_id")["poi_type"]}


def site_slots(
    pb: Playbook,
    zone_type: str,
    date: dt.date,
    profile: CustomerProfile | None,
    *,
    poi_types: frozenset[str] | tuple[str, ...] = (),
):
    """The zone type's slots on ``date``, ordered by what today's customers suggest.

    Seed 000, example 2: when most buyers are working-age, after-work slots
    come first; when most are older, daytime slots come first. ``poi_types``
    adds the slots of formats the zone's POIs bring (a street spot's
    wave-down test drive).
    """
    slots = pb.slots(zone_type, date, poi_types=poi_types)
    codes = {h.code for h in profile.hints()} if profile is not None else set()
    if "after_work" in codes:
        return sorted(slots, key=lambda sl: sl.slot not in _AFTER_WORK_SLOTS)
    if "daytime_service" in codes:
        return sorted(slots, key=lambda sl: sl.slot not in _DAYTIME_SLOTS)
    return slots


def site_talking_points(
    pb: Playbook,
    zone_type: str,
    profile: CustomerProfile | None,
    lang: str,
    *,
    poi_types: frozenset[str] | tuple[str, ...] = (),
) -> list[str]:
    """The playbook's talking points, led by the pitch today's customers suggest."""
    pitches = []
    if profile is not None:
        for hint in profile.hints():
            key = f"profile.pitch.{hint.code}"
            if key in catalogue():
                pitches.append(t(key, lang))
    return pitches + list(pb.talking_points(zone_type, lang, poi_types=poi_types))


def ordered_formats(
    pb: Playbook,
    history: EventHistory,
    zone_type: str,
    date: dt.date,
    *,
    owners: int,
    owner_min: int,
    poi_types: frozenset[str] | tuple[str, ...] = (),
    owner_boost: float = RankingSettings.owner_service_boost,
) -> list[str]:
    """The site's formats, best first for this date and what the workspace has learned.

    Formats with a time slot on ``date`` come first; among them, the highest
    expected **sales per yuan** (:meth:`EventHistory.format_stats`: learned
    from recorded outings, the seed's priors until then). With at least
    ``owner_min`` owners in the zone, owner free service counts
    ``owner_boost`` times (it also serves owners and brings referrals).
    ``poi_types`` adds the formats of the zone's POIs (a street spot's
    wave-down test drive).
    """
    formats = list(pb.formats(zone_type, poi_types=poi_types))
    fits = set(_date_formats(pb, zone_type, date, poi_types))

    def key(code: str) -> tuple:
        value = history.format_stats(code, zone_type).sales_per_yuan
        if code == "owner_free_service" and owners >= owner_min:
            value *= owner_boost
        return (code not in fits, -value)

    return sorted(formats, key=key)


def site_scores(
    analysis: Analysis,
    *,
    date: dt.date,
    history: EventHistory,
    playbook: Playbook,
    settings: Settings,
    poi_types: dict[str, frozenset[str]] | None = None,
) -> gpd.GeoDataFrame:
    """Site score and its terms for every zone in the influence area.

    The ``history`` term is the economic one: expected sales per yuan of
    the zone's leading format (learned, :class:`EventHistory`), times the
    zone's own track record. ``poi_types`` (:func:`zone_poi_types`) adds the
    formats of the zones' POIs.
    """
    s = settings.ranking
    weights = _normalise(s.weights)
    unknown = set(weights) - {"whitespace", "r_score", "density", "distance", "history"}
    if unknown:
        raise ValueError(
            f"unknown ranking weights {sorted(unknown)}; use whitespace, r_score, density, distance, history"
        )
    zones = analysis.zones
    pool = zones[zones["in_influence_area"] & (zones["population"] > 0)].copy()
    if pool.empty:
        return pool
    radius = settings.influence.radius_km
    pool["term_whitespace"] = pool["whitespace_score"].fillna(0).clip(0, 1)
    pool["term_r_score"] = pool["r_score"].fillna(0)
    pool["term_density"] = pool["density"].rank(pct=True).fillna(0)
    pool["term_distance"] = (1 - pool["distance_km"] / radius).clip(0, 1)

    poi_types = poi_types or {}
    best_format, leads, sales, cost, n_events = [], [], [], [], []
    # The order depends only on the type, owners >= min and the zone's POI types.
    orders: dict[tuple[str, bool, frozenset[str]], list[str]] = {}
    for zone_type, owners, zone_id in zip(
        pool["zone_type"], pool["customers"], pool["zone_id"], strict=True
    ):
        extra = poi_types.get(str(zone_id), frozenset())
        key = (zone_type, int(owners) >= s.owner_service_min, extra)
        if key not in orders:
            orders[key] = ordered_formats(
                playbook,
                history,
                zone_type,
                date,
                owners=int(owners),
                owner_min=s.owner_service_min,
                poi_types=extra,
                owner_boost=s.owner_service_boost,
            )
        order = orders[key]
        if order:
            stats = history.format_stats(order[0], zone_type)
            factor = history.zone_factor(zone_id)
            best_format.append(order[0])
            leads.append(stats.leads_per_event * factor)
            sales.append(stats.sales_per_event * factor)
            cost.append(stats.cost_per_event)
            n_events.append(stats.events)
        else:
            best_format.append(None)
            leads.append(0.0)
            sales.append(0.0)
            cost.append(0.0)
            n_events.append(0)
    leads_a, sales_a, cost_a = (np.asarray(x, dtype="float64") for x in (leads, sales, cost))
    with np.errstate(divide="ignore", invalid="ignore"):
        pool["best_format"] = best_format
        pool["expected_leads"] = leads_a
        pool["expected_sales"] = sales_a
        pool["estimated_cost"] = cost_a
        pool["cost_per_lead"] = np.where(leads_a > 0, cost_a / leads_a, np.nan)
        pool["cost_per_sale"] = np.where(sales_a > 0, cost_a / sales_a, np.nan)
        pool["sales_per_yuan"] = np.where(cost_a > 0, sales_a / cost_a, np.nan)
        pool["history_events"] = n_events
        # The economic term: expected sales per yuan of the site's leading format, on a log
        # scale across the pool (a format ten times cheaper per sale is a fixed step ahead).
        log_spy = np.log(pool["sales_per_yuan"].to_numpy(dtype="float64"))
    finite = np.isfinite(log_spy)
    if finite.any():
        lo, hi = float(log_spy[finite].min()), float(log_spy[finite].max())
        term = (log_spy - lo) / (hi - lo) if hi > lo else np.where(finite, 1.0, 0.0)
        term = np.where(np.isnan(log_spy), 0.0, np.where(np.isposinf(log_spy), 1.0, term))
    else:
        term = np.zeros(len(pool))
    pool["term_history"] = np.clip(term, 0.0, 1.0)

    base = sum(
        weights.get(k, 0.0) * pool[f"term_{k}"]
        for k in ("whitespace", "r_score", "density", "distance", "history")
    )
    fit_of = {zt: bool(playbook.slots(zt, date)) for zt in pool["zone_type"].unique()}
    fits = pool["zone_type"].map(fit_of).eq(True)
    pool["date_fit"] = np.where(fits, 1.0, s.date_misfit_factor)

    last = history.last_visits(before=date)
    last_visit = pd.Series(
        pd.to_datetime(pool["zone_id"].map(last.to_dict()), errors="coerce"), index=pool.index
    ).astype("datetime64[ns]")
    weeks = (pd.Timestamp(date) - last_visit).dt.days / 7.0
    recovery = (
        (weeks / s.rotation_weeks).clip(0, 1)
        if s.rotation_weeks > 0
        else pd.Series(1.0, index=pool.index)
    )
    pool["last_visit"] = last_visit
    pool["weeks_since_visit"] = weeks
    pool["rotation_factor"] = (s.rotation_floor + (1 - s.rotation_floor) * recovery).fillna(1.0)
    pool["score"] = base * pool["date_fit"] * pool["rotation_factor"]
    return pool


def recommend(
    ws,
    *,
    date: dt.date,
    top: int = 5,
    model: str | None = None,
    settings: Settings | None = None,
    overrides: dict | None = None,
    analysis: Analysis | None = None,
    playbook: Playbook | None = None,
    lang: str = "zh",
) -> Recommendation:
    """Recommend ``top`` distinct outreach sites for ``date``.

    Parameters
    ----------
    ws
        The workspace.
    date
        The day the team goes out (weekday and weekend differ).
    top
        How many sites.
    overrides
        Per-call settings, e.g. ``{"ranking": {"weights": {"distance": 0.5}}}``.
    analysis
        A precomputed :func:`territory.analysis.zones.analyse` result for the
        same model and settings (saves time in the app).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    settings = (settings or ws.settings).merged(overrides)
    analysis = analysis or analyse(ws, model=model, settings=settings, lang=lang)
    playbook = playbook or load_playbook(ws.root, lang=lang)
    history = EventHistory.for_workspace(ws, playbook, settings=settings.history, as_of=date)
    spots = zone_poi_types(ws, playbook)
    scores = site_scores(
        analysis,
        date=date,
        history=history,
        playbook=playbook,
        settings=settings,
        poi_types=spots,
    )
    if scores.empty:
        empty = pd.DataFrame(columns=["rank", "zone_id"])
        return Recommendation(
            date, analysis.model, empty, scores, None, analysis, ["no_zones"], history
        )

    s = settings.ranking
    crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
    centres = scores.geometry.to_crs(crs).representative_point()
    xy = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
    order = np.argsort(-scores["score"].to_numpy(), kind="stable")
    n_cand = min(len(scores), max(s.candidate_pool, 10 * top))
    cand = order[:n_cand]
    # Demand: white-space population, discounted where the team was just there.
    demand_w = (
        scores["population"].astype("float64")
        * scores["term_whitespace"]
        * scores["rotation_factor"]
    ).to_numpy()
    cover = coverage_matrix(xy, xy[cand], radius=s.catchment_km * 1000.0)
    # A site is also worth its own quality: a private demand node per candidate.
    reach = np.asarray(cover @ demand_w).ravel()
    typical = float(np.median(reach[reach > 0])) if (reach > 0).any() else 1.0
    own = s.site_quality_weight * typical * scores["score"].to_numpy()[cand]
    import scipy.sparse as sp

    full_cover = sp.hstack([cover, sp.identity(n_cand, format="csr")], format="csr")
    full_w = np.concatenate([demand_w, own])
    k = min(top, n_cand)
    result = max_cover(
        full_w, full_cover, k, exact_limit=s.cover_exact_limit, time_limit=s.cover_time_limit_s
    )
    chosen = [int(cand[i]) for i in result.selected]
    # The covering may stop early when further sites add nothing: fill by score.
    for i in cand:
        if len(chosen) >= k:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    chosen.sort(key=lambda i: -scores["score"].iloc[i])

    rows = []
    radius_m = s.after_sales_km * 1000.0
    nearby = _owners_near(_owner_lonlat(ws), crs, xy[chosen], radius_m)
    for rank, i in enumerate(chosen, start=1):
        z = scores.iloc[i]
        rows.append(
            _site_row(
                rank,
                z,
                xy[i],
                nearby[rank - 1],
                analysis,
                history,
                playbook,
                settings,
                date,
                lang,
                spots.get(str(z["zone_id"]), frozenset()),
            )
        )
    sites = pd.DataFrame(rows)
    notes = list(analysis.whitespace.notes)
    if len(chosen) < top:
        notes.append("fewer_sites")
    return Recommendation(date, analysis.model, sites, scores, result, analysis, notes, history)


def _owner_xy(ws, crs) -> np.ndarray:
    located = ws.customers[ws.customers.geometry.notna()]
    if located.empty:
        return np.empty((0, 2))
    pts = located.geometry.to_crs(crs)
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


#: The last few workspaces' owner coordinates, sorted by longitude: {id: (weak ref, lon/lat)}.
_OWNERS: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def _owner_lonlat(ws) -> np.ndarray:
    """WGS-84 lon/lat of every located existing customer, sorted by longitude, shape (n, 2).

    Kept for the workspace's customer table while it lives, so re-ranking
    after a weight or date change does not walk a million points again.
    """
    frame = ws.customers
    hit = _OWNERS.get(id(frame))
    if hit is not None and hit[0]() is frame:
        return hit[1]
    geoms = frame.geometry.values
    lonlat = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
    lonlat = lonlat[np.argsort(lonlat[:, 0], kind="stable")]
    lonlat.setflags(write=False)
    for key in [k for k, (ref, _) in _OWNERS.items() if ref() is None]:
        del _OWNERS[key]
    if len(_OWNERS) >= 4:  # a few workspaces at most (the app's sessions)
        _OWNERS.clear()
    _OWNERS[id(frame)] = (weakref.ref(frame), lonlat)
    return lonlat


def _owners_near(
    owners_lonlat: np.ndarray, crs, centres_xy: np.ndarray, radius_m: float
) -> list[int]:
    """Owners within ``radius_m`` (in ``crs``) of each centre; same counts as with :func:`_owner_xy`.

    ``owners_lonlat`` is sorted by longitude (:func:`_owner_lonlat`): only
    the owners in a generous lon/lat box around each centre are looked at
    and projected, so a million customers cost milliseconds, not seconds.
    """
    if not len(owners_lonlat):
        return [0] * len(centres_xy)
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    counts = []
    for x, y in np.asarray(centres_xy, dtype="float64").reshape(-1, 2):
        lon, lat = to_lonlat.transform(x, y)
        dlat = 1.5 * radius_m / 110_574.0
        dlon = 1.5 * radius_m / (111_320.0 * max(np.cos(np.radians(lat)), 0.01))
        lo = np.searchsorted(owners_lonlat[:, 0], lon - dlon, side="left")
        hi = np.searchsorted(owners_lonlat[:, 0], lon + dlon, side="right")
        band = owners_lonlat[lo:hi]
        near = band[np.abs(band[:, 1] - lat) <= dlat]
        px, py = to_xy.transform(near[:, 0], near[:, 1])
        counts.append(int((np.hypot(np.asarray(px) - x, np.asarray(py) - y) <= radius_m).sum()))
    return counts


def _site_row(rank, z, xy, nearby, analysis, history, pb, settings, date, lang, poi_types) -> dict:
    s = settings.ranking
    zone_type = z["zone_type"]
    owners = int(z["customers"])
    formats = ordered_formats(
        pb,
        history,
        zone_type,
        date,
        owners=owners,
        owner_min=s.owner_service_min,
        poi_types=poi_types,
        owner_boost=s.owner_service_boost,
    )
    slots = site_slots(pb, zone_type, date, analysis.profile, poi_types=poi_types)
    point = z.geometry.representative_point()
    reasons = _reasons(z, formats, slots, nearby, analysis, history, settings, date, lang)
    return {
        "rank": rank,
        "zone_id": z["zone_id"],
        "name": z["name"],
        "district": z["district"],
        "zone_type": zone_type,
        "lon": float(point.x),
        "lat": float(point.y),
        "score": float(z["score"]),
        "r_value": float(z["r_value"]),
        "r_score": float(z["r_score"]),
        "population": int(z["population"]),
        "density": float(z["density"]),
        "distance_km": float(z["distance_km"]),
        "customers": owners,
        "owners_nearby": nearby,
        "expected_customers": None
        if pd.isna(z["expected_customers"])
        else float(z["expected_customers"]),
        "whitespace_score": float(z["whitespace_score"]),
        "formats": formats,
        "time_slots": [slot.label(lang) for slot in slots],
        "tools": list(pb.tools(zone_type, poi_types=poi_types)),
        "talking_points": site_talking_points(
            pb, zone_type, analysis.profile, lang, poi_types=poi_types
        ),
        "expected_leads": float(z["expected_leads"]),
        "expected_sales": float(z["expected_sales"]),
        "cost": float(z["estimated_cost"]),
        "estimated_cost": float(z["estimated_cost"]),
        "cost_per_lead": _finite(z["cost_per_lead"]),
        "cost_per_sale": _finite(z["cost_per_sale"]),
        "sales_per_yuan": _finite(z["sales_per_yuan"]),
        "history_events": int(z["history_events"]),
        "learned": [_learned_entry(history.format_stats(f, zone_type)) for f in formats],
        "last_visit": None if pd.isna(z["last_visit"]) else z["last_visit"].date().isoformat(),
        "after_sales": "owner_free_service" in formats and nearby >= s.after_sales_owners,
        "terms": {
            k: float(z[f"term_{k}"])
            for k in ("whitespace", "r_score", "density", "distance", "history")
        },
        "date_fit": float(z["date_fit"]),
        "rotation_factor": float(z["rotation_factor"]),
        "reasons": reasons,
    }


def _finite(value) -> float | None:
    return float(value) if pd.notna(value) and np.isfinite(value) else None


def _learned_entry(stats) -> dict:
    """What the ranking knows of one format at this site (JSON-safe)."""
    return {
        "format": stats.format,
        "events": stats.events,
        "leads_observed": stats.leads_observed,
        "sales_observed": stats.sales_observed,
        "leads_per_event": stats.leads_per_event,
        "close_rate": stats.close_rate,
        "cost_per_event": stats.cost_per_event,
        "cost_per_lead": _finite(stats.cost_per_lead),
        "cost_per_sale": _finite(stats.cost_per_sale),
        "sales_per_yuan": _finite(stats.sales_per_yuan),
        "verdict": stats.verdict,
    }


def _wan(n: float, lang: str) -> str:
    return f"{n / 10000:.1f} 万人" if lang == "zh" else f"{n:,.0f} people"


def _reasons(z, formats, slots, nearby, analysis, history, settings, date, lang) -> list[str]:
    s = settings.ranking
    out = []
    type_label = label(z["zone_type"], ZONE_TYPES, lang)
    expected = z["expected_customers"]
    if analysis.mode == "lookalike" and pd.notna(expected):
        wss = settings.whitespace
        if z["confidence"] >= wss.min_confidence and z["shortfall"] >= wss.min_shortfall:
            key = "reason.whitespace"
        elif z["customers"] > 1.1 * expected:
            key = "reason.served"
        elif z["customers"] < 0.9 * expected:
            key = "reason.below"
        else:
            key = "reason.par"
        out.append(
            t(
                key,
                lang,
                name=z["name"],
                people=_wan(z["population"], lang),
                r=z["r_value"],
                customers=int(z["customers"]),
                expected=expected,
                type=type_label,
                confidence=z["confidence"],
            )
        )
    else:
        out.append(
            t(
                "reason.cold",
                lang,
                name=z["name"],
                people=_wan(z["population"], lang),
                r=z["r_value"],
                type=type_label,
            )
        )
    out.append(
        t(
            "reason.distance",
            lang,
            km=z["distance_km"],
            density=z["density"],
            tier=z["density_tier_label"],
        )
    )
    if formats:
        out.append(_economics_reason(z, formats[0], history, lang))
        out.extend(learned_reasons(history, formats, z["zone_type"], lang))
    if slots:
        out.append(
            t(
                "reason.slots",
                lang,
                slots="、".join(sl.label(lang) for sl in slots)
                if lang == "zh"
                else "; ".join(sl.label(lang) for sl in slots),
            )
        )
    else:
        out.append(t("reason.no_slot", lang, type=type_label))
    if pd.notna(z["last_visit"]):
        weeks = (pd.Timestamp(date) - z["last_visit"]).days / 7
        key = "reason.rotation" if weeks < s.rotation_weeks else "reason.visited"
        out.append(t(key, lang, weeks=weeks, date=z["last_visit"].date().isoformat()))
    owner_service = "owner_free_service" in formats
    if int(z["customers"]) >= s.owner_service_min:
        key = "reason.owners" if owner_service else "reason.referrals"
        out.append(t(key, lang, n=int(z["customers"])))
    if owner_service and nearby >= s.after_sales_owners:
        out.append(t("reason.after_sales", lang, n=nearby, km=s.after_sales_km))
    hints = analysis.profile.hints()
    if hints:
        out.append(hints[0].text(lang))
    return out


def _money(value: float) -> str:
    return f"{value:,.0f}" if np.isfinite(value) else "∞"


def _economics_reason(z, fmt: str, history: EventHistory, lang: str) -> str:
    """What the leading format is expected to bring at this site, and at what cost per sale."""
    stats = history.format_stats(fmt, z["zone_type"])
    cps = z["cost_per_sale"]
    cpl = z["cost_per_lead"]
    return t(
        "reason.economics" if stats.events or stats.sales_events else "reason.economics_prior",
        lang,
        format=label(fmt, FORMATS, lang),
        leads=z["expected_leads"],
        sales=z["expected_sales"],
        cost=z["estimated_cost"],
        cps=_money(cps if pd.notna(cps) else np.inf),
        cpl=_money(cpl if pd.notna(cpl) else np.inf),
        n=stats.events,
    )


def learned_reasons(
    history: EventHistory, formats: list[str], zone_type: str, lang: str, *, limit: int = 3
) -> list[str]:
    """One line per format of the site with recorded events: what was learned.

    ``上 4 次居住区午间展示：留资 160，成交 0 → 降权（每单成本约 7,600 元，先验 3,000 元）``.
    """
    out = []
    type_label = label(zone_type, ZONE_TYPES, lang)
    for fmt in formats:
        stats = history.format_stats(fmt, zone_type)
        if not stats.events and not stats.sales_events:
            continue
        prior = history.prior_stats(fmt, zone_type)
        verdict = t(
            f"reason.learned.{stats.verdict}",
            lang,
            cps=_money(stats.cost_per_sale),
            prior=_money(prior.cost_per_sale),
        )
        spent = (
            t("reason.learned.spent", lang, cost=stats.cost_observed) if stats.cost_events else ""
        )
        text = t(
            "reason.learned",
            lang,
            n=max(stats.events, stats.sales_events),
            type=type_label,
            format=label(fmt, FORMATS, lang),
            spent=spent,
            leads=stats.leads_observed,
            sales=stats.sales_observed,
            verdict=verdict,
        )
        if stats.maturing:
            text += t(
                "reason.learned.maturing",
                lang,
                m=stats.maturing,
                days=history.settings.sales_window_days,
            )
        out.append(text)
        if len(out) >= limit:
            break
    return out


def recommend_json(rec: Recommendation, *, lang: str = "zh") -> dict:
    """The ``territory recommend --json`` document (contract shape plus extras)."""
    sites = rec.sites.to_dict(orient="records")
    cover = rec.cover
    return {
        "date": rec.date.isoformat(),
        "model": rec.model,
        "mode": rec.analysis.mode,
        "notes": [
            t(f"analysis.note.{n}", lang) if n == "cold_start" else t(f"recommend.note.{n}", lang)
            for n in rec.notes
        ],
        "covering": None
        if cover is None
        else {
            "method": cover.method,
            "optimal": cover.optimal,
            "gap": cover.gap,
            "covered_weight": cover.covered_weight,
            "upper_bound": cover.upper_bound,
        },
        "sites": sites,
        "learned": []
        if rec.history is None
        else [
            {k: _json_number(v) for k, v in row.items()}
            for row in rec.history.learned_table().to_dict(orient="records")
        ],
    }


def _json_number(value):
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value

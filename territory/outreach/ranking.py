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
quality, so they do not all sit in one cluster. Each site's facts —
formats, slots, tools, the spot, expected leads, sales and cost, referral
targets, the model's fit — come from its site brief
(:mod:`territory.outreach.site`), and its reasons are built from them. The
economic term is the main format's **cost per sale** (learned from past
events, shrunk towards the playbook's priors); zones in districts the
coverage table diagnoses ``awareness_gap`` weigh ``site.awareness_gap_factor``
more. When dealer.toml's ``[team]`` gives ``staff_per_day`` and
``test_cars``, the sites of one day fit them (each format needs people and
cars, ``[format_needs]`` of the playbook). Sites the user chose
(``sites=``) are kept and ranked like the others; :func:`recommend_weeks`
fills several outreach days, each rotating away from the days before.

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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.analysis.zones import Analysis, analyse
from territory.i18n import t
from territory.inputs import coords
from territory.outreach.covering import CoverResult, coverage_matrix, max_cover
from territory.outreach.history import EventHistory
from territory.outreach.playbook import Playbook, load_playbook
from territory.outreach.site import SiteBrief, SiteFacts, ordered_formats, pool_centres
from territory.settings import RankingSettings, Settings
from territory.vocab import FORMATS, ZONE_TYPES, label

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "Recommendation",
    "best_in_district",
    "learned_reasons",
    "next_saturday",
    "ordered_formats",
    "recommend",
    "recommend_json",
    "recommend_weeks",
    "site_scores",
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
    #: The best zones not chosen and why (``zone_id``, ``name``, ``score``, ``why``, ``text``).
    passed: list[dict] = field(default_factory=list)
    #: The site briefs of ``sites``, by zone id.
    briefs: dict[str, SiteBrief] = field(default_factory=dict)
    #: The site facts behind the briefs (reuse them for plans and prints).
    facts: SiteFacts | None = None
    #: Capacity of the day: {"staff", "test_cars", "used_staff", "used_test_cars"} or None.
    capacity: dict | None = None
    #: The track record behind the economic term (learned figures per format × zone type).
    history: EventHistory | None = None


_TERMS = ("whitespace", "r_score", "density", "distance", "history")


def _normalise(weights: dict[str, float]) -> dict[str, float]:
    total = sum(max(v, 0.0) for v in weights.values())
    if total <= 0:
        raise ValueError(
            "ranking weights must include a positive value; check settings.ranking.weights"
        )
    return {k: max(v, 0.0) / total for k, v in weights.items()}


def site_scores(
    analysis: Analysis,
    *,
    date: dt.date,
    facts: SiteFacts,
    settings: Settings,
    include: Sequence[str] = (),
    visits: Mapping[str, dt.date] | None = None,
) -> gpd.GeoDataFrame:
    """Site score and its terms for every zone in the influence area (and ``include``).

    ``visits`` adds planned visits (zone id → date) to the past events'
    last visits (rotation across several outreach days).
    """
    s = settings.ranking
    weights = _normalise(s.weights)
    unknown = set(weights) - set(_TERMS)
    if unknown:
        raise ValueError(
            f"unknown ranking weights {sorted(unknown)}; use whitespace, r_score, density, distance, history"
        )
    zones = analysis.zones
    keep = zones["in_influence_area"] & (zones["population"] > 0)
    if include:
        keep = keep | zones["zone_id"].astype(str).isin([str(z) for z in include])
    pool = zones[keep].copy()
    if pool.empty:
        return pool
    radius = settings.influence.radius_km
    cols: dict[str, object] = {
        "term_whitespace": pool["whitespace_score"].fillna(0).clip(0, 1),
        "term_r_score": pool["r_score"].fillna(0),
        "term_density": pool["density"].rank(pct=True).fillna(0),
        "term_distance": (1 - pool["distance_km"] / radius).clip(0, 1),
    }
    econ = facts.main_formats(pool, date)
    cols.update({c: econ[c] for c in econ.columns})
    # The economic term: expected sales per yuan of the main format (1 / cost per sale), on
    # a log scale across the pool (a format ten times cheaper per sale is a fixed step ahead).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_spy = np.log(econ["sales_per_yuan"].to_numpy(dtype="float64"))
    finite = np.isfinite(log_spy)
    if finite.any():
        lo, hi = float(log_spy[finite].min()), float(log_spy[finite].max())
        term = (log_spy - lo) / (hi - lo) if hi > lo else np.where(finite, 1.0, 0.0)
        term = np.where(np.isnan(log_spy), 0.0, np.where(np.isposinf(log_spy), 1.0, term))
    else:
        term = np.where(np.isposinf(log_spy), 1.0, 0.0)
    cols["term_history"] = pd.Series(np.clip(term, 0.0, 1.0), index=pool.index)
    base = sum(weights.get(k, 0.0) * cols[f"term_{k}"] for k in _TERMS)
    fits = econ["best_format"].notna() & econ["has_slot"].astype(bool)
    cols["date_fit"] = pd.Series(np.where(fits, 1.0, s.date_misfit_factor), index=pool.index)

    gaps = facts.awareness_gap_districts()
    gap = pool["district"].astype(str).isin(gaps) & pool["district"].notna()
    cols["awareness_gap"] = gap
    cols["coverage_factor"] = pd.Series(
        np.where(gap, settings.site.awareness_gap_factor, 1.0), index=pool.index
    )

    last = facts.history_for(date).last_visits(before=date).to_dict()
    for zone_id, day in (visits or {}).items():
        if day < date and (zone_id not in last or pd.Timestamp(day) > pd.Timestamp(last[zone_id])):
            last[zone_id] = pd.Timestamp(day)
    last_visit = pd.Series(
        pd.to_datetime(pool["zone_id"].map(last), errors="coerce"), index=pool.index
    ).astype("datetime64[ns]")
    weeks = (pd.Timestamp(date) - last_visit).dt.days / 7.0
    recovery = (
        (weeks / s.rotation_weeks).clip(0, 1)
        if s.rotation_weeks > 0
        else pd.Series(1.0, index=pool.index)
    )
    cols["last_visit"] = last_visit
    cols["weeks_since_visit"] = weeks
    cols["rotation_factor"] = (s.rotation_floor + (1 - s.rotation_floor) * recovery).fillna(1.0)
    cols["score"] = base * cols["date_fit"] * cols["rotation_factor"] * cols["coverage_factor"]
    # One assignment for every new column (a GeoDataFrame copies itself on each one).
    return pool.assign(**cols)
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
    sites: Sequence[str] = (),
    visits: Mapping[str, dt.date] | None = None,
    facts: SiteFacts | None = None,
    avoid: Sequence[str] = (),
) -> Recommendation:
    """Recommend ``top`` distinct outreach sites for ``date``.

    Parameters
    ----------
    ws
        The workspace.
    date
        The day the team goes out (weekday and weekend differ).
    top
        How many sites (fewer when the team's capacity that day is smaller).
    overrides
        Per-call settings, e.g. ``{"ranking": {"weights": {"distance": 0.5}}}``.
    analysis
        A precomputed :func:`territory.analysis.zones.analyse` result for the
        same model and settings (saves time in the app).
    sites
        Zone ids the user chose: always among the sites (``chosen_by =
        "user"``), ranked and planned like the others.
    visits
        Planned visits (zone id → date) that count for rotation like past events.
    facts
        Site facts for the same analysis and playbook (reused across dates).
    avoid
        Zone ids not to recommend (already planned on a nearby day); the
        user's own ``sites`` are kept regardless.

    Raises
    ------
    KeyError
        If a zone of ``sites`` is not in the workspace.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    settings = (settings or ws.settings).merged(overrides)
    analysis = analysis or analyse(ws, model=model, settings=settings, lang=lang)
    if facts is None or facts.settings is not settings or facts.analysis is not analysis:
        playbook = (
            playbook or (facts.playbook if facts else None) or load_playbook(ws.root, lang=lang)
        )
        facts = SiteFacts(ws, analysis, playbook=playbook, settings=settings, lang=lang)
    user = list(dict.fromkeys(str(z) for z in sites))
    known = set(analysis.zones["zone_id"].astype(str))
    missing = [z for z in user if z not in known]
    if missing:
        raise KeyError(t("plan.unknown_zone", lang, zone=", ".join(missing)))
    scores = site_scores(
        analysis, date=date, facts=facts, settings=settings, include=user, visits=visits
    )
    if scores.empty:
        empty = pd.DataFrame(columns=["rank", "zone_id"])
        return Recommendation(
            date, analysis.model, empty, scores, None, analysis, ["no_zones"], facts=facts
        )

    s = settings.ranking
    crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
    xy = pool_centres(scores, analysis.zones, crs)
    zone_ids = scores["zone_id"].astype(str).to_numpy()
    user_pos = [int(np.flatnonzero(zone_ids == z)[0]) for z in user]
    order = np.argsort(-scores["score"].to_numpy(), kind="stable")
    n_cand = min(len(scores), max(s.candidate_pool, 10 * top))
    cand = list(order[:n_cand])
    cand += [i for i in user_pos if i not in cand]
    cand = np.asarray(cand, dtype="int64")
    # Demand: white-space population, discounted where the team was just there.
    # The white-space weight the user gives (against the default) scales the demand too, so
    # that moving a weight slider moves the joint choice, not only each site's own score.
    ws_share = _normalise(s.weights).get("whitespace", 0.0) / max(
        _normalise(RankingSettings().weights)["whitespace"], 1e-9
    )
    demand_w = (
        scores["population"].astype("float64")
        * scores["term_whitespace"]
        * scores["rotation_factor"]
        * ws_share
    ).to_numpy()
    cover = coverage_matrix(xy, xy[cand], radius=s.catchment_km * 1000.0)
    # A site is also worth its own quality: a private demand node per candidate.
    reach = np.asarray(cover @ demand_w).ravel()
    typical = float(np.median(reach[reach > 0])) if (reach > 0).any() else 1.0
    own = s.site_quality_weight * typical * scores["score"].to_numpy()[cand]
    import scipy.sparse as sp  # here, not at the top: see territory/outreach/covering.py

    full_cover = sp.hstack([cover, sp.identity(len(cand), format="csr")], format="csr")
    full_w = np.concatenate([demand_w, own])
    mandatory = [int(np.flatnonzero(cand == i)[0]) for i in user_pos]
    k = min(max(top, len(mandatory)), len(cand))

    team = getattr(ws.dealer, "team", None)
    staff_cap = getattr(team, "staff_per_day", None)
    cars_cap = getattr(team, "test_cars", None)
    need_staff = scores["staff"].to_numpy()[cand]
    need_cars = scores["test_cars"].to_numpy()[cand]

    def fits(picked: list[int], j: int) -> bool:
        staff = sum(need_staff[i] for i in picked) + need_staff[j]
        cars = sum(need_cars[i] for i in picked) + need_cars[j]
        return (staff_cap is None or staff <= staff_cap) and (cars_cap is None or cars <= cars_cap)

    avoid_set = {str(z) for z in avoid} - set(user)
    forbidden: set[int] = {j for j in range(len(cand)) if str(zone_ids[int(cand[j])]) in avoid_set}
    no_room: set[int] = set()
    accepted = list(mandatory)
    result = None
    for _ in range(len(cand) + 1):
        k_now = min(k, len(cand) - len(forbidden))
        if k_now < len(accepted):
            break
        result = max_cover(
            full_w,
            full_cover,
            k_now,
            exact_limit=s.cover_exact_limit,
            time_limit=s.cover_time_limit_s,
            mandatory=accepted,
            forbidden=sorted(forbidden),
        )
        changed = False
        for i in result.selected:
            if i in accepted:
                continue
            if fits(accepted, i):
                accepted.append(i)
            else:
                forbidden.add(i)
                no_room.add(i)
                changed = True
        if not changed or len(accepted) >= k:
            break
    # The covering may stop early when further sites add nothing: fill by score.
    for j in range(len(cand)):
        if len(accepted) >= k:
            break
        if j not in accepted and j not in forbidden:
            if fits(accepted, j):
                accepted.append(j)
            else:
                no_room.add(j)
    chosen_local = sorted(accepted, key=lambda j: -scores["score"].iloc[int(cand[j])])
    chosen = [int(cand[j]) for j in chosen_local]

    rows = []
    briefs: dict[str, SiteBrief] = {}
    unique = _unique_reach(cover, demand_w, chosen_local)
    for rank, (i, j) in enumerate(zip(chosen, chosen_local, strict=True), start=1):
        z = scores.iloc[i]
        brief = facts.brief(str(z["zone_id"]), date)
        briefs[brief.zone_id] = brief
        by_user = brief.zone_id in user
        rows.append(
            _site_row(
                rank,
                z,
                brief,
                analysis,
                settings,
                date,
                lang,
                by_user,
                unique.get(j, 0.0),
                facts.history_for(date),
            )
        )
    site_frame = pd.DataFrame(rows)
    notes = list(analysis.whitespace.notes)
    capacity = None
    if staff_cap is not None or cars_cap is not None:
        capacity = {
            "staff": staff_cap,
            "test_cars": cars_cap,
            "used_staff": int(sum(need_staff[j] for j in chosen_local)),
            "used_test_cars": int(sum(need_cars[j] for j in chosen_local)),
        }
        if len(chosen) < top:
            notes.append("capacity")
    elif len(chosen) < top:
        notes.append("fewer_sites")
    for z in user:
        row = analysis.zones.iloc[facts.row(z)]
        if not (bool(row["in_influence_area"]) and row["population"] > 0):
            notes.append(f"user_outside:{z}")
    passed = _passed(scores, cand, cover, demand_w, chosen_local, no_room, settings, lang)
    return Recommendation(
        date,
        analysis.model,
        site_frame,
        scores,
        result,
        analysis,
        notes,
        passed=passed,
        briefs=briefs,
        facts=facts,
        capacity=capacity,
        history=facts.history_for(date),
    )


def recommend_weeks(
    ws,
    *,
    date: dt.date,
    weeks: int,
    top: int = 5,
    model: str | None = None,
    settings: Settings | None = None,
    overrides: dict | None = None,
    analysis: Analysis | None = None,
    playbook: Playbook | None = None,
    lang: str = "zh",
    sites: Sequence[str] = (),
) -> list[Recommendation]:
    """The next ``weeks`` outreach days (``date`` and the same weekday after it), one set each.

    Each day's sites count as visited for the days after it, and a zone
    planned within ``ranking.rotation_weeks`` is not planned again, so the
    team moves on; the user's chosen sites go on the first day.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    settings = (settings or ws.settings).merged(overrides)
    analysis = analysis or analyse(ws, model=model, settings=settings, lang=lang)
    playbook = playbook or load_playbook(ws.root, lang=lang)
    facts = SiteFacts(ws, analysis, playbook=playbook, settings=settings, lang=lang)
    visits: dict[str, dt.date] = {}
    out = []
    for w in range(weeks):
        day = date + dt.timedelta(days=7 * w)
        rec = recommend(
            ws,
            date=day,
            top=top,
            settings=settings,
            analysis=analysis,
            playbook=playbook,
            lang=lang,
            sites=sites if w == 0 else (),
            visits=visits,
            facts=facts,
            avoid=[
                z
                for z, d in visits.items()
                if (day - d).days < 7 * max(settings.ranking.rotation_weeks, 1)
            ],
        )
        for zone_id in rec.sites.get("zone_id", []):
            visits[str(zone_id)] = day
        out.append(rec)
    return out


def best_in_district(rec: Recommendation, district: str, *, n: int = 3) -> pd.DataFrame:
    """The ``n`` best-scoring zones of ``district`` for the recommendation's date.

    Coverage and sites agree: a district diagnosed ``awareness_gap`` links to
    these (zone_id, name, score, best_format), best first.
    """
    scores = rec.scores
    if scores.empty:
        return pd.DataFrame(columns=["zone_id", "name", "score", "best_format"])
    rows = scores[scores["district"].astype(str) == str(district)]
    rows = rows.sort_values("score", ascending=False, kind="stable").head(n)
    return pd.DataFrame(
        {
            "zone_id": rows["zone_id"].astype(str).to_numpy(),
            "name": rows["name"].to_numpy(),
            "score": rows["score"].astype("float64").to_numpy(),
            "best_format": rows["best_format"].to_numpy(),
        }
    )


def _unique_reach(
    cover: sp.csr_matrix, demand_w: np.ndarray, chosen: list[int]
) -> dict[int, float]:
    """White-space weight each chosen candidate reaches that no other chosen one does."""
    if not chosen:
        return {}
    rows = cover[chosen].astype("int64")
    counts = np.asarray(rows.sum(axis=0)).ravel()
    alone = counts == 1
    return {
        j: float(demand_w[rows[k].indices[alone[rows[k].indices]]].sum())
        for k, j in enumerate(chosen)
    }


def _passed(scores, cand, cover, demand_w, chosen, no_room, settings, lang) -> list[dict]:
    """The best-scoring candidates not chosen, and why (overlap, capacity or weaker reach)."""
    s = settings.site
    out = []
    chosen_set = set(chosen)
    order = sorted(
        (j for j in range(len(cand)) if j not in chosen_set),
        key=lambda j: -scores["score"].iloc[int(cand[j])],
    )
    rank_of = {
        j: r
        for r, j in enumerate(
            sorted(chosen, key=lambda j: -scores["score"].iloc[int(cand[j])]), start=1
        )
    }
    for j in order[: s.explain_next]:
        z = scores.iloc[int(cand[j])]
        name = z["name"] if isinstance(z["name"], str) and z["name"] else str(z["zone_id"])
        fields = {"name": name, "score": float(z["score"])}
        own = cover[j].indices
        total = float(demand_w[own].sum())
        best_rank, best_overlap = None, 0.0
        for c in chosen:
            shared = np.intersect1d(own, cover[c].indices, assume_unique=True)
            overlap = float(demand_w[shared].sum()) / total if total > 0 else 0.0
            if overlap > best_overlap:
                best_rank, best_overlap = rank_of[c], overlap
        if j in no_room:
            why = "capacity"
            fields.update(staff=int(z["staff"]), cars=int(z["test_cars"]))
        elif best_rank is not None and best_overlap >= s.overlap_share:
            why = "overlap"
            fields.update(rank=best_rank, overlap=best_overlap)
        else:
            why = "weaker"
        out.append(
            {
                "zone_id": str(z["zone_id"]),
                "name": name,
                "score": round(float(z["score"]), 4),
                "why": why,
                "overlap": round(best_overlap, 4),
                "overlaps_rank": best_rank,
                "text": t(f"passed.{why}", lang, **fields),
            }
        )
    return out


def _site_row(
    rank, z, brief: SiteBrief, analysis, settings, date, lang, by_user, unique, facts_history
) -> dict:
    e = brief.economics
    spot = brief.spot
    reasons = _reasons(z, brief, analysis, settings, date, lang, by_user, unique, facts_history)
    return {
        "rank": rank,
        "zone_id": brief.zone_id,
        "name": z["name"],
        "district": z["district"],
        "zone_type": brief.zone_type,
        "lon": spot.lon,
        "lat": spot.lat,
        "score": float(z["score"]),
        "r_value": float(z["r_value"]),
        "r_score": float(z["r_score"]),
        "population": int(z["population"]),
        "density": float(z["density"]),
        "distance_km": float(z["distance_km"]),
        "customers": int(z["customers"]),
        "owners": brief.owners,
        "owners_nearby": brief.owners_nearby,
        "expected_customers": None
        if pd.isna(z["expected_customers"])
        else float(z["expected_customers"]),
        "whitespace_score": float(z["whitespace_score"]),
        "share": brief.share,
        "formats": brief.formats,
        "time_slots": [slot.label(lang) for slot in brief.slots],
        "tools": brief.tools,
        "talking_points": brief.talking_points,
        "spot": spot.to_dict(),
        "expected_leads": float(e.leads),
        "expected_sales": float(e.sales),
        "cost": float(e.cost),
        "estimated_cost": float(e.cost),
        "cost_per_lead": None if not math.isfinite(e.cost_per_lead) else float(e.cost_per_lead),
        "cost_per_sale": None if not math.isfinite(e.cost_per_sale) else float(e.cost_per_sale),
        "sales_per_yuan": None
        if not (e.cost > 0 and math.isfinite(e.sales / e.cost))
        else float(e.sales / e.cost),
        "history_events": int(e.events),
        "learned": [
            _learned_entry(facts_history.format_stats(f, brief.zone_type)) for f in brief.formats
        ],
        "staff": brief.staff,
        "test_cars": brief.test_cars,
        "referral_targets": brief.referral.count,
        "referral_peak": brief.referral.peak,
        "r_verdict": brief.model_fit.verdict,
        "feature_model": brief.model_fit.best_model,
        "competitor": brief.competitor,
        "competitor_km": brief.competitor_km,
        "awareness_gap": brief.awareness_gap,
        "consultant": brief.consultant,
        "chosen_by": "user" if by_user else "recommended",
        "last_visit": None if pd.isna(z["last_visit"]) else z["last_visit"].date().isoformat(),
        "after_sales": brief.after_sales,
        "terms": {k: float(z[f"term_{k}"]) for k in _TERMS},
        "date_fit": float(z["date_fit"]),
        "rotation_factor": float(z["rotation_factor"]),
        "coverage_factor": float(z["coverage_factor"]),
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


def _money(v: float) -> str:
    return f"{v:,.0f}" if math.isfinite(v) else "—"


def _reasons(
    z, brief: SiteBrief, analysis, settings, date, lang, by_user, unique, history
) -> list[str]:
    s = settings.ranking
    out = []
    if by_user:
        out.append(t("reason.user", lang))
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
    fit = brief.model_fit
    out.append(t("reason.r_verdict", lang, text=fit.text(lang)))
    if fit.best_model != fit.model and math.isfinite(fit.best_r):
        out.append(t("reason.feature_model", lang, model=fit.best_model, r=fit.best_r))
    out.append(
        t(
            "reason.distance",
            lang,
            km=z["distance_km"],
            density=z["density"],
            tier=z["density_tier_label"],
        )
    )
    e = brief.economics
    if e.format:
        stats = history.format_stats(e.format, brief.zone_type)
        out.append(
            t(
                "reason.economics"
                if stats.events or stats.sales_events
                else "reason.economics_prior",
                lang,
                format=label(e.format, FORMATS, lang),
                leads=e.leads,
                sales=e.sales,
                cost=e.cost,
                cps=_money(e.cost_per_sale),
                cpl=_money(e.cost_per_lead),
                n=stats.events,
            )
        )
        out.extend(learned_reasons(history, brief.formats, brief.zone_type, lang))
    out.append(t("reason.spot", lang, spot=brief.spot.label(lang)))
    if brief.slots:
        out.append(
            t(
                "reason.slots",
                lang,
                slots="、".join(sl.label(lang) for sl in brief.slots)
                if lang == "zh"
                else "; ".join(sl.label(lang) for sl in brief.slots),
            )
        )
    else:
        out.append(t("reason.no_slot", lang, type=type_label))
    if brief.staff or brief.test_cars:
        out.append(t("reason.capacity", lang, staff=brief.staff, cars=brief.test_cars))
    if pd.notna(z["last_visit"]):
        weeks = (pd.Timestamp(date) - z["last_visit"]).days / 7
        key = "reason.rotation" if weeks < s.rotation_weeks else "reason.visited"
        out.append(t(key, lang, weeks=weeks, date=z["last_visit"].date().isoformat()))
    if brief.awareness_gap:
        out.append(
            t(
                "reason.awareness_gap",
                lang,
                district=brief.district,
                factor=settings.site.awareness_gap_factor,
            )
        )
    if brief.competitor is not None and brief.competitor_km is not None:
        if brief.competitor_km <= settings.huff.conquest_km:
            out.append(
                t(
                    "reason.competitor",
                    lang,
                    name=brief.competitor,
                    km=brief.competitor_km,
                    share=brief.share,
                )
            )
        elif brief.share < 0.95 and analysis.huff is not None and analysis.huff.supported:
            out.append(t("reason.share", lang, share=brief.share))
    owner_service = "owner_free_service" in brief.formats
    if brief.owners >= s.owner_service_min:
        key = "reason.owners" if owner_service else "reason.referrals"
        out.append(t(key, lang, n=brief.owners))
    if brief.after_sales:
        out.append(t("reason.after_sales", lang, n=brief.owners_nearby, km=s.after_sales_km))
    if brief.referral.count:
        out.append(
            t(
                "reason.referral",
                lang,
                n=brief.referral.count,
                peak=brief.referral.peak,
                km=brief.referral.radius_km,
            )
        )
    if unique > 0:
        out.append(t("reason.together", lang, people=_wan(unique, lang), km=s.catchment_km))
    if brief.consultant:
        out.append(t("reason.consultant", lang, name=brief.consultant))
    hints = analysis.profile.hints()
    if hints:
        out.append(hints[0].text(lang))
    return out


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


def _note(code: str, rec: Recommendation, lang: str) -> str:
    if code == "cold_start":
        return t(f"analysis.note.{code}", lang)
    if code.startswith("user_outside:"):
        return t("recommend.note.user_outside", lang, zone=code.split(":", 1)[1])
    if code == "capacity" and rec.capacity:
        c = rec.capacity
        return t(
            "recommend.note.capacity",
            lang,
            staff="—" if c["staff"] is None else c["staff"],
            cars="—" if c["test_cars"] is None else c["test_cars"],
            n=len(rec.sites),
        )
    return t(f"recommend.note.{code}", lang)


def recommend_json(
    rec: Recommendation, *, lang: str = "zh", weeks: Sequence[Recommendation] | None = None
) -> dict:
    """The ``territory recommend --json`` document (contract shape plus extras)."""
    sites = rec.sites.to_dict(orient="records")
    cover = rec.cover
    doc = {
        "date": rec.date.isoformat(),
        "model": rec.model,
        "mode": rec.analysis.mode,
        "notes": [_note(n, rec, lang) for n in rec.notes],
        "covering": None
        if cover is None
        else {
            "method": cover.method,
            "optimal": cover.optimal,
            "gap": cover.gap,
            "covered_weight": cover.covered_weight,
            "upper_bound": cover.upper_bound,
        },
        "capacity": rec.capacity,
        "huff": rec.analysis.huff.to_dict() if rec.analysis.huff is not None else None,
        "sites": sites,
        "not_chosen": rec.passed,
        "learned": []
        if rec.history is None
        else [
            {k: _json_number(v) for k, v in row.items()}
            for row in rec.history.learned_table().to_dict(orient="records")
        ],
    }
    if weeks is not None:
        doc["weeks"] = [
            {
                "date": w.date.isoformat(),
                "notes": [_note(n, w, lang) for n in w.notes],
                "capacity": w.capacity,
                "sites": w.sites.to_dict(orient="records"),
                "not_chosen": w.passed,
            }
            for w in weeks
        ]
    return doc


def _json_number(value):
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value

"""Seed 002's funnel, sales = N × K × F × C, from the leads: by district, consultant, source or event.

Seed 002 manages leads as a funnel (数字化营销): **N** showroom traffic,
**K** information retention (valid records / traffic), **F** follow-up rate
(followed / records), **C** close rate (deals / followed), and **P** the
shares of the buyer grades; sales = N × K × F × C. Worked example:
2,500 × 40 % × 50 % × 25 % = 125 sales (a doctest of :func:`funnel_sales`).
Raising N, K, P or F are the four levers.

How each figure is taken from a workspace (:func:`funnel`)
------------------------------------------------------------
The funnel follows a *cohort*: the leads registered in the period
(``--from``/``--to``, whole days; default: every lead), with what became of
them up to the data's last date.

- **N** = the visitors of the ``traffic.*`` file (展厅来店批次) over the
  period. It exists for the whole dealer, and per source when the traffic
  file has a source for every row; never per district, consultant or
  event (the showroom does not count visitors by them). Without a traffic
  file, or one that does not cover the period, N and K are *not computed*
  and the reason says why — never guessed, never shown as 100 %.
- **cards** (有效信息) = the leads registered in the period (a person's
  A-card and deposit card are one lead). **K** = cards / N.
- **followed** = leads followed *on cadence* (seed 001): won leads; lost
  leads that had a recorded contact (a lost lead never contacted was out of
  control, 失控); open leads with a contact and not overdue on the data's
  last date. **F** = followed / cards. Without any ``last_contact`` in the
  cards, F and C are not computed.
- **deals** = won leads; **C** = deals / followed.
- **P** = shares of the grades H/A/B/C among the cohort's graded leads.
- **sales** = deals. The sets are nested (deals ⊂ followed ⊂ cards), so
  N × K × F × C = sales whenever all four exist.

The levers, against the median row
----------------------------------
With ``by``, each row is compared with the dealer's *median row* (the
median of each indicator over the rows with at least
``settings.leads.median_min_leads`` leads; "unassigned"/"unknown" rows do
not set it). For each of the seed's levers N, K, P and F below the median,
``gains`` says how many more sales the row would make with that lever
raised to the median and the others unchanged:

- N, K, F: the product with that factor replaced;
- P: the grade mix changes the close rate; with the dealer's close rate of
  each grade ``c_g`` (won / leads of that grade), the row's C is scaled by
  Σ P_med,g c_g / Σ P_row,g c_g.

``best_lever`` is the lever adding the most; none when every lever is at
or above the median. C is reported in ``gains`` too (it is not one of the
seed's four levers: it moves through P and the consultants' skill).

The pyramid
-----------
Seed 002: every grade needs a multiple of the grade above (50 A → 150 B →
450 C → 1,350 D → 4,050 E). :func:`pyramid` starts from the H leads a
target of deals needs at the dealer's own H close rate and multiplies by
``settings.leads.pyramid_multiple`` (3) per grade, next to the open leads
of each grade today.

Examples
--------
>>> funnel_sales(2500, 0.40, 0.50, 0.25)
125.0
>>> pyramid_levels(50, multiple=3, levels=5)
[50.0, 150.0, 450.0, 1350.0, 4050.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.leads.followup import due_days
from territory.leads.lifecycle import lead_table, parse_day
from territory.settings import Settings
from territory.vocab import SOURCES, label

__all__ = [
    "BY",
    "GRADES",
    "INDICATORS",
    "LEVERS",
    "Funnel",
    "LeverPlan",
    "funnel",
    "funnel_json",
    "funnel_sales",
    "lever_to_target",
    "pyramid",
    "pyramid_levels",
]

#: Groupings of :func:`funnel`.
BY: tuple[str, ...] = ("district", "consultant", "source", "event")
#: The four factors of the product, in the seed's order (:func:`lever_to_target`).
INDICATORS: tuple[str, ...] = ("N", "K", "F", "C")
#: Seed 002's four levers (compared with the median row).
LEVERS: tuple[str, ...] = ("N", "K", "P", "F")
GRADES: tuple[str, ...] = ("H", "A", "B", "C")
#: A lever adding less than half a sale (raised to the median) is not named as the weakest.
MIN_GAIN = 0.5
#: Key of the row of leads without a district/consultant/source/event.
NONE_KEY = "\x00none"


@dataclass
class Funnel:
    """Seed 002's funnel for a cohort of leads, one row per key (see the module notes).

    ``rows``: ``key``, ``label``, ``special`` (the none row), ``N``,
    ``cards``, ``followed``, ``deals``, ``K``, ``F``, ``C``, ``p_h`` …
    ``p_c``, ``quality`` (the close rate the grade mix predicts), ``sales``,
    ``open``, ``lost``, ``missing`` (indicator → reason code),
    ``gains`` (lever → added sales), ``best_lever``.
    ``median``: the median row's indicators. ``close_by_grade``: the
    dealer's close rate per grade. ``notes``: what could not be computed,
    in words.
    """

    by: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    as_of: pd.Timestamp | None
    rows: pd.DataFrame
    median: dict[str, float | None] = field(default_factory=dict)
    close_by_grade: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lang: str = "zh"


def _followed(cohort: pd.DataFrame, as_of: pd.Timestamp | None, settings: Settings) -> np.ndarray:
    """Followed on cadence (module notes): won; lost with a contact; open, contacted, not overdue."""
    status = cohort["status"].to_numpy(dtype=object)
    contacted = pd.to_datetime(cohort["last_contact"]).notna().to_numpy()
    followed = (status == "won") | ((status == "lost") & contacted)
    if as_of is not None and len(cohort):
        open_now, _, overdue, _, never = due_days(cohort, day=as_of, settings=settings)
        followed |= (status == "open") & open_now & (overdue <= 0) & ~never
    return followed


def _keys(cohort: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=cohort.index, dtype=object)
    column = {
        "district": "district",
        "consultant": "consultant",
        "source": "source",
        "event": "event_id",
    }[by]
    values = cohort[column].astype(object)
    return values.where(values.notna(), NONE_KEY)


def _traffic_n(traffic, by, start, end, keys_order, lang) -> tuple[dict, str | None]:
    """N per key (or for "all"), or the reason it cannot be computed."""
    if traffic is None or len(traffic) == 0:
        return {}, "no_traffic"
    if by not in (None, "source"):
        return {}, "traffic_not_by"
    dates = pd.to_datetime(traffic["date"])
    first, last = dates.min(), dates.max()
    if start is not None and (first > start or last < end):
        return {}, "traffic_partial"
    inside = (
        (dates >= start) & (dates <= end)
        if start is not None
        else pd.Series(True, index=traffic.index)
    )
    visitors = pd.to_numeric(traffic["visitors"], errors="coerce").fillna(0)[inside.to_numpy()]
    if by is None:
        return {"all": float(visitors.sum())}, None
    source = traffic["source"].astype(object)[inside.to_numpy()]
    if source.isna().any():
        return {}, "traffic_no_source"
    sums = visitors.groupby(source.to_numpy()).sum()
    return {k: float(sums.get(k, 0.0)) for k in keys_order if k != NONE_KEY}, None


def _row_order(keys: pd.Series, by: str | None, team: tuple[str, ...], events) -> list:
    present = list(dict.fromkeys(keys.tolist()))
    regular = [k for k in present if k != NONE_KEY]
    if by == "consultant":
        first = [k for k in team if k in regular]
        regular = first + sorted(k for k in regular if k not in set(team))
    elif by == "source":
        regular = [k for k in SOURCES if k in regular] + sorted(
            k for k in regular if k not in SOURCES
        )
    elif by == "event":
        known = (
            []
            if events is None or len(events) == 0
            else list(events["event_id"].dropna().astype(str))
        )
        regular = [k for k in known if k in regular] + sorted(
            k for k in regular if k not in set(known)
        )
    elif by == "district":
        counts = keys.value_counts()
        regular = sorted(regular, key=lambda k: (-int(counts.get(k, 0)), str(k)))
    return regular + ([NONE_KEY] if NONE_KEY in present else [])


def _label(key, by: str | None, events, lang: str) -> str:
    if by is None:
        return t("funnel.all", lang)
    if key == NONE_KEY:
        return t(f"funnel.none.{by}", lang)
    if by == "source":
        return label(key, SOURCES, lang)
    if by == "event" and events is not None and len(events):
        match = events[events["event_id"].astype(object).eq(key)]
        if len(match):
            e = match.iloc[0]
            parts = [str(key)]
            if pd.notna(e.get("date")):
                parts.append(pd.Timestamp(e["date"]).date().isoformat())
            if isinstance(e.get("location"), str) and e["location"]:
                parts.append(e["location"])
            return " · ".join(parts)
    return str(key)


def funnel(
    ws=None,
    *,
    leads: pd.DataFrame | None = None,
    traffic: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    team: tuple[str, ...] = (),
    by: str | None = None,
    start=None,
    end=None,
    settings: Settings | None = None,
    lang: str = "zh",
) -> Funnel:
    """Seed 002's funnel of the leads registered from ``start`` to ``end``, per ``by``.

    Parameters
    ----------
    ws
        The loaded workspace; or give ``leads`` (a
        :func:`~territory.leads.lifecycle.lead_table`), ``traffic``,
        ``events`` and ``team`` yourself.
    by : {None, "district", "consultant", "source", "event"}
        One row per value; None: one row for the whole dealer (key ``all``).
    start, end
        Whole days, both included (default: every lead; the end of the
        data).
    lang
        Language of labels and notes.

    Raises
    ------
    ValueError
        If ``by`` is unknown, a date cannot be read or ``start`` is after ``end``.

    Examples
    --------
    >>> import pandas as pd
    >>> n = 1000
    >>> leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(n)],
    ...     "start": pd.Timestamp("2026-05-01"), "grade": "A", "consultant": "张伟",
    ...     "status": ["won"] * 125 + ["lost"] * 375 + ["open"] * 500,
    ...     "last_contact": [pd.Timestamp("2026-05-02")] * 500 + [pd.NaT] * 500,
    ...     "closed_date": pd.NaT, "source": "showroom", "event_id": None, "district": "甲区"})
    >>> traffic = pd.DataFrame({"date": pd.to_datetime(["2026-05-01", "2026-05-02"]),
    ...     "visitors": [2500, 0], "source": [None, None]})
    >>> row = funnel(leads=leads, traffic=traffic).rows.iloc[0]
    >>> [float(row[c]) for c in ("N", "K", "F", "C", "sales")]
    [2500.0, 0.4, 0.5, 0.25, 125.0]
    """
    lang = check_lang(lang)
    if by is not None and by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}; got {by!r}")
    if ws is not None:
        settings = settings or ws.settings
        leads = lead_table(ws.cards, settings=settings) if leads is None else leads
        traffic = ws.traffic if traffic is None else traffic
        events = ws.events if events is None else events
        team = tuple(ws.dealer.team.consultants)
    settings = settings or Settings()
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if first is not None and last is not None and first > last:
        raise ValueError(f"start {first.date()} is after end {last.date()}; swap them")
    lead_start = pd.to_datetime(leads["start"])
    stamps = [pd.to_datetime(leads[c]).max() for c in ("start", "last_contact", "closed_date")]
    stamps = [s for s in stamps if pd.notna(s)]
    as_of = max(stamps).normalize() if stamps else None
    period_start = (
        first if first is not None else (lead_start.min().normalize() if len(leads) else None)
    )
    period_end = last if last is not None else as_of
    if period_start is not None and period_end is not None and period_start > period_end:
        period_end = period_start
    if period_start is not None:
        inside = (lead_start >= period_start) & (lead_start < period_end + pd.Timedelta(days=1))
        cohort = leads if bool(inside.all()) else leads.loc[inside.to_numpy()]
    else:
        cohort = leads.iloc[0:0]
    followed = _followed(cohort, as_of, settings)
    keys = _keys(cohort, by)
    order = _row_order(keys, by, team, events) if by is not None else ["all"]
    grade_code = pd.Categorical(cohort["grade"], categories=list(GRADES)).codes  # -1: no grade
    status = cohort["status"].to_numpy(dtype=object)
    won = status == "won"
    frame = pd.DataFrame(
        {
            "key": keys.to_numpy(),
            "cards": 1,
            "followed": followed.astype(int),
            "deals": won.astype(int),
            "lost": (status == "lost").astype(int),
            "open": (status == "open").astype(int),
            **{f"g_{g.lower()}": (grade_code == i).astype(int) for i, g in enumerate(GRADES)},
        }
    )
    sums = frame.groupby("key", sort=False).sum().reindex(order, fill_value=0)

    has_contacts = bool(pd.to_datetime(leads["last_contact"]).notna().any())
    has_outcomes = bool(leads["status"].astype(object).isin(("won", "lost")).any())
    has_grades = bool(leads["grade"].notna().any())
    n_by_key, n_reason = _traffic_n(traffic, by, period_start, period_end, order, lang)
    if n_reason is None and period_start is None:
        n_reason = "no_cards"

    close_by_grade: dict[str, float | None] = {}
    for i, g in enumerate(GRADES):
        of_g = grade_code == i
        close_by_grade[g] = float(won[of_g].mean()) if of_g.any() else None

    records = []
    for key in order:
        r = sums.loc[key]
        cards, fol, deals = int(r["cards"]), int(r["followed"]), int(r["deals"])
        graded = int(sum(r[f"g_{g.lower()}"] for g in GRADES))
        missing: dict[str, str] = {}
        n = n_by_key.get(key) if key != NONE_KEY else None
        if n_reason is not None:
            missing["N"] = missing["K"] = n_reason
        elif n is None:
            missing["N"] = missing["K"] = "traffic_not_by"
        k = cards / n if n is not None and n > 0 else None
        if n is not None and n == 0:
            missing["K"] = "zero_traffic"
        f = c = None
        if not has_contacts:
            missing["F"] = missing["C"] = "no_contacts"
        elif cards == 0:
            missing["F"] = missing["C"] = "no_leads"
        else:
            f = fol / cards
            if not has_outcomes:
                missing["C"] = "no_outcomes"
            elif fol == 0:
                missing["C"] = "none_followed"
            else:
                c = deals / fol
        shares = {g: None for g in GRADES}
        quality = None
        if not has_grades:
            missing["P"] = "no_grades"
        elif graded == 0:
            missing["P"] = "no_leads" if cards == 0 else "row_no_grades"
        else:
            shares = {g: int(r[f"g_{g.lower()}"]) / graded for g in GRADES}
            known = [g for g in GRADES if close_by_grade[g] is not None]
            if known:
                quality = sum(shares[g] * close_by_grade[g] for g in known)
        records.append(
            {
                "key": key,
                "label": _label(key, by, events, lang),
                "special": key == NONE_KEY,
                "N": n,
                "cards": cards,
                "followed": fol,
                "deals": deals,
                "open": int(r["open"]),
                "lost": int(r["lost"]),
                "K": k,
                "F": f,
                "C": c,
                **{f"p_{g.lower()}": shares[g] for g in GRADES},
                "quality": quality,
                "sales": deals,
                "missing": missing,
            }
        )
    rows = pd.DataFrame.from_records(records) if records else _empty_rows()
    median = _median(rows, settings) if by is not None else {}
    _gains(rows, median, by)
    notes = _notes(rows, n_reason, traffic, period_start, period_end, by, lang)
    if len(rows):
        over = [r.label for r in rows.itertuples(index=False) if r.K is not None and r.K > 1.0]
        if over:
            notes.append(
                t(
                    "funnel.note.k_over_one",
                    lang,
                    rows="、".join(over) if lang == "zh" else ", ".join(over),
                )
            )
    return Funnel(
        by=by,
        start=period_start,
        end=period_end,
        as_of=as_of,
        rows=rows,
        median=median,
        close_by_grade=close_by_grade,
        notes=notes,
        lang=lang,
    )


def _empty_rows() -> pd.DataFrame:
    columns = [
        "key",
        "label",
        "special",
        "N",
        "cards",
        "followed",
        "deals",
        "open",
        "lost",
        "K",
        "F",
        "C",
    ]
    columns += [f"p_{g.lower()}" for g in GRADES] + ["quality", "sales", "missing"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _median(rows: pd.DataFrame, settings: Settings) -> dict[str, float | None]:
    eligible = rows[
        ~rows["special"].astype(bool) & (rows["cards"] >= settings.leads.median_min_leads)
    ]
    out: dict[str, float | None] = {}
    for name in ("N", "K", "F", "C", "quality"):
        values = pd.to_numeric(eligible[name], errors="coerce").dropna()
        out[name] = float(values.median()) if len(values) else None
    out["rows"] = len(eligible)
    return out


def _gains(rows: pd.DataFrame, median: dict, by: str | None) -> None:
    gains_list, best_list = [], []
    for r in rows.itertuples(index=False):
        gains: dict[str, float | None] = dict.fromkeys((*LEVERS, "C"))
        if by is not None and median:
            n, k, f, c, q = r.N, r.K, r.F, r.C, r.quality

            def known(*values) -> bool:
                return all(
                    v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values
                )

            med = median
            if known(n, k, f, c, med.get("N")):
                gains["N"] = max(med["N"] - n, 0.0) * k * f * c
            if known(n, k, f, c, med.get("K")):
                gains["K"] = n * max(med["K"] - k, 0.0) * f * c
            if known(f, c, med.get("F")):
                gains["F"] = r.cards * max(med["F"] - f, 0.0) * c
            if known(f, c, q, med.get("quality")) and q > 0:
                gains["P"] = r.cards * f * c * max(med["quality"] / q - 1.0, 0.0)
            if known(f, c, med.get("C")):
                gains["C"] = r.cards * f * max(med["C"] - c, 0.0)
        candidates = [
            (gains[lever], lever)
            for lever in LEVERS
            if gains[lever] is not None and gains[lever] >= MIN_GAIN
        ]
        best = max(candidates, key=lambda gl: gl[0])[1] if candidates else None
        gains_list.append(gains)
        best_list.append(best)
    rows["gains"] = pd.Series(gains_list, dtype=object)
    rows["best_lever"] = pd.Series(best_list, dtype=object)


def _notes(rows, n_reason, traffic, start, end, by, lang) -> list[str]:
    notes = []
    fields = {
        "by": t(f"funnel.by.{by}", lang) if by else "",
        "start": "",
        "end": "",
        "first": "",
        "last": "",
    }
    if start is not None:
        fields.update(start=start.date().isoformat(), end=end.date().isoformat())
    if traffic is not None and len(traffic):
        dates = pd.to_datetime(traffic["date"])
        fields.update(first=dates.min().date().isoformat(), last=dates.max().date().isoformat())
    if n_reason is not None:
        notes.append(t(f"funnel.missing.{n_reason}", lang, **fields))
    seen = {n_reason}
    for missing in rows["missing"] if len(rows) else []:
        for reason in missing.values():
            if reason in seen or reason in (
                "no_leads",
                "zero_traffic",
                "none_followed",
                "row_no_grades",
            ):
                continue
            seen.add(reason)
            notes.append(t(f"funnel.missing.{reason}", lang, **fields))
    return notes


# ----------------------------------------------------------------------------- the pyramid


def pyramid_levels(top: float, *, multiple: float = 3.0, levels: int = 4) -> list[float]:
    """Seed 002's pyramid: ``top`` at the top, each level below ``multiple`` times the one above.

    >>> pyramid_levels(50, multiple=3, levels=5)
    [50.0, 150.0, 450.0, 1350.0, 4050.0]
    """
    if not (math.isfinite(top) and top >= 0):
        raise ValueError(f"the top of the pyramid must be a number ≥ 0; got {top!r}")
    if not (math.isfinite(multiple) and multiple >= 1):
        raise ValueError(f"the multiple must be a number ≥ 1 (the seed uses 3); got {multiple!r}")
    return [float(top) * multiple**i for i in range(int(levels))]


def pyramid(
    target: float,
    *,
    close_rate_h: float | None,
    have: dict[str, int] | None = None,
    multiple: float = 3.0,
) -> pd.DataFrame:
    """The leads of each grade that ``target`` deals need, next to those open today.

    The H leads needed are ``ceil(target / close_rate_h)`` (the dealer's H
    close rate; one H lead per deal when unknown, ``attrs["assumed"]``);
    each grade below needs ``multiple`` times the grade above (seed 002).

    Examples
    --------
    >>> p = pyramid(30, close_rate_h=0.5, have={"H": 40, "A": 100, "B": 200, "C": 800})
    >>> p[["grade", "needed", "have", "shortfall"]].values.tolist()
    [['H', 60, 40, 20], ['A', 180, 100, 80], ['B', 540, 200, 340], ['C', 1620, 800, 820]]
    """
    if not (math.isfinite(float(target)) and target >= 0):
        raise ValueError(f"the target must be a number of deals ≥ 0; got {target!r}")
    assumed = close_rate_h is None or not close_rate_h > 0
    top = math.ceil(target if assumed else target / close_rate_h - 1e-9)
    levels = pyramid_levels(top, multiple=multiple, levels=len(GRADES))
    have = have or {}
    needed = [math.ceil(v - 1e-9) for v in levels]
    out = pd.DataFrame(
        {
            "grade": list(GRADES),
            "needed": needed,
            "have": [int(have.get(g, 0)) for g in GRADES],
        }
    )
    out["shortfall"] = (out["needed"] - out["have"]).clip(lower=0)
    out.attrs.update(
        {"target": target, "close_rate_h": close_rate_h, "assumed": assumed, "multiple": multiple}
    )
    return out


def funnel_pyramid(
    result: Funnel,
    leads: pd.DataFrame,
    *,
    target: float | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """:func:`pyramid` for a funnel: the leads open today against what a month's target needs.

    ``target`` defaults to the funnel's deals per 30 days of its period
    (a month at the current pace, rounded up); ``have`` counts the leads
    open today by grade.
    """
    settings = settings or Settings()
    if target is None:
        deals = float(result.rows["deals"].sum()) if len(result.rows) else 0.0
        days = (result.end - result.start).days + 1 if result.start is not None else 30
        target = float(math.ceil(deals * 30.0 / max(days, 1) - 1e-9))
    open_now = leads[leads["status"].astype(object).eq("open").to_numpy()]
    have = open_now["grade"].value_counts().to_dict()
    return pyramid(
        target,
        close_rate_h=result.close_by_grade.get("H"),
        have={g: int(have.get(g, 0)) for g in GRADES},
        multiple=settings.leads.pyramid_multiple,
    )


# ----------------------------------------------------------------------------- JSON


def _plain(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def funnel_json(result: Funnel, *, pyramid_table: pd.DataFrame | None = None) -> dict:
    """The contract's funnel document: ``{"by", "rows": [{"key", "N", "K", "F", "C", "P", "sales"}]}`` and more.

    Figures that cannot be computed are ``null`` and ``missing`` names the
    reason (``notes`` says it in words).
    """
    rows = []
    for r in result.rows.itertuples(index=False):
        rows.append(
            {
                "key": None if r.key == NONE_KEY else r.key,
                "label": r.label,
                "N": _plain(r.N),
                "K": _plain(r.K),
                "F": _plain(r.F),
                "C": _plain(r.C),
                "P": {g: _plain(getattr(r, f"p_{g.lower()}")) for g in GRADES},
                "sales": int(r.sales),
                "cards": int(r.cards),
                "followed": int(r.followed),
                "deals": int(r.deals),
                "open": int(r.open),
                "lost": int(r.lost),
                "quality": _plain(r.quality),
                "missing": dict(r.missing),
                "gains": {k: _plain(v) for k, v in r.gains.items()},
                "best_lever": r.best_lever,
            }
        )
    doc = {
        "by": result.by or "all",
        "from": None if result.start is None else result.start.date().isoformat(),
        "to": None if result.end is None else result.end.date().isoformat(),
        "as_of": None if result.as_of is None else result.as_of.date().isoformat(),
        "rows": rows,
        "median": {k: _plain(v) for k, v in result.median.items()},
        "close_by_grade": {k: _plain(v) for k, v in result.close_by_grade.items()},
        "notes": list(result.notes),
    }
    if pyramid_table is not None:
        doc["pyramid"] = {
            "target": _plain(pyramid_table.attrs.get("target")),
            "close_rate_h": _plain(pyramid_table.attrs.get("close_rate_h")),
            "assumed": bool(pyramid_table.attrs.get("assumed")),
            "multiple": _plain(pyramid_table.attrs.get("multiple")),
            "levels": [
                {"grade": g, "needed": int(n), "have": int(h), "shortfall": int(s)}
                for g, n, h, s in pyramid_table[
                    ["grade", "needed", "have", "shortfall"]
                ].itertuples(index=False)
            ],
        }
    return doc


def lever_text(row, median: dict, lang: str = "zh") -> str:
    """One sentence: the row's weakest lever against the median row, and what raising it would add."""
    lang = check_lang(lang)
    lever = row["best_lever"] if isinstance(row, dict) else row.best_lever
    if not median.get("rows"):
        return t("funnel.lever.no_median", lang)
    if lever is None:
        return t("funnel.lever.at_median", lang)
    value = (
        row["quality" if lever == "P" else lever]
        if isinstance(row, dict)
        else getattr(row, "quality" if lever == "P" else lever)
    )
    target = median.get("quality" if lever == "P" else lever)
    gains = row["gains"] if isinstance(row, dict) else row.gains
    fmt = (lambda v: f"{v:,.0f}") if lever == "N" else (lambda v: f"{v * 100:.0f}%")
    return t(
        "funnel.lever.to_median",
        lang,
        lever=lever,
        lever_label=t(f"funnel.lever_name.{lever}", lang),
        current=fmt(value),
        median=fmt(target),
        gain=f"{gains[lever]:.1f}",
    )


# ----------------------------------------------------------------------------- the product, its example, a target


def _check_funnel(n: float, k: float, f: float, c: float) -> None:
    if not (math.isfinite(n) and n >= 0):
        raise ValueError(f"N (showroom traffic) must be a number ≥ 0; got {n!r}")
    for name, value in (("K", k), ("F", f), ("C", c)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(
                f"{name} must be a rate between 0 and 1 (e.g. 0.4 for 40%); got {value!r}"
            )


def funnel_sales(n: float, k: float, f: float, c: float) -> float:
    """Sales = N × K × F × C (seed 002).

    Raises
    ------
    ValueError
        If N is negative or a rate is outside 0..1 (e.g. 40 instead of 0.4).

    Examples
    --------
    >>> funnel_sales(2500, 0.4, 0.5, 0.25)
    125.0
    """
    n, k, f, c = float(n), float(k), float(f), float(c)
    _check_funnel(n, k, f, c)
    return n * k * f * c


@dataclass(frozen=True)
class LeverPlan:
    """How each lever alone would reach a sales target, and the easiest one.

    Attributes
    ----------
    sales : float
        N × K × F × C today.
    target : float
        The sales target.
    best : str or None
        The feasible lever with the least effort; None when the target is
        already met or no single lever can reach it.
    levers : DataFrame
        Index ``N``, ``K``, ``F``, ``C``; columns ``current``, ``needed``
        (the value reaching the target with the others unchanged),
        ``change`` (needed − current), ``relative_change`` (needed / current
        − 1), ``effort`` (see the module notes) and ``feasible``.
    """

    sales: float
    target: float
    best: str | None
    levers: pd.DataFrame

    def message(self, lang: str = "zh") -> str:
        """One sentence saying which lever to pull and by how much.

        Examples
        --------
        >>> print(lever_to_target(2500, 0.4, 0.5, 0.25, 150).message("en"))
        To reach 150 sales (now 125): the easiest lever is C (close rate), from 25.0% to 30.0%, winning back 6.7% of those now lost at that stage.
        """
        lang = check_lang(lang)
        fields = {"target": _num(self.target), "sales": _num(self.sales)}
        if self.target <= self.sales:
            return t("funnel.lever.met", lang, **fields)
        if self.best is None:
            return t("funnel.lever.none", lang, **fields)
        row = self.levers.loc[self.best]
        fmt = _num if self.best == "N" else _rate
        return t(
            "funnel.lever.best_n" if self.best == "N" else "funnel.lever.best_rate",
            lang,
            **fields,
            lever=self.best,
            lever_label=t(f"funnel.lever_name.{self.best}", lang),
            current=fmt(row["current"]),
            needed=fmt(row["needed"]),
            effort=f"{row['effort'] * 100:.1f}%",
        )


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _rate(value: float) -> str:
    return f"{value * 100:.1f}%"


def lever_to_target(n: float, k: float, f: float, c: float, target: float) -> LeverPlan:
    """Which single lever (N, K, F or C) reaches ``target`` sales with the least effort.

    Parameters
    ----------
    n : float
        Showroom traffic (≥ 0).
    k, f, c : float
        Retention, follow-up and close rates (0..1).
    target : float
        Sales target (≥ 0).

    Returns
    -------
    LeverPlan
        Every lever's needed value alone, and ``best``: the feasible lever
        with the least effort (ties go to the first in N, K, F, C order).

    Raises
    ------
    ValueError
        If a value is out of range.

    Examples
    --------
    >>> plan = lever_to_target(2500, 0.40, 0.50, 0.25, 150)
    >>> plan.levers["needed"].round(3).tolist()
    [3000.0, 0.48, 0.6, 0.3]
    >>> plan.best
    'C'
    """
    n, k, f, c, target = float(n), float(k), float(f), float(c), float(target)
    _check_funnel(n, k, f, c)
    if not (math.isfinite(target) and target >= 0):
        raise ValueError(f"target must be a number of sales ≥ 0; got {target!r}")
    current = {"N": n, "K": k, "F": f, "C": c}
    sales = n * k * f * c
    rows = []
    for lever in INDICATORS:
        others = math.prod(v for name, v in current.items() if name != lever)
        now = current[lever]
        if target <= sales:
            needed = now
        elif others > 0:
            needed = target / others
        else:
            needed = math.nan
        feasible = math.isfinite(needed) and (lever == "N" or needed <= 1.0)
        change = needed - now
        relative = (needed / now - 1.0) if now > 0 else (0.0 if change == 0 else math.inf)
        if not math.isfinite(needed):
            relative = math.nan
        if lever == "N":
            effort = relative
        elif now < 1.0:
            effort = change / (1.0 - now)
        else:
            effort = 0.0 if change == 0 else math.inf
        rows.append(
            {
                "current": now,
                "needed": needed,
                "change": change,
                "relative_change": relative,
                "effort": effort,
                "feasible": feasible,
            }
        )
    levers = pd.DataFrame(rows, index=pd.Index(INDICATORS, name="lever"))
    best = None
    if target > sales:
        candidates = levers[levers["feasible"]]
        if len(candidates):
            best = str(candidates["effort"].idxmin())
    return LeverPlan(sales=sales, target=target, best=best, levers=levers)

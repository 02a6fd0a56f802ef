"""A-card vs deposit-card coverage by district, and where the weak link is (seed 004).

Dealers divide their map into districts and count, per district, A-cards
(showroom visitors registered, 到店登记) and deposit cards (C卡, 交订金).
:func:`coverage_table` counts them with population and existing customers,
compares each district with the dealer's own median district and names the
weak link:

``awareness_gap``
    few A-cards for the population: people there do not come to the showroom
    → go out there (outreach).
``follow_up_gap``
    A-cards that do not turn into deposits → the sales manager's follow-up
    cadence (seed 001: first contact the next day, then H every 2 days,
    A every 3, B every 7, C every 15).
``balanced``
    no gap that the data can show.
``no_data``
    no population, or no card at all in the period (and the unlocated row).

The statistical rule
--------------------
The yardstick is the median district (or zone) among those with population
and at least one card: the median of A-cards per 10,000 people, and the
median deposit rate among those with A-cards. With ``c = settings.coverage``,
a gap is called only when the one-sided upper confidence bound (level
``c.confidence``) of the district's rate is below ``c.gap_ratio`` × the
yardstick:

- A-cards per 10,000 people: exact Poisson (Garwood) bound
  ``gamma.ppf(confidence, a + 1) / (population / 10,000)``;
- deposit rate: exact binomial (Clopper–Pearson) bound
  ``beta.ppf(confidence, d + 1, a - d)`` with ``d`` capped at ``a`` (a
  deposit card need not come from an A-card of the same period).

Each bound is equivalent to an exact one-sided test of "the rate is at least
gap_ratio × yardstick"; its p-value is in ``awareness_p`` / ``follow_up_p``
and ``confidence`` = 1 − p of the gap reported. So 4 A-cards with no deposit
are not condemned: with a median deposit rate of 20 %, P(0 of 4 | 12 %) =
0.60, far from significant. When both gaps are called, ``diagnosis`` is the
more certain one (smaller p-value; a tie goes to ``follow_up_gap``, the
cheaper fix), ``gaps`` lists both and the action names both.

Periods
-------
Without ``start``/``end`` the table counts every card and the
previous-period columns are NA (a stable schema). With a range (whole days,
both ends included; a missing end is taken from the cards' dates), the
previous period has the same number of days and ends the day before
``start``; ``table.attrs["previous_complete"]`` says whether the cards reach
back far enough to cover it. Customers are a stock (保有客户), counted
whatever their purchase date.

Examples
--------
>>> import pandas as pd
>>> zones = pd.DataFrame({"zone_id": ["z1", "z2"], "name": ["东", "西"],
...                       "district": ["甲区", "乙区"], "population": [10_000, 20_000]})
>>> cards = pd.DataFrame({"zone_id": ["z1", "z1", "z2", None], "district": ["甲区", "甲区", "乙区", None],
...                       "card_type": ["A", "deposit", "A", "A"],
...                       "date": pd.to_datetime(["2024-05-01"] * 4)})
>>> table = coverage_table(zones, None, cards)
>>> table["label"].tolist(), table["a_cards"].tolist(), table["deposit_rate"].tolist()
(['甲区', '乙区', '未定位'], [1, 1, 1], [1.0, 0.0, 0.0])
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.leads._grouping import (
    NO_DISTRICT,
    DateLike,
    Period,
    check_by,
    in_period,
    ordered_keys,
    point_keys,
    resolve_period,
    row_frame,
    zone_keys,
)
from territory.privacy import PHONE_PATTERN, neutralise, round_floats
from territory.settings import CoverageSettings, Settings

__all__ = [
    "DIAGNOSES",
    "EXPORT_COLUMNS",
    "bar_chart_data",
    "choropleth_frames",
    "coverage_json",
    "coverage_table",
    "export_coverage",
]

#: Diagnosis codes, as printed in JSON.
DIAGNOSES: tuple[str, ...] = ("awareness_gap", "follow_up_gap", "balanced", "no_data")

#: Grades whose open A-cards are counted for the follow-up action (seed 001).
_GRADES: tuple[str, ...] = ("H", "A", "B", "C")
_PER = 10_000.0

#: Columns written by :func:`export_coverage`, in order (identity columns first).
EXPORT_COLUMNS: tuple[str, ...] = (
    "population",
    "customers",
    "a_cards",
    "deposit_cards",
    "deposit_rate",
    "a_cards_per_10k",
    "deposit_cards_per_10k",
    "customer_share",
    "a_share",
    "deposit_share",
    "a_cards_prev",
    "deposit_cards_prev",
    "a_cards_change",
    "deposit_cards_change",
    "a_cards_change_pct",
    "deposit_cards_change_pct",
    "diagnosis_label",
    "diagnosis",
    "confidence",
    "a_cards_per_10k_upper",
    "deposit_rate_upper",
    "reason",
    "action",
)
_IDENTITY = {"district": ("label",), "zone": ("zone_id", "label", "district")}
_RATE_COLUMNS = (
    "deposit_rate",
    "customer_share",
    "a_share",
    "deposit_share",
    "a_cards_change_pct",
    "deposit_cards_change_pct",
    "confidence",
    "deposit_rate_upper",
)
#: Columns a coverage table may never carry (personal data).
_FORBIDDEN = ("phone", "address", "customer_id", "card_id", "age", "gender", "occupation")


def coverage_table(
    zones: pd.DataFrame,
    customers: pd.DataFrame | None,
    cards: pd.DataFrame | None,
    *,
    by: str = "district",
    start: DateLike = None,
    end: DateLike = None,
    settings: Settings | None = None,
    lang: str = "zh",
    market: Collection[str] | None = None,
) -> pd.DataFrame:
    """A-cards vs deposit cards per district (or zone), with the diagnosis of the weak link.

    Parameters
    ----------
    zones : DataFrame or GeoDataFrame
        ``zone_id``, ``population`` and (for ``by="district"``) ``district``;
        ``name`` is used as the zone label.
    customers, cards : DataFrame or None
        Located points with ``zone_id`` and/or ``district`` (NA when
        unlocated). ``cards`` needs ``card_type`` (``"A"``/``"deposit"``) and
        ``date``; ``grade`` and ``status`` are used when present.
    by : {"district", "zone"}
        One row per district, or per zone.
    start, end : date-like, optional
        Whole days, both included. See the module notes for the defaults.
    settings : Settings, optional
        ``settings.coverage`` holds ``confidence``, ``gap_ratio`` and the
        follow-up cadence.
    lang : {"zh", "en"}
        Language of ``label``, ``reason`` and ``action``.
    market : collection of str, optional
        The districts (or zone ids) that make up the dealer's market, e.g.
        those reaching into the influence area. Only they set the
        yardstick, and only they can be called an ``awareness_gap`` (a far
        county is expected to bring few showroom visitors); every row can
        still be a ``follow_up_gap``. ``in_market`` marks them. None: every
        row is in the market.

    Returns
    -------
    DataFrame
        One row per district (in the zones' order), then districts known
        only from points, then "no district" and "unlocated" rows when any
        point falls there. Columns: identity (``district``, or ``zone_id``,
        ``name``, ``district``), ``unlocated``, ``label``, ``population``,
        ``customers``, ``a_cards``, ``deposit_cards``, ``deposit_rate``,
        ``a_cards_per_10k``, ``deposit_cards_per_10k``, ``customer_share``,
        ``a_share``, ``deposit_share``, ``a_cards_prev``,
        ``deposit_cards_prev``, ``a_cards_change``, ``deposit_cards_change``,
        ``a_cards_change_pct``, ``deposit_cards_change_pct``, ``open_h``,
        ``open_a``, ``open_b``, ``open_c`` (open A-cards by grade),
        ``a_cards_per_10k_upper``, ``deposit_rate_upper``, ``awareness_p``,
        ``follow_up_p``, ``diagnosis``, ``gaps`` (tuple of gap codes),
        ``confidence``, ``reason``, ``action``. ``attrs`` holds ``by``,
        ``lang``, the period, the yardsticks and the settings used.

    Raises
    ------
    ValueError
        If ``by`` or a date is invalid, ``start`` is after ``end``, or the
        coverage settings are out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> zones = pd.DataFrame({"zone_id": ["z1"], "district": ["甲区"], "population": [5_000]})
    >>> cards = pd.DataFrame({"zone_id": ["z1"] * 3, "card_type": ["A", "A", "deposit"],
    ...                       "date": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-04-02"])})
    >>> row = coverage_table(zones, None, cards, start="2024-04-01", end="2024-04-30").iloc[0]
    >>> int(row.a_cards), int(row.a_cards_prev), float(row.a_cards_per_10k), row.diagnosis
    (1, 0, 2.0, 'balanced')
    """
    check_by(by)
    lang = check_lang(lang)
    cs = (settings or Settings()).coverage
    _check_settings(cs)

    dates = cards["date"] if cards is not None and "date" in cards.columns else None
    period = resolve_period(dates, start, end)
    cust_keys = point_keys(customers, zones, by)
    card_keys = point_keys(cards, zones, by)
    is_a, is_d, now, before = _card_masks(cards, dates, period)
    keys = ordered_keys(zones, by, cust_keys, card_keys[now | before])

    table = row_frame(zones, keys, by, lang)
    population = (
        pd.to_numeric(zones["population"], errors="coerce").groupby(zone_keys(zones, by)).sum()
    )
    table["population"] = pd.array(
        [population.get(k) if k in population.index else None for k in keys], dtype="Int64"
    )
    table["customers"] = _count(cust_keys, np.ones(len(cust_keys), dtype=bool), keys)
    table["a_cards"] = _count(card_keys, is_a & now, keys)
    table["deposit_cards"] = _count(card_keys, is_d & now, keys)
    pop = table["population"].astype("float64").to_numpy(na_value=np.nan)
    a = table["a_cards"].to_numpy(dtype="float64")
    d = table["deposit_cards"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        table["deposit_rate"] = np.where(a > 0, d / a, np.nan)
        table["a_cards_per_10k"] = np.where(pop > 0, a / pop * _PER, np.nan)
        table["deposit_cards_per_10k"] = np.where(pop > 0, d / pop * _PER, np.nan)
    for col, share in (("customers", "customer_share"), ("a_cards", "a_share")):
        table[share] = _share(table[col])
    table["deposit_share"] = _share(table["deposit_cards"])

    _previous(table, card_keys, is_a, is_d, before, keys, given=period.given)
    _open_by_grade(table, cards, card_keys, is_a & now, keys)
    identity = table["zone_id"] if by == "zone" else table["district"]
    table["in_market"] = (
        identity.isin(set(market)).to_numpy()
        if market is not None
        else np.ones(len(table), dtype=bool)
    ) & ~table["unlocated"].to_numpy(dtype=bool)
    _diagnose(table, cs)
    _texts(table, cs, lang)

    table.attrs.update(
        {
            "by": by,
            "lang": lang,
            "start": _iso(period.start),
            "end": _iso(period.end),
            "previous_start": _iso(period.prev_start),
            "previous_end": _iso(period.prev_end),
            "previous_complete": _previous_complete(dates, period),
            "confidence_level": cs.confidence,
            "gap_ratio": cs.gap_ratio,
        }
    )
    return table


def _card_masks(cards: pd.DataFrame | None, dates: pd.Series | None, period: Period):
    """A-card, deposit-card, this-period and previous-period masks over ``cards``."""
    size = 0 if cards is None else len(cards)
    none = np.zeros(size, dtype=bool)
    if size == 0:
        return none, none, none, none
    card_type = cards["card_type"].astype(object)
    is_a = card_type.isin(("A",)).to_numpy(dtype=bool)
    is_d = card_type.isin(("deposit",)).to_numpy(dtype=bool)
    if dates is None:
        return is_a, is_d, np.ones(size, dtype=bool), none
    now = in_period(dates, period.start, period.end)
    before = in_period(dates, period.prev_start, period.prev_end) if period.given else none
    return is_a, is_d, now, before


def _check_settings(cs: CoverageSettings) -> None:
    if not 0.0 < cs.confidence < 1.0:
        raise ValueError(
            f"settings.coverage.confidence must be between 0 and 1 (e.g. 0.9); got {cs.confidence}"
        )
    if not cs.gap_ratio > 0.0:
        raise ValueError(
            f"settings.coverage.gap_ratio must be above 0 (e.g. 0.6); got {cs.gap_ratio}"
        )


def _iso(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else stamp.date().isoformat()


def _previous_complete(dates: pd.Series | None, period: Period) -> bool | None:
    if not period.given:
        return None
    if dates is None or dates.dropna().empty:
        return False
    return bool(dates.dropna().min() <= period.prev_start)


def _count(keys: pd.Series, mask: np.ndarray, order: list[str]) -> pd.Series:
    if len(keys) == 0:
        return pd.Series(np.zeros(len(order), dtype="int64"))
    counts = keys[mask].value_counts()
    return pd.Series([int(counts.get(k, 0)) for k in order], dtype="int64")


def _share(counts: pd.Series) -> pd.Series:
    total = counts.sum()
    if total <= 0:
        return pd.Series(np.full(len(counts), np.nan))
    return counts / total


def _previous(table, card_keys, is_a, is_d, before, keys, *, given: bool) -> None:
    if not given:
        for col in (
            "a_cards_prev",
            "deposit_cards_prev",
            "a_cards_change",
            "deposit_cards_change",
        ):
            table[col] = pd.array([None] * len(table), dtype="Int64")
        table["a_cards_change_pct"] = np.nan
        table["deposit_cards_change_pct"] = np.nan
        return
    for kind, mask in (("a_cards", is_a), ("deposit_cards", is_d)):
        prev = _count(card_keys, mask & before, keys)
        table[f"{kind}_prev"] = prev.astype("Int64")
        change = table[kind] - prev
        table[f"{kind}_change"] = change.astype("Int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"{kind}_change_pct"] = np.where(prev > 0, change / prev.where(prev > 0), np.nan)


def _open_by_grade(table, cards, card_keys, mask, keys) -> None:
    """Count the A-cards still in play (status open or unknown) by grade."""
    for grade in _GRADES:
        col = f"open_{grade.lower()}"
        if cards is None or len(cards) == 0 or "grade" not in cards.columns:
            table[col] = 0
            continue
        grade_ok = cards["grade"].astype(object).isin((grade,)).to_numpy(dtype=bool)
        if "status" in cards.columns:
            status = cards["status"].astype(object)
            in_play = (status.isna() | status.isin(("open",))).to_numpy(dtype=bool)
        else:
            in_play = np.ones(len(cards), dtype=bool)
        table[col] = _count(card_keys, mask & grade_ok & in_play, keys)


def _diagnose(table: pd.DataFrame, cs: CoverageSettings) -> None:
    """Yardsticks, bounds, p-values and the diagnosis (see the module notes)."""
    # scipy.stats takes about a second to import: here, when a coverage table is made, not when
    # the app starts and reads a kept one.
    from scipy import stats

    conf, ratio = cs.confidence, cs.gap_ratio
    pop = table["population"].astype("float64").to_numpy(na_value=np.nan)
    a = table["a_cards"].to_numpy(dtype="float64")
    d = table["deposit_cards"].to_numpy(dtype="float64")
    unlocated = table["unlocated"].to_numpy(dtype=bool)
    has_pop = np.nan_to_num(pop, nan=0.0) > 0
    eligible = has_pop & ((a + d) > 0) & ~unlocated
    in_market = table["in_market"].to_numpy(dtype=bool)
    yard = eligible & in_market

    rate = table["a_cards_per_10k"].to_numpy(dtype="float64")
    a_yard = float(np.median(rate[yard])) if yard.any() else np.nan
    with_a = eligible & (a > 0)
    yard_a = yard & (a > 0)
    d_yard = float(np.median((d / np.where(a > 0, a, 1))[yard_a])) if yard_a.any() else np.nan

    n = len(table)
    a_upper, a_p = np.full(n, np.nan), np.full(n, np.nan)
    exposure = pop[has_pop] / _PER
    a_upper[has_pop] = stats.gamma.ppf(conf, a[has_pop] + 1) / exposure
    a_threshold = ratio * a_yard
    if np.isfinite(a_threshold):
        a_p[eligible] = stats.poisson.cdf(a[eligible], a_threshold * pop[eligible] / _PER)

    d_capped = np.minimum(d, a)
    d_threshold = min(ratio * d_yard, 1.0) if np.isfinite(d_yard) else np.nan
    d_upper, d_p = np.full(n, np.nan), np.full(n, np.nan)
    some = a > 0
    d_upper[some] = 1.0
    below = some & (d_capped < a)
    d_upper[below] = stats.beta.ppf(conf, d_capped[below] + 1, a[below] - d_capped[below])
    if np.isfinite(d_threshold):
        d_p[with_a] = stats.binom.cdf(d_capped[with_a], a[with_a], d_threshold)

    alpha = 1.0 - conf
    aware = eligible & in_market & (a_p < alpha)
    follow = with_a & (d_p < alpha)
    diagnosis, gaps, confidence = [], [], []
    for i in range(len(table)):
        if not eligible[i]:
            diagnosis.append("no_data")
            gaps.append(())
            confidence.append(np.nan)
            continue
        found = [
            (p, code)
            for p, code, hit in (
                (d_p[i], "follow_up_gap", follow[i]),
                (a_p[i], "awareness_gap", aware[i]),
            )
            if hit
        ]
        if not found:
            diagnosis.append("balanced")
            gaps.append(())
            confidence.append(np.nan)
            continue
        found.sort(key=lambda pc: pc[0])  # stable: a tie keeps follow_up_gap first
        diagnosis.append(found[0][1])
        gaps.append(tuple(code for _, code in found))
        confidence.append(1.0 - float(found[0][0]))

    table["a_cards_per_10k_upper"] = a_upper
    table["deposit_rate_upper"] = d_upper
    table["awareness_p"] = a_p
    table["follow_up_p"] = d_p
    table["diagnosis"] = pd.Series(diagnosis, dtype=object)
    table["gaps"] = pd.Series(gaps, dtype=object)
    table["confidence"] = np.asarray(confidence, dtype="float64")
    table.attrs["yardstick_a_cards_per_10k"] = a_yard
    table.attrs["yardstick_deposit_rate"] = d_yard


def _fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _pct(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.0f}%"


def _texts(table: pd.DataFrame, cs: CoverageSettings, lang: str) -> None:
    """The localised ``diagnosis_label``, ``reason`` and ``action`` of every row."""
    a_yard = table.attrs["yardstick_a_cards_per_10k"]
    d_yard = table.attrs["yardstick_deposit_rate"]
    common = {
        "conf": _pct(cs.confidence),
        "ratio": _pct(cs.gap_ratio),
        "a_yard": _fmt(a_yard),
        "d_yard": _pct(d_yard),
        "a_threshold": _fmt(cs.gap_ratio * a_yard),
        "d_threshold": _pct(min(cs.gap_ratio * d_yard, 1.0)),
        "first": f"{cs.first_contact_days:g}",
        **{f"every_{g.lower()}": f"{cs.follow_up_days.get(g, float('nan')):g}" for g in _GRADES},
    }
    labels, reasons, actions = [], [], []
    for row in table.itertuples(index=False):
        fields = {
            **common,
            "label": row.label,
            "rate": _fmt(row.a_cards_per_10k),
            "a_upper": _fmt(row.a_cards_per_10k_upper),
            "d_rate": _pct(row.deposit_rate),
            "d_upper": _pct(row.deposit_rate_upper),
            "a": int(row.a_cards),
            "d": int(row.deposit_cards),
            "open": int(row.open_h + row.open_a + row.open_b + row.open_c),
            "h": int(row.open_h),
            "ga": int(row.open_a),
            "b": int(row.open_b),
            "c": int(row.open_c),
        }
        labels.append(t(f"coverage.diagnosis.{row.diagnosis}", lang))
        if row.diagnosis == "no_data":
            case = _no_data_case(row)
            reasons.append(t(f"coverage.reason.no_data_{case}", lang, **fields))
            actions.append(t(f"coverage.action.no_data_{case}", lang, **fields))
        elif row.diagnosis == "balanced" and not row.in_market:
            reasons.append(t("coverage.reason.outside_market", lang, **fields))
            actions.append(t("coverage.action.balanced", lang, **fields))
        elif row.diagnosis == "balanced":
            reasons.append(t("coverage.reason.balanced", lang, **fields))
            actions.append(t("coverage.action.balanced", lang, **fields))
        else:
            reasons.append(
                " ".join(t(f"coverage.reason.{gap}", lang, **fields) for gap in row.gaps)
            )
            actions.append(" ".join(_action(gap, fields, lang) for gap in row.gaps))
    table["diagnosis_label"] = labels
    table["reason"] = reasons
    table["action"] = actions


def _action(gap: str, fields: dict, lang: str) -> str:
    text = t(f"coverage.action.{gap}", lang, **fields)
    if gap == "follow_up_gap" and fields["open"] > 0:
        text += t("coverage.action.open_cards", lang, **fields)
    return text


def _no_data_case(row) -> str:
    if row.unlocated:
        return "unlocated"
    if pd.isna(row.population) or row.population <= 0:
        return "population"
    return "cards"


# --- JSON -------------------------------------------------------------------------------------

_JSON_FIRST = (
    "district",
    "population",
    "customers",
    "a_cards",
    "deposit_cards",
    "deposit_rate",
    "a_cards_per_10k",
    "deposit_cards_per_10k",
    "diagnosis",
)


def _plain(value: object) -> object:
    """A JSON-ready scalar: NaN/NA → None, numpy numbers → Python numbers."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def coverage_json(table: pd.DataFrame, *, by: str | None = None) -> dict:
    """The contract's coverage document: ``{"by", "rows": [...]}`` plus period and yardsticks.

    Every row has the contract's keys (``district``, ``population``,
    ``customers``, ``a_cards``, ``deposit_cards``, ``deposit_rate``,
    ``a_cards_per_10k``, ``deposit_cards_per_10k``, ``diagnosis``) and every
    other column of the table (``gaps`` as a list). NaN and NA become
    ``null``: ``json.dumps(doc, allow_nan=False)`` always works.

    Examples
    --------
    >>> import json, pandas as pd
    >>> zones = pd.DataFrame({"zone_id": ["z1"], "district": ["甲区"], "population": [0]})
    >>> doc = coverage_json(coverage_table(zones, None, None))
    >>> json.dumps(doc["rows"][0]["deposit_rate"]), doc["rows"][0]["diagnosis"]
    ('null', 'no_data')
    """
    by = by or table.attrs.get("by", "district")
    check_by(by)
    columns = [c for c in _JSON_FIRST if c in table.columns]
    columns += [c for c in table.columns if c not in columns]
    rows = [
        {col: _plain(value) for col, value in zip(columns, values, strict=True)}
        for values in table[columns].itertuples(index=False, name=None)
    ]
    meta = {
        key: _plain(table.attrs.get(key))
        for key in (
            "start",
            "end",
            "previous_start",
            "previous_end",
            "previous_complete",
            "confidence_level",
            "gap_ratio",
        )
    }
    meta["yardsticks"] = {
        "a_cards_per_10k": _plain(table.attrs.get("yardstick_a_cards_per_10k")),
        "deposit_rate": _plain(table.attrs.get("yardstick_deposit_rate")),
    }
    return {"by": by, **meta, "rows": rows}


# --- export -----------------------------------------------------------------------------------


def _check_no_phone_text(frame: pd.DataFrame) -> None:
    for col in frame.columns:
        if frame[col].dtype.kind in "OUST":
            hit = frame[col].astype(str).str.contains(PHONE_PATTERN, na=False)
            if hit.any():
                raise ValueError(
                    f"column {col!r} holds what looks like a phone number "
                    f"(row {int(np.flatnonzero(hit.to_numpy())[0])}); a coverage export never "
                    "carries personal data"
                )


def _export_frame(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    by = table.attrs.get("by", "zone" if "zone_id" in table.columns else "district")
    columns = [c for c in (*_IDENTITY[by], *EXPORT_COLUMNS) if c in table.columns]
    bad = [c for c in table.columns if c in _FORBIDDEN]
    if bad:
        raise ValueError(
            f"a coverage export never carries personal data; drop the columns {bad} first"
        )
    frame = table[columns].copy()
    _check_no_phone_text(frame)
    frame = round_floats(frame)  # no run of 11+ digits that could pass for a phone number
    frame = frame.astype(object).where(frame.notna(), None)
    frame = frame.map(neutralise)
    names = {"label": "district" if by == "district" else "name"}
    frame.columns = [t(f"coverage.col.{names.get(c, c)}", lang) for c in columns]
    return frame


def export_coverage(table: pd.DataFrame, path: Path | str, *, lang: str | None = None) -> Path:
    """Write the coverage table to CSV (UTF-8 with BOM) or XLSX, by ``path``'s suffix.

    Headers are in ``lang`` (default: the table's language). Text cells that
    begin with ``= + - @`` (or a tab/carriage return) get a leading
    apostrophe so a spreadsheet never runs them; rates stay numbers
    (fractions, shown as percentages in XLSX). The table holds no personal
    data by construction; this is checked (no phone-number column or
    phone-like text) before anything is written.

    Raises
    ------
    ValueError
        If the suffix is not ``.csv`` or ``.xlsx``, or the table carries
        personal data.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> zones = pd.DataFrame({"zone_id": ["z1"], "district": ["甲区"], "population": [100]})
    >>> out = export_coverage(coverage_table(zones, None, None), pathlib.Path(tempfile.mkdtemp()) / "c.csv")
    >>> out.read_bytes()[:3] == b"\\xef\\xbb\\xbf"
    True
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"export path must end in .csv or .xlsx; got {path.name!r}")
    lang = check_lang(lang or table.attrs.get("lang", "zh"))
    frame = _export_frame(table, lang)
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
        return path
    _write_xlsx(table, frame, path, lang)
    return path


def _write_xlsx(table: pd.DataFrame, frame: pd.DataFrame, path: Path, lang: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = t("coverage.sheet", lang)
    header = list(frame.columns)
    sheet.append([neutralise(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    percent = {t(f"coverage.col.{c}", lang) for c in _RATE_COLUMNS}
    for values in frame.itertuples(index=False, name=None):
        sheet.append([_plain(v) for v in values])
    for j, name in enumerate(header, start=1):
        letter = get_column_letter(j)
        if name in percent:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = "0.0%"
        width = max(8, min(40, max(len(str(name)) * 2, 10)))
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    sheet.freeze_panes = "B2"
    book.save(path)


# --- chart data -------------------------------------------------------------------------------


def bar_chart_data(table: pd.DataFrame, *, lang: str | None = None) -> pd.DataFrame:
    """Long-format frame for an A-card vs deposit-card bar chart per district.

    Columns: ``label`` (row label), ``series`` (``"a_cards"`` or
    ``"deposit_cards"``), ``series_label`` (localised), ``count``; two rows
    per table row, in the table's order. Ready for ``st.bar_chart(data,
    x="label", y="count", color="series_label")`` or altair.

    Examples
    --------
    >>> import pandas as pd
    >>> zones = pd.DataFrame({"zone_id": ["z1"], "district": ["甲区"], "population": [100]})
    >>> bar_chart_data(coverage_table(zones, None, None), lang="en")["series_label"].tolist()
    ['A-cards', 'Deposit cards']
    """
    lang = check_lang(lang or table.attrs.get("lang", "zh"))
    parts = []
    for series in ("a_cards", "deposit_cards"):
        parts.append(
            pd.DataFrame(
                {
                    "order": np.arange(len(table)),
                    "label": table["label"].to_numpy(),
                    "series": series,
                    "series_label": t(f"coverage.col.{series}", lang),
                    "count": table[series].to_numpy(dtype="int64"),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True).sort_values(["order", "series"], kind="stable")
    return out.drop(columns="order").reset_index(drop=True)


_MAP_COLUMNS = (
    "label",
    "population",
    "a_cards",
    "deposit_cards",
    "a_cards_per_10k",
    "deposit_rate",
    "diagnosis",
    "diagnosis_label",
)


def choropleth_frames(zones: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Polygons carrying ``a_cards_per_10k`` and ``deposit_rate`` for two side-by-side maps.

    For a table by district, zones are dissolved into one polygon per
    district; for a table by zone, each zone keeps its polygon. Rows without
    a polygon (unlocated, districts known only from points) are left out.
    The CRS is the zones' (EPSG:4326 in a workspace).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> zones = gpd.GeoDataFrame({"zone_id": ["z1", "z2"], "district": ["甲区", "甲区"],
    ...     "population": [100, 100]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    >>> frame = choropleth_frames(zones, coverage_table(zones, None, None))
    >>> len(frame), frame.geometry.iloc[0].area
    (1, 2.0)
    """
    by = table.attrs.get("by", "zone" if "zone_id" in table.columns else "district")
    keep = [c for c in _MAP_COLUMNS if c in table.columns]
    located = table[~table["unlocated"].to_numpy(dtype=bool)]
    if by == "zone":
        shapes = zones[["zone_id", "geometry"]].copy()
        shapes["zone_id"] = shapes["zone_id"].astype(str)
        values = located[["zone_id", "district", *keep]].copy()
        values["zone_id"] = values["zone_id"].astype(str)
        merged = shapes.merge(values, on="zone_id", how="inner")
    else:
        shapes = zones[["geometry"]].copy()
        shapes["_key"] = zone_keys(zones, "district").to_numpy()
        shapes = shapes.dissolve(by="_key", as_index=False)
        values = located[["district", *keep]].copy()
        values["_key"] = (
            values["district"].astype(object).where(values["district"].notna(), NO_DISTRICT)
        )
        merged = shapes.merge(values, on="_key", how="inner").drop(columns="_key")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=zones.crs)

"""The sales funnel of seed 002: sales = N × K × F × C, per district, and the lever to pull.

Seed 002 defines N showroom traffic (到店客户总量), K information retention
(有效信息量 / 总体客户量), F follow-up rate (跟进客户量 / 有效信息量) and C close
rate (成交量 / 跟进客户量); sales = N × K × F × C. Worked example: N 2,500 ×
K 40 % (1,000 records) × F 50 % (500 followed) × C 25 % = 125 sales.

What the cards can and cannot tell (the proxies, honestly)
----------------------------------------------------------
Only A-cards (showroom visitors who registered) are counted; deposit cards
belong to :mod:`territory.leads.coverage`.

- **N** = A-cards in the period. Visitors who never registered are not in
  the data, so N undercounts the seed's traffic.
- **records** (有效信息) = A-cards with a grade (H/A/B/C) *or* a status: the
  consultant qualified the visitor or recorded an outcome. **K** = records
  / N. Because unregistered walk-ins are missing, K overstates the seed's K;
  it measures how many registrations were qualified.
- **followed** = A-cards with a status (open = being followed, won, lost).
  **F** = followed / records.
- **deals** = A-cards with status ``won``. **C** = deals / followed.

The sets are nested (deals ⊂ followed ⊂ records ⊂ N), so N × K × F × C
equals the deals exactly. K, F and C are NA when their denominator is 0, and
for cards that carry neither grade nor status.

Which lever
-----------
Alone, every lever must be multiplied by the same factor target / sales (the
model is a product), so "the smallest relative change" does not separate
them. :func:`lever_to_target` therefore ranks levers by *effort*: for N the
relative increase in traffic; for a rate the share of the people now lost
at that stage who must be won back, (needed − current) / (1 − current). A
rate cannot exceed 1, so a lever that would need more is infeasible.

Examples
--------
>>> funnel_sales(2500, 0.40, 0.50, 0.25)
125.0
>>> plan = lever_to_target(2500, 0.40, 0.50, 0.25, 150)
>>> plan.best, round(float(plan.levers.loc["C", "needed"]), 3)
('C', 0.3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.leads._grouping import (
    DateLike,
    check_by,
    in_period,
    ordered_keys,
    point_keys,
    resolve_period,
    row_frame,
)

__all__ = [
    "LEVERS",
    "LeverPlan",
    "funnel_sales",
    "funnel_table",
    "funnel_totals",
    "lever_to_target",
]

#: The levers of the funnel, in the seed's order.
LEVERS: tuple[str, ...] = ("N", "K", "F", "C")
_GRADES: tuple[str, ...] = ("H", "A", "B", "C")
_STATUSES: tuple[str, ...] = ("open", "won", "lost")


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


def _masks(cards: pd.DataFrame, now: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the funnel's nested sets over ``cards``."""
    size = len(cards)
    is_a = cards["card_type"].astype(object).isin(("A",)).to_numpy(dtype=bool) & now
    grade = cards["grade"].astype(object) if "grade" in cards.columns else None
    graded = grade.isin(_GRADES).to_numpy(dtype=bool) if grade is not None else np.zeros(size, bool)
    if "status" in cards.columns:
        status = cards["status"].astype(object)
        followed = status.isin(_STATUSES).to_numpy(dtype=bool)
        won = status.isin(("won",)).to_numpy(dtype=bool)
    else:
        followed = won = np.zeros(size, dtype=bool)
    masks = {
        "n": is_a,
        "records": is_a & (graded | followed),
        "followed": is_a & followed,
        "deals": is_a & won,
    }
    for g in _GRADES:
        of_grade = grade.isin((g,)).to_numpy(dtype=bool) if grade is not None else graded
        masks[f"grade_{g.lower()}"] = is_a & of_grade
    return masks


def _rates(frame: pd.DataFrame, has_data: bool) -> pd.DataFrame:
    n = frame["n"].to_numpy(dtype="float64")
    rec = frame["records"].to_numpy(dtype="float64")
    fol = frame["followed"].to_numpy(dtype="float64")
    deals = frame["deals"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["k"] = np.where((n > 0) & has_data, rec / n, np.nan)
        frame["f"] = np.where((rec > 0) & has_data, fol / rec, np.nan)
        frame["c"] = np.where((fol > 0) & has_data, deals / fol, np.nan)
        for g in _GRADES:
            col = f"grade_{g.lower()}"
            counts = frame[col].to_numpy(dtype="float64")
            frame[f"p_{g.lower()}"] = np.where(rec > 0, counts / np.where(rec > 0, rec, 1), np.nan)
    frame["sales"] = frame["n"] * frame["k"] * frame["f"] * frame["c"]
    return frame


def _has_funnel_data(cards: pd.DataFrame | None) -> bool:
    if cards is None:
        return False
    return any(col in cards.columns and cards[col].notna().any() for col in ("grade", "status"))


def funnel_table(
    zones: pd.DataFrame,
    cards: pd.DataFrame | None,
    *,
    by: str = "district",
    start: DateLike = None,
    end: DateLike = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """N, K, F, C per district (or zone) from the A-cards' grade and status.

    Rows follow :func:`territory.leads.coverage.coverage_table` (zones' order,
    districts known only from cards, then "unlocated" when an A-card of the
    period cannot be placed). Columns: identity (``district`` or ``zone_id``,
    ``name``, ``district``), ``unlocated``, ``label``, ``n``, ``records``,
    ``followed``, ``deals``, ``k``, ``f``, ``c``, ``sales`` (= n × k × f × c
    = deals), and ``p_h``, ``p_a``, ``p_b``, ``p_c`` (the seed's P: shares of
    grades among records). K, F, C are NA where the denominator is 0 or the
    cards carry neither grade nor status (``attrs["has_funnel_data"]``).

    Raises
    ------
    ValueError
        If ``by`` or a date is invalid, or ``start`` is after ``end``.

    Examples
    --------
    >>> import pandas as pd
    >>> zones = pd.DataFrame({"zone_id": ["z1"], "district": ["甲区"], "population": [1000]})
    >>> cards = pd.DataFrame({"zone_id": ["z1"] * 4, "card_type": ["A"] * 4,
    ...     "grade": ["H", "B", None, None], "status": ["won", None, "open", None],
    ...     "date": pd.to_datetime(["2024-05-01"] * 4)})
    >>> row = funnel_table(zones, cards).iloc[0]
    >>> int(row.n), int(row.records), int(row.followed), int(row.deals), float(row.sales)
    (4, 3, 2, 1, 1.0)
    """
    check_by(by)
    lang = check_lang(lang)
    empty = cards is None or len(cards) == 0
    dates = None if empty or "date" not in cards.columns else cards["date"]
    period = resolve_period(dates, start, end)
    if empty:
        keys = ordered_keys(zones, by)
        frame = row_frame(zones, keys, by, lang)
        for col in ("n", "records", "followed", "deals", *(f"grade_{g.lower()}" for g in _GRADES)):
            frame[col] = 0
        out = _rates(frame, False)
    else:
        now = (
            in_period(dates, period.start, period.end)
            if dates is not None
            else np.ones(len(cards), dtype=bool)
        )
        masks = _masks(cards, now)
        card_keys = point_keys(cards, zones, by)
        keys = ordered_keys(zones, by, card_keys[masks["n"]])
        frame = row_frame(zones, keys, by, lang)
        for col, mask in masks.items():
            counts = card_keys[mask].value_counts()
            frame[col] = pd.Series([int(counts.get(k, 0)) for k in keys], dtype="int64")
        out = _rates(frame, _has_funnel_data(cards))
    out = out.drop(columns=[c for c in out.columns if c.startswith("grade_")])
    out.attrs.update(
        {
            "by": by,
            "lang": lang,
            "start": None if period.start is None else period.start.date().isoformat(),
            "end": None if period.end is None else period.end.date().isoformat(),
            "has_funnel_data": _has_funnel_data(cards),
        }
    )
    return out


def funnel_totals(
    cards: pd.DataFrame | None, *, start: DateLike = None, end: DateLike = None
) -> dict[str, float]:
    """The dealer's whole funnel: ``{"N", "records", "followed", "deals", "K", "F", "C", "sales"}``.

    Same definitions as :func:`funnel_table`; rates are NaN where undefined.

    Examples
    --------
    >>> import pandas as pd
    >>> cards = pd.DataFrame({"card_type": ["A", "A", "deposit"], "grade": ["A", None, None],
    ...     "status": ["won", None, None], "date": pd.to_datetime(["2024-05-01"] * 3)})
    >>> totals = funnel_totals(cards)
    >>> totals["N"], totals["K"], totals["C"]
    (2.0, 0.5, 1.0)
    """
    if cards is None or len(cards) == 0:
        counts = dict.fromkeys(("n", "records", "followed", "deals"), 0.0)
    else:
        dates = cards["date"] if "date" in cards.columns else None
        period = resolve_period(dates, start, end)
        now = (
            in_period(dates, period.start, period.end)
            if dates is not None
            else np.ones(len(cards), dtype=bool)
        )
        masks = _masks(cards, now)
        counts = {k: float(masks[k].sum()) for k in ("n", "records", "followed", "deals")}
    has = _has_funnel_data(cards)
    n, rec, fol, deals = counts["n"], counts["records"], counts["followed"], counts["deals"]
    k = rec / n if n > 0 and has else math.nan
    f = fol / rec if rec > 0 and has else math.nan
    c = deals / fol if fol > 0 and has else math.nan
    return {
        "N": n,
        "records": rec,
        "followed": fol,
        "deals": deals,
        "K": k,
        "F": f,
        "C": c,
        "sales": n * k * f * c,
    }


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
    for lever in LEVERS:
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
    levers = pd.DataFrame(rows, index=pd.Index(LEVERS, name="lever"))
    best = None
    if target > sales:
        candidates = levers[levers["feasible"]]
        if len(candidates):
            best = str(candidates["effort"].idxmin())
    return LeverPlan(sales=sales, target=target, best=best, levers=levers)

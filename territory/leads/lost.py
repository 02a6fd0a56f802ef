"""Lost-lead analysis (战败分析, seed 001): why leads were lost, by source and by consultant.

Lost reasons are free text. They are grouped after folding width, case,
spaces and trailing punctuation (``买了竞品。`` = ``买了竞品``); each group is
shown with its most common spelling. Lost leads without a reason form a
group of their own, and lost leads never contacted are counted as "out of
control" (失控) beside.

Examples
--------
>>> import pandas as pd
>>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"],
...     "start": pd.to_datetime(["2026-05-01"] * 4), "status": ["lost", "lost", "won", "lost"],
...     "lost_reason": ["价格太高", "价格太高。", None, None], "source": ["online", "online", "online", "showroom"],
...     "consultant": ["张伟"] * 4, "last_contact": pd.to_datetime(["2026-05-02", None, None, None])})
>>> result = lost_analysis(leads=leads, by="source")
>>> result.reasons[["label", "count"]].values.tolist()
[['价格太高', 2], ['未填写原因', 1]]
>>> result.rows[["key", "closed", "lost", "out_of_control"]].values.tolist()
[['showroom', 1, 1, 1], ['online', 3, 2, 1]]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.leads.lifecycle import lead_table, parse_day
from territory.settings import Settings
from territory.vocab import SOURCES, label

__all__ = ["LOST_BY", "LostAnalysis", "lost_analysis", "lost_json", "reason_key"]

#: Groupings of the lost-lead analysis.
LOST_BY: tuple[str, ...] = ("source", "consultant")
_NONE = "\x00none"
_TRAILING = re.compile(r"[\s。．.，,;；!！]+$")
_SPACES = re.compile(r"\s+")


def reason_key(text: object) -> str | None:
    """The grouping key of a lost reason (None for no reason).

    >>> reason_key(" 买了竞品。"), reason_key("Bought  a RIVAL."), reason_key("  ")
    ('买了竞品', 'bought a rival', None)
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    folded = unicodedata.normalize("NFKC", str(text)).strip()
    folded = _TRAILING.sub("", _SPACES.sub(" ", folded)).casefold()
    return folded or None


@dataclass
class LostAnalysis:
    """Lost leads of a period: ``reasons`` (``key``, ``label``, ``count``, ``share``, one count
    column per row key) and ``rows`` (``key``, ``label``, ``closed``, ``lost``, ``lost_rate``,
    ``out_of_control``, ``top_reason``, ``top_share``)."""

    by: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    lost: int
    reasons: pd.DataFrame
    rows: pd.DataFrame


def lost_analysis(
    ws=None,
    *,
    leads: pd.DataFrame | None = None,
    by: str = "source",
    start=None,
    end=None,
    settings: Settings | None = None,
    lang: str = "zh",
) -> LostAnalysis:
    """Counts and shares of lost reasons among the leads registered from ``start`` to ``end``, per ``by``.

    Raises
    ------
    ValueError
        If ``by`` is not ``source`` or ``consultant``, or a date is invalid.
    """
    lang = check_lang(lang)
    if by not in LOST_BY:
        raise ValueError(f"by must be one of {', '.join(LOST_BY)}; got {by!r}")
    if leads is None:
        leads = lead_table(ws.cards, settings=settings or ws.settings)
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if first is not None and last is not None and first > last:
        raise ValueError(f"start {first.date()} is after end {last.date()}; swap them")
    lead_start = pd.to_datetime(leads["start"])
    keep = np.ones(len(leads), dtype=bool)
    if first is not None:
        keep &= (lead_start >= first).to_numpy()
    if last is not None:
        keep &= (lead_start < last + pd.Timedelta(days=1)).to_numpy()
    cohort = leads.loc[keep]
    status = cohort["status"].astype(object)
    closed = cohort[status.isin(("won", "lost")).to_numpy()]
    lost = closed[closed["status"].eq("lost").to_numpy()]
    column = by
    row_key = closed[column].astype(object).where(closed[column].notna(), _NONE)
    lost_key = row_key[closed["status"].eq("lost").to_numpy()]
    reason_keys = lost["lost_reason"].map(reason_key).astype(object)
    reason_keys = reason_keys.where(reason_keys.notna(), _NONE)
    # label: the most common spelling of each reason
    spellings = pd.DataFrame(
        {"key": reason_keys.to_numpy(), "text": lost["lost_reason"].astype(object).to_numpy()}
    )
    spellings = spellings[spellings["key"] != _NONE]
    labels = (
        spellings.assign(text=spellings["text"].map(lambda s: _TRAILING.sub("", str(s).strip())))
        .groupby(["key", "text"])
        .size()
        .reset_index(name="n")
        .sort_values(["key", "n", "text"], ascending=[True, False, True])
        .drop_duplicates("key")
        .set_index("key")["text"]
        .to_dict()
    )
    labels[_NONE] = t("lost.no_reason", lang)

    cross = (
        pd.crosstab(reason_keys.to_numpy(), lost_key.to_numpy()) if len(lost) else pd.DataFrame()
    )
    order_rows = _order(row_key, by, ws)
    counts = (
        cross.sum(axis=1).sort_values(ascending=False, kind="stable")
        if len(cross)
        else pd.Series(dtype="int64")
    )
    ordered = [k for k in counts.index if k != _NONE] + ([_NONE] if _NONE in counts.index else [])
    reasons = pd.DataFrame(
        {
            "key": [None if k == _NONE else k for k in ordered],
            "label": [labels.get(k, k) for k in ordered],
            "count": [int(counts[k]) for k in ordered],
        }
    )
    total = len(lost)
    reasons["share"] = reasons["count"] / total if total else np.nan
    for key in order_rows:
        reasons[f"by:{key}"] = [
            int(cross.at[k, key]) if key in cross.columns else 0 for k in ordered
        ]

    contacted = pd.to_datetime(lost["last_contact"]).notna().to_numpy()
    records = []
    for key in order_rows:
        mine = (row_key == key).to_numpy()
        mine_lost = (lost_key == key).to_numpy()
        n_closed, n_lost = int(mine.sum()), int(mine_lost.sum())
        top, top_share = None, None
        if n_lost and key in cross.columns:
            col = cross[key]
            named = col[[k for k in col.index if k != _NONE]]
            if len(named) and named.max() > 0:
                best = named.sort_values(ascending=False, kind="stable").index[0]
                top, top_share = labels.get(best, best), float(named[best] / n_lost)
        records.append(
            {
                "key": None if key == _NONE else key,
                "label": _row_label(key, by, lang),
                "closed": n_closed,
                "lost": n_lost,
                "lost_rate": n_lost / n_closed if n_closed else np.nan,
                "out_of_control": int((mine_lost & ~contacted).sum()),
                "top_reason": top,
                "top_share": top_share,
            }
        )
    rows = pd.DataFrame.from_records(
        records,
        columns=[
            "key",
            "label",
            "closed",
            "lost",
            "lost_rate",
            "out_of_control",
            "top_reason",
            "top_share",
        ],
    )
    return LostAnalysis(by=by, start=first, end=last, lost=total, reasons=reasons, rows=rows)


def _order(keys: pd.Series, by: str, ws) -> list:
    present = list(dict.fromkeys(keys.tolist()))
    regular = [k for k in present if k != _NONE]
    if by == "source":
        regular = [k for k in SOURCES if k in regular] + sorted(
            k for k in regular if k not in SOURCES
        )
    else:
        team = tuple(ws.dealer.team.consultants) if ws is not None else ()
        regular = [k for k in team if k in regular] + sorted(
            k for k in regular if k not in set(team)
        )
    return regular + ([_NONE] if _NONE in present else [])


def _row_label(key, by: str, lang: str) -> str:
    if key == _NONE:
        return t(f"funnel.none.{by}", lang)
    return label(key, SOURCES, lang) if by == "source" else str(key)


def lost_json(result: LostAnalysis) -> dict:
    """The analysis as plain data: ``{"by", "from", "to", "lost", "reasons": [...], "rows": [...]}``."""

    def plain(v):
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return None
        return float(v) if isinstance(v, float | np.floating) else v

    by_cols = [c for c in result.reasons.columns if c.startswith("by:")]
    return {
        "by": result.by,
        "from": None if result.start is None else result.start.date().isoformat(),
        "to": None if result.end is None else result.end.date().isoformat(),
        "lost": result.lost,
        "reasons": [
            {
                "reason": r["label"],
                "key": r["key"],
                "count": int(r["count"]),
                "share": plain(r["share"]),
                "by": {(None if c[3:] == _NONE else c[3:]) or "": int(r[c]) for c in by_cols},
            }
            for _, r in result.reasons.iterrows()
        ],
        "rows": [
            {k: plain(v) if not isinstance(v, int | str) else v for k, v in r.items()}
            for r in result.rows.to_dict(orient="records")
        ],
    }

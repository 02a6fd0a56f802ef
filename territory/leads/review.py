"""What an outing produced: its leads week by week after the event (seed 000 step 4).

The **attribution rule** (stated on every review):

- a lead belongs to the event when one of its cards names the event
  (``event_id``: the rows of its registration form, or cards typed with the
  event's id); cards are one lead by ``lead_id``, else the normalised phone
  (:mod:`territory.inputs.leadlink`); a card whose ``voucher`` (券码) is a
  voucher handed out at the event joins that lead too;
- the window runs from the event's day for ``days`` days (day 0 to day
  ``days − 1``; 28 days = 4 weeks, week 1 = days 0–6);
- **visits**: the event's leads that came to the showroom, i.e. got an
  A-card of their own (not the event's form card) in the window, counted in
  the week of their first such card;
- **deposits**: the event's leads' deposit cards in the window (counted in
  the week of the card);
- **sales**: the event's leads with a deposit card or a won card in the
  window, in the week of the first (the same rule as the learned close rate,
  :mod:`territory.leads.learning`, so actual and target compare);
- **followed on time**: at each week's end, the leads open then whose
  latest known contact keeps them within seed 001's cadence (first contact
  the day after registration, then every 2/3/7/15 days for H/A/B/C), plus
  the won ones and the lost ones that had been contacted (the funnel's rule,
  :mod:`territory.leads.funnel`). Known contacts are the cards'
  ``last_contact`` and every contact recorded in the journal; an earlier
  contact overwritten in a DMS export is not known, so early weeks can
  read low;
- showroom traffic (``traffic.*``) counts visitors per day, not per
  outing: a review never splits it by event (``not_computed`` says so).

Weeks that have not ended on ``as_of`` are marked ``complete: false``.

Examples
--------
>>> import pandas as pd
>>> cards = pd.DataFrame({
...     "card_id": ["F1", "F2", "A9", "D1"], "lead_id": ["F1", "F2", "F2", "F2"],
...     "card_type": ["A", "A", "A", "deposit"], "event_id": ["E1", "E1", None, None],
...     "date": pd.to_datetime(["2026-11-01", "2026-11-01", "2026-11-09", "2026-11-16"]),
...     "status": ["open", "open", "open", "won"], "grade": ["B", "H", "H", "H"],
...     "last_contact": pd.to_datetime(["2026-11-02", None, None, None]),
...     "closed_date": pd.to_datetime([None, None, None, None])})
>>> r = event_review(cards, event_id="E1", day="2026-11-01", as_of="2026-12-01")
>>> [(w["week"], w["leads"], w["visits"], w["deposits"], w["sales"]) for w in r["weeks"]]
[(1, 2, 0, 0, 0), (2, 0, 1, 0, 0), (3, 0, 0, 1, 1), (4, 0, 0, 0, 0)]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from territory.settings import Settings

__all__ = ["attribution", "event_review", "outreach_deals"]

_DAY = pd.Timedelta(days=1)


def _ts(value) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _col(cards: pd.DataFrame, name: str) -> pd.Series:
    if name in cards:
        return pd.Series(cards[name].to_numpy(dtype=object), index=cards.index)
    return pd.Series([None] * len(cards), index=cards.index, dtype=object)


def attribution(
    cards: pd.DataFrame, event_id: str, *, vouchers: Iterable[str] = ()
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cards of the event's leads (column ``lead``: the lead they count for) and how each
    lead was found: ``{"event_id": n, "voucher": n}``."""
    if cards is None or not len(cards):
        return pd.DataFrame(columns=["lead"]), {"event_id": 0, "voucher": 0}
    lead = _col(cards, "lead_id").astype(object)
    missing = lead.isna()
    if missing.any():  # plain tables: the card is its own lead
        lead[missing] = _col(cards, "card_id")[missing]
    event = _col(cards, "event_id")
    mine = event.eq(event_id).fillna(False)
    leads = set(lead[mine])
    voucher = _col(cards, "voucher")
    handed = set(voucher[mine].dropna()) | {str(v) for v in vouchers if v}
    by_voucher = voucher.isin(handed).fillna(False) & ~lead.isin(leads)
    extra: dict[int, str] = {}
    if handed and by_voucher.any():
        owner = dict(zip(voucher[mine], lead[mine], strict=True))
        for i in np.flatnonzero(by_voucher.to_numpy()):
            v = voucher.iloc[i]
            if v in owner:
                extra[i] = owner[v]
    take = lead.isin(leads).to_numpy().copy()
    out = cards.iloc[np.flatnonzero(take)].copy()
    out["lead"] = lead[take].to_numpy()
    if extra:
        more = cards.iloc[list(extra)].copy()
        more["lead"] = list(extra.values())
        out = pd.concat([out, more])
    out["_event_card"] = _col(out, "event_id").eq(event_id).fillna(False).to_numpy()
    return out, {"event_id": len(leads), "voucher": len(extra)}


def _contacts(
    lead_cards: pd.DataFrame, journal_contacts: Mapping[str, Iterable] | None
) -> dict[str, list[pd.Timestamp]]:
    out: dict[str, list[pd.Timestamp]] = {}
    if "last_contact" in lead_cards:
        known = lead_cards[pd.to_datetime(lead_cards["last_contact"]).notna()]
        for lead, day in zip(known["lead"], pd.to_datetime(known["last_contact"]), strict=True):
            out.setdefault(lead, []).append(_ts(day))
    for lead, days in (journal_contacts or {}).items():
        for day in days:
            if day:
                out.setdefault(lead, []).append(_ts(day))
    return out


def event_review(
    cards: pd.DataFrame,
    *,
    event_id: str,
    day,
    days: int = 28,
    as_of=None,
    settings: Settings | None = None,
    journal_contacts: Mapping[str, Iterable] | None = None,
    vouchers: Iterable[str] = (),
) -> dict:
    """Leads, followed on time, visits, deposits and sales of one event, per week (module notes).

    Returns a dict: the totals (``leads``, ``followed_on_time``, ``visits``,
    ``deposits``, ``sales``), ``weeks`` (one entry per 7 days of the window:
    ``week``, ``start``, ``end``, ``complete``, ``leads``, ``open``,
    ``followed_on_time``, ``visits``, ``deposits``, ``sales``),
    ``window`` and ``attributed_by``.
    """
    settings = settings or Settings()
    day = _ts(day)
    as_of = _ts(as_of) if as_of is not None else _ts(dt.date.today())
    end = day + pd.Timedelta(days=days)  # exclusive
    n_weeks = math.ceil(days / 7)
    mine, found = attribution(cards, event_id, vouchers=vouchers)
    weeks = []
    starts = [day + pd.Timedelta(days=7 * k) for k in range(n_weeks)]
    if not len(mine):
        for k, s in enumerate(starts):
            e = min(s + pd.Timedelta(days=7), end) - _DAY
            weeks.append(_week(k + 1, s, e, as_of, 0, 0, 0, 0, 0, 0))
        return _result(weeks, 0, 0, day, end, as_of, found)
    date = pd.to_datetime(mine["date"])
    in_window = (date >= day) & (date < end) & (date <= as_of)
    kind = _col(mine, "card_type")
    status = _col(mine, "status")
    lead = mine["lead"]
    # the lead's start for this event: its first card naming the event (or the event's day)
    own = mine["_event_card"].to_numpy()
    start = date[own].groupby(lead[own]).min()
    leads = pd.Index(sorted(set(lead)))
    start = start.reindex(leads).fillna(day)
    start = start.where(start >= day, day)  # a lead linked from before counts from the event's day
    visit = in_window & kind.eq("A").fillna(False) & ~mine["_event_card"]
    if "source" in mine:
        visit &= ~_col(mine, "source").eq("outreach").fillna(False)
    first_visit = date[visit].groupby(lead[visit]).min()
    deposit = in_window & kind.eq("deposit").fillna(False)
    closed = (
        pd.to_datetime(mine["closed_date"])
        if "closed_date" in mine
        else pd.Series(pd.NaT, index=mine.index, dtype="datetime64[ns]")
    )
    won = status.eq("won").fillna(False)
    sale_day = date.where(kind.eq("deposit").fillna(False) | closed.isna(), closed)
    sold = (kind.eq("deposit").fillna(False) | won) & (sale_day >= day) & (sale_day < end)
    sold &= sale_day <= as_of
    first_sale = sale_day[sold].groupby(lead[sold]).min()
    # status per lead on a day: won/lost once a closing card is dated on or before it
    close_day = sale_day.where(won | status.eq("lost").fillna(False))
    closed_on = close_day.groupby(lead).min().reindex(leads)
    lost_lead = status.eq("lost").groupby(lead).any().reindex(leads, fill_value=False)
    won_lead = won.groupby(lead).any().reindex(leads, fill_value=False)
    grade = _col(mine, "grade").groupby(lead).last().reindex(leads)
    contacts = _contacts(mine, journal_contacts)
    cadence = dict(settings.coverage.follow_up_days)
    first_days = settings.coverage.first_contact_days
    fallback = cadence.get(settings.leads.ungraded_as, 15)

    def followed_on(when: pd.Timestamp) -> tuple[int, int]:
        n_open = n_ok = 0
        for lid in leads:
            if start[lid] > when:
                continue
            c = closed_on[lid]
            if pd.notna(c) and c <= when:
                known = [x for x in contacts.get(lid, ()) if x <= when]
                if won_lead[lid] or known:
                    n_ok += 1
                continue
            n_open += 1
            known = [x for x in contacts.get(lid, ()) if start[lid] <= x <= when]
            if known:
                interval = (
                    cadence.get(grade[lid], fallback) if isinstance(grade[lid], str) else fallback
                )
                due = max(known) + pd.Timedelta(days=math.ceil(interval))
            else:
                due = start[lid] + pd.Timedelta(days=first_days)
            if when <= due:
                n_ok += 1
        return n_open, n_ok

    for k, s in enumerate(starts):
        e = min(s + pd.Timedelta(days=7), end) - _DAY

        def in_week(x, s=s, e=e) -> int:
            return int(((x >= s) & (x <= e) & (x <= as_of)).sum())

        n_open, n_ok = followed_on(min(e, as_of)) if s <= as_of else (0, 0)
        weeks.append(
            _week(
                k + 1,
                s,
                e,
                as_of,
                in_week(start),
                n_open,
                n_ok,
                in_week(first_visit),
                int(((date[deposit] >= s) & (date[deposit] <= e)).sum()),
                in_week(first_sale),
            )
        )
    _, followed_total = followed_on(min(end - _DAY, as_of))
    result = _result(weeks, len(leads), followed_total, day, end, as_of, found)
    result.update(
        visits=len(first_visit),
        deposits=int(deposit.sum()),
        sales=len(first_sale),
        lost=int(lost_lead.sum()),
        won=int(won_lead.sum()),
    )
    return result


def _week(week, start, end, as_of, leads, n_open, followed, visits, deposits, sales) -> dict:
    return {
        "week": week,
        "start": start.date().isoformat(),
        "end": end.date().isoformat(),
        "complete": bool(end <= as_of),
        "leads": int(leads),
        "open": int(n_open),
        "followed_on_time": int(followed),
        "visits": int(visits),
        "deposits": int(deposits),
        "sales": int(sales),
    }


def _result(weeks, leads, followed, day, end, as_of, found) -> dict:
    return {
        "leads": int(leads),
        "followed_on_time": int(followed),
        "visits": sum(w["visits"] for w in weeks),
        "deposits": sum(w["deposits"] for w in weeks),
        "sales": sum(w["sales"] for w in weeks),
        "weeks": weeks,
        "window": {
            "start": day.date().isoformat(),
            "end": (end - _DAY).date().isoformat(),
            "days": int((end - day).days),
            "as_of": as_of.date().isoformat(),
            "complete": bool(end - _DAY <= as_of),
        },
        "attributed_by": found,
    }


def outreach_deals(cards: pd.DataFrame, *, start, end) -> dict:
    """Seed 000's monthly count: deals (deposit or won cards) dated ``start``–``end`` (inclusive)
    whose lead came from outreach (its first card's source, or a card naming an event)."""
    if cards is None or not len(cards):
        return {"deals": 0, "by_event": {}}
    start, end = _ts(start), _ts(end)
    lead = _col(cards, "lead_id")
    date = pd.to_datetime(cards["date"])
    order = np.argsort(date.to_numpy(), kind="stable")
    first = cards.iloc[order].groupby(lead.iloc[order].to_numpy(), sort=False).head(1)
    source = dict(zip(_col(first, "lead_id"), _col(first, "source"), strict=True))
    tagged = _col(cards, "event_id").notna()
    event_of = (
        pd.Series(_col(cards, "event_id")[tagged].to_numpy(), index=lead[tagged].to_numpy())
        .groupby(level=0)
        .first()
    )
    kind = _col(cards, "card_type")
    closed = (
        pd.to_datetime(cards["closed_date"])
        if "closed_date" in cards
        else pd.Series(pd.NaT, index=cards.index, dtype="datetime64[ns]")
    )
    won = _col(cards, "status").eq("won").fillna(False)
    sale_day = date.where(kind.eq("deposit").fillna(False) | closed.isna(), closed)
    deal = (kind.eq("deposit").fillna(False) | won) & (sale_day >= start) & (sale_day <= end)
    leads = pd.unique(lead[deal])
    outreach = [x for x in leads if source.get(x) == "outreach" or x in event_of.index]
    by_event: dict[str, int] = {}
    for x in outreach:
        e = event_of.get(x)
        key = str(e) if e is not None and not pd.isna(e) else "-"
        by_event[key] = by_event.get(key, 0) + 1
    return {"deals": len(outreach), "by_event": by_event}

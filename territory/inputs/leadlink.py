"""Lead linking: which cards are one person's lead, checked when the cards are loaded.

A lead (线索) is one person's path from registration to a deal or a loss.
Their A-card (到店登记) and their later deposit card (订金) are one lead
(contract "Additions"):

1. cards with the same ``lead_id`` are one lead;
2. a card without ``lead_id`` joins the lead of another card with the same
   normalised phone (``+86``, spaces, dashes removed on load) that has one;
3. cards without ``lead_id`` that share a phone are one lead, named after
   the ``card_id`` of its earliest card;
4. a card with neither is a lead of its own, named after its ``card_id``
   (or ``cards.csv:ROW`` without one).

A phone on more than ``settings.leads.max_cards_per_phone`` cards is a
placeholder (13800000000, 00000000000), not a person: it links nothing.

On load, ``lead_id`` is filled for every card (the lead it belongs to) and
``lead_linked_by`` says how (``lead_id``, ``phone``, ``card``). Exported
cards therefore carry the link explicitly.

Checks (:func:`link_cards`): a last contact or closing date before the
lead was registered, or after today, is an error; a lead with two
consultants, a deposit card whose lead has no A-card, a consultant missing
from dealer.toml's ``[team]``, an event_id missing from events, a closing
date on an open card and placeholder phones are notices (the data can still
be used, and the notice says how it was read).

Edits of kind ``lead_update`` (:mod:`territory.inputs.journal`) are applied
here, on the cards, when a workspace is loaded: see :func:`apply_lead_updates`.

Examples
--------
>>> import pandas as pd
>>> cards = pd.DataFrame({
...     "card_id": ["A1", "D1", "A2", "A3"], "card_type": ["A", "deposit", "A", "A"],
...     "date": pd.to_datetime(["2026-05-01", "2026-05-09", "2026-05-02", "2026-05-03"]),
...     "phone": ["13812341234", "13812341234", None, None],
...     "lead_id": [None, None, None, "L7"]})
>>> linked = link_leads(cards)
>>> linked["lead_id"].tolist(), linked["lead_linked_by"].tolist()
(['A1', 'A1', 'A2', 'L7'], ['phone', 'phone', 'card', 'lead_id'])
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from territory._errors import NOTICE, Problem, ProblemList
from territory.inputs.journal import JOURNAL_FILE, Kind, register_kind
from territory.settings import Settings

__all__ = [
    "LEAD_FIELDS",
    "LINKED_BY",
    "apply_lead_updates",
    "lead_status",
    "link_cards",
    "link_leads",
]

#: How a card was put in its lead.
LINKED_BY: tuple[str, ...] = ("lead_id", "phone", "card")
#: Lead-level fields a ``lead_update`` edit can set.
LEAD_FIELDS: tuple[str, ...] = (
    "last_contact",
    "grade",
    "status",
    "closed_date",
    "lost_reason",
    "consultant",
)
_PHONE_LIKE = r"\+?\d{7,15}"

register_kind(
    Kind(
        "lead_update",
        key="lead_id",
        fields=(*LEAD_FIELDS, "note", "before", "card_ids"),
        applier="territory.inputs.leadlink:apply_lead_updates",
        description="a follow-up contact, grade, status or consultant change of one lead",
    )
)


def _text(values: pd.Series | None, n: int) -> pd.Series:
    """Stripped text with NA for missing or blank values (object dtype, RangeIndex)."""
    if values is None:
        return pd.Series([None] * n, dtype=object)
    out = values.astype(object).where(values.notna(), None)
    out = pd.Series(out.to_numpy(), dtype=object)
    has = out.notna()
    if has.any():
        stripped = out[has].astype(str).str.strip()
        out[has] = stripped.where(stripped.ne(""), None)
    return out


def link_leads(
    cards: pd.DataFrame,
    *,
    rows: pd.Series | np.ndarray | None = None,
    file: str = "cards.csv",
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The lead of every card: ``lead_id`` (filled) and ``lead_linked_by``.

    Parameters
    ----------
    cards
        Cards with ``card_id``, ``date`` and, when present, ``lead_id`` and
        ``phone`` (normalised).
    rows
        The user's row number of each card (names cards without a card_id).
    file
        The cards file's name (names cards without a card_id).
    settings
        ``settings.leads.max_cards_per_phone``.

    Returns
    -------
    DataFrame
        Aligned to ``cards`` (same index): ``lead_id``, ``lead_linked_by``;
        ``attrs["placeholder_phones"]`` lists phones too common to link.
    """
    ls = (settings or Settings()).leads
    n = len(cards)
    explicit = _text(cards.get("lead_id"), n)
    phone = _text(cards.get("phone"), n)
    card_id = _text(cards.get("card_id"), n)
    row_numbers = (
        np.asarray(rows, dtype="int64") if rows is not None else np.arange(n, dtype="int64") + 2
    )
    fallback = pd.Series([f"{file}:{r}" for r in row_numbers], dtype=object) if n else card_id
    card_ref = card_id.where(card_id.notna(), fallback)

    phone_ok = phone.notna() & phone.astype(str).str.fullmatch(_PHONE_LIKE).fillna(False)
    counts = phone[phone_ok].value_counts()
    placeholders = counts.index[counts > ls.max_cards_per_phone]
    phone_ok &= ~phone.isin(placeholders)

    if "date" in cards.columns:
        dates = pd.to_datetime(pd.Series(cards["date"].to_numpy()), errors="coerce")
    else:
        dates = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    order = np.lexsort((np.arange(n), dates.isna().to_numpy(), dates.to_numpy()))

    lead = explicit.copy()
    linked_by = pd.Series(np.where(explicit.notna(), "lead_id", None), dtype=object)
    has_explicit = explicit.notna()

    # 2. a phone that has a lead_id on another card (the earliest one)
    both = (has_explicit & phone_ok).to_numpy()
    if both.any():
        first = pd.Series(explicit.to_numpy()[order], index=phone.to_numpy()[order])
        first = first[both[order]]
        first = first[~first.index.duplicated()]
        want = (~has_explicit & phone_ok).to_numpy()
        found = phone[want].map(first)
        hit = found.notna()
        lead[found.index[hit]] = found[hit]
        linked_by[found.index[hit]] = "phone"

    # 3. shared phones without any lead_id: named after the earliest card
    rest = (lead.isna() & phone_ok).to_numpy()
    derived = np.zeros(n, dtype=bool)
    if rest.any():
        sorted_rest = order[rest[order]]
        first_ref = pd.Series(card_ref.to_numpy()[sorted_rest], index=phone.to_numpy()[sorted_rest])
        first_ref = first_ref[~first_ref.index.duplicated()]
        lead[rest] = phone[rest].map(first_ref).to_numpy()
        linked_by[rest] = "phone"
        derived |= rest

    # 4. a card on its own
    alone = lead.isna().to_numpy()
    lead[alone] = card_ref[alone].to_numpy()
    linked_by[alone] = "card"
    derived |= alone

    # A derived name that is some other lead's lead_id gets a suffix.
    if derived.any() and has_explicit.any():
        taken = set(explicit.dropna())
        clash = derived & lead.isin(taken).to_numpy()
        for i in np.flatnonzero(clash):
            base, k = str(lead[i]), 2
            while f"{base}~{k}" in taken:
                k += 1
            lead[i] = f"{base}~{k}"  # every card of the group gets the same new name
    out = pd.DataFrame({"lead_id": lead.to_numpy(), "lead_linked_by": linked_by.to_numpy()})
    out.index = cards.index
    out.attrs["placeholder_phones"] = [str(p) for p in placeholders]
    return out


def lead_status(cards: pd.DataFrame, lead_ids: pd.Series) -> pd.Series:
    """Each lead's status: ``won`` if a card of it is won, else ``lost`` if one is lost, else ``open``.

    Returned per lead (index = lead_id).

    Examples
    --------
    >>> import pandas as pd
    >>> cards = pd.DataFrame({"status": ["open", "won", None]})
    >>> lead_status(cards, pd.Series(["L1", "L1", "L2"])).to_dict()
    {'L1': 'won', 'L2': 'open'}
    """
    status = (
        pd.Series(cards["status"].to_numpy(), dtype=object)
        if "status" in cards.columns
        else pd.Series([None] * len(cards), dtype=object)
    )
    keys = pd.Series(np.asarray(lead_ids, dtype=object))
    won = status.eq("won").groupby(keys, sort=False).any()
    lost = status.eq("lost").groupby(keys, sort=False).any()
    return pd.Series(np.where(won, "won", np.where(lost, "lost", "open")), index=won.index)


# ----------------------------------------------------------------------------- loading


def link_cards(
    cards: pd.DataFrame,
    *,
    rows: pd.Series | np.ndarray | None,
    file: str,
    problems: ProblemList,
    team=None,
    event_ids: pd.Series | None = None,
    settings: Settings | None = None,
    today: dt.date | None = None,
    label=None,
) -> pd.DataFrame:
    """Link the loaded cards into leads and check them; return the cards with ``lead_id`` filled.

    Errors and notices go to ``problems`` with the user's file, rows and
    columns (see the module notes). ``team`` is dealer.toml's
    :class:`~territory.inputs.dealer.Team`; ``event_ids`` the events layer's
    ids; ``today`` defaults to the computer's date; ``label(column)`` gives
    a column as the user named it (``最近跟进日期 (last_contact)``).
    """
    settings = settings or Settings()
    today = today or dt.date.today()
    n = len(cards)
    rows = (
        pd.Series(np.asarray(rows, dtype="int64"))
        if rows is not None and len(rows) == n
        else pd.Series(np.arange(n, dtype="int64") + 2)
    )
    linked = link_leads(cards, rows=rows, file=file, settings=settings)
    out = cards.copy()
    out["lead_id"] = linked["lead_id"].astype("str")
    out.insert(
        out.columns.get_loc("lead_id") + 1,
        "lead_linked_by",
        linked["lead_linked_by"].astype("str"),
    )
    if n == 0:
        return out
    lead = pd.Series(linked["lead_id"].to_numpy(), dtype=object)
    by = pd.Series(linked["lead_linked_by"].to_numpy(), dtype=object)
    date = pd.Series(pd.to_datetime(cards["date"]).to_numpy())
    start = date.groupby(lead).transform("min")
    limit = pd.Timestamp(today) + pd.Timedelta(days=settings.leads.future_slack_days)

    def flag(mask: pd.Series, key: str, column: str, *, severity: str = "error", **fields) -> None:
        mask = mask.fillna(False).to_numpy(dtype=bool)
        if mask.any():
            first = int(np.flatnonzero(mask)[0])
            problems.add(
                file,
                key,
                column=label(column) if label else column,
                rows=rows[mask],
                severity=severity,
                lead=str(lead[first]),
                **{k: (v[first] if isinstance(v, pd.Series) else v) for k, v in fields.items()},
            )

    for column in ("last_contact", "closed_date"):
        if column not in cards.columns:
            continue
        value = pd.Series(pd.to_datetime(cards[column]).to_numpy())
        flag(
            value < start,
            "err.lead_date_before_start",
            column,
            found=value.dt.strftime("%Y-%m-%d"),
            start=start.dt.strftime("%Y-%m-%d"),
        )
        flag(
            value > limit,
            "err.lead_date_future",
            column,
            found=value.dt.strftime("%Y-%m-%d"),
            today=today.isoformat(),
        )

    status = (
        pd.Series(cards["status"].to_numpy(), dtype=object)
        if "status" in cards.columns
        else pd.Series([None] * n, dtype=object)
    )
    if "closed_date" in cards.columns:
        closed = pd.Series(pd.to_datetime(cards["closed_date"]).to_numpy()).notna()
        flag(
            closed & ~status.isin(("won", "lost")),
            "notice.closed_date_open",
            "closed_date",
            severity=NOTICE,
        )

    consultant = _text(cards.get("consultant"), n)
    if consultant.notna().any():
        order = np.lexsort((np.arange(n), date.to_numpy()))
        latest = (
            pd.Series(consultant.to_numpy()[order], index=lead.to_numpy()[order])
            .dropna()
            .groupby(level=0, sort=False)
            .last()
        )
        current = lead.map(latest)
        two = consultant.notna() & consultant.ne(current)
        flag(
            two,
            "notice.lead_two_consultants",
            "consultant",
            severity=NOTICE,
            found=consultant,
            kept=current,
        )
        names = tuple(getattr(team, "consultants", ()) or ())
        if names:
            unknown = consultant.notna() & ~consultant.isin(names)
            flag(
                unknown,
                "notice.consultant_not_in_team",
                "consultant",
                severity=NOTICE,
                found=consultant,
                known=", ".join(names),
            )

    card_type = pd.Series(cards["card_type"].to_numpy(), dtype=object)
    has_a = card_type.eq("A").groupby(lead).transform("any")
    flag(
        card_type.eq("deposit") & ~has_a & by.ne("card"),
        "notice.deposit_without_a_card",
        "lead_id" if "lead_id" in cards.columns else "phone",
        severity=NOTICE,
    )

    if event_ids is not None and "event_id" in cards.columns:
        known_events = set(_text(pd.Series(event_ids), len(event_ids)).dropna())
        event = _text(cards["event_id"], n)
        flag(
            event.notna() & ~event.isin(known_events),
            "notice.card_event_unknown",
            "event_id",
            severity=NOTICE,
            found=event,
        )

    placeholders = linked.attrs.get("placeholder_phones", [])
    if placeholders:
        phone = _text(cards.get("phone"), n)
        flag(
            phone.isin(placeholders),
            "notice.placeholder_phone",
            "phone",
            severity=NOTICE,
            limit=settings.leads.max_cards_per_phone,
        )
    return out


# ----------------------------------------------------------------------------- journal edits


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.date):
        return pd.Timestamp(value).date().isoformat()
    return str(value)


def _norm(field: str, value: Any) -> Any:
    """A lead field's value in the journal's plain form (ISO dates, text or None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if field in ("last_contact", "closed_date"):
        return _iso(value)
    text = str(value).strip()
    return text or None


def current_values(cards: pd.DataFrame, positions: np.ndarray) -> dict[str, Any]:
    """A lead's fields as the cards at ``positions`` say today (see the module notes)."""
    sub = cards.iloc[positions]
    order = np.lexsort((np.arange(len(sub)), pd.to_datetime(sub["date"]).to_numpy()))
    sub = sub.iloc[order]

    def last(column: str) -> Any:
        if column not in sub.columns:
            return None
        values = sub[column].dropna()
        values = values[values.astype(str).str.strip().ne("")]
        return values.iloc[-1] if len(values) else None

    status = sub["status"].astype(object) if "status" in sub.columns else pd.Series(dtype=object)
    lead_status = "won" if status.eq("won").any() else "lost" if status.eq("lost").any() else "open"
    closing = sub[status.isin((lead_status,))] if lead_status != "open" else sub.iloc[0:0]
    contact = sub["last_contact"].max() if "last_contact" in sub.columns else None
    return {
        "last_contact": _norm("last_contact", contact),
        "grade": _norm("grade", last("grade")),
        "status": lead_status,
        "closed_date": _norm(
            "closed_date", closing["closed_date"].max() if "closed_date" in closing else None
        ),
        "lost_reason": _norm(
            "lost_reason",
            closing["lost_reason"].dropna().iloc[-1]
            if "lost_reason" in closing and closing["lost_reason"].notna().any()
            else None,
        ),
        "consultant": _norm("consultant", last("consultant")),
    }


def _set(cards: pd.DataFrame, positions: np.ndarray, field: str, value: Any) -> None:
    """Write a lead-level ``value`` of ``field`` onto the right cards (in place)."""
    dates = pd.to_datetime(cards["date"].iloc[positions]).to_numpy()
    order = positions[np.lexsort((np.arange(len(positions)), dates))]
    latest = order[-1]
    col = cards.columns.get_loc(field) if field in cards.columns else None
    if col is None:
        return
    if field in ("last_contact", "closed_date"):
        stamp = pd.Timestamp(value) if value is not None else pd.NaT
        if field == "last_contact":
            # the latest card registered on or before the contact, so the contact
            # never predates the card that carries it
            on_or_before = order[pd.to_datetime(cards["date"].iloc[order]).to_numpy() <= stamp]
            target = on_or_before[-1] if len(on_or_before) else order[0]
            cards.iloc[positions, col] = pd.NaT
            cards.iloc[target, col] = stamp
        else:
            cards.iloc[positions, col] = pd.NaT
            status = cards["status"].iloc[order].astype(object)
            closing = order[status.isin(("won", "lost")).to_numpy()]
            cards.iloc[closing[-1] if len(closing) else latest, col] = stamp
        return
    if field == "consultant":
        cards.iloc[positions, col] = value
        return
    if field == "status":
        status = cards["status"].iloc[positions].astype(object)
        closed = positions[status.isin(("won", "lost")).to_numpy()]
        if value == "open":
            cards.iloc[closed, col] = "open"
        else:
            cards.iloc[closed, col] = "open"
            cards.iloc[latest, col] = value
        return
    if field == "lost_reason":
        cards.iloc[positions, col] = None
        status = cards["status"].iloc[order].astype(object)
        lost = order[status.eq("lost").to_numpy()]
        cards.iloc[lost[-1] if len(lost) else latest, col] = value
        return
    cards.iloc[latest, col] = value  # grade: the latest card says the current grade


def apply_lead_updates(ws, entries) -> tuple[Any, list[Problem]]:
    """Replay ``lead_update`` edits on ``ws.cards``; return the new workspace and notices.

    Per lead and field, the journal holds a chain of values ``before → v1 →
    … → vn``. When the cards still say ``before`` (or one of the values
    ``v1 … vn``: an export of the merged data was imported back), the
    chain is applied and the field becomes ``vn``. When the cards say
    something else, cards.csv was changed after the edit (e.g. a new DMS
    export): the file is newer and wins, and a notice says so. A last
    contact only ever moves forward: the later of the file's and the
    journal's date stands.

    Edits whose lead is gone from the cards are reported as notices and
    kept in the journal.
    """
    import dataclasses

    cards = ws.cards
    if cards is None or len(cards) == 0 or "lead_id" not in cards.columns:
        problems = ProblemList()
        problems.add(
            JOURNAL_FILE,
            "notice.journal_lead_missing",
            severity=NOTICE,
            n=len({e.key for e in entries}),
            leads=", ".join(sorted({e.key for e in entries})[:10]),
        )
        return ws, list(problems)
    cards = cards.copy()
    keys = {e.key for e in entries}
    card_ids = {c for e in entries for c in e.data.get("card_ids", ())}
    lead_col = cards["lead_id"].astype(object)
    mask = lead_col.isin(keys).to_numpy()
    if card_ids and "card_id" in cards.columns:
        by_card = cards["card_id"].astype(object).isin(card_ids).to_numpy()
        mask |= lead_col.isin(set(lead_col[by_card])).to_numpy()
    positions_of = (
        pd.Series(np.flatnonzero(mask)).groupby(lead_col[mask].to_numpy()).apply(np.asarray)
    )
    card_lead = (
        dict(zip(cards["card_id"][mask].astype(object), lead_col[mask], strict=True))
        if "card_id" in cards.columns
        else {}
    )
    for column in LEAD_FIELDS:
        if column not in cards.columns:
            cards[column] = (
                pd.Series(pd.NaT, index=cards.index, dtype="datetime64[ns]")
                if column in ("last_contact", "closed_date")
                else pd.Series(None, index=cards.index, dtype="str")
            )

    missing: list[str] = []
    chains: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    for entry in entries:
        lead = entry.key if entry.key in positions_of.index else None
        if lead is None:
            lead = next(
                (card_lead[c] for c in entry.data.get("card_ids", ()) if c in card_lead), None
            )
        if lead is None:
            missing.append(entry.key)
            continue
        before = entry.data.get("before", {}) or {}
        for field in LEAD_FIELDS:
            if field in entry.data:
                chains.setdefault((lead, field), []).append(
                    (_norm(field, before.get(field)), _norm(field, entry.data[field]))
                )

    superseded: dict[str, list[str]] = {}
    for (lead, field), chain in chains.items():
        positions = positions_of[lead]
        now = current_values(cards, positions)[field]
        final = chain[-1][1]
        if field == "last_contact":
            latest = max(v for _, v in chain if v is not None) if any(v for _, v in chain) else None
            if latest is not None and (now is None or latest > now):
                _set(cards, positions, field, latest)
            continue
        values = [chain[0][0], *[v for _, v in chain]]
        if now == final:
            continue
        if now in values:
            _set(cards, positions, field, final)
        else:
            superseded.setdefault(field, []).append(lead)

    problems = ProblemList()
    if missing:
        unique = sorted(set(missing))
        problems.add(
            JOURNAL_FILE,
            "notice.journal_lead_missing",
            severity=NOTICE,
            n=len(unique),
            leads=", ".join(unique[:10]),
        )
    for field, leads in superseded.items():
        problems.add(
            JOURNAL_FILE,
            "notice.journal_superseded",
            column=field,
            severity=NOTICE,
            n=len(leads),
            leads=", ".join(sorted(leads)[:10]),
        )
    if "closed_date" in cards.columns:
        cards["closed_date"] = pd.to_datetime(cards["closed_date"]).astype("datetime64[ns]")
    cards["last_contact"] = pd.to_datetime(cards["last_contact"]).astype("datetime64[ns]")
    return dataclasses.replace(ws, cards=cards), list(problems)

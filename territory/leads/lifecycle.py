"""The lead lifecycle of seed 001 (销售线索管理): register → grade → follow up → won or lost.

:func:`lead_table` turns the cards into one row per lead (cards were linked
into leads on load, :mod:`territory.inputs.leadlink`). A lead

- starts on the date of its first card (normally its A-card);
- has the grade of its latest graded card (H/A/B/C, seed 001);
- is ``won`` once a card of it is won, ``lost`` once one is lost (战败 and
  失控 both read as lost), and ``open`` until then;
- was last contacted on the latest ``last_contact`` of its cards;
- is followed up by the consultant of its latest card that names one, and
  came from the ``source`` / ``event_id`` of its first card that names one.

:func:`record_updates` writes what a consultant did — a contact, a new
grade, a won or lost lead, a hand-over — to the workspace's journal
(:mod:`territory.inputs.journal`, kind ``lead_update``) after checking it:
the CLI, the app and a refresh then all see it, and ``territory export``
gives it back as plain files.

Examples
--------
>>> import pandas as pd
>>> cards = pd.DataFrame({
...     "lead_id": ["L1", "L1", "L2"], "card_id": ["A1", "D1", "A2"],
...     "card_type": ["A", "deposit", "A"],
...     "date": pd.to_datetime(["2026-05-01", "2026-05-09", "2026-05-02"]),
...     "grade": ["B", "H", None], "status": ["open", "won", None],
...     "last_contact": pd.to_datetime(["2026-05-03", None, None])})
>>> leads = lead_table(cards)
>>> leads[["lead_id", "card_id", "grade", "status"]].values.tolist()
[['L1', 'A1', 'H', 'won'], ['L2', 'A2', None, 'open']]
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from territory.inputs.journal import Edit, Journal
from territory.inputs.leadlink import LEAD_FIELDS, link_leads
from territory.settings import Settings
from territory.vocab import CARD_STATUSES, GRADES, normalise_code

__all__ = [
    "LEAD_COLUMNS",
    "LeadUpdate",
    "UpdateError",
    "check_updates",
    "data_end",
    "lead_table",
    "parse_day",
    "record_updates",
]

#: Columns of :func:`lead_table`, in order.
LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "card_id",
    "start",
    "a_date",
    "deposit_date",
    "grade",
    "status",
    "closed_date",
    "lost_reason",
    "consultant",
    "source",
    "event_id",
    "last_contact",
    "zone_id",
    "district",
    "name",
    "phone",
    "model",
    "cards",
)
_TEXT_COLUMNS = (
    "lead_id",
    "card_id",
    "grade",
    "status",
    "lost_reason",
    "consultant",
    "source",
    "event_id",
    "zone_id",
    "district",
    "name",
    "phone",
    "model",
)
_RANK_STATUS = np.array(["open", "lost", "won"], dtype=object)


class _Groups:
    """Cards sorted by lead, then date (unknown last), then file order; per-lead picks in numpy.

    Text columns are never turned into Python strings wholesale: a pick finds
    each lead's row by position and takes only those values.
    """

    def __init__(self, cards: pd.DataFrame, lead_ids) -> None:
        self.cards = cards
        self._dates: dict[str, np.ndarray] = {}
        codes, uniques = pd.factorize(lead_ids)
        self.n = len(uniques)
        self.uniques = np.asarray(uniques, dtype=object)
        date = self.dates("date")
        day = date.view("int64") // 86_400_000_000_000
        day = np.where(
            np.isnat(date),
            0,
            day - day[~np.isnat(date)].min() + 1 if (~np.isnat(date)).any() else 0,
        )
        day = np.where(np.isnat(date), (1 << 22) - 1, day)  # unknown dates last
        key = (codes.astype("int64") << 22) | day.astype("int64")
        self.order = np.argsort(key, kind="stable")  # stable: file order within a day
        self.lead = codes[self.order]
        edge = np.r_[True, self.lead[1:] != self.lead[:-1]]
        self.starts = np.flatnonzero(edge)
        self.counts = np.diff(np.r_[self.starts, len(self.lead)])
        self._known: dict[str, np.ndarray] = {}

    def dates(self, column: str) -> np.ndarray:
        """A date column in file order (datetime64[ns]; NaT when missing), converted once."""
        if column not in self._dates:
            if column not in self.cards.columns:
                values = np.full(len(self.cards), np.datetime64("NaT"), dtype="datetime64[ns]")
            else:
                values = pd.to_datetime(self.cards[column]).to_numpy(dtype="datetime64[ns]")
            self._dates[column] = values
        return self._dates[column]

    def known(self, column: str) -> np.ndarray:
        """Sorted mask of the rows where ``column`` is known (not missing, not blank)."""
        if column not in self._known:
            if column not in self.cards.columns:
                self._known[column] = np.zeros(len(self.lead), dtype=bool)
            else:
                values = self.cards[column]
                mask = values.notna()
                if not pd.api.types.is_numeric_dtype(values):
                    mask &= values.ne("").fillna(False)
                self._known[column] = mask.to_numpy(dtype=bool)[self.order]
        return self._known[column]

    def pick(self, column: str, *, last: bool = False, among: np.ndarray | None = None):
        """Per lead, the first (or last) known value of ``column`` (among rows ``among``)."""
        out = np.full(self.n, None, dtype=object)
        keep = self.known(column)
        if among is not None:
            keep = keep & among
        rows = np.flatnonzero(keep)
        if not len(rows):
            return out
        leads = self.lead[rows]
        if last:
            ends = np.flatnonzero(np.r_[leads[1:] != leads[:-1], True])
        else:
            ends = np.flatnonzero(np.r_[True, leads[1:] != leads[:-1]])
        positions = self.order[rows[ends]]
        out[leads[ends]] = self.cards[column].iloc[positions].to_numpy(dtype=object)
        return out

    def date_max(self, column: str, *, among: np.ndarray | None = None) -> np.ndarray:
        values = self.dates(column)[self.order].view("int64").copy()
        nat = np.iinfo("int64").min
        if among is not None:
            values[~among] = nat
        return np.maximum.reduceat(values, self.starts).view("datetime64[ns]")

    def date_min(self, column: str, *, among: np.ndarray | None = None) -> np.ndarray:
        values = self.dates(column)[self.order]
        ints = values.view("int64").copy()
        ints[np.isnat(values)] = np.iinfo("int64").max
        if among is not None:
            ints[~among] = np.iinfo("int64").max
        low = np.minimum.reduceat(ints, self.starts)
        low[low == np.iinfo("int64").max] = np.iinfo("int64").min
        return low.view("datetime64[ns]")

    def is_value(self, column: str, value: str) -> np.ndarray:
        """Sorted mask of the rows whose ``column`` is ``value``."""
        if column not in self.cards.columns:
            return np.zeros(len(self.lead), dtype=bool)
        return self.cards[column].eq(value).fillna(False).to_numpy(dtype=bool)[self.order]


def lead_table(cards: pd.DataFrame | None, *, settings: Settings | None = None) -> pd.DataFrame:
    """One row per lead, oldest first (see the module notes for each column's rule).

    Parameters
    ----------
    cards
        Loaded cards (``ws.cards``): ``lead_id`` is used when present,
        otherwise the cards are linked here (:func:`territory.inputs.leadlink.link_leads`).
    settings
        Used only to link cards that were not linked on load.

    Returns
    -------
    DataFrame
        :data:`LEAD_COLUMNS`: ``start``, ``a_date``, ``deposit_date``,
        ``closed_date`` and ``last_contact`` are datetime64 (NaT when
        unknown); ``closed_date`` is NaT for open leads; ``lost_reason`` is
        None unless the lead is lost; ``cards`` counts the lead's cards.
    """
    if cards is None or len(cards) == 0:
        return _empty_leads()
    if "lead_id" in cards.columns and cards["lead_id"].notna().all():
        lead_ids = cards["lead_id"]
    else:
        lead_ids = link_leads(cards, settings=settings)["lead_id"]
    g = _Groups(cards, lead_ids)
    is_a = g.is_value("card_type", "A")
    is_d = g.is_value("card_type", "deposit")
    won = g.is_value("status", "won")
    lost = g.is_value("status", "lost")
    rank = np.maximum.reduceat(np.where(won, 2, np.where(lost, 1, 0)), g.starts)
    status = _RANK_STATUS[rank]
    closed = status != "open"
    first_card = g.pick("card_id")
    a_card = g.pick("card_id", among=is_a)
    closed_date = g.date_max("closed_date")
    closed_date[~closed] = np.datetime64("NaT")
    lost_reason = g.pick("lost_reason", last=True, among=lost)
    lost_reason[status != "lost"] = None
    columns = {
        "lead_id": g.uniques,
        "card_id": np.where(pd.isna(a_card), first_card, a_card),
        "start": g.dates("date")[g.order][g.starts],
        "a_date": g.date_min("date", among=is_a),
        "deposit_date": g.date_min("date", among=is_d),
        "grade": g.pick("grade", last=True),
        "status": status,
        "closed_date": closed_date,
        "lost_reason": lost_reason,
        "consultant": g.pick("consultant", last=True),
        "source": g.pick("source"),
        "event_id": g.pick("event_id"),
        "last_contact": g.date_max("last_contact"),
        "zone_id": g.pick("zone_id"),
        "district": g.pick("district"),
        "name": g.pick("name"),
        "phone": g.pick("phone"),
        "model": g.pick("model", last=True),
        "cards": g.counts.astype("int64"),
    }
    out = pd.DataFrame(  # text as object columns with None (not inferred as str with NaN)
        {k: pd.Series(v, dtype=object) if k in _TEXT_COLUMNS else v for k, v in columns.items()}
    )
    order = np.lexsort((out["lead_id"].to_numpy(dtype=object).astype(str), out["start"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _empty_leads() -> pd.DataFrame:
    dates = {"start", "a_date", "deposit_date", "closed_date", "last_contact"}
    return pd.DataFrame(
        {
            c: pd.Series(
                dtype="datetime64[ns]" if c in dates else ("int64" if c == "cards" else object)
            )
            for c in LEAD_COLUMNS
        }
    )


def parse_day(value, name: str = "date") -> pd.Timestamp | None:
    """A whole day from an ISO text (``2026-11-16``), a date or a Timestamp; None stays None.

    Raises
    ------
    ValueError
        Naming ``name`` and the value, if it is not a date (only ISO text is read, so
        ``"May"`` is refused rather than taken as this year's May).
    """
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(
            dt.date.fromisoformat(value.strip()) if isinstance(value, str) else value
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a date such as 2026-06-30; got {value!r}") from exc
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a date such as 2026-06-30; got {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def data_end(cards: pd.DataFrame | None) -> pd.Timestamp | None:
    """The date of the latest card: how fresh the export of the cards is.

    Only registration dates count: contacts recorded in the app later do not
    make an old export look fresh.
    """
    if cards is None or len(cards) == 0 or "date" not in cards.columns:
        return None
    latest = pd.to_datetime(cards["date"]).max()
    return latest.normalize() if pd.notna(latest) else None


# ----------------------------------------------------------------------------- updates


class UpdateError(ValueError):
    """A lead update that cannot be recorded; ``problems`` are ``(key, fields)`` catalogue messages."""

    def __init__(self, problems: list[tuple[str, dict[str, Any]]], lang: str = "zh") -> None:
        from territory.i18n import t

        self.problems = problems
        self.lang = lang
        super().__init__("; ".join(t(k, lang, **f) for k, f in problems))

    def messages(self, lang: str | None = None) -> list[str]:
        """Each problem in ``lang``."""
        from territory.i18n import t

        return [t(k, lang or self.lang, **f) for k, f in self.problems]


@dataclass(frozen=True)
class LeadUpdate:
    """What happened to one lead (every field optional except ``lead_id``).

    ``contacted``: the date of a follow-up contact (a call, a visit);
    ``grade``: the lead's new grade (H/A/B/C); ``status``: ``open``,
    ``won`` or ``lost``; ``lost_reason``: why it was lost (战败原因);
    ``closed``: when it was won or lost (default: ``contacted``, else the
    day it is recorded); ``consultant``: hand the lead over; ``note``: kept
    in the journal only.
    """

    lead_id: str
    contacted: dt.date | None = None
    grade: str | None = None
    status: str | None = None
    lost_reason: str | None = None
    closed: dt.date | None = None
    consultant: str | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _day(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    return parse_day(value).date()


def check_updates(
    leads: pd.DataFrame,
    updates: list[LeadUpdate],
    *,
    team=None,
    today: dt.date | None = None,
    settings: Settings | None = None,
) -> list[Edit]:
    """Check ``updates`` against the current leads; return the journal edits to append.

    Each edit records the lead's values before the change (``before``: the
    journal's merge rule needs them) and the lead's card ids (to find it
    again should its lead_id change).

    Raises
    ------
    UpdateError
        Listing every problem: an unknown lead, grade, status or consultant;
        a date before the lead was registered or after today; a lost reason
        on a lead that is not lost; an update that changes nothing.
    """
    settings = settings or Settings()
    today = today or dt.date.today()
    limit = today + dt.timedelta(days=settings.leads.future_slack_days)
    by_id = leads.set_index("lead_id", drop=False)
    names = tuple(getattr(team, "consultants", ()) or ())
    problems: list[tuple[str, dict[str, Any]]] = []
    edits: list[Edit] = []
    for u in updates:
        lead_id = str(u.lead_id).strip()
        known_problems = len(problems)
        if lead_id not in by_id.index:
            problems.append(("update.unknown_lead", {"lead": lead_id}))
            continue
        row = by_id.loc[lead_id]
        start = pd.Timestamp(row["start"]).date() if pd.notna(row["start"]) else None
        data: dict[str, Any] = {}
        before = _before(row)
        try:
            contacted = _day(u.contacted)
            closed = _day(u.closed)
        except ValueError:
            problems.append(
                ("update.bad_date", {"lead": lead_id, "found": f"{u.contacted} {u.closed}"})
            )
            continue
        for what, day in (("contacted", contacted), ("closed", closed)):
            if day is None:
                continue
            if start is not None and day < start:
                problems.append(
                    (
                        "update.before_start",
                        {"lead": lead_id, "found": day.isoformat(), "start": start.isoformat()},
                    )
                )
            elif day > limit:
                problems.append(
                    (
                        "update.future",
                        {"lead": lead_id, "found": day.isoformat(), "today": today.isoformat()},
                    )
                )
            elif what == "contacted":
                data["last_contact"] = day.isoformat()
        if u.grade is not None:
            grade = normalise_code(u.grade, GRADES)
            if grade is None:
                problems.append(
                    (
                        "update.bad_grade",
                        {"lead": lead_id, "found": u.grade, "expected": "H, A, B, C"},
                    )
                )
            else:
                data["grade"] = grade
        status = None
        if u.status is not None:
            status = normalise_code(u.status, CARD_STATUSES)
            if status is None:
                problems.append(
                    (
                        "update.bad_status",
                        {"lead": lead_id, "found": u.status, "expected": "open, won, lost"},
                    )
                )
            elif status != row["status"]:
                data["status"] = status
                if status in ("won", "lost"):
                    day = closed or contacted or today
                    if start is None or day >= start:
                        data["closed_date"] = day.isoformat()
                else:
                    data["closed_date"] = None
                    data["lost_reason"] = None
        reason = (u.lost_reason or "").strip() if u.lost_reason is not None else None
        if reason:
            if (status or row["status"]) != "lost":
                problems.append(("update.reason_not_lost", {"lead": lead_id}))
            else:
                data["lost_reason"] = unicodedata.normalize("NFKC", reason)
        if u.consultant is not None:
            name = unicodedata.normalize("NFKC", str(u.consultant)).strip()
            if not name:
                problems.append(
                    (
                        "update.bad_consultant",
                        {"lead": lead_id, "found": u.consultant, "known": ", ".join(names) or "-"},
                    )
                )
            elif names and name not in names:
                problems.append(
                    (
                        "update.bad_consultant",
                        {"lead": lead_id, "found": name, "known": ", ".join(names)},
                    )
                )
            elif name != row["consultant"]:
                data["consultant"] = name
        if u.note:
            data["note"] = str(u.note).strip()
        changed = {k: v for k, v in data.items() if k in LEAD_FIELDS}
        if len(problems) > known_problems:
            continue
        if not changed and "note" not in data:
            problems.append(("update.nothing", {"lead": lead_id}))
            continue
        data["before"] = {k: before.get(k) for k in changed}
        data["card_ids"] = sorted(str(x) for x in u.extra.get("card_ids", ()) if x) or (
            [str(row["card_id"])] if row["card_id"] is not None else []
        )
        edits.append(Edit("lead_update", lead_id, data))
    if problems:
        raise UpdateError(problems)
    return edits


def _before(row: pd.Series) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp | np.datetime64):
            return pd.Timestamp(value).date().isoformat()
        return value

    return {k: plain(row.get(k)) for k in LEAD_FIELDS}


def record_updates(
    ws,
    updates: list[LeadUpdate],
    *,
    who: str | None = None,
    origin: str = "api",
    note: str | None = None,
    leads: pd.DataFrame | None = None,
    today: dt.date | None = None,
) -> int:
    """Check ``updates`` and append them to the workspace's journal in one transaction.

    ``ws`` is the loaded workspace (with the journal's earlier edits
    applied, as :func:`~territory.inputs.workspace.load_workspace` gives
    it); ``leads`` its :func:`lead_table` when already computed. Returns the
    journal's batch number.

    Raises
    ------
    UpdateError
        If an update is invalid (nothing is written).
    JournalError
        If the journal cannot be written (nothing is written).

    Examples
    --------
    >>> import tempfile
    >>> from territory.inputs.demo import write_demo
    >>> from territory.inputs.workspace import load_workspace
    >>> ws = load_workspace(write_demo(tempfile.mkdtemp()), use_store=False)
    >>> lead = lead_table(ws.cards).query("status == 'open'").iloc[-1]
    >>> batch = record_updates(ws, [LeadUpdate(lead.lead_id, grade="H")], who="张伟")
    >>> again = load_workspace(ws.root)
    >>> lead_table(again.cards).set_index("lead_id").loc[lead.lead_id, "grade"]
    'H'
    """
    leads = lead_table(ws.cards, settings=ws.settings) if leads is None else leads
    edits = check_updates(leads, updates, team=ws.dealer.team, today=today, settings=ws.settings)
    return Journal(ws.root).append(edits, who=who, origin=origin, note=note)

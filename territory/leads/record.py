"""Recording an outing: the event's facts and the leads of its registration form.

:func:`record_outing` checks what a manager records after (or before) an
outing — the event's status, date, zone, format, cost and staff, and the
filled-in registration form (:mod:`territory.inputs.regform`) — against the
loaded workspace and appends it to the workspace's journal in one
transaction (kinds ``event_record`` and ``form_lead``,
:mod:`territory.inputs.outings`). The user's files are never changed; every
later load replays the journal, and ``territory export`` writes the merged
result.

Any problem — a bad form row (phone, duplicate, date outside the outing's
day, grade), an unknown event id without the facts to create it, a
negative cost, an unknown zone or format, a file that is not our form —
raises :class:`~territory.LayerError` naming the file (or the option), the
row and the column with a fix, and nothing is written.

:func:`plan_sites` records sites chosen on the Sites page as planned events
(the same ``event_record`` kind), so that the review can compare what was
recommended with what was done.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from territory._errors import ERROR, LayerError, Problem, ProblemList
from territory.inputs.journal import Edit, Journal
from territory.inputs.outings import open_lead_by_phone
from territory.inputs.regform import RegistrationForm, read_form
from territory.vocab import EVENT_STATUSES, FORMATS, normalise_code

__all__ = ["OUTING_FILE", "Outing", "RecordResult", "plan_sites", "record_outing"]

#: How problems with the command's options are named (file column of a Problem).
OUTING_FILE = "territory record"
_ID = re.compile(r"^[\w\-.]{1,40}$")


@dataclass(frozen=True)
class Outing:
    """What is recorded about one event (every fact optional except ``event_id``).

    ``form``: a filled-in registration form (XLSX or CSV) whose rows become
    A-cards of the event; ``form_name``: the name to show for it (an upload's
    original name).
    """

    event_id: str
    status: str | None = None
    date: dt.date | str | None = None
    zone_id: str | None = None
    format: str | None = None
    cost: float | str | None = None
    staff: int | str | None = None
    location: str | None = None
    form: Path | str | None = None
    form_name: str | None = None
    note: str | None = None


@dataclass
class RecordResult:
    """What :func:`record_outing` wrote (the contract's ``record`` JSON via :meth:`to_dict`)."""

    event_id: str
    created: bool
    status: str
    date: str | None
    cost: float | None
    leads_added: int
    leads_linked: int
    batch: int | None
    linked: list[dict[str, Any]] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The ``record`` JSON (contract "Additions")."""
        return {
            "event_id": self.event_id,
            "created": self.created,
            "status": self.status,
            "date": self.date,
            "cost": self.cost,
            "leads_added": self.leads_added,
            "leads_linked": self.leads_linked,
            "linked": self.linked,
            "batch": self.batch,
            "notices": [p.to_dict(lang) for p in self.notices],
        }


def _day(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _event_row(ws, event_id: str) -> pd.Series | None:
    events = ws.events
    if events is None or not len(events) or "event_id" not in events:
        return None
    hit = events[events["event_id"].astype(object).eq(event_id)]
    return hit.iloc[0] if len(hit) else None


def record_outing(
    ws,
    outing: Outing,
    *,
    who: str | None = None,
    origin: str = "api",
    today: dt.date | None = None,
    lang: str = "zh",
) -> RecordResult:
    """Check ``outing`` against ``ws`` and append it to the journal (module notes).

    Raises
    ------
    LayerError
        Every problem, with file/option, row and column; nothing written.
    JournalError
        If the journal cannot be written (nothing written).
    """
    today = today or dt.date.today()
    problems = ProblemList()

    def bad(column: str, key: str, **fields: Any) -> None:
        problems.add(OUTING_FILE, key, column=column, **fields)

    event_id = (outing.event_id or "").strip()
    if not _ID.match(event_id):
        bad("--event", "review.bad_event_id", found=outing.event_id or "")
        raise LayerError(problems, lang)
    row = _event_row(ws, event_id)
    created = row is None
    data: dict[str, Any] = {}

    try:
        day = _day(outing.date)
    except ValueError:
        bad("--date", "review.bad_date", found=str(outing.date))
        day = None
    if day is not None:
        data["date"] = day.isoformat()
    status = None
    if outing.status is not None:
        status = normalise_code(outing.status, EVENT_STATUSES)
        if status is None:
            bad("--status", "review.bad_status", found=outing.status)
    zone = (outing.zone_id or "").strip() or None
    if zone is not None:
        if zone not in set(ws.zones["zone_id"].astype(str)):
            bad("--zone", "review.unknown_zone", found=zone)
        else:
            data["zone_id"] = zone
    fmt = None
    if outing.format is not None:
        fmt = normalise_code(outing.format, FORMATS)
        if fmt is None:
            bad("--format", "review.bad_format", found=outing.format, known=", ".join(FORMATS))
        else:
            data["format"] = fmt
    if outing.cost is not None and outing.cost != "":
        try:
            cost = float(outing.cost)
        except (TypeError, ValueError):
            cost = math.nan
        if not math.isfinite(cost) or cost < 0:
            bad("--cost", "review.bad_cost", found=str(outing.cost))
        else:
            data["cost"] = cost
    if outing.staff is not None and outing.staff != "":
        try:
            staff = int(str(outing.staff))
        except ValueError:
            staff = -1
        if staff < 0:
            bad("--staff", "review.bad_staff", found=str(outing.staff))
        else:
            data["staff"] = staff
    if outing.location:
        data["location"] = str(outing.location).strip()

    missing_facts = "date" not in data or "zone_id" not in data or "format" not in data
    if created and missing_facts:
        missing = [
            option
            for option, key in (("--date", "date"), ("--zone", "zone_id"), ("--format", "format"))
            if key not in data
        ]
        bad("--event", "review.unknown_event", found=event_id, missing=", ".join(missing))
    event_day = day or (pd.Timestamp(row["date"]).date() if row is not None else None)
    if outing.form is not None and status is None:
        status = "done"  # a filled-in form means the outing took place
    if status is not None:
        data["status"] = status
    current_status = status or (
        (row.get("status") if row is not None and isinstance(row.get("status"), str) else None)
        or ("planned" if created else "done")
    )
    if current_status == "done" and event_day is not None and event_day > today:
        bad("--status", "review.done_in_future", day=event_day.isoformat(), today=today.isoformat())
    if outing.form is not None and current_status == "cancelled":
        bad("--form", "review.form_on_cancelled", event=event_id)

    form: RegistrationForm | None = None
    if outing.form is not None and not problems.errors:
        team = tuple(getattr(ws.dealer.team, "consultants", ()) or ())
        form = read_form(outing.form, event_date=event_day, file_name=outing.form_name, team=team)
        problems.extend(form.problems)
        if (
            form.title_date is not None
            and event_day is not None
            and form.title_date != event_day
            and not form.problems.errors
        ):
            problems.add(
                form.file,
                "review.form_title_date",
                rows=(1,),
                severity="notice",
                found=form.title_date.isoformat(),
                day=event_day.isoformat(),
            )
    if problems.errors:
        raise LayerError(problems, lang)

    edits: list[Edit] = []
    if data or created:
        note = {"note": outing.note} if outing.note else {}
        edits.append(Edit("event_record", event_id, {**data, **note}))
    added = linked = 0
    linked_rows: list[dict[str, Any]] = []
    if form is not None and len(form.rows):
        previous = _previous_form_cards(ws, event_id)
        by_phone = open_lead_by_phone(ws.cards, exclude=previous)
        taken = set(ws.cards["card_id"].astype(object)) - previous if len(ws.cards) else set()
        for rec in form.rows.to_dict("records"):
            rec = {
                k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rec.items()
            }
            card_id = f"{event_id}-R{int(rec['row']):03d}"
            if card_id in taken:
                raise LayerError(
                    [
                        Problem(
                            form.file,
                            "review.card_id_taken",
                            rows=(int(rec["row"]),),
                            fields={"card": card_id},
                        )
                    ],
                    lang,
                )
            lead = rec.get("lead_id") or by_phone.get(rec["phone"])
            if lead is not None:
                linked += 1
                linked_rows.append({"row": int(rec["row"]), "card_id": card_id, "lead_id": lead})
            else:
                added += 1
            edits.append(
                Edit(
                    "form_lead",
                    card_id,
                    {
                        "event_id": event_id,
                        "date": (rec.get("date") or event_day.isoformat()),
                        "name": rec.get("name"),
                        "phone": rec["phone"],
                        "grade": rec.get("grade"),
                        "model": rec.get("model"),
                        "consultant": rec.get("consultant"),
                        "area": rec.get("area"),
                        "current_car": rec.get("current_car"),
                        "test_drive": rec.get("test_drive"),
                        "remark": rec.get("remark"),
                        "voucher": rec.get("voucher"),
                        "lead_id": lead,
                        "row": int(rec["row"]),
                        "file": form.file,
                    },
                )
            )
    batch = (
        Journal(ws.root).append(edits, who=who, origin=origin, note=f"record {event_id}")
        if edits
        else None
    )
    cost = data.get("cost", row.get("cost") if row is not None else None)
    return RecordResult(
        event_id=event_id,
        created=created,
        status=current_status,
        date=event_day.isoformat() if event_day else None,
        cost=None if cost is None or pd.isna(cost) else float(cost),
        leads_added=added,
        leads_linked=linked,
        batch=batch,
        linked=linked_rows,
        notices=[p for p in problems if p.severity != ERROR],
    )


def _previous_form_cards(ws, event_id: str) -> set:
    """Card ids of the event's earlier form import (replaced by a new one)."""
    cards = ws.cards
    if not len(cards) or "card_id" not in cards:
        return set()
    prefix = f"{event_id}-R"
    ids = cards["card_id"].astype(object)
    mine = ids.astype(str).str.startswith(prefix) & cards["event_id"].astype(object).eq(event_id)
    return set(ids[mine])


def plan_sites(
    ws,
    sites: list[tuple[str, str]],
    *,
    date: dt.date,
    who: str | None = None,
    origin: str = "app",
    cost: dict[str, float] | None = None,
) -> list[str]:
    """Record chosen sites (``[(zone_id, format), ...]``) as planned events on ``date``.

    Each gets a new id ``P<date>-<n>``; a site already planned for that day
    (same zone and date, not cancelled) is not planned twice. Returns the
    event ids written (the same ``event_record`` kind as ``record``).
    """
    events = ws.events
    day = pd.Timestamp(date)
    existing = set()
    if len(events):
        same_day = events[pd.to_datetime(events["date"]).eq(day)]
        status = (
            same_day["status"] if "status" in same_day else pd.Series(None, index=same_day.index)
        )
        keep = ~status.astype(object).eq("cancelled")
        existing = set(same_day.loc[keep, "zone_id"].astype(str))
    known = set(events["event_id"].astype(str)) if len(events) else set()
    zones = set(ws.zones["zone_id"].astype(str))
    edits, ids = [], []
    n = 1
    for zone, fmt in sites:
        if str(zone) not in zones:
            raise KeyError(str(zone))
        if str(zone) in existing:
            continue
        while f"P{date:%Y%m%d}-{n}" in known:
            n += 1
        event_id = f"P{date:%Y%m%d}-{n}"
        known.add(event_id)
        data = {
            "date": date.isoformat(),
            "zone_id": str(zone),
            "format": fmt,
            "status": "planned",
            "origin_page": "sites",
        }
        if cost and zone in cost and math.isfinite(cost[zone]):
            data["cost"] = round(float(cost[zone]), 2)
        edits.append(Edit("event_record", event_id, data))
        ids.append(event_id)
    if edits:
        Journal(ws.root).append(edits, who=who, origin=origin, note="sites added to the plan")
    return ids

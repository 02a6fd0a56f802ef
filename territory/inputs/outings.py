"""Recorded outings: events and the leads of their registration forms, as journal edits.

``territory record`` (and the app's Review page) never rewrites the user's
``events.*`` or ``cards.*``: what a manager records after an outing lives in
the workspace's journal (:mod:`territory.inputs.journal`) as two kinds of
edit, replayed here whenever a workspace is loaded, so every command, the
app and ``territory export`` see the merged result.

``event_record`` (key ``event_id``)
    An event created or updated: any of ``date``, ``zone_id``, ``format``,
    ``cost``, ``staff``, ``status``, ``location`` (plus ``note``,
    ``origin_page``: where it was recorded, e.g. ``sites`` for sites added
    to the plan from the Sites page). Per event and field the latest edit
    wins over the file's value. An event not in the events file is added
    (located by its zone: the zone's representative point).

``form_lead`` (key: the new card's ``card_id``)
    One row of an outing's filled-in registration form (外拓客户登记表), an
    A-card with ``source = outreach`` and the event's id: ``event_id``,
    ``date``, ``name``, ``phone``, ``grade``, ``model``, ``consultant``,
    ``area``, ``current_car``, ``test_drive``, ``remark``, ``voucher``,
    ``lead_id`` (the open lead it was linked to when recorded), ``row`` and
    ``file`` (where it came from). Importing an event's form again replaces
    the earlier import of that event (only the latest batch per event
    counts), so a corrected form never doubles its leads.

Linking (contract "Additions": a phone that is already an open lead is
linked, never doubled): a form card joins the lead named in its edit when
that lead is still in the cards, else an open lead with the same
normalised phone, else it starts a lead of its own named after its card
id. A lead of the files whose first card is on or after the outing's day
and that was linked only by phone (a deposit card typed into cards.csv
later, with the visitor's phone) joins the form card's lead.

Examples
--------
>>> sorted(k for k in KINDS if k in ("event_record", "form_lead"))
['event_record', 'form_lead']
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from territory._errors import NOTICE, Problem, ProblemList
from territory.inputs.journal import JOURNAL_FILE, KINDS, Kind, register_kind

__all__ = [
    "EVENT_FIELDS",
    "FORM_FIELDS",
    "apply_event_records",
    "apply_form_leads",
    "latest_form_entries",
    "normalise_phone",
    "open_lead_by_phone",
]

#: Fields an ``event_record`` edit may set on an event.
EVENT_FIELDS: tuple[str, ...] = ("date", "zone_id", "format", "cost", "staff", "status", "location")
#: Fields of a ``form_lead`` edit.
FORM_FIELDS: tuple[str, ...] = (
    "event_id",
    "date",
    "name",
    "phone",
    "grade",
    "model",
    "consultant",
    "area",
    "current_car",
    "test_drive",
    "remark",
    "voucher",
    "lead_id",
    "row",
    "file",
)

register_kind(
    Kind(
        "event_record",
        key="event_id",
        fields=(*EVENT_FIELDS, "note", "origin_page"),
        applier="territory.inputs.outings:apply_event_records",
        description="an outreach event created or updated (territory record, the Review page, "
        "sites added to the plan)",
        order=0,
    )
)
register_kind(
    Kind(
        "form_lead",
        key="card_id",
        fields=FORM_FIELDS,
        applier="territory.inputs.outings:apply_form_leads",
        description="one row of an outing's registration form, an A-card with source outreach",
        order=1,
    )
)

_MOBILE = r"1[3-9]\d{9}"
_LANDLINE = r"0\d{9,11}"


def normalise_phone(value: Any) -> str | None:
    """A phone as the loader keeps it: NFKC, no spaces/dashes/brackets, no ``+86`` before a mobile.

    >>> normalise_phone("+86 138-1234-5678"), normalise_phone(13812345678.0), normalise_phone(" ")
    ('13812345678', '13812345678', None)
    """
    from territory.inputs.layers import _parse_phones

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _parse_phones(pd.Series([str(value)], dtype=object)).__getitem__(0).iloc[0]
    text = str(text).strip() if text is not None else ""
    return text or None


def valid_phone(phone: str | None) -> bool:
    """A mainland mobile (11 digits from 13…) or a landline with its area code."""
    import re

    return bool(phone) and bool(re.fullmatch(f"{_MOBILE}|{_LANDLINE}", phone))


def open_lead_by_phone(cards: pd.DataFrame | None, *, exclude=()) -> dict[str, str]:
    """Normalised phone → lead_id of the open leads in ``cards`` (cards in ``exclude`` ignored).

    A lead is open until a card of it is won or lost. With two open leads on
    one phone, the earliest one's.
    """
    if cards is None or not len(cards) or "phone" not in cards or "lead_id" not in cards:
        return {}
    frame = cards
    if exclude and "card_id" in frame:
        frame = frame[~frame["card_id"].astype(object).isin(set(exclude))]
    status = (
        frame["status"].astype(object) if "status" in frame else pd.Series(None, index=frame.index)
    )
    lead = frame["lead_id"].astype(object)
    closed = set(lead[status.isin(("won", "lost"))])
    keep = frame["phone"].notna() & ~lead.isin(closed)
    sub = frame.loc[keep, ["phone", "lead_id", "date"]].sort_values("date", kind="stable")
    out: dict[str, str] = {}
    for phone, lead_id in zip(sub["phone"].astype(str), sub["lead_id"].astype(str), strict=True):
        out.setdefault(phone, lead_id)
    return out


def _latest(entries) -> dict[str, dict[str, Any]]:
    """Per key, each field's latest value (edits in journal order)."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for e in entries:
        out[e.key].update(e.data)
    return out


def _zone_points(ws) -> tuple[dict[str, Any], dict[str, Any]]:
    zones = ws.zones
    ids = zones["zone_id"].astype(str).tolist()
    points = zones.geometry.representative_point().tolist()
    district = zones["district"].tolist() if "district" in zones else [None] * len(ids)
    return dict(zip(ids, points, strict=True)), dict(zip(ids, district, strict=True))


def apply_event_records(ws, entries) -> tuple[Any, list[Problem]]:
    """Replay ``event_record`` edits on ``ws.events`` (module notes); return the workspace and notices."""
    latest = _latest(entries)
    events = ws.events.copy()
    problems = ProblemList()
    ids = events["event_id"].astype(object) if "event_id" in events else pd.Series(dtype=object)
    point, district = _zone_points(ws)
    new_rows = []
    unknown_zone = []
    for event_id, data in latest.items():
        fields = {k: v for k, v in data.items() if k in EVENT_FIELDS}
        zone = fields.get("zone_id")
        if zone is not None and str(zone) not in point:
            unknown_zone.append(event_id)
            fields.pop("zone_id")
            zone = None
        hit = np.flatnonzero(ids.eq(event_id).to_numpy())
        if len(hit):
            for name, value in fields.items():
                _set_event(events, hit, name, value)
            if zone is not None:
                events.iloc[hit, events.columns.get_loc("zone_id")] = str(zone)
                events.iloc[hit, events.columns.get_loc("district")] = district[str(zone)]
                events.iloc[hit, events.columns.get_loc("located_by")] = "zone_id"
                events.loc[events.index[hit], "geometry"] = point[str(zone)]
            continue
        if fields.get("date") is None:
            unknown_zone.append(event_id)
            continue
        new_rows.append(
            {
                "event_id": event_id,
                "date": pd.Timestamp(fields["date"]),
                "location": fields.get("location"),
                "format": fields.get("format"),
                "cost": _float(fields.get("cost")),
                "leads": np.nan,
                "sales": np.nan,
                "status": fields.get("status") or "planned",
                "staff": fields.get("staff"),
                "zone_id": str(zone) if zone is not None else None,
                "district": district.get(str(zone)) if zone is not None else None,
                "located_by": "zone_id" if zone is not None else "unlocated",
                "geometry": point.get(str(zone)) if zone is not None else None,
            }
        )
    if new_rows:
        import geopandas as gpd

        extra = gpd.GeoDataFrame(pd.DataFrame(new_rows), geometry="geometry", crs=events.crs)
        for column in events.columns:
            if column not in extra:
                extra[column] = None
        events = pd.concat([events, extra[list(events.columns)]], ignore_index=True)
        events = gpd.GeoDataFrame(events, geometry="geometry", crs=ws.events.crs)
    events = _retype_events(events, ws.events)
    if unknown_zone:
        problems.add(
            JOURNAL_FILE,
            "notice.journal_event_unusable",
            severity=NOTICE,
            n=len(unknown_zone),
            events=", ".join(sorted(unknown_zone)[:10]),
        )
    return dataclasses.replace(ws, events=events), list(problems)


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def _set_event(events: pd.DataFrame, rows: np.ndarray, name: str, value: Any) -> None:
    if name == "date":
        value = pd.Timestamp(value) if value is not None else pd.NaT
    elif name == "cost":
        value = _float(value)
    elif name == "staff":
        value = pd.NA if value is None else int(value)
    if name not in events.columns:
        events[name] = None
    events.iloc[rows, events.columns.get_loc(name)] = value


def _retype_events(events: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    for column in ("cost", "leads", "sales"):
        if column in events:
            events[column] = pd.to_numeric(events[column], errors="coerce").astype("float64")
    if "staff" in events:
        events["staff"] = pd.to_numeric(events["staff"], errors="coerce").astype("Int64")
    events["date"] = pd.to_datetime(events["date"]).astype("datetime64[ns]")
    for column in like.columns:
        if column in events and str(like[column].dtype) == "str":
            events[column] = events[column].astype("str")
    return events


def latest_form_entries(entries) -> list:
    """The ``form_lead`` edits that count: per event, those of its latest import batch."""
    last_batch: dict[str, int] = {}
    for e in entries:
        event = str(e.data.get("event_id"))
        last_batch[event] = max(last_batch.get(event, 0), e.batch)
    return [e for e in entries if e.batch == last_batch[str(e.data.get("event_id"))]]


def apply_form_leads(ws, entries) -> tuple[Any, list[Problem]]:
    """Add the latest import of each event's form as A-cards (module notes); return the workspace."""
    import geopandas as gpd

    from territory.inputs.geocode import OfflineGeocoder

    entries = latest_form_entries(entries)
    if not entries:
        return ws, []
    cards = ws.cards
    known_ids = set(cards["card_id"].astype(object)) if "card_id" in cards else set()
    taken = [e for e in entries if e.key in known_ids]
    entries = [e for e in entries if e.key not in known_ids]
    problems = ProblemList()
    if taken:
        problems.add(
            JOURNAL_FILE,
            "notice.journal_form_card_taken",
            severity=NOTICE,
            n=len(taken),
            cards=", ".join(sorted(e.key for e in taken)[:10]),
        )
    if not entries:
        return ws, list(problems)
    leads_now = set(cards["lead_id"].astype(object)) if "lead_id" in cards else set()
    by_phone = open_lead_by_phone(cards)
    rows = []
    claimed: dict[str, str] = {}  # phone -> lead of a form card in this replay
    for e in entries:
        d = e.data
        phone = d.get("phone")
        lead, how = None, "card"
        if d.get("lead_id") and d["lead_id"] in leads_now:
            lead, how = d["lead_id"], "phone"
        elif phone and phone in by_phone:
            lead, how = by_phone[phone], "phone"
        elif phone and phone in claimed:
            lead, how = claimed[phone], "phone"
        if lead is None:
            lead = e.key
        if phone:
            claimed.setdefault(phone, lead)
        rows.append(
            {
                "card_id": e.key,
                "card_type": "A",
                "date": pd.Timestamp(d["date"]),
                "model": d.get("model"),
                "grade": d.get("grade"),
                "status": "open",
                "name": d.get("name"),
                "phone": phone,
                "lead_id": lead,
                "lead_linked_by": how,
                "source": "outreach",
                "event_id": d.get("event_id"),
                "consultant": d.get("consultant"),
                "voucher": d.get("voucher"),
                "address": d.get("area"),
            }
        )
    new = pd.DataFrame(rows)
    # Where the visitors live or work: the form's area, matched against the zones' names.
    located = OfflineGeocoder(ws.zones).geocode(new["address"].astype(object))
    point, _ = _zone_points(ws)
    has_zone = located["zone_id"].notna().to_numpy()
    new["zone_id"] = located["zone_id"].astype(object).where(has_zone, None)
    new["district"] = located["district"].astype(object).where(located["district"].notna(), None)
    new["located_by"] = np.where(has_zone | new["district"].notna(), "address", "unlocated")
    new["geometry"] = [point.get(z) if z is not None else None for z in new["zone_id"]]
    new = gpd.GeoDataFrame(new, geometry="geometry", crs=cards.crs)

    out = cards.copy()
    # A later lead of the files linked only by phone joins the form card's lead.
    if len(out) and "phone" in out and "lead_linked_by" in out:
        first_date = new.groupby("lead_id")["date"].min()
        phone_lead = {
            p: lead for p, lead in zip(new["phone"], new["lead_id"], strict=True) if p is not None
        }
        derived = out["lead_linked_by"].isin(("phone", "card")) & out["phone"].isin(set(phone_lead))
        if derived.any():
            start = pd.to_datetime(out["date"]).groupby(out["lead_id"]).transform("min")
            for i in np.flatnonzero(derived.to_numpy()):
                target = phone_lead[out["phone"].iloc[i]]
                if out["lead_id"].iloc[i] == target:
                    continue
                if start.iloc[i] >= first_date[target]:
                    old = out["lead_id"].iloc[i]
                    same = out["lead_id"].eq(old) & out["lead_linked_by"].ne("lead_id")
                    out.loc[same, "lead_id"] = target
                    out.loc[same, "lead_linked_by"] = "phone"
    for column in out.columns:
        if column not in new:
            new[column] = pd.NaT if str(out[column].dtype).startswith("datetime") else None
    merged = pd.concat([out, new[list(out.columns)]], ignore_index=True)
    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=cards.crs)
    for column in out.columns:
        dtype = out[column].dtype
        if str(dtype).startswith("datetime"):
            merged[column] = pd.to_datetime(merged[column]).astype("datetime64[ns]")
        elif str(dtype) == "str":
            merged[column] = merged[column].astype("str")
    notices = [
        p
        for p in ws.notices
        if p.key != "notice.deposit_without_a_card" or not _has_a_card_now(p, merged)
    ]
    return dataclasses.replace(ws, cards=merged, notices=notices), list(problems)


def _has_a_card_now(problem: Problem, cards: pd.DataFrame) -> bool:
    """Whether a 'deposit without A-card' notice is settled by the form cards (its lead has one now)."""
    lead = problem.fields.get("lead")
    if lead is None or "lead_id" not in cards:
        return False
    mine = cards[cards["lead_id"].astype(object).eq(lead)]
    return not len(mine) or bool(mine["card_type"].eq("A").any())  # gone: joined a form lead


def kinds() -> tuple[Kind, Kind]:
    """The two kinds of this module (for docs and tests)."""
    return KINDS["event_record"], KINDS["form_lead"]

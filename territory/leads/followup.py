"""Follow-up lists (seed 001): which open leads are due or overdue for a call on a date, per consultant.

Seed 001's cadence: the first contact the day after the card's date, then
at least every 2 days for an H lead, 3 for A, 7 for B and 15 for C
(``settings.coverage.first_contact_days`` and ``follow_up_days``). A lead
not yet graded follows the cadence of ``settings.leads.ungraded_as`` (C)
once contacted. For a lead open on date D:

- due date = the lead's start + first_contact_days when it was never
  contacted, else its last contact + the interval of its grade;
- ``days_overdue`` = D − due date in days (0: due today; negative: not yet
  due, left out of the list).

A lead is open on D when it started on or before D and is neither won nor
lost — or was closed after D (a list for a past date shows what was open
then). The list is most overdue first (then H before A, B, C).

Examples
--------
>>> import pandas as pd
>>> leads = pd.DataFrame({
...     "lead_id": ["L1", "L2"], "card_id": ["A1", "A2"], "grade": ["H", "B"],
...     "status": ["open", "open"], "consultant": ["张伟", "李娜"],
...     "start": pd.to_datetime(["2026-05-01", "2026-05-01"]),
...     "last_contact": pd.to_datetime(["2026-05-07", "2026-05-04"]),
...     "closed_date": pd.to_datetime([None, None])})
>>> table = due_table(leads, date="2026-05-10")
>>> table[["lead_id", "due_date", "days_overdue"]].values.tolist()
[['L1', Timestamp('2026-05-09 00:00:00'), 1], ['L2', Timestamp('2026-05-11 00:00:00'), -1]]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.leads.lifecycle import data_end, lead_table, parse_day
from territory.privacy import mask_name, mask_phone, neutralise
from territory.settings import Settings
from territory.vocab import SOURCES, label

__all__ = [
    "CONTACTS",
    "FollowUp",
    "call_list_frame",
    "due_table",
    "followup",
    "followup_json",
    "lead_labels",
    "write_call_list",
]

#: ``--contacts``: personal data masked (default) or in full.
CONTACTS: tuple[str, ...] = ("masked", "full")
_GRADE_ORDER = {"H": 0, "A": 1, "B": 2, "C": 3}
#: Internal key of leads without a consultant (shown as None / "unassigned").
_NOBODY = "\x00unassigned"


def _date(value) -> pd.Timestamp:
    return parse_day(value, "date") if value is not None else pd.Timestamp(dt.date.today())


def _intervals(settings: Settings) -> dict[str, float]:
    cadence = dict(settings.coverage.follow_up_days)
    fallback = settings.leads.ungraded_as
    if fallback not in cadence:
        raise ValueError(
            f"settings.leads.ungraded_as must be one of {', '.join(cadence)}; got {fallback!r}"
        )
    return cadence


_DAY_NS = 86_400_000_000_000


def _days(values) -> np.ndarray:
    """Whole days since the epoch (int64; NaT as the smallest int64)."""
    stamps = pd.to_datetime(pd.Series(np.asarray(values))).to_numpy("datetime64[ns]")
    ints = stamps.view("int64")
    nat = np.isnat(stamps)
    out = np.floor_divide(ints, _DAY_NS)
    out[nat] = np.iinfo("int64").min
    return out


def due_days(
    leads: pd.DataFrame, *, day: pd.Timestamp, settings: Settings
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per lead: ``(open on day, due day, days overdue, interval, never contacted)`` as arrays.

    Days are whole days since the epoch; the cadence rule is the module's.
    """
    cadence = _intervals(settings)
    nat = np.iinfo("int64").min
    today = int(day.value // _DAY_NS)
    start = _days(leads["start"])
    closed = _days(leads["closed_date"])
    contact = _days(leads["last_contact"])
    status = leads["status"].to_numpy(dtype=object)
    open_now = (start != nat) & (start <= today) & ((status == "open") | (closed > today))
    grade = leads["grade"].to_numpy(dtype=object)
    interval = np.full(len(leads), float(cadence[settings.leads.ungraded_as]))
    for g, days in cadence.items():
        interval[grade == g] = float(days)
    never = (contact == nat) | (contact < start)
    first = settings.coverage.first_contact_days
    due = np.where(never, start + first, contact + np.ceil(interval).astype("int64"))
    return open_now, due, today - due, np.where(never, float(first), interval), never


def due_table(leads: pd.DataFrame, *, date=None, settings: Settings | None = None) -> pd.DataFrame:
    """The leads open on ``date`` with ``interval_days``, ``due_date`` and ``days_overdue``.

    Every open lead is returned (also those not yet due), in no particular
    order; :func:`followup` sorts and filters. ``never_contacted`` marks
    leads without any contact.
    """
    settings = settings or Settings()
    day = _date(date)
    open_now, due, overdue, interval, never = due_days(leads, day=day, settings=settings)
    out = leads.loc[open_now].copy()
    out["interval_days"] = interval[open_now]
    out["due_date"] = (due[open_now] * _DAY_NS).astype("datetime64[ns]")
    out["days_overdue"] = overdue[open_now].astype("int64")
    out["never_contacted"] = never[open_now]
    return out


@dataclass
class FollowUp:
    """A follow-up list: the date, the due and overdue leads, the per-consultant counts.

    ``leads`` (most overdue first) has the lead table's columns plus
    ``due_date``, ``days_overdue``, ``interval_days``, ``never_contacted``;
    ``by_consultant`` has ``consultant``, ``open``, ``due``, ``overdue``,
    ``never_contacted``, ``max_days_overdue``, ``overdue_days``;
    ``open_leads`` every lead open on the date (due or not). ``data_end`` is
    the date of the latest card (how fresh the export is) and ``stale_days``
    how far the date is beyond it (0 when fresh).
    """

    date: pd.Timestamp
    leads: pd.DataFrame
    by_consultant: pd.DataFrame
    open_leads: pd.DataFrame
    consultant: str | None = None
    district: str | None = None
    data_end: pd.Timestamp | None = None
    stale_days: int = 0
    notes: list[str] = field(default_factory=list)


def followup(
    ws=None,
    *,
    leads: pd.DataFrame | None = None,
    date=None,
    consultant: str | None = None,
    district: str | None = None,
    team: tuple[str, ...] = (),
    settings: Settings | None = None,
    lang: str = "zh",
) -> FollowUp:
    """The leads due or overdue on ``date`` (default today), per consultant.

    Parameters
    ----------
    ws
        The loaded workspace (its cards, team and settings); or pass
        ``leads`` (a :func:`~territory.leads.lifecycle.lead_table`), ``team``
        and ``settings``.
    date
        The day of the calls. Default: today.
    consultant
        Only this consultant's leads (the per-consultant table keeps everyone).
    district
        Only leads of this district (e.g. a ``follow_up_gap`` district of
        the coverage table).
    lang
        Language of ``notes``.

    Raises
    ------
    ValueError
        If ``date`` cannot be read or ``consultant`` is neither in the team
        nor on any lead (the message lists the known names).
    """
    lang = check_lang(lang)
    if ws is not None:
        settings = settings or ws.settings
        team = tuple(ws.dealer.team.consultants)
        if leads is None:
            leads = lead_table(ws.cards, settings=settings)
        end = data_end(ws.cards)
    else:
        settings = settings or Settings()
        end = _leads_end(leads)
    day = _date(date)
    table = due_table(leads, date=day, settings=settings)
    known = list(team) + sorted(
        {c for c in leads["consultant"].dropna().unique() if c not in set(team)}
    )
    if consultant is not None and consultant not in known:
        raise ValueError(
            t("followup.unknown_consultant", lang, found=consultant, known=", ".join(known) or "-")
        )
    if district is not None:
        table = table[table["district"].astype(object).eq(district).to_numpy()]
    by = _by_consultant(table, known)
    if consultant is not None:
        table = table[table["consultant"].astype(object).eq(consultant).to_numpy()]
    listed = table[table["days_overdue"].to_numpy() >= 0]
    grade_rank = np.full(len(listed), len(_GRADE_ORDER))
    grades = listed["grade"].to_numpy(dtype=object)
    for g, rank in _GRADE_ORDER.items():
        grade_rank[grades == g] = rank
    # most overdue first, then H before A, B, C, then the oldest (the table is by start, lead_id)
    order = np.lexsort(
        (np.arange(len(listed)), grade_rank, -listed["days_overdue"].to_numpy(dtype="int64"))
    )
    listed = listed.iloc[order]
    stale = int((day - end).days) if end is not None else 0
    notes = []
    if end is not None and stale > settings.leads.stale_days:
        notes.append(
            t(
                "followup.note.stale",
                lang,
                end=end.date().isoformat(),
                days=stale,
                date=day.date().isoformat(),
            )
        )
    if leads["last_contact"].isna().all() and len(leads):
        notes.append(t("followup.note.no_contacts", lang))
    return FollowUp(
        date=day,
        leads=listed.reset_index(drop=True),
        by_consultant=by,
        open_leads=table.reset_index(drop=True),
        consultant=consultant,
        district=district,
        data_end=end,
        stale_days=max(stale, 0),
        notes=notes,
    )


def _leads_end(leads: pd.DataFrame) -> pd.Timestamp | None:
    latest = pd.to_datetime(leads["start"]).max() if len(leads) else pd.NaT
    return latest.normalize() if pd.notna(latest) else None


def _by_consultant(table: pd.DataFrame, known: list[str]) -> pd.DataFrame:
    key = table["consultant"].astype(object).where(table["consultant"].notna(), _NOBODY)
    overdue = table["days_overdue"].to_numpy()
    frame = pd.DataFrame(
        {
            "key": key.to_numpy(),
            "open": 1,
            "due": (overdue == 0).astype(int),
            "overdue": (overdue > 0).astype(int),
            "never_contacted": (table["never_contacted"].to_numpy() & (overdue >= 0)).astype(int),
            "overdue_days": np.where(overdue > 0, overdue, 0),
            "max_days_overdue": np.where(overdue > 0, overdue, 0),
        }
    )
    agg = frame.groupby("key", sort=False).agg(
        open=("open", "sum"),
        due=("due", "sum"),
        overdue=("overdue", "sum"),
        never_contacted=("never_contacted", "sum"),
        overdue_days=("overdue_days", "sum"),
        max_days_overdue=("max_days_overdue", "max"),
    )
    rows = [*known, *([_NOBODY] if _NOBODY in agg.index else [])]
    agg = agg.reindex(rows, fill_value=0)
    agg["order"] = np.arange(len(agg))
    agg = agg.sort_values(
        ["overdue", "overdue_days", "due", "order"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    out = agg.drop(columns="order").reset_index(names="consultant")
    out["consultant"] = pd.Series(
        [None if c == _NOBODY else c for c in out["consultant"]], index=out.index, dtype=object
    )
    return out.astype({c: "int64" for c in out.columns if c != "consultant"})


# ----------------------------------------------------------------------------- JSON


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def followup_json(result: FollowUp, *, contacts: str = "masked") -> dict:
    """The contract's follow-up document (``date``, ``leads``, ``by_consultant``) plus more keys.

    Names and phones are masked unless ``contacts="full"``; the document
    says which (``contacts``).
    """
    if contacts not in CONTACTS:
        raise ValueError(f"contacts must be one of {', '.join(CONTACTS)}; got {contacts!r}")
    full = contacts == "full"
    leads = []
    for r in result.leads.itertuples(index=False):
        name, phone = _text(r.name), _text(r.phone)
        leads.append(
            {
                "lead_id": r.lead_id,
                "card_id": _text(r.card_id),
                "grade": _text(r.grade),
                "consultant": _text(r.consultant),
                "source": _text(r.source),
                "event_id": _text(r.event_id),
                "last_contact": _iso(r.last_contact),
                "due_date": _iso(r.due_date),
                "days_overdue": int(r.days_overdue),
                "start": _iso(r.start),
                "district": _text(r.district),
                "never_contacted": bool(r.never_contacted),
                "name": name if full else mask_name(name),
                "phone": phone if full else mask_phone(phone),
            }
        )
    by = [
        {
            "consultant": _text(r.consultant),
            "open": int(r.open),
            "due": int(r.due),
            "overdue": int(r.overdue),
            "never_contacted": int(r.never_contacted),
            "max_days_overdue": int(r.max_days_overdue),
            "overdue_days": int(r.overdue_days),
        }
        for r in result.by_consultant.itertuples(index=False)
    ]
    return {
        "date": result.date.date().isoformat(),
        "consultant": result.consultant,
        "district": result.district,
        "contacts": contacts,
        "data_end": _iso(result.data_end),
        "notes": list(result.notes),
        "leads": leads,
        "by_consultant": by,
    }


def call_list_frame(
    leads: pd.DataFrame, *, contacts: str = "masked", lang: str = "zh"
) -> pd.DataFrame:
    """The call list as shown and printed: names and phones masked unless ``contacts="full"``,
    sources as words, dates as ISO text (``never`` for a lead never contacted), consultants
    named ("unassigned" for none). One row per lead of ``leads``, in order."""
    if contacts not in CONTACTS:
        raise ValueError(f"contacts must be one of {', '.join(CONTACTS)}; got {contacts!r}")
    lang = check_lang(lang)
    full = contacts == "full"
    never, nobody = t("followup.never", lang), t("followup.unassigned", lang)
    sources = {code: label(code, SOURCES, lang) for code in SOURCES}

    def dates(column: str) -> list:
        return [_iso(v) for v in leads[column]]

    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(dtype=object),
            "card_id": [_text(v) for v in leads["card_id"]],
            "name": [_text(v) if full else mask_name(_text(v)) for v in leads["name"]],
            "phone": [_text(v) if full else mask_phone(_text(v)) for v in leads["phone"]],
            "grade": [_text(v) for v in leads["grade"]],
            "consultant": [_text(v) or nobody for v in leads["consultant"]],
            "source": [sources.get(v, _text(v)) if _text(v) else None for v in leads["source"]],
            "event_id": [_text(v) for v in leads["event_id"]],
            "district": [_text(v) for v in leads["district"]],
            "start": dates("start"),
            "last_contact": [v or never for v in dates("last_contact")],
            "due_date": dates("due_date"),
            "days_overdue": leads["days_overdue"].to_numpy(dtype="int64"),
        }
    )


def lead_labels(
    leads: pd.DataFrame, *, contacts: str = "masked", lang: str = "zh"
) -> dict[str, str]:
    """``{lead_id: "A000031 · 赵** · B · 王强 · 12 days overdue"}`` for choosing a lead, in order."""
    frame = call_list_frame(leads, contacts=contacts, lang=lang)
    template = t("ui.followup.lead_option", lang)
    return {
        r.lead_id: template.format(
            lead=r.lead_id,
            name=r.name or "—",
            grade=r.grade or "—",
            consultant=r.consultant,
            days=int(r.days_overdue),
        )
        for r in frame.itertuples(index=False)
    }


# ----------------------------------------------------------------------------- XLSX call list

_CALL_COLUMNS = (
    "lead_id",
    "card_id",
    "name",
    "phone",
    "grade",
    "source",
    "event_id",
    "district",
    "start",
    "last_contact",
    "due_date",
    "days_overdue",
)
_FILL_COLUMNS = ("contacted", "result", "new_grade", "lost_reason", "note")


def _sheet_title(name: str, taken: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "-"
    title = clean[:31]
    k = 2
    while title.lower() in taken:
        suffix = f" ({k})"
        title = clean[: 31 - len(suffix)] + suffix
        k += 1
    taken.add(title.lower())
    return title


def write_call_list(
    result: FollowUp,
    path: Path | str,
    *,
    contacts: str = "masked",
    lang: str = "zh",
    synthetic: bool = False,
) -> Path:
    """Write the follow-up list as an XLSX call list: a summary sheet, then one sheet per consultant.

    Each consultant's sheet lists their due and overdue leads (most
    overdue first) with grade, source, event, last contact and due date,
    and empty columns to fill in during the calls. Phones and names are
    masked unless ``contacts="full"``; every sheet's footer (and last row)
    says which. Text that a spreadsheet would run as a formula is
    neutralised. ``synthetic`` adds the synthetic-data label (the demo).

    Raises
    ------
    ValueError
        If ``path`` is not an ``.xlsx`` file or ``contacts`` is unknown.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(t("followup.xlsx_suffix", lang, path=str(path)))
    if contacts not in CONTACTS:
        raise ValueError(f"contacts must be one of {', '.join(CONTACTS)}; got {contacts!r}")
    lang = check_lang(lang)
    full = contacts == "full"
    footer = t(
        "followup.footer.full" if full else "followup.footer.masked",
        lang,
        date=result.date.date().isoformat(),
    )
    if synthetic:
        footer += " " + t("followup.footer.synthetic", lang)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F3")
    late_fill = PatternFill("solid", fgColor="FBE3D6")

    book = Workbook()
    summary = book.active
    summary.title = _sheet_title(t("followup.sheet.summary", lang), taken := set())
    summary.append([t("followup.title", lang, date=result.date.date().isoformat())])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([])
    head = [
        t(f"followup.col.{c}", lang)
        for c in ("consultant", "open", "due", "overdue", "never_contacted", "max_days_overdue")
    ]
    summary.append(head)
    for cell in summary[3]:
        cell.font, cell.fill = bold, head_fill
    unassigned = t("followup.unassigned", lang)
    for r in result.by_consultant.itertuples(index=False):
        summary.append(
            [
                neutralise(r.consultant if r.consultant is not None else unassigned),
                int(r.open),
                int(r.due),
                int(r.overdue),
                int(r.never_contacted),
                int(r.max_days_overdue),
            ]
        )
    for note in result.notes:
        summary.append([])
        summary.append([neutralise(note)])
    summary.append([])
    summary.append([footer])
    _finish_sheet(summary, footer, widths=[18, 10, 10, 10, 12, 14])

    headers = [t(f"followup.col.{c}", lang) for c in (*_CALL_COLUMNS, *_FILL_COLUMNS)]
    consultants = [c for c in result.by_consultant["consultant"]]
    if result.consultant is not None:
        consultants = [result.consultant]
    for consultant in consultants:
        rows = (
            result.leads[result.leads["consultant"].astype(object).eq(consultant)]
            if consultant is not None
            else result.leads[result.leads["consultant"].isna()]
        )
        sheet = book.create_sheet(
            _sheet_title(consultant if consultant is not None else unassigned, taken)
        )
        sheet.append(
            [
                t(
                    "followup.sheet_title",
                    lang,
                    consultant=consultant or unassigned,
                    date=result.date.date().isoformat(),
                    n=len(rows),
                )
            ]
        )
        sheet["A1"].font = Font(bold=True, size=12)
        sheet.append(headers)
        for cell in sheet[2]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        frame = call_list_frame(rows, contacts=contacts, lang=lang)
        for values in frame.to_dict(orient="records"):
            sheet.append(
                [neutralise(values[c]) for c in _CALL_COLUMNS] + [None] * len(_FILL_COLUMNS)
            )
            if values["days_overdue"] > 0:
                sheet.cell(
                    row=sheet.max_row, column=_CALL_COLUMNS.index("days_overdue") + 1
                ).fill = late_fill
        last = sheet.max_row
        if last >= 3:
            first_fill = len(_CALL_COLUMNS) + 1
            grade_col = get_column_letter(first_fill + _FILL_COLUMNS.index("new_grade"))
            result_col = get_column_letter(first_fill + _FILL_COLUMNS.index("result"))
            grades = DataValidation(type="list", formula1='"H,A,B,C"', allow_blank=True)
            outcomes = DataValidation(
                type="list",
                formula1='"'
                + ",".join(t(f"followup.result.{k}", lang) for k in ("open", "won", "lost"))
                + '"',
                allow_blank=True,
            )
            sheet.add_data_validation(grades)
            sheet.add_data_validation(outcomes)
            grades.add(f"{grade_col}3:{grade_col}{last}")
            outcomes.add(f"{result_col}3:{result_col}{last}")
        sheet.append([])
        sheet.append([footer])
        sheet.freeze_panes = "C3"
        _finish_sheet(
            sheet, footer, widths=[12, 11, 9, 15, 6, 9, 9, 10, 11, 11, 11, 8, 11, 10, 9, 16, 24]
        )
    book.save(path)
    return path


def _finish_sheet(sheet, footer: str, *, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.oddFooter.center.text = footer
    sheet.evenFooter.center.text = footer
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0

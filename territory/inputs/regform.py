"""Reading a filled-in outreach registration form (外拓客户登记表): XLSX or CSV.

The form is the second sheet of the plan workbook that ``territory plan``
writes (:mod:`territory.outreach.plansheet`): a title row, the header on row
3 (序号, 姓名, 电话, 居住/工作区域, 现有车辆, 意向车型, 级别 H/A/B/C, 试驾
是/否, 接待顾问, 备注, or the English labels), then one numbered row per
visitor. A CSV with the same header (Chinese or English, first non-empty
line) is read the same way. Optional extra columns: 日期 (the registration
date; it must be the outing's day), 券码 / 电子券码 (the electronic voucher
code handed to the visitor, used to attribute a later deposit), 线索编号
(lead_id).

Every problem names the form's file, row (as the spreadsheet counts it)
and column as written in the header, with a fix; rows left blank (only the
printed number) are skipped.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "form.csv"
>>> _ = path.write_text("序号,姓名,电话,级别 H/A/B/C\\n1,王先生,138 1234 5678,H\\n2,,,\\n", encoding="utf-8")
>>> form = read_form(path, event_date=None)
>>> form.rows[["row", "name", "phone", "grade"]].values.tolist(), len(form.problems.errors)
([[2, '王先生', '13812345678', 'H']], 0)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from territory._errors import NOTICE, ProblemList
from territory.i18n import t
from territory.inputs.outings import normalise_phone, valid_phone
from territory.vocab import GRADES, normalise_code

__all__ = ["FORM_COLUMNS", "FORM_SHEETS", "RegistrationForm", "read_form"]

#: The printed form's columns (catalogue keys ``form.<key>``) and the form's optional extras.
FORM_COLUMNS: tuple[str, ...] = (
    "no",
    "name",
    "phone",
    "area",
    "current_car",
    "interest",
    "grade",
    "test_drive",
    "consultant",
    "remark",
)
#: Extra aliases (besides the printed labels in zh and en and the code itself).
_EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "no": ("序号", "no", "no.", "#"),
    "name": ("姓名", "客户姓名", "name"),
    "phone": ("电话", "手机", "手机号", "联系电话", "phone", "mobile"),
    "area": ("区域", "居住区域", "工作区域", "area"),
    "current_car": ("现有车辆", "current car"),
    "interest": ("意向车型", "车型", "model", "interest"),
    "grade": ("级别", "意向级别", "grade"),
    "test_drive": ("试驾", "test drive"),
    "consultant": ("接待顾问", "销售顾问", "顾问", "consultant"),
    "remark": ("备注", "notes", "remark"),
    "date": ("日期", "登记日期", "date"),
    "voucher": ("券码", "电子券码", "电子券", "优惠券码", "voucher", "voucher code"),
    "lead_id": ("线索编号", "lead_id", "lead id"),
}
#: Names of the form's sheet in a plan workbook (zh, en).
FORM_SHEETS: tuple[str, ...] = ("外拓客户登记表", "Visitor registration")
_MAX_ROWS = 5000
_HEADER_SCAN = 10


def _key(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().lower() if text is not None else ""


def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for code in (*FORM_COLUMNS, "date", "voucher", "lead_id"):
        names = list(_EXTRA_ALIASES.get(code, ()))
        if code in FORM_COLUMNS:
            names += [t(f"form.{code}", "zh"), t(f"form.{code}", "en")]
        for name in names:
            out[_key(name)] = code
    return out


@dataclass
class RegistrationForm:
    """What a form holds: one row per visitor (``rows``) and every problem found."""

    file: str
    rows: pd.DataFrame
    problems: ProblemList = field(default_factory=ProblemList)
    #: The header as written, per code (for messages).
    labels: dict[str, str] = field(default_factory=dict)
    #: The date in the form's title (plan workbooks), if any.
    title_date: dt.date | None = None


def _cells_xlsx(path: Path, problems: ProblemList, name: str):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # not a zip, not a workbook, encrypted
        problems.add(name, "review.form_unreadable", detail=type(exc).__name__)
        return None, None
    try:
        sheet = next((book[s] for s in book.sheetnames if s.strip() in FORM_SHEETS), None)
        if sheet is None and len(book.sheetnames) == 1:
            sheet = book[book.sheetnames[0]]
        if sheet is None:
            problems.add(
                name,
                "review.form_not_ours",
                found=", ".join(book.sheetnames),
                expected=" / ".join(FORM_SHEETS),
            )
            return None, None
        cells = []
        for i, values in enumerate(sheet.iter_rows(values_only=True)):
            if i > _MAX_ROWS + _HEADER_SCAN:
                break
            cells.append(list(values))
        return cells, sheet.title
    finally:
        book.close()


def _cells_csv(path: Path, problems: ProblemList, name: str):
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        problems.add(name, "review.form_unreadable", detail="encoding")
        return None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)][: _MAX_ROWS + _HEADER_SCAN]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if text is None:
        return None
    text = text.replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-")
    text = text.replace("日", "")
    return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split()[0].split("-")))


def read_form(
    path: Path | str,
    *,
    event_date: dt.date | None,
    file_name: str | None = None,
    team: tuple[str, ...] = (),
) -> RegistrationForm:
    """Read and check a filled-in registration form (module notes).

    ``event_date``: the outing's day (a ``日期`` column must match it);
    ``team``: dealer.toml's consultants (an unknown one is a notice).
    Never raises for the file's content: problems are in ``.problems``
    (errors stop the import).
    """
    path = Path(path)
    name = file_name or path.name
    problems = ProblemList()
    empty = RegistrationForm(name, pd.DataFrame(), problems)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        cells, _ = _cells_xlsx(path, problems, name)
    elif suffix in (".csv", ".txt"):
        cells = _cells_csv(path, problems, name)
    else:
        problems.add(name, "review.form_suffix", found=path.suffix or "-")
        return empty
    if cells is None:
        return empty
    aliases = _aliases()
    header_at = None
    for i, row in enumerate(cells[:_HEADER_SCAN]):
        codes = [aliases.get(_key(v)) for v in row]
        if "phone" in codes and sum(c is not None for c in codes) >= 2:
            header_at = i
            break
    if header_at is None:
        problems.add(name, "review.form_no_header", expected=", ".join(FORM_SHEETS))
        return empty
    header = cells[header_at]
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for j, value in enumerate(header):
        code = aliases.get(_key(value))
        if code is not None and code not in columns:
            columns[code] = j
            labels[code] = _text(value) or code
    title_date = None
    for row in cells[:header_at]:
        for value in row:
            text = _text(value)
            if text:
                for part in text.replace("·", " ").split():
                    try:
                        title_date = dt.date.fromisoformat(part)
                    except ValueError:
                        continue
    records = []
    for i, row in enumerate(cells[header_at + 1 :], start=header_at + 2):
        values = {code: (row[j] if j < len(row) else None) for code, j in columns.items()}
        filled = [c for c, v in values.items() if c != "no" and _text(v) is not None]
        if not filled:
            continue  # a printed blank row (only its number)
        if len(filled) == 1 and "phone" not in filled and len(row) and _text(row[0]):
            first = _text(row[0]) or ""
            if first.startswith(t("form.note", "zh")[:6]) or first.startswith(
                t("form.note", "en")[:6]
            ):
                continue  # the printed note under the table
        records.append({"row": i, **{c: values.get(c) for c in columns}})
    if len(records) > _MAX_ROWS:
        problems.add(name, "review.form_too_long", n=len(records), limit=_MAX_ROWS)
        return empty

    def where(code: str) -> str:
        return labels.get(code, t(f"form.{code}", "zh") if code in FORM_COLUMNS else code)

    out = []
    seen: dict[str, int] = {}
    for rec in records:
        r = rec["row"]
        phone_raw = rec.get("phone")
        phone = normalise_phone(phone_raw)
        if phone is None:
            problems.add(name, "review.form_no_phone", column=where("phone"), rows=(r,))
        elif not valid_phone(phone):
            problems.add(
                name,
                "review.form_bad_phone",
                column=where("phone"),
                rows=(r,),
                found=_text(phone_raw),
            )
        elif phone in seen:
            problems.add(
                name,
                "review.form_duplicate",
                column=where("phone"),
                rows=(r,),
                first=seen[phone],
            )
        else:
            seen[phone] = r
        grade_text = _text(rec.get("grade"))
        grade = None
        if grade_text is not None:
            grade = normalise_code(grade_text.upper(), GRADES)
            if grade is None:
                problems.add(
                    name,
                    "review.form_bad_grade",
                    column=where("grade"),
                    rows=(r,),
                    found=grade_text,
                )
        day = None
        if "date" in rec and _text(rec.get("date")) is not None:
            try:
                day = _day(rec["date"])
            except (ValueError, IndexError):
                problems.add(
                    name,
                    "review.form_bad_date",
                    column=where("date"),
                    rows=(r,),
                    found=_text(rec["date"]),
                )
            else:
                if event_date is not None and day != event_date:
                    problems.add(
                        name,
                        "review.form_date_outside",
                        column=where("date"),
                        rows=(r,),
                        found=day.isoformat(),
                        day=event_date.isoformat(),
                    )
        consultant = _text(rec.get("consultant"))
        if consultant and team and consultant not in team:
            problems.add(
                name,
                "review.form_consultant_unknown",
                column=where("consultant"),
                rows=(r,),
                severity=NOTICE,
                found=consultant,
                known=", ".join(team),
            )
        out.append(
            {
                "row": r,
                "name": _text(rec.get("name")),
                "phone": phone,
                "area": _text(rec.get("area")),
                "current_car": _text(rec.get("current_car")),
                "model": _text(rec.get("interest")),
                "grade": grade,
                "test_drive": _text(rec.get("test_drive")),
                "consultant": consultant,
                "remark": _text(rec.get("remark")),
                "voucher": _text(rec.get("voucher")),
                "lead_id": _text(rec.get("lead_id")),
                "date": day.isoformat() if day else None,
            }
        )
    if not out and not problems.errors:
        problems.add(name, "review.form_empty", column=where("phone"))
    return RegistrationForm(name, pd.DataFrame(out), problems, labels, title_date)

"""The plan as a formatted Excel workbook (openpyxl).

Sheet 1 is the 13-part plan; sheet 2 the blank visitor registration form
(外拓客户登记表) to print and fill in by hand. Every cell that would start
with ``= + - @`` is neutralised (a leading apostrophe-like quote) so a
spreadsheet never runs data as a formula, and no phone number is written.

Examples
--------
>>> import datetime as dt, tempfile, pathlib
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> from territory.outreach.plan import build_plan
>>> ws = load_workspace(demo_path(), use_store=False)
>>> plan = build_plan(ws, zone_id=ws.zones["zone_id"].iloc[0], date=dt.date(2026, 11, 28))
>>> out = write_plan_xlsx(plan, pathlib.Path(tempfile.mkdtemp()) / "plan.xlsx")
>>> out.exists()
True
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from territory.i18n import t
from territory.outreach.plan import Plan, tool_labels
from territory.privacy import neutralise

__all__ = ["REGISTRATION_COLUMNS", "neutralise", "write_plan_xlsx"]

#: Columns of the blank registration form (keys into the catalogue).
REGISTRATION_COLUMNS: tuple[str, ...] = (
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
_FORM_ROWS = 30
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="1F4E79")
_PART = PatternFill("solid", fgColor="DDEBF7")


def write_plan_xlsx(plan: Plan, path: Path | str) -> Path:
    """Write ``plan`` to ``path`` (XLSX) and return the path."""
    path = Path(path)
    book = Workbook()
    sheet = book.active
    sheet.title = t("plan.sheet_name", plan.lang)
    _plan_sheet(sheet, plan)
    form = book.create_sheet(t("plan.form_name", plan.lang))
    _registration_sheet(form, plan)
    book.properties.title = neutralise(plan.title)
    book.properties.creator = "Territory"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)  # unique: two writers of the same plan never share a temporary file
    try:
        book.save(tmp)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def _plan_sheet(sheet, plan: Plan) -> None:
    lang = plan.lang
    sheet.column_dimensions["A"].width = 22
    for col in "BCDEF":
        sheet.column_dimensions[col].width = 20
    sheet.merge_cells("A1:F1")
    cell = sheet["A1"]
    cell.value = neutralise(plan.title)
    cell.font = Font(size=16, bold=True, color="FFFFFF")
    cell.fill = _HEAD
    cell.alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 30
    row = 3
    for section in plan.sections:
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        head = sheet.cell(row=row, column=1, value=f"{section.number}. {section.title}")
        head.font = Font(size=12, bold=True)
        head.fill = _PART
        row += 1
        if section.table is not None:
            for j, name in enumerate(section.table.columns, start=1):
                c = sheet.cell(row=row, column=j, value=neutralise(str(name)))
                c.font = Font(bold=True)
                c.border = _BORDER
            row += 1
            for record in section.table.itertuples(index=False):
                for j, value in enumerate(record, start=1):
                    c = sheet.cell(row=row, column=j, value=neutralise(value))
                    c.border = _BORDER
                row += 1
        for label_text, value in section.rows:
            a = sheet.cell(row=row, column=1, value=neutralise(label_text))
            a.font = Font(bold=True)
            a.alignment = Alignment(vertical="top", wrap_text=True)
            sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=6)
            b = sheet.cell(row=row, column=2, value=neutralise(value))
            b.alignment = Alignment(wrap_text=True, vertical="top")
            lines = max(1, len(str(value)) // (45 if lang == "zh" else 90) + 1)
            sheet.row_dimensions[row].height = 16 * lines
            row += 1
        row += 1
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
    tools = sheet.cell(row=row, column=1, value=t("print.tools", lang))
    tools.font = Font(size=12, bold=True)
    tools.fill = _PART
    row += 1
    for name in tool_labels(plan):
        sheet.cell(row=row, column=1, value="☐")
        sheet.cell(row=row, column=2, value=neutralise(name))
        row += 1
    row += 1
    sheet.cell(row=row, column=1, value=t("print.footer_privacy", lang)).font = Font(
        italic=True, color="666666"
    )
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0
    sheet.print_title_rows = "1:1"


def _registration_sheet(sheet, plan: Plan) -> None:
    lang = plan.lang
    n = len(REGISTRATION_COLUMNS)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    title = sheet.cell(
        row=1,
        column=1,
        value=neutralise(
            f"{t('plan.form_name', lang)} · {plan.zone_name} · {plan.date.isoformat()}"
        ),
    )
    title.font = Font(size=14, bold=True)
    title.alignment = Alignment(horizontal="center")
    widths = (6, 12, 16, 16, 14, 14, 8, 10, 12, 20)
    for j, (key, width) in enumerate(zip(REGISTRATION_COLUMNS, widths, strict=True), start=1):
        c = sheet.cell(row=3, column=j, value=t(f"form.{key}", lang))
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = _HEAD
        c.border = _BORDER
        c.alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(j)].width = width
    for i in range(_FORM_ROWS):
        r = 4 + i
        sheet.row_dimensions[r].height = 24
        for j in range(1, n + 1):
            c = sheet.cell(row=r, column=j, value=(i + 1) if j == 1 else None)
            c.border = _BORDER
    note = sheet.cell(row=5 + _FORM_ROWS, column=1, value=t("form.note", lang))
    note.font = Font(italic=True, color="666666")
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0
    sheet.print_title_rows = "3:3"

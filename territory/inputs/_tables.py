"""Reading tabular layers (CSV, XLSX) into text frames with canonical columns.

Every cell is read as text (identifiers and phones keep their leading
zeros); typing happens in :mod:`territory.inputs.layers`. CSV encodings are
detected strictly: UTF-8 (with or without BOM), UTF-16 with BOM, then
GB18030 (a superset of GBK/GB2312); a file that decodes in none of them is
refused rather than mangled.

Real exports from a dealer management system (DMS) rarely start with the
header on row 1: they carry a title row, a blank row, a row of merged group
headers ("客户信息", "位置") or a two-row header, the data on the second sheet
behind a cover or a summary, a totals row at the end and, when paginated, the
header again every few dozen rows. The reader finds the header row (the row
among the first ``header_scan_rows`` that names the most of the layer's
columns, completed from a sub-header row below it) and the sheet (the one
whose header names the most columns); it skips totals rows and repeated
headers with a notice, and it refuses formulas whose values were never
computed (a file written by a program, not saved by Excel or WPS). When the
choice is not clear (two sheets with the same columns) it asks, with an
error that names the sheets and the dealer.toml lines that settle it::

    [files.customers]
    sheet = "2026年"      # the sheet's name (or its number, 1 = first)
    header_row = 3       # the row that holds the column names

Files larger than ``[settings.load] max_table_mb`` (CSV bytes, or an XLSX's
sheets and shared strings unpacked) are refused before they are read.

Examples
--------
>>> rows = [["保有客户明细"], [], ["客户编号", "经度", "纬度"], ["C1", "104.1", "30.6"]]
>>> find_header(rows, {"customer_id", "lon", "lat"}).row
2
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territory._errors import ERROR, NOTICE, WARNING, ProblemList
from territory.vocab import COLUMN_ALIASES, normalise_text

__all__ = [
    "TABLE_SUFFIXES",
    "TOTAL_WORDS",
    "Header",
    "Table",
    "canonical_columns",
    "find_header",
    "read_table",
]

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

#: First cells that mark a totals row (合计, 小计 ...) of an export, skipped with a notice.
TOTAL_WORDS: frozenset[str] = frozenset(
    {
        "合计",
        "总计",
        "小计",
        "汇总",
        "总数",
        "合計",
        "total",
        "totals",
        "sum",
        "subtotal",
        "grand total",
    }
)

_BINARY_SIGNATURES: dict[bytes, str] = {
    b"PK\x03\x04": "zip/xlsx",
    b"%PDF": "pdf",
    b"\xd0\xcf\x11\xe0": "xls (Excel 97-2003)",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"SQLite format 3": "sqlite/gpkg",
}
_DELIMITERS = (",", "\t", ";", "|")
#: A header row must name at least this many of the layer's columns to beat row 1.
_MIN_HEADER_SCORE = 2
#: Units written after a column name: "费用（元）", "人口(人)", "Cost [CNY]".
_UNITS = re.compile(r"\s*[（(\[【][^）)\]】]*[）)\]】]\s*$")


@dataclass
class Table:
    """A table read from a file: text cells, canonical column names.

    ``frame`` has a RangeIndex; ``rows`` gives the user's row number of each
    record (the header is row 1 when it is the first row). ``original`` maps
    canonical names back to the header the user wrote, for messages.
    ``sheet`` is the sheet read (XLSX) and ``header_row`` the user's number of
    the header row.
    """

    file: str
    frame: pd.DataFrame
    rows: pd.Series
    original: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    sheet: str | None = None
    header_row: int = 1

    def label(self, column: str) -> str:
        """The column as the user named it (``电话 (phone)``)."""
        name = self.original.get(column, column)
        return name if name == column else f"{name} ({column})"


@dataclass(frozen=True)
class Header:
    """Where the header is among the first rows of a table (0-based positions).

    ``cells`` are the column names (a sub-header row below or above fills the
    gaps of merged cells); ``data`` is the first data row; ``score`` how many
    of the layer's columns the header names.
    """

    row: int
    cells: tuple[str | None, ...]
    data: int
    score: int


# ---------------------------------------------------------------- column names


def _alias_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for name in (canonical, *aliases):
            lookup.setdefault(_header_key(name), canonical)
    return lookup


def _header_key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", normalise_text(str(name)))


def canonical_name(header: object, lookup: dict[str, str] | None = None) -> str | None:
    """The canonical column a header names (``经度`` → ``lon``; units in brackets ignored)."""
    lookup = lookup or _alias_lookup()
    if header is None:
        return None
    text = str(header)
    found = lookup.get(_header_key(text))
    if found is None and _UNITS.search(text):
        found = lookup.get(_header_key(_UNITS.sub("", text)))
    return found


def canonical_columns(headers: list[str], problems: ProblemList, file: str) -> dict[str, str]:
    """Map each header to its canonical name (or keep it) and report clashes.

    Returns ``{header: canonical}``.
    """
    lookup = _alias_lookup()
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header in headers:
        canonical = canonical_name(header, lookup) or str(header).strip()
        if canonical in seen:
            problems.add(
                file,
                "err.duplicate_column",
                column=str(header),
                first=seen[canonical],
                canonical=canonical,
            )
            continue
        seen[canonical] = str(header)
        mapping[str(header)] = canonical
    return mapping


# ---------------------------------------------------------------- the header row


def find_header(
    rows: list[list[str | None]],
    known: set[str] | frozenset[str] | None = None,
    *,
    given: int | None = None,
) -> Header | None:
    """Find the header among ``rows`` (the first rows of a table, cells as text).

    The header is the first row naming the most of the ``known`` canonical
    columns (at least two; otherwise the first non-empty row). A neighbour row
    that names columns only where the header has gaps (merged cells above or a
    sub-header below: "位置" over "经度", "纬度") completes it. ``given`` (0-based)
    forces the row. Returns None when every row is empty.
    """
    lookup = _alias_lookup()
    known = set(known) if known is not None else set(COLUMN_ALIASES)

    def names(row: list[str | None]) -> list[str | None]:
        return [c if c in known else None for c in (canonical_name(v, lookup) for v in row)]

    recognised = [names(r) for r in rows]
    scores = [len({c for c in r if c}) for r in recognised]
    non_empty = [i for i, r in enumerate(rows) if any(v is not None for v in r)]
    if not non_empty:
        return None
    if given is not None:
        h = given
    else:
        best = max(scores)
        h = scores.index(best) if best >= _MIN_HEADER_SCORE else non_empty[0]
    cells = list(rows[h]) if h < len(rows) else []
    data = h + 1
    for n in (h - 1, h + 1):
        if n < 0 or n >= len(rows) or given is not None:
            continue
        other, other_names = rows[n], recognised[n]
        width = max(len(cells), len(other))
        cells += [None] * (width - len(cells))
        mine = names(cells)
        fills = [
            j
            for j in range(len(other))
            if other_names[j] and not mine[j] and other_names[j] not in mine
        ]
        clash = any(mine[j] and j < len(other) and other[j] is not None for j in range(width))
        if fills and not clash:
            for j in fills:
                cells[j] = other[j]
            data = max(data, n + 1)
    return Header(row=h, cells=tuple(cells), data=data, score=scores[h] if h < len(scores) else 0)


@functools.cache
def _total_variants() -> frozenset[str]:
    """The totals words as they are written (合计, Total, TOTAL, 合 计 ...)."""
    out = set()
    for word in TOTAL_WORDS:
        for form in (word, word.title(), word.upper()):
            out |= {form, form + ":", form + "：", " ".join(form) if len(form) == 2 else form}
    return frozenset(out)


def _is_totals(values: list[Any]) -> bool:
    first = next((v for v in values if v is not None and str(v).strip()), None)
    key = normalise_text(str(first)).replace(" ", "").rstrip(":：") if first is not None else ""
    return key in {w.replace(" ", "") for w in TOTAL_WORDS}


# ---------------------------------------------------------------- reading


def read_table(
    path: Path,
    problems: ProblemList,
    *,
    known: set[str] | frozenset[str] | None = None,
    options: dict[str, Any] | None = None,
    settings=None,
) -> Table | None:
    """Read a CSV or XLSX file; return None (with problems added) if unreadable.

    Parameters
    ----------
    known
        The canonical columns of the layer (they find the header row and the sheet).
    options
        ``{"sheet": name or number, "header_row": number}`` from dealer.toml's
        ``[files.<layer>]``.
    settings
        :class:`~territory.settings.Settings` (caps and the header scan).
    """
    from territory.settings import Settings

    load = (settings or Settings()).load
    options = options or {}
    file = path.name
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        problems.add(file, "err.file_type", found=path.suffix or "-", expected="CSV, XLSX")
        return None
    size = path.stat().st_size
    if size > load.max_table_mb * 2**20:
        problems.add(
            file,
            "err.file_too_large",
            column="max_table_mb",
            size=_mb(size),
            limit=f"{load.max_table_mb:g}",
        )
        return None
    data = path.read_bytes()
    if not data.strip():
        problems.add(file, "err.file_empty")
        return None
    header_row = options.get("header_row")
    given = int(header_row) - 1 if header_row is not None else None
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, data, problems, known, options.get("sheet"), given, load)
    kind = next((k for sig, k in _BINARY_SIGNATURES.items() if data.startswith(sig)), None)
    if kind:
        problems.add(file, "err.file_type", found=kind, expected="CSV (UTF-8 / GBK)")
        return None
    text, encoding = _decode(data)
    if text is None:
        problems.add(file, "err.encoding")
        return None
    return _parse_csv(file, text, encoding, problems, known, given, load)


def _mb(size: float) -> str:
    return f"{size / 2**20:,.1f}"


def _decode(data: bytes) -> tuple[str | None, str | None]:
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and _looks_mangled(text):
            continue
        return text, encoding
    return None, None


def _looks_mangled(text: str) -> bool:
    # GB18030 decodes almost any byte string; reject text full of rare
    # characters from the four-byte or private-use ranges.
    sample = text[:20000]
    odd = sum(1 for ch in sample if 0xE000 <= ord(ch) <= 0xF8FF or ord(ch) > 0xFFFF)
    return odd > max(3, len(sample) // 200)


def _scan_csv(sample: str, delimiter: str, limit: int) -> tuple[list[list[str | None]], list[int]]:
    """The first ``limit`` records (cells as text or None) and the line each one ends on."""
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    records: list[list[str | None]] = []
    ends: list[int] = []
    try:
        for record in reader:
            records.append([c.strip() or None for c in record])
            ends.append(reader.line_num)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records, ends


def _parse_csv(
    file: str,
    text: str,
    encoding: str,
    problems: ProblemList,
    known,
    given: int | None,
    load,
) -> Table | None:
    skipped_lines = 0
    forced = None
    first_line, _, rest = text.partition("\n")
    sep = re.fullmatch(r'\s*"?sep=(.)"?\s*,*\s*', first_line)
    if sep:  # Excel's "sep=;" directive line
        forced = sep.group(1)
        text = rest
        skipped_lines = 1
    sample = text[:65536]
    best: tuple[int, str, Header, list[int]] | None = None
    limit = max(load.header_scan_rows, (given or 0) + 2)
    for delimiter in (forced,) if forced else _DELIMITERS:
        records, ends = _scan_csv(sample, delimiter, limit)
        header = find_header(records, known, given=given)
        if header is None:
            continue
        width = len([c for c in header.cells if c is not None])
        key = (header.score, width)
        if best is None or key > (best[0], len([c for c in best[2].cells if c is not None])):
            best = (header.score, delimiter, header, ends)
    if best is None:
        problems.add(file, "err.file_empty")
        return None
    _, delimiter, header, ends = best
    if header.score < _MIN_HEADER_SCORE and given is None and not forced:
        # No row names the layer's columns: keep the classic reading (header on the first
        # non-empty line, delimiter sniffed from it); the missing columns are reported later.
        try:
            line = next(ln for ln in sample.splitlines() if ln.strip())
            delimiter = csv.Sniffer().sniff(line, delimiters=",\t;|").delimiter
        except (csv.Error, StopIteration):
            delimiter = ","
        records, ends = _scan_csv(sample, delimiter, limit)
        header = find_header(records, known, given=given) or header
    skip = ends[header.data - 1] if header.data - 1 < len(ends) else len(text.splitlines())
    width = len(header.cells)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            names=list(range(width)),
            skiprows=skip,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skipinitialspace=False,
            index_col=False,
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({j: pd.Series([], dtype="str") for j in range(width)})
    except (pd.errors.ParserError, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        problems.add(
            file,
            "err.csv_parse",
            rows=[int(line.group(1)) + skip + skipped_lines] if line else [],
            detail=str(exc).splitlines()[0][:200],
        )
        return None
    frame.columns = _header_names(header.cells)
    first_line_no = skip + skipped_lines + 1
    rows = pd.Series(range(first_line_no, first_line_no + len(frame)), dtype="int64")
    header_line = (ends[header.row - 1] if header.row > 0 else 0) + 1 + skipped_lines
    _notice_header(problems, file, header, header_line, None)
    return _finish(file, frame, encoding, problems, rows, header_line=header_line)


def _header_names(cells: tuple[str | None, ...]) -> list[str]:
    """Column names: a header cell's text, or ``Unnamed: j`` for a gap (dropped later)."""
    names: list[str] = []
    for j, cell in enumerate(cells):
        name = str(cell).strip() if cell is not None else ""
        names.append(name if name else f"Unnamed: {j}")
    return names


def _notice_header(problems, file, header: Header, header_line: int, sheet) -> None:
    if header.row > 0 and header.score >= _MIN_HEADER_SCORE:
        problems.add(
            file,
            "notice.header_row",
            rows=[header_line],
            severity=NOTICE,
            sheet=sheet or "-",
        )


def _read_xlsx(
    path: Path,
    data: bytes,
    problems: ProblemList,
    known,
    sheet_option,
    given: int | None,
    load,
) -> Table | None:
    from openpyxl import load_workbook

    file = path.name
    if not data.startswith(b"PK"):
        problems.add(file, "err.file_type", found="not an xlsx workbook", expected="XLSX")
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(
                i.file_size
                for i in archive.infolist()
                if i.filename.startswith("xl/worksheets/") or i.filename == "xl/sharedStrings.xml"
            )
            formulas = _formula_sheets(archive)
    except zipfile.BadZipFile as exc:
        problems.add(file, "err.xlsx_unreadable", detail=str(exc)[:200])
        return None
    if unpacked > load.max_table_mb * 2**20:
        problems.add(
            file,
            "err.xlsx_too_large",
            column="max_table_mb",
            size=_mb(unpacked),
            limit=f"{load.max_table_mb:g}",
        )
        return None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        problems.add(file, "err.xlsx_unreadable", detail=str(exc)[:200])
        return None
    try:
        sheets = list(book.worksheets)
        for sheet in sheets:
            sheet.reset_dimensions()  # a wrong <dimension> would pad every row to XFD1048576
        chosen = _choose_sheet(file, sheets, known, sheet_option, given, load, problems)
        if chosen is None:
            return None
        sheet, header = chosen
        records: list[list[str | None]] = []
        row_numbers: list[int] = []
        width = len(header.cells)
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number <= header.data:
                continue
            cells = [_cell_text(v) for v in values]
            if all(c is None for c in cells):
                continue
            records.append(cells[:width] + [None] * (width - len(cells)))
            row_numbers.append(number)
        title = sheet.title
        index = sheets.index(sheet)
    finally:
        book.close()
    missing = _formulas_without_values(data, index, header, width) if formulas else []
    names = _header_names(header.cells)
    frame = (
        pd.DataFrame(records, columns=names, dtype="str")
        if records
        else pd.DataFrame({h: pd.Series([], dtype="str") for h in names})
    )
    _notice_header(problems, file, header, header.row + 1, title)
    table = _finish(
        file,
        frame,
        None,
        problems,
        pd.Series(row_numbers, dtype="int64"),
        header_line=header.row + 1,
        sheet=title,
    )
    if table is not None and missing:
        _report_formulas(table, names, missing, known, problems)
    return table


def _choose_sheet(file, sheets, known, option, given, load, problems):
    """The sheet to read and its header, or None (with an error asking which)."""
    scans = []
    limit = max(load.header_scan_rows, (given or 0) + 2)
    for sheet in sheets:
        rows = []
        for values in sheet.iter_rows(values_only=True, max_row=limit):
            rows.append([_cell_text(v) for v in values])
        scans.append((sheet, rows))
    names = [s.title for s in sheets]
    if option is not None:
        pick = None
        if isinstance(option, int) and not isinstance(option, bool) and 1 <= option <= len(sheets):
            pick = option - 1
        elif str(option) in names:
            pick = names.index(str(option))
        if pick is None:
            problems.add(
                file,
                "err.sheet_unknown",
                column=str(option),
                found=str(option),
                sheets=", ".join(names),
            )
            return None
        sheet, rows = scans[pick]
        header = find_header(rows, known, given=given)
        if header is None:
            problems.add(file, "err.file_empty")
            return None
        return sheet, header
    found = []
    for sheet, rows in scans:
        header = find_header(rows, known, given=given)
        if header is None:
            continue
        has_data = any(any(v is not None for v in r) for r in rows[header.data :]) or (
            len(rows) >= limit
        )
        found.append((sheet, header, has_data))
    if not found:
        problems.add(file, "err.file_empty")
        return None
    tables = [f for f in found if f[1].score >= _MIN_HEADER_SCORE and f[2]]
    if not tables:
        sheet, header, _ = found[0]
        return sheet, header
    top = max(f[1].score for f in tables)
    best = [f for f in tables if f[1].score == top]
    if len(best) > 1:
        problems.add(
            file,
            "err.sheet_ambiguous",
            column=best[-1][0].title,
            sheets="、".join(f[0].title for f in best),
            first=best[0][0].title,
            last=best[-1][0].title,
        )
        return None
    sheet, header, _ = best[0]
    if sheet is not found[0][0]:
        problems.add(
            file,
            "notice.sheet_chosen",
            column=sheet.title,
            severity=NOTICE,
            sheet=sheet.title,
            first=found[0][0].title,
        )
    return sheet, header


def _formula_sheets(archive: zipfile.ZipFile) -> set:
    """Positions (0-based, in workbook order) of sheets whose XML holds formulas."""
    names = sorted(
        (n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
        key=lambda n: int(re.search(r"(\d+)\.xml$", n).group(1)),
    )
    out = set()
    for i, name in enumerate(names):
        with archive.open(name) as fh:
            chunk = b""
            while True:
                block = fh.read(1 << 20)
                if not block:
                    break
                if b"<f>" in chunk[-8:] + block or b"<f " in chunk[-8:] + block:
                    out.add(i)
                    break
                chunk = block
    return out


def _formulas_without_values(data: bytes, index: int, header: Header, width: int):
    """``(row number, column position)`` of formula cells that carry no computed value."""
    from openpyxl import load_workbook

    out = []
    formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        fs, vs = formulas.worksheets[index], values.worksheets[index]
        fs.reset_dimensions()
        vs.reset_dimensions()
        for number, (f_row, v_row) in enumerate(
            zip(fs.iter_rows(values_only=True), vs.iter_rows(values_only=True), strict=False),
            start=1,
        ):
            if number <= header.data:
                continue
            for j, (f, v) in enumerate(zip(f_row, v_row, strict=False)):
                if j < width and isinstance(f, str) and f.startswith("=") and v in (None, ""):
                    out.append((number, j))
    finally:
        formulas.close()
        values.close()
    return out


def _report_formulas(table: Table, names, missing, known, problems: ProblemList) -> None:
    by_column: dict[int, list[int]] = {}
    for number, j in missing:
        by_column.setdefault(j, []).append(number)
    lookup = _alias_lookup()
    for j, numbers in sorted(by_column.items()):
        header = names[j]
        canonical = canonical_name(header, lookup)
        used = canonical is not None and (known is None or canonical in known)
        problems.add(
            table.file,
            "err.xlsx_formula_no_value" if used else "warn.xlsx_formula_no_value",
            column=header,
            rows=numbers,
            severity=ERROR if used else WARNING,
        )


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _finish(
    file: str,
    frame: pd.DataFrame,
    encoding: str | None,
    problems: ProblemList,
    rows: pd.Series,
    *,
    header_line: int = 1,
    sheet: str | None = None,
) -> Table | None:
    headers = [str(c) for c in frame.columns]
    unnamed = [h for h in headers if h.startswith("Unnamed:")]
    if len(unnamed) == len(headers):
        problems.add(file, "err.no_header")
        return None
    mapping = canonical_columns(headers, problems, file)
    frame = frame.loc[:, [h in mapping for h in headers]]
    frame.columns = [mapping[str(h)] for h in frame.columns]
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed:")])
    for column in frame.columns:
        frame[column] = frame[column].astype("str").str.strip().replace("", None)
    frame = frame.reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    if len(frame.columns):
        keep = np.array(frame.notna().any(axis=1).to_numpy(), dtype=bool)  # a writable copy
    else:
        keep = np.zeros(len(frame), dtype=bool)
    # Totals rows (合计 ...) and the header repeated on every printed page are no records.
    # Candidate rows are found column by column (vectorised); only they are looked at.
    original = {canonical: header for header, canonical in mapping.items()}
    header_keys = [_header_key(original.get(c, c)) for c in frame.columns]
    words = _total_variants()
    hits = np.zeros(len(frame), dtype=bool)
    same = np.zeros(len(frame), dtype="int64")
    for column in frame.columns:
        cells = frame[column]
        hits |= cells.isin(words).to_numpy()
        same += (cells == str(original.get(column, column)).strip()).to_numpy(dtype="int64")
    totals, repeated = [], []
    for i in np.flatnonzero(keep & (hits | (same >= 2))):
        row = list(frame.iloc[i])
        filled = [v for v in row if v is not None]
        if _is_totals(row):
            totals.append(i)
            keep[i] = False
        elif len(filled) >= 2 and (
            sum(
                1
                for v, k in zip(row, header_keys, strict=True)
                if v is not None and _header_key(v) == k
            )
            >= max(2, 0.6 * len(filled))
        ):
            repeated.append(i)
            keep[i] = False
    if totals:
        problems.add(
            file,
            "notice.totals_row",
            rows=rows.iloc[totals],
            severity=NOTICE,
            found=str(next(v for v in frame.iloc[totals[0]] if v is not None)),
        )
    if repeated:
        problems.add(
            file,
            "notice.header_repeated",
            rows=rows.iloc[repeated],
            severity=NOTICE,
            header=header_line,
        )
    frame = frame.loc[keep].reset_index(drop=True)
    rows = rows.loc[keep].reset_index(drop=True)
    return Table(
        file=file,
        frame=frame,
        rows=rows,
        original=original,
        encoding=encoding,
        sheet=sheet,
        header_row=header_line,
    )

"""Reading tabular layers (CSV, XLSX) into text frames with canonical columns.

Every cell is read as text (identifiers and phones keep their leading
zeros); typing happens in :mod:`territory.inputs.layers`. CSV encodings are
detected strictly: UTF-8 (with or without BOM), UTF-16 with BOM, then
GB18030 (a superset of GBK/GB2312); a file that decodes in none of them is
refused rather than mangled.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territory._errors import ProblemList
from territory.vocab import COLUMN_ALIASES, normalise_text

__all__ = ["TABLE_SUFFIXES", "Table", "canonical_columns", "read_table"]

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

_BINARY_SIGNATURES: dict[bytes, str] = {
    b"PK\x03\x04": "zip/xlsx",
    b"%PDF": "pdf",
    b"\xd0\xcf\x11\xe0": "xls (Excel 97-2003)",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"SQLite format 3": "sqlite/gpkg",
}


@dataclass
class Table:
    """A table read from a file: text cells, canonical column names.

    ``frame`` has a RangeIndex; ``rows`` gives the user's row number of each
    record (the header is row 1). ``original`` maps canonical names back to
    the header the user wrote, for messages.
    """

    file: str
    frame: pd.DataFrame
    rows: pd.Series
    original: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None

    def label(self, column: str) -> str:
        """The column as the user named it (``电话 (phone)``)."""
        name = self.original.get(column, column)
        return name if name == column else f"{name} ({column})"


def canonical_columns(headers: list[str], problems: ProblemList, file: str) -> dict[str, str]:
    """Map each header to its canonical name (or keep it) and report clashes.

    Returns ``{header: canonical}``.
    """
    lookup: dict[str, str] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for name in (canonical, *aliases):
            lookup.setdefault(_header_key(name), canonical)
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header in headers:
        canonical = lookup.get(_header_key(header), str(header).strip())
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


def _header_key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", normalise_text(str(name)))


def read_table(path: Path, problems: ProblemList) -> Table | None:
    """Read a CSV or XLSX file; return None (with problems added) if unreadable."""
    file = path.name
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        problems.add(file, "err.file_type", found=path.suffix or "-", expected="CSV, XLSX")
        return None
    data = path.read_bytes()
    if not data.strip():
        problems.add(file, "err.file_empty")
        return None
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, data, problems)
    kind = next((k for sig, k in _BINARY_SIGNATURES.items() if data.startswith(sig)), None)
    if kind:
        problems.add(file, "err.file_type", found=kind, expected="CSV (UTF-8 / GBK)")
        return None
    text, encoding = _decode(data)
    if text is None:
        problems.add(file, "err.encoding")
        return None
    return _parse_csv(file, text, encoding, problems)


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


def _parse_csv(file: str, text: str, encoding: str, problems: ProblemList) -> Table | None:
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        problems.add(file, "err.file_empty")
        return None
    except (pd.errors.ParserError, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        problems.add(
            file,
            "err.csv_parse",
            rows=[int(line.group(1))] if line else [],
            detail=str(exc).splitlines()[0][:200],
        )
        return None
    rows = pd.Series(range(2, 2 + len(frame)), dtype="int64")
    return _finish(file, frame, encoding, problems, rows)


def _read_xlsx(path: Path, data: bytes, problems: ProblemList) -> Table | None:
    from openpyxl import load_workbook

    file = path.name
    if not data.startswith(b"PK"):
        problems.add(file, "err.file_type", found="not an xlsx workbook", expected="XLSX")
        return None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        problems.add(file, "err.xlsx_unreadable", detail=str(exc)[:200])
        return None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    records: list[list[str | None]] = []
    row_numbers: list[int] = []
    for number, values in enumerate(rows, start=1):
        cells = [_cell_text(v) for v in values]
        if header is None:
            if any(c is not None for c in cells):
                header = [c if c is not None else f"column{i + 1}" for i, c in enumerate(cells)]
            continue
        if all(c is None for c in cells):
            continue
        records.append(cells[: len(header)] + [None] * (len(header) - len(cells)))
        row_numbers.append(number)
    book.close()
    if header is None:
        problems.add(file, "err.file_empty")
        return None
    frame = (
        pd.DataFrame(records, columns=header, dtype="str")
        if records
        else pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    )
    return _finish(file, frame, None, problems, pd.Series(row_numbers, dtype="int64"))


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
    file: str, frame: pd.DataFrame, encoding: str | None, problems: ProblemList, rows: pd.Series
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
    keep = frame.notna().any(axis=1).to_numpy() if len(frame.columns) else []
    frame = frame.loc[keep].reset_index(drop=True)
    rows = rows.loc[keep].reset_index(drop=True)
    original = {canonical: header for header, canonical in mapping.items()}
    return Table(file=file, frame=frame, rows=rows, original=original, encoding=encoding)

"""Personal data: masked in every export by default; formulas never written raw.

Customer data is personal information. Every CSV or XLSX that Territory
writes goes through :func:`safe_frame` (a whole table) or :func:`safe_cell`
(one cell of a hand-built sheet), or is written by :func:`write_table`, which
does both. They mask by **content**, not only by column name, because real
exports carry personal data in any column (备用电话, 备注, 身份证号, 家庭住址):

- mobile numbers (with ``+86``, spaces or dashes) keep their first 3 and last
  4 digits: ``139****4321``; landlines keep the area code and the last 4;
- ID numbers (18 or 15 digits) and other long numbers (bank cards, 11+
  digits) keep only their ends: ``510**********1234``;
- detailed addresses lose everything from the house number on:
  ``成都市武侯区玉林北路12号3栋`` → ``成都市武侯区玉林北路****``;
- names (the ``name`` column and headers such as 联系人, 车主) keep their first
  character: ``张*``.

Whatever is asked, a text cell that a spreadsheet would run as a formula
(starting with ``= + - @``, a tab or a carriage return), headers included,
gets a leading ``'``, and floats keep 7 decimals (about 1 cm in degrees).

Examples
--------
>>> mask_phone("13812341234")
'138****1234'
>>> mask_name("张三"), mask_name("欧阳娜娜")
('张*', '欧***')
>>> mask_text("周末来店，电话 139-8765-4321，地址玉林北路12号3栋")
'周末来店，电话 139****4321，地址玉林北路****'
>>> import pandas as pd
>>> safe_frame(pd.DataFrame({"name": ["李四"], "备注": ["=1+1"], "备用电话": ["13900001111"]})).iloc[0].tolist()
['李*', "'=1+1", '139****1111']
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from territory.vocab import normalise_text

__all__ = [
    "FLOAT_DECIMALS",
    "NAME_HEADERS",
    "PERSONAL_COLUMNS",
    "PHONE_PATTERN",
    "drop_personal",
    "mask_address",
    "mask_frame",
    "mask_name",
    "mask_phone",
    "mask_text",
    "neutralise",
    "round_floats",
    "safe_cell",
    "safe_frame",
    "write_table",
]

#: Columns that hold personal data in any layer.
PERSONAL_COLUMNS: tuple[str, ...] = ("name", "phone", "address")
#: Header words of columns holding people's names (besides ``name``), masked like names.
NAME_HEADERS: tuple[str, ...] = (
    "姓名",
    "联系人",
    "客户名称",
    "车主",
    "购车人",
    "介绍人",
    "推荐人",
    "紧急联系人",
    "contact",
    "owner",
    "person",
)
#: A mainland mobile number anywhere in a text (used by tests and checks on exports).
PHONE_PATTERN = re.compile(r"1[3-9]\d{9}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_DIGIT = r"[0-9０-９]"
_MOBILE = re.compile(
    r"(?<![0-9０-９])(?:\+?86[\s\-]?)?(1[3-9]\d)[\s\-]?(\d{4})[\s\-]?(\d{4})(?![0-9０-９])"
)
_LANDLINE = re.compile(r"(?<![0-9０-９])(0\d{2,3})[\s\-]?(\d{3,4})(\d{4})(?![0-9０-９])")
_ID_NUMBER = re.compile(r"(?<![0-9０-９A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9０-９A-Za-z])")
_LONG_NUMBER = re.compile(r"(?<![0-9０-９])\d{11,}(?![0-9０-９])")
_NUMERAL = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_UNIT = r"(?:号楼|号院|号|弄|栋|幢|座|单元|室|户|楼|层|巷)"
_PLACE = (
    r"(?:路|街|道|巷|弄|胡同|村|组|小区|花园|苑|园|庭|府|城|湾|大厦|广场|公寓|家园|新村|社区|里|区)"
)
#: A house number after a street or compound name, or a building/unit/room number.
_ADDRESS_DETAIL = re.compile(
    rf"{_PLACE}\s*(?P<num>{_NUMERAL}\s*{_UNIT})|(?P<bld>{_NUMERAL}\s*(?:栋|幢|单元|室))"
)
#: Cells worth a closer look: 7+ digits (single spaces or dashes between), or a house-number unit.
_SUSPECT = r"\d(?:[\s\-]?\d){6}|[号栋幢单元室弄]"


def neutralise(value: object) -> object:
    """Make text that a spreadsheet would run as a formula harmless (a leading ``'``).

    >>> neutralise("=HYPERLINK(1)"), neutralise("玉林街道"), neutralise(3)
    ("'=HYPERLINK(1)", '玉林街道', 3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def mask_phone(value: object) -> object:
    """Keep the first 3 and last 4 digits: ``138****1234``; short numbers keep 2+2."""
    if not isinstance(value, str) or not value:
        return value
    digits = value.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 4:
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    return "*" * len(digits)


def mask_name(value: object) -> object:
    """Keep the first character: ``张*``, ``欧***``, ``J***``."""
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip()
    return text[0] + "*" * max(1, len(text) - 1)


def mask_address(value: object) -> object:
    """Cut a detailed address at its house number: ``玉林北路12号3栋`` → ``玉林北路****``.

    >>> mask_address("成都市锦江区春熙路街道总府路8号附3号"), mask_address("春熙路街道")
    ('成都市锦江区春熙路街道总府路****', '春熙路街道')
    """
    if not isinstance(value, str):
        return value
    match = _ADDRESS_DETAIL.search(value)
    if match is None:
        return value
    cut = match.start("num") if match.group("num") else match.start("bld")
    return value[:cut].rstrip() + "****"


def _keep_ends(digits: str, head: int, tail: int) -> str:
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_text(value: object, *, long_numbers: bool = True) -> object:
    """Mask phone numbers, ID numbers, long numbers and detailed addresses inside a text.

    ``long_numbers=False`` leaves runs of 11+ digits that are neither a mobile
    number nor an ID number alone (identifier columns such as ``customer_id``).

    >>> mask_text("身份证 51010419900101123X"), mask_text("028-85123456")
    ('身份证 510***********123X', '028-****3456')
    """
    if not isinstance(value, str) or not re.search(_SUSPECT, value):
        return value
    text = value
    text = _ID_NUMBER.sub(lambda m: _keep_ends(m.group(1), 3, 4), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    if long_numbers:
        text = _LONG_NUMBER.sub(lambda m: _keep_ends(m.group(0), 3, 2), text)
    return mask_address(text)


def _is_name_column(column: object) -> bool:
    key = normalise_text(str(column)).replace(" ", "")
    return key == "name" or any(word in key for word in NAME_HEADERS)


def _is_id_column(column: object) -> bool:
    return str(column).endswith("_id")


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every personal value masked (by column and by content).

    Numbers and dates are left as they are; see :func:`safe_frame` for a
    frame ready to write (formulas neutralised too).
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            continue
        text = series.where(series.notna(), None)
        present = text.notna()
        if not present.any():
            continue
        values = text[present].astype("str")
        if column == "phone":
            values = values.map(mask_phone)
        suspect = values.str.contains(_SUSPECT, regex=True)
        if suspect.any():
            masked = values[suspect]
            uniques = {
                v: mask_text(v, long_numbers=not _is_id_column(column)) for v in masked.unique()
            }
            values = values.where(~suspect, masked.map(uniques))
        if _is_name_column(column):
            values = values.map(mask_name)
        out[column] = text.where(~present, values.reindex(text.index)).astype(series.dtype)
    return out


def _neutralise_series(series: pd.Series) -> pd.Series:
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return series
    text = series.where(series.notna(), None)
    is_text = text.map(lambda v: isinstance(v, str))
    risky = is_text & text.where(is_text, "").astype("str").str.startswith(_FORMULA_START)
    if not risky.any():
        return series
    return text.where(~risky, "'" + text.where(risky, "").astype("str")).astype(series.dtype)


#: Decimals kept in written floats: 7 is about 1 cm in degrees, and no float then shows
#: a run of 11+ digits that a reader (or a leak check) would take for a phone number.
FLOAT_DECIMALS = 7


def round_floats(frame: pd.DataFrame, decimals: int = FLOAT_DECIMALS) -> pd.DataFrame:
    """A copy with float columns rounded to ``decimals`` (integers and text unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(decimals)
    return out


def safe_frame(frame: pd.DataFrame, *, mask: bool = True) -> pd.DataFrame:
    """A copy ready to write to CSV or XLSX: personal data masked (unless ``mask=False``)
    and every text cell and header that starts a formula neutralised.

    Use it (or :func:`write_table`) for every table Territory writes.
    """
    out = round_floats(mask_frame(frame) if mask else frame)
    for column in out.columns:
        out[column] = _neutralise_series(out[column])
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def safe_cell(value: object, *, mask: bool = True) -> object:
    """One cell for a hand-built sheet (openpyxl): masked by content, formula neutralised."""
    if mask:
        value = mask_text(value)
    return neutralise(value)


def write_table(
    frame: pd.DataFrame,
    path: Path | str,
    *,
    mask: bool = True,
    sheet: str = "data",
    encoding: str = "utf-8-sig",
) -> Path:
    """Write ``frame`` to CSV or XLSX (by ``path``'s suffix) through :func:`safe_frame`.

    Datetime columns are written as ``YYYY-MM-DD``; text cells are always text
    in XLSX (never a formula). The file is written to a unique temporary name
    in the same folder and moved into place, so a reader never sees half a file
    and two writers never share a temporary file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"a table is written as .csv or .xlsx; got {path.name!r}")
    out = safe_frame(frame, mask=mask)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".csv":
            out.to_csv(tmp, index=False, encoding=encoding)
        else:
            _write_xlsx(out, tmp, sheet)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet_name: str) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = str(neutralise(sheet_name))[:31]
    sheet.append([str(c) for c in frame.columns])
    for values in frame.itertuples(index=False, name=None):
        sheet.append([None if _missing(v) else v for v in values])
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    book.save(path)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def drop_personal(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy without any personal column (for reports that need none)."""
    return frame.drop(columns=[c for c in PERSONAL_COLUMNS if c in frame.columns])

"""Personal data: masking phones and names in every export by default.

Examples
--------
>>> mask_phone("13812341234")
'138****1234'
>>> mask_name("张三"), mask_name("欧阳娜娜")
('张*', '欧***')
>>> import pandas as pd
>>> mask_frame(pd.DataFrame({"name": ["李四"], "phone": ["13900001111"], "model": ["SUV"]})).iloc[0].tolist()
['李*', '139****1111', 'SUV']
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = [
    "PERSONAL_COLUMNS",
    "PHONE_PATTERN",
    "drop_personal",
    "mask_frame",
    "mask_name",
    "mask_phone",
    "neutralise",
]

#: Columns that hold personal data in any layer.
PERSONAL_COLUMNS: tuple[str, ...] = ("name", "phone", "address")
#: A mainland mobile number anywhere in a text (used by tests and checks on exports).
PHONE_PATTERN = re.compile(r"1[3-9]\d{9}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``name`` and ``phone`` masked (other columns unchanged)."""
    out = frame.copy()
    if "phone" in out:
        out["phone"] = out["phone"].map(mask_phone).astype(out["phone"].dtype)
    if "name" in out:
        out["name"] = out["name"].map(mask_name).astype(out["name"].dtype)
    return out


def drop_personal(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy without any personal column (for reports that need none)."""
    return frame.drop(columns=[c for c in PERSONAL_COLUMNS if c in frame.columns])

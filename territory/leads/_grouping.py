"""Private helpers shared by coverage and funnel: rows by district or zone, periods.

Every point (customer or card) is given the key of the table row it counts
in: its district (or zone), or :data:`UNLOCATED` when it cannot be placed.
Nothing is dropped: unlocated points get a row of their own.

Examples
--------
>>> import pandas as pd
>>> p = resolve_period(pd.Series(pd.to_datetime(["2024-01-05"])), "2024-04-01", "2024-06-29")
>>> p.days, p.prev_start.date().isoformat(), p.prev_end.date().isoformat()
(90, '2024-01-02', '2024-03-31')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.i18n import t

__all__ = [
    "BY",
    "NO_DISTRICT",
    "UNLOCATED",
    "DateLike",
    "Period",
    "check_by",
    "in_period",
    "ordered_keys",
    "point_keys",
    "resolve_period",
    "row_frame",
    "zone_keys",
]

#: The groupings a table can be made by.
BY: tuple[str, ...] = ("district", "zone")
#: Row key of points that cannot be placed in any zone or district.
UNLOCATED = "\x00unlocated"
#: Row key of zones whose district is missing.
NO_DISTRICT = "\x00no_district"

DateLike = str | dt.date | pd.Timestamp | None


@dataclass(frozen=True)
class Period:
    """A date range of whole days (both ends included) and the one before it.

    ``start`` and ``end`` are None when no range was asked for (all dates);
    the previous period then does not exist.
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    prev_start: pd.Timestamp | None = None
    prev_end: pd.Timestamp | None = None

    @property
    def given(self) -> bool:
        """True when a date range applies (and a previous period exists)."""
        return self.start is not None

    @property
    def days(self) -> int | None:
        """Length of the period in days, both ends included."""
        if self.start is None or self.end is None:
            return None
        return int((self.end - self.start).days) + 1


def check_by(by: str) -> str:
    """Return ``by`` if it is a known grouping, else raise ``ValueError``."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}; got {by!r}")
    return by


def _day(value: DateLike, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a date such as 2024-06-30; got {value!r}") from exc
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a date such as 2024-06-30; got {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def resolve_period(dates: pd.Series | None, start: DateLike, end: DateLike) -> Period:
    """Turn optional ``start``/``end`` into a :class:`Period` of whole days.

    With neither, the period is "all dates" and has no previous period. With
    only ``start``, the period ends on the latest date in ``dates``; with only
    ``end``, it begins on the earliest. The previous period has the same
    number of days and ends the day before ``start``.

    Raises
    ------
    ValueError
        If a date cannot be read or ``start`` is after ``end``.
    """
    first = _day(start, "start")
    last = _day(end, "end")
    if first is None and last is None:
        return Period()
    known = pd.Series(dtype="datetime64[ns]") if dates is None else dates.dropna()
    if first is None:
        first = known.min().normalize() if len(known) else last
        first = min(first, last)
    if last is None:
        last = known.max().normalize() if len(known) else first
        last = max(first, last)
    if first > last:
        raise ValueError(
            f"start {first.date().isoformat()} is after end {last.date().isoformat()}; swap them"
        )
    days = (last - first).days + 1
    prev_end = first - pd.Timedelta(days=1)
    prev_start = prev_end - pd.Timedelta(days=days - 1)
    return Period(first, last, prev_start, prev_end)


def in_period(dates: pd.Series, start: pd.Timestamp | None, end: pd.Timestamp | None) -> np.ndarray:
    """Boolean mask of ``dates`` within the whole days ``start`` .. ``end``.

    With ``start`` None every row counts, including rows without a date.
    """
    if start is None or end is None:
        return np.ones(len(dates), dtype=bool)
    values = pd.to_datetime(dates)
    mask = (values >= start) & (values < end + pd.Timedelta(days=1))
    return mask.fillna(False).to_numpy(dtype=bool)


def _text_key(v) -> str | None:
    return None if v is None or str(v).strip() == "" else str(v)


def _text(values: pd.Series) -> pd.Series:
    """Text keys with NA for missing or blank values (object dtype).

    Keys repeat (a few hundred zones or districts for a hundred thousand
    points), so text columns are factorised and the rule is applied to each
    distinct value once (the same ``map`` on the distinct values, so missing
    values come out exactly as they would row by row); anything else goes
    value by value.
    """
    out = values.astype(object).where(values.notna(), None)
    if not len(out) or pd.api.types.infer_dtype(out, skipna=True) != "string":
        return out.map(_text_key).astype(object)
    codes, uniques = pd.factorize(out, use_na_sentinel=True)
    missing = pd.isna(out.to_numpy())
    na = out.to_numpy()[missing][0] if missing.any() else None
    keyed = pd.Series([*uniques, na], dtype=object).map(_text_key).astype(object)
    return pd.Series(keyed.to_numpy()[codes], index=values.index, dtype=object)


def zone_keys(zones: pd.DataFrame, by: str) -> pd.Series:
    """Row key of every zone: its zone_id, or its district (``NO_DISTRICT`` if missing)."""
    if by == "zone":
        return _text(zones["zone_id"])
    if "district" not in zones.columns:
        return pd.Series([NO_DISTRICT] * len(zones), index=zones.index, dtype=object)
    return _text(zones["district"]).map(lambda v: NO_DISTRICT if v is None else v).astype(object)


def point_keys(points: pd.DataFrame | None, zones: pd.DataFrame, by: str) -> pd.Series:
    """Row key of every point: its zone's key; else (by district) its own district; else UNLOCATED.

    A point's zone decides, so that people and population are grouped the
    same way; a point placed only in a district (e.g. an address that matched
    a district name) counts there; anything else is ``UNLOCATED``.
    """
    if points is None:
        return pd.Series([], dtype=object)
    zone_key = dict(zip(_text(zones["zone_id"]), zone_keys(zones, by), strict=True))

    def key_of(z):
        return zone_key.get(z) if z is not None else None

    if "zone_id" in points.columns:
        # Each distinct zone id looked up once (missing ones too, as row by row).
        given = _text(points["zone_id"])
        codes, uniques = pd.factorize(given, use_na_sentinel=True)
        missing = pd.isna(given.to_numpy())
        na = given.to_numpy()[missing][0] if missing.any() else None
        found = np.array([key_of(z) for z in uniques] + [key_of(na)], dtype=object)
        keys = pd.Series(found[codes], index=points.index, dtype=object)
    else:
        keys = pd.Series([None] * len(points), index=points.index, dtype=object)
    if by == "district" and "district" in points.columns:
        own = _text(points["district"])
        keys = keys.where(keys.notna(), own)
    return keys.where(keys.notna(), UNLOCATED).astype(object)


def ordered_keys(zones: pd.DataFrame, by: str, *point_key_series: pd.Series) -> list[str]:
    """Row keys in display order: zones' order, then other districts, then the special rows."""
    keys: list[str] = list(dict.fromkeys(k for k in zone_keys(zones, by) if k is not None))
    known = set(keys)
    extra = sorted(
        {
            k
            for series in point_key_series
            for k in series.unique()
            if k not in known and k not in (UNLOCATED, NO_DISTRICT)
        }
    )
    regular = [k for k in keys if k != NO_DISTRICT]
    special = [NO_DISTRICT] if NO_DISTRICT in known else []
    if any((s == UNLOCATED).any() for s in point_key_series):
        special.append(UNLOCATED)
    return regular + extra + special


def row_frame(zones: pd.DataFrame, keys: list[str], by: str, lang: str) -> pd.DataFrame:
    """Identity columns for the rows ``keys``: district (or zone_id, name, district), unlocated, label."""
    unlocated = [k == UNLOCATED for k in keys]
    if by == "district":
        district = [None if k in (UNLOCATED, NO_DISTRICT) else k for k in keys]
        label = [_label(k, k, lang) for k in keys]
        return pd.DataFrame(
            {"district": pd.Series(district, dtype=object), "unlocated": unlocated, "label": label}
        )
    ids = _text(zones["zone_id"])
    names = _text(zones["name"]) if "name" in zones.columns else ids
    districts = _text(zones["district"]) if "district" in zones.columns else ids.map(lambda _: None)
    name_of = dict(zip(ids, names, strict=True))
    district_of = dict(zip(ids, districts, strict=True))
    return pd.DataFrame(
        {
            "zone_id": pd.Series([None if k == UNLOCATED else k for k in keys], dtype=object),
            "name": pd.Series([name_of.get(k) for k in keys], dtype=object),
            "district": pd.Series([district_of.get(k) for k in keys], dtype=object),
            "unlocated": unlocated,
            "label": [_label(k, name_of.get(k) or k, lang) for k in keys],
        }
    )


def _label(key: str, text: str, lang: str) -> str:
    if key == UNLOCATED:
        return t("coverage.row.unlocated", lang)
    if key == NO_DISTRICT:
        return t("coverage.row.no_district", lang)
    return str(text)

"""What a network run gives to people and scripts: the JSON document and the dealer table.

:func:`network_json` is ``territory network --json`` (the contract's keys,
plus more); :func:`dealer_table` the table of the app's Network page and of
``--out`` exports (:func:`export_dealer_table`). Neither holds personal
data: dealers are businesses, customers appear only as counts; exports
still neutralise formula prefixes and refuse anything that looks like a
phone number, as every export of Territory does.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territory.i18n import check_lang, t
from territory.privacy import PHONE_PATTERN, neutralise, round_floats

__all__ = ["TABLE_COLUMNS", "dealer_table", "export_dealer_table", "network_json"]

#: Columns of the dealer table, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "dealer_id",
    "name",
    "brand",
    "zone_count",
    "population",
    "customers",
    "expected_customers",
    "whitespace_score",
    "whitespace_customers",
    "a_cards",
    "deposit_cards",
    "deposit_rate",
    "a_cards_per_10k",
    "diagnosis",
    "sites",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    return value


def network_json(result, *, lang: str = "zh") -> dict[str, Any]:
    """The ``territory network --json`` document.

    ``{"dealers": [{"dealer_id", "zones", "population", "customers",
    "expected_customers", "whitespace_score", "a_cards", "deposit_cards",
    "diagnosis", "sites", ...}], "gaps": [{"zone_ids", "population",
    "expected_customers", "nearest_dealer_km", ...}], ...}`` — see
    ``docs/contract.md``, "A dealer network".
    """
    lang = check_lang(lang)
    areas = result.areas
    table = result.zones
    served = table["dealer_id"].notna()
    gaps = []
    for record in result.gaps.areas.drop(columns="geometry").to_dict(orient="records"):
        gaps.append(
            {
                "gap_id": record["gap_id"],
                "zone_ids": list(record["zone_ids"]),
                "population": int(record["population"]),
                "customers": int(record["customers"]),
                "expected_customers": record["expected_customers"],
                "shortfall": record["shortfall"],
                "score": record["score"],
                "lon": record["lon"],
                "lat": record["lat"],
                "nearest_dealer_km": record["nearest_dealer_km"],
                "nearest_dealer": record["nearest_dealer"],
            }
        )
    dealers = []
    for summary in result.dealers:
        row = dict(summary)
        row["notes"] = [_note(code, lang) for code in row.get("notes", [])]
        if result.details is not None:
            row["detail"] = result.details.get(summary["dealer_id"])
        dealers.append(row)
    yard = result.diagnosis.attrs
    document = {
        "network": result.network.name,
        "date": result.date.isoformat(),
        "assignment": {
            "method": areas.method,
            "allow_overlap": result.network.network_settings.allow_overlap,
            "overlapping_zones": areas.overlapping,
            "served_zones": int(served.sum()),
            "unserved_zones": int((~served).sum()),
            "unserved_population": int(table.loc[~served, "population"].sum()),
        },
        "yardsticks": {
            "a_cards_per_10k": yard.get("yardstick_a_cards_per_10k"),
            "deposit_rate": yard.get("yardstick_deposit_rate"),
        },
        "dealers": dealers,
        "gaps": gaps,
        "outlets": result.gaps.outlets.to_dict(orient="records"),
        "covering": result.gaps.covering,
        "gap_model": {
            "reference_km": result.gaps.reference_km,
            "dispersion": result.gaps.dispersion,
            "notes": [t(f"network.note.{n}", lang) for n in result.gaps.notes],
        },
        "synthetic": result.network.has_synthetic_data,
        "notices": [p.to_dict(lang) for p in result.notices],
        "engine": result.engine,
    }
    return _plain(document)


def _note(code: str, lang: str) -> str:
    for prefix in ("analysis.note.", "recommend.note.", "network.note."):
        key = prefix + code
        try:
            return t(key, lang)
        except KeyError:
            continue
    return code


def dealer_table(result, *, lang: str = "zh") -> pd.DataFrame:
    """One row per dealer, the columns of :data:`TABLE_COLUMNS` (sites joined by commas)."""
    rows = []
    for s in result.dealers:
        row = {c: s.get(c) for c in TABLE_COLUMNS}
        row["sites"] = ", ".join(s.get("sites") or [])
        row["diagnosis"] = s.get("diagnosis")
        rows.append(row)
    frame = pd.DataFrame.from_records(rows, columns=list(TABLE_COLUMNS))
    frame.attrs["lang"] = check_lang(lang)
    return frame


def export_dealer_table(frame: pd.DataFrame, path: Path | str, *, lang: str | None = None) -> Path:
    """Write the dealer table to CSV (UTF-8 with BOM) or XLSX, headers in ``lang``.

    Text cells that begin with ``= + - @`` get a leading apostrophe; a cell
    that looks like a phone number stops the export (the table never holds
    personal data; this is checked, not assumed).

    Raises
    ------
    ValueError
        If the suffix is not ``.csv`` or ``.xlsx`` or a cell looks like a phone number.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"export path must end in .csv or .xlsx; got {path.name!r}")
    lang = check_lang(lang or frame.attrs.get("lang", "zh"))
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind in "OUST":
            hit = out[column].astype(str).str.contains(PHONE_PATTERN, na=False)
            if hit.any():
                raise ValueError(f"column {column!r} holds what looks like a phone number")
    if "diagnosis" in out:
        out["diagnosis"] = out["diagnosis"].map(
            lambda c: t(f"coverage.diagnosis.{c}", lang) if isinstance(c, str) else c
        )
    out = round_floats(out)  # no float shows a run of 11+ digits (see territory.privacy)
    out = out.astype(object).where(out.notna(), None).map(neutralise)
    out.columns = [t(f"network.col.{c}", lang) for c in out.columns]
    if suffix == ".csv":
        out.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
        return path
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = t("network.sheet", lang)
    sheet.append(list(out.columns))
    for values in out.itertuples(index=False, name=None):
        sheet.append([_plain(v) for v in values])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "C2"
    book.save(path)
    return path

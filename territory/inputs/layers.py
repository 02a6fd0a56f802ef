"""The layers of a workspace: what each file holds and how it is validated.

Each layer is described once by a :class:`LayerSpec` (its columns, their
types and rules). Reading a layer types every column vectorised, collects
every problem with the user's file, row and column, and never drops a row
silently.

Examples
--------
>>> from territory.inputs.layers import LAYERS
>>> [c.name for c in LAYERS["zones"].columns if c.required]
['zone_id', 'zone_type', 'population', 'income']
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import ERROR, NOTICE, WARNING, ProblemList
from territory.inputs import coords
from territory.inputs._tables import TABLE_SUFFIXES, Table, canonical_columns, read_table
from territory.inputs.dealer import Dealer
from territory.vocab import (
    CARD_STATUSES,
    CARD_TYPES,
    EVENT_STATUSES,
    FORMATS,
    GENDERS,
    GRADES,
    POI_TYPES,
    SOURCES,
    ZONE_TYPES,
    Term,
    alias_map,
    normalise_text,
)

__all__ = [
    "LAYERS",
    "POINT_LAYERS",
    "TABLE_LAYERS",
    "ZONE_SUFFIXES",
    "ColumnSpec",
    "LayerSpec",
    "empty_layer",
    "find_layer_file",
    "read_point_table",
    "read_zones",
]

ZONE_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".zip", ".shp")
LOCATION_COLUMNS: tuple[str, ...] = ("zone_id", "district", "located_by")

#: Whole numbers above this (2**53) lose precision as floats: refused in integer columns.
_MAX_INT = 2**53

#: Values that mean "not known" in optional categorical columns.
_UNKNOWN_WORDS = {"未知", "不详", "unknown", "n/a", "na", "-", "无", "none", "null"}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a layer.

    ``kind`` is one of ``text``, ``int``, ``float``, ``date``, ``code``,
    ``phone``. ``required`` means the column must exist and every row must
    have a value.
    """

    name: str
    kind: str = "text"
    required: bool = False
    vocab: dict[str, Term] | None = None
    minimum: float | None = None
    positive: bool = False
    maximum: float | None = None


@dataclass(frozen=True)
class LayerSpec:
    """A layer of the workspace contract."""

    name: str
    columns: tuple[ColumnSpec, ...]
    id_column: str | None = None
    unique_ids: bool = True
    points: bool = True

    def column(self, name: str) -> ColumnSpec | None:
        """The spec of column ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)


_POINT_COLUMNS = (
    ColumnSpec("lon", "float"),
    ColumnSpec("lat", "float"),
    ColumnSpec("coord_sys", "text"),
    ColumnSpec("zone_id", "text"),
    ColumnSpec("address", "text"),
)

LAYERS: dict[str, LayerSpec] = {
    "zones": LayerSpec(
        "zones",
        (
            ColumnSpec("zone_id", "text", required=True),
            ColumnSpec("name", "text"),
            ColumnSpec("district", "text"),
            ColumnSpec("zone_type", "code", required=True, vocab=ZONE_TYPES),
            ColumnSpec("population", "int", required=True, minimum=0),
            ColumnSpec("income", "float", required=True, positive=True),
        ),
        id_column="zone_id",
        points=False,
    ),
    "customers": LayerSpec(
        "customers",
        (
            ColumnSpec("customer_id", "text"),
            ColumnSpec("name", "text"),
            ColumnSpec("phone", "phone"),
            ColumnSpec("model", "text"),
            ColumnSpec("purchase_date", "date"),
            ColumnSpec("delivery_date", "date"),
            ColumnSpec("age", "int", minimum=0, maximum=120),
            ColumnSpec("gender", "code", vocab=GENDERS),
            ColumnSpec("occupation", "text"),
            *_POINT_COLUMNS,
        ),
        id_column="customer_id",
        unique_ids=False,
    ),
    "cards": LayerSpec(
        "cards",
        (
            ColumnSpec("card_id", "text"),
            ColumnSpec("card_type", "code", required=True, vocab=CARD_TYPES),
            ColumnSpec("date", "date", required=True),
            ColumnSpec("model", "text"),
            ColumnSpec("grade", "code", vocab=GRADES),
            ColumnSpec("status", "code", vocab=CARD_STATUSES),
            ColumnSpec("name", "text"),
            ColumnSpec("phone", "phone"),
            # Additions: the lead behind the card (see territory.inputs.leadlink).
            ColumnSpec("lead_id", "text"),
            ColumnSpec("source", "code", vocab=SOURCES),
            ColumnSpec("event_id", "text"),
            ColumnSpec("consultant", "text"),
            ColumnSpec("last_contact", "date"),
            ColumnSpec("closed_date", "date"),
            ColumnSpec("lost_reason", "text"),
            # Additions (outreach loop): the electronic voucher handed out at an outing.
            ColumnSpec("voucher", "text"),
            *_POINT_COLUMNS,
        ),
        id_column="card_id",
    ),
    "events": LayerSpec(
        "events",
        (
            ColumnSpec("event_id", "text"),
            ColumnSpec("date", "date", required=True),
            ColumnSpec("location", "text"),
            ColumnSpec("format", "code", vocab=FORMATS),
            ColumnSpec("cost", "float", minimum=0),
            ColumnSpec("leads", "float", minimum=0),
            ColumnSpec("sales", "float", minimum=0),
            ColumnSpec("status", "code", vocab=EVENT_STATUSES),
            ColumnSpec("staff", "int", minimum=0),
            *_POINT_COLUMNS,
        ),
        id_column="event_id",
    ),
    "pois": LayerSpec(
        "pois",
        (
            ColumnSpec("poi_id", "text"),
            ColumnSpec("name", "text"),
            ColumnSpec("poi_type", "code", vocab=POI_TYPES),
            ColumnSpec("brand", "text"),
            ColumnSpec("households", "int", minimum=0),
            *_POINT_COLUMNS,
        ),
        id_column="poi_id",
    ),
    # Additions: showroom traffic per day (展厅来店统计); a plain table, not points.
    "traffic": LayerSpec(
        "traffic",
        (
            ColumnSpec("date", "date", required=True),
            ColumnSpec("visitors", "int", required=True, minimum=0),
            ColumnSpec("source", "code", vocab=SOURCES),
        ),
        points=False,
    ),
}

POINT_LAYERS: tuple[str, ...] = ("customers", "cards", "events", "pois")
#: Optional layers that are plain tables (no location).
TABLE_LAYERS: tuple[str, ...] = ("traffic",)


def find_layer_file(root: Path, layer: str, problems: ProblemList) -> Path | None:
    """Return the file holding ``layer`` in ``root`` (``zones.*``), or None.

    Two candidate files for one layer (``customers.csv`` and
    ``customers.xlsx``) is a problem: we would not know which one is meant.
    """
    suffixes = ZONE_SUFFIXES if layer == "zones" else TABLE_SUFFIXES
    found = sorted(
        p
        for p in root.iterdir()
        if p.is_file() and p.stem.lower() == layer and not p.name.startswith((".", "~$"))
    )
    usable = [p for p in found if p.suffix.lower() in suffixes]
    if layer == "zones":
        # A shapefile comes with sidecars (zones.dbf, zones.prj ...): only .shp counts.
        usable = [
            p
            for p in usable
            if p.suffix.lower() != ".json"
            or not any(q.suffix.lower() == ".geojson" for q in usable)
        ]
    if len(usable) > 1:
        problems.add(usable[0].name, "err.file_ambiguous", found=", ".join(p.name for p in usable))
        return None
    if usable:
        return usable[0]
    others = [
        p
        for p in found
        if p.suffix.lower() not in (".dbf", ".prj", ".shx", ".cpg", ".qmd", ".sbn", ".sbx", ".qix")
    ]
    if others:
        expected = ", ".join(suffixes)
        problems.add(
            others[0].name, "err.file_type", found=others[0].suffix or "-", expected=expected
        )
    return None


# ---------------------------------------------------------------- typing


def _by_distinct(raw: pd.Series, parse):
    """``parse(raw)`` computed on the distinct values of ``raw`` only, then spread back.

    ``parse`` must work value by value (each output row depends on its input
    row alone), returning a Series or a tuple of Series. Dates, ages and
    model names repeat a lot in a big file (a few thousand distinct dates in a
    million rows), so this does the parsing once per distinct value; columns
    with mostly distinct values (coordinates, phones) are parsed directly.
    """
    if len(raw) < _DISTINCT_MIN_ROWS:
        return parse(raw)
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    if len(uniques) * 4 > len(raw):
        return parse(raw)
    values = uniques.array if isinstance(uniques, pd.Index) else uniques
    found = parse(pd.Series(values, name=raw.name))
    single = isinstance(found, pd.Series)

    def spread(part: pd.Series) -> pd.Series:
        return pd.Series(part.array.take(codes), index=raw.index, name=part.name)

    return spread(found) if single else tuple(spread(part) for part in found)


#: Below this many rows a column is parsed directly (see :func:`_by_distinct`).
_DISTINCT_MIN_ROWS = 5000


def _numeric(raw: pd.Series) -> pd.Series:
    """Numbers from text; NaN for anything else, including "nan" and "inf" spelled out."""
    text = raw.astype("str").str.replace(r"[,，\s]", "", regex=True)
    text = text.str.normalize("NFKC")
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    return values.where(np.isfinite(values))


def _parse_dates(
    raw: pd.Series, *, years: tuple[int, int], serials: tuple[int, int]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse dates written in the usual Chinese and ISO ways.

    Returns ``(dates, out_of_range, serial)``: dates outside ``years`` are
    NaT and flagged in ``out_of_range``; whole numbers within ``serials``
    are Excel date serial numbers (a date column formatted as General) and
    flagged in ``serial`` so the user can check the reading.
    """
    text = raw.astype("str").str.normalize("NFKC").str.strip()
    number = pd.to_numeric(text.where(text.str.fullmatch(r"\d{1,6}", na=False)), errors="coerce")
    serial = number.between(*serials).fillna(False).astype(bool)
    text = text.str.replace(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", regex=True)
    text = text.str.replace(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})", r"\1-\2-\3", regex=True)
    text = text.str.replace(r"^(\d{4})-(\d)(?=-)", r"\1-0\2", regex=True)
    text = text.str.replace(r"^(\d{4}-\d{2})-(\d)(?!\d)", r"\1-0\2", regex=True)
    text = text.where(~serial, None)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    parsed = parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed
    year = parsed.dt.year
    out_of_range = year.notna() & ~year.between(*years)
    parsed = parsed.where(~out_of_range).astype("datetime64[ns]")
    excel = pd.Timestamp("1899-12-30") + pd.to_timedelta(number.where(serial), unit="D")
    parsed = parsed.where(~serial, excel)
    return parsed, out_of_range.fillna(False).astype(bool), serial


def _parse_codes(raw: pd.Series, vocab: dict[str, Term]) -> tuple[pd.Series, pd.Series]:
    """Return (codes, unknown-mask); unknown words (未知) become NA, not errors."""
    lookup = alias_map(vocab)
    uniques = raw.dropna().unique()
    mapping = {}
    for value in uniques:
        key = normalise_text(value)
        mapping[value] = lookup.get(key, None if key in _UNKNOWN_WORDS else "\0bad")
    codes = raw.map(mapping)
    bad = codes.eq("\0bad").fillna(False).astype(bool)
    codes = codes.where(~bad, None).astype("str")
    return codes, bad


_PHONE_JUNK = re.compile(r"[\s\-()（）]")


def _parse_phones(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = raw.astype("str").str.normalize("NFKC").str.replace(_PHONE_JUNK, "", regex=True)
    text = text.str.replace(r"^(\+?86)(?=1\d{10}$)", "", regex=True)
    scientific = text.str.contains(r"^\d(?:\.\d+)?[eE]\+?\d+$", regex=True, na=False)
    return text, scientific


def type_columns(
    table: pd.DataFrame,
    rows: pd.Series,
    spec: LayerSpec,
    problems: ProblemList,
    file: str,
    *,
    labels: dict[str, str] | None = None,
    row_kind: str = "row",
    settings=None,
) -> pd.DataFrame:
    """Type every column of ``spec`` present in ``table``; report problems.

    Missing optional columns are added empty so downstream code sees a
    stable schema; missing required columns are reported.
    """
    from territory.settings import Settings

    load = (settings or Settings()).load
    labels = labels or {}
    out = pd.DataFrame(index=table.index)
    for col in spec.columns:
        label = labels.get(col.name, col.name)
        if col.name not in table.columns:
            if col.required:
                problems.add(file, "err.missing_column", column=col.name, **_column_hint(col))
            out[col.name] = _empty(col)
            continue
        raw = table[col.name]
        present = raw.notna()

        def flag(mask: pd.Series, key: str, _raw=raw, _label=label, **fields) -> None:
            """Report ``key`` for every row in ``mask``, quoting the first bad value."""
            if mask.any():
                problems.add(
                    file,
                    key,
                    column=_label,
                    rows=rows[mask],
                    row_kind=row_kind,
                    found=_raw[mask].iloc[0],
                    **fields,
                )

        if col.required:
            flag(~present, "err.required_value")
        if col.kind == "text":
            out[col.name] = raw.astype("str")
        elif col.kind == "phone":
            phones, scientific = _parse_phones(raw)
            flag(scientific, "err.phone_scientific")
            out[col.name] = phones
        elif col.kind in ("int", "float"):
            values = _by_distinct(raw, _numeric)
            ok = values.notna()
            flag(present & ~ok, "err.not_number")
            if col.minimum is not None:
                flag(ok & (values < col.minimum), "err.below_minimum", minimum=col.minimum)
            if col.positive:
                flag(ok & (values <= 0), "err.not_positive")
            if col.maximum is not None:
                flag(ok & (values > col.maximum), "err.above_maximum", maximum=col.maximum)
            if col.kind == "int":
                flag(ok & (values.abs() > _MAX_INT), "err.above_maximum", maximum=_MAX_INT)
                values = values.where(values.abs() <= _MAX_INT)
                ok = values.notna()
                flag(ok & (values % 1 != 0), "err.not_integer")
                out[col.name] = values.round().astype("Int64")
            else:
                out[col.name] = values.astype("float64")
        elif col.kind == "date":
            values, out_of_range, serial = _by_distinct(
                raw,
                lambda r: _parse_dates(r, years=load.date_years, serials=load.excel_serial_range),
            )
            flag(
                out_of_range,
                "err.date_out_of_range",
                first=load.date_years[0],
                last=load.date_years[1],
            )
            flag(present & values.isna() & ~out_of_range, "err.bad_date")
            if serial.any():
                problems.add(
                    file,
                    "notice.excel_serial_date",
                    column=label,
                    rows=rows[serial],
                    row_kind=row_kind,
                    severity=NOTICE,
                    found=raw[serial].iloc[0],
                    date=values[serial].iloc[0].date().isoformat(),
                )
            out[col.name] = values
        elif col.kind == "code":
            codes, bad = _parse_codes(raw, col.vocab or {})
            flag(bad, "err.unknown_code", expected=_vocab_list(col.vocab or {}))
            out[col.name] = codes
    extras = [c for c in table.columns if c not in out.columns]
    for column in extras:
        out[column] = table[column]
    if spec.id_column and spec.id_column in table.columns:
        ids = out[spec.id_column]
        dup = ids.notna() & ids.duplicated(keep=False)
        if dup.any():
            severity = "error" if spec.unique_ids else NOTICE
            problems.add(
                file,
                "err.duplicate_id",
                column=labels.get(spec.id_column, spec.id_column),
                rows=rows[dup],
                row_kind=row_kind,
                severity=severity,
                found=ids[dup].iloc[0],
            )
    return out


def _empty(col: ColumnSpec) -> pd.Series:
    dtype = {"int": "Int64", "float": "float64", "date": "datetime64[ns]"}.get(col.kind, "str")
    return pd.Series([], dtype=dtype)


def _vocab_list(vocab: dict[str, Term]) -> str:
    return ", ".join(f"{t.code} ({t.zh})" for t in vocab.values())


def _column_hint(col: ColumnSpec) -> dict[str, str]:
    from territory.vocab import COLUMN_ALIASES

    aliases = COLUMN_ALIASES.get(col.name, ())
    hint = aliases[0] if aliases else col.name
    values = _vocab_list(col.vocab) if col.vocab else ""
    return {"alias": hint, "values": values}


def empty_layer(layer: str) -> gpd.GeoDataFrame:
    """A layer with no rows but the full typed schema (and location columns)."""
    spec = LAYERS[layer]
    frame = pd.DataFrame({c.name: _empty(c) for c in spec.columns})
    if spec.points:
        frame = frame.drop(columns=["lon", "lat", "coord_sys", "address"])
        frame["address"] = pd.Series(dtype="str")
        frame["district"] = pd.Series(dtype="str")
        frame["located_by"] = pd.Series(dtype="str")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


# ---------------------------------------------------------------- zones


def read_zones(
    path: Path, dealer: Dealer | None, problems: ProblemList, *, settings=None
) -> gpd.GeoDataFrame | None:
    """Read and validate the zones layer; repair invalid polygons.

    Returns None when the file cannot be used at all (problems say why).
    """
    from territory.settings import Settings

    settings = settings or (dealer.settings if dealer else Settings())
    file = path.name
    gdf = _read_vector(path, problems, settings)
    if gdf is None:
        return None
    if len(gdf) == 0:
        problems.add(file, "err.file_empty")
        return None
    rows = pd.Series(np.arange(1, len(gdf) + 1), dtype="int64")

    headers = [c for c in gdf.columns if c != gdf.geometry.name]
    mapping = canonical_columns(headers, problems, file)
    attrs = pd.DataFrame(
        {mapping[h]: _attr_text(gdf[h]) for h in headers if h in mapping}, index=gdf.index
    ).reset_index(drop=True)
    labels = {
        canonical: (h if h == canonical else f"{h} ({canonical})")
        for h, canonical in mapping.items()
    }
    first = len(problems)
    typed = type_columns(
        attrs,
        rows,
        LAYERS["zones"],
        problems,
        file,
        labels=labels,
        row_kind="feature",
        settings=settings,
    )
    _name_zones(problems, first, attrs)

    # CRS: declared in the file, or named by the user in dealer.toml.
    crs = gdf.crs
    if crs is None:
        if dealer is not None and dealer.zones_crs:
            crs = dealer.zones_crs
        elif "prj_name" in gdf.attrs:
            problems.add(file, "err.shp_no_prj", found=gdf.attrs["prj_name"])
            return None
        else:
            problems.add(file, "err.no_crs")
            return None
    geoms = gpd.GeoSeries(gdf.geometry.values, crs=crs).reset_index(drop=True)
    try:
        geoms = geoms.to_crs("EPSG:4326")
    except Exception as exc:  # pyproj raises several types for bad CRS definitions
        problems.add(file, "err.bad_crs", found=str(crs), detail=str(exc)[:200])
        return None
    if dealer is not None and dealer.zones_coord_sys != "wgs84":
        geoms = gpd.GeoSeries(
            shapely.transform(
                geoms.values,
                lambda xy: np.column_stack(
                    coords.to_wgs84(xy[:, 0], xy[:, 1], dealer.zones_coord_sys)
                ),
            ),
            crs="EPSG:4326",
        )
    first = len(problems)
    geoms = _check_polygons(geoms, rows, problems, file, settings)
    _name_zones(problems, first, attrs)

    if geoms.notna().any():
        minx, miny, maxx, maxy = geoms.total_bounds
        b = settings.load.china_bounds
        if minx < b[0] or maxx > b[2] or miny < b[1] or maxy > b[3]:
            problems.add(
                file,
                "err.zones_out_of_china",
                found=f"{minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}",
            )

    if "name" in typed:
        typed["name"] = typed["name"].fillna(typed["zone_id"])
    zones = gpd.GeoDataFrame(typed, geometry=geoms.values, crs="EPSG:4326")
    zones.attrs["rows"] = rows
    return zones


def _name_zones(problems: ProblemList, first: int, attrs: pd.DataFrame) -> None:
    """Add each problem row's zone_id so the user can find the zone by its id too."""
    if "zone_id" not in attrs:
        return
    ids = attrs["zone_id"]
    for i in range(first, len(problems)):
        p = problems[i]
        if p.rows and p.row_kind == "feature":
            named = tuple(str(ids.iloc[r - 1]) for r in p.rows if pd.notna(ids.iloc[r - 1]))
            problems[i] = dataclasses.replace(p, ids=named)


def _attr_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values):
        known = values.dropna()
        integral = known.mod(1).eq(0).all() and known.abs().le(_MAX_INT).all()
        if integral:
            return values.astype("Int64").astype("str")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("str")
    text = values.astype("str").str.strip()
    return text.where(text.ne(""), None)


def _read_vector(path: Path, problems: ProblemList, settings) -> gpd.GeoDataFrame | None:
    import pyogrio

    file = path.name
    suffix = path.suffix.lower()
    target = str(path)
    load = settings.load
    if suffix == ".zip":
        target = _shapefile_in_zip(path, problems, load)
        if target is None:
            return None
    elif suffix == ".shp":
        for side in (".dbf", ".shx"):
            if not _sidecar(path, side).exists():
                problems.add(file, "err.shp_sidecar", found=path.with_suffix(side).name)
                return None
        sizes = {
            p.name: p.stat().st_size
            for p in (path, *(_sidecar(path, side) for side in _SHP_SIDECARS))
            if p.exists()
        }
        if not _sizes_ok(file, sizes, problems, load, sidecar_file=True):
            return None
    elif not _sizes_ok(file, {file: path.stat().st_size}, problems, load):
        return None
    data = path.read_bytes()[:64] if suffix in (".geojson", ".json") else b""
    if suffix in (".geojson", ".json") and not data.strip():
        problems.add(file, "err.file_empty")
        return None
    try:
        layers = pyogrio.list_layers(target)
        if len(layers) == 0:
            problems.add(file, "err.file_empty")
            return None
        layer = _zones_layer_name(layers)
        with warnings.catch_warnings():
            # Mixed-type attributes ("42,000" next to 30000) come back as text with a
            # warning; the typed validation below reports each bad value by feature.
            warnings.filterwarnings("ignore", message=".*parse column")
            # NaN vertices: reported per feature by _check_polygons.
            warnings.filterwarnings("ignore", message="invalid value encountered in from_wkb")
            gdf = pyogrio.read_dataframe(target, layer=layer)
    except (
        Exception
    ) as exc:  # pyogrio raises DataSourceError/DataLayerError/...; all mean unreadable
        problems.add(file, "err.vector_unreadable", detail=str(exc).splitlines()[0][:200])
        return None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
        problems.add(file, "err.geometry_missing")
        return None
    if suffix in (".zip", ".shp"):
        gdf.attrs["prj_name"] = Path(target).with_suffix(".prj").name
    return gdf


def _sidecar(path: Path, suffix: str) -> Path:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return path.with_suffix(suffix)


def _zones_layer_name(layers) -> str:
    names = [str(name) for name, _ in layers]
    polygonal = [str(name) for name, kind in layers if kind and "Polygon" in str(kind)]
    for preferred in ("zones", "zone"):
        if preferred in names:
            return preferred
    return (polygonal or names)[0]


#: A shapefile's companions: read by GDAL along with the .shp.
_SHP_SIDECARS: tuple[str, ...] = (".dbf", ".shx", ".prj", ".cpg")
#: Companions of one short line of text: capped by ``max_sidecar_kb``.
_TEXT_SIDECARS: tuple[str, ...] = (".prj", ".cpg")


def _sizes_ok(
    file: str,
    sizes: dict[str, int],
    problems: ProblemList,
    load,
    *,
    packed: dict[str, int] | None = None,
    sidecar_file: bool = False,
) -> bool:
    """Refuse, before reading, files that would cost far more memory than they are worth.

    ``sizes`` are the (unpacked) sizes of the files GDAL would read; ``packed`` their
    sizes inside a zip. A padded .prj is read whole by GDAL (a 1 MB zip can cost GBs).
    """
    ok = True
    for name, size in sizes.items():
        suffix = Path(name).suffix.lower()
        if suffix in _TEXT_SIDECARS and size > load.max_sidecar_kb * 1024:
            problems.add(
                name if sidecar_file else file,
                "err.sidecar_too_large",
                column=Path(name).name,
                size=_size_text(size),
                limit=f"{load.max_sidecar_kb:g}",
            )
            ok = False
        elif size > load.max_vector_mb * 2**20:
            problems.add(
                file,
                "err.vector_too_large",
                column="max_vector_mb",
                found=Path(name).name,
                size=f"{size / 2**20:,.1f}",
                limit=f"{load.max_vector_mb:g}",
            )
            ok = False
        elif packed is not None:
            small = max(packed.get(name, 0), 1)
            if size >= load.unzip_ratio_min_mb * 2**20 and size / small > load.max_unzip_ratio:
                problems.add(
                    file,
                    "err.zip_bomb",
                    column=Path(name).name,
                    size=_size_text(size),
                    packed=_size_text(small),
                    ratio=f"{size / small:,.0f}",
                )
                ok = False
    return ok


def _size_text(size: float) -> str:
    for unit, factor in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= factor:
            return f"{size / factor:,.1f} {unit}"
    return f"{size:.0f} B"


def _shapefile_in_zip(path: Path, problems: ProblemList, load) -> str | None:
    import zipfile

    file = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.filename.startswith("__MACOSX/")]
            members = [i.filename for i in infos]
    except zipfile.BadZipFile:
        problems.add(file, "err.file_type", found="not a zip archive", expected=".zip (shapefile)")
        return None
    shps = [m for m in members if m.lower().endswith(".shp")]
    if not shps:
        problems.add(file, "err.zip_no_shp")
        return None
    if len(shps) > 1:
        problems.add(file, "err.zip_many_shp", found=", ".join(shps))
        return None
    shp = shps[0]
    stem = shp[:-4]
    lower = {m.lower() for m in members}
    for side in (".dbf", ".shx"):
        if (stem + side).lower() not in lower:
            problems.add(file, "err.shp_sidecar", found=Path(stem).name + side)
            return None
    wanted = {(stem + side).lower() for side in ("", *_SHP_SIDECARS)} | {shp.lower()}
    chosen = [i for i in infos if i.filename.lower() in wanted]
    sizes = {i.filename: i.file_size for i in chosen}
    packed = {i.filename: i.compress_size for i in chosen}
    if not _sizes_ok(file, sizes, problems, load, packed=packed):
        return None
    return f"/vsizip/{path}/{shp}"


def _check_polygons(
    geoms: gpd.GeoSeries, rows: pd.Series, problems: ProblemList, file: str, settings
) -> gpd.GeoSeries:
    values = geoms.values.copy()
    arr = np.asarray(values, dtype=object)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    if missing.any():
        problems.add(file, "err.geometry_null", rows=rows[missing], row_kind="feature")
    xy, owner = shapely.get_coordinates(arr, return_index=True)
    not_finite = np.zeros(len(arr), dtype=bool)
    not_finite[owner[~np.isfinite(xy).all(axis=1)]] = True
    if not_finite.any():
        problems.add(file, "err.geometry_not_finite", rows=rows[not_finite], row_kind="feature")
        missing = missing | not_finite
    kinds = shapely.get_type_id(arr)
    polygonal = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    wrong = ~missing & ~polygonal & (kinds != 7)  # 7 = GeometryCollection: its polygons
    for i in np.flatnonzero(~missing & (kinds == 7)):
        parts = _polygon_parts(shapely.make_valid(arr[i]))
        if parts is None or parts.is_empty:
            wrong[i] = True  # lines or points only: no area to be a zone
        else:
            arr[i] = parts  # the polygons; lines and points in the collection have no area
    if wrong.any():
        first = int(kinds[wrong][0])
        problems.add(
            file,
            "err.geometry_type",
            rows=rows[wrong],
            row_kind="feature",
            found=_GEOM_NAMES.get(first, str(first)),
        )
    invalid = ~missing & ~wrong & ~shapely.is_valid(arr)
    if invalid.any():
        crs = coords.local_crs(*_centre(arr[~missing]))
        for i in np.flatnonzero(invalid):
            before = arr[i]
            repaired = _polygon_parts(shapely.make_valid(before))
            if repaired is None or repaired.is_empty:
                problems.add(
                    file,
                    "err.geometry_unrepairable",
                    rows=[rows[i]],
                    row_kind="feature",
                    reason=shapely.is_valid_reason(before),
                )
                continue
            a0, a1 = gpd.GeoSeries([before, repaired], crs="EPSG:4326").to_crs(crs).area
            parts_before = shapely.get_num_geometries(before)
            parts_after = shapely.get_num_geometries(repaired)
            change = (a1 - a0) / a0 if a0 > 0 else float("inf")
            if parts_after > parts_before or not abs(change) <= 0.5:
                # A bow-tie (two corners swapped) or a ring folded over itself: its "area"
                # before the repair cancels out, so a percentage means nothing. Say what
                # the repair made of it instead.
                problems.add(
                    file,
                    "warn.geometry_split",
                    rows=[rows[i]],
                    row_kind="feature",
                    severity=WARNING,
                    reason=shapely.is_valid_reason(before),
                    parts=parts_after,
                    area=f"{a1 / 1e6:,.2f}",
                )
            else:
                problems.add(
                    file,
                    "notice.geometry_repaired",
                    rows=[rows[i]],
                    row_kind="feature",
                    severity=WARNING
                    if abs(change) > settings.load.repair_area_warn_share
                    else NOTICE,
                    reason=shapely.is_valid_reason(before),
                    change=f"{change:+.2%}",
                )
            arr[i] = repaired
    arr[missing | wrong] = None
    return gpd.GeoSeries(arr, crs="EPSG:4326")


_GEOM_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    4: "MultiPoint",
    5: "MultiLineString",
    7: "GeometryCollection",
}


def _centre(arr) -> tuple[float, float]:
    bounds = shapely.total_bounds(arr)
    return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2


def _polygon_parts(geom):
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        return None
    return shapely.union_all(polys)


# ---------------------------------------------------------------- point tables


#: Columns that can locate a row of a point layer (``location`` is the events' place name).
LOCATING_COLUMNS: tuple[str, ...] = ("lon", "lat", "zone_id", "address", "location")


def read_point_table(
    path: Path, layer: str, problems: ProblemList, *, settings=None, options=None
) -> tuple[pd.DataFrame, Table] | None:
    """Read a point layer's table and type its columns (location comes later).

    ``options`` are dealer.toml's ``[files.<layer>]`` (``sheet``, ``header_row``).
    A table with records but no column that can locate them (no lon/lat,
    zone_id or address under any known name) is an error: every row would be
    off the map.
    """
    spec = LAYERS[layer]
    table = read_table(
        path, problems, known={c.name for c in spec.columns}, options=options, settings=settings
    )
    if table is None:
        return None
    if (
        spec.points
        and len(table.frame)
        and not any(c in table.frame.columns for c in LOCATING_COLUMNS)
    ):
        # Customers off the map make white space and ranking quietly wrong: refused. Cards,
        # events and POIs without a place still count in the funnel and follow-up: warned.
        refuse = layer in (settings.load.unlocated_error_layers if settings else ("customers",))
        problems.add(
            table.file,
            "err.no_location_columns",
            severity=ERROR if refuse else WARNING,
            column="lon/lat, zone_id, address",
            found=", ".join(str(table.original.get(c, c)) for c in table.frame.columns[:12]),
            sheet=table.sheet or "-",
            row=table.header_row,
        )
    labels = {c: table.label(c) for c in table.frame.columns}
    typed = type_columns(
        table.frame, table.rows, spec, problems, table.file, labels=labels, settings=settings
    )
    if layer == "customers" and "delivery_date" in typed and "purchase_date" in typed:
        # 交车日期 alone (it used to be read as the purchase date): it stands for both.
        typed["purchase_date"] = typed["purchase_date"].fillna(typed["delivery_date"])
    return typed, table

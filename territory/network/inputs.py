"""A dealer network's folder: ``network.toml``, ``dealers.csv``, shared zones, points by dealer.

A network workspace is a folder like a dealer's, for a dealer group or a
brand region::

    my-network/
      network.toml     required: name, target_r, language, coord_sys, [settings]
      dealers.csv      required: dealer_id, name, brand, lon, lat, coord_sys,
                       radius_km, model, price (+ optional attractiveness)
      zones.*          required: the zones of the whole network (as a dealer's)
      customers.*      optional, with a dealer_id column   } read in chunks by the
      cards.*          optional, with a dealer_id column   } Dask workers
      events.*         optional, with a dealer_id column   }
      pois.*           optional, shared by every dealer (competitor showrooms too)
      assignment.csv   optional: zone_id, dealer_id (given responsibility areas)

Everything small (network.toml, dealers, zones, pois, assignment) is read and
validated here, in the calling process, with the same layer specs and
messages as a dealer's workspace (:mod:`territory.inputs.layers`); the point
files are only described here (:class:`PointSource`) and read in pieces by
:mod:`territory.network._chunks` on the workers. Every problem names file,
row and column, and :func:`read_network` raises one
:class:`~territory._errors.LayerError` listing them all.

Examples
--------
>>> import tempfile, pathlib
>>> from territory.network.inputs import read_network
>>> from territory.network.grid import write_grid_network
>>> net = read_network(write_grid_network(pathlib.Path(tempfile.mkdtemp())))
>>> list(net.dealers["dealer_id"]), len(net.zones)
(['D1', 'D2', 'D3'], 24)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from territory._errors import LayerError, Problem, ProblemList
from territory.inputs import coords
from territory.inputs._tables import read_table
from territory.inputs.dealer import Dealer, parse_dealer
from territory.inputs.layers import (
    LAYERS,
    ColumnSpec,
    LayerSpec,
    empty_layer,
    find_layer_file,
    read_point_table,
    read_zones,
    type_columns,
)
from territory.settings import NetworkSettings, Settings
from territory.vocab import COORD_SYSTEMS, normalise_code

__all__ = [
    "ASSIGNMENT_SPEC",
    "DEALERS_SPEC",
    "NETWORK_FILE",
    "NETWORK_POINT_LAYERS",
    "Network",
    "NetworkError",
    "PointSource",
    "dealer_toml",
    "is_network",
    "point_spec",
    "read_network",
]

NETWORK_FILE = "network.toml"
#: Point layers that carry a ``dealer_id`` column and are read by the workers.
NETWORK_POINT_LAYERS: tuple[str, ...] = ("customers", "cards", "events")

DEALERS_SPEC = LayerSpec(
    "dealers",
    (
        ColumnSpec("dealer_id", "text", required=True),
        ColumnSpec("name", "text"),
        ColumnSpec("brand", "text"),
        ColumnSpec("lon", "float", required=True),
        ColumnSpec("lat", "float", required=True),
        ColumnSpec("coord_sys", "text"),
        ColumnSpec("radius_km", "float", positive=True),
        ColumnSpec("model", "text"),
        ColumnSpec("price", "float", positive=True),
        ColumnSpec("attractiveness", "float", positive=True),
    ),
    id_column="dealer_id",
    points=False,
)

ASSIGNMENT_SPEC = LayerSpec(
    "assignment",
    (
        ColumnSpec("zone_id", "text", required=True),
        ColumnSpec("dealer_id", "text", required=True),
    ),
    id_column=None,
    points=False,
)

_ASSIGNMENT_METHODS = ("auto", "nearest", "huff")


class NetworkError(ValueError):
    """The folder is not a network workspace (missing, not a folder, no network.toml)."""


def _memory_bytes(value: str) -> int | None:
    """``worker_memory`` in bytes (0 for ``auto``), or None when it is not a usable size.

    >>> _memory_bytes("auto"), _memory_bytes("3GiB"), _memory_bytes("lots"), _memory_bytes("1MB")
    (0, 3221225472, None, None)
    """
    from dask.utils import parse_bytes

    if value == "auto":
        return 0
    try:
        size = parse_bytes(value)
    except (TypeError, ValueError):
        return None
    return size if size >= 2**30 else None


def is_network(root: Path | str) -> bool:
    """Whether ``root`` is a network workspace (holds ``network.toml``)."""
    return (Path(root) / NETWORK_FILE).is_file()


def point_spec(layer: str) -> LayerSpec:
    """The spec of a network point layer: the dealer's spec plus a required ``dealer_id``.

    Duplicate ids are checked per dealer (as in each dealer's own file), not here.
    """
    base = LAYERS[layer]
    return dataclasses.replace(
        base,
        columns=(ColumnSpec("dealer_id", "text", required=True), *base.columns),
        id_column=None,
    )


@dataclass(frozen=True)
class PointSource:
    """A network point file, described for the workers that read it in pieces.

    ``ranges`` are byte ranges of a CSV file cut at record boundaries (one
    task each); ``None`` means the file is read whole with the dealer
    workspace's own reader (XLSX, or a CSV smaller than a chunk).
    """

    layer: str
    path: Path
    file: str
    encoding: str | None = None
    delimiter: str = ","
    header: tuple[str, ...] = ()
    ranges: tuple[tuple[int, int], ...] | None = None

    @property
    def chunks(self) -> int:
        """How many tasks read the file."""
        return 1 if self.ranges is None else len(self.ranges)


@dataclass
class Network:
    """A validated network workspace (small layers read, point files described).

    ``dealers`` has the columns of :data:`DEALERS_SPEC` (``lon``/``lat``
    converted to WGS-84, ``radius_km``, ``model`` and ``price`` filled with
    the network's defaults) plus ``row`` (the user's row in dealers.csv).
    ``zones`` is a validated zones layer (EPSG:4326, RangeIndex), ``pois`` a
    located pois layer, ``assignment`` the typed assignment file (or None).
    """

    root: Path
    name: str
    language: str
    coord_sys: str
    target_r: float
    settings: Settings
    raw_settings: dict[str, Any]
    dealers: pd.DataFrame
    zones: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    assignment: pd.DataFrame | None
    points: dict[str, PointSource] = field(default_factory=dict)
    notices: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def network_settings(self) -> NetworkSettings:
        """The ``[settings.network]`` section."""
        return self.settings.network

    @property
    def has_synthetic_data(self) -> bool:
        """Whether the zones mark made-up data (a ``synthetic`` column), as the national build does."""
        flags = self.zones.get("synthetic")
        if flags is None:
            return False
        text = flags.dropna().astype("str").str.strip().str.lower()
        return bool(text.isin({"true", "1", "yes", "是"}).any())

    def dealer(self, dealer_id: str) -> Dealer:
        """The :class:`~territory.inputs.dealer.Dealer` a dealer's own dealer.toml would give."""
        row = self.dealers.loc[self.dealers["dealer_id"] == dealer_id]
        if row.empty:
            raise KeyError(f"unknown dealer {dealer_id!r}")
        return parse_dealer(dealer_toml(self, row.iloc[0]), lang=self.language)


def dealer_toml(net: Network, row: pd.Series) -> dict[str, Any]:
    """The content of the ``dealer.toml`` that one dealer of the network would have.

    The dealer's location is written in the network's ``coord_sys`` (the
    system of its point files), so that its own workspace reads the same
    points the same way.
    """
    if row["coord_sys"] == net.coord_sys:  # as written in dealers.csv: no round trip
        lon, lat = float(row["lon_given"]), float(row["lat_given"])
    else:
        lon, lat = (
            float(v) for v in coords.from_wgs84(float(row["lon"]), float(row["lat"]), net.coord_sys)
        )
    data: dict[str, Any] = {
        "name": str(row["name"]),
        "lon": lon,
        "lat": lat,
        "coord_sys": net.coord_sys,
        "radius_km": float(row["radius_km"]),
        "target_r": float(net.target_r),
        "language": net.language,
        "models": [{"name": str(row["model"]), "price": float(row["price"])}],
    }
    if net.raw_settings:
        data["settings"] = net.raw_settings
    return data


# ---------------------------------------------------------------- reading


def read_network(
    root: Path | str, *, lang: str | None = None, chunk_mb: float | None = None
) -> Network:
    """Read and validate a network workspace's small files; describe its point files.

    Parameters
    ----------
    root
        The network folder.
    lang
        Language of messages (default: network.toml's ``language``).
    chunk_mb
        Size of the pieces point CSVs are read in (default:
        ``settings.network.chunk_mb``).

    Raises
    ------
    NetworkError
        If ``root`` is not a folder or has no network.toml.
    LayerError
        Listing every problem of every small file (errors and notices).
    """
    from territory.network._chunks import describe_point_file

    root = Path(root)
    if not root.is_dir():
        raise NetworkError(f"not a network folder: {root}")
    if not (root / NETWORK_FILE).is_file():
        raise NetworkError(f"no {NETWORK_FILE} in {root}")
    problems = ProblemList()
    head = _read_network_toml(root / NETWORK_FILE, problems, lang or "zh")
    lang = lang or (head["language"] if head else "zh")
    settings = head["settings"] if head else Settings()
    sources: dict[str, str] = {}

    zones = None
    zones_path = find_layer_file(root, "zones", problems)
    if zones_path is None and not any(
        p.key in ("err.file_ambiguous", "err.file_type") and p.file.lower().startswith("zones")
        for p in problems
    ):
        problems.add(
            "zones.*",
            "err.file_missing",
            pattern="zones.geojson / zones.gpkg / zones.zip / zones.shp",
        )
    if zones_path is not None:
        sources["zones"] = zones_path.name
        zones = read_zones(
            zones_path, head["pseudo"] if head else None, problems, settings=settings
        )
    zones_ok = zones is not None and not any(
        p.severity == "error" and p.file == zones_path.name for p in problems
    )

    dealers = _read_dealers(root, head, problems, settings, sources)

    pois = empty_layer("pois")
    pois_path = find_layer_file(root, "pois", problems)
    if pois_path is not None:
        sources["pois"] = pois_path.name
        result = read_point_table(pois_path, "pois", problems, settings=settings)
        if result is not None and zones_ok:
            pois = _locate_pois(result, zones, head, problems, settings)

    assignment = None
    path = find_layer_file(root, "assignment", problems)
    if path is not None:
        sources["assignment"] = path.name
        assignment = _read_assignment(
            path, problems, settings, zones if zones_ok else None, dealers
        )

    chunk = float(chunk_mb if chunk_mb is not None else settings.network.chunk_mb)
    points: dict[str, PointSource] = {}
    for layer in NETWORK_POINT_LAYERS:
        path = find_layer_file(root, layer, problems)
        if path is None:
            continue
        sources[layer] = path.name
        source = describe_point_file(path, layer, problems, chunk_bytes=int(chunk * 2**20))
        if source is not None:
            points[layer] = source

    if problems.errors or head is None or zones is None or dealers is None:
        raise LayerError(problems, lang)
    zones.attrs.pop("rows", None)
    zones["population"] = zones["population"].astype("int64")
    return Network(
        root=root,
        name=head["name"],
        language=head["language"],
        coord_sys=head["coord_sys"],
        target_r=head["target_r"],
        settings=settings,
        raw_settings=head["raw_settings"],
        dealers=dealers,
        zones=zones,
        pois=pois,
        assignment=assignment,
        points=points,
        notices=problems.notices,
        sources=sources,
    )


def _read_network_toml(path: Path, problems: ProblemList, lang: str) -> dict[str, Any] | None:
    """network.toml: checked with the dealer.toml rules (same keys, same messages)."""
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        problems.add(file, "err.file_unreadable", detail=exc.strerror or type(exc).__name__)
        return None
    except UnicodeDecodeError:
        problems.add(file, "err.toml_encoding")
        return None
    except tomllib.TOMLDecodeError as exc:
        problems.add(file, "err.toml_syntax", detail=str(exc))
        return None
    for key in ("lon", "lat"):
        if key in data:
            problems.add(file, "err.network_toml_location", column=key)
    models = data.get("models")
    # network.toml has no location and its models are optional: a stand-in lets the
    # dealer.toml rules check everything else (name, target_r, coord_sys, settings ...).
    stand_in = {
        **data,
        "lon": 104.0657,
        "lat": 30.6595,
        "models": models if models is not None else [{"name": "-", "price": 1.0}],
    }
    try:
        pseudo = parse_dealer(stand_in, file=file, lang=lang)
    except LayerError as exc:
        problems.extend(exc.problems)
        return None
    raw_settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    method = pseudo.settings.network.assignment
    if method not in _ASSIGNMENT_METHODS:
        problems.add(
            file,
            "err.toml_bad_value",
            column="settings.network.assignment",
            found=repr(method),
            expected=", ".join(_ASSIGNMENT_METHODS),
        )
        return None
    memory = pseudo.settings.network.worker_memory
    if _memory_bytes(memory) is None:
        problems.add(
            file,
            "err.toml_bad_value",
            column="settings.network.worker_memory",
            found=repr(memory),
            expected='"auto" | "3GiB" (≥ 1GiB)',
        )
        return None
    share = pseudo.settings.network.overlap_min_share
    if not 0 < share <= 1:
        problems.add(
            file,
            "err.toml_bad_value",
            column="settings.network.overlap_min_share",
            found=repr(share),
            expected="0 < share ≤ 1",
        )
        return None
    return {
        "name": pseudo.name,
        "language": pseudo.language,
        "coord_sys": pseudo.coord_sys,
        "target_r": pseudo.target_r,
        "radius_km": pseudo.radius_km,
        "settings": pseudo.settings,
        "raw_settings": raw_settings,
        "models": pseudo.models if models is not None else (),
        "pseudo": pseudo,
    }


def _read_dealers(
    root: Path,
    head: dict[str, Any] | None,
    problems: ProblemList,
    settings: Settings,
    sources: dict[str, str],
) -> pd.DataFrame | None:
    path = find_layer_file(root, "dealers", problems)
    if path is None:
        if not any(p.file.lower().startswith("dealers") for p in problems):
            problems.add("dealers.csv", "err.file_missing", pattern="dealers.csv / dealers.xlsx")
        return None
    sources["dealers"] = path.name
    table = read_table(path, problems)
    if table is None:
        return None
    file = table.file
    labels = {c: table.label(c) for c in table.frame.columns}
    first = len(problems)
    typed = type_columns(
        table.frame, table.rows, DEALERS_SPEC, problems, file, labels=labels, settings=settings
    )
    if table.frame.empty:
        problems.add(file, "err.file_empty")
        return None
    rows = table.rows
    typed["row"] = rows.to_numpy()
    models = head["models"] if head else ()
    defaults = {
        "radius_km": head["radius_km"] if head else settings.influence.radius_km,
        "model": models[0].name if models else None,
        "price": models[0].price if models else None,
    }
    for column in ("model", "price"):
        given = table.frame[column] if column in table.frame.columns else None
        empty = typed[column].isna() if given is None else given.isna()
        if defaults[column] is not None:
            typed[column] = typed[column].where(~empty, defaults[column])
        elif given is None:
            problems.add(file, "err.dealers_no_model", column=column)
        elif empty.any():
            problems.add(
                file,
                "err.required_value",
                column=labels.get(column, column),
                rows=rows[empty],
                found="",
            )
    typed["radius_km"] = typed["radius_km"].fillna(defaults["radius_km"]).astype("float64")
    typed["name"] = typed["name"].where(typed["name"].notna(), typed["dealer_id"])

    # Location: each row's coord_sys (default: network.toml's), converted to WGS-84.
    default_sys = head["coord_sys"] if head else "wgs84"
    raw_sys = typed["coord_sys"]
    codes = raw_sys.map(lambda v: None if pd.isna(v) else normalise_code(v, COORD_SYSTEMS)).astype(
        object
    )
    bad = raw_sys.notna() & codes.isna()
    if bad.any():
        problems.add(
            file,
            "err.unknown_code",
            column=labels.get("coord_sys", "coord_sys"),
            rows=rows[bad],
            found=raw_sys[bad].iloc[0],
            expected="wgs84, gcj02, bd09",
        )
    systems = codes.where(codes.notna(), default_sys).to_numpy(dtype=object)
    lon = typed["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = typed["lat"].to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    wlon, wlat = np.full(len(typed), np.nan), np.full(len(typed), np.nan)
    if ok.any():
        wlon[ok], wlat[ok] = coords.to_wgs84(lon[ok], lat[ok], systems[ok])
    b = settings.load.china_bounds
    outside = ok & ~((wlon >= b[0]) & (wlon <= b[2]) & (wlat >= b[1]) & (wlat <= b[3]))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        problems.add(
            file,
            "err.out_of_china",
            column="lon/lat",
            rows=rows[outside],
            found=f"{lon[i]}, {lat[i]}",
        )
    typed["lon_given"] = lon
    typed["lat_given"] = lat
    typed["lon"] = wlon
    typed["lat"] = wlat
    typed["coord_sys"] = systems
    ids = typed["dealer_id"]
    if ids.notna().any():
        bad_ids = ids.notna() & ids.astype("str").str.contains(r"[\\/:*?\"<>|]|^\.", regex=True)
        if bad_ids.any():
            problems.add(
                file,
                "err.dealer_id_chars",
                column=labels.get("dealer_id", "dealer_id"),
                rows=rows[bad_ids],
                found=ids[bad_ids].iloc[0],
            )
    if any(p.severity == "error" for p in problems[first:]):
        return None
    columns = [c.name for c in DEALERS_SPEC.columns] + ["lon_given", "lat_given", "row"]
    return typed[columns].reset_index(drop=True)


def _locate_pois(result, zones, head, problems, settings) -> gpd.GeoDataFrame:
    from territory.inputs.geocode import geocoder_for
    from territory.inputs.locate import locate_points
    from territory.inputs.zone_index import ZoneIndex

    typed, table = result
    index = ZoneIndex(zones.geometry)
    return locate_points(
        typed,
        table.rows,
        file=table.file,
        zones=zones,
        default_coord_sys=head["coord_sys"] if head else "wgs84",
        geocoder=geocoder_for("offline", zones),
        problems=problems,
        settings=settings,
        zone_lookup=index.lookup,
    )


def _read_assignment(
    path: Path,
    problems: ProblemList,
    settings: Settings,
    zones: gpd.GeoDataFrame | None,
    dealers: pd.DataFrame | None,
) -> pd.DataFrame | None:
    table = read_table(path, problems)
    if table is None:
        return None
    file = table.file
    labels = {c: table.label(c) for c in table.frame.columns}
    typed = type_columns(
        table.frame, table.rows, ASSIGNMENT_SPEC, problems, file, labels=labels, settings=settings
    )
    rows = table.rows
    if zones is not None:
        unknown = typed["zone_id"].notna() & ~typed["zone_id"].isin(set(zones["zone_id"]))
        if unknown.any():
            problems.add(
                file,
                "err.unknown_zone_id",
                column=labels.get("zone_id", "zone_id"),
                rows=rows[unknown],
                found=typed.loc[unknown, "zone_id"].iloc[0],
            )
    if dealers is not None:
        unknown = typed["dealer_id"].notna() & ~typed["dealer_id"].isin(set(dealers["dealer_id"]))
        if unknown.any():
            problems.add(
                file,
                "err.unknown_dealer_id",
                column=labels.get("dealer_id", "dealer_id"),
                rows=rows[unknown],
                found=typed.loc[unknown, "dealer_id"].iloc[0],
            )
    pairs = typed[["zone_id", "dealer_id"]]
    twice = pairs.notna().all(axis=1) & pairs.duplicated(keep=False)
    if twice.any():
        problems.add(
            file,
            "err.assignment_repeated",
            column=labels.get("zone_id", "zone_id"),
            rows=rows[twice],
            found=f"{pairs.loc[twice, 'zone_id'].iloc[0]} → {pairs.loc[twice, 'dealer_id'].iloc[0]}",
        )
    if not settings.network.allow_overlap:
        zone = typed["zone_id"]
        several = zone.notna() & zone.duplicated(keep=False) & ~twice
        if several.any():
            problems.add(
                file,
                "err.assignment_overlap",
                column=labels.get("zone_id", "zone_id"),
                rows=rows[several],
                found=zone[several].iloc[0],
            )
    out = typed[["zone_id", "dealer_id"]].copy()
    out["row"] = rows.to_numpy()
    return out.dropna(subset=["zone_id", "dealer_id"]).reset_index(drop=True)

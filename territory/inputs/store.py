"""The workspace store: one GeoPackage inside the workspace folder.

``territory.gpkg`` holds the layers zones, customers, cards, events and
pois (WGS-84), a ``meta`` table (format version, dealer.toml text, the
fingerprints of the source files it was built from) and a ``settings``
table (the user's choices in the app). It opens in QGIS.

Saving is atomic: the whole store is written to a temporary file in the
same folder and then moved over the old one with :func:`os.replace`, so a
crash mid-save leaves either the old or the new store, never a broken one.
Settings are updated in place inside one SQLite transaction, which is
atomic too.

Examples
--------
>>> import tempfile, shutil
>>> from territory.inputs.demo import write_demo
>>> from territory.inputs.workspace import load_workspace
>>> folder = write_demo(tempfile.mkdtemp())
>>> ws = load_workspace(folder, use_store=False)
>>> path = save_store(ws)
>>> read_store(folder).zones.shape == ws.zones.shape
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from territory.inputs.dealer import DEALER_FILE, parse_dealer
from territory.inputs.layers import LAYERS, POINT_LAYERS, TABLE_SUFFIXES, ZONE_SUFFIXES, empty_layer
from territory.privacy import mask_frame

__all__ = [
    "FORMAT_VERSION",
    "STORE_FILE",
    "export_workspace",
    "read_point_coordinates",
    "read_store",
    "read_store_if_fresh",
    "read_ui_settings",
    "save_store",
    "save_ui_settings",
    "source_fingerprints",
]

STORE_FILE = "territory.gpkg"
FORMAT_VERSION = 2  # 2: typed lead columns, lead_id filled on load, traffic table
_TMP_PREFIX = ".territory-tmp-"


def source_fingerprints(root: Path) -> dict[str, list[int]]:
    """``{file name: [size, mtime_ns]}`` of the workspace's plain files."""
    names = {"dealer", *LAYERS}
    suffixes = set(ZONE_SUFFIXES) | set(TABLE_SUFFIXES) | {".toml", ".dbf", ".prj", ".shx", ".cpg"}
    out: dict[str, list[int]] = {}
    for path in sorted(Path(root).iterdir()):
        if path.is_file() and path.stem.lower() in names and path.suffix.lower() in suffixes:
            st = path.stat()
            out[path.name] = [st.st_size, st.st_mtime_ns]
    return out


def save_store(ws, *, path: Path | None = None) -> Path:
    """Write the whole workspace to its GeoPackage atomically; return its path."""
    root = Path(ws.root)
    target = Path(path) if path else root / STORE_FILE
    _remove_stale_temps(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".gpkg", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # pyogrio creates the file itself
    try:
        zones = ws.zones.copy()
        pyogrio.write_dataframe(zones, tmp, layer="zones", driver="GPKG", promote_to_multi=True)
        for name in POINT_LAYERS:
            layer = ws.layer(name)
            pyogrio.write_dataframe(
                _for_store(layer),
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type="Point",
                append=False,
            )
        dealer_text = (
            (root / DEALER_FILE).read_text(encoding="utf-8-sig")
            if (root / DEALER_FILE).exists()
            else ""
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "saved_at": dt.datetime.now().isoformat(timespec="seconds"),
            "dealer_toml": dealer_text,
            "dealer": json.dumps(ws.dealer.raw, ensure_ascii=False, default=str),
            "sources": json.dumps(source_fingerprints(root)),
            "source_files": json.dumps(ws.sources, ensure_ascii=False),
            "notices": json.dumps(
                [_problem_data(p) for p in ws.notices], ensure_ascii=False, default=str
            ),
        }
        if len(getattr(ws, "traffic", ())):
            _write_traffic(tmp, ws.traffic)
        _write_table(tmp, "meta", meta)
        previous = read_ui_settings(root) if target.exists() else {}
        _write_table(
            tmp, "settings", {k: json.dumps(v, ensure_ascii=False) for k, v in previous.items()}
        )
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def _for_store(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = layer.copy()
    # Plain lon/lat columns next to the geometry: fast numeric reads of large
    # layers (no WKB decoding), and visible in QGIS's attribute table.
    located = out.geometry.notna() & ~out.geometry.is_empty
    out["lon"] = np.where(located, out.geometry.x.where(located), np.nan)
    out["lat"] = np.where(located, out.geometry.y.where(located), np.nan)
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if isinstance(out[column].dtype, pd.StringDtype) or out[column].dtype == object:
            out[column] = out[column].astype("str")
    return out


def _write_table(path: Path, name: str, values: dict[str, Any]) -> None:
    frame = pd.DataFrame({"key": list(values), "value": [str(v) for v in values.values()]})
    if frame.empty:
        frame = pd.DataFrame(
            {"key": pd.Series([], dtype="str"), "value": pd.Series([], dtype="str")}
        )
    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


def _write_traffic(path: Path, traffic: pd.DataFrame) -> None:
    frame = traffic.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    frame["visitors"] = frame["visitors"].astype("float64")
    frame["source"] = frame["source"].astype("str")
    pyogrio.write_dataframe(frame, path, layer="traffic", driver="GPKG")


def _read_traffic(path: Path) -> pd.DataFrame:
    from territory.inputs.traffic import empty_traffic

    template = empty_traffic()
    if "traffic" not in {str(name) for name, _ in pyogrio.list_layers(path)}:
        return template
    frame = pd.DataFrame(pyogrio.read_dataframe(path, layer="traffic", read_geometry=False))
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce").astype("datetime64[ns]")
    frame["visitors"] = pd.to_numeric(frame["visitors"], errors="coerce").round().astype("Int64")
    frame["source"] = frame["source"].astype("str")
    return frame


def _remove_stale_temps(folder: Path) -> None:
    for stale in folder.glob(f"{_TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_table(path: Path, name: str) -> dict[str, str]:
    try:
        frame = pyogrio.read_dataframe(path, layer=name)
    except Exception:  # a store without the table: treat as empty
        return {}
    return dict(zip(frame["key"].astype("str"), frame["value"].astype("str"), strict=True))


def read_store(root: Path | str, *, path: Path | None = None):
    """Read the workspace from its store (trusted: it was validated when saved)."""
    from territory._errors import Problem
    from territory.inputs.workspace import Workspace

    root = Path(root)
    path = Path(path) if path else root / STORE_FILE
    meta = _read_table(path, "meta")
    dealer = parse_dealer(json.loads(meta["dealer"]))
    layers = {
        "zones": _restore_types(
            "zones", pyogrio.read_dataframe(path, layer="zones", use_arrow=True)
        )
    }
    for name in POINT_LAYERS:
        frame = pyogrio.read_dataframe(path, layer=name, use_arrow=True, read_geometry=False)
        layers[name] = _restore_types(name, _points_from_lonlat(frame))
    notices = [
        Problem(**{**d, "rows": tuple(d["rows"]), "ids": tuple(d.get("ids", ()))})
        for d in json.loads(meta.get("notices", "[]"))
    ]
    return Workspace(
        root=root,
        dealer=dealer,
        notices=notices,
        sources=json.loads(meta.get("source_files", "{}")),
        traffic=_read_traffic(path),
        **layers,
    )


def _points_from_lonlat(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    x = pd.to_numeric(frame.pop("lon"), errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(frame.pop("lat"), errors="coerce").to_numpy(dtype="float64")
    geometry = np.full(len(frame), None, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    geometry[ok] = shapely.points(x[ok], y[ok])
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometry, index=frame.index, crs="EPSG:4326"), crs="EPSG:4326"
    )


def read_point_coordinates(root: Path | str, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``lon``, ``lat`` arrays (WGS-84, NaN when unlocated) of a point layer in the store.

    Reads two numeric columns only: the fast path for large workspaces.
    """
    _, table = pyogrio.read_arrow(
        Path(root) / STORE_FILE, layer=layer, columns=["lon", "lat"], read_geometry=False
    )
    return (
        table.column("lon").to_numpy(zero_copy_only=False).astype("float64"),
        table.column("lat").to_numpy(zero_copy_only=False).astype("float64"),
    )


def _problem_data(problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "key": problem.key,
        "column": problem.column,
        "rows": list(problem.rows),
        "row_kind": problem.row_kind,
        "severity": problem.severity,
        "fields": problem.fields,
        "ids": list(problem.ids),
    }


def _restore_types(name: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    template = empty_layer(name)
    out = frame.copy()
    for column in template.columns:
        if column == template.geometry.name:
            continue
        dtype = template[column].dtype
        if column not in out:
            out[column] = pd.Series(None, index=out.index, dtype=dtype)
            continue
        if str(dtype) == "Int64":
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
        elif str(dtype).startswith("datetime64"):
            out[column] = pd.to_datetime(out[column], errors="coerce").astype("datetime64[ns]")
            if getattr(out[column].dt, "tz", None) is not None:
                out[column] = out[column].dt.tz_localize(None)
        elif str(dtype) == "float64":
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
        else:
            out[column] = out[column].astype("str")
    if name == "zones":
        out["population"] = out["population"].astype("int64")
    if out.crs is None:
        out = out.set_crs("EPSG:4326")
    return out


def read_store_if_fresh(root: Path | str):
    """The workspace from its store if the store matches the files, else None.

    A store whose source files have changed, were added or removed since it
    was saved is stale; a folder with a store and no plain files at all is
    read from the store.
    """
    root = Path(root)
    path = root / STORE_FILE
    if not path.exists():
        return None
    try:
        meta = _read_table(path, "meta")
        if int(meta.get("format_version", 0)) != FORMAT_VERSION:
            return None
        recorded = json.loads(meta.get("sources", "{}"))
    except (ValueError, OSError):
        return None
    current = source_fingerprints(root)
    if current and current != recorded:
        return None
    try:
        return read_store(root)
    except Exception:  # an unreadable store is rebuilt from the files
        return None


def read_ui_settings(root: Path | str) -> dict[str, Any]:
    """The user's saved app settings (model, date, weights, ...)."""
    path = Path(root) / STORE_FILE
    if not path.exists():
        return {}
    values = _read_table(path, "settings")
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def save_ui_settings(root: Path | str, values: dict[str, Any]) -> None:
    """Update the app settings inside the store in one SQLite transaction.

    Raises
    ------
    FileNotFoundError
        If the workspace has no store yet (save the store first).
    """
    path = Path(root) / STORE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; import the workspace first")
    con = sqlite3.connect(path)
    try:
        with con:
            for key, value in values.items():
                encoded = json.dumps(value, ensure_ascii=False, default=str)
                updated = con.execute(
                    "UPDATE settings SET value = ? WHERE key = ?", (encoded, key)
                ).rowcount
                if not updated:
                    con.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, encoded))
    finally:
        con.close()


def export_workspace(ws, out_dir: Path | str, *, mask_personal: bool = True) -> list[Path]:
    """Write the workspace back as the contract's plain files (WGS-84).

    Names and phones are masked unless ``mask_personal=False`` is asked for
    explicitly. Returns the files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_dealer(ws, out / DEALER_FILE)]
    zones = ws.zones.copy()
    path = out / "zones.geojson"
    zones.to_file(path, driver="GeoJSON")
    written.append(path)
    for name in POINT_LAYERS:
        layer = ws.layer(name)
        if layer.empty:
            continue
        frame = pd.DataFrame(layer.drop(columns=layer.geometry.name))
        frame.insert(0, "lat", layer.geometry.y.round(7))
        frame.insert(0, "lon", layer.geometry.x.round(7))
        frame["coord_sys"] = "wgs84"
        frame = frame.drop(columns=["district", "located_by", "lead_linked_by"], errors="ignore")
        if mask_personal:
            frame = mask_frame(frame)
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    traffic = getattr(ws, "traffic", None)
    if traffic is not None and len(traffic):
        frame = traffic.copy()
        frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
        path = out / "traffic.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    from territory.inputs.assignment import load_assignment

    assignment = load_assignment(ws.root)
    if assignment is not None and len(assignment):
        # The consultants' territories as the file `territory split --assignment` imports.
        path = out / "territories.csv"
        table = assignment.assign(locked=np.where(assignment["locked"], "1", ""))
        table.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    return written


def _write_dealer(ws, path: Path) -> Path:
    d = ws.dealer
    lines = [
        f"name = {_toml_str(d.name)}",
        f"lon = {d.lon:.7f}",
        f"lat = {d.lat:.7f}",
        'coord_sys = "wgs84"',
        f"radius_km = {d.radius_km:g}",
        f"target_r = {d.target_r:g}",
        f"language = {_toml_str(d.language)}",
    ]
    if d.zones_crs:
        lines.append(f"zones_crs = {_toml_str('EPSG:4326')}")
    for model in d.models:
        lines += ["", "[[models]]", f"name = {_toml_str(model.name)}", f"price = {model.price:g}"]
    team = getattr(d, "team", None)
    if team is not None and (
        team.consultants or team.staff_per_day is not None or team.test_cars is not None
    ):
        lines += ["", "[team]"]
        if team.consultants:
            lines.append(f"consultants = {_toml_value(list(team.consultants))}")
        for key in ("staff_per_day", "test_cars"):
            if getattr(team, key) is not None:
                lines.append(f"{key} = {getattr(team, key)}")
    settings = d.raw.get("settings")
    if isinstance(settings, dict):
        for section, values in settings.items():
            if isinstance(values, dict):
                lines += ["", f"[settings.{section}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return _toml_str(str(value))

"""The workspace store: one GeoPackage inside the workspace folder.

``territory.gpkg`` holds the layers zones, customers, cards, events and
pois (WGS-84), a ``meta`` table (format version, dealer.toml text, the
SHA-256 of every source file it was built from, the rows per layer) and a
``settings`` table (the user's choices in the app). It opens in QGIS.

The store is a cache of the plain files, never trusted blindly:

- it is keyed on the **content** of the sources (SHA-256, not size and
  modification time) and on the code that validated them: an edited, restored
  or synced file, or an upgrade of Territory, makes it stale;
- SQLite triggers count every insert, update or delete on its layers and its
  ``meta`` table, and the rows of each layer are recorded: a store edited in
  QGIS or a SQLite browser, or a layer replaced, is detected;
- a stale or changed store is rebuilt from the plain files with a notice
  (:func:`load_from_store` says why); a workspace with a changed store and no
  plain files is read with a warning.

Saving is atomic: the whole store is written to a unique temporary file in
the same folder and then moved over the old one with :func:`os.replace`, so
a crash mid-save leaves either the old or the new store, never a broken one.
Writers take the workspace lock (``.territory.lock``, :func:`workspace_lock`):
a second import waits for the first (and says so) instead of racing it; a
store or folder without write permission is never replaced
(:func:`store_writable`). Settings are updated in place inside one SQLite
transaction, under the same lock.

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
import errno
import functools
import hashlib
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from territory.inputs.dealer import DEALER_FILE, parse_dealer
from territory.inputs.layers import LAYERS, POINT_LAYERS, TABLE_SUFFIXES, ZONE_SUFFIXES, empty_layer
from territory.privacy import write_table

__all__ = [
    "FORMAT_VERSION",
    "LOCK_FILE",
    "STORE_FILE",
    "StoreBusy",
    "StoreCheck",
    "StoreReadOnly",
    "check_store",
    "code_key",
    "export_workspace",
    "load_from_store",
    "read_point_coordinates",
    "read_store",
    "read_store_if_fresh",
    "read_ui_settings",
    "save_store",
    "save_ui_settings",
    "source_fingerprints",
    "source_hashes",
    "store_writable",
    "workspace_lock",
]

STORE_FILE = "territory.gpkg"
#: 3: content hashes of the sources, the code key, row counts and guard triggers;
#: 2: typed lead columns, lead_id filled on load, traffic table.
FORMAT_VERSION = 3
LOCK_FILE = ".territory.lock"
_TMP_PREFIX = ".territory-tmp-"
#: Every change to the layers and ``meta`` is counted by triggers on them (``settings`` is
#: the app's to change); the guarded layers are those counted in ``meta["counts"]``.
_GUARD_TABLE = "territory_guard"


class StoreReadOnly(PermissionError):
    """The store (or the workspace folder) has no write permission: it is never replaced."""


class StoreBusy(TimeoutError):
    """Another process held the workspace lock for longer than the timeout."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = Path(path)
        self.timeout = timeout
        super().__init__(f"{path} is locked by another import (waited {timeout:g} s)")


def _source_files(root: Path) -> list[Path]:
    names = {"dealer", *LAYERS}
    suffixes = set(ZONE_SUFFIXES) | set(TABLE_SUFFIXES) | {".toml", ".dbf", ".prj", ".shx", ".cpg"}
    return [
        path
        for path in sorted(Path(root).iterdir())
        if path.is_file() and path.stem.lower() in names and path.suffix.lower() in suffixes
    ]


def source_fingerprints(root: Path) -> dict[str, list[int]]:
    """``{file name: [size, mtime_ns, ctime_ns, inode]}`` of the workspace's plain files.

    A cheap stamp that changes whenever a file is written (ctime cannot be set
    back), for caches such as the app's; the store itself is keyed on
    :func:`source_hashes`.
    """
    out: dict[str, list[int]] = {}
    for path in _source_files(root):
        st = path.stat()
        out[path.name] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    return out


def source_hashes(root: Path | str) -> dict[str, str]:
    """``{file name: SHA-256 of its content}`` of the workspace's plain files."""
    out: dict[str, str] = {}
    for path in _source_files(Path(root)):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda f=fh: f.read(1 << 20), b""):
                digest.update(block)
        out[path.name] = digest.hexdigest()
    return out


@functools.cache
def code_key() -> str:
    """A hash of the code that reads and validates a workspace (and of the format).

    A store saved by other reading code is rebuilt: after an upgrade ``score``
    never runs on data that today's ``validate`` would refuse.
    """
    from importlib import resources

    package = resources.files("territory")
    digest = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    parts = [package / "inputs", package]
    for folder in parts:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".py") and (folder != package or entry.name in _KEYED):
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()


#: Shared-ground modules whose rules decide what a valid workspace is.
_KEYED = ("settings.py", "vocab.py", "_errors.py")


def store_writable(root: Path | str, path: Path | None = None) -> bool:
    """Whether the store may be (re)written: the folder and an existing store are writable.

    Permission bits are read as well as :func:`os.access`, so a store or folder
    made read-only is respected even by an administrator (whom the system lets
    write anyway).
    """
    target = Path(path) if path else Path(root) / STORE_FILE
    folder = target.parent

    def writable(p: Path) -> bool:
        mode = p.stat().st_mode
        return bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(p, os.W_OK)

    try:
        if not writable(folder):
            return False
        return not target.exists() or writable(target)
    except OSError:
        return False


@contextlib.contextmanager
def workspace_lock(
    root: Path | str,
    *,
    timeout: float = 600.0,
    on_wait: Callable[[float], None] | None = None,
) -> Iterator[None]:
    """Hold the workspace's write lock (``.territory.lock``, an OS file lock).

    The lock is released by the operating system when its process ends, so a
    crashed import never leaves it stuck. If another process holds it,
    ``on_wait(timeout)`` is called once and the lock is awaited up to
    ``timeout`` seconds (0: do not wait).

    Raises
    ------
    StoreBusy
        If the lock is still held after ``timeout`` seconds.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(Path(root) / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None and timeout > 0:
            on_wait(timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreBusy(Path(root) / STORE_FILE, timeout) from None
    try:
        yield
    finally:
        lock.release()


def save_store(
    ws,
    *,
    path: Path | None = None,
    timeout: float = 0.0,
    on_wait: Callable[[float], None] | None = None,
) -> Path:
    """Write the whole workspace to its GeoPackage atomically; return its path.

    Takes the workspace lock (waiting up to ``timeout`` seconds, announcing the
    wait with ``on_wait``); the store is keyed on the sources' content as it
    was when ``ws`` was read (``ws.hashes``).

    Raises
    ------
    StoreReadOnly
        If the store or the folder is read-only (nothing is written).
    StoreBusy
        If another process holds the lock longer than ``timeout``.
    """
    root = Path(ws.root)
    target = Path(path) if path else root / STORE_FILE
    if target.is_dir():  # checked before the lock file is made: exit 2 writes nothing
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if not store_writable(root, target):
        raise StoreReadOnly(errno.EACCES, "read-only", str(target))
    with workspace_lock(target.parent, timeout=timeout, on_wait=on_wait):
        return _save_locked(ws, root, target)


def _save_locked(ws, root: Path, target: Path) -> Path:
    _remove_stale_temps(target.parent)  # safe: no other writer holds the lock
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
        hashes = getattr(ws, "hashes", None) or source_hashes(root)
        counts = {n: len(ws.layer(n)) for n in ("zones", *POINT_LAYERS)}
        if len(getattr(ws, "traffic", ())):
            _write_traffic(tmp, ws.traffic)
            counts["traffic"] = len(ws.traffic)
        meta = {
            "format_version": FORMAT_VERSION,
            "code": code_key(),
            "saved_at": dt.datetime.now().isoformat(timespec="seconds"),
            "dealer_toml": dealer_text,
            "dealer": json.dumps(ws.dealer.raw, ensure_ascii=False, default=str),
            "sources": json.dumps(hashes, sort_keys=True),
            "source_files": json.dumps(ws.sources, ensure_ascii=False),
            "counts": json.dumps(counts),
            "notices": json.dumps(
                [_problem_data(p) for p in ws.notices], ensure_ascii=False, default=str
            ),
        }
        _write_table(tmp, "meta", meta)
        previous = {}
        with contextlib.suppress(Exception):  # an unreadable old store has no settings to keep
            previous = read_ui_settings(root) if target.is_file() else {}
        _write_table(
            tmp, "settings", {k: json.dumps(v, ensure_ascii=False) for k, v in previous.items()}
        )
        _install_guard(tmp, [*counts, "meta"])
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def _install_guard(path: Path, tables: list[str]) -> None:
    """Triggers that count every change to the layers and ``meta`` (tampering is detected)."""
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(
                f"CREATE TABLE {_GUARD_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "edits INTEGER NOT NULL)"
            )
            con.execute(f"INSERT INTO {_GUARD_TABLE} (id, edits) VALUES (1, 0)")
            for table in tables:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    con.execute(
                        f'CREATE TRIGGER "{_GUARD_TABLE}_{table}_{event.lower()}" '
                        f'AFTER {event} ON "{table}" BEGIN '
                        f"UPDATE {_GUARD_TABLE} SET edits = edits + 1 WHERE id = 1; END"
                    )
    finally:
        con.close()


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
    """Read the workspace from its store (as saved; see :func:`check_store` first).

    A store replaced by another process while it is read is read again, so the
    layers always come from one and the same save.
    """
    root = Path(root)
    path = Path(path) if path else root / STORE_FILE
    for _ in range(5):
        before = path.stat().st_ino
        ws = _read_store_once(root, path)
        if path.stat().st_ino == before:
            return ws
    return ws


def _read_store_once(root: Path, path: Path):
    from territory._errors import Problem
    from territory.inputs.workspace import Workspace

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
        Problem(
            **{
                **d,
                "rows": tuple(d["rows"]),
                "ids": tuple(d.get("ids", ())),
                "fields": {k: _decode_field(v) for k, v in d.get("fields", {}).items()},
            }
        )
        for d in json.loads(meta.get("notices", "[]"))
    ]
    return Workspace(
        root=root,
        dealer=dealer,
        notices=notices,
        sources=json.loads(meta.get("source_files", "{}")),
        hashes=json.loads(meta.get("sources", "{}")),
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
        "fields": {k: _encode_field(v) for k, v in problem.fields.items()},
        "ids": list(problem.ids),
    }


def _encode_field(value: Any) -> Any:
    """Catalogue messages in a problem's fields keep their key (shown in any language later)."""
    from territory.i18n import Message

    if isinstance(value, Message):
        return {
            "__message__": value.key,
            "fields": {k: _encode_field(v) for k, v in value.fields.items()},
        }
    return value


def _decode_field(value: Any) -> Any:
    from territory.i18n import Message

    if isinstance(value, dict) and "__message__" in value:
        fields = {k: _decode_field(v) for k, v in value.get("fields", {}).items()}
        return Message(value["__message__"], **fields)
    return value


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


@dataclass(frozen=True)
class StoreCheck:
    """What :func:`check_store` found.

    ``status``: ``missing``, ``fresh``, ``stale`` (the plain files changed),
    ``other_version`` (saved by other reading code or format), ``unreadable``,
    ``tampered`` (changed outside Territory) or ``store_only`` / ``store_only_tampered``
    (no plain files: the store is all there is). ``detail`` says what differs.
    """

    status: str
    detail: str = ""
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Whether the workspace is read from the store."""
        return self.status in ("fresh", "store_only", "store_only_tampered")


def check_store(root: Path | str) -> StoreCheck:
    """Compare the store with the plain files (by content) and look for outside changes."""
    root = Path(root)
    path = root / STORE_FILE
    if not path.is_file():
        return StoreCheck("missing")
    hashes = source_hashes(root)
    try:
        meta, guard = _inspect(path)
    except (sqlite3.Error, OSError, ValueError) as exc:
        return StoreCheck("unreadable", str(exc)[:200], hashes)
    try:
        version = int(meta.get("format_version", 0))
    except ValueError:
        version = 0
    if version != FORMAT_VERSION or meta.get("code") != code_key():
        return StoreCheck("other_version", str(version), hashes)
    if not hashes:
        return StoreCheck("store_only_tampered" if guard else "store_only", guard, hashes)
    try:
        recorded = json.loads(meta.get("sources", "{}"))
    except ValueError:
        recorded = {}
    if recorded != hashes:
        changed = sorted(
            name for name in set(recorded) | set(hashes) if recorded.get(name) != hashes.get(name)
        )
        return StoreCheck("stale", ", ".join(changed), hashes)
    if guard:
        return StoreCheck("tampered", guard, hashes)
    return StoreCheck("fresh", "", hashes)


def _inspect(path: Path) -> tuple[dict[str, str], str]:
    """The ``meta`` table and what the guard saw (empty: nothing changed outside Territory)."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        found = []
        triggers = {
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
                (f"{_GUARD_TABLE}%",),
            )
        }
        counts = json.loads(meta.get("counts", "{}"))
        missing = sorted(
            {
                t
                for t in [*counts, "meta"]
                if not all(
                    f"{_GUARD_TABLE}_{t}_{e}" in triggers for e in ("insert", "update", "delete")
                )
            }
        )
        if missing:
            found.append("replaced: " + ", ".join(missing))
        try:
            (edits,) = con.execute(f"SELECT edits FROM {_GUARD_TABLE} WHERE id = 1").fetchone()
        except (sqlite3.Error, TypeError):
            edits = None
        if edits is None:
            found.append("guard removed")
        elif edits:
            found.append(f"{edits} row(s) edited")
        for table, rows in counts.items():
            try:
                (now,) = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            except sqlite3.Error:
                now = None
            if now != rows:
                found.append(f"{table}: {rows} → {now} rows")
    finally:
        con.close()
    return meta, "; ".join(dict.fromkeys(found))


def load_from_store(root: Path | str) -> tuple[Any, Any]:
    """``(workspace or None, problem or None)``: the store if usable, and why it is not.

    The problem (file ``territory.gpkg``) is a notice for a store that is simply
    out of date and a warning for one that was changed outside Territory or
    cannot be read; None when the store is fresh or missing.
    """
    from territory._errors import NOTICE, WARNING, Problem

    check = check_store(root)
    problem = None
    keys = {
        "stale": ("notice.store_stale", NOTICE),
        "other_version": ("notice.store_other_version", NOTICE),
        "unreadable": ("warn.store_unreadable", WARNING),
        "tampered": ("warn.store_tampered", WARNING),
        "store_only_tampered": ("warn.store_only_tampered", WARNING),
    }
    if check.status in keys:
        key, severity = keys[check.status]
        problem = Problem(STORE_FILE, key, severity=severity, fields={"detail": check.detail})
    if not check.usable:
        return None, problem
    try:
        ws = read_store(root)
    except Exception as exc:  # GDAL cannot read it after all: rebuilt from the files
        return None, Problem(
            STORE_FILE, "warn.store_unreadable", severity=WARNING, fields={"detail": str(exc)[:200]}
        )
    if problem is not None:
        ws.notices = [*ws.notices, problem]
    return ws, problem


def read_store_if_fresh(root: Path | str):
    """The workspace from its store if the store matches the files, else None.

    A store whose source files have changed (by content), were added or
    removed since it was saved, that another version saved, or that was
    changed outside Territory is not used; a folder with a store and no plain
    files at all is read from the store. :func:`load_from_store` also says why.
    """
    ws, _ = load_from_store(root)
    return ws


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
    if not store_writable(root):
        raise StoreReadOnly(errno.EACCES, "read-only", str(path))
    with workspace_lock(root, timeout=10.0):
        _save_settings_locked(path, values)


def _save_settings_locked(path: Path, values: dict[str, Any]) -> None:
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

    Personal data is masked by content in every column (names, phone and ID
    numbers, detailed addresses: :func:`territory.privacy.safe_frame`) unless
    ``mask_personal=False`` is asked for explicitly; text that a spreadsheet
    would run as a formula is neutralised either way. Returns the files written.
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
        path = write_table(frame, out / f"{name}.csv", mask=mask_personal)
        written.append(path)
    traffic = getattr(ws, "traffic", None)
    if traffic is not None and len(traffic):
        frame = traffic.copy()
        frame["date"] = pd.to_datetime(frame["date"])
        written.append(write_table(frame, out / "traffic.csv", mask=mask_personal))
    from territory.inputs.assignment import load_assignment

    assignment = load_assignment(ws.root)
    if assignment is not None and len(assignment):
        # The consultants' territories, as `territory split --assignment` imports them. The
        # names are the dealer's staff, not customers: not masked (formulas still neutralised).
        table = assignment.assign(locked=np.where(assignment["locked"], "1", ""))
        written.append(write_table(table, out / "territories.csv", mask=False))
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

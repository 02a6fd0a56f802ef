"""Results the app keeps on disk, so that a freshly started server draws its first map fast.

``state.py`` caches the workspace, its analysis, the customer hexagons, the
built maps, the Sites page's ranking and each site's plan in memory
(``st.cache_resource``); a new server process starts with empty caches, and
computing them again costs seconds (scikit-learn and scipy alone take seconds
to import). This module keeps each of those results as a
pickle under ``$TERRITORY_HOME/cache/<kind>/``, keyed by

* what the result was computed from (the workspace folder and the sizes and
  modification times of its files, the model, radius, language, options), and
* the code that computed it (a digest of Territory's source and data files and
  of the versions of the libraries whose objects are pickled),

so an edited workspace or an upgrade never reads a stale result. Files are
written atomically and only read back from this folder (a pickle is code: never
point ``TERRITORY_HOME`` at a folder others can write). Any problem reading or
writing is logged and treated as a miss: the result is computed as before.

Not a cache of the package's functions: the package stays plain, the app asks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["code_digest", "folder", "load", "save"]

_LOG = logging.getLogger("territory.ui")
#: Files kept per kind (the oldest read is removed first).
MAX_FILES = 24
_LIBRARIES = ("pandas", "geopandas", "shapely", "numpy", "folium", "branca", "pyproj")


def folder(kind: str) -> Path:
    """``$TERRITORY_HOME/cache/<kind>`` (``~/.territory/cache/<kind>`` by default)."""
    home = Path(os.environ.get("TERRITORY_HOME") or Path.home() / ".territory")
    return home / "cache" / kind


@cache
def code_digest() -> str:
    """A digest of Territory's code and data files and of the pickled libraries' versions."""
    import territory

    root = Path(territory.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml", ".json") and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            digest.update(f"{name}=?\n".encode())
    return digest.hexdigest()[:20]


def _path(kind: str, key: tuple) -> Path:
    name = hashlib.sha256(repr((code_digest(), key)).encode("utf-8")).hexdigest()[:32]
    return folder(kind) / f"{name}.pkl"


def load(kind: str, key: tuple) -> Any | None:
    """The result saved for ``key``, or None (none saved, or unreadable)."""
    path = _path(kind, key)
    try:
        with path.open("rb") as handle:
            value = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign file is a miss, never an error page
        _LOG.warning("ignoring the precomputed %s in %s", kind, path, exc_info=True)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used
    return value


def save(kind: str, key: tuple, value: Any) -> None:
    """Keep ``value`` for ``key`` (atomically; best effort)."""
    target = _path(kind, key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _evict(target.parent)
    except Exception:
        _LOG.warning("could not keep the precomputed %s in %s", kind, target, exc_info=True)


def _evict(directory: Path) -> None:
    files = sorted(directory.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        with contextlib.suppress(OSError):
            old.unlink()

"""The bundled demo workspace (Chengdu, partly synthetic; see data/README.md).

Examples
--------
>>> from territory.inputs.demo import demo_path
>>> (demo_path() / "dealer.toml").exists()
True
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

__all__ = ["DEMO_FILES", "demo_copy", "demo_path", "write_demo"]

#: Written beside a copy of the demo: the hash of each file as copied.
MANIFEST = ".territory-demo.json"

DEMO_FILES: tuple[str, ...] = (
    "dealer.toml",
    "zones.geojson",
    "customers.csv",
    "cards.csv",
    "events.csv",
    "pois.csv",
    "traffic.csv",
)


def demo_path() -> Path:
    """The folder holding the demo workspace's files.

    In a wheel the files are packaged as ``territory/_demo``; in a source
    checkout they are ``data/demo`` at the top of the repository.
    """
    packaged = Path(__file__).resolve().parent.parent / "_demo"
    if (packaged / "dealer.toml").exists():
        return packaged
    source = Path(__file__).resolve().parents[2] / "data" / "demo"
    if (source / "dealer.toml").exists():
        return source
    raise FileNotFoundError(
        "the demo workspace is missing from this installation "
        f"(looked in {packaged} and {source}); reinstall territory"
    )


def write_demo(target: Path | str) -> Path:
    """Copy the demo workspace's files into ``target`` (created if needed).

    Raises
    ------
    FileExistsError
        If ``target`` already holds workspace files (nothing is overwritten).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    clash = [name for name in DEMO_FILES if (target / name).exists()]
    if clash:
        raise FileExistsError(f"{target} already has {', '.join(clash)}; choose an empty folder")
    source = demo_path()
    for name in DEMO_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    (target / MANIFEST).write_text(json.dumps(_hashes(target)), encoding="utf-8")
    return target


def demo_copy(target: Path | str) -> Path:
    """The user's copy of the demo in ``target``: written if missing, renewed if outdated.

    A copy nobody has edited (its files still match the manifest written with
    it, and no edit was recorded in its journal) is replaced when this
    installation's demo differs, e.g. after an upgrade; an edited copy, or
    one without a manifest, is left alone.

    Examples
    --------
    >>> import tempfile
    >>> folder = demo_copy(Path(tempfile.mkdtemp()) / "demo")
    >>> (folder / "zones.geojson").read_bytes() == (demo_path() / "zones.geojson").read_bytes()
    True
    """
    target = Path(target)
    if not (target / "dealer.toml").exists():
        return write_demo(target)
    manifest = target / MANIFEST
    try:
        copied = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return target  # no manifest: perhaps edited, keep it
    from territory.inputs.journal import Journal

    if Journal(target).exists:
        return target  # follow-up contacts were recorded in it: the user's work
    if _hashes(target) == copied and _hashes(demo_path()) != copied:
        for name in (*DEMO_FILES, MANIFEST, "territory.gpkg"):
            (target / name).unlink(missing_ok=True)
        write_demo(target)
    return target


def _hashes(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in DEMO_FILES
        if (folder / name).exists()
    }

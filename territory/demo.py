"""The bundled demo workspace (Chengdu, partly synthetic; see data/README.md).

Examples
--------
>>> from territory.demo import demo_path
>>> (demo_path() / "dealer.toml").exists()
True
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["DEMO_FILES", "demo_path", "write_demo"]

DEMO_FILES: tuple[str, ...] = (
    "dealer.toml",
    "zones.geojson",
    "customers.csv",
    "cards.csv",
    "events.csv",
    "pois.csv",
)


def demo_path() -> Path:
    """The folder holding the demo workspace's files.

    In a wheel the files are packaged as ``territory/_demo``; in a source
    checkout they are ``data/demo`` at the top of the repository.
    """
    packaged = Path(__file__).with_name("_demo")
    if (packaged / "dealer.toml").exists():
        return packaged
    source = Path(__file__).resolve().parent.parent / "data" / "demo"
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
    return target

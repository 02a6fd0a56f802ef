"""Benchmark: what issue 13's checks cost when a workspace is loaded, against a baseline.

The checks added to loading (header and sheet detection, plausible ranges,
zone overlaps, piled points, the coordinate-system evidence, content hashes
of the sources and the store's guard) run on every validating load; the store
is checked on every command. This script times, on the synthetic city
(``benchmarks/synthetic_city.py``, one set of plain files):

* **validate**: ``read_sources`` (every file read, typed, located, checked);
* **store**: ``load_workspace`` from a fresh store (hashes + guard + layers).

Times are CPU seconds of the measuring process (``time.process_time``), the
best of the runs, baseline and this package measured alternately twice.

It runs the same two measurements with another copy of the package (the
baseline: e.g. ``git archive main | tar -x -C /tmp/main``) in a subprocess on
the same files, in the same run, and prints the ratios and the machine load.

Run::

    uv run python benchmarks/bench_load.py --baseline /tmp/main [--zones 5000 --customers 200000 --runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_MEASURE = r"""
import json, sys, time, shutil
from pathlib import Path
folder, runs = Path(sys.argv[1]), int(sys.argv[2])
from territory.inputs.workspace import load_workspace, read_sources
from territory.inputs import store
import territory
clock = time.process_time  # CPU seconds: far less sensitive than wall time to a busy machine
best = {"validate": 1e9, "store": 1e9}
for _ in range(runs):
    t0 = clock(); ws = read_sources(folder); best["validate"] = min(best["validate"], clock() - t0)
(folder / "territory.gpkg").unlink(missing_ok=True)
store.save_store(ws)
for _ in range(runs):
    t0 = clock(); again = load_workspace(folder); best["store"] = min(best["store"], clock() - t0)
assert len(again.customers) == len(ws.customers)
best["package"] = str(Path(territory.__file__).parent)
print(json.dumps(best))
"""


def measure(src: Path | None, folder: Path, runs: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src if src is not None else HERE.parent)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(folder), str(runs)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=folder.parent,  # not the checkout: "" on sys.path would import it first
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", type=Path, required=True, help="folder holding a territory package"
    )
    parser.add_argument("--zones", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from synthetic_city import write_city

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_city(Path(tmp) / "city", n_zones=args.zones, n_customers=args.customers)
        # Interleaved (baseline, this, baseline, this): a drift in the machine's load hits both.
        pairs = [
            (measure(args.baseline, folder, args.runs), measure(None, folder, args.runs))
            for _ in range(2)
        ]
        base = {k: min(p[0][k] for p in pairs) for k in ("validate", "store")} | {
            "package": pairs[0][0]["package"]
        }
        ours = {k: min(p[1][k] for p in pairs) for k in ("validate", "store")} | {
            "package": pairs[0][1]["package"]
        }
    print(
        f"synthetic city: {args.zones} zones, {args.customers} customers; "
        f"CPU seconds, best of 2 x {args.runs}"
    )
    print(f"machine load (1, 5, 15 min): {os.getloadavg()}")
    for key in ("validate", "store"):
        print(
            f"{key:9s} baseline {base[key]:7.2f} s   this branch {ours[key]:7.2f} s   "
            f"ratio {ours[key] / base[key]:5.2f}"
        )
    print(f"baseline package: {base['package']}\nthis package:     {ours['package']}")


if __name__ == "__main__":
    main()

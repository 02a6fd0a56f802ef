"""Benchmark: re-ranking alone (``recommend`` with the cached analysis), cached vs uncached.

The re-rank part of ``bench_app.py`` without its maps and browsers: loads a
workspace (default: the synthetic city in ``benchmarks/out/city``, written on
first use by ``bench_app.city_folder``), runs the analysis once, then times
the same re-ranks as ``bench_app.py`` (a weight, rotation and date change
each run), interleaved: "uncached" empties the market coverage cache of
``territory.outreach.site`` before each re-rank (what every re-rank cost
before that table was reused across ``Settings`` overrides), "cached" keeps
it. Prints the medians, their ratio and the machine load.

Run::

    uv run python benchmarks/bench_rerank.py [--runs 5] [--folder PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_app import BUDGET_RERANK_S, city_folder, rerank_times, timed  # noqa: E402


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=Path, help="workspace (default: the synthetic city)")
    args = parser.parse_args()
    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.outreach import site

    print(f"machine load (uptime): {load()}; code: {Path(site.__file__).parents[1]}")
    folder = args.folder or city_folder()
    ws, t_load = timed(load_workspace, folder)
    analysis, t_analyse = timed(analyse, ws)
    print(f"{folder}: {len(ws.zones):,} zones; load {t_load:.2f} s, analysis {t_analyse:.2f} s")

    def empty_caches() -> None:
        site._MARKET.clear()

    uncached: list[float] = []
    cached: list[float] = []
    for i in range(args.runs):  # interleaved, so load changes hit both alike
        uncached += rerank_times(ws, analysis, 1, before_each=empty_caches, first=i)
        cached += rerank_times(ws, analysis, 1, first=i)
    mu, mc = statistics.median(uncached), statistics.median(cached)
    flag = "ok" if mc < BUDGET_RERANK_S else "OVER BUDGET"
    print(f"re-rank uncached: median {mu:.3f} s, max {max(uncached):.3f} s")
    print(
        f"re-rank cached:   median {mc:.3f} s, max {max(cached):.3f} s = {mc / mu:.2f}x uncached; "
        f"{mc / BUDGET_RERANK_S:.2f}x the {BUDGET_RERANK_S} s budget ({flag})"
    )
    print(f"machine load at the end: {load()}")


if __name__ == "__main__":
    main()

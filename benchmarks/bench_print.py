"""Benchmark: printing field maps and plans (PDF) on the Chengdu demo, same run.

Measures, on the demo workspace (analysis computed once and shared, as the
app does), the time and size of:

- the baseline: the 13-part plan as XLSX (``build_plan`` + ``write_plan_xlsx``)
  for the same site, the export the printed plan condenses;
- one site, A4, Chinese (field map, plan, registration form);
- one site, A3, English;
- one site with the masked invitation list and cards;
- a 5-site map book (``top=5``: recommendation, cover, every site);

and prints each as seconds, pages, kilobytes and the ratio to the baseline.
Tiles are not fetched (``basemap="none"``): no network.

Run::

    uv run python benchmarks/bench_print.py [--date 2026-11-28] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from territory.analysis.zones import analyse
from territory.inputs.demo import write_demo
from territory.inputs.workspace import load_workspace
from territory.outreach.plan import build_plan
from territory.outreach.plansheet import write_plan_xlsx
from territory.outreach.ranking import recommend
from territory.render.printing import PrintOptions, print_sites, register_fonts


def timed(repeat: int, func):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2026-11-28")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    date = dt.date.fromisoformat(args.date)
    tmp = Path(tempfile.mkdtemp(prefix="bench-print-"))
    ws = load_workspace(write_demo(tmp / "ws"))
    start = time.perf_counter()
    analysis = analyse(ws, lang="zh")
    analysis_en = analyse(ws, lang="en")
    print(f"analysis (zh + en, shared by every print): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    register_fonts()
    print(f"font check and registration (first call): {time.perf_counter() - start:.2f} s")
    site = str(recommend(ws, date=date, top=1, analysis=analysis).sites["zone_id"].iloc[0])

    def xlsx():
        plan = build_plan(ws, zone_id=site, date=date, analysis=analysis)
        return write_plan_xlsx(plan, tmp / "plan.xlsx")

    base, path = timed(args.repeat, xlsx)
    print(f"\nbaseline: plan XLSX for {site}: {base:.3f} s, {path.stat().st_size / 1024:.0f} kB")

    cases = {
        "one site, A4, zh": dict(sites=[site], analysis=analysis),
        "one site, A3, en": dict(sites=[site], analysis=analysis_en, lang="en", paper="A3"),
        "one site, masked list + cards": dict(
            sites=[site], analysis=analysis, contacts="masked", cards=True
        ),
        "5-site map book (top 5)": dict(top=5, analysis=analysis),
    }
    print(f"\n{'case':32} {'seconds':>8} {'pages':>6} {'kB':>7} {'x XLSX':>8}")
    for i, (name, kwargs) in enumerate(cases.items()):
        out = tmp / f"case{i}.pdf"
        seconds, result = timed(
            args.repeat,
            lambda kwargs=kwargs, out=out: print_sites(
                ws, PrintOptions(date=date, **kwargs), out=out
            ),
        )
        size = out.stat().st_size / 1024
        print(f"{name:32} {seconds:8.2f} {result.pages:6d} {size:7.0f} {seconds / base:8.1f}")
    print(f"\nfiles in {tmp}")


if __name__ == "__main__":
    main()

"""Where the browser spends its time drawing the map page's map, against an empty folium map.

``bench_app.py`` times the whole draw (wall clock, which on a busy machine
mostly measures the other jobs). This script traces each load in headless
Chromium (Debian's ``/usr/bin/chromium``, one warm browser, a new page per
load, interleaved runs) and adds up the *thread CPU time* (``tdur``) of the
renderer's main thread, by what it was doing:

* raster: the canvas layers rasterised when the frame is committed
  (``LayerTreeHost::DoUpdateLayers``, ``Canvas2DResourceProvider::*``);
* script: V8 running, compiling and collecting garbage (Leaflet set-up,
  parsing the layer payloads, decoding polylines, building canvas paths);
* parse: HTML tokenising and decoding;
* layout: style, layout, text shaping (CJK font fallback shows up here when
  the machine has no CJK font), paint;
* other: everything else on that thread.

Thread CPU time is much steadier than wall time under load, so it shows what
a change saves even when ``bench_app.py``'s ratios swing by ±0.1. Medians of
the runs; differences and ratios against the empty folium map of the same run.

Run::

    uv run python benchmarks/profile_map_draw.py [--runs 6] [--skip-city] [FILE.html ...]

With files, profiles those instead of building the demo and city maps (the
first file is the baseline).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
from pathlib import Path

import folium

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_app import CHROMIUM, CHROMIUM_ARGS, DRAWN, city_folder, demo_folder  # noqa: E402

CATEGORIES = [
    "toplevel",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8",
    "cc",
    "blink",
]
GROUPS = ("raster", "script", "parse", "layout", "other")
MAIN = "CrRendererMain"


def group_of(name: str) -> str:
    """The group of a trace event on the renderer's main thread."""
    if name.startswith(("LayerTreeHost::DoUpdateLayers", "Canvas2D", "CanvasResource")):
        return "raster"
    if name.startswith(("v8", "V8", "FunctionCall", "EvaluateScript", "FireAnimationFrame")):
        return "script"
    if name.startswith(("ParseHTML", "TextResourceDecoder", "HTMLPreloadScanner", "HTMLDocument")):
        return "parse"
    if any(
        k in name
        for k in ("Layout", "layout", "Style", "style", "Shape", "Paint", "Font", "Text", "CSS")
    ):
        return "layout"
    return "other"


def self_times(events: list[dict]) -> collections.Counter:
    """Thread CPU self time (ms) per group on the renderer's main thread."""
    names = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    threads: dict[tuple, list[dict]] = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "tdur" in e and names.get((e["pid"], e["tid"])) == MAIN:
            threads[(e["pid"], e["tid"])].append(e)
    out: collections.Counter = collections.Counter()
    for evs in threads.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        children: dict[int, float] = collections.defaultdict(float)
        stack: list[int] = []
        for i, e in enumerate(evs):
            while stack and evs[stack[-1]]["ts"] + evs[stack[-1]]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                children[stack[-1]] += e["tdur"]
            stack.append(i)
        for i, e in enumerate(evs):
            out[group_of(e["name"])] += max(e["tdur"] - children[i], 0) / 1000
    return out


def profile(paths: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Median CPU ms per group (and in all) of each file, interleaved warm loads."""
    from playwright.sync_api import sync_playwright

    samples: dict[str, dict[str, list[float]]] = {k: collections.defaultdict(list) for k in paths}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # the first round warms the browser up
            for name, path in paths.items():
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.route(
                    "**/*",
                    lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
                )
                browser.start_tracing(page=page, categories=CATEGORIES)
                page.goto(path.as_uri(), wait_until="load")
                page.wait_for_function("document.querySelector('.leaflet-container') !== null")
                page.evaluate(DRAWN)
                data = json.loads(browser.stop_tracing())
                page.close()
                if not run:
                    continue
                events = data["traceEvents"] if isinstance(data, dict) else data
                times = self_times(events)
                for group in GROUPS:
                    samples[name][group].append(times[group])
                samples[name]["total"].append(sum(times.values()))
        browser.close()
    return {
        name: {k: statistics.median(v) for k, v in groups.items()}
        for name, groups in samples.items()
    }


def build(out: Path, *, city: bool) -> dict[str, Path]:
    """The empty folium map and the map page's map of the demo (and the city) as files."""
    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.render import maps
    from territory.render.assets import write_standalone_html
    from territory.render.export_html import write_map_html

    files = {"empty folium map": write_standalone_html(folium.Map(tiles=None), out / "empty.html")}
    for label, folder in (("demo", demo_folder()), *((("city", city_folder()),) if city else ())):
        ws = load_workspace(folder)
        points = ws.customers.geometry
        points = points[points.notna() & ~points.is_empty]
        ms = ws.settings.maps
        hexes = maps.hex_counts(
            points.x,
            points.y,
            max_cells=ms.max_hexagons,
            finest=ms.finest_hex_resolution,
            coarsest=ms.coarsest_hex_resolution,
        )
        m = maps.environment_map(
            ws, analyse(ws), customers=hexes, colour_by="zone_type", cards=False, pois=True
        )
        files[label] = write_map_html(m, out / f"profile-{label}.html")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--skip-city", action="store_true")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"no browser at {CHROMIUM}")
    if args.files:
        unique = len({f.name for f in args.files}) == len(args.files)
        paths = {(f.name if unique else str(f)): f.resolve() for f in args.files}
    else:
        out = HERE / "out" / "html"
        out.mkdir(parents=True, exist_ok=True)
        paths = build(out, city=not args.skip_city)
    times = profile(paths, args.runs)
    names = list(paths)
    base = times[names[0]]
    print(
        f"renderer main thread CPU (ms, median of {args.runs} warm loads); + = more than {names[0]}"
    )
    print(f"{'':24s}" + "".join(f"{g:>14s}" for g in (*GROUPS, "total")) + "   ratio")
    for name in names:
        t = times[name]
        cells = "".join(
            f"{t[g]:7.1f}" + (f" {t[g] - base[g]:+6.1f}" if name != names[0] else " " * 7)
            for g in (*GROUPS, "total")
        )
        print(f"{name[:24]:24s}{cells}   {t['total'] / base['total']:.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark: the app's maps and re-ranking on the Chengdu demo and a 1M-customer city.

For each workspace (the demo, and the synthetic city of
``benchmarks/synthetic_city.py``: 5,000 zones, 1,000,000 customers, written to
``benchmarks/out/city`` on first use) it prints

* server times: loading, the analysis, hexagon counts, building the map;
* sizes: what the map page sends to its ``st_folium`` iframe (the rendered
  map with linked, locally served assets) and the self-contained HTML export;
* draw time in headless Chromium (Debian's ``/usr/bin/chromium``) of the map
  page's map as one self-contained file, against an empty ``folium.Map``
  saved the same way in the same run: "cold" = start the browser, open the
  file, wait until the map has drawn (two animation frames after its script),
  close the browser (what the issue measures); "warm" = one browser, a new
  page per load. Medians of several interleaved runs, and their ratios;
* re-ranking: ``recommend`` with the cached analysis after a weight or date
  change (server time, median), against the 0.5 s budget; and the whole Sites
  page rerun in ``streamlit.testing`` after moving a weight slider;
* cold start: ``streamlit run app.py`` started afresh (a new server process
  each run, the demo workspace already copied) and Chromium opening it as soon
  as ``/_stcore/health`` answers; seconds until the first map has drawn
  (``territoryMapReady`` in the map's iframe), against the 3 s budget; the same
  for the direct URL ``/sites``, with every HTTP response >= 400 counted. Run
  twice: "restart" (the app's precomputed analysis on disk from an earlier
  run, the usual case) and "first start" (no precomputed files at all).
  The header says whether the installed libraries are compiled to bytecode
  (``[tool.uv] compile-bytecode`` in pyproject.toml): without it, and with
  ``PYTHONDONTWRITEBYTECODE`` set, every start compiles scipy & co. again.
  The servers run with Python's default of writing bytecode, as from a user's
  shell, whatever this shell sets: Territory itself is installed editable, so
  uv does not compile it, and with ``PYTHONDONTWRITEBYTECODE=1`` (set on our
  build machines, and in many container images) every start compiles its ~50
  first-page modules again (the first map 0.25-0.3 s later in an A/B).
  ``--server-env-as-is`` keeps this shell's setting instead; the cold-start
  header says which.

Run::

    uv run python benchmarks/bench_app.py [--runs 5] [--skip-city] [--skip-browser] [--skip-cold]
                                          [--server-env-as-is]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import folium

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CITY = HERE / "out" / "city"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
BUDGET_HTML = 3_000_000
BUDGET_RATIO = 1.5
BUDGET_RERANK_S = 0.5
BUDGET_COLD_S = 3.0
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
DRAWN = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def city_folder() -> Path:
    if not (CITY / "territory.gpkg").exists():
        sys.path.insert(0, str(HERE))
        from synthetic_city import write_city

        from territory.inputs.workspace import load_workspace

        print("writing the synthetic city (5,000 zones, 1,000,000 customers) ...", flush=True)
        write_city(CITY)
        load_workspace(CITY, use_store=False, save_store=True)
    return CITY


def demo_folder() -> Path:
    from territory.inputs.demo import write_demo
    from territory.inputs.workspace import load_workspace

    folder = write_demo(Path(tempfile.mkdtemp(prefix="territory-bench-")) / "demo")
    load_workspace(folder, save_store=True)
    return folder


def load_in_browser(paths: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Cold and warm draw times (s) of each file, interleaved runs, medians."""
    from playwright.sync_api import sync_playwright

    cold: dict[str, list[float]] = {k: [] for k in paths}
    warm: dict[str, list[float]] = {k: [] for k in paths}
    with sync_playwright() as p:

        def open_once(browser, path: Path) -> None:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
            )
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelector('.leaflet-container') !== null")
            page.evaluate(DRAWN)
            page.close()

        for _ in range(runs):
            for name, path in paths.items():
                start = time.perf_counter()
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                open_once(browser, path)
                browser.close()
                cold[name].append(time.perf_counter() - start)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in paths.values():  # warm-up
            open_once(browser, path)
        for _ in range(runs):
            for name, path in paths.items():
                start = time.perf_counter()
                open_once(browser, path)
                warm[name].append(time.perf_counter() - start)
        browser.close()
    return {
        name: {"cold": statistics.median(cold[name]), "warm": statistics.median(warm[name])}
        for name in paths
    }


def rerank_times(ws, analysis, runs: int, *, before_each=None, first: int = 0) -> list[float]:
    """Seconds of ``runs`` re-ranks (``recommend`` with the cached analysis after a weight,
    rotation or date change: what the Sites page does), after one warm-up call.

    ``before_each`` (optional) is called, untimed, before each timed re-rank
    (e.g. to empty a cache for a baseline in the same run); ``first`` is the
    number of the first run (its weight, rotation and date).
    """
    from territory.outreach.ranking import next_saturday, recommend

    day = next_saturday()
    recommend(ws, date=day, top=5, analysis=analysis)  # warm-up (playbook, imports)
    times = []
    for i in range(first, first + runs):
        overrides = {"ranking": {"weights": {"distance": 0.1 + 0.1 * i}, "rotation_weeks": 4 + i}}
        if before_each is not None:
            before_each()
        _, seconds = timed(
            recommend,
            ws,
            date=day + dt.timedelta(days=7 * (i % 3)),
            top=5,
            analysis=analysis,
            overrides=overrides,
        )
        times.append(seconds)
    return times


def bench_workspace(label: str, folder: Path, *, runs: int, browser: bool, out: Path) -> dict:
    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.render import maps
    from territory.render.assets import localise, write_standalone_html
    from territory.render.export_html import write_map_html

    print(f"\n== {label}: {folder}")
    ws, t_load = timed(load_workspace, folder)
    print(f"zones {len(ws.zones):,}, customers {len(ws.customers):,}, cards {len(ws.cards):,}")
    analysis, t_analyse = timed(analyse, ws)
    points = ws.customers.geometry
    points = points[points.notna() & ~points.is_empty]
    ms = ws.settings.maps
    hexes, t_hex = timed(
        maps.hex_counts,
        points.x,
        points.y,
        max_cells=ms.max_hexagons,
        finest=ms.finest_hex_resolution,
        coarsest=ms.coarsest_hex_resolution,
    )
    print(
        f"server: load {t_load:.2f} s, analysis {t_analyse:.2f} s, "
        f"hexagons {t_hex:.2f} s ({len(hexes):,} cells, resolution {hexes.attrs['resolution']})"
    )
    results: dict = {"label": label}
    files: dict[str, Path] = {}
    for variant, options in (
        ("map page", {"cards": False, "pois": True}),
        ("everything on", {"cards": True, "pois": True}),
    ):
        m, t_build = timed(
            maps.environment_map, ws, analysis, customers=hexes, colour_by="zone_type", **options
        )
        page_html = localise(m, base_url="../territory.render.assets.static/").get_root().render()
        export = write_map_html(m, out / f"{label}-{variant.replace(' ', '-')}.html")
        size_page = len(page_html.encode())
        size_export = export.stat().st_size
        ok = "ok" if size_page < BUDGET_HTML and size_export < BUDGET_HTML else "OVER BUDGET"
        print(
            f"{variant}: built in {t_build:.2f} s; iframe payload {mb(size_page)}, "
            f"self-contained export {mb(size_export)} (budget {mb(BUDGET_HTML)}: {ok})"
        )
        results[variant] = {
            "build_s": t_build,
            "page_bytes": size_page,
            "export_bytes": size_export,
        }
        files[variant] = export
    if browser:
        empty = write_standalone_html(folium.Map(tiles=None), out / "empty-folium-map.html")
        times = load_in_browser({"empty folium map": empty, **files}, runs)
        base = times["empty folium map"]
        print(
            f"draw in Chromium (median of {runs}): empty folium map cold {base['cold']:.2f} s, "
            f"warm {base['warm']:.3f} s"
        )
        for variant in files:
            tv = times[variant]
            ratio_cold = tv["cold"] / base["cold"]
            ratio_warm = tv["warm"] / base["warm"]
            flag = "ok" if ratio_cold <= BUDGET_RATIO else "OVER BUDGET"
            print(
                f"  {variant}: cold {tv['cold']:.2f} s = {ratio_cold:.2f}x empty ({flag}, budget "
                f"{BUDGET_RATIO}x); warm {tv['warm']:.3f} s = {ratio_warm:.2f}x empty"
            )
            results[variant].update({"ratio_cold": ratio_cold, "ratio_warm": ratio_warm})
    # Re-ranking with the cached analysis (what the Sites page does on a weight or date change).
    rerank = rerank_times(ws, analysis, runs)
    median = statistics.median(rerank)
    flag = "ok" if median < BUDGET_RERANK_S else "OVER BUDGET"
    print(
        f"re-rank (recommend with the cached analysis): median {median:.3f} s, max {max(rerank):.3f} s "
        f"= {median / BUDGET_RERANK_S:.2f}x the {BUDGET_RERANK_S} s budget ({flag}); "
        f"full analysis + ranking would be {t_analyse + median:.2f} s"
    )
    results["rerank_s"] = median
    return results


def bench_sites_page(folder: Path, runs: int) -> None:
    """Server time of a whole Sites page rerun after moving a weight slider (streamlit.testing)."""
    from streamlit.testing.v1 import AppTest

    os.environ["TERRITORY_WORKSPACE"] = str(folder)
    os.environ.setdefault("TERRITORY_HOME", tempfile.mkdtemp(prefix="territory-bench-home-"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    (_, first) = timed(at.run)
    at.switch_page("territory/ui/pages/sites.py")
    (_, page) = timed(at.run)
    reruns = []
    for i in range(runs):
        at.slider(key="w_weight_distance").set_value(round(0.05 * (i + 1), 2))
        (_, seconds) = timed(at.run)
        reruns.append(seconds)
    assert not at.exception, at.exception
    print(
        f"Sites page in streamlit.testing: first app run {first:.2f} s, first Sites run {page:.2f} s, "
        f"rerun after a weight change: median {statistics.median(reruns):.3f} s "
        f"(recommend + the map rebuilt from the cached zones layer + st_folium rendering)"
    )


def _serve(env: dict[str, str], log: Path):
    """Start ``streamlit run app.py`` on a free port; return (process, url)."""
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
    ]
    out = log.open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def _wait_health(server, url: str, timeout_s: float = 120.0) -> float:
    """Poll /_stcore/health until it answers; return the moment it did (perf_counter)."""
    import urllib.request

    deadline = time.perf_counter() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read() == b"ok":
                    return time.perf_counter()
        except OSError:
            if server.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"streamlit did not start on {url}") from None
            time.sleep(0.02)


def _first_map(browser, url: str) -> tuple[float, list[str]]:
    """Open ``url``; seconds until its first map has drawn, and the HTTP errors seen."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    from playwright.sync_api import Error as PlaywrightError

    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    for attempt in range(12):  # the app may replace the map's frame while it loads
        frame = page.wait_for_selector(MAP_IFRAME, state="attached", timeout=120_000)
        try:
            frame.content_frame().wait_for_function(
                "window.territoryMapReady === true", timeout=10_000
            )
            break
        except PlaywrightError:
            if attempt == 11:
                raise
    seconds = time.perf_counter() - start
    page.close()
    return seconds, errors


def bench_cold_start(runs: int, *, env_as_is: bool = False) -> dict:
    """Fresh server, first map page, in Chromium; "restart" and "first start" (see the docstring)."""
    import shutil

    from playwright.sync_api import sync_playwright

    from territory.inputs.demo import demo_copy
    from territory.inputs.workspace import load_workspace

    home = Path(tempfile.mkdtemp(prefix="territory-bench-cold-"))
    load_workspace(demo_copy(home / "demo"), save_store=True)
    env = {k: v for k, v in os.environ.items() if k != "TERRITORY_WORKSPACE"}
    env["TERRITORY_HOME"] = str(home)
    if not env_as_is:  # a user's shell: Python writes .pyc for Territory's own modules
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    writes = "off" if env.get("PYTHONDONTWRITEBYTECODE") else "on"
    logs = HERE / "out" / "cold"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, list]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One start to write the precomputed files (not timed).
        server, url = _serve(env, logs / "prime.log")
        try:
            _wait_health(server, url)
            _first_map(browser, url)
        finally:
            server.terminate()
            server.wait(timeout=30)
        for i in range(runs):
            for case in ("restart", "first start"):
                for path in ("/", "/sites"):
                    if case == "first start":  # nothing kept: every result computed afresh
                        shutil.rmtree(home / "cache", ignore_errors=True)
                    server, url = _serve(env, logs / f"run{i}-{case.replace(' ', '-')}.log")
                    try:
                        _wait_health(server, url)
                        seconds, errors = _first_map(browser, url + path)
                    finally:
                        server.terminate()
                        server.wait(timeout=30)
                    entry = results.setdefault(f"{case} {path}", {"s": [], "errors": []})
                    entry["s"].append(seconds)
                    entry["errors"] += errors
        browser.close()
    shutil.rmtree(home, ignore_errors=True)
    print(
        f"cold start (fresh `streamlit run app.py`, median of {runs}; server answering -> map drawn; "
        f"servers writing .pyc: {writes}):"
    )
    out = {}
    for name, entry in results.items():
        median = statistics.median(entry["s"])
        flag = "ok" if median <= BUDGET_COLD_S else "OVER BUDGET"
        errors = sorted(set(entry["errors"]))
        print(
            f"  {name}: median {median:.2f} s (min {min(entry['s']):.2f}, max {max(entry['s']):.2f}; "
            f"budget {BUDGET_COLD_S} s: {flag}); HTTP errors: {errors or 'none'}"
        )
        out[name] = median
    return out


def bytecode_line() -> str:
    """How many of the app's heavy libraries' modules have a compiled .pyc next to them."""
    import importlib.util

    found = total = 0
    for name in (
        "scipy",
        "sklearn",
        "matplotlib",
        "statsmodels",
        "mapclassify",
        "pandas",
        "folium",
    ):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for source in Path(next(iter(spec.submodule_search_locations))).rglob("*.py"):
            total += 1
            found += Path(importlib.util.cache_from_source(str(source))).exists()
    writes = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    return (
        f"bytecode: {found:,} of {total:,} library modules compiled "
        f"(writing .pyc on import: {writes})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-city", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument(
        "--server-env-as-is",
        action="store_true",
        help="start the servers with this shell's PYTHONDONTWRITEBYTECODE (default: Python's default)",
    )
    args = parser.parse_args()
    print(
        f"machine load (uptime): {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores"
    )
    print(bytecode_line())
    import logging

    import streamlit  # noqa: F401  (its loggers exist from here on)

    # Cached app functions run here outside `streamlit run`: keep its per-call warnings quiet.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)
    out = HERE / "out" / "html"
    out.mkdir(parents=True, exist_ok=True)
    browser = not args.skip_browser and Path(CHROMIUM).exists()
    if not browser and not args.skip_browser:
        print(f"no browser at {CHROMIUM}: draw times skipped")
    if browser and not args.skip_cold:
        bench_cold_start(args.runs, env_as_is=args.server_env_as_is)
    bench_workspace("demo", demo_folder(), runs=args.runs, browser=browser, out=out)
    if not args.skip_city:
        city = city_folder()
        bench_workspace("city", city, runs=args.runs, browser=browser, out=out)
        bench_sites_page(city, args.runs)
    print(
        f"machine load at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f}"
    )


if __name__ == "__main__":
    main()

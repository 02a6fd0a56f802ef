"""Benchmark: consultant territories, ours against spopt (and an exact MIP on small cases).

The input is the 5,000-zone synthetic city of ``benchmarks/synthetic_city.py``
(its zones only: ``benchmarks/out/city/zones.geojson`` when ``bench_app.py``
has written the city, else written here with the same seed), divided into 50
territories balanced on population. In the same run it times

- **ours**: :func:`territory.outreach.territories.zone_graph` (adjacency by
  shared border) + :func:`~territory.outreach.territories.partition` +
  :func:`~territory.outreach.territories.compactness`, median of ``--runs``;
- **spopt** ``RegionKMeansHeuristic`` (region k-means on the zone centres)
  and ``Skater`` (spanning-tree pruning on the zone centres), given *our*
  adjacency as their ``libpysal.weights.W`` (its build is not in their time),
  each in a child process stopped after ``--cap`` seconds;

and reports, for each, the time, the balance index (Esri: 100 × (1 − mean
|load − mean| ÷ mean)), whether every territory is contiguous, the mean and
lowest compactness (Esri: 100 × 2√(πA) ÷ perimeter), and the ratios
spopt time ÷ ours and our balance ÷ spopt's. spopt's heuristics take minutes
to hours on 5,000 zones, so the same comparison also runs on discs of the
city's 500 and 1,000 central zones (into 5 and 10 territories: about 100
zones each, as at full size), where they finish.

Small cases: an exact MIP (pulp + CBC; contiguity by single-commodity flow,
Shirabe 2009; minimise the sum of |load − mean|, which is exactly what the
balance index measures) on a 4 × 4 grid into 4 and on the city's 40 and 80
central zones into 4, against ours.

Run::

    uv run python benchmarks/bench_territories.py            # ~15-25 minutes (spopt capped)
    uv run python benchmarks/bench_territories.py --quick    # no full-size spopt, ~5 minutes
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from territory.outreach import territories as geo

HERE = Path(__file__).resolve().parent
CITY = HERE / "out" / "city"
TARGET_SECONDS = 5.0
TARGET_BALANCE = 90.0


def city_zones() -> gpd.GeoDataFrame:
    """The synthetic city's zones (seed 7), projected to UTM 48N."""
    path = CITY / "zones.geojson"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from synthetic_city import write_city

        print(f"writing the synthetic city to {CITY} (zones, a few customers) ...", flush=True)
        write_city(CITY, n_customers=2_000, n_cards=1_000)
    zones = gpd.read_file(path)
    return zones.to_crs("EPSG:32648")


def central(zones: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """The ``n`` zones whose centres are nearest the city's centre (a disc)."""
    if n >= len(zones):
        return zones.reset_index(drop=True)
    xy = shapely.get_coordinates(zones.geometry.centroid.values)
    order = np.argsort(((xy - xy.mean(axis=0)) ** 2).sum(axis=1), kind="stable")[:n]
    return zones.iloc[np.sort(order)].reset_index(drop=True)


def summary(graph: geo.ZoneGraph, labels: np.ndarray, w: np.ndarray, k: int) -> dict:
    used = int(labels.max()) + 1
    loads = np.bincount(labels, w, max(used, k))
    compact = geo.compactness(graph, labels, max(used, k))
    return {
        "territories": int((np.bincount(labels, minlength=k) > 0).sum()),
        "balance": geo.balance_index(loads),
        "contiguous": all(geo.is_contiguous(graph, labels)),
        "compact_mean": float(np.nanmean(compact)),
        "compact_min": float(np.nanmin(compact)),
    }


def run_ours(zones: gpd.GeoDataFrame, k: int, runs: int) -> tuple[dict, geo.ZoneGraph]:
    w = zones["population"].to_numpy(dtype="float64")
    times, parts = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        graph = geo.zone_graph(zones.geometry)
        t1 = time.perf_counter()
        labels = geo.partition(graph, w, k)
        t2 = time.perf_counter()
        geo.compactness(graph, labels, k)
        t3 = time.perf_counter()
        times.append(t3 - t0)
        parts.append((t1 - t0, t2 - t1))
    result = summary(graph, labels, w, k)
    result["seconds"] = statistics.median(times)
    result["graph_s"] = statistics.median(p[0] for p in parts)
    result["partition_s"] = statistics.median(p[1] for p in parts)
    return result, graph


def _spopt_child(method: str, graph_neighbours, xy, w, k, queue) -> None:
    warnings.simplefilter("ignore")
    import pandas as pd
    from libpysal.weights import W

    neighbours = {i: list(nb) for i, nb in enumerate(graph_neighbours)}
    weights = W(neighbours, silence_warnings=True)
    data = (xy - xy.mean(axis=0)) / xy.std(axis=0)
    start = time.perf_counter()
    if method == "region k-means":
        from spopt.region import RegionKMeansHeuristic

        model = RegionKMeansHeuristic(data, k, weights)
        model.solve()
    else:
        from spopt.region import Skater

        frame = pd.DataFrame({"x": data[:, 0], "y": data[:, 1]})
        model = Skater(frame, weights, ["x", "y"], n_clusters=k, floor=1, islands="ignore")
        model.solve()
    queue.put((time.perf_counter() - start, np.asarray(model.labels_, dtype="int64")))


def run_spopt(method: str, graph: geo.ZoneGraph, w: np.ndarray, k: int, cap: float) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_spopt_child, args=(method, graph.neighbours, graph.xy, w, k, queue))
    start = time.perf_counter()
    child.start()
    try:
        seconds, labels = queue.get(timeout=cap)
    except Exception:  # the queue timed out: the heuristic did not finish within the cap
        child.terminate()
        child.join()
        return {"seconds": None, "capped": time.perf_counter() - start}
    child.join()
    result = summary(graph, labels, w, k)
    result["seconds"] = seconds
    return result


def mip(graph: geo.ZoneGraph, w: np.ndarray, k: int, time_limit: float) -> dict:
    """Exact contiguous balanced split: minimise Σ |load − mean| with flow contiguity."""
    import pulp

    n = graph.n
    arcs = [(i, j) for i in range(n) for j in graph.neighbours[i]]
    target = w.sum() / k
    prob = pulp.LpProblem("territories", pulp.LpMinimize)
    x = pulp.LpVariable.dicts("x", (range(n), range(k)), cat="Binary")
    r = pulp.LpVariable.dicts("r", (range(n), range(k)), cat="Binary")
    f = pulp.LpVariable.dicts("f", (range(len(arcs)), range(k)), lowBound=0)
    d = pulp.LpVariable.dicts("d", range(k), lowBound=0)
    prob += pulp.lpSum(d[t] for t in range(k))
    out_arcs = {i: [] for i in range(n)}
    in_arcs = {i: [] for i in range(n)}
    for a, (i, j) in enumerate(arcs):
        out_arcs[i].append(a)
        in_arcs[j].append(a)
    for i in range(n):
        prob += pulp.lpSum(x[i][t] for t in range(k)) == 1
    for t in range(k):
        load = pulp.lpSum(w[i] * x[i][t] for i in range(n))
        prob += d[t] >= load - target
        prob += d[t] >= target - load
        prob += pulp.lpSum(r[i][t] for i in range(n)) == 1
        for i in range(n):
            prob += r[i][t] <= x[i][t]
            # Every zone of t sends one unit of flow towards t's root, along arcs inside t.
            prob += (
                pulp.lpSum(f[a][t] for a in out_arcs[i]) - pulp.lpSum(f[a][t] for a in in_arcs[i])
                >= x[i][t] - n * r[i][t]
            )
        for a, (i, j) in enumerate(arcs):
            prob += f[a][t] <= (n - 1) * x[i][t]
            prob += f[a][t] <= (n - 1) * x[j][t]
        if t + 1 < k:  # symmetry: roots in increasing zone order
            prob += pulp.lpSum(i * r[i][t] for i in range(n)) + 1 <= pulp.lpSum(
                i * r[i][t + 1] for i in range(n)
            )
    start = time.perf_counter()
    prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    seconds = time.perf_counter() - start
    values = np.array([[x[i][t].varValue or 0.0 for t in range(k)] for i in range(n)])
    integral = np.allclose(values, np.round(values), atol=1e-4) and np.allclose(
        values.sum(axis=1), 1.0, atol=1e-4
    )
    if pulp.value(prob.objective) is None or not integral:
        # No integer solution within the limit (pulp then holds the relaxation's values).
        return {"seconds": seconds, "status": "no integer solution in time", "balance": None}
    labels = values.argmax(axis=1)
    result = summary(graph, labels, w, k)
    result["seconds"] = seconds
    optimal = prob.sol_status == pulp.LpSolutionOptimal and seconds < time_limit
    result["status"] = "optimal" if optimal else "time limit (best found)"
    return result


def fmt(result: dict) -> str:
    if result.get("seconds") is None:
        return f"did not finish in {result['capped']:.0f} s"
    if result.get("balance") is None:
        return f"{result['seconds']:8.2f} s  no solution"
    return (
        f"{result['seconds']:8.2f} s  balance {result['balance']:6.2f}  "
        f"contiguous {'yes' if result['contiguous'] else 'NO '}  "
        f"compactness {result['compact_mean']:5.1f} (min {result['compact_min']:5.1f})  "
        f"territories {result['territories']}"
    )


def ratios(ours: dict, other: dict) -> str:
    if other.get("seconds") is None:
        return f"time ratio spopt/ours > {other['capped'] / ours['seconds']:.0f}x (capped)"
    time_ratio = other["seconds"] / ours["seconds"]
    balance_ratio = ours["balance"] / other["balance"] if other["balance"] else float("inf")
    return f"time ratio spopt/ours {time_ratio:.1f}x, balance ratio ours/spopt {balance_ratio:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="our timings: median of this many")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before spopt is stopped")
    parser.add_argument("--quick", action="store_true", help="skip spopt at full size")
    parser.add_argument("--mip-limit", type=float, default=120.0, help="CBC seconds per MIP")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs", flush=True)

    zones = city_zones()
    w_all = zones["population"].to_numpy(dtype="float64")
    print(f"city: {len(zones)} zones, population {w_all.sum():,.0f}", flush=True)

    # Warm-up (imports, page cache) outside the timings.
    run_ours(central(zones, 200), 2, 1)

    failures = []
    for n, k, spopt_too in ((len(zones), 50, not args.quick), (1000, 10, True), (500, 5, True)):
        part = central(zones, n)
        w = part["population"].to_numpy(dtype="float64")
        ours, graph = run_ours(part, k, args.runs)
        print(
            f"\n{len(part)} zones into {k} territories (adjacency: {graph.adjacency.nnz // 2} "
            f"pairs, {len(graph.bridges)} bridges)"
        )
        print(f"  ours             {fmt(ours)}")
        print(
            f"                   graph {ours['graph_s']:.2f} s + partition "
            f"{ours['partition_s']:.2f} s"
        )
        if n == len(zones):
            ok = (
                ours["seconds"] <= TARGET_SECONDS
                and ours["balance"] >= TARGET_BALANCE
                and ours["contiguous"]
            )
            print(
                f"  target (<= {TARGET_SECONDS:g} s, balance >= {TARGET_BALANCE:g}, all "
                f"contiguous): {'met' if ok else 'MISSED'}"
            )
            if not ok:
                failures.append("full-size target")
        if not spopt_too:
            continue
        for method in ("region k-means", "skater"):
            other = run_spopt(method, graph, w, k, args.cap)
            print(f"  spopt {method:<10} {fmt(other)}")
            print(f"                   {ratios(ours, other)}")

    print("\nsmall cases: exact MIP (pulp + CBC) against ours")
    grid = gpd.GeoSeries(
        [
            shapely.box(x * 1000, y * 1000, x * 1000 + 1000, y * 1000 + 1000)
            for y in range(4)
            for x in range(4)
        ],
        crs="EPSG:32648",
    )
    cases = [("4 x 4 grid, equal zones", grid, np.ones(16), 4)]
    for n in (40, 80):
        part = central(zones, n)
        cases.append(
            (
                f"city's {n} central zones",
                part.geometry,
                part["population"].to_numpy(dtype="float64"),
                4,
            )
        )
    for name, geoms, w, k in cases:
        graph = geo.zone_graph(geoms)
        start = time.perf_counter()
        labels = geo.partition(graph, w, k)
        ours = summary(graph, labels, w, k)
        ours["seconds"] = time.perf_counter() - start
        exact = mip(graph, w, k, args.mip_limit)
        print(f"  {name} into {k}:")
        print(f"    ours  {fmt(ours)}")
        print(f"    MIP   {fmt(exact)}  [{exact.get('status')}]")
    print(f"\nload after: {os.getloadavg()[0]:.2f} (1 min)")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()

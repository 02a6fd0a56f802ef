"""Benchmark: point-to-zone assignment, ZoneIndex vs geopandas sjoin, same run.

A synthetic city: 5,000 zones (Voronoi cells of clustered seeds in a 60 x 60 km
square in UTM 50N, with some MultiPolygons, some zones with holes and zones
inside holes, in shuffled order) and 1,000,000 points (clustered like the
seeds, some uniform, some outside the city, 1% exactly on zone vertices or on
zone edges). Prints build and lookup times, points per second, the ratio
against ``geopandas.sjoin`` measured in the same run, memory, and checks that
every answer equals geopandas' (``predicate="intersects"``, lowest zone
position per point, i.e. covers semantics with the lowest-index rule).

Run::

    uv run python benchmarks/bench_point_in_zone.py [--points 1000000] [--zones 5000]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import shapely

from territory.inputs.zone_index import ZoneIndex, assign_points

SIDE = 60_000.0
ORIGIN = (400_000.0, 4_400_000.0)
CRS = "EPSG:32650"


def make_city(n_zones: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi zones of clustered seeds; some MultiPolygons, holes and zones in holes."""
    n_multi = n_zones // 100  # zones made of two distant cells
    n_holes = n_zones // 100  # zones with a hole
    n_filled = n_holes // 2  # holes holding a zone of their own
    n_seeds = n_zones + n_multi - n_filled
    centres = rng.uniform(0.15 * SIDE, 0.85 * SIDE, (12, 2))
    spread = rng.uniform(800, 4000, 12)
    which = rng.integers(0, 12, n_seeds)
    seeds = centres[which] + rng.normal(size=(n_seeds, 2)) * spread[which, None]
    uniform = rng.random(n_seeds) < 0.3
    seeds[uniform] = rng.uniform(0, SIDE, (int(uniform.sum()), 2))
    seeds = np.clip(seeds, 1.0, SIDE - 1.0) + np.asarray(ORIGIN)
    square = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + SIDE, ORIGIN[1] + SIDE)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=square)
    )
    cells = list(shapely.intersection(np.asarray(cells), square))
    rng.shuffle(cells)
    zones = []
    # MultiPolygons: cell pairs far apart.
    pool = cells[: 2 * n_multi]
    cells = cells[2 * n_multi :]
    for a, b in zip(pool[::2], pool[1::2], strict=True):
        merged = shapely.union(a, b)
        if merged.geom_type == "MultiPolygon":
            zones.append(merged)
        else:  # neighbours after all: keep them apart
            zones.extend([a, b])
    # Holes: the cell shrunk about its centroid; half of them hold a zone.
    for i in range(n_holes):
        cell = cells.pop()
        hole = shapely.affinity.scale(cell, 0.4, 0.4, origin=cell.centroid)
        zones.append(shapely.difference(cell, hole))
        if i < n_filled:
            zones.append(hole)
    zones.extend(cells)
    zones = zones[:n_zones]
    order = rng.permutation(len(zones))
    return gpd.GeoDataFrame(geometry=[zones[i] for i in order], crs=CRS)


def make_points(
    n: int, zones: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered points; 1% on zone boundaries: 0.5% exactly on vertices, 0.25% exactly on
    the city's outer edge, 0.25% interpolated along edges (on them up to rounding)."""
    geoms = zones.geometry.values
    centres = shapely.get_coordinates(geoms.centroid)
    pick = rng.integers(0, len(centres), n)
    # Customers cluster where zones are small (dense city): jitter around zone centroids.
    size = np.sqrt(shapely.area(geoms))[pick]
    xy = centres[pick] + rng.normal(size=(n, 2)) * size[:, None] * 0.6
    # Some uniform, some outside the city.
    k = n // 20
    xy[:k] = rng.uniform(-0.05 * SIDE, 1.05 * SIDE, (k, 2)) + np.asarray(ORIGIN)
    coords = shapely.get_coordinates(geoms)
    m = n // 200
    at = k
    xy[at : at + m] = coords[rng.integers(0, len(coords), m)]
    at += m
    side = rng.integers(0, 2, m // 2)
    along = rng.uniform(0, SIDE, m // 2)
    xy[at : at + m // 2, 0] = ORIGIN[0] + np.where(side == 0, along, SIDE)
    xy[at : at + m // 2, 1] = ORIGIN[1] + np.where(side == 0, SIDE, along)
    at += m // 2
    i = rng.integers(0, len(coords) - 1, m // 2)
    t = rng.random(m // 2)
    xy[at : at + m // 2] = coords[i] + (coords[i + 1] - coords[i]) * t[:, None]
    perm = rng.permutation(n)
    return xy[perm, 0].copy(), xy[perm, 1].copy()


def best_of(repeats: int, fn):
    times = []
    result = None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    zones = make_city(args.zones, rng)
    x, y = make_points(args.points, zones, rng)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS)
    kinds = zones.geom_type.value_counts().to_dict()
    holes = int((shapely.get_num_interior_rings(zones.geometry.values) > 0).sum())
    print(f"city: {len(zones)} zones {kinds}, {holes} with holes; {len(points)} points")
    print(f"  (data made in {time.perf_counter() - t0:.1f} s)")

    polys = zones.geometry
    build_s, index = best_of(3, lambda: ZoneIndex(polys))
    lookup_s, ours = best_of(args.repeats, lambda: index.lookup(x, y))
    assign_s, series = best_of(1, lambda: assign_points(points, zones))

    tracemalloc.start()
    ZoneIndex(polys)
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    index.lookup(x, y)
    _, lookup_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sjoin_s, _ = best_of(1, lambda: gpd.sjoin(points, zones, predicate="within"))
    t0 = time.perf_counter()
    joined = gpd.sjoin(points, zones, predicate="intersects")
    expected = np.full(len(points), -1, dtype=np.int64)
    lowest = joined.groupby(level=0)["index_right"].min()
    expected[lowest.index.to_numpy()] = lowest.to_numpy()
    sjoin_int_s = time.perf_counter() - t0

    mismatches = int((ours != expected).sum()) + int((series.to_numpy() != expected).sum())
    stats = index.stats()
    n = len(points)
    print(
        f"index: {index.shape[1]}x{index.shape[0]} cells of {stats['resolution']:.1f} m, "
        f"{stats['boundary_share']:.1%} boundary cells "
        f"({stats['single_edge_cells']} single-edge, {stats['multi_edge_cells']} multi-edge), "
        f"{stats['nbytes'] / 2**20:.1f} MiB"
    )
    print(f"build           {build_s * 1e3:8.1f} ms   (best of 3)")
    print(
        f"lookup          {lookup_s * 1e3:8.1f} ms   {n / lookup_s / 1e6:6.2f} M points/s "
        f"(best of {args.repeats})"
    )
    print(f"build + lookup  {(build_s + lookup_s) * 1e3:8.1f} ms")
    print(f"assign_points   {assign_s * 1e3:8.1f} ms   (GeoDataFrames in, build included)")
    print(f"sjoin within    {sjoin_s * 1e3:8.1f} ms   {n / sjoin_s / 1e6:6.2f} M points/s")
    print(f"sjoin intersects + lowest index {sjoin_int_s * 1e3:8.1f} ms (reference answer)")
    print(f"ratio lookup vs sjoin within:                {sjoin_s / lookup_s:7.1f}x")
    print(f"ratio build+lookup vs sjoin within:          {sjoin_s / (build_s + lookup_s):7.1f}x")
    print(f"ratio assign_points vs sjoin within:         {sjoin_s / assign_s:7.1f}x")
    print(f"ratio lookup vs sjoin intersects+lowest:     {sjoin_int_s / lookup_s:7.1f}x")
    print(
        f"ratio build+lookup vs sjoin intersects+lowest: {sjoin_int_s / (build_s + lookup_s):5.1f}x"
    )
    print(f"memory: build peak {build_peak / 2**20:.1f} MiB (tracemalloc, numpy arrays), ")
    print(f"        lookup peak {lookup_peak / 2**20:.1f} MiB for {n} points, ")
    print(
        f"        process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f}"
        " MiB"
    )
    inside = int((ours >= 0).sum())
    print(f"answers: {inside} points in a zone, {n - inside} outside")
    print(f"mismatches vs geopandas (intersects, lowest index): {mismatches}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""A synthetic city for benchmarks: N zones, M customers, K cards (all SYNTHETIC).

Zones are Voronoi cells of clustered seeds in a 60 × 60 km square around
Chengdu's centre (built in UTM 48N, stored in WGS-84), with populations,
incomes and zone types; customers thin out with distance from a dealer in
the middle; cards follow customers. :func:`write_city` writes it as a
workspace folder with its GeoPackage store, so benchmarks load it the way
the app does.

Run::

    uv run python benchmarks/synthetic_city.py /tmp/city --zones 5000 --customers 1000000 --cards 100000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.dealer import parse_dealer
from territory.layers import empty_layer
from territory.store import save_store
from territory.workspace import Workspace

CRS = "EPSG:32648"
CENTRE = (404_000.0, 3_390_000.0)  # about 104.0 E, 30.65 N
SIDE = 60_000.0
DEALER_TOML = """name = "合成城市 4S 店（基准测试）"
lon = {lon:.6f}
lat = {lat:.6f}
coord_sys = "wgs84"
radius_km = 15
[[models]]
name = "家轿 A"
price = 129800
"""


def make_zones(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi zones of clustered seeds with population, income and type."""
    x0, y0 = CENTRE[0] - SIDE / 2, CENTRE[1] - SIDE / 2
    centres = rng.uniform(0.2 * SIDE, 0.8 * SIDE, (10, 2))
    spread = rng.uniform(1500, 6000, 10)
    which = rng.integers(0, 10, n)
    seeds = centres[which] + rng.normal(size=(n, 2)) * spread[which, None]
    uniform = rng.random(n) < 0.25
    seeds[uniform] = rng.uniform(0, SIDE, (int(uniform.sum()), 2))
    seeds = (*np.clip(seeds, 1.0, SIDE - 1.0), x0, y0)
    square = shapely.box(x0, y0, x0 + SIDE, y0 + SIDE)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=square)
    )
    cells = shapely.intersection(np.asarray(cells), square)
    geo = gpd.GeoSeries(cells, crs=CRS)
    area_km2 = geo.area.to_numpy() / 1e6
    dist = np.hypot(*(np.column_stack([geo.centroid.x, geo.centroid.y]) - CENTRE).T) / 1000
    density = np.exp(rng.normal(np.log(20000) - dist / 12, 0.5))
    population = np.maximum((density * area_km2).round(), 0).astype("int64")
    income = np.round(np.exp(rng.normal(np.log(55000) - dist / 80, 0.12)), -2)
    types = rng.choice(
        ["residential", "commercial", "enterprise", "township", "market", "driving_school"],
        size=len(cells),
        p=[0.62, 0.08, 0.08, 0.18, 0.02, 0.02],
    )
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [f"Z{i:05d}" for i in range(len(cells))],
            "name": [f"合成区域{i}" for i in range(len(cells))],
            "district": [f"合成区{int(i) % 12 + 1}" for i in range(len(cells))],
            "zone_type": types,
            "population": population,
            "income": income.astype("float64"),
        },
        geometry=geo.to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )
    return zones


def make_points(
    zones: gpd.GeoDataFrame, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points inside zones, weighted by population and a distance decay from the centre."""
    projected = zones.to_crs(CRS)
    c = projected.centroid
    dist = np.hypot(c.x.to_numpy() - CENTRE[0], c.y.to_numpy() - CENTRE[1]) / 1000
    weight = (
        zones["population"].to_numpy()
        * (np.exp(-dist / 8) + 0.02)
        * rng.lognormal(0, 0.3, len(zones))
    )
    counts = rng.multinomial(n, weight / weight.sum())
    # Sample uniformly in each zone's bounding box, keep those inside (vectorised rejection).
    bounds = shapely.bounds(np.asarray(projected.geometry.values))
    xs, ys = [], []
    owner = np.repeat(np.arange(len(zones)), counts)
    todo = owner
    while len(todo):
        b = bounds[todo]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(np.asarray(projected.geometry.values)[todo], x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        todo = todo[~inside]
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    lonlat = gpd.GeoSeries.from_xy(x, y, crs=CRS).to_crs("EPSG:4326")
    order = rng.permutation(len(x))
    return lonlat.x.to_numpy()[order], lonlat.y.to_numpy()[order]


def make_workspace(
    root: Path, *, zones: int, customers: int, cards: int, seed: int = 0
) -> Workspace:
    """The synthetic city as an in-memory workspace rooted at ``root``."""
    rng = np.random.default_rng(seed)
    z = make_zones(zones, rng)
    centre = gpd.GeoSeries.from_xy([CENTRE[0]], [CENTRE[1]], crs=CRS).to_crs("EPSG:4326").iloc[0]
    root.mkdir(parents=True, exist_ok=True)
    text = DEALER_TOML.format(lon=centre.x, lat=centre.y)
    (root / "dealer.toml").write_text(text, encoding="utf-8")
    import tomllib

    dealer = parse_dealer(tomllib.loads(text))
    cx, cy = make_points(z, customers, rng)
    cust = gpd.GeoDataFrame(
        {
            "customer_id": pd.array([f"C{i:07d}" for i in range(len(cx))], dtype="str"),
            "model": "家轿 A",
            "age": pd.array(rng.integers(22, 65, len(cx)), dtype="Int64"),
            "gender": np.where(rng.random(len(cx)) < 0.7, "male", "female"),
        },
        geometry=gpd.points_from_xy(cx, cy),
        crs="EPSG:4326",
    )
    kx, ky = make_points(z, cards, rng)
    card = gpd.GeoDataFrame(
        {
            "card_id": pd.array([f"K{i:07d}" for i in range(len(kx))], dtype="str"),
            "card_type": np.where(rng.random(len(kx)) < 0.12, "deposit", "A"),
            "date": pd.Timestamp("2026-06-01")
            + pd.to_timedelta(rng.integers(0, 180, len(kx)), unit="D"),
        },
        geometry=gpd.points_from_xy(kx, ky),
        crs="EPSG:4326",
    )
    layers = {}
    for name, frame in (("customers", cust), ("cards", card)):
        template = empty_layer(name)
        for column in template.columns:
            if column not in frame:
                frame[column] = pd.Series(None, index=frame.index, dtype=template[column].dtype)
        frame["located_by"] = "coords"
        layers[name] = frame[list(template.columns)]
    return Workspace(
        root=root,
        dealer=dealer,
        zones=z,
        events=empty_layer("events"),
        pois=empty_layer("pois"),
        **layers,
    )


def write_city(root: Path, *, zones: int, customers: int, cards: int, seed: int = 0) -> Path:
    """Write the synthetic city as a workspace folder with its store; return the folder.

    Points are stored unlocated (no zone_id): assigning them is part of
    what the benchmarks time.
    """
    ws = make_workspace(root, zones=zones, customers=customers, cards=cards, seed=seed)
    return save_store(ws).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--zones", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    write_city(
        args.folder, zones=args.zones, customers=args.customers, cards=args.cards, seed=args.seed
    )
    print(f"wrote {args.folder} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

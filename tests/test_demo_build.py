"""The committed demo workspace in ``data/demo/`` and its build script.

These tests read the committed files with plain pandas/geopandas (not the
workspace loader), so they check the data, not our own reading of it.
"""

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from territory import vocab
from territory.inputs import coords

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
FILES = (
    "dealer.toml",
    "zones.geojson",
    "customers.csv",
    "cards.csv",
    "events.csv",
    "pois.csv",
    "planted.json",
)
CSVS = ("customers.csv", "cards.csv", "events.csv", "pois.csv")
PHONE = re.compile(r"^1[3-9]\d{9}$")
AS_OF = pd.Timestamp("2026-11-15")


def _load_build():
    spec = importlib.util.spec_from_file_location("build_demo", REPO / "data" / "build_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_demo = _load_build()
SOURCE = build_demo.default_source()
needs_source = pytest.mark.skipif(
    not (SOURCE / "census_2020_chengdu_changzhou.csv").is_file(),
    reason=f"raw sources not found at {SOURCE} (shared/data beside the repository)",
)


@pytest.fixture(scope="module")
def zones():
    return gpd.read_file(DEMO / "zones.geojson")


@pytest.fixture(scope="module")
def planted():
    return json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def customers():
    return pd.read_csv(DEMO / "customers.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def cards():
    return pd.read_csv(DEMO / "cards.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def dealer():
    return tomllib.loads((DEMO / "dealer.toml").read_text(encoding="utf-8"))


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Rows with coordinates, converted from GCJ-02 to WGS-84."""
    has = frame[(frame["lon"] != "") & (frame["lat"] != "")]
    lon, lat = coords.gcj02_to_wgs84(has["lon"].astype(float), has["lat"].astype(float))
    return gpd.GeoDataFrame(has, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def _in_zones(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    cols = ["zone_id", "district", "geometry"]
    joined = gpd.sjoin(
        points.drop(columns=["zone_id"], errors="ignore"), zones[cols], predicate="within"
    )
    return joined.drop(columns="index_right")


# --- files -------------------------------------------------------------------------------


def test_every_workspace_file_exists_and_the_total_is_under_15_mb():
    sizes = {name: (DEMO / name).stat().st_size for name in FILES}
    assert all(size > 0 for size in sizes.values())
    assert sum(sizes.values()) < 15 * 1024 * 1024


@pytest.mark.parametrize("name", CSVS)
def test_csv_files_are_utf8_without_bom(name):
    raw = (DEMO / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")  # strict: raises on anything else
    assert "\r\n" not in text
    assert len(pd.read_csv(DEMO / name, encoding="utf-8")) > 0


def test_dealer_toml_follows_the_contract(dealer, zones):
    assert "演示" in dealer["name"]
    assert dealer["coord_sys"] == "gcj02"
    assert dealer["radius_km"] == 15
    assert dealer["target_r"] == 3.0
    assert dealer["language"] == "zh"
    assert [m["price"] for m in dealer["models"]] == [89_800, 129_800, 189_800]
    lon, lat = coords.gcj02_to_wgs84(dealer["lon"], dealer["lat"])
    inside = zones[zones.contains(gpd.points_from_xy([lon], [lat], crs=4326)[0])]
    assert len(inside) == 1
    assert inside["district"].iloc[0] in {"锦江区", "青羊区", "金牛区", "武侯区", "成华区"}


# --- zones -------------------------------------------------------------------------------


def test_zones_have_a_declared_crs_and_text_ids(zones):
    raw = json.loads((DEMO / "zones.geojson").read_text(encoding="utf-8"))
    assert "crs" in raw
    assert zones.crs.to_epsg() == 4326
    ids = [f["properties"]["zone_id"] for f in raw["features"]]
    assert all(isinstance(i, str) for i in ids)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"5101\d{5}(-(DS|MK)\d{2})?", i) for i in ids)
    assert "510104020" in ids  # 督院街街道
    assert len(zones) == 395
    assert (~zones["synthetic"]).sum() == 375
    assert zones.is_valid.all()
    assert set(zones.geom_type) <= {"Polygon", "MultiPolygon"}


def test_zone_columns_follow_the_contract(zones):
    for column in ("zone_id", "name", "district", "zone_type", "population", "income"):
        assert zones[column].notna().all(), column
    assert set(zones["zone_type"]) <= set(vocab.ZONE_TYPES)
    counts = zones["zone_type"].value_counts()
    assert 3 <= counts["commercial"] <= 10
    assert counts["enterprise"] >= 3
    assert counts["driving_school"] == 10 and counts["market"] == 10
    assert counts["township"] > counts["residential"] > 50
    assert zones["population"].dtype.kind == "i" and (zones["population"] >= 0).all()
    assert (zones["income"] > 0).all()
    name = zones.set_index("zone_id").at["510104020", "name"]
    assert name == "督院街街道"
    assert not zones["name"].str.endswith("办事处").any()
    # the township type follows the names; the carved zones are labelled synthetic
    towns = zones[~zones["synthetic"]]
    assert (towns["name"].str.endswith(("镇", "乡")) == (towns["zone_type"] == "township")).all()
    carved = zones[zones["synthetic"]]
    assert carved["name"].str.endswith("（合成）").all()
    assert set(carved["zone_type"]) == {"driving_school", "market"}


def test_incomes_are_plausible_for_chengdu(zones):
    core = zones[zones["district"].isin(["锦江区", "青羊区", "武侯区", "成华区", "金牛区"])]
    rural = zones[zones["district"].isin(["大邑县", "蒲江县", "金堂县", "邛崃市"])]
    assert 52_000 <= core["income"].median() <= 62_000
    assert 28_000 <= rural["income"].median() <= 36_000
    # incomes vary by zone within a district
    assert (zones.groupby("district")["income"].nunique() > 3).all()


def test_zones_do_not_overlap_within_a_district(zones):
    utm = zones.to_crs(coords.local_crs(zones))
    for district, group in utm.groupby("district"):
        total = group.area.sum()
        union = group.union_all().area
        assert abs(total - union) / union < 1e-3, district


def test_carved_zones_are_small_and_inside_their_host_footprint(zones):
    utm = zones.to_crs(coords.local_crs(zones))
    carved = utm[utm["synthetic"]]
    side = np.sqrt(carved.area)
    assert side.between(250, 650).all()
    hosts = utm.set_index("zone_id")
    for zone_id, geom in zip(carved["zone_id"], carved.geometry, strict=True):
        host = hosts.loc[zone_id.split("-")[0], "geometry"]
        assert host.touches(geom) or host.intersection(geom).area < 1.0


@needs_source
def test_zones_cover_each_district_polygon(zones):
    districts = gpd.read_file(SOURCE / "chengdu_districts.geojson")
    crs = coords.local_crs(zones)
    source = districts.to_crs(crs).set_index("district").area
    ours = zones.to_crs(crs).dissolve("district").area
    assert set(ours.index) == set(source.index)
    rel = (ours - source.loc[ours.index]).abs() / source.loc[ours.index]
    assert (rel < 1e-3).all(), rel[rel >= 1e-3]


@needs_source
def test_population_per_district_equals_the_2020_census(zones):
    census = pd.read_csv(SOURCE / "census_2020_chengdu_changzhou.csv")
    census = census[(census["市"] == "成都市") & (census["区县"] != "成都市")]
    expected = census.set_index("区县")["人口数_合计"].sort_index()
    got = zones.groupby("district")["population"].sum().sort_index().astype("int64")
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert got.sum() == 20_937_757


# --- customers ---------------------------------------------------------------------------


def test_every_customer_is_located(customers, zones):
    assert 39_000 <= len(customers) <= 41_000
    has_xy = (customers["lon"] != "") & (customers["lat"] != "")
    has_addr = customers["address"] != ""
    has_zone = customers["zone_id"] != ""
    assert (has_xy | has_addr | has_zone).all()
    assert 0.005 <= has_addr.mean() <= 0.02
    assert 0.002 <= has_zone.mean() <= 0.01
    assert set(customers.loc[has_zone, "zone_id"]) <= set(zones["zone_id"])
    # an address names the city and a district (and usually the zone) for the geocoder
    addresses = customers.loc[has_addr, "address"]
    assert addresses.str.startswith("成都市").all()
    districts = tuple(zones["district"].unique())
    assert addresses.map(lambda a: any(d in a for d in districts)).all()
    names = set(zones["name"])
    assert addresses.map(lambda a: any(n in a for n in names)).mean() > 0.6


def test_customer_points_fall_inside_the_zones(customers, zones):
    pts = _points(customers)
    inside = _in_zones(pts, zones)
    assert len(inside) == len(pts)


def test_customer_fields(customers):
    assert customers["customer_id"].is_unique
    assert customers["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert customers["phone"].str.fullmatch(PHONE).all()
    assert customers["phone"].is_unique
    assert set(customers["model"]) == {"家轿 A", "SUV B", "新能源 C"}
    assert set(customers["gender"]) == {"男", "女"}
    assert (customers["occupation"] != "").all() and (customers["name"] != "").all()
    dates = pd.to_datetime(customers["purchase_date"])
    assert dates.max() <= AS_OF and dates.min() >= AS_OF - pd.DateOffset(years=5)
    by_year = dates.dt.year.value_counts()
    assert by_year[2025] > by_year[2023] > by_year[2022]  # recent years more frequent
    ages = customers["age"].astype(int)
    assert ages.between(18, 70).all()


def test_customer_profile_follows_seed_example_2(customers):
    ages = customers["age"].astype(int)
    male = customers["gender"] == "男"
    sedan = customers["model"] == "家轿 A"
    ev = customers["model"] == "新能源 C"
    assert 0.55 <= ages[sedan].between(30, 35).mean() <= 0.75
    assert male[sedan].mean() > 0.8
    assert ages[ev].median() < ages[customers["model"] == "SUV B"].median()


def test_planted_white_space_has_few_customers(customers, zones, planted, dealer):
    ids = [z["zone_id"] for z in planted["planted_white_space"]]
    assert len(ids) == 6
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    assert all(i in readme for i in ids)
    located = _in_zones(_points(customers), zones)
    counts = located.groupby("zone_id").size().reindex(zones["zone_id"]).fillna(0).to_numpy()
    per_1k = counts / np.maximum(zones["population"].to_numpy(), 1) * 1000
    utm = zones.to_crs(coords.local_crs(zones))
    lon, lat = coords.gcj02_to_wgs84(dealer["lon"], dealer["lat"])
    here = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=4326).to_crs(utm.crs).iloc[0]
    km = utm.centroid.distance(here).to_numpy() / 1000
    r = 129_800 / zones["income"].to_numpy()
    is_planted = zones["zone_id"].isin(ids).to_numpy()
    assert (km[is_planted] <= 12).all()
    assert ((r[is_planted] > 2.4) & (r[is_planted] < 3.6)).all()
    similar = (km <= 12) & zones["zone_type"].isin(["residential", "township"]).to_numpy()
    median = np.median(per_1k[similar & ~is_planted])
    assert (per_1k[is_planted] < 0.5 * median).all()


# --- cards ----------------------------------------------------------------------------------


def test_card_fields(cards):
    assert cards["card_id"].is_unique
    assert set(cards["card_type"]) == {"A", "deposit"}
    assert set(cards["grade"]) <= set(vocab.GRADES)
    assert set(cards["status"]) <= set(vocab.CARD_STATUSES)
    assert cards["phone"].str.fullmatch(PHONE).all()
    dates = pd.to_datetime(cards["date"])
    assert dates.max() <= AS_OF and dates.min() >= AS_OF - pd.DateOffset(months=6)
    has_xy = (cards["lon"] != "") & (cards["lat"] != "")
    assert (has_xy | (cards["address"] != "")).all()
    assert 0 < (~has_xy).sum() < 0.03 * len(cards)
    a = (cards["card_type"] == "A").sum()
    assert 2_000 <= a <= 6_000
    assert 0.10 <= (cards["card_type"] == "deposit").sum() / a <= 0.16


def test_planted_district_gaps_show_in_the_cards(cards, zones, planted):
    located = _in_zones(_points(cards), zones)
    table = located.groupby(["district", "card_type"]).size().unstack(fill_value=0)
    pop = zones.groupby("district")["population"].sum()
    per_10k = table["A"] / pop * 1e4
    rate = table["deposit"] / table["A"]
    aware = planted["awareness_gap_districts"]
    follow = planted["follow_up_gap_districts"]
    assert 2 <= len(aware) <= 3 and 2 <= len(follow) <= 3
    # A-cards thin out with distance: the planted gaps stand out within the
    # dealer's market (districts reaching into the influence area).
    market = planted["market_districts"]
    assert set(aware) <= set(market)
    others = per_10k[market].drop(aware)
    assert (per_10k[aware] < 0.6 * others.median()).all()
    assert (others > 0.6 * others.median()).all()  # none crosses the diagnosis line
    assert (rate[follow] < 0.6 * rate.drop(follow).median()).all()
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    assert all(d in readme for d in aware + follow)


# --- events and POIs ---------------------------------------------------------------------


def test_events_follow_the_playbook(zones):
    every = pd.read_csv(DEMO / "events.csv", dtype={"zone_id": str})
    assert every["event_id"].is_unique
    events = every[every["status"].isna()]  # the year of totals; the season below has a status
    assert 15 <= len(events) <= 25
    types = zones.set_index("zone_id")["zone_type"]
    for zone_id, fmt in zip(events["zone_id"], events["format"], strict=True):
        assert fmt in vocab.FORMATS_BY_ZONE_TYPE[types[zone_id]], (zone_id, fmt)
    dates = pd.to_datetime(events["date"])
    assert dates.min() >= AS_OF - pd.DateOffset(years=1) and dates.max() < AS_OF
    assert (dates >= AS_OF - pd.Timedelta(weeks=4)).sum() >= 2
    assert (events["sales"] <= events["leads"]).all() and (events["cost"] > 0).all()
    per_lead = events["cost"] / events["leads"]
    rides = events["format"].isin(["test_ride", "coach_talk"])
    malls = events["format"].isin(["static_display", "interactive_games"])
    assert per_lead[rides].max() < per_lead[malls].min()


def test_the_season_of_outings_is_recorded_like_a_dealer_would(zones, cards, planted):
    """Planned, done and cancelled outings; leads as A-cards with the event id; deposits later."""
    every = pd.read_csv(DEMO / "events.csv", dtype={"zone_id": str})
    season = every[every["status"].notna()]
    assert set(season["status"]) == {"done", "planned", "cancelled"}
    dates = pd.to_datetime(season["date"])
    done = season[season["status"] == "done"]
    assert (dates[season["status"] == "planned"] > AS_OF).all()
    assert (dates[season["status"] != "planned"] < AS_OF).all()
    assert season.loc[season["status"] != "done", "leads"].isna().all()
    assert done["sales"].isna().all()  # sales are for the cards to tell
    pois = pd.read_csv(DEMO / "pois.csv", dtype=str, keep_default_na=False)
    spots = pois[pois["poi_type"] == "street_spot"]
    assert len(spots) >= 4 and (spots["synthetic"] == "true").all()
    assert spots["name"].str.endswith("（合成）").all()
    spot_zones = set(_in_zones(_points(spots), zones)["zone_id"])
    types = zones.set_index("zone_id")["zone_type"]
    for zone_id, fmt in zip(season["zone_id"], season["format"], strict=True):
        allowed = set(vocab.FORMATS_BY_ZONE_TYPE[types[zone_id]])
        if zone_id in spot_zones:
            allowed |= set(vocab.FORMATS_BY_POI_TYPE["street_spot"])
        assert fmt in allowed, (zone_id, fmt)
    # Every done outing's leads are its A-cards, registered that day as outreach leads.
    a = cards[(cards["card_type"] == "A") & (cards["event_id"] != "")]
    assert (a["source"] == "outreach").all()
    per_event = a.groupby("event_id").size()
    assert (
        per_event.reindex(done["event_id"]).fillna(0).astype(int).tolist()
        == done["leads"].astype(int).tolist()
    )
    day = done.set_index("event_id")["date"]
    assert (a["date"] == a["event_id"].map(day)).all()
    # Buyers paid a deposit weeks later, in the showroom: a deposit card with the same phone.
    deposits = cards[cards["card_type"] == "deposit"]
    bought = a[a["phone"].isin(deposits["phone"])]
    later = bought.merge(deposits[["phone", "date", "event_id"]], on="phone", suffixes=("", "_d"))
    assert (later["event_id_d"] == "").all()
    lag = pd.to_datetime(later["date_d"]) - pd.to_datetime(later["date"])
    assert (lag >= pd.Timedelta(days=5)).all() and (pd.to_datetime(later["date_d"]) <= AS_OF).all()
    assert (
        cards.loc[cards["phone"].isin(bought["phone"]) & (cards["card_type"] == "A"), "status"]
        == "won"
    ).all()
    # planted.json tells the same story, recounted here from the files.
    summary = planted["season"]
    assert summary["synthetic"] is True
    assert (
        summary["done"] == len(done) and summary["planned"] == (season["status"] == "planned").sum()
    )
    for fmt, row in summary["by_format"].items():
        ids = done.loc[done["format"] == fmt, "event_id"]
        assert row["outings"] == len(ids)
        assert row["leads"] == a["event_id"].isin(ids).sum()
        assert row["sales"] == bought["event_id"].isin(ids).sum()
    # The story the learned figures should find: midday displays bring leads that do not buy.
    close = {f: r["sales"] / r["leads"] for f, r in summary["by_format"].items()}
    assert close["midday_display"] < 0.5 * close["evening_display"]
    assert close["wave_down_test_drive"] > close["midday_display"]
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    assert "season" in readme and "street_spot" in readme


def test_pois_are_typed_located_and_labelled(zones):
    pois = pd.read_csv(DEMO / "pois.csv", dtype=str, keep_default_na=False)
    assert pois["poi_id"].is_unique
    assert set(pois["poi_type"]) <= set(vocab.POI_TYPES)
    assert set(pois["synthetic"]) == {"true", "false"}
    made_up = pois["poi_type"].isin(["driving_school", "market"])
    assert (pois.loc[made_up, "synthetic"] == "true").all()
    assert made_up.sum() == 20
    located = _in_zones(_points(pois), zones)
    schools = located[located["poi_type"].isin(["driving_school", "market"])]
    carved = zones.set_index("zone_id")["zone_type"]
    assert (carved[schools["zone_id"]].to_numpy() == schools["poi_type"].to_numpy()).all()


# --- the build ---------------------------------------------------------------------------


@needs_source
def test_the_build_is_deterministic_and_matches_the_committed_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    build_demo.build(SOURCE, first)
    build_demo.build(SOURCE, second)
    for name in FILES:
        fresh = (first / name).read_bytes()
        assert fresh == (second / name).read_bytes(), f"{name} differs between two builds"
        assert fresh == (DEMO / name).read_bytes(), (
            f"data/demo/{name} is stale: rebuild with `uv run python data/build_demo.py`"
        )


def test_missing_sources_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass --source DIR"):
        build_demo.read_sources(tmp_path)


def test_short_names():
    assert build_demo.short_name("督院街街道办事处") == "督院街街道"
    assert build_demo.short_name("华阳镇街道办") == "华阳街道"
    assert build_demo.short_name("天回镇街道") == "天回镇街道"
    assert build_demo.short_name("洛带镇") == "洛带镇"


def test_largest_remainder_keeps_the_total():
    out = build_demo.largest_remainder(np.array([1.0, 1.0, 1.0]), 10)
    assert out.sum() == 10 and sorted(out.tolist()) == [3, 3, 4]
    # 3.5, 1.75, 1.75: floors 3, 1, 1; the two largest remainders (0.75) get the 2 left
    out = build_demo.largest_remainder(np.array([0.5, 0.25, 0.25]), 7)
    assert out.tolist() == [3, 2, 2]

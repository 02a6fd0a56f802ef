"""Recommending next weekend's sites: playbook, ranking, rotation, history, covering."""

from __future__ import annotations

import datetime as dt
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from test_analysis import LAT0, LON0, STEP, _decay, grid_workspace

from territory.analysis.zones import analyse
from territory.outreach.history import EventHistory
from territory.outreach.playbook import load_playbook
from territory.outreach.ranking import next_saturday, recommend, recommend_json
from territory.vocab import FORMATS_BY_ZONE_TYPE, ZONE_TYPES

SATURDAY = dt.date(2026, 11, 28)
TUESDAY = dt.date(2026, 11, 24)


def events_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    for col in ("cost", "leads", "sales"):
        frame[col] = frame[col].astype("float64")
    return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")


def typed_grid(**kwargs):
    """A 6×6 grid with one zone of every type."""
    types = [c for c in ZONE_TYPES if c != "other"]

    def zone_type(i, j):
        k = i * 6 + j
        return types[k] if k < len(types) else "residential"

    return grid_workspace(
        6, zone_type=zone_type, customers_per_zone=_decay, population=20000, **kwargs
    )


def test_next_saturday():
    assert next_saturday(dt.date(2026, 11, 23)) == SATURDAY
    assert next_saturday(SATURDAY) == SATURDAY


def test_each_zone_type_gets_exactly_the_playbook_formats():
    ws = typed_grid()
    rec = recommend(ws, date=SATURDAY, top=36)
    pb = load_playbook()
    seen = set()
    for site in rec.sites.itertuples():
        assert sorted(site.formats) == sorted(pb.formats(site.zone_type)), site.zone_type
        assert set(site.formats) <= set(FORMATS_BY_ZONE_TYPE[site.zone_type])
        assert set(site.tools) == set(pb.tools(site.zone_type))
        seen.add(site.zone_type)
    assert seen == {c for c in ZONE_TYPES if c != "other"}


def test_saturday_and_tuesday_give_different_time_slots():
    ws = grid_workspace(4, customers_per_zone=_decay)
    sat = recommend(ws, date=SATURDAY, top=3).sites.iloc[0]
    tue = recommend(ws, date=TUESDAY, top=3).sites.iloc[0]
    assert sat["time_slots"] and tue["time_slots"]
    assert sat["time_slots"] != tue["time_slots"]
    assert all(s.startswith("周六") for s in sat["time_slots"])
    assert all(s.startswith("周二") for s in tue["time_slots"])


def test_enterprises_drop_at_weekends():
    def zone_type(i, j):
        return "enterprise" if (i, j) == (2, 2) else "residential"

    ws = grid_workspace(5, zone_type=zone_type, customers_per_zone=_decay)
    pb = load_playbook()
    sat = recommend(ws, date=SATURDAY, top=25).scores.set_index("zone_id")
    tue = recommend(ws, date=TUESDAY, top=25).scores.set_index("zone_id")
    assert pb.slots("enterprise", SATURDAY) == []
    assert sat.loc["0202", "date_fit"] < 1 and tue.loc["0202", "date_fit"] == 1
    assert sat.loc["0202", "score"] < tue.loc["0202", "score"]


def test_a_zone_visited_last_week_drops():
    ws = grid_workspace(6, customers_per_zone=lambda z: 0 if z["zone_id"] == "0202" else _decay(z))
    before = recommend(ws, date=SATURDAY, top=5)
    top = before.sites.iloc[0]["zone_id"]
    ws.events = events_frame(
        [
            {
                "event_id": "E1",
                "date": SATURDAY - dt.timedelta(days=7),
                "zone_id": top,
                "format": "evening_display",
                "cost": 3000,
                "leads": 30,
                "sales": 1,
            }
        ]
    )
    after = recommend(ws, date=SATURDAY, top=5)
    s0 = before.scores.set_index("zone_id").loc[top, "score"]
    s1 = after.scores.set_index("zone_id").loc[top, "score"]
    assert s1 < 0.5 * s0
    assert after.sites.iloc[0]["zone_id"] != top
    # ... and recovers once the rotation period has passed.
    later = recommend(ws, date=SATURDAY + dt.timedelta(weeks=5), top=5)
    assert later.scores.set_index("zone_id").loc[top, "rotation_factor"] == 1.0
    row = after.scores.set_index("zone_id").loc[top]
    assert row["weeks_since_visit"] == pytest.approx(1.0)


def test_much_cheaper_format_per_sale_moves_that_format_up():
    ws = grid_workspace(4, customers_per_zone=_decay)
    pb = load_playbook()
    default = recommend(ws, date=SATURDAY, top=1).sites.iloc[0]["formats"]
    assert default[0] == "owner_free_service"  # owners in the zone come first
    cheap = [
        {
            "event_id": f"E{i}",
            "date": "2026-06-06",
            "zone_id": "0000",
            "format": "evening_display",
            "cost": 500,
            "leads": 100,
            "sales": 5,
        }
        for i in range(6)
    ]
    dear = [
        {
            "event_id": f"F{i}",
            "date": "2026-06-13",
            "zone_id": "0000",
            "format": "midday_display",
            "cost": 20000,
            "leads": 40,
            "sales": 1,
        }
        for i in range(6)
    ]
    history = EventHistory(events_frame(cheap + dear), pb, as_of=SATURDAY)
    # 6 events at 100 CNY per sale against the residential prior of 3,000: most of the way there.
    prior = history.prior_stats("evening_display", "residential").cost_per_sale
    assert prior == pytest.approx(105 / 0.035)
    cheap_stats = history.format_stats("evening_display", "residential")
    assert cheap_stats.events == 6 and cheap_stats.sales_observed == 30
    assert 100 < cheap_stats.cost_per_sale < 0.2 * prior
    # 6 events at 20,000 CNY per sale: far above the prior.
    assert history.format_stats("midday_display", "residential").cost_per_sale > 3 * prior
    # With few owners (no owner-service priority) the cheap format leads.
    ws2 = grid_workspace(4, customers_per_zone=lambda z: 3)
    ws2.events = events_frame(cheap + dear)
    formats = recommend(ws2, date=SATURDAY, top=1).sites.iloc[0]["formats"]
    assert formats.index("evening_display") < formats.index("midday_display")
    ws2.events = events_frame(
        [dict(e, format="midday_display") for e in cheap]
        + [dict(e, format="evening_display") for e in dear]
    )
    formats = recommend(ws2, date=SATURDAY, top=1).sites.iloc[0]["formats"]
    assert formats.index("midday_display") < formats.index("evening_display")


def test_cheaper_history_raises_the_site_score():
    ws = grid_workspace(4, customers_per_zone=_decay)
    base = recommend(ws, date=SATURDAY, top=3).scores.set_index("zone_id")["term_history"]
    ws.events = events_frame(
        [
            {
                "event_id": "E1",
                "date": "2026-01-10",
                "zone_id": "0101",
                "format": "owner_free_service",
                "cost": 200,
                "leads": 200,
                "sales": 10,
            }
        ]
        * 4
    )
    after = recommend(ws, date=SATURDAY, top=3).scores.set_index("zone_id")["term_history"]
    assert after.loc["0101"] >= base.loc["0101"]
    assert after.loc["0101"] == after.max()


def test_seed_example_1_owner_service_and_after_sales():
    """Dense residential zone within 3 km, income 40,000, about 80 owners."""

    def customers(z):
        return 80 if z["zone_id"] == "0202" else 2

    ws = grid_workspace(5, customers_per_zone=customers, income=40000.0, population=30000)
    rec = recommend(ws, date=SATURDAY, top=25)
    site = rec.sites.set_index("zone_id").loc["0202"]
    assert site["zone_type"] == "residential"
    assert site["distance_km"] < 3
    assert site["r_value"] == pytest.approx(3.0)
    assert site["formats"][0] == "owner_free_service"
    assert set(site["formats"]) == set(FORMATS_BY_ZONE_TYPE["residential"])
    assert bool(site["after_sales"]) is True
    assert any("售后" in r for r in site["reasons"])


def test_sites_are_distinct_and_spread_rather_than_one_cluster():
    hot = {"0101", "0102", "0201", "0202", "0606", "0607"}

    def customers(z):
        return 0 if z["zone_id"] in hot else _decay(z)

    def population(i, j):
        return 15000 if f"{i:02d}{j:02d}" in {"0606", "0607"} else 30000

    ws = grid_workspace(8, customers_per_zone=customers, population=population)
    overrides = {"ranking": {"catchment_km": 1.5}}
    rec = recommend(ws, date=SATURDAY, top=2, overrides=overrides)
    chosen = rec.sites["zone_id"].tolist()
    assert len(set(chosen)) == 2
    # One site in each white-space block, not two in the bigger block.
    assert any(z in {"0101", "0102", "0201", "0202"} for z in chosen)
    assert any(z in {"0606", "0607"} for z in chosen)
    # The top two by score alone would both sit in the bigger block.
    by_score = rec.scores.sort_values("score", ascending=False)["zone_id"].head(2).tolist()
    assert set(by_score) <= {"0101", "0102", "0201", "0202"}


def test_covering_solution_equals_the_exact_optimum_on_a_small_instance():
    ws = grid_workspace(
        5, customers_per_zone=lambda z: 0 if z["zone_id"] in {"0000", "0404", "0040"} else _decay(z)
    )
    rec = recommend(
        ws, date=SATURDAY, top=3, overrides={"ranking": {"catchment_km": 1.2, "candidate_pool": 25}}
    )
    assert rec.cover.method == "exact" and rec.cover.optimal
    # Brute force over all triples of candidates on the same objective.
    from territory.outreach.covering import coverage_matrix

    scores = rec.scores.reset_index(drop=True)
    crs = 32648
    pts = scores.geometry.to_crs(crs).representative_point()
    xy = np.column_stack([pts.x, pts.y])
    demand = (
        scores["population"] * scores["term_whitespace"] * scores["rotation_factor"]
    ).to_numpy()
    cover = coverage_matrix(xy, xy, radius=1200.0).toarray()
    reach = cover @ demand
    typical = np.median(reach[reach > 0])
    own = typical * scores["score"].to_numpy()
    best = max(
        (demand[cover[list(c)].any(axis=0)].sum() + own[list(c)].sum(), c)
        for c in itertools.combinations(range(len(scores)), 3)
    )
    assert rec.cover.covered_weight == pytest.approx(best[0], rel=1e-6)


def test_weights_can_be_passed_per_call_and_bad_weights_fail():
    ws = grid_workspace(5, customers_per_zone=_decay)
    near = recommend(
        ws,
        date=SATURDAY,
        top=1,
        overrides={
            "ranking": {
                "weights": {
                    "whitespace": 0,
                    "r_score": 0,
                    "density": 0,
                    "distance": 1,
                    "history": 0,
                }
            }
        },
    )
    assert near.sites.iloc[0]["distance_km"] == near.scores["distance_km"].min()
    with pytest.raises(ValueError, match="positive"):
        recommend(
            ws,
            date=SATURDAY,
            top=1,
            overrides={
                "ranking": {
                    "weights": {
                        "whitespace": 0,
                        "r_score": 0,
                        "density": 0,
                        "distance": 0,
                        "history": 0,
                    }
                }
            },
        )


def test_recommend_json_matches_the_contract():
    import json

    ws = grid_workspace(5, customers_per_zone=_decay)
    doc = recommend_json(recommend(ws, date=SATURDAY, top=3), lang="en")
    assert doc["date"] == "2026-11-28" and doc["model"] == "M"
    keys = {
        "rank",
        "zone_id",
        "name",
        "zone_type",
        "lon",
        "lat",
        "score",
        "r_value",
        "customers",
        "expected_customers",
        "formats",
        "time_slots",
        "tools",
        "reasons",
    }
    assert [s["rank"] for s in doc["sites"]] == [1, 2, 3]
    for site in doc["sites"]:
        assert keys <= set(site)
        assert site["reasons"] and all(isinstance(r, str) for r in site["reasons"])
        assert LON0 <= site["lon"] <= LON0 + 5 * STEP and LAT0 <= site["lat"] <= LAT0 + 5 * STEP
    json.loads(json.dumps(doc, allow_nan=False, default=str))


def test_reasons_are_built_from_the_sites_own_numbers():
    ws = grid_workspace(
        6, customers_per_zone=lambda z: 1 if z["zone_id"] == "0303" else _decay(z), population=42000
    )
    sites = recommend(ws, date=SATURDAY, top=36).sites.set_index("zone_id")
    site = sites.loc["0303"]
    first = site["reasons"][0]
    assert first.startswith("Z0303：4.2 万人，R=3.0，保有客户 1 位，同类区域预期")
    assert "空白区域" in first
    a = analyse(ws).zones.set_index("zone_id").loc["0303"]
    assert f"{a['expected_customers']:.0f} 位" in first


def test_customer_profile_orders_time_slots_and_leads_the_pitch():
    """Seed example 2: working-age buyers → after-work first, family-economy pitch."""
    ws = grid_workspace(4, customers_per_zone=_decay)  # customers aged 32, male
    site = recommend(ws, date=TUESDAY, top=1).sites.iloc[0]
    assert site["time_slots"][0].endswith("晚间") and site["time_slots"][1].endswith("午间")
    assert site["talking_points"][0].startswith("家庭经济实用")
    older = grid_workspace(4, customers_per_zone=_decay)
    older.customers["age"] = pd.array([58] * len(older.customers), dtype="Int64")
    site = recommend(older, date=TUESDAY, top=1).sites.iloc[0]
    assert site["time_slots"][0].endswith("午间")
    assert site["talking_points"][0].startswith("保养检测")


def test_workspace_playbook_overrides_the_default(tmp_path):
    (tmp_path / "playbook.toml").write_text(
        '[zone_types.residential]\nformats = ["evening_display"]\ntools = ["flyer"]\n'
        'weekend = [{ slot = "evening", start = "19:00", end = "21:30", formats = ["evening_display"] }]\n',
        encoding="utf-8",
    )
    pb = load_playbook(tmp_path)
    assert pb.formats("residential") == ("evening_display",)
    assert pb.tools("residential") == ("flyer",)
    assert [s.start for s in pb.slots("residential", SATURDAY)] == ["19:00"]
    assert pb.formats("commercial") == load_playbook().formats("commercial")  # untouched parts stay
    ws = grid_workspace(4, customers_per_zone=_decay)
    ws.root = tmp_path
    site = recommend(ws, date=SATURDAY, top=1).sites.iloc[0]
    assert site["formats"] == ["evening_display"] and site["tools"] == ["flyer"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[zone_types.residential]\nformats = ["parade"]\n', r"playbook\.toml.*parade"),
        ("[zone_types.spaceport]\nformats = []\n", r"spaceport"),
        ("[zone_types.residential\n", r"playbook\.toml"),
    ],
)
def test_bad_workspace_playbook_is_a_clear_error(tmp_path, text, match):
    from territory._errors import LayerError

    (tmp_path / "playbook.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LayerError, match=match):
        load_playbook(tmp_path)

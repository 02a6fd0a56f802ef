"""Learning from recorded outings (issue 11): leads per event, close rate and cost per sale.

The model is in ``territory/leads/learning.py`` (docs/learning.md); ranking
and plans read it through ``territory.outreach.history.EventHistory``.
"""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import make_workspace
from test_analysis import grid_workspace
from test_ranking import SATURDAY, events_frame

from territory._errors import LayerError
from territory.inputs.layers import empty_layer
from territory.inputs.workspace import load_workspace
from territory.leads.learning import Prior, event_outcomes, fit_learning
from territory.outreach.history import EventHistory
from territory.outreach.plan import build_plan
from territory.outreach.playbook import load_playbook
from territory.outreach.ranking import ordered_formats, recommend
from territory.settings import HistorySettings
from territory.vocab import FORMATS_BY_ZONE_TYPE, POI_TYPES

PB = load_playbook()


def planted(fmt: str, n: int, *, leads: float, sales: float, cost: float, zone="0000", start=0):
    """``n`` identical done events of ``fmt``, one a week from 2026-03-07."""
    return [
        {
            "event_id": f"{fmt[:3]}{start + i}",
            "date": (dt.date(2026, 3, 7) + dt.timedelta(weeks=start + i)).isoformat(),
            "zone_id": zone,
            "format": fmt,
            "cost": cost,
            "leads": leads,
            "sales": sales,
        }
        for i in range(n)
    ]


# --- done when: many leads and no sales drops below fewer leads and steady sales ------------


@pytest.mark.parametrize(
    ("noisy", "steady"),
    [("midday_display", "evening_display"), ("evening_display", "midday_display")],
)
def test_many_leads_no_sales_drops_below_fewer_leads_and_steady_sales(noisy, steady):
    events = planted(noisy, 6, leads=60, sales=0, cost=2500) + planted(
        steady, 6, leads=25, sales=2, cost=2500, start=6
    )
    history = EventHistory(events_frame(events), PB, as_of=SATURDAY)
    loud = history.format_stats(noisy, "residential")
    quiet = history.format_stats(steady, "residential")
    assert loud.leads_per_event > quiet.leads_per_event  # more leads ...
    assert loud.cost_per_sale > quiet.cost_per_sale  # ... but dearer sales
    assert loud.verdict == "down" and quiet.verdict == "up"
    assert (loud.events, loud.leads_observed, loud.sales_observed) == (6, 360, 0)
    order = ordered_formats(PB, history, "residential", SATURDAY, owners=0, owner_min=20)
    assert order.index(steady) < order.index(noisy)
    # The same through recommend, on a residential grid with few owners; the reasons say why.
    ws = grid_workspace(4, customers_per_zone=lambda z: 3)
    ws.events = events_frame(events)
    site = recommend(ws, date=SATURDAY, top=1).sites.iloc[0]
    assert site["formats"].index(steady) < site["formats"].index(noisy)
    text = " ".join(site["reasons"])
    assert "留资 360，成交 0 → 降权" in text
    assert "留资 150，成交 12 → 升权" in text
    en = " ".join(recommend(ws, date=SATURDAY, top=1, lang="en").sites.iloc[0]["reasons"])
    assert "360 leads, 0 sales → weighted down" in en


def test_the_economic_term_ranks_sites_on_sales_per_yuan():
    """Two otherwise equal zone types: the one whose format sells cheaper gets the higher term."""

    def zone_type(i, j):
        return "market" if i < 2 else "township"

    ws = grid_workspace(4, zone_type=zone_type, customers_per_zone=lambda z: 3)
    ws.events = events_frame(
        planted("door_to_door", 5, leads=40, sales=4, cost=1000, zone="0000")
        + planted("fixed_display", 5, leads=40, sales=0, cost=1000, zone="0303", start=5)
    )
    scores = recommend(ws, date=SATURDAY, top=2).scores.set_index("zone_id")
    market, township = scores.loc["0101"], scores.loc["0202"]
    assert market["best_format"] == "door_to_door"
    assert market["sales_per_yuan"] > township["sales_per_yuan"]
    assert market["term_history"] > township["term_history"]
    assert market["cost_per_sale"] == pytest.approx(1 / market["sales_per_yuan"])


# --- done when: with no history the seed priors decide -------------------------------------


def test_with_no_history_the_seed_priors_decide():
    history = EventHistory(empty_layer("events"), PB)
    for zone_type, codes in FORMATS_BY_ZONE_TYPE.items():
        for fmt in codes:
            stats = history.format_stats(fmt, zone_type)
            prior = PB.prior(zone_type, fmt)
            assert stats.events == 0 and stats.verdict == "prior"
            assert stats.leads_per_event == prior["leads_per_event"]
            assert stats.close_rate == prior["close_rate"]
            assert stats.cost_per_lead == pytest.approx(prior["cost_per_lead"])
    # Seed 001's case table: the wave-down test drive (2,000 CNY, 810 leads, 62 sales) ...
    wave = history.format_stats("wave_down_test_drive", "commercial")
    assert wave.cost_per_sale == pytest.approx(2000 / 62, rel=0.01)
    # ... the shopping-centre experience (104,000 CNY, 680 leads, 20 sales) ...
    mall = history.format_stats("static_display", "commercial")
    assert mall.cost_per_sale == pytest.approx(104_000 / 20, rel=0.01)
    # ... and driving schools, which have no row: the table's totals (148,000 / 119).
    school = history.format_stats("test_ride", "driving_school")
    assert school.cost_per_sale == pytest.approx(148_000 / 119, rel=0.01)
    order = ordered_formats(PB, history, "commercial", SATURDAY, owners=0, owner_min=20)
    assert order[0] == "wave_down_test_drive"


def test_owner_service_leads_on_ties_but_not_against_a_clearly_better_format():
    history = EventHistory(empty_layer("events"), PB)
    order = ordered_formats(PB, history, "residential", SATURDAY, owners=80, owner_min=20)
    assert order[0] == "owner_free_service"  # seed 000 example 1: all three share one prior
    events = planted("evening_display", 8, leads=40, sales=4, cost=2000)
    history = EventHistory(events_frame(events), PB, as_of=SATURDAY)
    order = ordered_formats(PB, history, "residential", SATURDAY, owners=80, owner_min=20)
    assert order[0] == "evening_display"


# --- done when: the learned figure moves monotonically towards the data ---------------------


@pytest.mark.parametrize(
    ("leads", "sales", "cost"),
    [(100.0, 0.0, 3000.0), (8.0, 1.0, 800.0), (20.0, 3.0, 2100.0)],
    ids=["many-leads-no-sales", "few-leads-good-close", "prior-leads-better-close"],
)
def test_learned_figures_move_monotonically_towards_the_data(leads, sales, cost):
    prior = PB.prior("residential")
    figures = []
    for n in range(0, 16):
        history = EventHistory(
            events_frame(planted("midday_display", n, leads=leads, sales=sales, cost=cost))
            if n
            else empty_layer("events"),
            PB,
            as_of=SATURDAY,
        )
        s = history.format_stats("midday_display", "residential")
        assert s.events == n
        figures.append((s.leads_per_event, s.close_rate, s.cost_per_event))
    figures = np.array(figures)
    data = np.array([leads, sales / leads, cost])
    start = np.array(
        [
            prior["leads_per_event"],
            prior["close_rate"],
            prior["leads_per_event"] * prior["cost_per_lead"],
        ]
    )
    assert figures[0] == pytest.approx(start)
    for k in range(3):
        if data[k] == pytest.approx(start[k]):
            assert figures[:, k] == pytest.approx(start[k], rel=0.05)  # data = prior: stays
            continue
        gap = np.abs(figures[:, k] - data[k])
        assert (np.diff(gap) <= 1e-9).all(), (k, figures[:, k])  # never moves away
        assert gap[-1] < 0.6 * gap[0], (k, figures[:, k])  # and gets well on its way
        lo, hi = sorted((start[k], data[k]))
        assert ((figures[:, k] >= lo - 1e-9) & (figures[:, k] <= hi + 1e-9)).all()


def test_the_fitted_strength_follows_how_far_cells_sit_from_their_priors():
    """Empirical Bayes: cells close to their priors make the prior count for more."""
    rng = np.random.default_rng(11)
    cells = [
        ("midday_display", "residential"),
        ("flyers", "commercial"),
        ("door_to_door", "market"),
        ("parade", "township"),
        ("product_tasting", "enterprise"),
    ]

    def outcomes(scale):
        rows = []
        for fmt, zone_type in cells:
            p0 = PB.prior(zone_type, fmt)["close_rate"]
            rate = min(p0 * scale, 0.9)
            for _ in range(8):
                rows.append(
                    {
                        "format": fmt,
                        "zone_type": zone_type,
                        "leads": 200.0,
                        "sales": float(rng.binomial(200, rate)),
                        "cost": 3000.0,
                    }
                )
        frame = pd.DataFrame(rows)
        return frame.assign(trials=frame["leads"], maturity=1.0)

    def prior_of(fmt, zone_type):
        return Prior.of(PB.prior(zone_type, fmt))

    near = fit_learning(outcomes(1.0), prior_of).hyper.close_strength
    far = fit_learning(outcomes(4.0), prior_of).hyper.close_strength
    centre = HistorySettings().close_strength
    assert near > centre > far


# --- attribution from cards --------------------------------------------------------------


def test_cards_attribute_leads_and_later_deposits_to_their_event():
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4"],
            "date": pd.to_datetime(["2026-06-06", "2026-06-13", "2026-11-21", "2026-06-20"]),
            "zone_id": ["z", "z", "z", "z"],
            "format": ["evening_display"] * 4,
            "cost": [3000.0, 3000.0, 3000.0, 3000.0],
            "leads": [np.nan, 5.0, np.nan, 40.0],
            "sales": [np.nan, np.nan, np.nan, 1.0],
            "status": ["done", "done", "planned", "cancelled"],
        }
    )
    a = [
        ("A1", "A", "2026-06-06", "E1", "13800000001", "open"),
        ("A2", "A", "2026-06-06", "E1", "13800000002", "open"),
        ("A3", "A", "2026-06-06", "E1", "13800000003", "open"),
        ("A4", "A", "2026-06-13", "E2", "13800000004", "open"),
        # deposits: by phone (no event id on the deposit card), in the window ...
        ("D1", "deposit", "2026-07-01", None, "13800000001", "won"),
        # ... after the 90-day window: not this event's sale
        ("D2", "deposit", "2026-10-01", None, "13800000002", "won"),
        # ... a deposit card of someone else
        ("D9", "deposit", "2026-06-20", None, "13900000009", "won"),
        # an A-card won without a deposit card, closed in the window
        ("A5", "A", "2026-06-13", "E2", "13800000005", "won"),
    ]
    cards = pd.DataFrame(a, columns=["card_id", "card_type", "date", "event_id", "phone", "status"])
    cards["date"] = pd.to_datetime(cards["date"])
    cards["closed_date"] = pd.to_datetime([None] * 7 + ["2026-06-30"])
    out = event_outcomes(
        events, cards=cards, zone_types={"z": "residential"}, as_of="2026-11-28"
    ).set_index("event_id")
    assert list(out.index) == ["E1", "E2"]  # planned and cancelled events teach nothing
    assert out.loc["E1", ["leads", "sales"]].tolist() == [3.0, 1.0]
    # E2: its total says 5 leads, cards know 2 of them and one sale: the larger counts.
    assert out.loc["E2", ["leads", "sales"]].tolist() == [5.0, 1.0]
    assert out.loc["E1", "maturity"] == 1.0 and out.loc["E1", "trials"] == 3.0
    # As of mid-July the E1 deposit of 1 July counts, and E1 is 40 % through its window.
    early = event_outcomes(events, cards=cards, as_of="2026-07-12").set_index("event_id")
    assert early.loc["E1", "sales"] == 1.0
    assert early.loc["E1", "maturity"] == pytest.approx(36 / 90)
    assert early.loc["E1", "trials"] == pytest.approx(max(1.0, 3 * 36 / 90))
    assert (early["zone_type"] == "residential").all()  # without zones: the format's home type
    # Before the deposit was paid, the event had no sale yet.
    before = event_outcomes(events, cards=cards, as_of="2026-06-20").set_index("event_id")
    assert before.loc["E1", "sales"] == 0.0


def test_learning_reads_a_workspace_with_event_ids_on_cards(tmp_path):
    cards = (
        "card_id,card_type,date,phone,event_id,status,zone_id\n"
        + "".join(f"A{i},A,2026-05-02,1380000{i:04d},E1,open,001\n" for i in range(30))
        + "".join(f"D{i},deposit,2026-05-20,1380000{i:04d},,won,001\n" for i in range(6))
    )
    events = "event_id,date,zone_id,format,cost,status\nE1,2026-05-02,001,evening_display,3000,已完成\nE2,2026-12-05,001,midday_display,3000,计划\n"
    ws = load_workspace(
        make_workspace(tmp_path / "ws", cards=cards, events=events), use_store=False
    )
    assert ws.events["status"].tolist() == ["done", "planned"]
    history = EventHistory.for_workspace(ws, PB, as_of=dt.date(2026, 11, 28))
    stats = history.format_stats("evening_display", "residential")
    assert (stats.events, stats.leads_observed, stats.sales_observed) == (1, 30, 6)
    assert stats.close_rate > PB.prior("residential")["close_rate"]
    assert history.format_stats("midday_display", "residential").events == 0


def test_an_unknown_event_status_is_refused(tmp_path):
    events = "event_id,date,zone_id,format,status\nE1,2026-05-02,001,evening_display,maybe\n"
    with pytest.raises(LayerError, match="events"):
        load_workspace(make_workspace(tmp_path / "ws", events=events), use_store=False)


def test_a_cancelled_event_does_not_count_as_a_visit():
    ws = grid_workspace(4, customers_per_zone=lambda z: 3)
    frame = events_frame(planted("evening_display", 1, leads=30, sales=1, cost=2000, zone="0101"))
    frame["date"] = pd.Timestamp(SATURDAY - dt.timedelta(days=7))
    ws.events = frame
    visited = recommend(ws, date=SATURDAY, top=3).scores.set_index("zone_id")
    frame["status"] = "cancelled"
    ws.events = frame
    free = recommend(ws, date=SATURDAY, top=3).scores.set_index("zone_id")
    assert visited.loc["0101", "rotation_factor"] < 1.0 == free.loc["0101", "rotation_factor"]


# --- done when: the wave-down test drive is proposed where the priors say so ---------------


def street_spot(zone_id: str, lon: float, lat: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "poi_id": ["S1"],
            "name": ["路口人流点"],
            "poi_type": ["street_spot"],
            "zone_id": [zone_id],
            "district": ["东区"],
            "located_by": ["coords"],
        },
        geometry=gpd.points_from_xy([lon], [lat]),
        crs="EPSG:4326",
    )


def test_the_wave_down_test_drive_goes_where_street_spots_and_shoppers_are():
    assert "street_spot" in POI_TYPES
    assert "wave_down_test_drive" in FORMATS_BY_ZONE_TYPE["commercial"]
    assert not any(
        "wave_down_test_drive" in FORMATS_BY_ZONE_TYPE[z]
        for z in ("driving_school", "residential", "enterprise")
    )

    def zone_type(i, j):
        return "commercial" if (i, j) == (3, 3) else "residential"

    ws = grid_workspace(5, zone_type=zone_type, customers_per_zone=lambda z: 3)
    cell = ws.zones.set_index("zone_id").loc["0101"].geometry.centroid
    ws.pois = street_spot("0101", cell.x, cell.y)
    rec = recommend(ws, date=SATURDAY, top=25)
    sites = rec.sites.set_index("zone_id")
    spot, plain, mall = sites.loc["0101"], sites.loc["0202"], sites.loc["0303"]
    assert spot["formats"][0] == "wave_down_test_drive"
    assert "wave_down_test_drive" not in plain["formats"]
    assert mall["formats"][0] == "wave_down_test_drive"
    assert any(s.endswith("10:00–18:00 白天") for s in spot["time_slots"])
    assert "qr_board" in spot["tools"] and any("招手试驾" in p for p in spot["talking_points"])
    assert any("首选招手试驾（尚无记录" in r for r in spot["reasons"])
    # The priors make the street spot the cheapest sale of the residential zones.
    scores = rec.scores.set_index("zone_id")
    residential = scores[scores["zone_type"] == "residential"]
    assert residential["term_history"].idxmax() == "0101"
    # Driving schools keep test rides and instructor talks.
    assert PB.formats("driving_school") == ("test_ride", "coach_talk")


def test_learned_wave_down_history_at_street_spots_is_read_back():
    ws = grid_workspace(5, customers_per_zone=lambda z: 3)
    cell = ws.zones.set_index("zone_id").loc["0101"].geometry.centroid
    ws.pois = street_spot("0101", cell.x, cell.y)
    ws.events = events_frame(
        planted("wave_down_test_drive", 5, leads=40, sales=0, cost=6000, zone="0101")
    )
    site = recommend(ws, date=SATURDAY, top=25).sites.set_index("zone_id").loc["0101"]
    learned = {e["format"]: e for e in site["learned"]}
    assert learned["wave_down_test_drive"]["events"] == 5
    assert learned["wave_down_test_drive"]["verdict"] == "down"
    assert site["formats"][0] != "wave_down_test_drive"


# --- the playbook, the plan -------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "column"),
    [
        (
            "[format_priors]\nwave_down_test_drive = { cost_per_lead = 2.0, close_rate = 1.5, leads_per_event = 30 }\n",
            "format_priors.wave_down_test_drive.close_rate",
        ),
        (
            "[format_priors]\nnot_a_format = { cost_per_lead = 2.0, close_rate = 0.1, leads_per_event = 30 }\n",
            "format_priors",
        ),
        ('[poi_types.street_spot]\nformats = ["parade"]\n', "poi_types.street_spot.formats"),
        ("[poi_types.bus_stop]\nformats = []\n", "poi_types.bus_stop"),
    ],
)
def test_a_bad_playbook_prior_or_poi_section_is_refused(tmp_path, toml, column):
    (tmp_path / "playbook.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(LayerError) as err:
        load_playbook(tmp_path, lang="en")
    assert column in str(err.value)


def test_the_plan_takes_its_kpi_targets_from_the_learned_figures():
    ws = grid_workspace(4, customers_per_zone=lambda z: 3)
    zone = "0101"
    before = build_plan(ws, zone_id=zone, date=SATURDAY)
    ws.events = events_frame(
        planted("midday_display", 6, leads=50, sales=5, cost=2000)
        + planted("evening_display", 6, leads=50, sales=5, cost=2000, start=6)
        + planted("owner_free_service", 6, leads=50, sales=5, cost=2000, start=12)
    )
    after = build_plan(ws, zone_id=zone, date=SATURDAY)
    history = EventHistory.for_workspace(ws, load_playbook(), as_of=SATURDAY)
    stats = history.format_stats(after.formats[0], "residential")
    assert after.kpi["new_leads"] == round(stats.leads_per_event * history.zone_factor(zone))
    assert after.kpi["target_orders"] == math.ceil(
        stats.leads_per_event * history.zone_factor(zone) * stats.close_rate
    )
    assert after.kpi["target_orders"] > before.kpi["target_orders"]
    rows = dict(after.section("kpi").rows)
    assert "据 6 场记录学习" in rows["目标依据"]
    assert "尚无记录" in dict(before.section("kpi").rows)["目标依据"]


def test_empty_layers_have_no_rows():
    for layer in ("customers", "cards", "events", "pois"):
        assert len(empty_layer(layer)) == 0, layer


def test_recommend_json_on_the_demo_reports_what_was_learned(tmp_path, capsys):
    import json

    from territory.cli import main
    from territory.inputs.demo import write_demo

    demo = write_demo(tmp_path / "demo")
    args = ["recommend", str(demo), "--date", "2026-11-21", "--json", "--lang", "en"]
    assert main(args) == 0
    text = capsys.readouterr().out
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    learned = {(r["format"], r["zone_type"]): r for r in doc["learned"]}
    # The season planted midday displays that do not sell and wave-down test drives that do.
    midday = learned[("midday_display", "residential")]
    wave = learned[("wave_down_test_drive", "residential")]
    assert midday["events"] >= 4 and midday["verdict"] == "down"
    assert wave["events"] >= 4 and wave["cost_per_sale"] < midday["cost_per_sale"] / 10
    for site in doc["sites"]:
        for key in ("expected_leads", "expected_sales", "cost", "cost_per_lead", "cost_per_sale"):
            assert site[key] is not None and site[key] >= 0, key
        assert site["cost_per_sale"] == pytest.approx(site["cost"] / site["expected_sales"])
        assert [e["format"] for e in site["learned"]] == site["formats"]
    spot_sites = [s for s in doc["sites"] if "wave_down_test_drive" in s["formats"]]
    assert spot_sites and all(s["formats"][0] == "wave_down_test_drive" for s in spot_sites)
    assert "weighted down" in text

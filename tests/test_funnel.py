"""Seed 002's funnel N x K x F x C from leads: the worked example, planted counts, levers, pyramid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from territory.leads.funnel import (
    INDICATORS,
    LEVERS,
    funnel,
    funnel_json,
    funnel_pyramid,
    funnel_sales,
    lever_text,
    lever_to_target,
    pyramid,
    pyramid_levels,
)
from territory.leads.lifecycle import lead_table
from territory.settings import Settings

DAY = pd.Timestamp("2026-05-01")


def leads_frame(**columns) -> pd.DataFrame:
    """Leads as lead_table gives them, from equal-length columns (missing ones filled)."""
    n = len(next(iter(columns.values())))
    base = {
        "lead_id": [f"L{i}" for i in range(n)],
        "card_id": [f"A{i}" for i in range(n)],
        "start": [DAY] * n,
        "grade": ["A"] * n,
        "status": ["open"] * n,
        "closed_date": [pd.NaT] * n,
        "lost_reason": [None] * n,
        "consultant": ["张伟"] * n,
        "source": ["showroom"] * n,
        "event_id": [None] * n,
        "last_contact": [pd.NaT] * n,
        "district": ["甲区"] * n,
        "zone_id": [None] * n,
    }
    base.update(columns)
    frame = pd.DataFrame(base)
    for c in ("start", "closed_date", "last_contact"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


def traffic(visitors: int, *, first="2026-05-01", last="2026-05-31", source=None) -> pd.DataFrame:
    days = pd.date_range(first, last)
    counts = [visitors] + [0] * (len(days) - 1)
    return pd.DataFrame({"date": days, "visitors": counts, "source": [source] * len(days)})


def seed_leads() -> pd.DataFrame:
    """The seed's example: 1,000 leads from 2,500 visitors, 500 followed on cadence, 125 won.

    Won 125 (followed); lost 200 with a contact (followed) and 100 without (out of control);
    open 175 contacted yesterday (on cadence) and 400 never contacted, registered a month ago
    (overdue).
    """
    status = ["won"] * 125 + ["lost"] * 300 + ["open"] * 575
    contact = (
        [DAY + pd.Timedelta(days=3)] * 125 + [DAY + pd.Timedelta(days=2)] * 200 + [pd.NaT] * 100
    )
    contact += [pd.Timestamp("2026-05-30")] * 175 + [pd.NaT] * 400
    grades = (["H", "A", "B", "C"] * 250)[:1000]
    return leads_frame(status=status, last_contact=contact, grade=grades)


def test_seed_worked_example():
    assert funnel_sales(2500, 0.40, 0.50, 0.25) == pytest.approx(125.0)
    assert funnel_sales(2500, 0.40, 0.50, 0.25) == 2500 * 0.4 * 0.5 * 0.25


def test_seed_example_reproduced_from_leads_and_traffic():
    result = funnel(leads=seed_leads(), traffic=traffic(2500), end="2026-05-31")
    row = result.rows.iloc[0]
    assert row["key"] == "all"
    assert (row["N"], row["cards"], row["followed"], row["deals"]) == (2500, 1000, 500, 125)
    assert (row["K"], row["F"], row["C"]) == pytest.approx((0.40, 0.50, 0.25))
    assert row["sales"] == 125 == pytest.approx(row["N"] * row["K"] * row["F"] * row["C"])
    assert (row["p_h"], row["p_c"]) == pytest.approx((0.25, 0.25))
    assert row["missing"] == {}
    doc = funnel_json(result)
    assert doc["by"] == "all"
    assert set(doc["rows"][0]) >= {"key", "N", "K", "F", "C", "P", "sales"}
    assert doc["rows"][0]["P"] == pytest.approx({"H": 0.25, "A": 0.25, "B": 0.25, "C": 0.25})


def test_followed_means_on_cadence():
    # an H lead contacted 3 days before the data's end is overdue: not followed;
    # a B lead contacted 6 days before is on cadence; a lost lead never contacted is out of control
    leads = leads_frame(
        grade=["H", "B", "A", "C"],
        status=["open", "open", "lost", "won"],
        last_contact=["2026-05-07", "2026-05-04", None, None],
        closed_date=[None, None, "2026-05-06", "2026-05-10"],
    )
    row = funnel(leads=leads).rows.iloc[0]
    assert row["followed"] == 2  # the B lead and the won lead
    assert row["F"] == pytest.approx(0.5) and row["C"] == pytest.approx(0.5)


def test_without_traffic_n_and_k_are_not_computed_and_never_100_percent():
    result = funnel(leads=seed_leads(), traffic=None, lang="en")
    row = result.rows.iloc[0]
    assert row["N"] is None and row["K"] is None
    assert row["missing"]["N"] == row["missing"]["K"] == "no_traffic"
    assert row["F"] == pytest.approx(0.5)
    assert any("traffic" in note for note in result.notes)
    doc = funnel_json(result)["rows"][0]
    assert doc["K"] is None and doc["N"] is None and doc["sales"] == 125


def test_traffic_that_does_not_cover_the_period_is_not_used():
    result = funnel(leads=seed_leads(), traffic=traffic(2500, first="2026-05-10"), lang="en")
    row = result.rows.iloc[0]
    assert row["K"] is None and row["missing"]["K"] == "traffic_partial"
    assert "2026-05-10" in " ".join(result.notes)
    inside = funnel(
        leads=seed_leads(),
        traffic=traffic(2500, first="2026-04-01"),
        start="2026-05-01",
        end="2026-05-31",
    )
    assert inside.rows.iloc[0]["N"] == 0  # covered: the 2,500 were on 2026-04-01


def test_n_per_source_needs_a_source_on_every_traffic_row():
    leads = seed_leads()
    leads.loc[:499, "source"] = "online"
    both = pd.concat(
        [traffic(1000, source="showroom"), traffic(1250, source="online")], ignore_index=True
    )
    rows = funnel(leads=leads, traffic=both, by="source", end="2026-05-31").rows.set_index("key")
    assert rows.loc["showroom", "N"] == 1000 and rows.loc["online", "N"] == 1250
    assert rows.loc["online", "K"] == pytest.approx(500 / 1250)
    no_source = funnel(leads=leads, traffic=traffic(2250), by="source").rows
    assert no_source["K"].isna().all()
    assert set(no_source["missing"].map(lambda m: m["K"])) == {"traffic_no_source"}
    district = funnel(leads=leads, traffic=both, by="district", lang="en")
    assert district.rows["N"].isna().all()
    assert any("not per district" in n for n in district.notes)


def test_without_contacts_f_and_c_are_not_computed():
    leads = seed_leads()
    leads["last_contact"] = pd.NaT
    row = funnel(leads=leads, traffic=traffic(2500)).rows.iloc[0]
    assert row["F"] is None and row["C"] is None and row["missing"]["F"] == "no_contacts"
    assert row["K"] == pytest.approx(0.4)


def test_the_weakest_lever_is_measured_against_the_median_row():
    # three consultants with 100 leads each; 王强 follows up half as many on cadence
    parts = []
    for name, followed in (("张伟", 80), ("李娜", 80), ("王强", 40)):
        status = ["won"] * 10 + ["open"] * 90
        contact = [DAY + pd.Timedelta(days=2)] * 10 + [pd.Timestamp("2026-05-30")] * (followed - 10)
        contact += [pd.NaT] * (100 - followed)
        parts.append(leads_frame(status=status, last_contact=contact, consultant=[name] * 100))
    leads = pd.concat(parts, ignore_index=True)
    leads["lead_id"] = [f"L{i}" for i in range(len(leads))]
    result = funnel(leads=leads, by="consultant", team=("张伟", "李娜", "王强"), lang="en")
    rows = result.rows.set_index("key")
    assert result.median["F"] == pytest.approx(0.8)
    behind = rows.loc["王强"]
    assert behind["F"] == pytest.approx(0.4) and behind["C"] == pytest.approx(0.25)
    # raising F to 80 % at C 25 %: 100 x 0.4 x 0.25 more deals = 10
    assert behind["gains"]["F"] == pytest.approx(10.0)
    assert behind["best_lever"] == "F"
    assert rows.loc["张伟", "best_lever"] is None
    text = lever_text(behind, result.median, "en")
    assert "F" in text and "40%" in text and "80%" in text and "10.0" in text


def test_the_grade_mix_lever_uses_the_dealers_close_rate_per_grade():
    parts = []
    for name, grade in (("张伟", "H"), ("李娜", "H"), ("王强", "C")):
        status = ["won"] * (20 if grade == "H" else 2) + ["lost"] * (80 if grade == "H" else 98)
        contact = [DAY + pd.Timedelta(days=2)] * 100
        parts.append(
            leads_frame(
                status=status, last_contact=contact, consultant=[name] * 100, grade=[grade] * 100
            )
        )
    leads = pd.concat(parts, ignore_index=True)
    leads["lead_id"] = [f"L{i}" for i in range(len(leads))]
    result = funnel(leads=leads, by="consultant")
    assert result.close_by_grade["H"] == pytest.approx(0.2)
    assert result.close_by_grade["C"] == pytest.approx(0.02)
    row = result.rows.set_index("key").loc["王强"]
    assert row["best_lever"] == "P"
    # C scaled by 0.2 / 0.02: 2 deals become 20
    assert row["gains"]["P"] == pytest.approx(18.0)


def test_the_pyramid():
    assert pyramid_levels(50, multiple=3, levels=5) == [50, 150, 450, 1350, 4050]
    table = pyramid(30, close_rate_h=0.5, have={"H": 40, "A": 100, "B": 600, "C": 0})
    assert table["needed"].tolist() == [60, 180, 540, 1620]
    assert table["shortfall"].tolist() == [20, 80, 0, 1620]
    assumed = pyramid(10, close_rate_h=None)
    assert assumed.attrs["assumed"] and assumed["needed"].tolist() == [10, 30, 90, 270]
    with pytest.raises(ValueError, match="multiple"):
        pyramid_levels(1, multiple=0.5)
    leads = seed_leads()
    result = funnel(leads=leads, traffic=traffic(2500), end="2026-05-30")
    table = funnel_pyramid(result, leads, settings=Settings())
    # 125 deals in the 30 days: a month's target of 125. Grades cycle H, A, B, C: 32 of the
    # 125 won leads and 250 of all leads are H, so the H close rate is 32 / 250.
    assert table.attrs["target"] == 125
    assert result.close_by_grade["H"] == pytest.approx(32 / 250)
    assert table["needed"].tolist()[0] == math.ceil(125 / (32 / 250))
    assert table["have"].sum() == 575


def test_funnel_options_are_checked():
    with pytest.raises(ValueError, match="by must be one of"):
        funnel(leads=seed_leads(), by="town")
    with pytest.raises(ValueError, match="after end"):
        funnel(leads=seed_leads(), start="2026-06-01", end="2026-05-01")
    with pytest.raises(ValueError, match="must be a date"):
        funnel(leads=seed_leads(), start="May")


def test_the_period_selects_the_cohort():
    leads = seed_leads()
    leads.loc[:99, "start"] = pd.Timestamp("2026-04-01")
    may = funnel(leads=leads, start="2026-05-01", end="2026-05-31").rows.iloc[0]
    april = funnel(leads=leads, start="2026-04-01", end="2026-04-30").rows.iloc[0]
    assert may["cards"] == 900 and april["cards"] == 100


def test_the_funnel_from_cards_links_an_a_card_and_its_deposit_card_into_one_lead():
    cards = pd.DataFrame(
        {
            "card_id": ["A1", "D1", "A2"],
            "card_type": ["A", "deposit", "A"],
            "date": pd.to_datetime(["2026-05-01", "2026-05-08", "2026-05-02"]),
            "phone": ["13812341234", "13812341234", "13900001111"],
            "grade": ["B", "H", "C"],
            "status": ["won", "won", "open"],
            "last_contact": pd.to_datetime(["2026-05-07", None, "2026-05-03"]),
        }
    )
    row = funnel(leads=lead_table(cards)).rows.iloc[0]
    assert row["cards"] == 2 and row["deals"] == 1


def test_lever_to_target_on_the_seed():
    plan = lever_to_target(2500, 0.40, 0.50, 0.25, 150)
    assert plan.sales == pytest.approx(125)
    needed = plan.levers["needed"]
    assert needed.tolist() == pytest.approx([3000, 0.48, 0.60, 0.30])
    # Alone, every lever must move by the same factor: 150 / 125.
    assert plan.levers["relative_change"].tolist() == pytest.approx([0.2] * 4)
    # Effort: N +20 % traffic; K wins back 8 of 60 pp lost; F 10 of 50; C 5 of 75.
    assert plan.levers["effort"].tolist() == pytest.approx([0.2, 8 / 60, 10 / 50, 5 / 75])
    assert plan.best == "C"
    assert plan.levers["feasible"].all()
    assert "成交率" in plan.message("zh") and "25.0%" in plan.message("zh")
    assert plan.message("en").startswith("To reach 150 sales (now 125)")


def test_lever_that_would_exceed_100_percent_is_infeasible():
    plan = lever_to_target(1000, 0.9, 0.95, 0.3, 360)  # sales 256.5, factor 1.40
    assert plan.levers.loc["K", "needed"] > 1 and not plan.levers.loc["K", "feasible"]
    assert not plan.levers.loc["F", "feasible"]
    assert plan.levers.loc["C", "feasible"]
    # C: 30 % -> 42.1 %, winning back 17 % of the followed who did not buy; N needs +40 %.
    assert plan.levers.loc["C", "effort"] == pytest.approx((0.3 * 360 / 256.5 - 0.3) / 0.7)
    assert plan.best == "C"


def test_lever_when_target_met_or_unreachable():
    met = lever_to_target(2500, 0.4, 0.5, 0.25, 100)
    assert met.best is None and (met.levers["change"] == 0).all()
    assert "已达到" in met.message("zh")
    stuck = lever_to_target(2500, 0.0, 0.0, 0.25, 10)  # two zero stages: no single lever
    assert stuck.best is None and not stuck.levers["feasible"].any()
    assert stuck.message("en").startswith("No single lever reaches 10 sales")
    one_zero = lever_to_target(2500, 0.4, 0.0, 0.25, 50)  # only F can help
    assert one_zero.best == "F"
    assert one_zero.levers.loc["F", "needed"] == pytest.approx(0.2)
    n_plan = lever_to_target(100, 1.0, 1.0, 1.0, 150)  # rates at 100 %: only N
    assert n_plan.best == "N" and n_plan.levers.loc["N", "needed"] == pytest.approx(150)
    assert "到店客流量" in n_plan.message("zh") and "from 100 to 150" in n_plan.message("en")
    assert list(n_plan.levers.index) == list(INDICATORS)


def test_funnel_inputs_are_checked():
    with pytest.raises(ValueError, match="K must be a rate between 0 and 1"):
        funnel_sales(2500, 40, 0.5, 0.25)
    with pytest.raises(ValueError, match=r"N \(showroom traffic\) must be a number"):
        lever_to_target(-1, 0.4, 0.5, 0.25, 10)
    with pytest.raises(ValueError, match="target must be a number of sales"):
        lever_to_target(2500, 0.4, 0.5, 0.25, float("nan"))
    assert LEVERS == ("N", "K", "P", "F")
    assert math.isfinite(funnel_sales(0, 0, 0, 0))
    assert np.isclose(funnel_sales(1, 1, 1, 1), 1)

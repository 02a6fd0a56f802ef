"""The N x K x F x C funnel of seed 002: the worked example, per-district estimates, levers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from territory.leads.funnel import (
    LEVERS,
    funnel_sales,
    funnel_table,
    funnel_totals,
    lever_to_target,
)


@pytest.fixture
def zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone_id": ["z1", "z2", "z3"],
            "name": ["东", "西", "北"],
            "district": ["甲区", "乙区", "乙区"],
            "population": [10_000, 20_000, 5_000],
        }
    )


def seed_cards(zone_id: str = "z1", district: str = "甲区", date: str = "2024-05-01"):
    """The seed's example as cards: 2,500 A-cards, 1,000 graded, 500 followed, 125 won."""
    n = 2500
    grade = np.array([None] * n, dtype=object)
    status = np.array([None] * n, dtype=object)
    grade[:1000] = ["H", "A", "B", "C"] * 250
    status[:125] = "won"
    status[125:400] = "open"
    status[400:500] = "lost"
    return pd.DataFrame(
        {
            "zone_id": zone_id,
            "district": district,
            "card_type": "A",
            "date": pd.Timestamp(date),
            "grade": grade,
            "status": status,
        }
    )


def test_seed_worked_example():
    assert funnel_sales(2500, 0.40, 0.50, 0.25) == pytest.approx(125.0)
    assert funnel_sales(2500, 0.40, 0.50, 0.25) == 2500 * 0.4 * 0.5 * 0.25


def test_seed_example_reproduced_from_cards(zones):
    cards = pd.concat(
        [seed_cards(), pd.DataFrame({"zone_id": ["z1"] * 30, "card_type": "deposit"})],
        ignore_index=True,
    )
    cards["date"] = cards["date"].fillna(pd.Timestamp("2024-05-02"))
    table = funnel_table(zones, cards)
    first = table[table["label"] == "甲区"].iloc[0]
    assert (first["n"], first["records"], first["followed"], first["deals"]) == (
        2500,
        1000,
        500,
        125,
    )
    assert (first["k"], first["f"], first["c"]) == pytest.approx((0.40, 0.50, 0.25))
    assert first["sales"] == pytest.approx(125.0)
    assert (first["p_h"], first["p_c"]) == pytest.approx((0.25, 0.25))
    totals = funnel_totals(cards)
    assert totals["N"] == 2500 and totals["sales"] == pytest.approx(125.0)
    assert (totals["K"], totals["F"], totals["C"]) == pytest.approx((0.4, 0.5, 0.25))


def test_sets_are_nested_and_product_equals_deals(zones):
    cards = pd.DataFrame(
        {
            "zone_id": ["z1"] * 6 + ["z2", "z3", None],
            "district": ["甲区"] * 6 + ["乙区", "乙区", None],
            "card_type": ["A"] * 5 + ["deposit", "A", "A", "A"],
            # status without grade is a record; grade without status is not followed
            "grade": ["H", None, "B", None, "C", "H", None, "A", None],
            "status": ["won", "lost", None, None, "open", "won", "won", None, None],
            "date": pd.to_datetime(["2024-05-01"] * 9),
        }
    )
    table = funnel_table(zones, cards)
    assert table["label"].tolist() == ["甲区", "乙区", "未定位"]
    a = table.iloc[0]
    assert (a["n"], a["records"], a["followed"], a["deals"]) == (5, 4, 3, 1)
    assert (a["k"], a["f"], a["c"]) == pytest.approx((0.8, 0.75, 1 / 3))
    b = table.iloc[1]  # two zones of one district
    assert (b["n"], b["records"], b["followed"], b["deals"]) == (2, 2, 1, 1)
    for r in table.itertuples():
        if r.followed:
            assert r.n * r.k * r.f * r.c == pytest.approx(r.deals)
    unlocated = table.iloc[2]
    assert (unlocated["n"], unlocated["k"]) == (1, 0.0) and math.isnan(unlocated["f"])
    by_zone = funnel_table(zones, cards, by="zone")
    assert by_zone["zone_id"].tolist()[:3] == ["z1", "z2", "z3"]


def test_date_range_filters_the_funnel(zones):
    cards = pd.concat(
        [seed_cards(date="2024-05-01"), seed_cards(date="2024-01-01").iloc[:100]],
        ignore_index=True,
    )
    may = funnel_table(zones, cards, start="2024-05-01", end="2024-05-31")
    assert may.iloc[0]["n"] == 2500 and may.attrs["start"] == "2024-05-01"
    january = funnel_totals(cards, start="2024-01-01", end="2024-01-31")
    assert january["N"] == 100 and january["deals"] == 100


def test_cards_without_grade_or_status_have_no_rates(zones):
    cards = pd.DataFrame(
        {"zone_id": ["z1"] * 3, "card_type": ["A"] * 3, "date": pd.to_datetime(["2024-05-01"] * 3)}
    )
    table = funnel_table(zones, cards)
    assert table.attrs["has_funnel_data"] is False
    assert table.iloc[0]["n"] == 3
    assert table[["k", "f", "c", "sales"]].isna().all().all()
    assert math.isnan(funnel_totals(cards)["K"])
    empty = funnel_table(zones, None)
    assert (empty["n"] == 0).all() and empty["k"].isna().all()


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
    assert list(n_plan.levers.index) == list(LEVERS)


def test_funnel_inputs_are_checked():
    with pytest.raises(ValueError, match="K must be a rate between 0 and 1"):
        funnel_sales(2500, 40, 0.5, 0.25)
    with pytest.raises(ValueError, match=r"N \(showroom traffic\) must be a number"):
        lever_to_target(-1, 0.4, 0.5, 0.25, 10)
    with pytest.raises(ValueError, match="target must be a number of sales"):
        lever_to_target(2500, 0.4, 0.5, 0.25, float("nan"))
    with pytest.raises(ValueError, match="by must be one of"):
        funnel_table(pd.DataFrame({"zone_id": [], "population": []}), None, by="town")

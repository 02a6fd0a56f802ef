"""Follow-up workload per zone: seed 001's cadence and the leads the white space should bring."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.leads.workload import DAYS_PER_MONTH, close_rate, zone_workload
from territory.settings import Settings


def test_open_leads_cost_their_grade_cadence():
    leads = pd.DataFrame(
        {
            "zone_id": ["a", "a", "a", "b", "b", None],
            "grade": ["H", "A", "B", "C", None, "H"],
            "status": ["open", "open", "open", "open", "open", "open"],
        }
    )
    table = zone_workload(["a", "b"], leads)
    assert table.loc["a", "followup_contacts"] == pytest.approx(
        DAYS_PER_MONTH / 2 + DAYS_PER_MONTH / 3 + DAYS_PER_MONTH / 7
    )
    # An ungraded lead follows the slowest cadence (C, 15 days); an unlocated one counts nowhere.
    assert table.loc["b", "followup_contacts"] == pytest.approx(2 * DAYS_PER_MONTH / 15)
    assert table["open_leads"].tolist() == [3, 2]
    assert (table["workload"] == table["followup_contacts"]).all()  # no white space given


def test_closed_leads_cost_nothing_and_set_the_close_rate():
    rows = ["won"] * 10 + ["lost"] * 30 + ["open"]
    leads = pd.DataFrame({"zone_id": ["a"] * len(rows), "grade": ["B"] * len(rows), "status": rows})
    assert close_rate(leads) == (0.25, "workspace")
    assert close_rate(leads.iloc[:20]) == (0.13, "default")  # too few closed leads
    table = zone_workload(["a"], leads)
    assert table.loc["a", "open_leads"] == 1


def test_white_space_brings_leads_to_follow_up():
    leads = pd.DataFrame({"zone_id": ["a"], "grade": ["C"], "status": ["open"]})
    shortfall = pd.Series({"a": 0.0, "b": 13.0})
    table = zone_workload(["a", "b"], leads, shortfall=shortfall)
    # 13 missing customers at the default 13 % close rate: 100 leads over 12 months.
    assert table.loc["b", "whitespace_leads"] == pytest.approx(100 / 12)
    per_new_lead = 1 + DAYS_PER_MONTH / 15  # a first contact, then the C cadence of today's leads
    assert table.loc["b", "workload"] == pytest.approx(100 / 12 * per_new_lead)
    s = Settings().merged({"territories": {"whitespace_months": 6.0}})
    assert zone_workload(["b"], leads, shortfall=shortfall, settings=s).loc[
        "b", "whitespace_leads"
    ] == pytest.approx(100 / 6)

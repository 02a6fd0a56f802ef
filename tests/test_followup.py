"""Follow-up lists on seed 001's cadence, lead updates, lost reasons: tiny literal cards first."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import DEALER, centre, make_workspace
from openpyxl import load_workbook

from territory.inputs.journal import Journal
from territory.inputs.workspace import load_workspace
from territory.leads.followup import due_table, followup, followup_json, write_call_list
from territory.leads.lifecycle import LeadUpdate, UpdateError, lead_table, record_updates
from territory.leads.lost import lost_analysis, lost_json, reason_key
from territory.privacy import PHONE_PATTERN

D = "2026-05-20"
X, Y = centre(1)


def cards(*rows: dict) -> pd.DataFrame:
    base = {"card_type": "A", "status": "open", "grade": "B", "consultant": "张伟"}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for c in ("date", "last_contact", "closed_date"):
        if c in frame:
            frame[c] = pd.to_datetime(frame[c])
    if "card_id" not in frame:
        frame["card_id"] = [f"A{i}" for i in range(len(frame))]
    return frame


def listed(result) -> dict[str, int]:
    return dict(zip(result.leads["lead_id"], result.leads["days_overdue"], strict=True))


def test_an_h_lead_contacted_3_days_before_is_1_day_overdue():
    leads = lead_table(
        cards({"card_id": "H1", "date": "2026-05-01", "grade": "H", "last_contact": "2026-05-17"})
    )
    assert listed(followup(leads=leads, date=D)) == {"H1": 1}


def test_a_b_lead_contacted_6_days_before_is_not_listed():
    leads = lead_table(
        cards({"card_id": "B1", "date": "2026-05-01", "grade": "B", "last_contact": "2026-05-14"})
    )
    result = followup(leads=leads, date=D)
    assert result.leads.empty
    assert result.by_consultant.set_index("consultant").loc["张伟", "open"] == 1


def test_a_lead_with_a_won_deposit_card_is_closed():
    leads = lead_table(
        cards(
            {"card_id": "A1", "date": "2026-05-01", "phone": "13812341234", "status": "open"},
            {
                "card_id": "D1",
                "date": "2026-05-09",
                "phone": "13812341234",
                "card_type": "deposit",
                "status": "won",
            },
        )
    )
    assert leads["status"].tolist() == ["won"]
    result = followup(leads=leads, date=D)
    assert result.leads.empty and result.open_leads.empty
    # a list for a day before the deal shows the lead as it was then: open
    leads.loc[0, "closed_date"] = pd.Timestamp("2026-05-09")
    assert listed(followup(leads=leads, date="2026-05-05")) == {"A1": 3}


def test_the_cadence_of_each_grade_and_the_first_contact():
    leads = lead_table(
        cards(
            {
                "card_id": "H",
                "date": "2026-05-01",
                "grade": "H",
                "last_contact": "2026-05-18",
            },  # due 20
            {
                "card_id": "A",
                "date": "2026-05-01",
                "grade": "A",
                "last_contact": "2026-05-15",
            },  # due 18
            {
                "card_id": "B",
                "date": "2026-05-01",
                "grade": "B",
                "last_contact": "2026-05-12",
            },  # due 19
            {
                "card_id": "C",
                "date": "2026-05-01",
                "grade": "C",
                "last_contact": "2026-05-10",
            },  # due 25
            {"card_id": "N", "date": "2026-05-19", "grade": "C"},  # new: first call due on the 20th
            {"card_id": "O", "date": "2026-05-10", "grade": None},  # never called: due the 11th
            {
                "card_id": "U",
                "date": "2026-05-01",
                "grade": None,
                "last_contact": "2026-05-02",
            },  # ungraded: C
            {
                "card_id": "F",
                "date": "2026-05-21",
                "grade": "H",
            },  # registered after D: not open yet
        )
    )
    result = followup(leads=leads, date=D)
    assert listed(result) == {"O": 9, "A": 2, "U": 3, "B": 1, "H": 0, "N": 0} | {}
    assert result.leads["lead_id"].tolist() == [
        "O",
        "U",
        "A",
        "B",
        "H",
        "N",
    ]  # most overdue first; H before C
    by = result.by_consultant.iloc[0]
    assert (by["open"], by["due"], by["overdue"], by["never_contacted"]) == (7, 2, 4, 2)
    table = due_table(leads, date=D).set_index("lead_id")
    assert table.loc["C", "days_overdue"] == -5


def test_by_consultant_lists_the_team_and_unassigned_and_the_most_behind_first():
    leads = lead_table(
        cards(
            {"card_id": "A1", "date": "2026-05-01", "consultant": "李娜"},
            {"card_id": "A2", "date": "2026-05-01", "consultant": "李娜"},
            {
                "card_id": "A3",
                "date": "2026-05-18",
                "consultant": "张伟",
                "last_contact": "2026-05-19",
            },
            {"card_id": "A4", "date": "2026-05-01", "consultant": None},
        )
    )
    result = followup(leads=leads, date=D, team=("张伟", "李娜", "王强"))
    by = result.by_consultant
    assert by["consultant"].tolist() == ["李娜", None, "张伟", "王强"]
    assert by.set_index(by["consultant"].fillna("-")).loc["王强", "open"] == 0
    mine = followup(leads=leads, date=D, team=("张伟", "李娜", "王强"), consultant="李娜")
    assert set(mine.leads["consultant"]) == {"李娜"}
    with pytest.raises(ValueError, match="王五"):
        followup(leads=leads, date=D, team=("张伟",), consultant="王五")
    with pytest.raises(ValueError, match="date"):
        followup(leads=leads, date="next monday")


def test_json_has_the_contract_keys_and_masks_contacts():
    leads = lead_table(
        cards(
            {
                "card_id": "A1",
                "date": "2026-05-01",
                "name": "张三丰",
                "phone": "13812341234",
                "source": "outreach",
                "event_id": "E1",
            }
        )
    )
    doc = followup_json(followup(leads=leads, date=D))
    assert set(doc) >= {"date", "leads", "by_consultant"}
    lead = doc["leads"][0]
    assert set(lead) >= {
        "lead_id",
        "card_id",
        "grade",
        "consultant",
        "source",
        "event_id",
        "last_contact",
        "due_date",
        "days_overdue",
    }
    assert (lead["source"], lead["event_id"], lead["days_overdue"]) == ("outreach", "E1", 18)
    assert lead["phone"] == "138****1234" and lead["name"] == "张**"
    assert set(doc["by_consultant"][0]) >= {"consultant", "open", "due", "overdue"}
    full = followup_json(followup(leads=leads, date=D), contacts="full")
    assert full["leads"][0]["phone"] == "13812341234" and full["contacts"] == "full"


def test_the_call_list_has_one_sheet_per_consultant_masked_with_a_footer(tmp_path):
    leads = lead_table(
        cards(
            {
                "card_id": "A1",
                "date": "2026-05-01",
                "phone": "13812341234",
                "name": '=HYPERLINK("x")',
                "consultant": "张伟",
            },
            {"card_id": "A2", "date": "2026-05-01", "phone": "13900001111", "consultant": "李/娜"},
        )
    )
    result = followup(leads=leads, date=D, team=("张伟", "李/娜"))
    path = write_call_list(result, tmp_path / "calls.xlsx", lang="zh")
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "张伟", "李_娜"]
    sheet = book["张伟"]
    values = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not any(PHONE_PATTERN.search(v) for v in values)
    assert "138****1234" in values
    assert "已脱敏" in sheet.oddFooter.center.text and "已脱敏" in values[-1]
    assert not any(v.startswith("=") for v in values)
    full = write_call_list(result, tmp_path / "full.xlsx", contacts="full", lang="en")
    sheet = load_workbook(full)["张伟"]
    assert "13812341234" in [c.value for row in sheet.iter_rows() for c in row]
    assert "FULL" in sheet.oddFooter.center.text
    with pytest.raises(ValueError, match="xlsx"):
        write_call_list(result, tmp_path / "calls.csv")


# ----------------------------------------------------------------------------- updates

CARDS = (
    "card_id,card_type,date,grade,status,phone,consultant,last_contact,lon,lat\n"
    f"A1,A,2026-05-01,B,open,13812341234,张伟,2026-05-02,{X},{Y}\n"
    f"A2,A,2026-05-02,C,open,13900001111,李娜,,{X},{Y}\n"
)
TEAM = '\n[team]\nconsultants = ["张伟", "李娜"]\n'


@pytest.fixture
def ws(tmp_path):
    return load_workspace(
        make_workspace(tmp_path / "ws", cards=CARDS, dealer=DEALER + TEAM), use_store=False
    )


def test_a_recorded_contact_moves_the_lead_off_the_list(ws):
    before = followup(ws, date="2026-05-20")
    assert set(before.leads["lead_id"]) == {"A1", "A2"}
    record_updates(
        ws,
        [LeadUpdate("A2", contacted="2026-05-20", grade="A")],
        who="李娜",
        today=dt.date(2026, 5, 20),
    )
    after = followup(load_workspace(ws.root), date="2026-05-20")
    assert set(after.leads["lead_id"]) == {"A1"}
    lead = lead_table(load_workspace(ws.root).cards).set_index("lead_id").loc["A2"]
    assert lead["grade"] == "A" and lead["last_contact"] == pd.Timestamp("2026-05-20")
    entry = Journal(ws.root).entries()[-1]
    assert entry.who == "李娜" and entry.data["before"] == {"grade": "C", "last_contact": None}


def test_won_and_lost_updates_close_the_lead_and_reopen_it(ws):
    today = dt.date(2026, 5, 20)
    record_updates(
        ws,
        [LeadUpdate("A1", status="lost", lost_reason="买了竞品", contacted="2026-05-19")],
        today=today,
    )
    lead = lead_table(load_workspace(ws.root).cards).set_index("lead_id").loc["A1"]
    assert (lead["status"], lead["lost_reason"]) == ("lost", "买了竞品")
    assert lead["closed_date"] == pd.Timestamp("2026-05-19")
    again = load_workspace(ws.root)
    record_updates(again, [LeadUpdate("A1", status="open")], today=today)
    lead = lead_table(load_workspace(ws.root).cards).set_index("lead_id").loc["A1"]
    assert lead["status"] == "open" and pd.isna(lead["closed_date"]) and lead["lost_reason"] is None


def test_bad_updates_are_refused_and_nothing_is_written(ws):
    today = dt.date(2026, 5, 20)
    bad = [
        LeadUpdate("NOPE", grade="H"),
        LeadUpdate("A1", grade="D"),
        LeadUpdate("A1", status="maybe"),
        LeadUpdate("A1", contacted="2026-04-01"),
        LeadUpdate("A1", contacted="2026-06-30"),
        LeadUpdate("A2", lost_reason="太贵"),
        LeadUpdate("A2", consultant="王五"),
        LeadUpdate("A2"),
    ]
    with pytest.raises(UpdateError) as info:
        record_updates(ws, bad, today=today)
    assert len(info.value.problems) == len(bad)
    keys = [k for k, _ in info.value.problems]
    assert keys == [
        "update.unknown_lead",
        "update.bad_grade",
        "update.bad_status",
        "update.before_start",
        "update.future",
        "update.reason_not_lost",
        "update.bad_consultant",
        "update.nothing",
    ]
    assert "王五" in " ".join(info.value.messages("en"))
    assert not Journal(ws.root).exists


def test_a_handover_sets_one_consultant_for_the_whole_lead(tmp_path):
    root = make_workspace(
        tmp_path / "ws",
        dealer=DEALER + TEAM,
        cards=CARDS + f"D1,deposit,2026-05-09,,open,13812341234,张伟,,{X},{Y}\n",
    )
    ws = load_workspace(root, use_store=False)
    record_updates(ws, [LeadUpdate("A1", consultant="李娜")], today=dt.date(2026, 5, 20))
    merged = load_workspace(root)
    assert set(merged.cards.loc[merged.cards["lead_id"] == "A1", "consultant"]) == {"李娜"}
    assert not [p for p in merged.notices if p.key == "notice.lead_two_consultants"]


# ----------------------------------------------------------------------------- lost leads


def test_lost_reasons_by_source_and_consultant():
    leads = lead_table(
        cards(
            {
                "date": "2026-05-01",
                "status": "lost",
                "lost_reason": "价格太高",
                "source": "online",
                "last_contact": "2026-05-02",
            },
            {
                "date": "2026-05-01",
                "status": "lost",
                "lost_reason": " 价格太高。",
                "source": "online",
                "consultant": "李娜",
            },
            {
                "date": "2026-05-01",
                "status": "lost",
                "lost_reason": "买了竞品",
                "source": "showroom",
                "last_contact": "2026-05-03",
            },
            {"date": "2026-05-01", "status": "lost", "source": "showroom"},
            {"date": "2026-05-01", "status": "won", "source": "showroom"},
        )
    )
    by_source = lost_analysis(leads=leads, by="source", lang="en")
    assert by_source.lost == 4
    reasons = by_source.reasons.set_index("label")
    assert reasons.loc["价格太高", "count"] == 2 and reasons.loc["价格太高", "share"] == 0.5
    assert (
        reasons.loc["价格太高", "by:online"] == 2
        and reasons.loc["No reason given", "by:showroom"] == 1
    )
    rows = by_source.rows.set_index("key")
    assert rows.loc["showroom", ["closed", "lost", "out_of_control"]].tolist() == [3, 2, 1]
    assert rows.loc["online", "top_reason"] == "价格太高"
    by_consultant = lost_analysis(leads=leads, by="consultant").rows.set_index("key")
    assert by_consultant.loc["李娜", "lost"] == 1 and by_consultant.loc["张伟", "lost"] == 3
    doc = lost_json(by_source)
    assert doc["reasons"][0] == {
        "reason": "价格太高",
        "key": "价格太高",
        "count": 2,
        "share": 0.5,
        "by": {"showroom": 0, "online": 2},
    }
    assert reason_key("价格太高。") == reason_key(" 价格太高 ")
    with pytest.raises(ValueError, match="by must be"):
        lost_analysis(leads=leads, by="district")

"""Recording outings (territory record) and reviewing them (territory review): the outreach loop.

On copies of the demo (every write goes to the copy's journal) and on tiny
literal tables whose expectations are computed by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from territory.cli import main
from territory.inputs.demo import write_demo
from territory.inputs.journal import JOURNAL_FILE, Journal
from territory.inputs.workspace import load_workspace
from territory.leads.lifecycle import lead_table
from territory.leads.record import Outing, record_outing
from territory.leads.review import event_review
from territory.outreach.plan import build_plan

EVENT, ZONE, DAY = "E041", "510107005", dt.date(2026, 11, 21)  # a planned street spot of the demo
TODAY = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = write_demo(tmp_path_factory.mktemp("loop") / "demo")
    load_workspace(folder, save_store=True)
    return folder


@pytest.fixture
def ws_copy(base, tmp_path):
    import shutil

    target = tmp_path / "ws"
    shutil.copytree(base, target)
    return target


def form_csv(path: Path, rows: list[tuple], *, header=("序号", "姓名", "电话", "级别 H/A/B/C")):
    lines = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def open_lead_phone(folder) -> tuple[str, str]:
    leads = lead_table(load_workspace(folder).cards)
    lead = leads[leads["status"].eq("open") & leads["phone"].notna()].iloc[0]
    return lead["lead_id"], lead["phone"]


def test_a_form_row_whose_phone_is_an_open_lead_is_linked_not_doubled(ws_copy, tmp_path):
    lead_id, phone = open_lead_phone(ws_copy)
    before = load_workspace(ws_copy)
    n_leads = len(lead_table(before.cards))
    form = form_csv(
        tmp_path / "form.csv",
        [(1, "王先生", "13900001111", "H"), (2, "赵女士", f"+86 {phone}", "B")],
    )
    result = record_outing(before, Outing(EVENT, form=form, cost=300), today=TODAY)
    assert (result.leads_added, result.leads_linked) == (1, 1)
    assert result.linked == [{"row": 3, "card_id": f"{EVENT}-R003", "lead_id": lead_id}]
    after = load_workspace(ws_copy)
    leads = lead_table(after.cards)
    assert len(leads) == n_leads + 1  # one new lead, the other linked
    mine = after.cards[after.cards["event_id"].astype(object).eq(EVENT)]
    assert sorted(mine["lead_id"]) == sorted([lead_id, f"{EVENT}-R002"])
    assert set(mine["source"]) == {"outreach"} and set(mine["card_type"]) == {"A"}
    event = after.events.set_index("event_id").loc[EVENT]
    assert (event["status"], event["cost"]) == ("done", 300.0)
    # the user's files are untouched: the journal holds the edits
    assert "E041-R002" not in (ws_copy / "cards.csv").read_text(encoding="utf-8")
    # importing the corrected form again replaces the first import instead of doubling it
    form_csv(tmp_path / "form.csv", [(1, "王先生", "13900001111", "A")])
    again = record_outing(after, Outing(EVENT, form=form), today=TODAY)
    assert (again.leads_added, again.leads_linked) == (1, 0)
    final = load_workspace(ws_copy)
    mine = final.cards[final.cards["event_id"].astype(object).eq(EVENT)]
    assert list(mine["card_id"]) == [f"{EVENT}-R002"] and list(mine["grade"]) == ["A"]


def test_a_later_deposit_typed_with_the_visitors_phone_joins_the_form_lead(ws_copy, tmp_path):
    ws = load_workspace(ws_copy)
    form = form_csv(tmp_path / "form.csv", [(1, "王先生", "13900001111", "H")])
    record_outing(ws, Outing(EVENT, form=form), today=TODAY)
    cards = pd.read_csv(ws_copy / "cards.csv", dtype=str)
    extra = cards.iloc[[0]].copy()
    extra.loc[:, :] = None
    extra["card_id"], extra["card_type"], extra["date"] = "D900001", "deposit", "2026-11-30"
    extra["phone"], extra["status"] = "13900001111", "won"
    pd.concat([cards, extra]).to_csv(ws_copy / "cards.csv", index=False)
    after = load_workspace(ws_copy)
    lead = after.cards.set_index("card_id").loc["D900001", "lead_id"]
    assert lead == f"{EVENT}-R002"
    assert not [p for p in after.notices if p.key == "notice.deposit_without_a_card"]


@pytest.mark.parametrize(
    ("args", "rows", "expect"),
    [
        (
            [],
            [(1, "甲", "13900001111", "H"), (2, "乙", "1390000", "A")],
            ["row 3", "电话", "wrong format"],
        ),
        ([], [(1, "甲", "13900001111", "H"), (2, "乙", "139-0000-1111", "A")], ["row 3", "row 2"]),
        ([], [(1, "甲", "13900001111", "X")], ["row 2", "级别 H/A/B/C", "unknown grade"]),
        (["--cost", "-5"], [(1, "甲", "13900001111", "H")], ["--cost", "not zero or a positive"]),
    ],
    ids=["phone", "duplicate", "grade", "negative-cost"],
)
def test_bad_input_is_exit_2_with_row_and_column_and_nothing_written(
    ws_copy, tmp_path, capsys, args, rows, expect
):
    form = form_csv(tmp_path / "bad.csv", rows)
    code = main(
        ["record", str(ws_copy), "--event", EVENT, "--form", str(form), "--lang", "en", *args]
    )
    err = capsys.readouterr().err
    assert code == 2
    for text in expect:
        assert text in err, err
    assert not (ws_copy / JOURNAL_FILE).exists()


def test_a_date_outside_the_outings_day_an_unknown_event_and_a_foreign_xlsx_are_refused(
    ws_copy, tmp_path, capsys
):
    form = form_csv(
        tmp_path / "dated.csv",
        [(1, "甲", "13900001111", "H", "2026-11-22")],
        header=("序号", "姓名", "电话", "级别", "日期"),
    )
    assert (
        main(["record", str(ws_copy), "--event", EVENT, "--form", str(form), "--lang", "en"]) == 2
    )
    err = capsys.readouterr().err
    assert "row 2" in err and "日期" in err and "2026-11-21" in err
    assert main(["record", str(ws_copy), "--event", "E777", "--cost", "100", "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "--event" in err and "E777" in err and "--date, --zone, --format" in err
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "cards"
    book.active.append(["card_id", "phone"])
    book.save(tmp_path / "other.xlsx")
    book.create_sheet("more")
    book.save(tmp_path / "other2.xlsx")
    assert (
        main(
            [
                "record",
                str(ws_copy),
                "--event",
                EVENT,
                "--form",
                str(tmp_path / "other2.xlsx"),
                "--lang",
                "en",
            ]
        )
        == 2
    )
    assert "not our registration form" in capsys.readouterr().err
    assert not (ws_copy / JOURNAL_FILE).exists()


def test_record_creates_an_event_and_review_reports_it_as_json(ws_copy, tmp_path, capsys):
    form = form_csv(
        tmp_path / "f.csv", [(1, "甲", "13900001111", "H"), (2, "乙", "13900002222", "")]
    )
    code = main(
        ["record", str(ws_copy), "--event", "X1", "--date", "2026-11-29", "--zone", ZONE,
         "--format", "wave_down_test_drive", "--cost", "400", "--staff", "3", "--form", str(form), "--json"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {k: doc[k] for k in ("event_id", "status", "cost", "leads_added", "leads_linked")} == {
        "event_id": "X1", "status": "done", "cost": 400.0, "leads_added": 2, "leads_linked": 0
    }  # fmt: skip
    assert main(["review", str(ws_copy), "--event", "X1", "--json"]) == 0
    review = json.loads(capsys.readouterr().out)
    for key in ("event_id", "date", "zone_id", "format", "cost", "leads", "followed_on_time",
                "visits", "deposits", "sales", "cost_per_lead", "cost_per_sale", "targets", "weeks"):  # fmt: skip
        assert key in review, key
    assert (review["leads"], review["cost_per_lead"], len(review["weeks"])) == (2, 200.0, 4)
    assert review["targets"]["leads"] > 0 and "rule" in review
    assert main(["review", str(ws_copy), "--month", "2026-11", "--json"]) == 0
    month = json.loads(capsys.readouterr().out)
    assert "X1" in [e["event_id"] for e in month["events"]]
    assert main(["review", str(ws_copy), "--event", "NOPE", "--lang", "en"]) == 2
    # export writes the merged result: the new event and its form cards, phones masked
    assert main(["export", str(ws_copy), "--out", str(tmp_path / "out")]) == 0
    cards = pd.read_csv(tmp_path / "out" / "cards.csv", dtype=str)
    form_cards = cards[cards["event_id"].eq("X1")]
    assert sorted(form_cards["card_id"]) == ["X1-R002", "X1-R003"]
    assert form_cards["phone"].str.fullmatch(r"139\*{4}\d{4}").all()
    events = pd.read_csv(tmp_path / "out" / "events.csv", dtype=str).set_index("event_id")
    assert (events.loc["X1", "status"], events.loc["X1", "zone_id"]) == ("done", ZONE)


def test_review_week_buckets_on_a_tiny_literal_case():
    """Hand-computed: event E1 on Monday 2026-11-02, 28 days, three form leads.

    L1 (H, contacted 11-03: due 11-05), L2 (C, contacted 11-03: due 11-18; showroom A-card
    11-10, deposit won 11-20), L3 (B, never contacted: due 11-03; deposit 12-05, outside).
    """
    cards = pd.DataFrame(
        {
            "card_id": ["F1", "F2", "F3", "S2", "D2", "D3", "X9"],
            "lead_id": ["L1", "L2", "L3", "L2", "L2", "L3", "L9"],
            "card_type": ["A", "A", "A", "A", "deposit", "deposit", "A"],
            "event_id": ["E1", "E1", "E1", None, None, None, "E2"],
            "source": ["outreach", "outreach", "outreach", "showroom", None, None, "outreach"],
            "date": pd.to_datetime(
                [
                    "2026-11-02",
                    "2026-11-02",
                    "2026-11-02",
                    "2026-11-10",
                    "2026-11-20",
                    "2026-12-05",
                    "2026-11-02",
                ]
            ),
            "status": ["open", "open", "open", "open", "won", "won", "open"],
            "grade": ["H", "C", "B", "C", "C", "B", "H"],
            "last_contact": pd.to_datetime(
                ["2026-11-03", "2026-11-03", None, None, None, None, None]
            ),
            "closed_date": pd.to_datetime([None] * 7),
        }
    )
    r = event_review(cards, event_id="E1", day="2026-11-02", days=28, as_of="2026-12-31")
    got = [
        (
            w["week"],
            w["start"],
            w["end"],
            w["leads"],
            w["open"],
            w["followed_on_time"],
            w["visits"],
            w["deposits"],
            w["sales"],
        )
        for w in r["weeks"]
    ]
    assert got == [
        (1, "2026-11-02", "2026-11-08", 3, 3, 1, 0, 0, 0),
        (2, "2026-11-09", "2026-11-15", 0, 3, 1, 1, 0, 0),
        (3, "2026-11-16", "2026-11-22", 0, 2, 1, 0, 1, 1),
        (4, "2026-11-23", "2026-11-29", 0, 2, 1, 0, 0, 0),
    ]
    assert (r["leads"], r["visits"], r["deposits"], r["sales"], r["followed_on_time"]) == (
        3,
        1,
        1,
        1,
        1,
    )
    # a contact recorded in the journal on 11-07 keeps L1 on cadence in week 1 (due 11-09), not week 2
    j = event_review(
        cards,
        event_id="E1",
        day="2026-11-02",
        as_of="2026-12-31",
        journal_contacts={"L1": ["2026-11-07"]},
    )
    assert [w["followed_on_time"] for w in j["weeks"]] == [2, 1, 1, 1]
    # weeks after as_of are not over and count nothing yet
    early = event_review(cards, event_id="E1", day="2026-11-02", as_of="2026-11-12")
    assert [w["complete"] for w in early["weeks"]] == [True, False, False, False]
    assert (early["visits"], early["sales"]) == (1, 0)


def test_the_plans_actual_column_is_filled_after_record(ws_copy, tmp_path):
    ws = load_workspace(ws_copy)
    plan = build_plan(ws, zone_id=ZONE, date=DAY, today=TODAY)
    table = plan.section("kpi").table
    actual = table.columns[2]
    assert plan.actual is None and set(table[actual]) == {""}
    form = form_csv(tmp_path / "f.csv", [(i, "甲", f"1390000{i:04d}", "B") for i in range(1, 6)])
    record_outing(ws, Outing(EVENT, form=form, cost=500), today=TODAY)
    plan = build_plan(load_workspace(ws_copy), zone_id=ZONE, date=DAY, today=TODAY)
    table = plan.section("kpi").table.set_index(plan.section("kpi").table.columns[0])
    actual = table.columns[1]
    assert plan.event_id == EVENT and EVENT in actual
    assert table.loc["新增线索", actual] == "5"
    assert table.loc["单线索成本", actual] == "100 元"
    assert table.loc["新增线索", "目标"] == str(plan.kpi["new_leads"])
    # the printed plan fills the same figures into its KPI box's actual column
    from territory.i18n import t
    from territory.render._printpages import _actuals

    assert _actuals(plan, "zh")[t("plan.kpi.new_leads", "zh")] == "5"


def test_sites_planned_from_the_sites_page_are_events_and_never_doubled(ws_copy):
    from territory.leads.record import plan_sites

    ws = load_workspace(ws_copy)
    day = dt.date(2026, 12, 12)
    ids = plan_sites(
        ws, [(ZONE, "wave_down_test_drive"), ("510105010", "evening_display")], date=day
    )
    assert ids == ["P20261212-1", "P20261212-2"]
    again = load_workspace(ws_copy)
    assert plan_sites(again, [(ZONE, "wave_down_test_drive")], date=day) == []
    planned = again.events[again.events["event_id"].isin(ids)]
    assert set(planned["status"]) == {"planned"} and set(planned["zone_id"]) == {ZONE, "510105010"}
    assert {e.data["origin_page"] for e in Journal(ws_copy).entries("event_record")} == {"sites"}


def test_an_english_csv_form_and_a_voucher_code_attribute_a_deposit_with_another_phone(tmp_path):
    from territory.inputs.regform import read_form

    path = tmp_path / "form.csv"
    path.write_text(
        "No.,Name,Phone,Grade H/A/B/C,Voucher\n1,Wang,+86 139-0000-1111,h,V-77\n2,,,,\n",
        encoding="utf-8",
    )
    form = read_form(path, event_date=dt.date(2026, 11, 2))
    assert not form.problems
    assert form.rows[["row", "phone", "grade", "voucher"]].values.tolist() == [
        [2, "13900001111", "H", "V-77"]
    ]
    cards = pd.DataFrame(
        {
            "card_id": ["E1-R002", "D5"],
            "lead_id": ["E1-R002", "D5"],  # the deposit was typed with another phone: own lead
            "card_type": ["A", "deposit"],
            "event_id": ["E1", None],
            "voucher": ["V-77", "V-77"],
            "date": pd.to_datetime(["2026-11-02", "2026-11-12"]),
            "status": ["open", "won"],
        }
    )
    r = event_review(cards, event_id="E1", day="2026-11-02", as_of="2026-12-31")
    assert r["attributed_by"] == {"event_id": 1, "voucher": 1}
    assert (r["leads"], r["deposits"], r["sales"]) == (1, 1, 1)
    assert [w["sales"] for w in r["weeks"]] == [0, 1, 0, 0]

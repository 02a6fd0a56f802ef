"""The 13-part plan and its XLSX sheet."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from openpyxl import load_workbook
from test_analysis import _decay, grid_workspace

from territory.cli import main
from territory.outreach.plan import PART_KEYS, build_plan
from territory.outreach.plansheet import REGISTRATION_COLUMNS, neutralise, write_plan_xlsx
from territory.privacy import PHONE_PATTERN

SATURDAY = dt.date(2026, 11, 28)


@pytest.fixture
def ws():
    w = grid_workspace(5, customers_per_zone=_decay, population=30000, income=40000.0)
    w.zones.loc[w.zones["zone_id"] == "0202", "name"] = '=HYPERLINK("http://x")'
    return w


def test_plan_has_all_13_parts_in_the_seed_order(ws):
    plan = build_plan(ws, zone_id="0101", date=SATURDAY)
    assert [s.key for s in plan.sections] == list(PART_KEYS)
    assert [s.number for s in plan.sections] == list(range(1, 14))
    assert all(s.rows or s.table is not None for s in plan.sections)
    assert plan.kpi["new_leads"] > 0 and plan.kpi["participants"] >= plan.kpi["new_leads"]
    assert plan.kpi["target_orders"] >= 1
    assert sum(plan.budget.values()) > 0
    incentives = " ".join(v for _, v in plan.section("incentives").rows)
    assert "200" in incentives and "500" in incentives and "800" in incentives
    contingency = " ".join(k for k, _ in plan.section("contingency").rows)
    assert "下雨" in contingency and "人流不足" in contingency


def test_plan_in_english(ws):
    plan = build_plan(ws, zone_id="0101", date=SATURDAY, lang="en")
    assert plan.sections[0].title == "Main information"
    assert plan.section("kpi").title == "KPI targets"


def test_publicity_never_starts_before_today(ws):
    """An outing on 12-12 planned on 12-07: publicity from 12-07, flagged as short (was 12-05)."""
    day, today = dt.date(2026, 12, 12), dt.date(2026, 12, 7)
    table = build_plan(ws, zone_id="0101", date=day, today=today).section("publicity").table
    assert set(table["日期"]) == {"2026-12-07 – 2026-12-11"}
    assert all("仅 5 天" in note for note in table["备注"])
    # A week or more ahead: the full week before the outing, no note.
    early = build_plan(ws, zone_id="0101", date=day, today=dt.date(2026, 12, 1))
    table = early.section("publicity").table
    assert set(table["日期"]) == {"2026-12-05 – 2026-12-11"} and "备注" not in table
    # Tomorrow: one day, today.
    english = build_plan(ws, zone_id="0101", date=day, today=dt.date(2026, 12, 11), lang="en")
    table = english.section("publicity").table
    assert set(table["Dates"]) == {"2026-12-11 – 2026-12-11"}
    assert all(note.startswith("only 1 day(s)") for note in table["Note"])
    for section_table in (table,):
        first_days = [d.split(" – ")[0] for d in section_table["Dates"]]
        assert min(first_days) >= "2026-12-11"


def test_unknown_zone(ws):
    with pytest.raises(KeyError, match="territory score"):
        build_plan(ws, zone_id="nope", date=SATURDAY)


def test_xlsx_has_13_parts_and_the_registration_form(ws, tmp_path):
    plan = build_plan(ws, zone_id="0202", date=SATURDAY)
    path = write_plan_xlsx(plan, tmp_path / "plan.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["外拓计划", "外拓客户登记表"]
    text = [
        str(c.value) for row in book["外拓计划"].iter_rows() for c in row if c.value is not None
    ]
    for section in plan.sections:
        assert f"{section.number}. {section.title}" in text
    assert any(v == "☐" for v in text)
    form = book["外拓客户登记表"]
    headers = [c.value for c in form[3]]
    assert headers[: len(REGISTRATION_COLUMNS)][:3] == ["序号", "姓名", "电话"]
    assert headers[len(REGISTRATION_COLUMNS) - 1] == "备注"  # a short header, not the consent note
    assert form.max_row >= 33 and form["B4"].value is None  # blank rows to fill in by hand
    # A zone name that looks like a formula is neutralised, never a formula.
    assert any(v.startswith("'=HYPERLINK") for v in text)
    assert not any(c.data_type == "f" for row in book["外拓计划"].iter_rows() for c in row)
    assert not any(PHONE_PATTERN.search(v) for v in text)


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2", "@SUM(A1)"])
def test_neutralise(value):
    assert neutralise(value) == "'" + value
    assert neutralise("玉林街道") == "玉林街道"


def test_plan_command(tiny_ws, tmp_path, capsys):
    out = tmp_path / "plan.xlsx"
    assert (
        main(["plan", str(tiny_ws), "--site", "001", "--date", "2026-11-28", "--out", str(out)])
        == 0
    )
    assert out.exists()
    assert (
        main(
            [
                "plan",
                str(tiny_ws),
                "--site",
                "999",
                "--date",
                "2026-11-28",
                "--out",
                str(out),
                "--lang",
                "en",
            ]
        )
        == 2
    )
    assert "no zone '999'" in capsys.readouterr().err
    assert (
        main(["plan", str(tiny_ws), "--site", "001", "--date", "28/11/2026", "--out", str(out)])
        == 2
    )


def test_recommend_command_json(tiny_ws, capsys):
    import json

    assert main(["recommend", str(tiny_ws), "--date", "2026-11-28", "--top", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["date"] == "2026-11-28" and len(doc["sites"]) == 2
    assert re.match(r"\d{3}", doc["sites"][0]["zone_id"])


def test_recommend_command_takes_weights_and_rotation(tiny_ws, capsys):
    import json

    def sites(*extra: str) -> list[dict]:
        argv = ["recommend", str(tiny_ws), "--date", "2026-11-28", "--top", "4", "--json"]
        assert main([*argv, *extra]) == 0
        return json.loads(capsys.readouterr().out)["sites"]

    only_distance = [
        f"--weight={k}={1 if k == 'distance' else 0}"
        for k in ("whitespace", "r_score", "density", "distance", "history")
    ]
    by_distance = sites(*only_distance)
    # With distance the only weight, a site's score is its distance term (times date and rotation).
    for s in by_distance:
        assert s["score"] == pytest.approx(
            s["terms"]["distance"] * s["date_fit"] * s["rotation_factor"]
        )
    default = sites()
    assert [s["score"] for s in default] != [s["score"] for s in by_distance]
    assert sites("--weight", "whitespace=0.9", "--rotation-weeks", "0")  # accepted
    assert main(["recommend", str(tiny_ws), "--weight", "nearness=1"]) == 2
    assert "nearness=1" in capsys.readouterr().err
    assert main(["recommend", str(tiny_ws), "--weight", "distance=-1", "--lang", "en"]) == 2
    assert "invalid weight" in capsys.readouterr().err

"""``territory followup / funnel / lost / lead`` on the demo and on tiny workspaces."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DEALER, centre, make_workspace
from openpyxl import load_workbook

from territory.cli import main
from territory.inputs.demo import demo_path, write_demo
from territory.inputs.journal import Journal

PLANTED = json.loads((demo_path() / "planted.json").read_text(encoding="utf-8"))["leads"]
MONDAY = PLANTED["followup_date"]
PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("cli") / "demo")


def run(capsys, *argv) -> tuple[int, dict | None, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    try:
        doc = json.loads(out.out) if out.out.strip() else None
    except ValueError:
        doc = None
    return code, doc, out.err


def test_followup_on_the_demo_puts_the_planted_behind_consultants_on_top(demo, capsys, tmp_path):
    code, doc, err = run(
        capsys, "followup", demo, "--date", MONDAY, "--json", "--out", tmp_path / "calls.xlsx"
    )
    assert code == 0, err
    assert doc["date"] == MONDAY
    behind = set(PLANTED["behind_consultants"])
    assert {r["consultant"] for r in doc["by_consultant"][:2]} == behind
    top = doc["leads"][:20]
    assert sum(lead["consultant"] in behind for lead in top) >= 18
    days = [lead["days_overdue"] for lead in doc["leads"]]
    assert days == sorted(days, reverse=True) and min(days) >= 0
    for row in doc["by_consultant"]:
        mine = [lead for lead in doc["leads"] if lead["consultant"] == row["consultant"]]
        assert row["due"] == sum(lead["days_overdue"] == 0 for lead in mine)
        assert row["overdue"] == sum(lead["days_overdue"] > 0 for lead in mine)
    assert not PHONE.search(json.dumps(doc, ensure_ascii=False))
    outreach = [lead for lead in doc["leads"] if lead["event_id"]]
    assert outreach and all(lead["source"] == "outreach" for lead in outreach)
    book = load_workbook(tmp_path / "calls.xlsx")
    assert book.sheetnames[0] == "汇总" and set(PLANTED["team"]) <= set(book.sheetnames)
    for name in book.sheetnames:
        for row in book[name].iter_rows(values_only=True):
            assert not any(isinstance(v, str) and PHONE.search(v) for v in row)
    assert "已脱敏" in book[PLANTED["team"][0]].oddFooter.center.text


def test_followup_full_contacts_are_said_in_the_footer(demo, capsys, tmp_path):
    consultant = PLANTED["team"][0]
    code, doc, err = run(
        capsys,
        "followup",
        demo,
        "--date",
        MONDAY,
        "--consultant",
        consultant,
        "--contacts",
        "full",
        "--out",
        tmp_path / "full.xlsx",
        "--json",
        "--lang",
        "en",
    )
    assert code == 0, err
    assert {lead["consultant"] for lead in doc["leads"]} == {consultant}
    assert all(PHONE.fullmatch(lead["phone"]) for lead in doc["leads"])
    book = load_workbook(tmp_path / "full.xlsx")
    assert book.sheetnames == ["Summary", consultant]
    assert "FULL" in book[consultant].oddFooter.center.text


def test_followup_text_output_and_bad_options(demo, capsys):
    code, _, err = run(capsys, "followup", demo, "--date", MONDAY, "--top", "3")
    assert code == 0
    code, _, err = run(capsys, "followup", demo, "--consultant", "王五", "--lang", "en")
    assert code == 2 and "王五" in err and "Traceback" not in err
    code, _, err = run(capsys, "followup", demo, "--date", "next monday")
    assert code == 2 and "next monday" in err
    code, _, err = run(capsys, "followup", demo, "--out", "calls.csv")
    assert code == 2 and ".xlsx" in err


def test_funnel_by_consultant_names_the_weakest_lever(demo, capsys):
    code, doc, err = run(capsys, "funnel", demo, "--by", "consultant", "--json", "--lang", "en")
    assert code == 0, err
    assert doc["by"] == "consultant"
    rows = {r["key"]: r for r in doc["rows"]}
    assert set(PLANTED["team"]) <= set(rows)
    for row in doc["rows"]:
        assert set(row) >= {"key", "N", "K", "F", "C", "P", "sales"}
        assert row["N"] is None and row["K"] is None  # traffic is not per consultant
        assert row["missing"]["K"] == "traffic_not_by"
        assert row["sales"] == row["deals"]
    for name in PLANTED["behind_consultants"]:
        assert rows[name]["best_lever"] == "F"
        assert rows[name]["F"] < doc["median"]["F"]
    assert any("not computed per consultant" in note for note in doc["notes"])
    assert [level["grade"] for level in doc["pyramid"]["levels"]] == ["H", "A", "B", "C"]


def test_funnel_for_the_dealer_uses_the_traffic_file(demo, capsys):
    code, doc, err = run(capsys, "funnel", demo, "--json")
    assert code == 0, err
    row = doc["rows"][0]
    assert row["key"] == "all" and row["N"] == PLANTED["traffic_visitors"]
    assert row["K"] == pytest.approx(row["cards"] / row["N"])
    assert row["N"] * row["K"] * row["F"] * row["C"] == pytest.approx(row["sales"])
    code, doc, _ = run(
        capsys,
        "funnel",
        demo,
        "--by",
        "source",
        "--from",
        "2026-08-01",
        "--to",
        "2026-08-31",
        "--json",
    )
    rows = {r["key"]: r for r in doc["rows"]}
    assert rows["showroom"]["N"] > 0 and 0 < rows["showroom"]["K"] < rows["referral"]["K"] <= 1
    code, _, err = run(capsys, "funnel", demo, "--from", "2026-09-01", "--to", "2026-08-01")
    assert code == 2 and "Traceback" not in err


def test_funnel_without_traffic_says_k_cannot_be_computed(tiny_ws, capsys):
    code, doc, err = run(capsys, "funnel", tiny_ws, "--json", "--lang", "en")
    assert code == 0, err
    row = doc["rows"][0]
    assert row["K"] is None and row["N"] is None
    assert row["missing"]["K"] == "no_traffic"
    assert any("traffic" in n for n in doc["notes"])
    code, _, err = run(capsys, "funnel", tiny_ws, "--lang", "en")
    assert "N —" in capsys.readouterr().out or "cannot be computed" in err


def test_lost_by_source_and_consultant(demo, capsys):
    code, doc, err = run(capsys, "lost", demo, "--json")
    assert code == 0, err
    assert doc["lost"] == sum(PLANTED["lost_reasons"].values())
    counted = {r["reason"]: r["count"] for r in doc["reasons"]}
    for reason, n in PLANTED["lost_reasons"].items():
        if reason:
            assert counted[reason] == n
    code, doc, _ = run(capsys, "lost", demo, "--by", "consultant", "--json")
    rows = {r["key"]: r for r in doc["rows"]}
    behind = PLANTED["behind_consultants"]
    good = [c for c in PLANTED["team"] if c not in behind]
    assert min(rows[c]["out_of_control"] for c in behind) > max(
        rows[c]["out_of_control"] for c in good
    )


def test_lead_records_to_the_journal_and_every_command_sees_it(tmp_path, capsys):
    x, y = centre(1)
    root = make_workspace(
        tmp_path / "ws",
        dealer=DEALER + '[team]\nconsultants = ["张伟", "李娜"]\n',
        cards=(
            "card_id,card_type,date,grade,status,phone,consultant,lon,lat\n"
            f"A1,A,2026-05-01,B,open,13812341234,张伟,{x},{y}\n"
        ),
    )
    cards_before = (root / "cards.csv").read_bytes()
    code, doc, err = run(
        capsys,
        "lead",
        root,
        "--lead",
        "A1",
        "--contacted",
        "2026-05-03",
        "--grade",
        "A",
        "--who",
        "张伟",
        "--json",
    )
    assert code == 0, err
    assert doc["batch"] == 1 and doc["edits"][0]["grade"] == "A"
    code, doc, _ = run(capsys, "followup", root, "--date", "2026-05-05", "--json")
    assert doc["leads"] == []  # contacted on the 3rd, grade A: due on the 6th
    code, doc, _ = run(capsys, "followup", root, "--date", "2026-05-06", "--json")
    assert [(r["lead_id"], r["grade"], r["last_contact"]) for r in doc["leads"]] == [
        ("A1", "A", "2026-05-03")
    ]
    code, _, err = run(
        capsys,
        "lead",
        root,
        "--lead",
        "A1",
        "--status",
        "lost",
        "--reason",
        "买了竞品",
        "--contacted",
        "2026-05-07",
    )
    assert code == 0, err
    code, doc, _ = run(capsys, "lost", root, "--json")
    assert doc["reasons"][0]["reason"] == "买了竞品"
    out = tmp_path / "out"
    code, _, err = run(capsys, "export", root, "--out", out, "--include-personal-data")
    assert code == 0, err
    exported = (out / "cards.csv").read_text(encoding="utf-8-sig")
    assert "买了竞品" in exported and "lost" in exported and "2026-05-07" in exported
    assert (root / "cards.csv").read_bytes() == cards_before
    assert [e.origin for e in Journal(root).entries()] == ["cli", "cli"]
    # bad updates: exit 2, nothing more written
    for argv in (
        ("--lead", "NOPE", "--grade", "H"),
        ("--lead", "A1", "--grade", "D"),
        ("--lead", "A1", "--contacted", "2026-04-01"),
        ("--lead", "A1", "--consultant", "王五"),
    ):
        code, _, err = run(capsys, "lead", root, *argv, "--lang", "en")
        assert code == 2 and "Traceback" not in err and "error" in err
    assert len(Journal(root).entries()) == 2

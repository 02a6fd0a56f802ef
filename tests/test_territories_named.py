"""Plans, printed field maps, site lists and the Sites page name the consultant whose territory a site is in."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from territory.cli import main
from territory.i18n import t
from territory.inputs import store
from territory.inputs.assignment import consultant_of, save_assignment
from territory.inputs.demo import write_demo
from territory.inputs.workspace import load_workspace
from territory.outreach.split import split_workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DATE = "2026-11-28"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = write_demo(tmp_path_factory.mktemp("named") / "demo")
    ws = load_workspace(folder, save_store=True)
    split = split_workspace(ws, consultants=["张伟", "李娜", "王强", "刘洋"])
    save_assignment(folder, split.assignment(), origin="api")
    return folder


def test_recommended_sites_plan_and_print_name_the_consultant(demo, tmp_path, capsys):
    owner = consultant_of(demo)
    assert main(["recommend", str(demo), "--date", DATE, "--top", "3", "--json"]) == 0
    sites = json.loads(capsys.readouterr().out)["sites"]
    assert sites and all(s["consultant"] == owner[s["zone_id"]] for s in sites)
    site = sites[0]
    assert any(site["consultant"] in r for r in site["reasons"])

    out = tmp_path / "plan.xlsx"
    assert (
        main(["plan", str(demo), "--site", site["zone_id"], "--date", DATE, "--out", str(out)]) == 0
    )
    cells = [
        str(c.value)
        for ws in load_workbook(out).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    at = cells.index(t("plan.bg.consultant", "zh"))
    assert cells[at + 1] == site["consultant"]

    pdf = tmp_path / "site.pdf"
    assert (
        main(
            [
                "print",
                str(demo),
                "--site",
                site["zone_id"],
                "--date",
                DATE,
                "--out",
                str(pdf),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert t("plan.bg.consultant", "en") in text and site["consultant"] in text


def test_sites_page_cards_name_the_consultant(demo):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERRITORY_WORKSPACE", str(demo))
        mp.setenv("TERRITORY_HOME", str(demo.parent / "home"))
        con = sqlite3.connect(demo / store.STORE_FILE)
        with con:
            con.execute("DELETE FROM settings")
        con.close()
        at = AppTest.from_file(APP, default_timeout=240)
        at.run()
        at.switch_page("territory/ui/pages/sites.py").run()
        assert not at.exception, at.exception
        owner = consultant_of(demo)
        names = set(owner.values())
        badges = [
            m.value for m in at.markdown if t("ui.sites.consultant_badge", "zh", name="") in m.value
        ]
        assert badges and all(any(n in b for n in names) for b in badges)

"""The Consultants page (顾问分区) in streamlit.testing: split, balance table, re-balance, print."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.i18n import t
from territory.inputs import store
from territory.inputs.assignment import (
    assignment_history,
    load_assignment,
    move_zone,
    save_assignment,
)
from territory.inputs.demo import write_demo
from territory.inputs.workspace import load_workspace
from territory.outreach.split import check_move, describe_assignment, split_workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "territory/ui/pages/consultants.py"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = write_demo(tmp_path_factory.mktemp("consultants") / "demo")
    load_workspace(folder, save_store=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERRITORY_WORKSPACE", str(folder))
        mp.setenv("TERRITORY_HOME", str(tmp_path_factory.mktemp("home")))
        yield folder


def page(demo_folder, lang: str = "zh") -> AppTest:
    con = sqlite3.connect(demo_folder / store.STORE_FILE)
    with con:
        con.execute("DELETE FROM settings")
    con.close()
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page(PAGE).run()
    if lang != "zh":
        at.button_group(key="w_lang").set_value(lang).run()
    assert not at.exception, at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_split_then_rebalance_then_print_on_the_demo(demo_folder):
    at = page(demo_folder)
    assert at.title[0].value == t("ui.consultants.title", "zh")
    assert t("ui.consultants.none", "zh") in [i.value for i in at.info]
    at.text_input[0].set_value("张伟、李娜、王强、刘洋")
    button(at, t("ui.consultants.first_split", "zh")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = load_assignment(demo_folder)
    assert stored is not None and set(stored["consultant"]) == {"张伟", "李娜", "王强", "刘洋"}
    history = assignment_history(demo_folder)
    assert list(history["origin"]) == ["app"]
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics[t("ui.consultants.balance_index", "zh")]) >= 95
    assert metrics[t("ui.consultants.contiguous", "zh")] == t("split.yes", "zh")
    table = at.dataframe[0].value
    assert list(table["consultant"]) == ["张伟", "李娜", "王强", "刘洋"]
    assert table["zones"].sum() == len(stored)

    # 王强 leaves: re-balance keeps everyone else's zones where possible.
    before = dict(zip(stored["zone_id"], stored["consultant"], strict=True))
    at.text_input[0].set_value("张伟、李娜、刘洋")
    button(at, t("ui.consultants.keep", "zh")).click().run()
    assert not at.exception and not at.error
    after = load_assignment(demo_folder)
    moved = {
        z for z, c in zip(after["zone_id"], after["consultant"], strict=True) if before[z] != c
    }
    assert moved == {z for z, c in before.items() if c == "王强"}
    assert any("已重新平衡" in s.value for s in at.success)

    # The printable maps: everyone, with the overview page.
    button(at, t("ui.consultants.make_pdf", "zh")).click().run()
    assert not at.exception and not at.error
    download = at.get("download_button")
    assert download and "7" in download[0].proto.label  # overview + 3 × (map + zone list)


def test_the_page_in_english_and_a_zone_handed_over_by_hand(demo_folder):
    ws = load_workspace(demo_folder)
    first = split_workspace(ws, consultants=["张伟", "李娜", "王强", "刘洋"])
    save_assignment(demo_folder, first.assignment(), origin="api")
    split = describe_assignment(ws, load_assignment(demo_folder))
    # A zone on a border between two territories can be handed over; far from one, it cannot.
    graph, zones = split.graph, split.zones.reset_index(drop=True)
    owner = list(zones["consultant"])
    border = next(
        (i, owner[j])
        for i in range(len(owner))
        for j in graph.neighbours[i]
        if owner[j] != owner[i] and check_move(split, zones["zone_id"][i], owner[j]) is None
    )
    zone, taker = zones["zone_id"][border[0]], border[1]
    far = next(c for c in split.consultants if check_move(split, zone, c) == "move.not_adjacent")
    assert far != taker
    move_zone(demo_folder, zone, taker, origin="app")
    at = page(demo_folder, "en")
    assert at.title[0].value == t("ui.consultants.title", "en")
    table = at.dataframe[0].value
    assert table.set_index("consultant").loc[taker, "zones"] == sum(
        1 for c in load_assignment(demo_folder)["consultant"] if c == taker
    )
    assert t("ui.consultants.keep", "en") in [b.label for b in at.button]

"""The Review page (活动复盘) and the Sites page's "add to the plan" button in streamlit.testing.

On a fresh copy of the demo per test (records go to the copy's journal).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.i18n import t
from territory.inputs import store
from territory.inputs.demo import write_demo
from territory.inputs.journal import Journal
from territory.inputs.workspace import load_workspace
from territory.leads.record import Outing, record_outing

APP = str(Path(__file__).resolve().parent.parent / "app.py")
EVENT = "E041"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = write_demo(tmp_path / "demo")
    load_workspace(folder, save_store=True)
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(folder))
    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path / "home"))
    return folder


def run_page(page: str, lang: str = "zh", **widgets) -> AppTest:
    store.save_ui_settings(Path(os.environ["TERRITORY_WORKSPACE"]), {"lang": lang})
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in widgets.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def frame_with(at, column: str):
    """The first table showing ``column`` (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.info, *at.success, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def test_review_page_records_a_form_refuses_a_bad_one_and_reviews_the_outing(folder, tmp_path):
    ws = load_workspace(folder)
    form = tmp_path / "form.csv"
    form.write_text(
        "序号,姓名,电话,级别\n1,王先生,13900001111,H\n2,李女士,13900002222,A\n", "utf-8"
    )
    record_outing(ws, Outing(EVENT, form=form, cost=300))
    at = run_page("territory/ui/pages/review.py", w_rv_event=EVENT)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == t("ui.review.title", "zh")
    labels = [m.label for m in at.metric]
    assert labels[:6] == [
        t(f"ui.review.kpi.{k}", "zh")
        for k in ("leads", "followed", "visits", "deposits", "sales", "cps")
    ]
    assert at.metric[0].value == "2"
    weeks = frame_with(at, "period")
    assert len(weeks) == 4 and list(weeks["leads"]) == [2, 0, 0, 0]
    assert "归因规则" in texts(at)  # the attribution rule is stated on the page
    month = frame_with(at, "event_id")
    assert EVENT in list(month["event_id"])

    # a bad form: the error names row and column, and nothing is written
    version = Journal(folder).version()
    bad = "序号,姓名,电话,级别\n1,甲,13900003333,H\n2,乙,1390000,A\n".encode()
    at.file_uploader(key=f"w_rv_upload_zh_{EVENT}").set_value(("bad.csv", bad, "text/csv"))
    at.button(key=f"rv_save_zh_{EVENT}").click().run()
    assert not at.exception, at.exception
    assert at.error and "未写入" in at.error[0].value
    problems = frame_with(at, "fix")
    assert list(problems["row"]) == ["3"] and list(problems["column"]) == ["电话"]
    assert Journal(folder).version() == version

    # a good form: recorded through the same path as the command line
    good = "序号,姓名,电话,级别\n1,甲,13900003333,H\n2,乙,13900004444,A\n3,丙,13900005555,B\n"
    at.file_uploader(key=f"w_rv_upload_zh_{EVENT}").set_value(
        ("good.csv", good.encode(), "text/csv")
    )
    at.button(key=f"rv_save_zh_{EVENT}").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.metric[0].value == "3"  # the new import replaced the first one
    assert len(Journal(folder).entries("form_lead")) == 5


def test_review_page_in_english(folder, tmp_path):
    at = run_page("territory/ui/pages/review.py", lang="en", w_rv_event="E039")
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == t("ui.review.title", "en")
    assert "Attribution:" in texts(at)
    assert at.subheader[-1].value == t("ui.review.month", "en")


def test_sites_button_records_the_recommended_sites_as_planned_events(folder):
    at = run_page("territory/ui/pages/sites.py")
    assert not at.error, [e.value for e in at.error]
    button = at.button(key="sites_add_to_plan")
    assert button.label.startswith("把这些站点加入计划")
    button.click().run()
    assert not at.exception, at.exception
    planned = Journal(folder).entries("event_record")
    assert planned and {e.data["origin_page"] for e in planned} == {"sites"}
    assert {e.data["status"] for e in planned} == {"planned"}
    assert at.success and "已加入计划" in at.success[0].value
    ws = load_workspace(folder)
    day = dt.date.fromisoformat(planned[0].data["date"])
    assert set(ws.events["event_id"]) >= {e.key for e in planned}
    at.button(key="sites_add_to_plan").click().run()  # the same sites again: not doubled
    assert len(Journal(folder).entries("event_record")) == len(planned)
    assert day.isoformat() in at.success[0].value

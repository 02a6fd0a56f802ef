"""The Follow-up page (线索跟进) in streamlit.testing, on a copy of the demo.

Each test gets a fresh copy of the demo (edits go to the copy's journal) but
the module shares the app's caches.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.i18n import t
from territory.inputs import store
from territory.inputs.demo import demo_path, write_demo
from territory.inputs.journal import Journal
from territory.inputs.workspace import load_workspace
from territory.leads.lifecycle import lead_table

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "territory/ui/pages/followup.py"
PLANTED = json.loads((demo_path() / "planted.json").read_text(encoding="utf-8"))["leads"]
MONDAY = dt.date.fromisoformat(PLANTED["followup_date"])


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = write_demo(tmp_path / "demo")
    load_workspace(folder, save_store=True)
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(folder))
    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path / "home"))
    return folder


def open_page(lang: str = "zh", **widgets) -> AppTest:
    """The app on the Follow-up page; the language as saved by an earlier session.

    In English, test one run per AppTest (``widgets`` preset its widgets): AppTest
    re-evaluates the sidebar's format functions outside the script, where they
    cannot read the session's language.
    """
    import os

    store.save_ui_settings(Path(os.environ["TERRITORY_WORKSPACE"]), {"lang": lang})
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in widgets.items():
        at.session_state[key] = value
    # Straight to the page: AppTest calls other pages' format functions outside the
    # script's context, where they cannot read the session's language.
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.info, *at.success, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def test_the_page_lists_the_planted_behind_consultants_first(folder):
    at = open_page()
    assert at.title[0].value == t("ui.followup.title", "zh")
    # the demo's data end in the past: the page says so and shows the day after
    assert at.date_input(key="w_fu_date").value == MONDAY
    assert "2026-11-15" in texts(at)
    by = at.dataframe[0].value
    assert list(by["name"][:2]) == sorted(PLANTED["behind_consultants"], key=list(by["name"]).index)
    assert set(by["name"][:2]) == set(PLANTED["behind_consultants"])
    calls = at.dataframe[1].value
    assert len(calls) > 0 and calls["days_overdue"].is_monotonic_decreasing
    assert calls["phone"].str.contains(r"^\d{3}\*{4}\d{4}$").all()  # masked by default
    assert [m.label for m in at.metric] == [
        t(f"ui.followup.kpi.{k}", "zh") for k in ("open", "due", "overdue", "never")
    ]
    assert int(at.metric[2].value.replace(",", "")) == int(by["overdue"].sum())
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("下载通话清单") for label in labels)


def test_recording_a_call_writes_the_journal_and_takes_the_lead_off_the_list(folder):
    at = open_page()
    first = at.dataframe[1].value.iloc[0]
    lead = first["lead_id"]
    at.selectbox(key="w_fu_lead_zh").set_value(lead)
    at.date_input(key="w_fu_contact_day_zh").set_value(MONDAY)
    at.selectbox(key="w_fu_grade_zh").set_value("H")
    at.text_input(key="w_fu_note_zh").set_value("约周六试驾")
    at.form_submit_button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(lead in s.value for s in at.success)
    entries = Journal(folder).entries("lead_update")
    assert len(entries) == 1 and entries[0].key == lead and entries[0].origin == "app"
    assert entries[0].data["grade"] == "H" and entries[0].data["last_contact"] == MONDAY.isoformat()
    assert entries[0].who == first["consultant"]
    assert lead not in set(at.dataframe[1].value["lead_id"])
    # the command line and a fresh load see it too
    leads = lead_table(load_workspace(folder).cards).set_index("lead_id")
    assert leads.loc[lead, "grade"] == "H"


def test_a_bad_update_is_refused_with_a_message_and_nothing_written(folder):
    at = open_page()
    at.selectbox(key="w_fu_status_zh").set_value("open")
    at.checkbox(key="w_fu_contacted_zh").set_value(False)
    at.text_input(key="w_fu_reason_zh").set_value("too expensive")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert at.error and "战败" in at.error[0].value
    assert not Journal(folder).exists


def test_the_funnel_names_the_weakest_lever_per_consultant_and_shows_the_pyramid_and_lost(folder):
    at = open_page("en")
    assert at.title[0].value == "Follow-up"
    assert at.selectbox(key="w_fu_by").value == "consultant"
    funnel = at.dataframe[2].value.set_index("label")
    for name in PLANTED["behind_consultants"]:
        assert funnel.loc[name, "lever"].startswith("weakest lever: F")
    assert "N and K are not computed per consultant" in texts(at)
    assert len(at.get("vega_lite_chart")) == 3  # workload, funnel, levers
    at = open_page("en", w_fu_view="pyramid")
    pyramid = at.dataframe[2].value
    assert list(pyramid["grade"]) == ["H", "A", "B", "C"]
    assert list(pyramid["needed"]) == sorted(pyramid["needed"])
    at = open_page("zh", w_fu_view="pyramid")
    at.number_input(key="w_fu_target").set_value(200).run()
    assert at.dataframe[2].value["needed"].iloc[0] > pyramid["needed"].iloc[0]
    at = open_page("en", w_fu_view="lost")
    reasons = at.dataframe[2].value
    assert reasons["count"].sum() == sum(PLANTED["lost_reasons"].values())


def test_filters_by_consultant_and_district(folder):
    at = open_page()
    behind = PLANTED["behind_consultants"][0]
    at.selectbox(key="w_fu_consultant").set_value(behind).run()
    calls = at.dataframe[1].value
    assert set(calls["consultant"]) == {behind}
    district = at.selectbox(key="w_fu_district").options[1]
    at.selectbox(key="w_fu_district").set_value(district).run()
    assert set(at.dataframe[1].value["district"]) <= {district}


def test_coverage_links_a_follow_up_gap_district_to_its_overdue_leads(folder):
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("territory/ui/pages/coverage.py").run()
    links = [b for b in at.button if b.key and b.key.startswith("cov_followup_")]
    assert links, "a follow_up_gap district should link to the Follow-up page"
    label = links[0].label
    assert "逾期线索" in label
    links[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("ui.followup.title", "zh")
    district = at.selectbox(key="w_fu_district").value
    assert label.startswith(district)
    calls = at.dataframe[1].value
    assert set(calls["district"]) == {district}
    overdue = int(label.split("：")[1].split(" ")[0])
    assert (calls["days_overdue"] > 0).sum() == overdue


def test_user_strings_are_text(tmp_path, monkeypatch):
    evil = "<img src=x onerror=alert(1)>"
    folder = write_demo(tmp_path / "demo")
    cards = (folder / "cards.csv").read_text(encoding="utf-8")
    (folder / "cards.csv").write_text(cards.replace("张伟", evil), encoding="utf-8")
    toml = (folder / "dealer.toml").read_text(encoding="utf-8")
    (folder / "dealer.toml").write_text(toml.replace('"张伟"', json.dumps(evil)), encoding="utf-8")
    load_workspace(folder, save_store=True)
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(folder))
    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path / "home"))
    at = open_page()
    assert evil in set(at.dataframe[0].value["name"])
    for element in (*at.markdown, *at.caption, *at.info, *at.success):
        assert "<img" not in str(element.value).replace("\\<img", "")

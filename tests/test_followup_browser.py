"""The Follow-up page (线索跟进) in a real browser: Debian's chromium, Playwright, no internet.

``streamlit run app.py`` on a free 127.0.0.1 port with the demo in a
temporary TERRITORY_HOME. The page opens from the sidebar in Chinese, shows
the planted behind consultants first, records a call through the form (the
journal gets it, the call list loses the lead), shows the funnel, the
pyramid and the lost reasons, then the same in English. A refresh keeps the
recorded call. Screenshots go to ``tests/artifacts/followup_*.png``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _browser import chromium, needs_chromium, streamlit_server

pytestmark = needs_chromium
pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from territory.inputs.demo import write_demo
    from territory.inputs.workspace import load_workspace

    home = tmp_path_factory.mktemp("territory-home")
    load_workspace(write_demo(home / "demo"), save_store=True)
    return home


@pytest.fixture(scope="module")
def app_url(home, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k != "TERRITORY_WORKSPACE"}
    env["TERRITORY_HOME"] = str(home)
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server("app.py", log_path=log_path, cwd=ROOT, env=env) as url:
        yield url


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=120_000)


def _grid_text(page, index: int) -> str:
    """The visible text of the ``index``-th data grid (glide renders cells to a canvas; the
    accessible table under it holds the text)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(index)
    grid.wait_for(timeout=60_000)
    return grid.locator("table").first.inner_text(timeout=30_000)


def test_followup_page_in_chromium(app_url, home, browser_page):
    page = browser_page
    try:
        _walk(page, app_url, home)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "followup_failure.png"), full_page=True)
        raise


def _walk(page, app_url: str, home: Path) -> None:
    from territory.i18n import t
    from territory.inputs.demo import demo_path
    from territory.inputs.journal import Journal

    planted = json.loads((demo_path() / "planted.json").read_text(encoding="utf-8"))["leads"]
    behind = planted["behind_consultants"]
    page.goto(app_url, wait_until="domcontentloaded")
    _idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(
        t("ui.nav.followup", "zh"), exact=True
    ).click()
    _idle(page)
    page.get_by_text(t("ui.followup.title", "zh"), exact=True).first.wait_for(timeout=90_000)
    page.get_by_text("数据截至", exact=False).first.wait_for(timeout=30_000)
    by_consultant = _grid_text(page, 0)
    order = sorted(planted["team"], key=by_consultant.find)
    assert set(order[:2]) == set(behind), by_consultant[:300]
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "followup_zh.png"), full_page=True)

    # Record a call for the first lead offered (the most overdue), grade H.
    form = page.locator('[data-testid="stForm"]')
    from territory.inputs.workspace import load_workspace
    from territory.leads.followup import followup

    result = followup(load_workspace(home / "demo"), date=planted["followup_date"])
    pool = result.open_leads.sort_values(["days_overdue", "lead_id"], ascending=[False, True])
    lead = pool["lead_id"].iloc[0]
    assert form.get_by_role("combobox").first.input_value().startswith(f"{lead} · ")
    form.get_by_text(t("ui.followup.new_grade", "zh"), exact=True).wait_for()
    grade = form.get_by_role("combobox", name=t("ui.followup.new_grade", "zh"))
    grade.click()
    page.keyboard.type("H")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert grade.input_value() == "H"
    form.get_by_text(t("ui.followup.submit", "zh"), exact=True).click()
    _idle(page)
    page.get_by_text(t("ui.followup.recorded", "zh", lead=lead, batch=1)).wait_for(timeout=60_000)
    entries = Journal(home / "demo").entries("lead_update")
    assert [e.key for e in entries] == [lead] and entries[0].data["grade"] == "H"
    assert entries[0].origin == "app"
    page.screenshot(path=str(ARTIFACTS / "followup_recorded_zh.png"), full_page=True)

    # Pyramid and lost reasons.
    page.get_by_text(t("ui.followup.tab.pyramid", "zh"), exact=True).click()
    _idle(page)
    page.get_by_text("H 级线索成交率", exact=False).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "followup_pyramid_zh.png"), full_page=True)
    page.get_by_text(t("ui.followup.tab.lost", "zh"), exact=True).click()
    _idle(page)
    page.get_by_text("期间内建卡、已战败的线索共", exact=False).first.wait_for(timeout=30_000)
    assert "购买了竞品" in _grid_text(page, 2)

    # English, and a refresh keeps the recorded call.
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    _idle(page)
    page.get_by_text(t("ui.followup.title", "en"), exact=True).first.wait_for(timeout=60_000)
    page.get_by_text(t("ui.followup.tab.funnel", "en"), exact=True).click()
    _idle(page)
    page.get_by_text("are not computed per consultant", exact=False).first.wait_for(timeout=30_000)
    assert "weakest lever: F" in _grid_text(page, 2)
    page.screenshot(path=str(ARTIFACTS / "followup_en.png"), full_page=True)
    page.reload(wait_until="domcontentloaded")
    _idle(page)
    page.get_by_text(t("ui.followup.title", "en"), exact=True).first.wait_for(timeout=60_000)
    calls = _grid_text(page, 1)
    assert lead not in calls  # contacted today: no longer due


@pytest.fixture
def browser_page():
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 3000})
        blocked: list[str] = []
        errors: list[str] = []

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.context.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page
        finally:
            page.close()
        assert blocked == [], "the page must load nothing from outside 127.0.0.1"
        assert errors == []

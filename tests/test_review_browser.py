"""The Review page (活动复盘) in a real browser: Debian's chromium, Playwright, no internet.

``streamlit run app.py`` on a free 127.0.0.1 port with the demo in a
temporary TERRITORY_HOME, where outing E041 was recorded with a form. The
page opens from the sidebar in Chinese and shows the outing's review (weeks
table, chart, the attribution rule) and the monthly summary; a form with a
bad phone is uploaded through the real file input and refused with its row
and column (nothing written); then the same page in English. Screenshots go
to ``tests/artifacts/review_*.png``.
"""

from __future__ import annotations

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
    from territory.leads.record import Outing, record_outing

    home = tmp_path_factory.mktemp("territory-home")
    folder = write_demo(home / "demo")
    ws = load_workspace(folder, save_store=True)
    form = home / "form.csv"
    form.write_text(
        "序号,姓名,电话,级别\n1,王先生,13900001111,H\n2,李女士,13900002222,A\n3,赵先生,13900003333,B\n",
        encoding="utf-8",
    )
    record_outing(ws, Outing("E041", form=form, cost=300))
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
    grid = page.locator('[data-testid="stDataFrame"]').nth(index)
    grid.wait_for(timeout=60_000)
    return grid.locator("table").first.inner_text(timeout=30_000)


def _grid_text_eventually(page, index: int, expected: str, timeout_s: float = 30) -> str:
    """The grid's text once it contains ``expected`` (a stale grid can outlive a rerun briefly)."""
    text = ""
    for _ in range(int(timeout_s * 2)):
        text = _grid_text(page, index)
        if expected in text:
            return text
        page.wait_for_timeout(500)
    raise AssertionError(f"{expected!r} not in grid {index}: {text!r}")


def test_review_page_in_chromium(app_url, home):
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 2600})
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
            _walk(page, app_url, home)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "review_failure.png"), full_page=True)
            raise
        finally:
            page.close()
        assert blocked == [], "the page must load nothing from outside 127.0.0.1"
        assert errors == []


def _walk(page, app_url: str, home: Path) -> None:
    from territory.i18n import t
    from territory.inputs.journal import Journal

    page.goto(app_url, wait_until="domcontentloaded")
    _idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(
        t("ui.nav.review", "zh"), exact=True
    ).click()
    _idle(page)
    page.get_by_text(t("ui.review.title", "zh"), exact=True).first.wait_for(timeout=120_000)
    page.get_by_text("归因规则", exact=False).first.wait_for(timeout=60_000)
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.first.inner_text().startswith(t("ui.review.kpi.leads", "zh"))
    assert "3" in metrics.first.inner_text()
    weeks = _grid_text(page, 0)
    assert "第 1 周" in weeks and "第 4 周" in weeks
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 2  # weeks and month
    assert "E041" in _grid_text(page, 1)  # the monthly summary lists the outing
    page.screenshot(path=str(ARTIFACTS / "review_zh.png"), full_page=True)

    # A form with a bad phone, through the real file input: refused with row and column.
    version = Journal(home / "demo").version()
    bad = home / "bad.csv"
    bad.write_text("序号,姓名,电话,级别\n1,甲,13900004444,H\n2,乙,1390000,A\n", encoding="utf-8")
    page.get_by_text(t("ui.review.record", "zh", event="E041"), exact=False).first.click()
    page.locator('input[type="file"]').first.set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.get_by_text(t("ui.review.save", "zh"), exact=True).click()
    _idle(page)
    page.get_by_text("未写入任何内容", exact=False).first.wait_for(timeout=60_000)
    problems = _grid_text(page, 0)
    assert "电话" in problems and "3" in problems
    assert Journal(home / "demo").version() == version
    page.screenshot(path=str(ARTIFACTS / "review_error_zh.png"), full_page=True)

    # English.
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    _idle(page)
    page.get_by_text(t("ui.review.title", "en"), exact=True).first.wait_for(timeout=120_000)
    page.get_by_text("Attribution:", exact=False).first.wait_for(timeout=60_000)
    page.get_by_text(t("ui.review.month", "en"), exact=True).first.wait_for(timeout=60_000)
    # The grid is redrawn after the headings: wait for its English text, not its first paint.
    assert _grid_text_eventually(page, 0, "Week 1")
    page.screenshot(path=str(ARTIFACTS / "review_en.png"), full_page=True)

"""The Network page in a real browser: Debian's chromium, a network folder, no internet.

``streamlit run app.py`` with ``TERRITORY_WORKSPACE`` pointing at the literal
grid network (one dealer named ``<img src=x onerror=alert(1)>``) and a
one-worker LocalCluster inside the app server. The browser runs the
network, waits for the progress bar to finish, reads the dealers and gaps
on the page, checks the map (areas, dealers, gaps, outlets) inside its
iframe, switches to English and runs again. Nothing leaves 127.0.0.1 and no
script from the data runs. Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from _browser import chromium, needs_chromium, streamlit_server

from territory.network import grid

pytestmark = needs_chromium
pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = grid.write_grid_network(tmp_path_factory.mktemp("net") / "grid")
    text = (folder / "dealers.csv").read_text(encoding="utf-8").replace("东城 4S 店", EVIL)
    (folder / "dealers.csv").write_text(text, encoding="utf-8")
    env = dict(os.environ)
    env.update(
        TERRITORY_WORKSPACE=str(folder),
        TERRITORY_HOME=str(tmp_path_factory.mktemp("home")),
        TERRITORY_DASK_WORKERS="1",
    )
    env.pop("TERRITORY_DASK_SCHEDULER", None)
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server("app.py", log_path=log_path, cwd=ROOT, env=env, timeout_s=120) as url:
        yield url


def run_and_wait(page, button: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_selector(IFRAME, timeout=300_000)
    page.wait_for_selector(IDLE, timeout=300_000)


def test_network_page_in_chinese_and_english(app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    blocked: list[str] = []
    dialogs: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1500}, locale="zh-CN")

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.context.route("**/*", route)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(app_url, wait_until="domcontentloaded")
        page.wait_for_selector("h1:has-text('经销商网络')", timeout=120_000)
        run_and_wait(page, "计算整个网络")
        body = page.inner_text("body")
        assert "完成：" in body and "打开 西城 4S 店 的页面" in body
        assert "空白地带与建议新网点" in body and "网格6-1（G61）" in body
        # The table is drawn on a canvas: its cells are read from the grid's accessible copy.
        assert page.locator('[data-testid="stDataFrame"]').count() == 2
        frame = page.frame_locator(IFRAME)
        frame.locator(".leaflet-marker-icon").first.wait_for(timeout=60_000)
        # Areas, gaps and dealers are drawn on the map's canvas; the outlet star is a marker.
        assert frame.locator("canvas").count() >= 1
        assert "★1" in frame.locator("body").inner_text()
        assert "空白比例" in frame.locator(".territory-network-legend").inner_text()
        page.screenshot(path=str(ARTIFACTS / "network_zh.png"), full_page=True)

        page.get_by_text("English", exact=True).click()
        page.wait_for_selector("h1:has-text('Dealer network')", timeout=120_000)
        run_and_wait(page, "Run the network")
        body = page.inner_text("body")
        assert "Done:" in body and "Gaps and suggested new outlets" in body
        page.get_by_text("Coverage diagnosis", exact=True).click()
        deadline = time.monotonic() + 120
        legends: list[str] = []
        while time.monotonic() < deadline and not any("Follow-up gap" in t for t in legends):
            page.wait_for_timeout(500)
            legends = _legend_texts(page)
        assert any("Diagnosis (vs network median)" in t and "Follow-up gap" in t for t in legends)
        page.wait_for_selector(IDLE, timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "network_en.png"), full_page=True)
    assert blocked == []
    assert dialogs == []


def _legend_texts(page) -> list[str]:
    """The network legends' texts in every frame; a frame replaced while it is read is skipped
    (the app swaps the map's frame when the colouring changes)."""
    from playwright.sync_api import Error

    texts = []
    for f in page.frames:
        try:
            if f.locator(".territory-network-legend").count():
                texts.append(f.locator(".territory-network-legend").inner_text(timeout=2_000))
        except Error:
            continue
    return texts

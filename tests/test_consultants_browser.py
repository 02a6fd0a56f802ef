"""The Consultants page in a real browser: territories on the map, a zone handed over by its card.

``streamlit run app.py`` on a free 127.0.0.1 port with a demo copy whose
journal holds a split among four consultants. Chromium opens 顾问分区, waits
for the map, clicks a zone on the border of two territories, presses
"交给 <neighbour>" on its card and finds the hand-over on the page and in the
workspace's journal; a hand-over that would cut a territory off is refused
with a warning and writes nothing. Screenshots in Chinese and English go to
``tests/artifacts/``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _browser import chromium, needs_chromium, streamlit_server
from test_app_browser import IFRAME, Outside, _idle, _map_frame

pytestmark = needs_chromium
pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TEAM = ["张伟", "李娜", "王强", "刘洋"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from territory.inputs.assignment import save_assignment
    from territory.inputs.demo import write_demo
    from territory.inputs.workspace import load_workspace
    from territory.outreach.split import split_workspace

    home = tmp_path_factory.mktemp("territory-home")
    ws = load_workspace(write_demo(home / "demo"), save_store=True)
    split = split_workspace(ws, consultants=TEAM)
    save_assignment(ws.root, split.assignment(), origin="api")
    return home


@pytest.fixture(scope="module")
def app_url(home, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k != "TERRITORY_WORKSPACE"}
    env["TERRITORY_HOME"] = str(home)
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server("app.py", log_path=log_path, cwd=ROOT, env=env) as url:
        yield url


def _zone_at(page, frame, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of a point of the map (the Leaflet map inside the component's iframe)."""
    x, y = frame.evaluate(
        """([lat, lng]) => {
            const m = Object.values(window).find(v => v instanceof L.Map);
            const p = m.latLngToContainerPoint([lat, lng]);
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""",
        [lat, lon],
    )
    box = page.locator(IFRAME).first.bounding_box()
    return box["x"] + x, box["y"] + y


def _pick(home):
    """A zone that can go to a neighbour, and one whose hand-over would break a territory."""
    from territory.inputs.assignment import load_assignment
    from territory.inputs.workspace import load_workspace
    from territory.outreach.split import check_move, describe_assignment

    ws = load_workspace(home / "demo")
    split = describe_assignment(ws, load_assignment(ws.root))
    zones = split.zones.reset_index(drop=True)
    owner = list(zones["consultant"])
    big = zones.geometry.to_crs(32648).area.to_numpy()
    ok = bad = None
    for i in sorted(range(len(zones)), key=lambda i: -big[i]):  # large zones: easy to hit
        for j in split.graph.neighbours[i]:
            reason = check_move(split, zones["zone_id"][i], owner[j])
            if ok is None and reason is None:
                ok = (i, owner[j])
        far = [
            c
            for c in split.consultants
            if check_move(split, zones["zone_id"][i], c) == "move.not_adjacent"
        ]
        if bad is None and far:
            bad = (i, far[0])
    point = zones.geometry.representative_point()
    return [
        (zones["zone_id"][i], zones["name"][i], point[i].x, point[i].y, who) for i, who in (ok, bad)
    ]


def test_hand_a_zone_over_on_the_map(app_url, home):
    from territory.i18n import t
    from territory.inputs.assignment import assignment_history, load_assignment

    ARTIFACTS.mkdir(exist_ok=True)
    (good, bad) = _pick(home)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1150})
        outside = Outside(page, allowed=(app_url + "/", "data:", "blob:"))
        page.goto(app_url + "/consultants", wait_until="domcontentloaded")
        _idle(page)
        heading = page.get_by_test_id("stHeadingWithActionElements")
        heading.get_by_text(t("ui.consultants.title", "zh"), exact=True).wait_for(timeout=60_000)
        frame = _map_frame(page)
        assert frame.locator(".territory-legend").count() >= 1
        legend = frame.locator(".territory-legend").first.inner_text()
        assert all(name in legend for name in TEAM)
        page.screenshot(path=str(ARTIFACTS / "consultants_zh.png"), full_page=True)

        # A hand-over that would cut a territory off: a warning, nothing written.
        zone_id, name, lon, lat, far = bad
        before = len(assignment_history(home / "demo"))
        page.mouse.click(*_zone_at(page, frame, lon, lat))
        frame.wait_for_selector(".territory-card-title", timeout=10_000)
        assert frame.locator(".territory-card-title").first.inner_text() == name
        frame.get_by_role("button", name=t("maps.action.give", "zh", name=far)).click()
        _idle(page)
        page.locator('[data-testid="stAlertContentWarning"]').first.wait_for(timeout=30_000)
        assert far in page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
        assert len(assignment_history(home / "demo")) == before

        # A zone on the border goes to the neighbour: journalled and shown.
        zone_id, name, lon, lat, taker = good
        frame = _map_frame(page)
        frame.locator(".leaflet-popup-close-button").first.click()  # the last card may cover it
        frame.wait_for_selector(".territory-card-title", state="detached", timeout=10_000)
        page.mouse.click(*_zone_at(page, frame, lon, lat))
        frame.wait_for_selector(".territory-card-title", timeout=10_000)
        assert frame.locator(".territory-card-title").first.inner_text() == name
        frame.get_by_role("button", name=t("maps.action.give", "zh", name=taker)).click()
        _idle(page)
        done = t("move.done", "zh", zone=name, consultant=taker)
        page.get_by_text(done).wait_for(timeout=60_000)
        history = assignment_history(home / "demo")
        assert list(history["kind"])[-1] == "territory_zone"
        assert list(history["origin"])[-1] == "app"
        stored = load_assignment(home / "demo").set_index("zone_id")
        assert stored.loc[zone_id, "consultant"] == taker
        _map_frame(page)
        page.screenshot(path=str(ARTIFACTS / "consultants_moved_zh.png"), full_page=True)

        page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
        _idle(page)
        heading.get_by_text(t("ui.consultants.title", "en"), exact=True).wait_for(timeout=60_000)
        _map_frame(page)
        page.screenshot(path=str(ARTIFACTS / "consultants_en.png"), full_page=True)
        assert outside.blocked == [] and outside.dialogs == []

"""The app in a real browser: Debian's chromium driven by Playwright, no internet.

``streamlit run app.py`` is started on a free 127.0.0.1 port with a temporary
TERRITORY_HOME. The browser waits for the map, clicks a zone and reads its
card, switches to English, goes to the Sites page, changes the date and finds
the top site of the package's own recommendation for that date on the page.
Every request that would leave 127.0.0.1 is blocked and recorded; there must
be none. A standalone HTML export with a zone called
``<img src=x onerror=alert(1)>`` shows the name as text in its popup and
tooltip and never runs it. A second walk opens all six pages in Chinese and
in English (a screenshot each), refreshes the browser (the language stays),
and makes and downloads the field-map PDF on the Print page. Laying out a
map's legends and labels reads every box before it moves any. Screenshots go
to ``tests/artifacts/``.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from _browser import chromium, drawn_map, needs_chromium, streamlit_server

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """TERRITORY_HOME with the demo copied and its store built (as the app does on first start)."""
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


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


class Outside:
    """Blocks and records every request that leaves the allowed prefixes; records dialogs."""

    def __init__(self, page, allowed: tuple[str, ...]):
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        self.allowed = allowed
        page.context.route("**/*", self._route)
        page.on("dialog", self._dialog)

    def _route(self, route):
        if route.request.url.startswith(self.allowed):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _map_frame(page, index: int = 0):
    frame = drawn_map(page, index)
    page.wait_for_function(
        f"document.querySelectorAll('{IFRAME}')[{index}].getBoundingClientRect().height > 300"
    )
    return frame


def _idle(page) -> None:
    page.wait_for_timeout(300)  # let a rerun start before waiting for it to end
    page.wait_for_selector(IDLE, timeout=120_000)


def _nav(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(label, exact=True).click()
    _idle(page)


def test_app_in_chromium_offline(app_url, home, browser):
    from territory.i18n import t
    from territory.inputs.workspace import load_workspace
    from territory.outreach.ranking import next_saturday, recommend

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    outside = Outside(page, allowed=(app_url + "/", "data:", "blob:"))
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        _idle(page)
        frame = _map_frame(page)
        assert frame.locator(".territory-legend").count() >= 2
        assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1
        # Click a zone near the dealer: its card opens (another spot if a POI marker is hit).
        box = page.locator(IFRAME).first.bounding_box()
        card = ""
        for dx, dy in ((90, 70), (-120, 90), (110, -100), (-90, -120)):
            page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
            frame.wait_for_selector(".territory-card-title", timeout=10_000)
            # A POI's card and a zone's card may both be in the page while one fades: read them all.
            for _ in range(20):
                cards = frame.locator(".territory-card").all_inner_texts()
                card = next((c for c in cards if t("maps.card.r_value", "zh") in c), cards[-1])
                if t("maps.card.r_value", "zh") in card:
                    break
                page.wait_for_timeout(250)
            if t("maps.card.r_value", "zh") in card:
                break
        assert t("maps.card.r_value", "zh") in card and t("maps.card.formats", "zh") in card
        page.screenshot(path=str(ARTIFACTS / "app_map_zh.png"))

        page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
        _idle(page)
        page.get_by_text(t("ui.map.title", "en"), exact=True).wait_for(timeout=30_000)
        _map_frame(page)
        page.screenshot(path=str(ARTIFACTS / "app_map_en.png"))

        _nav(page, t("ui.nav.sites", "en"))
        page.get_by_text(t("ui.sites.title", "en"), exact=True).wait_for(timeout=60_000)
        _map_frame(page)
        day = next_saturday() + dt.timedelta(days=14)
        field = page.locator('[data-testid="stDateInputField"]').first
        field.locator('[data-type="year"]').click()
        page.keyboard.type(f"{day:%Y%m%d}", delay=40)  # the year, month and day segments in turn
        page.keyboard.press("Enter")
        page.get_by_text(t("ui.sites.title", "en"), exact=True).click()  # leave the field
        page.get_by_text(f"{day:%A}, {day.isoformat()}").first.wait_for(timeout=60_000)
        _idle(page)
        ws = load_workspace(home / "demo")
        top = recommend(ws, date=day, top=5, lang="en").sites.iloc[0]
        page.get_by_text(f"1. {top['name']}").first.wait_for(timeout=30_000)
        _map_frame(page)
        page.screenshot(path=str(ARTIFACTS / "app_sites_en.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "app_failure.png"))
        raise
    finally:
        page.close()
    assert outside.blocked == [], "the app must load nothing from outside 127.0.0.1"
    assert outside.dialogs == []


PAGES = (  # navigation label key, the page's title key, maps on the page
    ("ui.nav.data", "ui.data.title", 0),
    ("ui.nav.map", "ui.map.title", 1),
    ("ui.nav.whitespace", "ui.whitespace.title", 1),
    ("ui.nav.sites", "ui.sites.title", 1),
    ("ui.nav.coverage", "ui.coverage.title", 2),
    ("ui.nav.print", "ui.print.title", 0),
)


def _set_language(page, lang: str) -> None:
    from territory.i18n import t

    page.locator('[data-testid="stSidebar"]').get_by_text(t("lang.name", lang), exact=True).click()
    _idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(
        t("ui.nav.print", lang), exact=True
    ).wait_for(timeout=30_000)


def test_every_page_in_both_languages_and_the_pdf_download(app_url, browser, tmp_path):
    """Walks the six pages in Chinese and in English (screenshots of each), then makes
    the PDF on the Print page and downloads it like a user."""
    import re

    from pypdf import PdfReader

    from territory.i18n import t

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    outside = Outside(page, allowed=(app_url + "/", "data:", "blob:"))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        _idle(page)
        for lang in ("zh", "en"):
            _set_language(page, lang)
            for nav, title, n_maps in PAGES:
                _nav(page, t(nav, lang))
                page.get_by_text(t(title, lang), exact=True).first.wait_for(timeout=90_000)
                for i in range(n_maps):
                    _map_frame(page, i)
                _idle(page)
                assert page.locator('[data-testid="stException"]').count() == 0, (lang, nav)
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0, (lang, nav)
                name = nav.rsplit(".", 1)[1]
                page.screenshot(path=str(ARTIFACTS / f"page_{name}_{lang}.png"), full_page=True)

        # A browser refresh keeps the user's choices (saved in the workspace): still English.
        page.reload(wait_until="domcontentloaded")
        _idle(page)
        page.locator('[data-testid="stSidebarNav"]').get_by_text(
            t("ui.nav.print", "en"), exact=True
        ).wait_for(timeout=60_000)
        assert page.get_by_text(t("ui.print.title", "en"), exact=True).count() >= 1

        # Print page, in Chinese: make the PDF of the chosen sites and download it.
        _set_language(page, "zh")
        _nav(page, t("ui.nav.print", "zh"))
        page.get_by_role("button", name=t("ui.print.make_pdf", "zh")).click()
        download_button = page.get_by_role("button", name=t("ui.print.download_pdf", "zh"))
        download_button.wait_for(timeout=180_000)
        with page.expect_download(timeout=60_000) as info:
            download_button.click()
        pdf_path = tmp_path / info.value.suggested_filename
        info.value.save_as(pdf_path)
        page.screenshot(path=str(ARTIFACTS / "page_print_pdf_ready_zh.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "pages_failure.png"), full_page=True)
        raise
    finally:
        page.close()
    assert errors == []
    assert outside.blocked == [] and outside.dialogs == []
    pdf = PdfReader(pdf_path)
    assert pdf_path.suffix == ".pdf" and len(pdf.pages) >= 5 * 3  # five sites: map, plan, form
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "外拓" in text and not re.search(r"1[3-9]\d{9}", text)


def test_exported_map_shows_hostile_names_as_text(tmp_path, browser):
    from conftest import make_workspace, zones_geojson

    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.render.export_html import write_map_html
    from territory.render.maps import environment_map

    zones = copy.deepcopy(zones_geojson())  # the fixture shares its property dicts
    for feature in zones["features"]:
        feature["properties"]["name"] = EVIL
    ws = load_workspace(make_workspace(tmp_path / "evil", zones=zones), use_store=False)
    m = environment_map(ws, analyse(ws), cards=True)
    m.get_root().render()  # rendered once already (as on a page), then exported
    path = write_map_html(m, tmp_path / "map.html")
    page = browser.new_page(viewport={"width": 900, "height": 700})
    outside = Outside(page, allowed=(path.as_uri(),))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.territoryMapReady === true", timeout=30_000)
        page.evaluate("() => territory.layers[0].openFeature(0)")
        page.wait_for_selector(".leaflet-popup-content .territory-card-title")
        title = page.locator(".leaflet-popup-content .territory-card-title").inner_text()
        tooltip = page.locator(".leaflet-tooltip").first.inner_text()
        images = page.evaluate(
            "() => document.querySelectorAll('.leaflet-popup-content img, .leaflet-tooltip img').length"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "export_hostile_name.png"))
    finally:
        page.close()
    assert errors == []
    assert title == EVIL and tooltip == EVIL
    assert images == 0
    assert outside.dialogs == [] and outside.blocked == []


LAYOUT_PROBE = """() => {
  const map = Object.values(window).find((v) => v instanceof L.Map);
  const log = [];
  const read = Element.prototype.getBoundingClientRect;
  Element.prototype.getBoundingClientRect = function () {
    log.push("read");
    return read.call(this);
  };
  let labels = 0;
  map.eachLayer((layer) => (layer.labels || []).forEach((l) => {
    labels += 1;
    const move = l.marker.setLatLng.bind(l.marker);
    l.marker.setLatLng = (ll) => { log.push("move"); return move(ll); };
  }));
  let idle = 0;
  (map._territoryLegends || []).forEach((c) => {
    const put = c.setPosition.bind(c);
    c.setPosition = (p) => { if (p === c.getPosition()) { idle += 1; } return put(p); };
  });
  territory.layout(map);
  Element.prototype.getBoundingClientRect = read;
  let relayouts = 0;
  for (let i = 1; i < log.length; i++) {
    if (log[i - 1] === "move" && log[i] === "read") { relayouts += 1; }
  }
  return {labels, relayouts, idle, legends: (map._territoryLegends || []).length};
}"""


def test_map_layout_reads_every_box_before_it_moves_anything(tmp_path, browser):
    """Placing legends and labels lays the map out once, not once per label or legend.

    A box read after a move makes the browser lay the page out again before it can answer;
    the runtime reads every label's box, then moves the labels, and never puts a legend back
    into the corner it is already in (Leaflet's ``setPosition`` rebuilds it even then).
    """
    from conftest import make_workspace

    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.render.export_html import write_map_html
    from territory.render.maps import environment_map

    ws = load_workspace(make_workspace(tmp_path / "ws"), use_store=False)
    path = write_map_html(environment_map(ws, analyse(ws), cards=True), tmp_path / "map.html")
    page = browser.new_page(viewport={"width": 900, "height": 700})
    Outside(page, allowed=(path.as_uri(),))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.territoryMapReady === true", timeout=30_000)
        first = page.evaluate(LAYOUT_PROBE)
        second = page.evaluate(LAYOUT_PROBE)  # labels moved by the first layout go back first
    finally:
        page.close()
    assert first["labels"] >= 2 and first["legends"] >= 1
    for probe in (first, second):
        assert probe["relayouts"] <= 1, probe
        assert probe["idle"] == 0, probe

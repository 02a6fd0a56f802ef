"""A new user's walk through the app in Chromium (issue 14): what the first ten minutes showed.

``streamlit run app.py`` on a free 127.0.0.1 port with a temporary TERRITORY_HOME:

* every page's own URL opens directly with no failed request (no
  ``/sites/_stcore/health`` 404s);
* in Chinese, no visible text of any page (maps included) has an ASCII word
  that is not a code, a unit or a name from the workspace; the upload widget
  reads Chinese;
* on every map, in both languages, no legend or other control hides a label,
  the dealer's pin or a site; every label is on the map; a zone's card opened
  under a legend is panned clear of it; every legend class has zones;
* on the Sites page a click on a site's marker opens that site's plan;
* with the basemap on "auto", a reachable (local) AMap tile server puts
  streets under the map; an unreachable one gives no basemap and a one-line
  notice.

Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from _browser import chromium, drawn_map, free_port, needs_chromium, streamlit_server

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: Page URL path, title key, number of maps.
PAGES = (
    ("data", "ui.data.title", 0),
    ("", "ui.map.title", 1),
    ("whitespace", "ui.whitespace.title", 1),
    ("sites", "ui.sites.title", 1),
    ("coverage", "ui.coverage.title", 2),
    ("print", "ui.print.title", 0),
)
#: ASCII words allowed on a Chinese page: codes and file types, units, names of things.
CODES = {
    "KPI", "XLSX", "PDF", "HTML", "ZIP", "CSV", "GeoJSON", "GEOJSON", "JSON", "GPKG", "TOML",
    "QGIS", "Shapefile", "GCJ", "WGS", "A4", "A3", "4S", "H3",
}  # fmt: skip
UNITS = {"km", "MB", "KB", "GB", "kB"}
NAMES = {
    "Leaflet",  # the map library's credit
    "OpenStreetMap",
    "AutoNavi",
    "English",  # the language switch names its language in that language
    "Language",  # "语言 Language": the switch is labelled so that anyone can find it
}
#: Text of everything visible in a document and its iframes (placeholders of visible inputs
#: too); screen-reader-only text and icon ligatures are not visible text.
VISIBLE_TEXT = """() => {
  const out = [];
  const visible = (el, win) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) return false;
    for (let e = el; e; e = e.parentElement) {
      const s = win.getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return false;
    }
    return !el.closest('[data-testid="stIconMaterial"]');
  };
  const walk = (doc) => {
    const win = doc.defaultView, w = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = w.nextNode())) {
      const el = n.parentElement, text = n.textContent.trim();
      if (!text || !el || !visible(el, win)) continue;
      if (parseFloat(win.getComputedStyle(el).fontSize) === 0) continue;
      out.push(text);
    }
    for (const el of doc.querySelectorAll('input[placeholder], textarea[placeholder]')) {
      if (visible(el, win) && !el.value) out.push(el.placeholder);
    }
    for (const el of doc.querySelectorAll('*')) {
      const after = win.getComputedStyle(el, '::after').content;
      if (after && after !== 'none' && after !== 'normal' && visible(el.parentElement || el, win)) {
        out.push(after.replace(/^"|"$/g, ''));
      }
    }
    for (const f of doc.querySelectorAll('iframe')) {
      try { if (f.contentDocument && f.contentDocument.body) walk(f.contentDocument); } catch (e) {}
    }
  };
  walk(document);
  return out;
}"""
#: Boxes (relative to the map) of the map's controls, labels and pins.
MAP_BOXES = """() => {
  const c = document.querySelector('.leaflet-container'), o = c.getBoundingClientRect();
  const pick = (sel) => [...document.querySelectorAll(sel)].map((e) => {
    const r = e.getBoundingClientRect();
    return {left: r.left - o.left, top: r.top - o.top, right: r.right - o.left,
            bottom: r.bottom - o.top, what: (e.innerText || e.getAttribute('class') || '').slice(0, 40)};
  }).filter((b) => b.right - b.left > 1 && b.bottom - b.top > 1);
  return {w: c.clientWidth, h: c.clientHeight, controls: pick('.leaflet-control'),
          legends: pick('.territory-legend'), labels: pick('.territory-label'),
          rings: pick('.territory-label-ring'), pins: pick('.territory-site, .territory-dealer svg')};
}"""
#: For each legend: open the card of a zone whose middle lies under it; the card's box after.
POPUPS_UNDER_LEGENDS = """() => {
  const layer = territory.layers.find((l) => l.getPopup && l.getPopup() && l._box);
  if (!layer) return [];
  const map = layer._map, c = map.getContainer(), out = [];
  const legends = [...document.querySelectorAll('.territory-legend')];
  for (const legend of legends) {
    const o = c.getBoundingClientRect(), r = legend.getBoundingClientRect();
    let hit = -1;
    for (let i = 0; i < layer._n && hit < 0; i++) {
      const b = 4 * i, ll = territory.unproject((layer._box[b] + layer._box[b + 2]) / 2,
        (layer._box[b + 1] + layer._box[b + 3]) / 2), p = map.latLngToContainerPoint(ll);
      if (p.x > r.left - o.left && p.x < r.right - o.left && p.y > r.top - o.top && p.y < r.bottom - o.top) hit = i;
    }
    if (hit < 0) continue;
    layer.openFeature(hit);
    const popup = document.querySelector('.leaflet-popup');
    const q = popup.getBoundingClientRect(), o2 = c.getBoundingClientRect();
    const controls = [...document.querySelectorAll('.leaflet-control')].map((e) => {
      const x = e.getBoundingClientRect();
      return {left: x.left - o2.left, top: x.top - o2.top, right: x.right - o2.left, bottom: x.bottom - o2.top};
    });
    out.push({popup: {left: q.left - o2.left, top: q.top - o2.top, right: q.right - o2.left,
      bottom: q.bottom - o2.top}, controls: controls, legend: legend.innerText.slice(0, 30)});
    map.closePopup();
  }
  return out;
}"""


def overlap(a: dict, b: dict) -> float:
    w = min(a["right"], b["right"]) - max(a["left"], b["left"])
    h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return w * h if w > 0.5 and h > 0.5 else 0.0


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
    env["TERRITORY_OFFLINE"] = "1"
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server("app.py", log_path=log_path, cwd=ROOT, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=120_000)


def _maps(page, n: int) -> list:
    """The first ``n`` map frames, each drawn; a frame the page replaced meanwhile is found again."""
    frames = []
    for i in range(n):
        frame = drawn_map(page, i)
        frames.append(frame)
    return frames


def _settled(frame) -> dict:
    """The map's boxes once they stop moving (the app may resize the map after it is drawn)."""
    before = frame.evaluate(MAP_BOXES)
    for _ in range(25):
        frame.page.wait_for_timeout(400)
        now = frame.evaluate(MAP_BOXES)
        if now == before:
            return now
        before = now
    return before


def _language(page, lang: str) -> None:
    from territory.i18n import t

    page.locator('[data-testid="stSidebar"]').get_by_text(t("lang.name", lang), exact=True).click()
    _idle(page)


def _open(page, url: str, title: str, n_maps: int) -> list:
    page.goto(url, wait_until="domcontentloaded")
    _idle(page)
    page.get_by_text(title, exact=True).first.wait_for(timeout=90_000)
    frames = _maps(page, n_maps)
    _idle(page)
    return frames


def workspace_words(folder: Path) -> set[str]:
    """ASCII words in the workspace's own texts (names of zones, models, occupations...)."""
    from territory.inputs.workspace import load_workspace

    ws = load_workspace(folder)
    texts = [ws.dealer.name, *(m.name for m in ws.dealer.models)]
    for frame in (ws.zones, ws.customers, ws.cards, ws.events, ws.pois):
        for column in frame.columns:
            if frame[column].dtype == object:
                texts += [str(v) for v in frame[column].dropna().unique()[:5000]]
    return {w for text in texts for w in re.findall(r"[A-Za-z][A-Za-z-]*[A-Za-z]", text)}


def foreign_words(texts: list[str], allowed: set[str]) -> list[tuple[str, str]]:
    """(word, its text) for every ASCII word that is not allowed (paths and file names skipped)."""
    bad = []
    for text in texts:
        cleaned = re.sub(r"\S*[/\\]\S*", " ", text)  # folders and URLs are names
        cleaned = re.sub(r"[\w.-]+\.[A-Za-z]{2,7}\b", " ", cleaned)  # file names
        for word in re.findall(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", cleaned):
            if word not in allowed and not re.fullmatch(r"[A-Z]\d*|\d+[A-Za-z]{1,2}", word):
                bad.append((word, text[:80]))
    return bad


def test_direct_page_urls_load_with_no_failed_request(app_url, browser):
    from territory.i18n import t
    from territory.ui.server import element_chunks

    for path, title, n_maps in PAGES:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        failed: list[str] = []
        asked: set[str] = set()
        page.on(
            "response",
            lambda r, f=failed: f.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on("requestfailed", lambda r, f=failed: f.append(f"failed {r.url}"))
        page.on("request", lambda r, a=asked: a.add(r.url))
        try:
            _open(page, f"{app_url}/{path}", t(title, "zh"), n_maps)
        finally:
            page.close()
        assert failed == [], (path, failed)
        # The element kinds' code was loaded early (territory/static/app/preload-elements.js).
        assert {app_url + chunk for chunk in element_chunks()} <= asked, path


def test_chinese_pages_show_no_english(app_url, browser, home):
    from territory.i18n import t

    allowed = CODES | UNITS | NAMES | workspace_words(home / "demo")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    problems = {}
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        _idle(page)
        _language(page, "zh")
        for path, title, n_maps in PAGES:
            _open(page, f"{app_url}/{path}", t(title, "zh"), n_maps)
            if path == "data":
                page.locator('[data-testid="stFileUploaderDropzone"]').wait_for(timeout=30_000)
            texts = page.evaluate(VISIBLE_TEXT)
            assert any(t(title, "zh") in text for text in texts), (path, texts[:40])
            bad = foreign_words(texts, allowed)
            if bad:
                problems[path or "map"] = bad[:10]
            if path == "data":  # the upload widget, in Chinese
                assert any(t("ui.upload.button", "zh") in text for text in texts)
                assert any("每个文件不超过" in text for text in texts)
            page.screenshot(path=str(ARTIFACTS / f"walk_{path or 'map'}_zh.png"), full_page=True)
    finally:
        page.close()
    assert problems == {}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nothing_on_a_map_is_hidden_by_a_legend(app_url, browser, lang):
    from territory.i18n import t

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    problems: list[str] = []
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        _idle(page)
        _language(page, lang)
        for path, title, n_maps in PAGES:
            if not n_maps:
                continue
            frames = _open(page, f"{app_url}/{path}", t(title, lang), n_maps)
            for k, frame in enumerate(frames):
                where = f"{path or 'map'}#{k} ({lang})"
                boxes = _settled(frame)
                page.locator(IFRAME).nth(k).screenshot(
                    path=str(ARTIFACTS / f"walk_{path or 'map'}_{k}_{lang}.png")
                )
                assert boxes["legends"], where
                for label in boxes["labels"]:
                    if not (
                        label["left"] >= -1
                        and label["top"] >= -1
                        and label["right"] <= boxes["w"] + 1
                        and label["bottom"] <= boxes["h"] + 1
                    ):
                        problems.append(
                            f"{where}: label {label['what']!r} runs off the map {label} w={boxes['w']} h={boxes['h']}"
                        )
                for thing in boxes["labels"] + boxes["pins"]:
                    for control in boxes["controls"]:
                        if overlap(thing, control):
                            problems.append(f"{where}: {control['what']!r} hides {thing['what']!r}")
                for ring in boxes["rings"]:
                    for pin in boxes["pins"]:
                        if overlap(ring, pin):
                            problems.append(f"{where}: a pin hides the ring label {ring['what']!r}")
                for case in frame.evaluate(POPUPS_UNDER_LEGENDS):
                    for control in case["controls"]:
                        if overlap(case["popup"], control):
                            problems.append(
                                f"{where}: a card opened under {case['legend']!r} stays hidden"
                            )
    finally:
        page.close()
    assert problems == [], "\n".join(problems)


def test_a_site_marker_opens_the_sites_plan(app_url, browser):
    from territory.i18n import t

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        _idle(page)
        _language(page, "zh")
        frames = _open(page, f"{app_url}/sites", t("ui.sites.title", "zh"), 1)
        frame = frames[0]
        markers = frame.locator(".territory-site")
        assert markers.count() >= 3
        second = markers.nth(1)
        rank = second.inner_text().strip()
        second.click()
        dialog = page.locator('[role="dialog"]')
        dialog.wait_for(timeout=60_000)
        # All 13 parts of the plan, the last one too.
        last = f"13. {t('plan.part.contingency', 'zh')}"
        dialog.get_by_text(last, exact=True).wait_for(timeout=60_000)
        heading = dialog.inner_text()
        assert heading.startswith(t("ui.sites.plan_of", "zh", site=f"{rank}. ")), heading[:80]
        assert f"1. {t('plan.part.main', 'zh')}" in heading
        page.screenshot(path=str(ARTIFACTS / "walk_sites_plan_dialog_zh.png"))
        # The page's own choice follows the marker: its heading names the same site.
        page.keyboard.press("Escape")
        _idle(page)
        page.locator("h3").filter(has_text=re.compile(rf"^{rank}\. ")).first.wait_for(
            timeout=30_000
        )
    finally:
        page.close()


# --------------------------------------------------------------------------- basemap "auto"


class _Tiles(http.server.BaseHTTPRequestHandler):
    served: ClassVar[list[str]] = []

    def do_GET(self):
        from PIL import Image

        self.served.append(self.path)
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (255, 0, 255)).save(buffer, format="PNG")
        body = buffer.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tile_server():
    served: list[str] = []
    handler = type("Handler", (_Tiles,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()
    thread.join()


def _app_with_tiles(tmp_path, amap_url: str):
    from territory.inputs.demo import write_demo
    from territory.inputs.workspace import load_workspace

    home = tmp_path / "home"
    folder = write_demo(home / "demo")
    with (folder / "dealer.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[settings.maps]\namap_url = "{amap_url}"\ntile_probe_timeout_s = 2.0\n')
    load_workspace(folder, save_store=True)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TERRITORY_WORKSPACE", "TERRITORY_OFFLINE")
    }
    env["TERRITORY_HOME"] = str(home)
    return streamlit_server("app.py", log_path=tmp_path / "server.log", cwd=ROOT, env=env)


def test_auto_basemap_shows_amap_streets_when_reachable(tmp_path, browser, tile_server):
    from territory.i18n import t

    url, served = tile_server
    with _app_with_tiles(tmp_path, url + "/{z}/{x}/{y}.png?s={s}&lang={lang}") as app:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        try:
            (frame,) = _open(page, app, t("ui.map.title", "zh"), 1)
            frame.wait_for_function(
                "document.querySelectorAll('img.leaflet-tile.leaflet-tile-loaded').length >= 4",
                timeout=30_000,
            )
            tiles = frame.evaluate(
                "() => [...document.querySelectorAll('img.leaflet-tile')].map(i => i.src)"
            )
            notice = frame.locator(".territory-notice").count()
            page.screenshot(path=str(ARTIFACTS / "walk_map_amap_local_tiles.png"))
        finally:
            page.close()
    assert notice == 0
    assert tiles and all(src.startswith(url) and "lang=zh_cn" in src for src in tiles)
    assert len(served) > 4  # the server's check, then the browser's tiles


def test_auto_basemap_without_tiles_says_so_in_one_line(tmp_path, browser):
    from territory.i18n import t

    port = free_port()  # nothing listens there
    with _app_with_tiles(tmp_path, f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png") as app:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        try:
            (frame,) = _open(page, app, t("ui.map.title", "zh"), 1)
            notice = frame.locator(".territory-notice").inner_text()
            tiles = frame.locator("img.leaflet-tile").count()
        finally:
            page.close()
    assert notice == t("maps.notice.no_tiles", "zh") and "\n" not in notice
    assert tiles == 0

"""Real-browser checks that Territory's maps load nothing from the network.

Debian's chromium, driven by Playwright, opens (1) the Streamlit demo app
``tests/apps/offline_map_app.py`` served on 127.0.0.1 and (2) a standalone
HTML export from ``file://``. Every request to another host is blocked and
recorded; the map must render fully (GeoJSON paths, marker icon fonts, the
d3 legend, the heat map) with no such request, no failed request and no
console error. Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _browser import chromium, needs_chromium, streamlit_server

from territory.render.assets import write_standalone_html

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")

HERE = Path(__file__).parent
APP = HERE / "apps" / "offline_map_app.py"
ARTIFACTS = HERE / "artifacts"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: True once the map has drawn everything the demo map has (run inside the map's document).
MAP_READY = """() => {
  const fonts = [...document.fonts];
  const loaded = (family, weight) => fonts.some(
    f => f.family.replace(/"/g, '') === family && (!weight || f.weight === weight) && f.status === 'loaded');
  return document.querySelectorAll('.leaflet-container path.leaflet-interactive').length >= 2
    && document.querySelector('.awesome-marker i.fa-car') !== null
    && document.querySelector('.awesome-marker i.glyphicon-info-sign') !== null
    && document.querySelectorAll('svg#legend rect').length > 0
    && document.querySelector('canvas.leaflet-heatmap-layer') !== null
    && document.querySelector('.leaflet-control-layers') !== null
    && loaded('Font Awesome 6 Free', '900') && loaded('Glyphicons Halflings')
    && document.fonts.check('900 14px "Font Awesome 6 Free"', '\\uf1b9');
}"""
#: Fonts that failed to load (a missing glyph shows as an empty box).
FONT_ERRORS = "() => [...document.fonts].filter(f => f.status === 'error').map(f => f.family)"


def _build_demo_map():
    spec = importlib.util.spec_from_file_location("offline_map_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines build_map; the page only runs as __main__
    return module.build_map()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server(APP, log_path=log_path, timeout_s=30) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


class Recorder:
    """Blocks and records requests that leave ``allowed``; records failures and console errors."""

    def __init__(self, page, allowed: tuple[str, ...]):
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.allowed = allowed
        page.context.route("**/*", self._route)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.url} {r.status}") if r.status >= 400 else None,
        )
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def wait(self, frame, predicate: str, timeout: float) -> None:
        """Wait for ``predicate`` in ``frame``; on time-out, fail with what went wrong."""
        try:
            frame.wait_for_function(predicate, timeout=timeout)
        except sync_api.TimeoutError:
            pytest.fail(
                f"the map did not render in {timeout / 1000:.0f} s; blocked: {self.blocked}, "
                f"failed: {self.failed}, console errors: {self.errors}"
            )

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.allowed):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def test_streamlit_app_loads_every_asset_from_the_app(app_url, browser):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    recorder = Recorder(page, allowed=(app_url + "/", "data:", "blob:"))
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        frame = page.wait_for_selector(IFRAME, state="attached", timeout=30_000).content_frame()
        recorder.wait(frame, MAP_READY, timeout=20_000)
        # st_folium sizes its iframe once the map script has run to the end.
        page.wait_for_function(
            f"document.querySelector('{IFRAME}').getBoundingClientRect().height > 400"
        )
        font_errors = frame.evaluate(FONT_ERRORS)
        assert (
            "/component/territory.render.assets.static/vendor/leaflet-1.9.3/leaflet.js"
            in " ".join(recorder.requests)
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "offline_streamlit_map.png"))
    finally:
        page.close()
    assert recorder.blocked == []
    assert recorder.failed == []
    assert recorder.errors == []
    assert font_errors == []


def test_standalone_html_renders_from_disk_with_no_request(tmp_path, browser):
    path = write_standalone_html(_build_demo_map(), tmp_path / "map.html")
    page = browser.new_page(viewport={"width": 900, "height": 700})
    recorder = Recorder(page, allowed=(path.as_uri(),))
    try:
        page.goto(path.as_uri())
        recorder.wait(page, MAP_READY, timeout=20_000)
        font_errors = page.evaluate(FONT_ERRORS)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "offline_standalone_map.png"))
    finally:
        page.close()
    assert recorder.requests == [path.as_uri()]
    assert recorder.blocked == []
    assert recorder.failed == []
    assert recorder.errors == []
    assert font_errors == []

"""Shared pieces of the real-browser tests: Debian's chromium and a Streamlit server.

Not a test module; ``test_app_browser.py`` and ``test_offline_assets_browser.py``
import it (the tests folder is on ``sys.path`` as for ``conftest``).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: Skip a module's tests, saying why, when Debian's chromium is not installed (CI has it).
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="real-browser test needs Debian's chromium at /usr/bin/chromium"
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    script: str | Path,
    *,
    log_path: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
) -> Iterator[str]:
    """Run ``streamlit run script`` on a free 127.0.0.1 port; yield its URL, stop it after."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                        if response.read() == b"ok":
                            break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"streamlit did not start on {url}: {log_path.read_text()}")
                    time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (its own browser download fails here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


#: The app's maps: streamlit-folium's component iframe.
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def drawn_map(page, index: int = 0, *, attempts: int = 6, per_try_ms: int = 20_000):
    """The frame of the page's ``index``-th map once it has drawn (``territoryMapReady``).

    Streamlit may replace a map's iframe while it loads (a rerun, the page
    switching): a handle taken before that points at a detached frame that
    never becomes ready. So each try looks the iframe up again, and only the
    last one's timeout is an error.
    """
    from playwright.sync_api import Error

    for attempt in range(attempts):
        handle = page.locator(MAP_IFRAME).nth(index).element_handle(timeout=90_000)
        frame = handle.content_frame()
        try:
            if frame is None:
                raise Error("the map's iframe has no frame yet")
            frame.wait_for_function("window.territoryMapReady === true", timeout=per_try_ms)
            return frame
        except Error:
            if attempt == attempts - 1:
                raise
            page.wait_for_timeout(200)
    raise AssertionError("unreachable")

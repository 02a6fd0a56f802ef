"""The web server side of ``streamlit run app.py``: each page's own URL answered cleanly.

Opened at a page's URL (``/sites``), Streamlit's front end does not know
whether ``/sites`` is a page or the path the app is served under, so it probes
``/sites/_stcore/health`` and ``/sites/_stcore/host-config`` first: two 404s
in the log and a slower first paint. ``app.py`` serves the app as a Streamlit
``st.App`` with :func:`page_routes`, which answer the home page and each
page's URL with Streamlit's own ``index.html``, told where the server is
(``window.__streamlit.BACKEND_BASE_URL``, read by the front end before it
probes), so it asks the right place first.

``server.baseUrlPath`` (behind a reverse proxy) is honoured.
"""

from __future__ import annotations

import gc
import importlib
import json
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

__all__ = ["WARM_MODULES", "index_html", "lifespan", "page_routes", "warm_imports"]

#: What the first page's script imports, imported once in the background while the browser loads
#: Streamlit's front end after ``streamlit run`` (the libraries take ~0.9 s, the front end about as
#: long). ``streamlit_folium`` is not among them: a component declared outside a script run is
#: never registered (its iframe would answer 404); it is imported by the first script run.
WARM_MODULES = (
    "pandas",
    "pyarrow",
    "shapely",
    "geopandas",
    "folium",
    "folium.plugins",
    "streamlit.emojis",
    "territory.render.maps",
    "territory.outreach.site",
    "territory.outreach.ranking",
    "territory.analysis.zones",
    "territory.inputs.workspace",
)


@cache
def _streamlit_index() -> str:
    import streamlit

    return (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")


def _base_path() -> str:
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def index_html(base_path: str = "") -> str:
    """Streamlit's ``index.html`` with the server's base URL set before its scripts run."""
    script = (
        "<script>window.__streamlit=Object.assign({},window.__streamlit,"
        f"{{BACKEND_BASE_URL:window.location.origin+{json.dumps(base_path + '/')}}});</script>"
    )
    html = _streamlit_index()
    head = html.find("<head>")
    if head < 0:  # pragma: no cover - Streamlit's index always has a head
        return html
    return html[: head + len("<head>")] + script + html[head + len("<head>") :]


def warm_imports(modules: Iterable[str] = WARM_MODULES) -> threading.Thread:
    """Import ``modules`` in a daemon thread; return it (started).

    A module that fails to import here is left for the page that needs it, which reports the
    error as it always would; the warm-up never stops the server.
    """

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the page importing it shows the error
                return
        # The libraries' objects live as long as the server: leave them out of every later
        # collection, above all the full one Streamlit runs after each script run
        # (``runner.postScriptGC``) while the page's last messages wait to be sent.
        gc.freeze()

    thread = threading.Thread(target=run, name="territory-warm-imports", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """``st.App``'s lifespan: start :func:`warm_imports` when the server starts."""
    warm_imports()
    yield


def page_routes(paths: Iterable[str]) -> list:
    """Starlette routes answering ``/`` and ``/<path>`` of each page with :func:`index_html`."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    base = _base_path()

    async def index(request) -> HTMLResponse:
        return HTMLResponse(index_html(base), headers={"Cache-Control": "no-cache"})

    urls = dict.fromkeys([base + "/", *(f"{base}/{p}" for p in paths if p)])
    return [Route(url, index, methods=["GET", "HEAD"]) for url in urls]

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

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

__all__ = ["index_html", "page_routes"]


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


def page_routes(paths: Iterable[str]) -> list:
    """Starlette routes answering ``/`` and ``/<path>`` of each page with :func:`index_html`."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    base = _base_path()

    async def index(request) -> HTMLResponse:
        return HTMLResponse(index_html(base), headers={"Cache-Control": "no-cache"})

    urls = dict.fromkeys([base + "/", *(f"{base}/{p}" for p in paths if p)])
    return [Route(url, index, methods=["GET", "HEAD"]) for url in urls]

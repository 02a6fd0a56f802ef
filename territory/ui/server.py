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
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

__all__ = [
    "PRELOADED_ELEMENTS",
    "WARM_MODULES",
    "element_chunks",
    "index_html",
    "lifespan",
    "page_routes",
    "warm_imports",
]

_LOG = logging.getLogger("territory.ui")

#: What the first page's script imports, imported once in the background while the browser loads
#: Streamlit's front end after ``streamlit run`` (the libraries take ~0.9 s, the front end about as
#: long). ``streamlit_folium`` is not among them: a component declared outside a script run is
#: never registered (its iframe would answer 404); it is imported by the first script run.
WARM_MODULES = (  # in the order the first script run needs them (app.py imports the shell first)
    "pandas",
    "pyarrow",
    "shapely",
    "geopandas",
    "pyogrio",
    "folium",
    "folium.plugins",
    "streamlit.emojis",
    "territory.render.maps",
    "territory.inputs.store",
    "territory.ui.shell",
    "territory.inputs.workspace",
    "territory.analysis.zones",
    "territory.outreach.site",
    "territory.outreach.ranking",
)


#: The element kinds (names in Streamlit's build manifest) whose code the browser loads while the
#: first page waits for the server (``territory/static/app/preload-elements.js``): what the map
#: pages and the Sites page show first. Streamlit fetches a kind's code only when its first element
#: arrives; on /sites the page's new elements, the map among them, appeared together only after the
#: last of those files (the data frame's 1.3 MB) had loaded. Loaded early: 0.15–0.5 s off /sites.
PRELOADED_ELEMENTS = (
    "ComponentInstance",
    "Metric",
    "Spinner",
    "Selectbox",
    "ButtonGroup",
    "Checkbox",
    "Button",
    "Slider",
    "DateInput",
    "Multiselect",
    "DataFrame",
    "Html",
    "DownloadButton",
    "TextInput",
)
#: Where :func:`page_routes` serves the preloading script (under ``server.baseUrlPath``).
PRELOAD_SCRIPT_URL = "/_territory/preload-elements.js"
_PRELOAD_SCRIPT = Path(__file__).resolve().parents[1] / "static" / "app" / "preload-elements.js"


def _streamlit_static() -> Path:
    import streamlit

    return Path(streamlit.__file__).parent / "static"


@cache
def _streamlit_index() -> str:
    return (_streamlit_static() / "index.html").read_text(encoding="utf-8")


@cache
def element_chunks(names: tuple[str, ...] = PRELOADED_ELEMENTS) -> tuple[str, ...]:
    """Paths (under the app's base URL) of the front end's code for the element kinds ``names``.

    Read from Streamlit's build manifest: the files its ``index.html`` imports on demand, by the
    name the manifest gives them, in the order of ``names``. Empty when the manifest is missing or
    unreadable (nothing is preloaded then; Streamlit loads what it needs as always).
    """
    try:
        manifest = json.loads((_streamlit_static() / "manifest.json").read_text(encoding="utf-8"))
        lazy = [manifest[key] for key in manifest["index.html"].get("dynamicImports", [])]
        by_name = {entry["name"]: entry["file"] for entry in lazy if entry.get("name")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ()
    return tuple(
        f"/{by_name[name]}"
        for name in names
        if name in by_name and (_streamlit_static() / by_name[name]).is_file()
    )


def _base_path() -> str:
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def index_html(base_path: str = "") -> str:
    """Streamlit's ``index.html`` with the server's base URL set before its scripts run.

    Also lists the element kinds' code to load early (:func:`element_chunks`) for
    ``preload-elements.js``, linked at the end of the head.
    """
    script = (
        "<script>window.__streamlit=Object.assign({},window.__streamlit,"
        f"{{BACKEND_BASE_URL:window.location.origin+{json.dumps(base_path + '/')}}});</script>"
    )
    html = _streamlit_index()
    head = html.find("<head>")
    if head < 0:  # pragma: no cover - Streamlit's index always has a head
        return html
    html = html[: head + len("<head>")] + script + html[head + len("<head>") :]
    chunks = [base_path + path for path in element_chunks()]
    end = html.find("</head>")
    if not chunks or end < 0:
        return html
    listing = json.dumps(chunks).replace("</", "<\\/")
    preload = (
        f'<script type="application/json" id="territory-element-chunks">{listing}</script>'
        f'<script defer src="{base_path}{PRELOAD_SCRIPT_URL}"></script>'
    )
    return html[:end] + preload + html[end:]


def warm_imports(
    modules: Iterable[str] = WARM_MODULES, then: Callable[[], object] | None = None
) -> threading.Thread:
    """Import ``modules`` in a daemon thread, then call ``then()`` there; return it (started).

    A module that fails to import here is left for the page that needs it, which reports the
    error as it always would; so is a failure of ``then``: the warm-up never stops the server.
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
        for step in (_first_element_check, then):
            if step is None:
                continue
            try:
                step()
            except Exception:  # the page does it again and shows the problem
                _LOG.debug("the warm-up's %r failed", step, exc_info=True)

    thread = threading.Thread(target=run, name="territory-warm-imports", daemon=True)
    thread.start()
    return thread


def _first_element_check() -> None:
    """Run Streamlit's once-per-process check made when the first element is written, now.

    Before its first element Streamlit asks whether it runs in a Python prompt
    (``streamlit.env_util.is_repl``: ``inspect.stack()`` with source lines, which on the script
    thread's ~40-frame stack looks up each frame's module among all ~2,000 imported: 0.1-0.2 s
    measured) to warn that it should be started with ``streamlit run``. Called here, in the
    warm-up thread, it takes the same decision (the server is running) on a short stack,
    off the first page's path. Skipped quietly if a Streamlit version lacks the function.
    """
    from streamlit import delta_generator

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if check is not None:
        check()


@asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """``st.App``'s lifespan: start :func:`warm_imports` when the server starts.

    Once imported, the warm-up reads the message catalogue and prepares the default
    workspace's first page (``territory.ui.state.prepare``: the workspace, its analysis, the
    hexagons).
    """
    warm_imports(then=_prepare_first_page)
    yield


def _prepare_first_page() -> None:
    from territory.i18n import catalogue
    from territory.ui import state

    catalogue()  # the messages (268 KB of TOML), read by the page's first line
    state.prepare()


def page_routes(paths: Iterable[str]) -> list:
    """Starlette routes answering ``/`` and ``/<path>`` of each page with :func:`index_html`."""
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    base = _base_path()

    async def index(request) -> HTMLResponse:
        return HTMLResponse(index_html(base), headers={"Cache-Control": "no-cache"})

    async def preload_script(request) -> Response:
        return Response(
            _PRELOAD_SCRIPT.read_bytes(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    urls = dict.fromkeys([base + "/", *(f"{base}/{p}" for p in paths if p)])
    return [
        *(Route(url, index, methods=["GET", "HEAD"]) for url in urls),
        Route(base + PRELOAD_SCRIPT_URL, preload_script, methods=["GET", "HEAD"]),
    ]

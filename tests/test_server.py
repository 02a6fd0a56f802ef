"""The server side of ``streamlit run app.py``: page URLs and the import warm-up."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from territory.ui.server import WARM_MODULES

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, *, quiet: bool = False) -> str:
    """What ``code`` prints in a new Python process (``quiet``: and nothing on stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    if quiet:
        assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    return done.stdout


def test_the_warm_up_imports_the_first_pages_libraries_in_the_background():
    out = _run(
        """
        import sys
        from territory.ui.server import WARM_MODULES, warm_imports
        assert "folium" not in sys.modules and "geopandas" not in sys.modules
        thread = warm_imports()
        assert thread.daemon
        thread.join(120)
        print(sorted(set(WARM_MODULES) - set(sys.modules)))
        """
    )
    assert out.strip() == "[]"


def test_the_warm_up_leaves_the_libraries_out_of_later_collections():
    # Streamlit collects garbage after every script run (runner.postScriptGC) while the page's
    # last messages wait: the libraries' objects, imported once, are frozen out of that work.
    out = _run(
        """
        import gc
        from territory.ui.server import warm_imports
        before = gc.get_freeze_count()
        warm_imports(["json", "csv"]).join(60)
        print(before, gc.get_freeze_count() > 1000)
        """
    )
    assert out.split() == ["0", "True"]


def test_the_warm_up_declares_no_component():
    # A Streamlit component declared outside a script run is never registered and its iframe
    # answers 404 (the maps are streamlit-folium components): nothing warmed may import it.
    out = _run(
        f"""
        import sys
        from territory.ui.server import warm_imports
        warm_imports({list(WARM_MODULES)!r}).join(120)
        print("streamlit_folium" in sys.modules)
        """
    )
    assert out.strip() == "False"


def test_the_warm_up_makes_streamlits_first_element_check_off_the_page():
    # Streamlit's check before the first element of a process (is this a Python prompt?) walks
    # the whole stack with source lines: 0.1-0.2 s on a script run's stack. The warm-up makes it.
    out = _run(
        """
        from streamlit import delta_generator
        from territory.ui.server import warm_imports
        before = delta_generator._use_warning_has_been_displayed
        warm_imports(["json"]).join(60)
        print(before, delta_generator._use_warning_has_been_displayed)
        """
    )
    assert out.split() == ["False", "True"]


def test_a_module_that_fails_to_import_ends_the_warm_up_quietly():
    out = _run(
        """
        import sys
        from territory.ui.server import warm_imports
        warm_imports(["json", "territory_no_such_module", "csv"]).join(30)
        print("json" in sys.modules, "territory_no_such_module" in sys.modules)
        """
    )
    assert out.split() == ["True", "False"]


def test_the_index_lists_the_element_code_to_load_early_and_the_script_is_served():
    import asyncio
    import json
    import re
    from pathlib import Path

    import streamlit

    from territory.ui.server import (
        PRELOAD_SCRIPT_URL,
        PRELOADED_ELEMENTS,
        element_chunks,
        index_html,
        page_routes,
    )

    static = Path(streamlit.__file__).parent / "static"
    chunks = element_chunks()
    # Every kind is found in this Streamlit's manifest, as a file it serves, in the order asked.
    assert len(chunks) == len(PRELOADED_ELEMENTS)
    assert all((static / c.lstrip("/")).is_file() for c in chunks)
    names = [re.sub(r"\..*$", "", Path(c).name) for c in chunks]
    assert names == list(PRELOADED_ELEMENTS)
    # ... and is what index.html's own code imports for it.
    index_js = next((static / "static" / "js").glob("index.*.js")).read_text(encoding="utf-8")
    assert all(Path(c).name in index_js for c in chunks)

    html = index_html("/base")
    listed = re.search(r'id="territory-element-chunks">(.*?)</script>', html).group(1)
    assert json.loads(listed) == ["/base" + c for c in chunks]
    assert f'src="/base{PRELOAD_SCRIPT_URL}"' in html
    assert html.index("territory-element-chunks") < html.index("</head>")

    routes = {route.path: route for route in page_routes(["sites"])}
    response = asyncio.run(routes[PRELOAD_SCRIPT_URL].endpoint(None))
    assert response.status_code == 200 and response.media_type == "text/javascript"
    assert b"territory-element-chunks" in response.body
    page = asyncio.run(routes["/sites"].endpoint(None))
    assert b"territory-element-chunks" in page.body


def test_an_unreadable_manifest_preloads_nothing(monkeypatch, tmp_path):
    from territory.ui import server

    (tmp_path / "index.html").write_text("<html><head></head><body></body></html>")
    (tmp_path / "manifest.json").write_text("{not json")
    monkeypatch.setattr(server, "_streamlit_static", lambda: tmp_path)
    server._streamlit_index.cache_clear()
    server.element_chunks.cache_clear()
    try:
        assert server.element_chunks() == ()
        assert "territory-element-chunks" not in server.index_html("")
        assert "BACKEND_BASE_URL" in server.index_html("")
    finally:
        server._streamlit_index.cache_clear()
        server.element_chunks.cache_clear()


def test_the_warm_up_then_runs_after_the_imports_and_its_failure_is_quiet():
    out = _run(
        """
        import sys
        from territory.ui.server import warm_imports
        warm_imports(["csv"], then=lambda: print("then", "csv" in sys.modules)).join(30)
        warm_imports(["json"], then=lambda: 1 / 0).join(30)
        print("server goes on")
        """,
        quiet=True,
    )
    assert out.split() == ["then", "True", "server", "goes", "on"]


def test_the_server_prepares_the_first_page_of_the_default_workspace(tmp_path, monkeypatch):
    # What a new session's first page reads (the workspace, its analysis for the preferences
    # saved in the workspace, the hexagons) is computed once by the warm-up, into the caches the
    # page reads: the app's first run then computes no analysis, even with nothing on disk.
    from streamlit.testing.v1 import AppTest

    from territory.analysis import zones
    from territory.inputs import store
    from territory.ui import state

    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path))
    monkeypatch.delenv("TERRITORY_WORKSPACE", raising=False)
    for cached in (state._files_workspace, state._workspace, state._analysis, state._hexes):
        cached.clear()
    folder = state.default_folder()  # the demo, copied into the new home
    ws = state._workspace(str(folder), state._stamp(folder))
    chosen = ws.dealer.models[-1].name
    assert chosen != ws.dealer.models[0].name  # the saved choice differs from the default
    store.save_ui_settings(folder, {"model": chosen, "radius_km": 12.0, "lang": "en"})
    analysed = []
    real = zones.analyse

    def counting(ws, **kwargs):
        analysed.append((kwargs["model"], kwargs["overrides"], kwargs["lang"]))
        return real(ws, **kwargs)

    monkeypatch.setattr(zones, "analyse", counting)
    state.prepare()
    assert analysed == [(chosen, {"influence": {"radius_km": 12.0}}, "en")]
    assert len(list((tmp_path / "cache" / "hexes").glob("*.pkl"))) == 1
    shutil.rmtree(tmp_path / "cache")  # a hit can only come from the caches in memory
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric]  # the Map page drew, in the saved language
    assert len(analysed) == 1  # and took the prepared analysis
    assert not (tmp_path / "cache" / "analysis").exists()

    # No customers on the map: no hexagons counted. Not a workspace: left to the page.
    store.save_ui_settings(folder, {"customer_style": "off"})
    state._hexes.clear()
    state.prepare()
    assert not (tmp_path / "cache" / "hexes").exists()
    state.prepare(tmp_path / "no such folder")


def test_the_lifespan_starts_the_warm_up_with_the_first_page_preparation(monkeypatch):
    import asyncio

    from territory.ui import server

    started = []
    monkeypatch.setattr(server, "warm_imports", lambda **kw: started.append(kw))

    async def serve():
        async with server.lifespan(None):
            return list(started)

    assert asyncio.run(serve()) == [{"then": server._prepare_first_page}]


def test_the_first_page_preparation_reads_the_messages_first(monkeypatch):
    from territory import i18n
    from territory.ui import server, state

    i18n.catalogue.cache_clear()
    seen = []
    monkeypatch.setattr(state, "prepare", lambda: seen.append(i18n.catalogue.cache_info().currsize))
    server._prepare_first_page()
    assert seen == [1]

"""The server side of ``streamlit run app.py``: page URLs and the import warm-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from territory.ui.server import WARM_MODULES


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
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

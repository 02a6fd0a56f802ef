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

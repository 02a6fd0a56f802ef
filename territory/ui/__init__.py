"""The Streamlit app: page scripts in ``territory/ui/pages/``, session state and caching in
:mod:`territory.ui.state`, shared display helpers in :mod:`territory.ui.components`.

``app.py`` at the top of the repository only routes (``st.navigation``). The pages
wire widgets to package calls; nothing here computes business figures.
"""

from pathlib import Path

__all__ = ["PAGES_DIR"]

#: Folder of the page scripts that ``app.py`` lists in ``st.navigation``.
PAGES_DIR: Path = Path(__file__).resolve().parent / "pages"

"""Territory's Streamlit entry point: the list of pages, served by ``streamlit run app.py``.

Run with ``uv run streamlit run app.py``. The pages live in
``territory/ui/pages/``; the frame (setup, navigation, sidebar) in
``territory/ui/shell.py``; session state and caches in ``territory/ui/state.py``.
The demo workspace opens by default (copied to ``$TERRITORY_HOME/demo``, by
default ``~/.territory/demo``); ``TERRITORY_WORKSPACE=/path`` opens another.
"""

from __future__ import annotations

import streamlit as st

from territory.ui.server import lifespan, page_routes

# One line per page: (script in territory/ui/pages/, title key, icon, URL path; "" = the home page).
PAGES = [
    ("data.py", "ui.nav.data", ":material/folder_open:", "data"),
    ("environment.py", "ui.nav.map", ":material/map:", ""),
    ("whitespace.py", "ui.nav.whitespace", ":material/travel_explore:", "whitespace"),
    ("sites.py", "ui.nav.sites", ":material/flag:", "sites"),
    ("coverage.py", "ui.nav.coverage", ":material/bar_chart:", "coverage"),
    ("followup.py", "ui.nav.followup", ":material/phone_in_talk:", "followup"),
    ("review.py", "ui.nav.review", ":material/fact_check:", "review"),
    ("consultants.py", "ui.nav.consultants", ":material/groups:", "consultants"),
    ("exports.py", "ui.nav.print", ":material/print:", "print"),
]

#: What ``streamlit run app.py`` serves (Streamlit's ``st.App``): the app, plus each page's own
#: URL (e.g. /sites) answered with the front end told where the server is, so a page opened
#: directly makes no failed requests, and a lifespan that imports the first page's libraries while
#: the browser loads the front end (``territory/ui/server.py``).
app = st.App(
    __file__,
    routes=page_routes([*(path for *_, path in PAGES), "network"]),
    lifespan=lifespan,
)

if __name__ == "__main__":  # Streamlit runs this file for every session and rerun.
    from territory.ui.shell import run

    run(PAGES)

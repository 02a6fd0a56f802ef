"""Territory's Streamlit entry point: the sidebar and the routes to the pages.

Run with ``uv run streamlit run app.py``. The pages live in
``territory/ui/pages/``; session state and caches in ``territory/ui/state.py``.
The demo workspace opens by default (copied to ``$TERRITORY_HOME/demo``, by
default ``~/.territory/demo``); ``TERRITORY_WORKSPACE=/path`` opens another.
"""

from __future__ import annotations

import streamlit as st

from territory.i18n import LANGS, t
from territory.render.maps import TILES
from territory.ui import PAGES_DIR, components, network_state, state

st.set_page_config(
    page_title=t("app.title", state.lang()),
    page_icon="🗺️",
    layout="wide",
    initial_sidebar_state="expanded",
)

if network_state.active():
    # A dealer network: its own page instead of one dealer's pages.
    page = st.navigation(
        [
            st.Page(
                PAGES_DIR / "network.py",
                title=state.tr("ui.nav.network"),
                icon=":material/hub:",
                url_path="network",
                default=True,
            )
        ]
    )
    with st.sidebar:
        if "w_lang" not in st.session_state:
            st.session_state["w_lang"] = state.lang()
        st.segmented_control(
            state.tr("ui.sidebar.language"),
            LANGS,
            format_func=lambda code: t("lang.name", code),
            key="w_lang",
            required=True,
        )
        st.caption(state.tr("ui.sidebar.folder", path=components.md(state.folder())))
        if st.button(state.tr("ui.recovery.demo"), key="network_demo"):
            state.use_demo()
            st.rerun()
    page.run()
    st.stop()

with state.guard(), st.spinner(t("ui.spinner.workspace", state.lang())):
    state.init()
if not state.ready():
    components.recovery_form()
    st.stop()

tr = state.tr
# One line per page: (script in territory/ui/pages/, title key, icon, URL path; "" = the home page).
PAGES = [
    ("data.py", "ui.nav.data", ":material/folder_open:", "data"),
    ("environment.py", "ui.nav.map", ":material/map:", ""),
    ("whitespace.py", "ui.nav.whitespace", ":material/travel_explore:", "whitespace"),
    ("sites.py", "ui.nav.sites", ":material/flag:", "sites"),
    ("coverage.py", "ui.nav.coverage", ":material/bar_chart:", "coverage"),
    ("consultants.py", "ui.nav.consultants", ":material/groups:", "consultants"),
    ("exports.py", "ui.nav.print", ":material/print:", "print"),
]
pages = [
    st.Page(PAGES_DIR / script, title=tr(title), icon=icon, url_path=path or None, default=not path)
    for script, title, icon, path in PAGES
]
page = st.navigation(pages)

with st.sidebar:
    ws = state.workspace()
    st.segmented_control(
        tr("ui.sidebar.language"),
        LANGS,
        format_func=lambda code: t("lang.name", code),
        key=state.bind("lang"),
        on_change=state.save_lang,
        required=True,
    )
    st.markdown(f"**{components.md(ws.dealer.name)}**")
    st.caption(tr("ui.sidebar.folder", path=components.md(state.folder())))
    if ws.has_synthetic_data:
        st.caption(tr("ui.sidebar.synthetic"))
    from territory.network.folders import network_of

    home_network = network_of(state.folder())
    if home_network is not None and st.button(tr("ui.network.back"), key="network_back"):
        network_state.back_to_network(home_network)
        st.rerun()
    models = [m.name for m in ws.dealer.models]
    prices = {m.name: m.price for m in ws.dealer.models}
    st.selectbox(
        tr("ui.sidebar.model"),
        models,
        format_func=lambda name: tr(
            "ui.sidebar.model_option", name=name, wan=prices[name] / 10_000, price=prices[name]
        ),
        key=state.bind("model"),
        on_change=state.save,
        args=("model",),
    )
    st.slider(
        tr("ui.sidebar.radius"),
        min_value=3.0,
        max_value=50.0,
        step=1.0,
        format="%.0f km",
        key=state.bind("radius_km"),
        on_change=state.save,
        args=("radius_km",),
        help=tr("ui.sidebar.radius_help"),
    )
    st.selectbox(
        tr("ui.sidebar.tiles"),
        list(TILES),
        format_func=lambda code: t(f"maps.tiles.{code}", state.lang()),
        key=state.bind("tiles"),
        on_change=state.save,
        args=("tiles",),
        help=tr("ui.sidebar.tiles_help"),
    )
    if state.prefs_unsaved():
        st.caption(tr("ui.sidebar.unsaved"))

page.run()

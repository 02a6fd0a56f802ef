"""The app's frame: page setup, workspace, navigation and the sidebar (run by ``app.py``).

``app.py`` lists the pages and hands them to :func:`run` on every script run.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from territory.i18n import LANGS, t
from territory.render.maps import BASEMAPS
from territory.ui import PAGES_DIR, components, network_state, state

__all__ = ["run"]


def run(pages_spec: Sequence[tuple[str, str, str, str]]) -> None:
    """Set the page up, open the workspace, route to the chosen page and draw the sidebar.

    ``pages_spec``: ``(script in territory/ui/pages/, title key, icon, URL path)``
    per page; the page with the empty URL path is the home page.
    """
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
        state.start_basemap_check()
    if not state.ready():
        components.recovery_form()
        st.stop()

    tr = state.tr
    pages = [
        st.Page(
            PAGES_DIR / script, title=tr(title), icon=icon, url_path=path or None, default=not path
        )
        for script, title, icon, path in pages_spec
    ]
    page = st.navigation(pages)
    components.localise_widgets()

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
        models = [m.name for m in ws.dealer.models]
        prices = {m.name: m.price for m in ws.dealer.models}
        st.selectbox(
            tr("ui.sidebar.model"),
            models,
            format_func=lambda name: tr(
                "ui.sidebar.model_option", name=name, wan=prices[name] / 10_000, price=prices[name]
            ),
            key=state.bind("model"),
            placeholder=tr("ui.choose"),
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
            tr("ui.sidebar.basemap"),
            BASEMAPS,
            format_func=lambda code: t(f"maps.tiles.{code}", state.lang()),
            key=state.bind("tiles"),
            placeholder=tr("ui.choose"),
            on_change=state.save,
            args=("tiles",),
            help=tr("ui.sidebar.basemap_help"),
        )
        if state.prefs_unsaved():
            st.caption(tr("ui.sidebar.unsaved"))

    page.run()

"""环境地图 Map: the dealer's environment on one map (seed 000, step 1).

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import streamlit as st

from territory.render import maps
from territory.ui import components as ui
from territory.ui import state

tr = state.tr
ui.header("ui.map.title", "ui.map.caption")

with state.guard():
    ws = state.workspace()
    with st.spinner(tr("ui.spinner.analysis")):
        analysis = state.analysis()
    zones = analysis.zones
    inside = zones[zones["in_influence_area"]]
    radius = state.pref("radius_km")
    k = st.columns(5)
    k[0].metric(
        tr("ui.map.kpi.zones", km=f"{radius:g}"),
        f"{len(inside):,}",
        help=tr("ui.map.kpi.zones_help", n=f"{len(zones):,}"),
    )
    k[1].metric(
        tr("ui.map.kpi.population"),
        tr(
            "ui.map.kpi.people",
            wan=inside["population"].sum() / 1e4,
            millions=inside["population"].sum() / 1e6,
        ),
    )
    k[2].metric(
        tr("ui.map.kpi.customers"),
        f"{int(inside['customers'].sum()):,}",
        help=tr("ui.map.kpi.customers_help", n=f"{len(ws.customers):,}"),
    )
    k[3].metric(tr("ui.map.kpi.a_cards"), f"{int(inside['a_cards'].sum()):,}")
    k[4].metric(tr("ui.map.kpi.deposit_cards"), f"{int(inside['deposit_cards'].sum()):,}")

    c1, c2, c3, c4 = st.columns([2.2, 2.4, 1, 1], vertical_alignment="bottom")
    c1.selectbox(
        tr("ui.map.colour_by"),
        maps.COLOUR_BY,
        format_func=lambda code: tr(f"ui.map.colour.{code}"),
        key=state.bind("colour_by"),
        placeholder=tr("ui.choose"),
        on_change=state.save,
        args=("colour_by",),
    )
    c2.segmented_control(
        tr("ui.map.customers"),
        maps.CUSTOMER_STYLES,
        format_func=lambda code: tr(f"ui.map.customer_style.{code}"),
        key=state.bind("customer_style"),
        on_change=state.save,
        args=("customer_style",),
        required=True,
    )
    c3.toggle(
        tr("ui.map.cards"), key=state.bind("show_cards"), on_change=state.save, args=("show_cards",)
    )
    c4.toggle(
        tr("ui.map.pois"), key=state.bind("show_pois"), on_change=state.save, args=("show_pois",)
    )

    with st.spinner(tr("ui.spinner.map")):
        m = state.cached_map(
            "environment",
            colour_by=state.pref("colour_by"),
            customer_style=state.pref("customer_style"),
            cards=bool(state.pref("show_cards")),
            pois=bool(state.pref("show_pois")),
        )
    ui.show_map(m, height=660)
    st.caption(tr("ui.map.click_hint"))
    for note in analysis.whitespace.notes:
        st.info(tr(f"analysis.note.{note}"))

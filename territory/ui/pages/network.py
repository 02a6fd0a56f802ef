"""经销商网络 Network: every dealer of a group or region at once, its gaps and new outlets.

A Streamlit page script, shown instead of the dealer pages when the open
folder is a dealer network (network.toml). Run by ``app.py``'s navigation.
"""

import io
import tempfile
from pathlib import Path

import streamlit as st

from territory.i18n import t
from territory.network.report import dealer_table, export_dealer_table
from territory.outreach.ranking import next_saturday
from territory.render.network_map import COLOUR_BY, network_map
from territory.ui import components as ui
from territory.ui import network_state, state

tr = state.tr
lang = state.lang()
st.title(tr("ui.network.title"))
st.caption(tr("ui.network.caption"))

with state.guard():
    net = network_state.network()
    st.markdown(
        f"**{ui.md(net.name)}** · "
        + tr("ui.network.counts", dealers=len(net.dealers), zones=len(net.zones))
    )
    if net.has_synthetic_data:
        st.caption(tr("ui.network.synthetic"))
    c1, c2, c3 = st.columns([2, 3, 2])
    date = c1.date_input(
        tr("ui.network.date"), value=next_saturday(), format="YYYY-MM-DD", key="network_date"
    )
    where = network_state.scheduler_address() or tr("ui.network.local_cluster")
    c2.caption(tr("ui.network.engine", where=where))
    run = c3.button(tr("ui.network.run"), type="primary", key="network_run")

    bar = st.empty()

    def show(stage: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar.progress(
            share,
            text=tr(
                "ui.network.progress", stage=tr(f"ui.network.stage.{stage}"), done=done, total=total
            ),
        )

    result = network_state.result(date, show, run=run)
    if result is None:
        st.info(tr("ui.network.not_run"))
        st.stop()
    bar.progress(
        1.0,
        text=tr(
            "ui.network.done", seconds=result.engine["seconds"], workers=result.engine["workers"]
        ),
    )

    table = dealer_table(result, lang=lang)
    served = result.zones["dealer_id"].notna()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(tr("ui.network.m_dealers"), f"{len(result.dealers):,}")
    m2.metric(tr("ui.network.m_served"), f"{int(served.sum()):,} / {len(served):,}")
    m3.metric(tr("ui.network.m_gaps"), f"{len(result.gaps.areas):,}")
    m4.metric(tr("ui.network.m_follow"), f"{int((table['diagnosis'] != 'balanced').sum()):,}")

    colour_by = st.radio(
        tr("ui.network.colour_by"),
        COLOUR_BY,
        format_func=lambda c, _lang=lang: t(f"ui.network.colour.{c}", _lang),
        horizontal=True,
        key="network_colour",
    )
    ui.show_map(network_map(result, colour_by=colour_by, lang=lang), height=560, key="network_map")

    st.subheader(tr("ui.network.table"))
    shown = table.copy()
    shown["diagnosis"] = shown["diagnosis"].map(
        lambda c: t(f"coverage.diagnosis.{c}", lang) if isinstance(c, str) else c
    )
    shown.columns = [t(f"network.col.{c}", lang) for c in table.columns]
    picked = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="network_table",
        column_config={
            t("network.col.whitespace_score", lang): st.column_config.NumberColumn(
                format="percent"
            ),
            t("network.col.deposit_rate", lang): st.column_config.NumberColumn(format="percent"),
            t("network.col.expected_customers", lang): st.column_config.NumberColumn(format="%.0f"),
            t("network.col.whitespace_customers", lang): st.column_config.NumberColumn(
                format="%.0f"
            ),
            t("network.col.a_cards_per_10k", lang): st.column_config.NumberColumn(format="%.1f"),
        },
    )
    d1, d2, _ = st.columns([1, 1, 3])
    with tempfile.TemporaryDirectory() as tmp:
        for column, suffix, mime in (
            (d1, ".csv", "text/csv"),
            (d2, ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ):
            path = export_dealer_table(table, Path(tmp) / f"dealers{suffix}", lang=lang)
            column.download_button(
                tr("ui.network.download", kind=suffix[1:].upper()),
                data=io.BytesIO(path.read_bytes()),
                file_name=f"network_dealers{suffix}",
                mime=mime,
                key=f"network_download{suffix}",
            )

    rows = picked.selection.rows if picked is not None else []
    ids = table["dealer_id"].tolist()
    names = dict(zip(table["dealer_id"], table["name"], strict=True))
    default = ids.index(table["dealer_id"].iloc[rows[0]]) if rows else 0
    choice = st.selectbox(
        tr("ui.network.pick"),
        ids,
        index=default,
        format_func=lambda d, _n=names: f"{d} · {_n[d]}",
        key="network_pick",
    )
    if st.button(tr("ui.network.open", name=names[choice]), key="network_open"):
        with st.spinner(tr("ui.network.opening")):
            network_state.open_dealer(result, choice)
        st.rerun()

    st.subheader(tr("ui.network.gaps"))
    gaps = result.gaps.areas
    if len(gaps):
        zone_names = dict(zip(net.zones["zone_id"], net.zones["name"], strict=True))
        sep = "、" if lang == "zh" else ", "
        gap_rows = [
            {
                tr("ui.network.g_id"): g.gap_id,
                tr("ui.network.g_zones"): sep.join(
                    str(zone_names.get(z, z)) for z in list(g.zone_ids)[:5]
                ),
                tr("ui.network.g_population"): int(g.population),
                tr("ui.network.g_expected"): round(float(g.expected_customers or 0), 1),
                tr("ui.network.g_km"): round(float(g.nearest_dealer_km), 1),
            }
            for g in gaps.head(200).itertuples(index=False)
        ]
        st.dataframe(gap_rows, hide_index=True, width="stretch", key="network_gaps")
        outlets = result.gaps.outlets
        if len(outlets):
            st.markdown(tr("ui.network.outlets"))
            for o in outlets.itertuples(index=False):
                st.markdown(
                    "- "
                    + ui.md(
                        tr(
                            "ui.network.outlet_line",
                            rank=int(o.rank),
                            name=o.name,
                            zone_id=o.zone_id,
                            gain=o.marginal_shortfall,
                            population=int(o.covered_population),
                        )
                    )
                )
    else:
        st.caption(tr("ui.network.no_gaps"))

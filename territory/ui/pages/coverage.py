"""覆盖对比 Coverage: A-cards vs deposit cards by district, and where the weak link is (seed 004).

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import datetime as dt

import altair as alt
import streamlit as st

from territory.leads.coverage import bar_chart_data
from territory.ui import PAGES_DIR, state
from territory.ui import components as ui

tr = state.tr
ui.header("ui.coverage.title", "ui.coverage.caption")


def _save_range() -> None:
    value = st.session_state.get("w_coverage_range") or ()
    if len(value) == 2:
        state.set_pref("coverage_start", value[0])
        state.set_pref("coverage_end", value[1])


def _use_sites(zone_ids: list[str]) -> None:
    chosen = list(dict.fromkeys([*state.chosen_sites(), *zone_ids]))
    state.set_pref("chosen_sites", chosen)
    st.session_state["_chosen_changed"] = True


def _best_sites(rows) -> None:
    """Coverage and sites agree: each awareness-gap district links to its best sites."""
    from territory.outreach.ranking import best_in_district

    rec = state.recommendation()
    sep = "、" if state.lang() == "zh" else ", "
    for r in rows.itertuples(index=False):
        best = best_in_district(rec, r.district)
        if best.empty:
            continue
        names = sep.join(
            f"{n}（{s:.2f}）" for n, s in zip(best["name"], best["score"], strict=True)
        )
        st.markdown(ui.md(tr("ui.coverage.best_sites", district=r.label, sites=names)))
        b1, b2 = st.columns(2)
        b1.button(
            tr("ui.coverage.use_sites"),
            key=f"use_sites_{r.district}",
            on_click=_use_sites,
            args=(list(best["zone_id"]),),
        )
        b2.page_link(str(PAGES_DIR / "sites.py"), label=tr("ui.coverage.go_sites"))


with state.guard():
    ws = state.workspace()
    lang = state.lang()
    dates = ws.cards["date"].dropna()
    first = dates.min().date() if len(dates) else dt.date.today()
    last = dates.max().date() if len(dates) else dt.date.today()

    def saved(name: str, default: dt.date) -> dt.date:
        try:
            day = dt.date.fromisoformat(str(state.pref(name)))
        except ValueError:
            return default
        return min(max(day, first), last)

    start_default, end_default = saved("coverage_start", first), saved("coverage_end", last)
    if "w_coverage_range" not in st.session_state:
        st.session_state["w_coverage_range"] = (start_default, end_default)
    c1, c2 = st.columns([2, 3])
    c1.date_input(
        tr("ui.coverage.period"),
        min_value=first,
        max_value=last,
        key="w_coverage_range",
        on_change=_save_range,
        format="YYYY-MM-DD",
        help=tr("ui.coverage.period_help"),
    )
    chosen = st.session_state["w_coverage_range"]
    start, end = (chosen[0], chosen[1]) if len(chosen) == 2 else (start_default, end_default)

    with st.spinner(tr("ui.spinner.coverage")):
        table = state.coverage(start, end)
    c2.caption(
        tr(
            "ui.coverage.yardstick",
            a=f"{table.attrs.get('yardstick_a_cards_per_10k', float('nan')):.1f}",
            d=f"{100 * table.attrs.get('yardstick_deposit_rate', float('nan')):.0f}",
        )
    )

    awareness = table[table["diagnosis"] == "awareness_gap"]
    follow_up = table[table["diagnosis"] == "follow_up_gap"]
    if awareness.empty and follow_up.empty:
        st.success(tr("ui.coverage.no_gaps"))
    else:
        g1, g2 = st.columns(2)
        for column, rows, box, title_key in (
            (g1, awareness, st.warning, "ui.coverage.awareness"),
            (g2, follow_up, st.warning, "ui.coverage.follow_up"),
        ):
            with column:
                if rows.empty:
                    st.success(tr(f"{title_key}_none"))
                    continue
                text = "\n".join(
                    f"- **{ui.md(r.label)}** — {ui.md(r.action)}"
                    for r in rows.itertuples(index=False)
                )
                box(f"**{tr(title_key, n=len(rows))}**\n\n{text}")
                if title_key == "ui.coverage.awareness":
                    _best_sites(rows)

    table = table.assign(deposit_pct=table["deposit_rate"] * 100)
    ui.table(
        table,
        {
            "label": "ui.col.district",
            "population": "ui.col.population",
            "customers": "ui.col.customers",
            "a_cards": "ui.col.a_cards",
            "deposit_cards": "ui.col.deposit_cards",
            "deposit_pct": "ui.col.deposit_rate",
            "a_cards_per_10k": "ui.col.a_per_10k",
            "diagnosis_label": "ui.col.diagnosis",
            "reason": "ui.col.reason",
        },
        formats={
            "population": "localized",
            "customers": "localized",
            "a_cards": "localized",
            "deposit_cards": "localized",
            "deposit_pct": "%.0f%%",
            "a_cards_per_10k": "%.1f",
        },
        key="coverage_table",
    )

    bars = bar_chart_data(table, lang=lang)
    order = list(dict.fromkeys(bars["label"]))
    chart = (
        alt.Chart(bars, title=tr("ui.coverage.chart_title"))
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=False)
            ),
            xOffset=alt.XOffset("series_label:N"),
            y=alt.Y("count:Q", title=tr("ui.coverage.chart_y")),
            color=alt.Color(
                "series_label:N",
                title=None,
                scale=alt.Scale(range=["#2f6fb3", "#e8702a"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title=tr("ui.col.district")),
                alt.Tooltip("series_label:N", title=tr("ui.coverage.series")),
                alt.Tooltip("count:Q", title=tr("ui.coverage.chart_y"), format=","),
            ],
        )
        .properties(height=320)
    )
    st.altair_chart(chart, width="stretch")

    m1, m2 = st.columns(2)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    with m1:
        st.markdown(f"**{tr('ui.coverage.map_a')}**")
        with st.spinner(tr("ui.spinner.map")):
            ui.show_map(
                state.cached_map("choropleth", column="a_cards_per_10k", **period), height=460
            )
    with m2:
        st.markdown(f"**{tr('ui.coverage.map_d')}**")
        with st.spinner(tr("ui.spinner.map")):
            ui.show_map(state.cached_map("choropleth", column="deposit_rate", **period), height=460)

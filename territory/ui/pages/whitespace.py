"""空白区域 White space: candidate areas on the map and ranked; today's customers' profile.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import altair as alt
import pandas as pd
import streamlit as st

from territory.analysis.profile import AGE_BANDS
from territory.ui import components as ui
from territory.ui import state
from territory.vocab import GENDERS, ZONE_TYPES, label

tr = state.tr
ui.header("ui.whitespace.title", "ui.whitespace.caption")

with state.guard():
    ws = state.workspace()
    lang = state.lang()
    with st.spinner(tr("ui.spinner.analysis")):
        analysis = state.analysis()
    for note in analysis.whitespace.notes:
        st.info(tr(f"analysis.note.{note}"))

    areas = analysis.areas
    names = dict(zip(ws.zones["zone_id"].astype(str), ws.zones["name"].astype(str), strict=True))
    sep = "、" if lang == "zh" else ", "
    left, right = st.columns([1, 1])
    with left:
        with st.spinner(tr("ui.spinner.map")):
            m = state.cached_map("whitespace")
        ui.show_map(m, height=560)
    with right:
        st.subheader(tr("ui.whitespace.areas", n=len(areas)))
        if areas.empty:
            st.info(tr("ui.whitespace.no_areas"))
        else:
            frame = pd.DataFrame(
                {
                    "rank": range(1, len(areas) + 1),
                    "area_id": areas["area_id"].to_numpy(),
                    "zones": [
                        sep.join(names.get(str(z), str(z)) for z in ids[:3])
                        + (tr("maps.more", n=len(ids) - 3) if len(ids) > 3 else "")
                        for ids in areas["zone_ids"]
                    ],
                    "population": areas["population"].to_numpy(),
                    "customers": areas["customers"].to_numpy(),
                    "expected_customers": pd.to_numeric(
                        areas["expected_customers"], errors="coerce"
                    )
                    .round(0)
                    .to_numpy(),
                    "shortfall": pd.to_numeric(areas["shortfall"], errors="coerce")
                    .round(0)
                    .to_numpy(),
                }
            )
            ui.table(
                frame,
                {
                    "area_id": "ui.col.area",
                    "zones": "ui.col.zones",
                    "population": "ui.col.population",
                    "customers": "ui.col.customers",
                    "expected_customers": "ui.col.expected",
                    "shortfall": "ui.col.shortfall",
                },
                formats={
                    "population": "localized",
                    "expected_customers": "%.0f",
                    "shortfall": "%.0f",
                },
                key="areas_table",
            )
            st.caption(tr("ui.whitespace.areas_help"))

    st.subheader(tr("ui.whitespace.top_zones"))
    zones = analysis.zones
    top = zones[zones["in_influence_area"]].sort_values("whitespace_rank").head(15)
    top = top.assign(type_label=[label(z, ZONE_TYPES, lang) for z in top["zone_type"]])
    ui.table(
        top,
        {
            "name": "ui.col.zone",
            "district": "ui.col.district",
            "type_label": "ui.col.zone_type",
            "population": "ui.col.population",
            "r_value": "ui.col.r_value",
            "customers": "ui.col.customers",
            "expected_customers": "ui.col.expected",
            "whitespace_score": "ui.col.whitespace_score",
        },
        formats={
            "population": "localized",
            "r_value": "%.2f",
            "expected_customers": "%.0f",
            "whitespace_score": "%.2f",
        },
        key="top_zones",
    )

    profile = analysis.profile
    st.subheader(tr("ui.profile.title", n=f"{profile.count:,}"))
    st.caption(tr("ui.profile.caption"))
    hints = profile.hints()
    for hint in hints:
        st.success(hint.text(lang))

    def chart(
        attribute: str, title_key: str, order: list[str] | None = None, top_n: int | None = None
    ):
        dist = profile.distributions.get(attribute)
        if dist is None or dist.empty:
            st.caption(tr("ui.profile.unknown", attribute=tr(title_key)))
            return
        frame = (
            dist.rename("share").reset_index().rename(columns={dist.index.name or "index": "value"})
        )
        frame.columns = ["value", "share"]
        if attribute == "gender":
            frame["value"] = [label(v, GENDERS, lang) for v in frame["value"]]
        if attribute == "recency":
            frame["value"] = [tr(f"ui.profile.recency.{v}") for v in frame["value"]]
        if top_n:
            frame = frame.sort_values("share", ascending=False).head(top_n)
        sort = order if order else "-x"
        bars = (
            alt.Chart(frame, title=tr(title_key))
            .mark_bar(color="#4e79a7", cornerRadiusEnd=3)
            .encode(
                x=alt.X("share:Q", axis=alt.Axis(format="%", title=tr("ui.profile.share"))),
                y=alt.Y("value:N", sort=sort, title=None),
                tooltip=[
                    alt.Tooltip("value:N", title=tr(title_key)),
                    alt.Tooltip("share:Q", format=".1%", title=tr("ui.profile.share")),
                ],
            )
            .properties(height=alt.Step(22))
        )
        st.altair_chart(bars, width="stretch")

    c1, c2, c3 = st.columns(3)
    with c1:
        chart("age_band", "ui.profile.age", order=[b for b, _, _ in AGE_BANDS])
    with c2:
        chart("gender", "ui.profile.gender")
        chart("model", "ui.profile.model")
    with c3:
        chart("occupation", "ui.profile.occupation", top_n=8)
        chart(
            "recency",
            "ui.profile.recency",
            order=[tr(f"ui.profile.recency.{v}") for v in ("<3m", "3-12m", "1-3y", "3y+")],
        )

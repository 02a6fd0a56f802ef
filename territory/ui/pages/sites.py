"""外拓选点 Sites: where the team goes on the chosen day, why, and the plan for each site.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import datetime as dt

import pandas as pd
import streamlit as st

from territory.analysis.influence import influence_rings
from territory.render import maps
from territory.ui import PAGES_DIR, state
from territory.ui import components as ui
from territory.vocab import FORMATS, TOOLS, ZONE_TYPES, label

tr = state.tr
ui.header("ui.sites.title", "ui.sites.caption")

with state.guard():
    ws = state.workspace()
    lang = state.lang()
    sep = "、" if lang == "zh" else ", "

    c1, c2, c3 = st.columns([1.2, 1, 1])
    c1.date_input(
        tr("ui.sites.date"),
        key=state.bind("date", value=state.site_date()),
        on_change=state.save,
        args=("date",),
        min_value=dt.date.today(),
        format="YYYY-MM-DD",
    )
    c2.slider(tr("ui.sites.top"), 1, 10, key=state.bind("top"), on_change=state.save, args=("top",))
    c3.slider(
        tr("ui.sites.rotation"),
        0,
        12,
        key=state.bind("rotation_weeks"),
        on_change=state.save,
        args=("rotation_weeks",),
        help=tr("ui.sites.rotation_help"),
    )
    with st.expander(tr("ui.sites.weights"), expanded=False):
        st.caption(tr("ui.sites.weights_help"))
        cols = st.columns(len(state.WEIGHT_KEYS))
        for col, key in zip(cols, state.WEIGHT_KEYS, strict=True):
            col.slider(
                tr(f"ui.sites.weight.{key}"),
                0.0,
                1.0,
                step=0.05,
                key=state.bind(f"weight_{key}"),
                on_change=state.save,
                args=(f"weight_{key}",),
            )

    with st.spinner(tr("ui.spinner.ranking")):
        rec = state.recommendation()
    sites = rec.sites
    day = state.site_date()
    st.markdown(
        tr(
            "ui.sites.summary",
            n=len(sites),
            date=day.isoformat(),
            weekday=tr(f"ui.weekday.{day.weekday()}"),
            model=ui.md(rec.model),
        )
    )
    for note in rec.notes:
        key = f"analysis.note.{note}" if note == "cold_start" else f"recommend.note.{note}"
        st.info(tr(key))
    if sites.empty:
        st.warning(tr("ui.sites.none"))
        st.stop()

    left, right = st.columns([3, 2])
    with left:
        with st.spinner(tr("ui.spinner.map")):
            m = state.cached_map(
                "zones", colour_by="zone_type", opacity=0.45, legend_position="topleft"
            )
            settings = rec.analysis.settings
            rings = influence_rings(
                lon=ws.dealer.lon,
                lat=ws.dealer.lat,
                rings_km=settings.influence.rings_km,
                radius_km=settings.influence.radius_km,
            )
            maps.add_dealer(
                m, lon=ws.dealer.lon, lat=ws.dealer.lat, name=ws.dealer.name, rings=rings, lang=lang
            )
            maps.add_sites(m, sites, lang=lang)
            maps.finish_map(m)
        ui.show_map(m, height=700)
    with right:
        for row in sites.itertuples(index=False):
            with st.container(border=True):
                st.markdown(
                    f"**{row.rank}. {ui.md(row.name)}** · {ui.md(row.district)} · "
                    f"{ui.md(label(row.zone_type, ZONE_TYPES, lang))}"
                )
                st.caption(
                    ui.md(sep.join(label(f, FORMATS, lang) for f in row.formats[:2]))
                    + (" · " + ui.md(row.time_slots[0]) if row.time_slots else "")
                )
                st.markdown(
                    tr(
                        "ui.sites.card_line",
                        leads=f"{row.expected_leads:,.0f}",
                        cost=f"{row.estimated_cost:,.0f}",
                        score=f"{row.score:.2f}",
                    )
                )
        total_cost = float(sites["estimated_cost"].sum())
        total_leads = float(sites["expected_leads"].sum())
        k1, k2 = st.columns(2)
        k1.metric(tr("ui.sites.total_leads"), f"{total_leads:,.0f}")
        k2.metric(tr("ui.sites.total_cost"), tr("ui.money", value=f"{total_cost:,.0f}"))

    options = list(sites["zone_id"])
    titles = {
        z: f"{r}. {n}（{d}）" if lang == "zh" else f"{r}. {n} ({d})"
        for z, r, n, d in zip(
            sites["zone_id"], sites["rank"], sites["name"], sites["district"], strict=True
        )
    }
    if st.session_state.get("w_site") not in options:
        st.session_state["w_site"] = options[0]
    chosen = st.selectbox(tr("ui.sites.choose"), options, format_func=titles.get, key="w_site")
    site = sites[sites["zone_id"] == chosen].iloc[0]

    st.subheader(titles[chosen])
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric(
        tr("ui.col.leads"),
        f"{site['expected_leads']:,.0f}",
        tr("ui.sites.sales_delta", sales=f"{site['expected_sales']:,.1f}"),
        delta_color="off",
        delta_arrow="off",
    )
    m2.metric(tr("ui.col.cost"), tr("ui.money", value=f"{site['estimated_cost']:,.0f}"))
    for col, key in ((m3, "cost_per_sale"), (m4, "cost_per_lead")):
        value = site[key]
        col.metric(
            tr(f"ui.sites.{key}"),
            "—" if value is None or pd.isna(value) else tr("ui.money", value=f"{value:,.0f}"),
        )
    m5.metric(tr("ui.sites.owners_nearby"), f"{int(site['owners_nearby']):,}")

    d1, d2 = st.columns([3, 2])
    with d1:
        st.markdown(f"**{tr('ui.sites.reasons')}**")
        st.markdown("\n".join(f"- {ui.md(r)}" for r in site["reasons"]))
    with d2:
        st.markdown(f"**{tr('ui.col.formats')}**")
        st.markdown(
            "\n".join(
                f"{i}. {ui.md(label(f, FORMATS, lang))}"
                for i, f in enumerate(site["formats"], start=1)
            )
        )
        st.markdown(f"**{tr('ui.sites.slots')}**")
        st.markdown(
            "\n".join(f"- {ui.md(s)}" for s in site["time_slots"]) or tr("ui.sites.no_slot")
        )
        st.markdown(f"**{tr('ui.sites.tools')}**")
        st.markdown(sep.join(ui.md(label(x, TOOLS, lang)) for x in site["tools"]))

    learned = rec.history.learned_table() if rec.history is not None else pd.DataFrame()
    if not learned.empty:
        with st.expander(tr("ui.sites.learned"), expanded=False):
            st.caption(tr("ui.sites.learned_help"))
            st.dataframe(
                pd.DataFrame(
                    {
                        tr("ui.learned.format"): [
                            label(f, FORMATS, lang) for f in learned["format"]
                        ],
                        tr("ui.learned.zone_type"): [
                            label(z, ZONE_TYPES, lang) for z in learned["zone_type"]
                        ],
                        tr("ui.learned.events"): learned["events"],
                        tr("ui.learned.leads"): learned["leads_observed"].round(0),
                        tr("ui.learned.sales"): learned["sales_observed"].round(0),
                        tr("ui.learned.leads_per_event"): learned["leads_per_event"].round(1),
                        tr("ui.learned.close_rate"): (100 * learned["close_rate"]).round(1),
                        tr("ui.learned.cost_per_sale"): learned["cost_per_sale"].round(0),
                        tr("ui.learned.prior_cost_per_sale"): learned["prior_cost_per_sale"].round(
                            0
                        ),
                        tr("ui.learned.verdict"): [
                            tr(f"ui.learned.verdict.{v}") for v in learned["verdict"]
                        ],
                    }
                ),
                hide_index=True,
                width="stretch",
                key="learned_table",
            )

    st.subheader(tr("ui.sites.plan"))
    with st.spinner(tr("ui.spinner.plan")):
        plan = state.plan(chosen)
    for section in plan.sections:
        with st.expander(f"{section.number}. {section.title}", expanded=section.number <= 2):
            if section.rows:
                rows = pd.DataFrame(section.rows, columns=[tr("ui.col.item"), tr("ui.col.content")])
                st.table(rows.set_index(tr("ui.col.item")))
            if section.table is not None:
                st.dataframe(
                    section.table, hide_index=True, width="stretch", key=f"plan_table_{section.key}"
                )

    b1, b2 = st.columns(2)
    b1.download_button(
        tr("ui.sites.download_xlsx"),
        data=lambda: state.plans_xlsx([plan]),
        file_name=f"plan-{chosen}-{day.isoformat()}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/table_view:",
        on_click="ignore",
    )
    with b2:
        st.page_link(
            str(PAGES_DIR / "exports.py"), label=tr("ui.sites.print"), icon=":material/print:"
        )

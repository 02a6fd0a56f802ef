"""打印导出 Print: field maps as PDF, plan sheets as XLSX, the interactive map as one HTML file.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import streamlit as st

from territory.analysis.influence import influence_rings
from territory.i18n import LANGS, t
from territory.render import maps
from territory.render.export_html import map_html
from territory.ui import components as ui
from territory.ui import state

tr = state.tr
ui.header("ui.print.title", "ui.print.caption")

with state.guard():
    ws = state.workspace()
    with st.spinner(tr("ui.spinner.ranking")):
        rec = state.recommendation()
    sites = rec.sites
    day = state.site_date()
    if sites.empty:
        st.warning(tr("ui.sites.none"))
        st.stop()
    st.markdown(tr("ui.print.for_date", date=day.isoformat(), n=len(sites)))

    titles = {
        z: f"{r}. {n}"
        for z, r, n in zip(sites["zone_id"], sites["rank"], sites["name"], strict=True)
    }
    options = list(sites["zone_id"])
    if "w_print_sites" in st.session_state:
        st.session_state["w_print_sites"] = [
            z for z in st.session_state["w_print_sites"] if z in options
        ]
    else:
        st.session_state["w_print_sites"] = options
    chosen = st.multiselect(
        tr("ui.print.sites"),
        options,
        format_func=titles.get,
        key="w_print_sites",
        placeholder=tr("ui.choose"),
    )

    c1, c2, c3 = st.columns([1, 1, 2])
    c1.segmented_control(
        tr("ui.print.paper"),
        ["A4", "A3"],
        key=state.bind("paper"),
        on_change=state.save,
        args=("paper",),
        required=True,
    )
    c2.segmented_control(
        tr("ui.print.language"),
        LANGS,
        format_func=lambda code: t("lang.name", code),
        key=state.bind("print_lang"),
        on_change=state.save,
        args=("print_lang",),
        required=True,
    )
    c3.checkbox(
        ui.md(tr("ui.print.masked")),
        key=state.bind("masked_contacts"),
        on_change=state.save,
        args=("masked_contacts",),
        help=tr("ui.print.masked_help"),
    )
    c3.checkbox(
        tr("ui.print.cards"),
        key=state.bind("print_cards"),
        on_change=state.save,
        args=("print_cards",),
        help=tr("ui.print.cards_help"),
    )
    basemap_choice = str(state.pref("tiles"))
    c1.caption(
        tr("ui.print.basemap_shared", basemap=t(f"maps.tiles.{basemap_choice}", state.lang()))
    )
    paper = state.pref("paper")
    print_lang = state.pref("print_lang")
    contacts = "masked" if state.pref("masked_contacts") else "hidden"

    if not chosen:
        st.info(tr("ui.print.pick"))
        st.stop()

    st.divider()
    p1, p2, p3 = st.columns(3)
    with p1:
        st.markdown(f"**{tr('ui.print.pdf')}**")
        st.caption(tr("ui.print.pdf_help"))
        # The PDF belongs to one choice of sites and options; any change asks for a new one.
        wanted = (
            state.folder().as_posix(),
            tuple(chosen),
            day.isoformat(),
            paper,
            print_lang,
            contacts,
            basemap_choice,
            bool(state.pref("print_cards")),
            repr(state.overrides()),
            str(state.pref("model")),
        )
        if st.session_state.get("pdf_for") != wanted:
            st.session_state.pop("pdf_bytes", None)
        if st.button(tr("ui.print.make_pdf"), type="primary", key="make_pdf"):
            with st.spinner(tr("ui.spinner.pdf", n=len(chosen))):
                data, result = state.print_pdf(
                    list(chosen),
                    paper=paper,
                    print_lang=print_lang,
                    contacts=contacts,
                    basemap=basemap_choice,
                    cards=bool(state.pref("print_cards")),
                )
            st.session_state["pdf_bytes"] = data
            st.session_state["pdf_for"] = wanted
            st.session_state["pdf_pages"] = result.pages
            st.session_state["pdf_notices"] = list(result.notices)
            first = chosen[0] if len(chosen) == 1 else "book"
            st.session_state["pdf_name"] = f"field-maps-{first}-{day.isoformat()}-{paper}.pdf"
        if st.session_state.get("pdf_bytes"):
            st.success(
                tr(
                    "ui.print.pdf_ready",
                    pages=st.session_state["pdf_pages"],
                    kb=round(len(st.session_state["pdf_bytes"]) / 1024),
                )
            )
            for notice in st.session_state.get("pdf_notices", []):
                st.warning(notice)
            st.download_button(
                tr("ui.print.download_pdf"),
                data=st.session_state["pdf_bytes"],
                file_name=st.session_state["pdf_name"],
                mime="application/pdf",
                icon=":material/picture_as_pdf:",
                on_click="ignore",
            )
    with p2:
        st.markdown(f"**{tr('ui.print.xlsx')}**")
        st.caption(
            tr("ui.print.xlsx_help")
            if len(chosen) == 1
            else tr("ui.print.xlsx_zip_help", n=len(chosen))
        )
        with st.spinner(tr("ui.spinner.plan")):
            plans = [state.plan(z, plan_lang=print_lang) for z in chosen]
        zipped = len(plans) > 1
        st.download_button(
            tr("ui.print.download_xlsx"),
            data=lambda: state.plans_xlsx(plans),
            file_name=f"plans-{day.isoformat()}.zip"
            if zipped
            else f"plan-{chosen[0]}-{day.isoformat()}.xlsx",
            mime="application/zip"
            if zipped
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table_view:",
            on_click="ignore",
        )
    with p3:
        st.markdown(f"**{tr('ui.print.html')}**")
        st.caption(tr("ui.print.html_help"))
        picked = sites[sites["zone_id"].isin(chosen)]
        settings = rec.analysis.settings
        m = state.cached_map(
            "zones", colour_by="zone_type", opacity=0.45, legend_position="topleft", lang=print_lang
        )
        rings = influence_rings(
            lon=ws.dealer.lon,
            lat=ws.dealer.lat,
            rings_km=settings.influence.rings_km,
            radius_km=settings.influence.radius_km,
        )
        maps.add_dealer(
            m,
            lon=ws.dealer.lon,
            lat=ws.dealer.lat,
            name=ws.dealer.name,
            rings=rings,
            lang=print_lang,
        )
        maps.add_sites(m, picked, lang=print_lang)
        maps.finish_map(m)
        title = t("maps.export.title", print_lang, dealer=ws.dealer.name)
        st.download_button(
            tr("ui.print.download_html"),
            data=lambda: map_html(m, title=title),
            file_name=f"outreach-map-{day.isoformat()}.html",
            mime="text/html",
            icon=":material/map:",
            on_click="ignore",
        )
    st.caption(tr("ui.print.privacy"))

"""顾问分区 Consultants: the influence area divided among the sales consultants.

The territories on the map (a zone's card hands it to another consultant or
locks it), the balance table, re-splitting or re-balancing, and each
consultant's printable territory map. A Streamlit page script, run by
``app.py``'s navigation (not imported).
"""

import streamlit as st

from territory.i18n import t
from territory.inputs import assignment as stored
from territory.outreach.split import MEASURES, SplitError, check_move, split_workspace
from territory.ui import components as ui
from territory.ui import state

tr = state.tr
ui.header("ui.consultants.title", "ui.consultants.caption")


def _split_form(current) -> None:
    """Consultants, measure and minimum balance; a new split, or a re-balance of the stored one."""
    ws = state.workspace()
    names = list(current.consultants) if current is not None else list(ws.dealer.team.consultants)
    # A bordered container, not st.form: a form executed outside `streamlit run` (the doctest
    # import of this script) marks Streamlit's shared root container as a form for good.
    lang = state.lang()
    with st.container(border=True):
        st.markdown(f"**{tr('ui.consultants.form_title')}**")
        c1, c2, c3 = st.columns([3, 1.3, 1])
        text = c1.text_input(
            tr("ui.consultants.names"),
            value="、".join(names) if names else "4",
            help=tr("ui.consultants.names_help"),
            key=f"w_split_names_{lang}",
        )
        balance = c2.selectbox(
            tr("ui.consultants.balance"),
            MEASURES,
            format_func=lambda code: tr(f"split.measure.{code}"),
            key=f"w_split_balance_{lang}",
        )
        floor = c3.number_input(
            tr("ui.consultants.min_balance"),
            min_value=0.0,
            max_value=100.0,
            value=float(ws.settings.territories.min_balance),
            step=5.0,
            help=tr("ui.consultants.min_balance_help"),
            key="w_split_min_balance",
        )
        b1, b2 = st.columns(2)
        fresh = b1.button(
            tr("ui.consultants.new_split" if current is not None else "ui.consultants.first_split"),
            type="primary" if current is None else "secondary",
            key="w_split_fresh",
        )
        keep = (
            b2.button(tr("ui.consultants.keep"), type="primary", key="w_split_keep")
            if current is not None
            else False
        )
    if not (fresh or keep):
        return
    try:
        with st.spinner(tr("ui.spinner.split")):
            result = split_workspace(
                ws,
                consultants=text,
                balance=balance,
                keep=bool(keep),
                stored=stored.load_assignment(ws.root),
                min_balance=floor,
                lang=state.lang(),
                settings=state.territory_settings(),
            )
    except SplitError as exc:
        st.error(exc.message(state.lang()))
        return
    stored.save_assignment(
        ws.root,
        result.assignment(),
        consultants=result.consultants,
        balance=result.balance,
        balance_index=result.balance_index,
        origin="app",
    )
    if result.moved is not None:
        st.session_state["w_split_moved"] = tr(
            "ui.consultants.moved",
            zones=len(result.moved),
            orphans=int(result.moved["orphan"].sum()),
        )
    st.rerun()


def _apply(request, split) -> None:
    """A zone-card button: hand the zone to a consultant, or (un)lock it."""
    ws = state.workspace()
    zone = request.id
    names = split.zones.set_index("zone_id")
    if zone not in names.index:
        st.warning(tr("move.unknown"))
        return
    if request.action == "toggle-lock":
        locked = not bool(names.loc[zone, "locked"])
        stored.move_zone(ws.root, zone, locked=locked, origin="app")
        st.session_state["w_split_moved"] = tr(
            "move.locked" if locked else "move.unlocked", zone=zone
        )
        st.rerun()
    if not request.action.startswith("give-"):
        return
    i = int(request.action.split("-", 1)[1])
    if not 0 <= i < len(split.consultants):
        st.warning(tr("move.unknown"))
        return
    consultant = split.consultants[i]
    reason = check_move(split, zone, consultant)
    if reason is not None:
        st.warning(tr(reason, consultant=consultant, owner=names.loc[zone, "consultant"]))
        return
    stored.move_zone(ws.root, zone, consultant, origin="app")
    st.session_state["w_split_moved"] = tr(
        "move.done", zone=names.loc[zone, "name"], consultant=consultant
    )
    st.rerun()


with state.guard():
    lang = state.lang()
    split = state.territories()
    if split is None:
        st.info(tr("ui.consultants.none"))
        _split_form(None)
        st.stop()

    message = st.session_state.pop("w_split_moved", None)
    if message:
        st.success(message)
    if split.unassigned:
        st.warning(tr("ui.consultants.unassigned", n=len(split.unassigned)))

    k1, k2, k3, k4 = st.columns(4)
    k1.metric(tr("ui.consultants.balance_index"), f"{split.balance_index:.1f}")
    k2.metric(tr("ui.consultants.consultants"), f"{len(split.consultants)}")
    compact = split.territories["compactness"].dropna()
    k3.metric(tr("ui.consultants.compactness"), f"{compact.mean():.0f}" if len(compact) else "—")
    k4.metric(tr("ui.consultants.contiguous"), tr("split.yes" if split.contiguous else "split.no"))
    st.caption(tr("ui.consultants.measures", measure=tr(f"split.measure.{split.balance}")))

    left, right = st.columns([3, 2])
    with left:
        with st.spinner(tr("ui.spinner.map")):
            m = state.territories_map()
        request = ui.show_map(m, height=640, key="w_territories_map")
        st.caption(tr("ui.consultants.map_help"))
    if request is not None:
        _apply(request, split)
    with right:
        table = split.territories.copy()
        table["share"] = (table["share"] * 100).round(0)
        table["locked"] = table["locked_zone_ids"].map(len)
        ui.table(
            table,
            {
                "consultant": "ui.consultants.col.consultant",
                "zones": "ui.consultants.col.zones",
                "population": "ui.consultants.col.population",
                "share": "ui.consultants.col.share",
                "compactness": "ui.consultants.col.compactness",
                "locked": "ui.consultants.col.locked",
                "open_leads": "ui.consultants.col.open_leads",
                "workload": "ui.consultants.col.workload",
            },
            key="w_territory_table",
            formats={"population": "%d", "share": "%d%%", "compactness": "%.0f"},
        )
        for notice in split.notices:
            st.caption(ui.md(notice.text(lang)))

        st.markdown(f"**{tr('ui.consultants.print_title')}**")
        p1, p2, p3 = st.columns([2, 1, 1])
        who = p1.selectbox(
            tr("ui.consultants.print_who"),
            ["", *split.consultants],
            format_func=lambda c: tr("ui.consultants.print_all") if c == "" else c,
            key=f"w_territory_print_who_{lang}",
        )
        print_lang = p2.radio(
            tr("ui.consultants.print_lang"),
            ["zh", "en"],
            format_func=lambda code: t("lang.name", code),
            horizontal=True,
            key="w_territory_print_lang",
        )
        paper = p3.radio(
            tr("ui.consultants.paper"), ["A4", "A3"], horizontal=True, key="w_territory_paper"
        )
        if st.button(tr("ui.consultants.make_pdf"), key="w_territory_make_pdf"):
            with st.spinner(tr("ui.spinner.pdf")):
                data, result = state.print_territories_pdf(
                    [who] if who else None, paper=paper, print_lang=print_lang
                )
            st.session_state["w_territory_pdf"] = (data, result.pages, who or "all", print_lang)
        ready = st.session_state.get("w_territory_pdf")
        if ready:
            data, pages, name, made_lang = ready
            st.download_button(
                tr("ui.consultants.download_pdf", pages=pages),
                data=data,
                file_name=f"territory-{name}-{made_lang}.pdf",
                mime="application/pdf",
                key="w_territory_download",
            )

    _split_form(split)

"""外拓选点 Sites: where the team goes on the chosen day, why, and the plan for each site.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import datetime as dt
import math

import pandas as pd
import streamlit as st

from territory.analysis.influence import influence_rings
from territory.outreach.site import referral_invitations
from territory.render import maps
from territory.ui import PAGES_DIR, state
from territory.ui import components as ui
from territory.vocab import FORMATS, TOOLS, ZONE_TYPES, label

tr = state.tr
ui.header("ui.sites.title", "ui.sites.caption")


def _money(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return tr("ui.money", value=f"{value:,.0f}")


def _save_chosen() -> None:
    state.set_pref("chosen_sites", list(st.session_state.get("w_chosen_sites") or []))


with state.guard():
    ws = state.workspace()
    lang = state.lang()
    sep = "、" if lang == "zh" else ", "

    c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1])
    c1.date_input(
        tr("ui.sites.date"),
        key=state.bind("date", value=state.site_date()),
        on_change=state.save,
        args=("date",),
        min_value=dt.date.today(),
        format="YYYY-MM-DD",
    )
    c2.slider(
        tr("ui.sites.top"),
        1,
        10,
        key=state.bind("top"),
        on_change=state.save,
        args=("top",),
        help=tr("ui.sites.top_help"),
    )
    c3.slider(
        tr("ui.sites.rotation"),
        0,
        12,
        key=state.bind("rotation_weeks"),
        on_change=state.save,
        args=("rotation_weeks",),
        help=tr("ui.sites.rotation_help"),
    )
    c4.slider(
        tr("ui.sites.weeks"),
        1,
        8,
        key=state.bind("weeks"),
        on_change=state.save,
        args=("weeks",),
        help=tr("ui.sites.weeks_help"),
    )
    zones = ws.zones
    names = {
        str(z): f"{n}（{d}）" if lang == "zh" else f"{n} ({d})"
        for z, n, d in zip(zones["zone_id"], zones["name"], zones["district"], strict=True)
    }
    if "w_chosen_sites" not in st.session_state or st.session_state.pop("_chosen_changed", False):
        # Set before the widget exists in this run (a card action on the map changed it).
        st.session_state["w_chosen_sites"] = list(state.chosen_sites())
    st.multiselect(
        tr("ui.sites.chosen"),
        list(names),
        format_func=names.get,
        key="w_chosen_sites",
        on_change=_save_chosen,
        help=tr("ui.sites.chosen_help"),
        placeholder=tr("ui.sites.chosen_placeholder"),
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
        weeks = state.recommendation_weeks()
    rec = weeks[0]
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
    from territory.outreach.ranking import recommend_json

    for note in recommend_json(rec, lang=lang)["notes"]:
        st.info(note)
    if sites.empty:
        st.warning(tr("ui.sites.none"))
        st.stop()

    # The N sites are chosen together (maximal covering): say so when N changes, and what moved.
    site_names = dict(zip(sites["zone_id"], sites["name"], strict=True))
    shown = (int(state.pref("top")), list(sites["zone_id"]))
    before = st.session_state.get("sites_shown")
    if before and before[0] != shown[0] and before[1] != shown[1]:
        old_names = st.session_state.get("sites_names", {})
        added = [site_names[z] for z in shown[1] if z not in before[1]]
        dropped = [old_names.get(z, z) for z in before[1] if z not in shown[1]]
        st.info(
            tr(
                "ui.sites.joint_changed",
                before=before[0],
                after=shown[0],
                added=ui.md(sep.join(added)) if added else tr("ui.sites.joint_none"),
                dropped=ui.md(sep.join(dropped)) if dropped else tr("ui.sites.joint_none"),
            )
        )
    st.session_state["sites_shown"] = shown
    st.session_state["sites_names"] = site_names
    options = list(sites["zone_id"])

    left, right = st.columns([3, 2])
    with left:
        with st.spinner(tr("ui.spinner.map")):
            m = state.cached_map(
                "zones",
                colour_by="zone_type",
                opacity=0.45,
                legend_position="topleft",
                date=day.isoformat(),
                actions="set_site",
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
            maps.add_sites(m, sites, lang=lang, click_action="open_plan")
            maps.finish_map(m)
        action = ui.show_map(m, height=700, key="sites_map")
        st.caption(tr("ui.sites.map_hint"))
        if action is not None and action.action == "set_site" and action.id in names:
            # 设为外拓点 on a zone's card: the zone joins the user's sites.
            state.set_pref("chosen_sites", list(dict.fromkeys([*state.chosen_sites(), action.id])))
            st.session_state["_chosen_changed"] = True
            st.rerun()
        if action is not None and action.action == "open_plan" and action.id in options:
            st.session_state["w_site"] = action.id
            st.session_state["sites_dialog"] = action.id
    with right:
        for row in sites.itertuples(index=False):
            with st.container(border=True):
                badge = f" · {tr('ui.sites.by_user')}" if row.chosen_by == "user" else ""
                if getattr(row, "consultant", None):  # whose territory the site is in
                    badge += " · " + tr("ui.sites.consultant_badge", name=ui.md(row.consultant))
                st.markdown(
                    f"**{row.rank}. {ui.md(row.name)}** · {ui.md(row.district)} · "
                    f"{ui.md(label(row.zone_type, ZONE_TYPES, lang))}{badge}"
                )
                st.caption(
                    ui.md(sep.join(label(f, FORMATS, lang) for f in row.formats[:2]))
                    + (" · " + ui.md(row.time_slots[0]) if row.time_slots else "")
                    + " · "
                    + ui.md(tr("ui.sites.spot_line", spot=row.spot["name"]))
                )
                st.markdown(
                    tr(
                        "ui.sites.card_line2",
                        leads=f"{row.expected_leads:,.0f}",
                        sales=f"{row.expected_sales:,.1f}",
                        cost=f"{row.cost:,.0f}",
                        cps=_money(row.cost_per_sale),
                        score=f"{row.score:.2f}",
                    )
                )
        total_cost = float(sites["cost"].sum())
        total_leads = float(sites["expected_leads"].sum())
        total_sales = float(sites["expected_sales"].sum())
        k1, k2, k3 = st.columns(3)
        k1.metric(tr("ui.sites.sum_leads"), f"{total_leads:,.0f}")
        k2.metric(tr("ui.sites.sum_sales"), f"{total_sales:,.1f}")
        k3.metric(tr("ui.sites.sum_cost"), tr("ui.sites.sum_cost_value", k=total_cost / 1000))
        # Recommended → planned events (journal kind event_record), compared with what was done
        # on the Review page (活动复盘).
        day = state.site_date()
        if st.button(
            tr("ui.sites.add_to_plan", n=len(sites), date=day.isoformat()),
            key="sites_add_to_plan",
            icon=":material/event_available:",
            help=tr("ui.sites.add_to_plan_help"),
        ):
            planned = state.plan_sites(
                [
                    (str(z), f[0] if len(f) else None)
                    for z, f in zip(sites["zone_id"], sites["formats"], strict=True)
                ],
                date=day,
                cost=dict(
                    zip(sites["zone_id"].astype(str), sites["cost"].astype(float), strict=True)
                ),
            )
            st.session_state["sites_planned_flash"] = (
                tr("ui.sites.added_to_plan", n=len(planned), ids=", ".join(planned))
                if planned
                else tr("ui.sites.already_planned", date=day.isoformat())
            )
        flash = st.session_state.pop("sites_planned_flash", None)
        if flash:
            st.success(flash)
        if rec.passed:
            st.markdown(f"**{tr('ui.sites.not_chosen')}**")
            st.markdown("\n".join(f"- {ui.md(p['text'])}" for p in rec.passed))

    if len(weeks) > 1:
        st.subheader(tr("ui.sites.calendar"))
        st.caption(tr("ui.sites.calendar_help"))
        per_row = 4
        for start in range(0, len(weeks), per_row):
            cols = st.columns(per_row)
            for col, week in zip(cols, weeks[start : start + per_row], strict=False):
                with col, st.container(border=True):
                    st.markdown(
                        f"**{week.date.isoformat()} {tr(f'ui.weekday.{week.date.weekday()}')}**"
                    )
                    if week.sites.empty:
                        st.caption(tr("ui.sites.none"))
                        continue
                    for r in week.sites.itertuples(index=False):
                        fmt = label(r.formats[0], FORMATS, lang) if r.formats else "—"
                        st.markdown(
                            f"{r.rank}. {ui.md(r.name)}  \n{ui.md(fmt)} · {r.expected_leads:,.0f}"
                        )
                    if week.capacity:
                        c = week.capacity
                        st.caption(
                            tr(
                                "ui.sites.capacity_line",
                                staff=c["used_staff"],
                                of_staff="—" if c["staff"] is None else c["staff"],
                                cars=c["used_test_cars"],
                                of_cars="—" if c["test_cars"] is None else c["test_cars"],
                            )
                        )

    titles = {
        z: f"{r}. {n}（{d}）" if lang == "zh" else f"{r}. {n} ({d})"
        for z, r, n, d in zip(
            sites["zone_id"], sites["rank"], sites["name"], sites["district"], strict=True
        )
    }
    if st.session_state.get("w_site") not in options:
        st.session_state["w_site"] = options[0]
    chosen = st.selectbox(
        tr("ui.sites.choose"),
        options,
        format_func=titles.get,
        key="w_site",
        placeholder=tr("ui.choose"),
    )
    site = sites[sites["zone_id"] == chosen].iloc[0]

    st.subheader(titles[chosen])
    m1, m2, m3, m4, m5, m6 = st.columns(6)
    m1.metric(tr("ui.col.leads"), f"{site['expected_leads']:,.0f}")
    m2.metric(tr("ui.sites.sales"), f"{site['expected_sales']:,.1f}")
    m3.metric(tr("ui.col.cost"), _money(site["cost"]))
    m4.metric(tr("ui.sites.cost_per_lead"), _money(site["cost_per_lead"]))
    m5.metric(tr("ui.sites.cost_per_sale"), _money(site["cost_per_sale"]))
    m6.metric(tr("ui.sites.referral"), f"{int(site['referral_targets']):,}")

    spot = site["spot"]
    s1, s2 = st.columns([3, 1])
    s1.markdown(
        tr(
            "ui.sites.spot",
            spot=ui.md(spot["name"]),
            kind=ui.md(tr(f"site.spot_kind.{spot['kind']}")),
            lon=f"{spot['gcj02'][0]:.6f}",
            lat=f"{spot['gcj02'][1]:.6f}",
        )
    )
    s2.link_button(tr("ui.sites.navigate"), spot["amap_url"], icon=":material/navigation:")

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
        st.markdown(f"**{tr('ui.sites.feature_model')}**")
        st.markdown(ui.md(site["feature_model"]))

    with st.expander(tr("ui.sites.invitations", n=int(site["referral_targets"])), expanded=False):
        st.caption(tr("ui.sites.invitations_help"))
        brief = rec.facts.brief(chosen, day, referral_rows=True)
        invites = referral_invitations(ws, brief, lang=lang)
        ui.table(
            invites,
            {
                "name": "ui.sites.col.name",
                "phone": "ui.sites.col.phone",
                "model": "ui.sites.col.model",
                "delivered": "ui.sites.delivered",
                "months": "ui.sites.months",
            },
            key="referral_table",
        )

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

    def show_plan(zone_id: str, *, where: str) -> None:
        """The 13-part plan of ``zone_id`` and its XLSX download."""
        with st.spinner(tr("ui.spinner.plan")):
            plan = state.plan(zone_id)
        for section in plan.sections:
            with st.expander(f"{section.number}. {section.title}", expanded=section.number <= 2):
                if section.rows:
                    rows = pd.DataFrame(
                        section.rows, columns=[tr("ui.col.item"), tr("ui.col.content")]
                    )
                    st.table(rows.set_index(tr("ui.col.item")))
                if section.table is not None:
                    st.dataframe(
                        section.table,
                        hide_index=True,
                        width="stretch",
                        key=f"plan_table_{where}_{section.key}",
                    )
        st.download_button(
            tr("ui.sites.download_xlsx"),
            data=lambda: state.plans_xlsx([plan]),
            file_name=f"plan-{zone_id}-{day.isoformat()}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table_view:",
            on_click="ignore",
            key=f"plan_xlsx_{where}",
        )

    show_plan(chosen, where="page")
    st.page_link(str(PAGES_DIR / "exports.py"), label=tr("ui.sites.print"), icon=":material/print:")

    # A click on a site's marker opens that site's plan.
    opened = st.session_state.pop("sites_dialog", None)
    if opened in titles:

        @st.dialog(tr("ui.sites.plan_of", site=titles[opened]), width="large")
        def plan_dialog() -> None:
            show_plan(opened, where="dialog")

        plan_dialog()

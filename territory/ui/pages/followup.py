"""线索跟进 Follow-up: today's due and overdue leads per consultant, recording a call, the funnel.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
Business rules live in ``territory.leads`` (followup, lifecycle, funnel,
lost) and the charts in ``territory.render.lead_charts``; this page wires
widgets to them. Every edit goes to the workspace's journal
(``territory-journal.sqlite``), never to the user's files. The page reruns
after every click, so it reads only cached results (``ui/state.py``) and
shows one of funnel / pyramid / lost reasons at a time.
"""

import datetime as dt

import streamlit as st

from territory.i18n import t
from territory.inputs.journal import JournalError
from territory.leads.funnel import GRADES, lever_text
from territory.leads.lifecycle import LeadUpdate, UpdateError
from territory.render import lead_charts
from territory.ui import components as ui
from territory.ui import state

ui.header("ui.followup.title", "ui.followup.caption")
ALL = "\x00all"
KEEP = "\x00keep"

with state.guard():
    ws = state.workspace()
    lang = state.lang()

    def tr(key: str, /, **fields) -> str:
        """A catalogue message in the page's language (no session lookups: this page reruns often)."""
        return t(key, lang, **fields)

    def pct(value) -> str:
        return "—" if value is None or value != value else f"{value * 100:.0f}%"

    leads = state.leads()
    if leads.empty:
        st.info(tr("ui.followup.no_cards"))
        st.stop()
    flash = st.session_state.pop("fu_flash", None)
    if flash:
        st.success(flash)

    # ------------------------------------------------------------------ filters
    default_day, data_end = state.followup_default_date()
    if "w_fu_date" not in st.session_state:
        st.session_state["w_fu_date"] = default_day
    team = list(ws.dealer.team.consultants)
    others = sorted(c for c in leads["consultant"].dropna().unique() if c not in set(team))
    consultants = [ALL, *team, *others]
    districts = [ALL, *leads["district"].dropna().value_counts().index.tolist()]
    for key, options in (("w_fu_consultant", consultants), ("w_fu_district", districts)):
        if st.session_state.get(key) not in options:
            st.session_state[key] = ALL
    c1, c2, c3, c4 = st.columns(4)
    day = c1.date_input(tr("ui.followup.date"), key="w_fu_date", format="YYYY-MM-DD")
    all_consultants, all_districts = (
        tr("ui.followup.all_consultants"),
        tr("ui.followup.all_districts"),
    )
    c2.selectbox(
        tr("ui.followup.consultant"),
        consultants,
        format_func=lambda c: all_consultants if c == ALL else c,
        key="w_fu_consultant",
    )
    c3.selectbox(
        tr("ui.followup.district"),
        districts,
        format_func=lambda d: all_districts if d == ALL else d,
        key="w_fu_district",
    )
    full = c4.toggle(
        tr("ui.followup.full_contacts"), key="w_fu_full", help=tr("ui.followup.full_help")
    )
    consultant = st.session_state["w_fu_consultant"]
    consultant = None if consultant == ALL else consultant
    district = st.session_state["w_fu_district"]
    district = None if district == ALL else district
    if data_end is not None:
        today = dt.date.today()
        s1, s2 = st.columns([4, 1])
        s1.info(tr("ui.followup.stale", end=data_end.isoformat(), days=(today - data_end).days))
        s2.button(
            tr("ui.followup.use_today", today=today.isoformat()),
            on_click=lambda: st.session_state.update(w_fu_date=dt.date.today()),
            key="fu_today",
        )

    contacts = "full" if full else "masked"
    result, calls, choices = state.followup_view(
        day, consultant=consultant, district=district, contacts=contacts
    )
    shown_by = result.by_consultant
    if consultant is not None:
        shown_by = shown_by[shown_by["consultant"].astype(object).eq(consultant).to_numpy()]
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(tr("ui.followup.kpi.open"), f"{int(shown_by['open'].sum()):,}")
    k2.metric(tr("ui.followup.kpi.due"), f"{int(shown_by['due'].sum()):,}")
    k3.metric(tr("ui.followup.kpi.overdue"), f"{int(shown_by['overdue'].sum()):,}")
    k4.metric(tr("ui.followup.kpi.never"), f"{int(shown_by['never_contacted'].sum()):,}")

    # ------------------------------------------------------------------ per consultant
    st.subheader(tr("ui.followup.by_consultant"))
    unassigned = tr("ui.followup.unassigned")
    by = result.by_consultant.assign(
        name=[c if c is not None else unassigned for c in result.by_consultant["consultant"]]
    )
    left, right = st.columns([3, 2])
    left.vega_lite_chart(
        spec=lead_charts.workload_spec(
            by,
            names=list(by["name"]),
            labels={k: tr(f"ui.followup.kpi.{k}") for k in ("overdue", "due")},
            axis=tr("ui.followup.chart_x"),
        ),
        width="stretch",
        key="fu_workload_chart",
    )
    with right:
        ui.table(
            by,
            {
                "name": "followup.col.consultant",
                "open": "followup.col.open",
                "due": "followup.col.due",
                "overdue": "followup.col.overdue",
                "never_contacted": "followup.col.never_contacted",
                "max_days_overdue": "followup.col.max_days_overdue",
            },
            key="fu_by_consultant",
        )

    # ------------------------------------------------------------------ the call list
    st.subheader(tr("ui.followup.list", n=len(calls)))
    for note in result.notes:
        st.caption(note)
    ui.table(
        calls,
        {
            "days_overdue": "followup.col.days_overdue",
            "lead_id": "followup.col.lead_id",
            "name": "followup.col.name",
            "phone": "followup.col.phone",
            "grade": "followup.col.grade",
            "consultant": "followup.col.consultant",
            "source": "followup.col.source",
            "event_id": "followup.col.event_id",
            "district": "followup.col.district",
            "last_contact": "followup.col.last_contact",
            "due_date": "followup.col.due_date",
        },
        key="fu_list",
        height=320,
    )
    st.download_button(
        tr("ui.followup.download", kind=tr(f"ui.followup.contacts.{contacts}")),
        data=lambda: state.call_list_xlsx(result, contacts=contacts, list_lang=lang),
        file_name=f"call-list-{day.isoformat()}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/call:",
        on_click="ignore",
        key="fu_download",
    )

    # ------------------------------------------------------------------ record a call
    st.subheader(tr("ui.followup.record"))
    if not choices:
        st.caption(tr("ui.followup.nothing_open"))
    else:
        keep = tr("ui.followup.keep")
        # Form widgets keep their labels until submitted: keyed by language, a switch renews them.
        with st.form(f"fu_record_{lang}", clear_on_submit=False):
            f1, f2, f3 = st.columns(3)
            lead_id = f1.selectbox(
                tr("ui.followup.lead"),
                list(choices),
                format_func=choices.get,
                key=f"w_fu_lead_{lang}",
            )
            contacted = f2.checkbox(
                tr("ui.followup.contacted"), value=True, key=f"w_fu_contacted_{lang}"
            )
            contact_day = f3.date_input(
                tr("ui.followup.contact_date"),
                value=min(day, dt.date.today()),
                max_value=dt.date.today(),
                format="YYYY-MM-DD",
                key=f"w_fu_contact_day_{lang}",
            )
            g1, g2, g3 = st.columns(3)
            grade = g1.selectbox(
                tr("ui.followup.new_grade"),
                [KEEP, *GRADES],
                format_func=lambda g: keep if g == KEEP else g,
                key=f"w_fu_grade_{lang}",
            )
            statuses = {s: tr(f"followup.result.{s}") for s in ("open", "won", "lost")}
            status = g2.selectbox(
                tr("ui.followup.new_status"),
                [KEEP, *statuses],
                format_func=lambda s: keep if s == KEEP else statuses[s],
                key=f"w_fu_status_{lang}",
            )
            handover = g3.selectbox(
                tr("ui.followup.handover"),
                [KEEP, *team],
                format_func=lambda c: keep if c == KEEP else c,
                key=f"w_fu_handover_{lang}",
            )
            reason = st.text_input(tr("ui.followup.lost_reason"), key=f"w_fu_reason_{lang}")
            h1, h2 = st.columns([3, 1])
            note = h1.text_input(tr("ui.followup.note"), key=f"w_fu_note_{lang}")
            who = h2.text_input(
                tr("ui.followup.who"), key=f"w_fu_who_{lang}", help=tr("ui.followup.who_help")
            )
            submitted = st.form_submit_button(tr("ui.followup.submit"), type="primary")
        if submitted:
            owner = result.open_leads.set_index("lead_id")["consultant"].get(lead_id)
            update = LeadUpdate(
                lead_id,
                contacted=contact_day if contacted else None,
                grade=None if grade == KEEP else grade,
                status=None if status == KEEP else status,
                lost_reason=reason or None,
                consultant=None if handover == KEEP else handover,
                note=note or None,
            )
            try:
                batch = state.record_lead_update(
                    update, who=who.strip() or (owner if isinstance(owner, str) else None)
                )
            except UpdateError as exc:
                st.error("\n".join(f"- {ui.md(m)}" for m in exc.messages(lang)))
            except JournalError as exc:
                st.error(ui.md(exc.message(lang)))
            else:
                st.session_state["fu_flash"] = tr(
                    "ui.followup.recorded", lead=ui.md(lead_id), batch=batch
                )
                st.rerun()

    # ------------------------------------------------------------------ funnel, pyramid, lost
    st.divider()
    st.subheader(tr("ui.followup.funnel"))
    first = leads["start"].min().date()
    last = result.data_end.date() if result.data_end is not None else leads["start"].max().date()
    if "w_fu_period" not in st.session_state:
        st.session_state["w_fu_period"] = (first, last)
    p1, p2, p3 = st.columns([2, 1, 2])
    view = p1.segmented_control(
        tr("ui.followup.view"),
        ["funnel", "pyramid", "lost"],
        format_func=lambda v: tr(f"ui.followup.tab.{v}"),
        key="w_fu_view",
        default="funnel",
        required=True,
    )
    p3.date_input(
        tr("ui.followup.period"),
        min_value=first,
        max_value=max(last, first),
        key="w_fu_period",
        format="YYYY-MM-DD",
    )
    chosen = st.session_state["w_fu_period"]
    start, end = (chosen[0], chosen[1]) if len(chosen) == 2 else (first, last)

    if view == "funnel":
        by_key = p2.selectbox(
            tr("ui.followup.funnel_by"),
            ["consultant", "source", "district", "event", ALL],
            format_func=lambda b: (
                tr("ui.followup.funnel_all") if b == ALL else tr(f"funnel.by.{b}")
            ),
            key="w_fu_by",
        )
        whole = state.lead_funnel(None, start, end)
        rows = whole if by_key == ALL else state.lead_funnel(by_key, start, end)
        for note in rows.notes:
            st.info(note)
        total = whole.rows.iloc[0]
        st.vega_lite_chart(
            spec=lead_charts.funnel_spec(
                [
                    (tr(f"ui.followup.stage.{stage}"), total[stage])
                    for stage in ("N", "cards", "followed", "deals")
                ],
                title=tr(
                    "ui.followup.funnel_chart",
                    k=pct(total["K"]),
                    f=pct(total["F"]),
                    c=pct(total["C"]),
                ),
            ),
            width="stretch",
            key="fu_funnel_chart",
        )
        table = rows.rows.assign(
            N_text=["—" if v is None or v != v else f"{v:,.0f}" for v in rows.rows["N"]],
            K_pct=[pct(v) for v in rows.rows["K"]],
            F_pct=[pct(v) for v in rows.rows["F"]],
            C_pct=[pct(v) for v in rows.rows["C"]],
            P_text=[
                " ".join(f"{g} {pct(getattr(r, f'p_{g.lower()}'))}" for g in GRADES)
                for r in rows.rows.itertuples(index=False)
            ],
            lever=[
                lever_text(r, rows.median, lang) if by_key != ALL else ""
                for r in rows.rows.itertuples(index=False)
            ],
        )
        ui.table(
            table,
            {
                "label": "ui.followup.col.row",
                "N_text": "ui.followup.col.N",
                "K_pct": "ui.followup.col.K",
                "cards": "ui.followup.col.cards",
                "F_pct": "ui.followup.col.F",
                "C_pct": "ui.followup.col.C",
                "P_text": "ui.followup.col.P",
                "sales": "ui.followup.col.sales",
                "lever": "ui.followup.col.lever",
            },
            key="fu_funnel_table",
        )
        if by_key != ALL and rows.median.get("rows"):
            spec = lead_charts.lever_spec(
                rows.rows,
                rows.median,
                indicators={i: f"{tr(f'funnel.lever_name.{i}')} ({i})" for i in ("K", "F", "C")},
                order=list(rows.rows["label"]),
            )
            if spec is not None:
                st.vega_lite_chart(spec=spec, key="fu_lever_chart")
                st.caption(tr("ui.followup.lever_caption"))

    elif view == "pyramid":
        pace = state.lead_pyramid(start, end, None)
        target = p2.number_input(
            tr("ui.followup.target"),
            min_value=0,
            value=int(pace.attrs["target"]),
            step=1,
            key="w_fu_target",
            help=tr("ui.followup.target_help"),
        )
        table = state.lead_pyramid(start, end, float(target))
        st.caption(
            tr("ui.followup.pyramid_assumed")
            if table.attrs["assumed"]
            else tr(
                "ui.followup.pyramid_caption",
                rate=pct(table.attrs["close_rate_h"]),
                multiple=f"{table.attrs['multiple']:g}",
            )
        )
        st.vega_lite_chart(
            spec=lead_charts.pyramid_spec(
                table,
                title=tr("ui.followup.pyramid_title", target=int(target)),
                needed=tr("ui.followup.col.needed"),
                have=tr("ui.followup.col.have"),
            ),
            width="stretch",
            key="fu_pyramid_chart",
        )
        ui.table(
            table,
            {
                "grade": "followup.col.grade",
                "needed": "ui.followup.col.needed",
                "have": "ui.followup.col.have",
                "shortfall": "ui.followup.col.shortfall",
            },
            formats={"needed": "localized", "have": "localized", "shortfall": "localized"},
            key="fu_pyramid_table",
        )

    else:
        lost_by = p2.segmented_control(
            tr("ui.followup.lost_by"),
            ["source", "consultant"],
            format_func=lambda b: tr(f"funnel.by.{b}"),
            key="w_fu_lost_by",
            default="source",
            required=True,
        )
        lost = state.lost_leads(lost_by or "source", start, end)
        st.caption(tr("ui.followup.lost_caption", n=lost.lost))
        ui.table(
            lost.reasons.assign(share_pct=lost.reasons["share"] * 100),
            {
                "label": "ui.followup.col.reason",
                "count": "ui.followup.col.count",
                "share_pct": "ui.followup.col.share",
            },
            formats={"count": "localized", "share_pct": "%.0f%%"},
            key="fu_lost_reasons",
        )
        ui.table(
            lost.rows.assign(
                lost_pct=lost.rows["lost_rate"] * 100,
                top_pct=lost.rows["top_share"].astype(float) * 100,
            ),
            {
                "label": "ui.followup.col.row",
                "closed": "ui.followup.col.closed",
                "lost": "ui.followup.col.lost",
                "lost_pct": "ui.followup.col.lost_rate",
                "out_of_control": "ui.followup.col.out_of_control",
                "top_reason": "ui.followup.col.top_reason",
                "top_pct": "ui.followup.col.top_share",
            },
            formats={"lost_pct": "%.0f%%", "top_pct": "%.0f%%"},
            key="fu_lost_rows",
        )

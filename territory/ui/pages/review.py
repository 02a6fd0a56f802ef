"""活动复盘 Review: record an outing and its registration form, review it at 4 weeks, the month.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
Recording goes through :func:`territory.leads.record.record_outing` (the same
path as ``territory record``: journal kinds ``event_record`` / ``form_lead``,
the user's files untouched, nothing written on a bad row); the review is
:func:`territory.outreach.review.review_event` / ``month_review`` and the
charts :mod:`territory.render.review_charts`.
"""

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from territory._errors import LayerError
from territory.i18n import t
from territory.inputs.journal import JournalError
from territory.leads.record import Outing
from territory.render import review_charts
from territory.ui import components as ui
from territory.ui import state
from territory.vocab import EVENT_STATUSES, FORMATS, label

ui.header("ui.review.title", "ui.review.caption")
NEW = "\x00new"

with state.guard():
    ws = state.workspace()
    lang = state.lang()

    def tr(key: str, /, **fields) -> str:
        return t(key, lang, **fields)

    def money(value) -> str:
        if value is None:
            return "—"
        return f"{value:,.0f} 元" if lang == "zh" else f"CNY {value:,.0f}"

    flash = st.session_state.pop("rv_flash", None)
    if flash:
        st.success(flash)

    events = ws.events.sort_values(["date", "event_id"], ascending=[False, True])
    zones = ws.zones.set_index(ws.zones["zone_id"].astype(str))
    zone_names = zones["name"].astype(str).to_dict()

    def event_label(event_id: str) -> str:
        if event_id == NEW:
            return tr("ui.review.new_event")
        r = events[events["event_id"].astype(str).eq(event_id)].iloc[0]
        status = r["status"] if isinstance(r["status"], str) else "done"
        fmt = label(r["format"], FORMATS, lang) if isinstance(r["format"], str) else "—"
        zone = zone_names.get(str(r["zone_id"]), "") if isinstance(r["zone_id"], str) else ""
        return (
            f"{event_id} · {pd.Timestamp(r['date']).date()} · {fmt} · {zone} · "
            f"{label(status, EVENT_STATUSES, lang)}"
        )

    ids = events["event_id"].astype(str).tolist()
    today = dt.date.today()
    status_now = events["status"].astype(object)
    past_done = events[
        (pd.to_datetime(events["date"]) <= pd.Timestamp(today))
        & (status_now.eq("done") | status_now.isna())
    ]
    default = st.session_state.get("rv_event") or (
        str(past_done["event_id"].iloc[0]) if len(past_done) else (ids[0] if ids else NEW)
    )
    options = [*ids, NEW]
    if st.session_state.get("w_rv_event") not in options:
        st.session_state["w_rv_event"] = default if default in options else NEW
    chosen = st.selectbox(tr("ui.review.pick"), options, format_func=event_label, key="w_rv_event")
    row = None if chosen == NEW else events[events["event_id"].astype(str).eq(chosen)].iloc[0]

    # ------------------------------------------------------------------ record
    with st.expander(
        tr("ui.review.record_new") if row is None else tr("ui.review.record", event=chosen),
        expanded=row is None,
    ):
        zone_ids = list(zones.index)
        formats = list(FORMATS)
        statuses = list(EVENT_STATUSES)
        with st.form(f"rv_record_{lang}_{chosen}", clear_on_submit=False):
            c1, c2, c3 = st.columns(3)
            new_id = c1.text_input(
                tr("ui.review.event_id"),
                value="" if row is None else chosen,
                disabled=row is not None,
                placeholder="E2026-12-05A",
            )
            cur_status = (
                row["status"] if row is not None and isinstance(row["status"], str) else "done"
            )
            status = c2.selectbox(
                tr("ui.review.status"),
                statuses,
                index=statuses.index(cur_status) if cur_status in statuses else 1,
                format_func=lambda s: label(s, EVENT_STATUSES, lang),
            )
            cur_date = pd.Timestamp(row["date"]).date() if row is not None else today
            day = c3.date_input(tr("ui.review.date"), value=cur_date, format="YYYY-MM-DD")
            d1, d2 = st.columns(2)
            cur_zone = (
                str(row["zone_id"]) if row is not None and isinstance(row["zone_id"], str) else None
            )
            zone = d1.selectbox(
                tr("ui.review.zone"),
                zone_ids,
                index=zone_ids.index(cur_zone) if cur_zone in zone_ids else 0,
                format_func=lambda z: f"{zone_names.get(z, z)} ({z})",
            )
            cur_fmt = row["format"] if row is not None and isinstance(row["format"], str) else None
            fmt = d2.selectbox(
                tr("ui.review.format"),
                formats,
                index=formats.index(cur_fmt) if cur_fmt in formats else 0,
                format_func=lambda f: label(f, FORMATS, lang),
            )
            e1, e2 = st.columns(2)
            cur_cost = float(row["cost"]) if row is not None and pd.notna(row["cost"]) else 0.0
            cost = e1.number_input(tr("ui.review.cost"), value=cur_cost, min_value=0.0, step=100.0)
            cur_staff = int(row["staff"]) if row is not None and pd.notna(row["staff"]) else 0
            staff = e2.number_input(tr("ui.review.staff"), value=cur_staff, min_value=0, step=1)
            upload = st.file_uploader(
                tr("ui.review.form"),
                type=["xlsx", "csv"],
                help=tr("ui.review.form_help"),
                key=f"w_rv_upload_{lang}_{chosen}",
            )
            submitted = st.form_submit_button(
                tr("ui.review.save"), type="primary", key=f"rv_save_{lang}_{chosen}"
            )
        if submitted:
            event_id = chosen if row is not None else new_id.strip()

            def changed(value, current):
                """New events get every fact; an existing one only what was changed."""
                return value if row is None or value != current else None

            outing_fields = {
                "status": changed(status, cur_status),
                "date": changed(day, cur_date),
                "zone_id": changed(zone, cur_zone),
                "format": changed(fmt, cur_fmt),
                "cost": changed(float(cost), cur_cost),
                "staff": changed(int(staff), cur_staff) if staff or row is not None else None,
            }
            tmp = None
            try:
                if upload is not None:
                    folder = Path(tempfile.mkdtemp(prefix="territory-form-"))
                    tmp = folder / Path(upload.name).name
                    tmp.write_bytes(upload.getvalue())
                result = state.record_outing(
                    Outing(
                        event_id,
                        form=tmp,
                        form_name=upload.name if upload else None,
                        **outing_fields,
                    ),
                    who=None,
                )
            except LayerError as exc:
                st.error(tr("ui.review.not_recorded", n=len(exc.errors)))
                ui.problems_table(exc.problems, key="rv_problems")
            except JournalError as exc:
                st.error(exc.message(lang))
            else:
                st.session_state["rv_event"] = result.event_id
                st.session_state.pop("w_rv_event", None)
                st.session_state["rv_flash"] = tr(
                    "review.cli_recorded",
                    event=result.event_id,
                    status=label(result.status, EVENT_STATUSES, lang),
                    added=result.leads_added,
                    linked=result.leads_linked,
                )
                st.rerun()
            finally:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                    tmp.parent.rmdir()

    # ------------------------------------------------------------------ the review
    if row is not None:
        days = st.select_slider(tr("ui.review.days"), options=[7, 14, 21, 28, 42, 56], value=28)
        r = state.event_review(chosen, days)
        tg = r["targets"]
        st.subheader(tr("ui.review.facts"))
        st.markdown(
            tr(
                "ui.review.facts_line",
                date=r["date"],
                zone=ui.md(r["zone_name"] or r["zone_id"] or "—"),
                format=ui.md(r["format_label"] or "—"),
                status=label(r["status"], EVENT_STATUSES, lang),
                cost=money(r["cost"]),
                planned=tr("ui.review.from_sites") if r["planned_from_sites"] else "",
            )
        )
        k = st.columns(6)
        k[0].metric(
            tr("ui.review.kpi.leads"),
            f"{r['leads']}",
            delta=tr("ui.review.vs_target", target=tg["leads"])
            if tg.get("leads") is not None
            else None,
            delta_color="off",
            delta_arrow="off",
        )
        k[1].metric(tr("ui.review.kpi.followed"), f"{r['followed_on_time']}")
        k[2].metric(tr("ui.review.kpi.visits"), f"{r['visits']}")
        k[3].metric(tr("ui.review.kpi.deposits"), f"{r['deposits']}")
        k[4].metric(
            tr("ui.review.kpi.sales"),
            f"{r['sales']}",
            delta=tr("ui.review.vs_target", target=tg["sales"])
            if tg.get("sales") is not None
            else None,
            delta_color="off",
            delta_arrow="off",
        )
        k[5].metric(
            tr("ui.review.kpi.cps"),
            money(r["cost_per_sale"]),
            delta=tr("ui.review.vs_target", target=money(tg.get("cost_per_sale"))),
            delta_color="off",
            delta_arrow="off",
        )
        st.caption(
            tr(
                "ui.review.cpl_line",
                cpl=money(r["cost_per_lead"]),
                tcpl=money(tg.get("cost_per_lead")),
            )
        )
        weeks = pd.DataFrame(r["weeks"])
        weeks["label"] = [tr("ui.review.week", n=w) for w in weeks["week"]]
        weeks["period"] = weeks["start"] + " – " + weeks["end"]
        weeks["done"] = [
            tr("ui.review.yes") if c else tr("ui.review.partial") for c in weeks["complete"]
        ]
        left, right = st.columns([3, 2])
        left.vega_lite_chart(
            spec=review_charts.weeks_spec(
                r["weeks"],
                labels={f: tr(f"ui.review.kpi.{f}") for f in review_charts.WEEK_FIGURES},
                week_label=tr("ui.review.week", n="{n}"),
                axis=tr("ui.review.count"),
            ),
            width="stretch",
            key="rv_weeks_chart",
        )
        with right:
            ui.table(
                weeks,
                {
                    "label": "ui.review.col.week",
                    "period": "ui.review.col.period",
                    "leads": "ui.review.kpi.leads",
                    "followed_on_time": "ui.review.kpi.followed_on_time",
                    "open": "ui.review.col.open",
                    "visits": "ui.review.kpi.visits",
                    "deposits": "ui.review.kpi.deposits",
                    "sales": "ui.review.kpi.sales",
                    "done": "ui.review.col.complete",
                },
                key="rv_weeks",
            )
        st.info(r["rule"], icon=":material/rule:")
        st.caption(r["target_rule"])
        for item in r["not_computed"]:
            st.caption(f"· {item['reason']}")

    # ------------------------------------------------------------------ the month
    st.subheader(tr("ui.review.month"))
    months = sorted(
        {f"{d:%Y-%m}" for d in pd.to_datetime(ws.events["date"]).dropna()}, reverse=True
    )
    if not months:
        st.caption(tr("ui.review.no_events"))
    else:
        if st.session_state.get("w_rv_month") not in months:
            current = f"{today:%Y-%m}"
            st.session_state["w_rv_month"] = (
                f"{pd.Timestamp(row['date']):%Y-%m}"
                if row is not None
                else (current if current in months else months[0])
            )
        month = st.selectbox(tr("ui.review.pick_month"), months, key="w_rv_month")
        m = state.month_review(month)
        tot = m["totals"]
        c = st.columns(5)
        c[0].metric(tr("ui.review.m.outings"), f"{tot['done']} / {tot['outings']}")
        c[1].metric(tr("ui.review.m.cost"), money(tot["cost"]))
        c[2].metric(
            tr("ui.review.kpi.leads"),
            f"{tot['leads']}",
            delta=tr("ui.review.vs_target", target=tot["target_leads"]),
            delta_color="off",
            delta_arrow="off",
        )
        c[3].metric(tr("ui.review.kpi.sales"), f"{tot['sales']}")
        c[4].metric(tr("ui.review.m.deals"), f"{m['outreach_deals']}")
        rec = m["recommended"]
        st.caption(
            tr(
                "ui.review.m.recommended",
                planned=rec["planned"],
                done=rec["done"],
                open=rec["open"],
                cancelled=rec["cancelled"],
            )
        )
        rows = pd.DataFrame(m["events"])
        if len(rows):
            rows["status_label"] = [label(s, EVENT_STATUSES, lang) for s in rows["status"]]
            rows["target_leads"] = [x.get("leads") for x in rows["targets"]]
            rows["target_sales"] = [x.get("sales") for x in rows["targets"]]
            rows["zone"] = rows["zone_name"].fillna(rows["zone_id"])
            left, right = st.columns([2, 3])
            left.vega_lite_chart(
                spec=review_charts.month_spec(
                    m["events"],
                    actual=tr("ui.review.kpi.leads"),
                    target=tr("ui.review.target"),
                    axis=tr("ui.review.kpi.leads"),
                ),
                width="stretch",
                key="rv_month_chart",
            )
            with right:
                ui.table(
                    rows,
                    {
                        "event_id": "ui.review.col.event",
                        "date": "ui.review.date",
                        "format_label": "ui.review.format",
                        "zone": "ui.review.zone",
                        "status_label": "ui.review.status",
                        "cost": "ui.review.cost",
                        "leads": "ui.review.kpi.leads",
                        "target_leads": "ui.review.col.target_leads",
                        "visits": "ui.review.kpi.visits",
                        "deposits": "ui.review.kpi.deposits",
                        "sales": "ui.review.kpi.sales",
                        "target_sales": "ui.review.col.target_sales",
                        "cost_per_sale": "ui.review.kpi.cps",
                    },
                    key="rv_month_table",
                )
        st.caption(m["deals_rule"])

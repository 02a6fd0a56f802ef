"""Reviewing outings against their plan: ``territory review`` and the Review page (活动复盘).

:func:`review_event` puts an event's actual figures
(:func:`territory.leads.review.event_review`, per week for ``days`` after
the event) next to the targets its plan set: the learned figures of its
format in its zone **as they stood on the event's day**
(:class:`territory.outreach.site.SiteFacts`, the same numbers as part 8 of
the 13-part plan), so the outing is judged against what was expected of it,
not against figures it taught afterwards. :func:`month_review` sums up every
outing of a month (seed 000: the monthly count of deals from outreach) and
compares what was planned from the Sites page with what was done.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Any

import pandas as pd

from territory._errors import LayerError, ProblemList
from territory.i18n import t
from territory.inputs.journal import Journal
from territory.leads.review import event_review, outreach_deals
from territory.vocab import EVENT_STATUSES, FORMATS, label

__all__ = ["REVIEW_FILE", "event_targets", "month_review", "review_event", "review_text"]

REVIEW_FILE = "territory review"


def _facts(ws, lang: str, facts=None):
    from territory.outreach.site import SiteFacts

    return facts or SiteFacts.for_workspace(ws, lang=lang)


def event_targets(facts, zone_id: str | None, fmt: str | None, day: dt.date) -> dict[str, Any]:
    """The plan's targets for an outing: learned figures of ``fmt`` in the zone on ``day``."""
    if zone_id is None or fmt is None or str(zone_id) not in facts._row:
        return {"leads": None, "sales": None, "basis": None}
    econ = facts.economics(str(zone_id), fmt, day)
    window = facts.settings.history.sales_window_days
    return {
        "leads": round(econ.leads, 1),
        "sales": round(econ.sales, 2),
        "target_orders": math.ceil(econ.sales - 1e-9) if econ.leads else 0,
        "cost": round(econ.cost, 0),
        "cost_per_lead": _finite(econ.cost_per_lead),
        "cost_per_sale": _finite(econ.cost_per_sale),
        "close_rate": econ.close_rate,
        "basis": econ.basis,
        "events": econ.events,
        "sales_window_days": window,
    }


def _finite(value: float) -> float | None:
    return round(float(value), 2) if value is not None and math.isfinite(value) else None


def _journal_contacts(root) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in Journal(root).entries("lead_update"):
        day = e.data.get("last_contact")
        if day:
            out.setdefault(e.key, []).append(day)
    return out


def _recommended(root) -> set[str]:
    """Events planned from the Sites page (``origin_page = sites``)."""
    return {
        e.key for e in Journal(root).entries("event_record") if e.data.get("origin_page") == "sites"
    }


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _event(ws, event_id: str, lang: str):
    events = ws.events
    hit = events[events["event_id"].astype(object).eq(event_id)] if len(events) else events
    if not len(hit):
        problems = ProblemList()
        problems.add(REVIEW_FILE, "review.no_such_event", column="--event", found=event_id)
        raise LayerError(problems, lang)
    return hit.iloc[0]


def review_event(
    ws,
    event_id: str,
    *,
    days: int = 28,
    as_of: dt.date | None = None,
    lang: str = "zh",
    facts=None,
    contacts: dict | None = None,
    recommended: set[str] | None = None,
) -> dict[str, Any]:
    """The review JSON of one event (contract "Additions": ``review``), with the rule stated.

    Raises
    ------
    LayerError
        If the workspace has no event ``event_id`` (exit 2).
    """
    row = _event(ws, event_id, lang)
    day = pd.Timestamp(row["date"]).date()
    as_of = as_of or dt.date.today()
    contacts = _journal_contacts(ws.root) if contacts is None else contacts
    actual = event_review(
        ws.cards,
        event_id=event_id,
        day=day,
        days=days,
        as_of=as_of,
        settings=ws.settings,
        journal_contacts=contacts,
    )
    zone_id = _text(row.get("zone_id"))
    fmt = _text(row.get("format"))
    status = _text(row.get("status")) or ("done" if day < as_of else "planned")
    facts = _facts(ws, lang, facts)
    targets = event_targets(facts, zone_id, fmt, day)
    cost = row.get("cost")
    cost = None if cost is None or pd.isna(cost) else float(cost)
    leads, sales = actual["leads"], actual["sales"]
    zone_name = None
    if zone_id is not None and zone_id in facts._row:
        zone_name = str(facts.zones["name"].iloc[facts.row(zone_id)])
    not_computed = [
        {"figure": "showroom_traffic", "reason": t("review.nc.traffic", lang)},
    ]
    if status != "done":
        not_computed.append({"figure": "actuals", "reason": t("review.nc.not_done", lang)})
    if cost is None:
        not_computed.append({"figure": "cost_per_lead", "reason": t("review.nc.no_cost", lang)})
    if sales == 0 and cost is not None:
        not_computed.append({"figure": "cost_per_sale", "reason": t("review.nc.no_sales", lang)})
    rec = recommended if recommended is not None else _recommended(ws.root)
    return {
        "event_id": event_id,
        "date": day.isoformat(),
        "status": status,
        "zone_id": zone_id,
        "zone_name": zone_name,
        "format": fmt,
        "format_label": label(fmt, FORMATS, lang) if fmt else None,
        "planned_from_sites": event_id in rec,
        "cost": cost,
        "leads": leads,
        "followed_on_time": actual["followed_on_time"],
        "visits": actual["visits"],
        "deposits": actual["deposits"],
        "sales": sales,
        "cost_per_lead": round(cost / leads, 2) if cost is not None and leads else None,
        "cost_per_sale": round(cost / sales, 2) if cost is not None and sales else None,
        "targets": targets,
        "weeks": actual["weeks"],
        "window": actual["window"],
        "attributed_by": actual["attributed_by"],
        "rule": t("review.rule", lang, days=days),
        "target_rule": t(
            "review.target_rule", lang, window=targets.get("sales_window_days") or "-"
        ),
        "not_computed": not_computed,
    }


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM`` (ValueError otherwise)."""
    year, _, mon = str(month).partition("-")
    y, m = int(year), int(mon)
    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def month_review(
    ws,
    month: str,
    *,
    days: int = 28,
    as_of: dt.date | None = None,
    lang: str = "zh",
    facts=None,
) -> dict[str, Any]:
    """Every outing of ``month`` (``YYYY-MM``) reviewed, with totals, the month's deals from
    outreach (by deal date) and recommended-vs-done.

    Raises
    ------
    LayerError
        If ``month`` is not ``YYYY-MM``.
    """
    try:
        first, last = month_range(month)
    except ValueError:
        problems = ProblemList()
        problems.add(REVIEW_FILE, "review.bad_month", column="--month", found=str(month))
        raise LayerError(problems, lang) from None
    as_of = as_of or dt.date.today()
    events = ws.events
    dates = pd.to_datetime(events["date"]) if len(events) else pd.Series(dtype="datetime64[ns]")
    in_month = events[(dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))]
    in_month = in_month.sort_values(["date", "event_id"])
    facts = _facts(ws, lang, facts)
    contacts = _journal_contacts(ws.root)
    rec = _recommended(ws.root)
    rows = []
    for event_id in in_month["event_id"].astype(str):
        r = review_event(
            ws,
            event_id,
            days=days,
            as_of=as_of,
            lang=lang,
            facts=facts,
            contacts=contacts,
            recommended=rec,
        )
        rows.append({k: v for k, v in r.items() if k not in ("weeks", "rule", "target_rule")})
    done = [r for r in rows if r["status"] == "done"]
    cost = sum(r["cost"] or 0.0 for r in done)
    leads = sum(r["leads"] for r in done)
    sales = sum(r["sales"] for r in done)
    deals = outreach_deals(ws.cards, start=first, end=last)
    planned = [r for r in rows if r["planned_from_sites"]]
    return {
        "month": f"{first:%Y-%m}",
        "events": rows,
        "totals": {
            "outings": len(rows),
            "done": len(done),
            "planned": sum(r["status"] == "planned" for r in rows),
            "cancelled": sum(r["status"] == "cancelled" for r in rows),
            "cost": cost,
            "leads": leads,
            "visits": sum(r["visits"] for r in done),
            "deposits": sum(r["deposits"] for r in done),
            "sales": sales,
            "target_leads": round(sum(r["targets"]["leads"] or 0 for r in done), 1),
            "target_sales": round(sum(r["targets"]["sales"] or 0 for r in done), 2),
            "cost_per_lead": round(cost / leads, 2) if leads else None,
            "cost_per_sale": round(cost / sales, 2) if sales else None,
        },
        "outreach_deals": deals["deals"],
        "outreach_deals_by_event": deals["by_event"],
        "recommended": {
            "planned": len(planned),
            "done": sum(r["status"] == "done" for r in planned),
            "cancelled": sum(r["status"] == "cancelled" for r in planned),
            "open": sum(r["status"] == "planned" for r in planned),
        },
        "rule": t("review.rule", lang, days=days),
        "deals_rule": t("review.deals_rule", lang),
    }


def review_text(document: dict[str, Any], lang: str = "zh") -> list[str]:
    """Plain lines of a review or a month's summary, for the terminal."""
    lines: list[str] = []
    if "weeks" in document:
        d = document
        lines.append(
            t(
                "review.line_event",
                lang,
                event=d["event_id"],
                date=d["date"],
                zone=d["zone_name"] or d["zone_id"] or "-",
                format=d["format_label"] or "-",
                status=label(d["status"], EVENT_STATUSES, lang),
            )
        )
        tg = d["targets"]
        lines.append(
            t(
                "review.line_totals",
                lang,
                leads=d["leads"],
                tleads=_num(tg.get("leads")),
                followed=d["followed_on_time"],
                visits=d["visits"],
                deposits=d["deposits"],
                sales=d["sales"],
                tsales=_num(tg.get("sales")),
                cpl=_num(d["cost_per_lead"]),
                tcpl=_num(tg.get("cost_per_lead")),
                cps=_num(d["cost_per_sale"]),
                tcps=_num(tg.get("cost_per_sale")),
            )
        )
        for w in d["weeks"]:
            lines.append(
                t(
                    "review.line_week",
                    lang,
                    week=w["week"],
                    start=w["start"],
                    end=w["end"],
                    leads=w["leads"],
                    followed=w["followed_on_time"],
                    open=w["open"],
                    visits=w["visits"],
                    deposits=w["deposits"],
                    sales=w["sales"],
                )
                + ("" if w["complete"] else " *")
            )
        lines.append(d["rule"])
        lines.append(d["target_rule"])
        lines += [f"- {n['reason']}" for n in d["not_computed"]]
        return lines
    m = document
    tot = m["totals"]
    lines.append(
        t(
            "review.line_month",
            lang,
            month=m["month"],
            outings=tot["outings"],
            done=tot["done"],
            cost=_num(tot["cost"]),
            leads=tot["leads"],
            sales=tot["sales"],
            deals=m["outreach_deals"],
        )
    )
    for r in m["events"]:
        lines.append(
            f"  {r['event_id']} {r['date']} {r['format_label'] or '-'} "
            f"{r['zone_name'] or r['zone_id'] or '-'}: "
            f"{label(r['status'], EVENT_STATUSES, lang)} · {r['leads']} / {r['sales']}"
        )
    lines.append(m["rule"])
    lines.append(m["deals_rule"])
    return lines


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"

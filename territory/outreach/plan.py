"""The outreach plan sheet (外拓计划表): seed 000 step 3, all 13 parts.

:func:`build_plan` fills the 13 parts for one site and date from the
workspace's own numbers — the zone's analysis, its existing customers, the
history of past events and the playbook — so the XLSX sheet
(:mod:`territory.outreach.plansheet`) and the printed plan (:mod:`territory.render.printing`)
show the same content. No personal data enters a plan.

Examples
--------
>>> import datetime as dt
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> zone = ws.zones["zone_id"].iloc[0]
>>> plan = build_plan(ws, zone_id=zone, date=dt.date(2026, 11, 28))
>>> len(plan.sections), plan.sections[0].key
(13, 'main')
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from territory.analysis.zones import Analysis
from territory.i18n import t
from territory.outreach.playbook import Playbook
from territory.outreach.ranking import _money, learned_reasons
from territory.outreach.site import SiteBrief, SiteFacts
from territory.settings import Settings
from territory.vocab import FORMATS, TOOLS, ZONE_TYPES, label

__all__ = ["PART_KEYS", "Plan", "PlanSection", "build_plan"]

#: The 13 parts, in the seed's order.
PART_KEYS: tuple[str, ...] = (
    "main",
    "background",
    "purpose",
    "audience",
    "content",
    "budget",
    "publicity",
    "kpi",
    "roles",
    "rules",
    "promotion",
    "incentives",
    "contingency",
)


@dataclass
class PlanSection:
    """One part of the plan: a title and rows of (label, value) or a table."""

    key: str
    number: int
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    table: pd.DataFrame | None = None


@dataclass
class Plan:
    """A complete plan for one site and date, in one language."""

    zone_id: str
    zone_name: str
    district: str
    date: dt.date
    lang: str
    model: str
    formats: list[str]
    tools: list[str]
    kpi: dict[str, int]
    budget: dict[str, float]
    sections: list[PlanSection]
    title: str
    #: The recorded event this plan is for (same zone and date), and its actual figures
    #: (:func:`territory.leads.review.event_review`), once ``territory record`` has run.
    event_id: str | None = None
    actual: dict | None = None

    def section(self, key: str) -> PlanSection:
        """The part called ``key`` (see :data:`PART_KEYS`)."""
        return next(s for s in self.sections if s.key == key)


def _fmt_money(value: float, lang: str) -> str:
    return f"{value:,.0f} 元" if lang == "zh" else f"CNY {value:,.0f}"


def build_plan(
    ws,
    *,
    zone_id: str,
    date: dt.date,
    model: str | None = None,
    lang: str = "zh",
    settings: Settings | None = None,
    analysis: Analysis | None = None,
    playbook: Playbook | None = None,
    facts: SiteFacts | None = None,
    brief: SiteBrief | None = None,
    today: dt.date | None = None,
    event_id: str | None = None,
) -> Plan:
    """Fill the 13-part plan for ``zone_id`` on ``date``.

    The site's facts come from its brief (:class:`territory.outreach.site.SiteBrief`):
    pass ``facts`` (or a ready ``brief``) to share them with ranking and printing.
    Publicity runs the week before ``date`` but never starts before ``today``
    (default: the real today); a shortened run says so in a note column.

    Part 8 (KPI) carries a table of target and **actual** per indicator: the
    actual column is filled from the recorded event of this zone and date
    (``event_id``, else the done event at ``zone_id`` on ``date``; see
    ``territory record``) over the review window, and left empty before.

    Raises
    ------
    KeyError
        If the workspace has no zone ``zone_id`` (the message lists how to
        find zone ids: ``territory score``).
    """
    if facts is None:
        settings = settings or (analysis.settings if analysis is not None else ws.settings)
        facts = SiteFacts.for_workspace(
            ws, model=model, analysis=analysis, playbook=playbook, settings=settings, lang=lang
        )
    settings = facts.settings
    analysis = facts.analysis
    if str(zone_id) not in set(analysis.zones["zone_id"].astype(str)):
        raise KeyError(t("plan.unknown_zone", lang, zone=zone_id))
    if brief is None or brief.date != date or brief.lang != lang:
        brief = facts.brief(str(zone_id), date)
    z = analysis.zones.iloc[facts.row(str(zone_id))]
    pb = facts.playbook
    zone_type = brief.zone_type
    owners = brief.owners
    formats = list(brief.formats)
    slots = brief.slots
    tools = list(brief.tools)
    econ = brief.economics
    # The learned figures (docs/learning.md) as they stand on the outing's date.
    history = facts.history_for(date)
    stats = history.format_stats(econ.format, zone_type) if econ.format else None
    expected_leads = econ.leads
    expected_sales = econ.sales
    cost = econ.cost
    nearby = brief.owners_nearby

    k = pb.kpi
    invited = int(min(k["invite_cap"], round(nearby * k["invite_share_of_owners"])))
    a_total = int((ws.cards["card_type"] == "A").sum())
    dep_total = int((ws.cards["card_type"] == "deposit").sum())
    deposit_rate = dep_total / a_total if a_total else None
    cards = round(expected_leads * k["cards_share_of_leads"])
    referral_invites = int(min(k["invite_cap"], brief.referral.count))
    kpi = {
        "participants": round(expected_leads * k["participants_per_lead"]),
        "new_leads": round(expected_leads),
        "new_cards": cards,
        "invited_owners": invited,
        "referral_leads": round(max(invited, referral_invites) * k["referral_per_invited"]),
        "target_orders": math.ceil(econ.sales - 1e-9) if expected_leads else 0,
        "target_deposits": round(cards * deposit_rate) if deposit_rate is not None else 0,
    }
    budget = {line: cost * share for line, share in pb.budget_shares.items()}
    event_id, actual = _actual(ws, str(zone_id), date, event_id, settings, today)

    type_label = label(zone_type, ZONE_TYPES, lang)
    format_labels = [label(f, FORMATS, lang) for f in formats]
    slot_labels = [sl.label(lang) for sl in slots]
    start = min(sl.start for sl in slots) if slots else "—"
    end = max(sl.end for sl in slots) if slots else "—"
    title = t(
        "plan.title",
        lang,
        zone=z["name"],
        date=date.isoformat(),
        format=format_labels[0] if format_labels else type_label,
    )

    def part(key: str, rows=None, table=None) -> PlanSection:
        return PlanSection(
            key=key,
            number=PART_KEYS.index(key) + 1,
            title=t(f"plan.part.{key}", lang),
            rows=rows or [],
            table=table,
        )

    sections = [
        part(
            "main",
            [
                (t("plan.theme", lang), title),
                (
                    t("plan.site", lang),
                    f"{z['name']}（{z['district']}）"
                    if lang == "zh"
                    else f"{z['name']} ({z['district']})",
                ),
                (t("plan.zone_type", lang), type_label),
                (t("plan.models", lang), analysis.model),
                (t("plan.date", lang), date.isoformat()),
                (t("plan.time", lang), f"{start}–{end}" if slots else t("plan.no_slot", lang)),
                (
                    t("plan.slots", lang),
                    "；".join(slot_labels) if lang == "zh" else "; ".join(slot_labels),
                ),
                (
                    t("plan.formats", lang),
                    "、".join(format_labels) if lang == "zh" else ", ".join(format_labels),
                ),
                (
                    t("plan.spot", lang),
                    t(
                        "plan.spot_text",
                        lang,
                        spot=brief.spot.label(lang),
                        lon=brief.spot.gcj02()[0],
                        lat=brief.spot.gcj02()[1],
                    ),
                ),
                (
                    t("plan.economics", lang),
                    t(
                        "plan.economics_text",
                        lang,
                        cpl=_money_or_dash(econ.cost_per_lead, lang),
                        cps=_money_or_dash(econ.cost_per_sale, lang),
                        sales=econ.sales,
                    ),
                ),
                (t("plan.model_fit", lang), brief.model_fit.text(lang)),
            ],
        ),
        part("background", _background(z, owners, nearby, analysis, settings, lang, brief)),
        part(
            "purpose",
            [
                (t("plan.purpose.brand", lang), t("plan.purpose.brand_text", lang, zone=z["name"])),
                (
                    t("plan.purpose.leads", lang),
                    t("plan.purpose.leads_text", lang, n=kpi["new_leads"]),
                ),
                (
                    t("plan.purpose.sales", lang),
                    t("plan.purpose.sales_text", lang, n=kpi["target_orders"]),
                ),
                (t("plan.purpose.care", lang), t("plan.purpose.care_text", lang, n=invited)),
            ],
        ),
        part(
            "audience",
            [
                (
                    t("plan.audience.prospects", lang),
                    t(f"plan.audience.{pb.audience(zone_type)}", lang),
                ),
                (
                    t("plan.audience.owners", lang),
                    t("plan.audience.owners_text", lang, n=nearby, invited=invited),
                ),
                (
                    t("plan.audience.referral", lang),
                    t(
                        "plan.audience.referral_text",
                        lang,
                        n=brief.referral.count,
                        peak=brief.referral.peak,
                        km=brief.referral.radius_km,
                        start=brief.referral.window[0].isoformat(),
                        end=brief.referral.window[1].isoformat(),
                    ),
                ),
                (t("plan.audience.media", lang), t("plan.audience.media_text", lang)),
                (t("plan.audience.other", lang), t("plan.audience.other_text", lang)),
            ],
        ),
        part(
            "content",
            [(t("plan.content.format", lang), f) for f in format_labels]
            + [
                (t("plan.content.point", lang), p)
                for p in [*brief.talking_points, *_referral_point(brief, lang)]
            ]
            + [
                (t("plan.content.test_ride", lang), t("plan.content.test_ride_text", lang)),
                (t("plan.content.gifts", lang), t("plan.content.gifts_text", lang)),
                (t("plan.content.lottery", lang), t("plan.content.lottery_text", lang)),
            ],
        ),
        part(
            "budget",
            [(t(f"plan.budget.{line}", lang), _fmt_money(v, lang)) for line, v in budget.items()]
            + [(t("plan.budget.total", lang), _fmt_money(sum(budget.values()), lang))]
            + [
                (
                    t("plan.budget.basis", lang),
                    t(
                        "plan.budget.history" if econ.events else "plan.budget.prior",
                        lang,
                        n=econ.events,
                    ),
                )
            ],
        ),
        part(
            "publicity",
            table=_publicity(
                date,
                budget.get("preheat_ads", 0.0) + budget.get("media", 0.0),
                lang,
                today=today or dt.date.today(),
            ),
        ),
        part(
            "kpi",
            table=_kpi_table(kpi, econ, actual, event_id, lang),
            rows=[(t(f"plan.kpi.{key}", lang), str(value)) for key, value in kpi.items()]
            + _kpi_basis(stats, history, formats, zone_type, expected_leads, expected_sales, lang)
            + [(t("plan.kpi.follow_up", lang), t("plan.kpi.follow_up_text", lang))],
        ),
        part(
            "roles",
            [
                (t("plan.roles.marketing", lang), t("plan.roles.marketing_text", lang)),
                (t("plan.roles.supervisor", lang), t("plan.roles.supervisor_text", lang)),
                (t("plan.roles.consultants", lang), t("plan.roles.consultants_text", lang)),
            ],
        ),
        part("rules", [(str(i), t(f"plan.rules.{i}", lang)) for i in range(1, 7)]),
        part("promotion", [(str(i), t(f"plan.promotion.{i}", lang)) for i in range(1, 5)]),
        part("incentives", [(str(i), t(f"plan.incentives.{i}", lang)) for i in range(1, 6)]),
        part(
            "contingency",
            [
                (t("plan.contingency.rain", lang), t("plan.contingency.rain_text", lang)),
                (t("plan.contingency.footfall", lang), t("plan.contingency.footfall_text", lang)),
                (t("plan.contingency.safety", lang), t("plan.contingency.safety_text", lang)),
            ],
        ),
    ]
    return Plan(
        zone_id=str(zone_id),
        zone_name=str(z["name"]),
        district=str(z["district"]),
        date=date,
        lang=lang,
        model=analysis.model,
        formats=formats,
        tools=tools,
        kpi=kpi,
        budget=budget,
        sections=sections,
        title=title,
        event_id=event_id,
        actual=actual,
    )


#: Days after the outing that the plan's actual column covers (the review's 4 weeks).
ACTUAL_DAYS = 28


def _actual(ws, zone_id, date, event_id, settings, today):
    """The recorded event of this plan and its actual figures (None, None before ``record``)."""
    from territory.leads.review import event_review

    events = ws.events
    if events is None or not len(events):
        return None, None
    if event_id is not None:
        hit = events[events["event_id"].astype(object).eq(event_id)]
    else:
        same = events["zone_id"].astype(object).eq(zone_id) & pd.to_datetime(events["date"]).eq(
            pd.Timestamp(date)
        )
        status = (
            events["status"].astype(object)
            if "status" in events
            else pd.Series(None, index=events.index, dtype=object)
        )
        hit = events[same & (status.eq("done") | status.isna())]
    if not len(hit):
        return event_id, None
    row = hit.iloc[0]
    status = row.get("status") if "status" in row.index else None
    if isinstance(status, str) and status != "done":
        return str(row["event_id"]), None
    day = pd.Timestamp(row["date"]).date()
    actual = event_review(
        ws.cards,
        event_id=str(row["event_id"]),
        day=day,
        days=ACTUAL_DAYS,
        as_of=today or dt.date.today(),
        settings=settings,
    )
    cost = row.get("cost") if "cost" in row.index else None
    actual["cost"] = None if cost is None or pd.isna(cost) else float(cost)
    return str(row["event_id"]), actual


def _kpi_table(kpi, econ, actual, event_id, lang) -> pd.DataFrame:
    """Part 8 as target vs actual; the actual column is empty until the outing is recorded."""
    a = actual or {}
    cost = a.get("cost")
    leads, sales = a.get("leads"), a.get("sales")

    def money(value):
        return _money_or_dash(value, lang) if value is not None else ""

    rows = [
        ("new_leads", kpi["new_leads"], leads),
        ("visits", "—", a.get("visits")),
        ("target_deposits", kpi["target_deposits"], a.get("deposits")),
        ("target_orders", kpi["target_orders"], sales),
        ("cost", money(econ.cost), money(cost) if actual else ""),
        (
            "cost_per_lead",
            _money_or_dash(econ.cost_per_lead, lang),
            money(cost / leads)
            if actual and cost is not None and leads
            else ("—" if actual else ""),
        ),
        (
            "cost_per_sale",
            _money_or_dash(econ.cost_per_sale, lang),
            money(cost / sales)
            if actual and cost is not None and sales
            else ("—" if actual else ""),
        ),
    ]
    head = t("plan.kpi.actual_head", lang, days=ACTUAL_DAYS, event=event_id or "—")
    if actual:
        head += t("plan.kpi.actual_as_of", lang, day=actual["window"]["as_of"])
    return pd.DataFrame(
        {
            t("plan.kpi.indicator", lang): [t(f"plan.kpi.row.{k}", lang) for k, _, _ in rows],
            t("plan.kpi.target", lang): [str(v) for _, v, _ in rows],
            head: ["" if v is None else str(v) for _, _, v in rows],
        }
    )


def _kpi_basis(stats, history, formats, zone_type, leads, sales, lang) -> list[tuple[str, str]]:
    """Where part 8's targets come from: the learned figures (or the prior) and what was learned."""
    if stats is None:
        return []
    cost = stats.cost_per_event
    basis = t(
        "reason.economics" if stats.events or stats.sales_events else "reason.economics_prior",
        lang,
        format=label(stats.format, FORMATS, lang),
        leads=leads,
        sales=sales,
        cost=cost,
        cps=_money(cost / sales if sales > 0 else math.inf),
        cpl=_money(cost / leads if leads > 0 else math.inf),
        n=stats.events,
    )
    rows = [(t("plan.kpi.basis", lang), basis)]
    rows += [
        (t("plan.kpi.learned", lang), line)
        for line in learned_reasons(history, formats, zone_type, lang)
    ]
    return rows


def _money_or_dash(value: float, lang: str) -> str:
    return _fmt_money(value, lang) if math.isfinite(value) else "—"


def _referral_point(brief: SiteBrief, lang: str) -> list[str]:
    """The 转介绍 talking point when owners nearby are in their referral months."""
    if not brief.referral.count:
        return []
    return [t("site.talking.referral", lang, n=brief.referral.count, peak=brief.referral.peak)]


def _background(z, owners, nearby, analysis, settings, lang, brief) -> list[tuple[str, str]]:
    rows = [
        (
            t("plan.bg.area", lang),
            t(
                "plan.bg.area_text",
                lang,
                people=int(z["population"]),
                density=z["density"],
                tier=z["density_tier_label"],
                income=z["income"],
                itier=z["income_tier_label"],
                r=z["r_value"],
                target=settings.scoring.target_r,
                km=z["distance_km"],
            ),
        )
    ]
    if analysis.mode == "lookalike" and pd.notna(z["expected_customers"]):
        rows.append(
            (
                t("plan.bg.owners", lang),
                t(
                    "plan.bg.owners_text",
                    lang,
                    owners=owners,
                    expected=z["expected_customers"],
                    nearby=nearby,
                    km=settings.ranking.after_sales_km,
                ),
            )
        )
    else:
        rows.append(
            (
                t("plan.bg.owners", lang),
                t(
                    "plan.bg.owners_cold",
                    lang,
                    owners=owners,
                    nearby=nearby,
                    km=settings.ranking.after_sales_km,
                ),
            )
        )
    if brief.competitor is not None and brief.competitor_km is not None:
        rows.append(
            (
                t("plan.bg.competitor", lang),
                t(
                    "plan.bg.competitor_text",
                    lang,
                    name=brief.competitor,
                    km=brief.competitor_km,
                    share=brief.share,
                ),
            )
        )
    if brief.awareness_gap:
        rows.append(
            (
                t("plan.bg.coverage", lang),
                t("plan.bg.coverage_text", lang, district=brief.district),
            )
        )
    if brief.consultant:
        rows.append((t("plan.bg.consultant", lang), brief.consultant))
    p = analysis.profile
    if p.count:
        age = p.top("age_band", 1)
        occ = p.top("occupation", 2)
        rows.append(
            (
                t("plan.bg.profile", lang),
                t(
                    "plan.bg.profile_text",
                    lang,
                    age=age[0][0] if age else "—",
                    age_share=age[0][1] if age else 0.0,
                    male=p.share("gender", "male"),
                    occupations="、".join(o for o, _ in occ) if occ else "—",
                ),
            )
        )
        rows += [(t("plan.bg.hint", lang), h.text(lang)) for h in p.hints()]
    return rows


#: Days of publicity before an outing (seed 000: the week before).
PUBLICITY_DAYS = 7


def _publicity(date: dt.date, budget: float, lang: str, *, today: dt.date) -> pd.DataFrame:
    """Publicity channels for the week before ``date``; an upcoming outing's never start
    before ``today`` (the run is shortened and flagged instead)."""
    channels = ("owner_groups", "moments", "sms", "community")
    shares = (0.0, 0.6, 0.1, 0.3)
    start, end = date - dt.timedelta(days=PUBLICITY_DAYS), date - dt.timedelta(days=1)
    note = None
    if date > today and start < today:
        start = today
        note = t("plan.pub.short", lang, days=(end - start).days + 1, want=PUBLICITY_DAYS)
    rows = []
    for channel, share in zip(channels, shares, strict=True):
        rows.append(
            {
                t("plan.pub.type", lang): t(f"plan.pub.{channel}", lang),
                t("plan.pub.name", lang): t(f"plan.pub.{channel}_name", lang),
                t("plan.pub.slot", lang): t(f"plan.pub.{channel}_slot", lang),
                t("plan.pub.dates", lang): f"{start.isoformat()} – {end.isoformat()}",
                t("plan.pub.budget", lang): round(budget * share),
                t("plan.pub.actual", lang): "",
                **({t("plan.pub.note", lang): note} if note else {}),
            }
        )
    return pd.DataFrame(rows)


def tool_labels(plan: Plan) -> list[str]:
    """The plan's tools as labels in its language (for checklists)."""
    return [label(code, TOOLS, plan.lang) for code in plan.tools]

"""The ``territory`` command.

Every command takes the workspace folder first. ``--json`` prints one JSON
document on stdout. Exit status: 0 done; 2 the input is invalid (every
problem listed on stderr with file, row, column and a fix; nothing
written); 1 an internal error. ``--lang zh|en`` picks the language of
messages. See ``shared/contract.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from territory._errors import LayerError, render_problems
from territory.i18n import t
from territory.inputs.journal import JournalError

__all__ = ["CliError", "main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2


class CliError(Exception):
    """A user error that is not about file contents (bad option, missing folder)."""

    def __init__(self, key: str, **fields: Any) -> None:
        self.key = key
        self.fields = fields
        super().__init__(key)


# ---------------------------------------------------------------- helpers


def _lang(args: argparse.Namespace) -> str:
    return args.lang or os.environ.get("TERRITORY_LANG") or "zh"


def _workspace_dir(args: argparse.Namespace) -> Path:
    path = Path(args.workspace)
    if not path.exists():
        raise CliError("cli.no_such_folder", path=str(path))
    if not path.is_dir():
        raise CliError("cli.not_a_folder", path=str(path))
    return path


def _out_file(path: Path | None, lang: str, *, creates_folder: bool = False) -> None:
    """Refuse, before any work, an output file that is a folder or whose folder is missing.

    ``creates_folder``: the writer makes missing folders itself (print, coverage).
    """
    if path is None:
        return
    if path.is_dir():
        raise CliError("cli.file_access", path=str(path), detail=t("cli.out_is_folder", lang))
    if not creates_folder and not path.parent.is_dir():
        raise CliError(
            "cli.file_access", path=str(path.parent), detail=t("cli.out_no_folder", lang)
        )


def _load(args: argparse.Namespace, *, save_store: bool = True):
    """The workspace, from its store when fresh, else from its files.

    A store to (re)write is only written once the command has succeeded
    (see :func:`main`): exit 2 means nothing was written, even when the files
    were valid and only an option (``--model``, ``--site``) was not.
    """
    from territory.inputs import store
    from territory.inputs.journal import apply_journal
    from territory.inputs.workspace import load_workspace

    root = _workspace_dir(args)
    ws, reason = store.load_from_store(root)
    if ws is None:
        ws = load_workspace(root, lang=args.lang, use_store=False, journal=False)
        if reason is not None:
            ws.notices.append(reason)
        if save_store:
            args._store_pending = ws  # the store caches the files only, never the journal's edits
    _show_warnings(args, ws)
    return apply_journal(ws)


def _show_warnings(args: argparse.Namespace, ws) -> None:
    """Warnings (results may be wrong) and the store's state, on stderr for every command."""
    from territory._errors import WARNING
    from territory.inputs.store import STORE_FILE

    shown = [p for p in ws.notices if p.severity == WARNING or p.file == STORE_FILE]
    if shown:
        _say(render_problems(shown, args.lang or ws.dealer.language))


def _save_pending_store(args: argparse.Namespace, lang: str) -> None:
    """Write the store of a workspace read from its files during a successful command.

    A cache: the command's result stands when it cannot be written (read-only
    store or folder: said once); while another process writes it, it is left to it.
    """
    ws = getattr(args, "_store_pending", None)
    if ws is None:
        return
    from territory.inputs.workspace import store_opportunistically

    problem = store_opportunistically(ws)
    if problem is not None:
        _say(render_problems([problem], lang))


def _lock_timeout(ws) -> float:
    """Seconds an import waits for another: $TERRITORY_LOCK_TIMEOUT, else the settings."""
    text = os.environ.get("TERRITORY_LOCK_TIMEOUT")
    if text:
        try:
            value = float(text)
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    return float(ws.settings.load.lock_timeout_s)


def _json_default(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(pd.Timestamp(value).date())
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _clean(value: Any) -> Any:
    """Replace NaN/inf by None recursively so the JSON is standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit_json(document: dict[str, Any]) -> None:
    """Print one standard JSON document (no NaN) on stdout."""
    text = json.dumps(_clean(document), ensure_ascii=False, indent=2, default=_json_default)
    sys.stdout.write(text + "\n")


def _say(text: str) -> None:
    """A message for the user (progress, problems): stderr."""
    sys.stderr.write(text + "\n")


def _out(text: str) -> None:
    """A line of results: stdout."""
    sys.stdout.write(text + "\n")


# ---------------------------------------------------------------- commands


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo workspace to a folder."""
    from territory.inputs.demo import write_demo

    target = Path(args.workspace)
    try:
        write_demo(target)
    except FileExistsError:
        raise CliError("cli.demo_exists", path=str(target)) from None
    if args.json:
        emit_json({"workspace": str(target.resolve())})
    else:
        _say(t("cli.demo_written", _lang(args), path=str(target)))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Check every file of the workspace; write nothing."""
    from territory.inputs.workspace import read_sources, summary

    ws = read_sources(_workspace_dir(args), lang=args.lang)
    lang = args.lang or ws.dealer.language
    table = summary(ws)
    if args.json:
        emit_json(
            {
                "ok": True,
                "layers": table.to_dict(orient="records"),
                "notices": [p.to_dict(lang) for p in ws.notices],
            }
        )
    else:
        for record in table.to_dict(orient="records"):
            _out(
                t(
                    "cli.layer_line",
                    lang,
                    layer=record["layer"],
                    rows=record["rows"],
                    file=record["file"] if isinstance(record["file"], str) else "-",
                )
            )
        if ws.notices:
            _say(render_problems(ws.notices, lang))
        _say(t("cli.valid", lang))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Validate the files and write the workspace store (territory.gpkg)."""
    from territory._errors import NOTICE, Problem
    from territory.inputs import store
    from territory.inputs.workspace import read_sources

    ws = read_sources(_workspace_dir(args), lang=args.lang)
    lang = args.lang or ws.dealer.language
    timeout = _lock_timeout(ws)

    def refuse(key: str, **fields: Any) -> LayerError:
        return LayerError([Problem(store.STORE_FILE, key, fields=fields)], lang)

    def waiting(seconds: float) -> None:
        notice = Problem(
            store.STORE_FILE,
            "notice.import_waiting",
            severity=NOTICE,
            fields={"timeout": f"{seconds:g}"},
        )
        _say(render_problems([notice], lang))

    try:
        path = store.save_store(ws, timeout=timeout, on_wait=waiting)
    except store.StoreReadOnly:
        raise refuse("err.store_read_only", path=str(Path(ws.root) / store.STORE_FILE)) from None
    except store.StoreBusy:
        raise refuse("err.store_busy", timeout=f"{timeout:g}") from None
    except OSError as exc:  # full disk, territory.gpkg held open, a folder in its place
        target = Path(ws.root) / store.STORE_FILE
        raise CliError(
            "cli.file_access", path=str(target), detail=exc.strerror or type(exc).__name__
        ) from None
    if args.json:
        emit_json({"store": str(path), "notices": [p.to_dict(lang) for p in ws.notices]})
    else:
        if ws.notices:
            _say(render_problems(ws.notices, lang))
        _say(t("cli.store_written", lang, path=str(path)))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the workspace back as plain files (WGS-84), personal data masked."""
    from territory.inputs import store

    ws = _load(args)
    written = store.export_workspace(ws, args.out, mask_personal=not args.include_personal_data)
    lang = args.lang or ws.dealer.language
    if args.json:
        emit_json({"files": [str(p) for p in written], "masked": not args.include_personal_data})
    else:
        _say(t("cli.exported", lang, n=len(written), path=str(args.out)))
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    """Per-zone metrics for one model."""
    from territory.analysis.zones import analyse, score_json

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    analysis = analyse(ws, model=_model(ws, args), lang=lang)
    document = score_json(analysis, lang=lang)
    if args.json:
        emit_json(document)
    else:
        top = analysis.zones.sort_values("whitespace_rank").head(15)
        for _, z in top.iterrows():
            _out(
                t(
                    "cli.score_line",
                    lang,
                    rank=int(z["whitespace_rank"]),
                    name=z["name"],
                    district=z["district"],
                    r=z["r_value"],
                    customers=int(z["customers"]),
                    expected=z["expected_customers"]
                    if z["expected_customers"] == z["expected_customers"]
                    else 0.0,
                    score=z["whitespace_score"],
                )
            )
    return EXIT_OK


def cmd_whitespace(args: argparse.Namespace) -> int:
    """White-space candidate areas for one model."""
    from territory.analysis.zones import analyse, whitespace_json

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    analysis = analyse(ws, model=_model(ws, args), lang=lang)
    document = whitespace_json(analysis, lang=lang)
    if args.json:
        emit_json(document)
    else:
        names = dict(zip(ws.zones["zone_id"], ws.zones["name"], strict=True))
        for note in document["notes"]:
            _say(note)
        for area in document["areas"][:15]:
            _out(
                t(
                    "cli.area_line",
                    lang,
                    area=area["area_id"],
                    zones="、".join(names.get(z, z) for z in area["zone_ids"][:4]),
                    population=area["population"],
                    customers=area["customers"],
                    expected=area["expected_customers"] or 0.0,
                )
            )
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace) -> int:
    """A-card vs deposit-card coverage by district (or zone)."""
    from territory.analysis.influence import in_influence_area, zone_distance_km
    from territory.leads.coverage import coverage_json, coverage_table, export_coverage

    _out_file(args.out, _lang(args), creates_folder=True)
    ws = _load(args)
    lang = args.lang or ws.dealer.language
    market = None
    if not args.all_districts:
        dist = zone_distance_km(ws.zones, lon=ws.dealer.lon, lat=ws.dealer.lat)
        inside = in_influence_area(dist, radius_km=ws.settings.influence.radius_km)
        column = "zone_id" if args.by == "zone" else "district"
        market = set(ws.zones.loc[inside, column].dropna())
    try:
        table = coverage_table(
            ws.zones,
            ws.customers,
            ws.cards,
            by=args.by,
            start=args.start,
            end=args.end,
            settings=ws.settings,
            lang=lang,
            market=market,
        )
    except ValueError as exc:
        raise CliError("cli.bad_option", detail=str(exc)) from None
    if args.out:
        try:
            export_coverage(table, args.out, lang=lang)
        except ValueError as exc:  # not .csv / .xlsx
            raise CliError("cli.bad_option", detail=str(exc)) from None
    if args.json:
        emit_json(coverage_json(table, by=args.by))
    else:
        for row in table.itertuples(index=False):
            _out(
                t(
                    "cli.coverage_line",
                    lang,
                    label=row.label,
                    a=int(row.a_cards),
                    d=int(row.deposit_cards),
                    diagnosis=row.diagnosis_label,
                    action=row.action,
                )
            )
        if args.out:
            _say(t("cli.exported", lang, n=1, path=str(args.out)))
    return EXIT_OK


def cmd_followup(args: argparse.Namespace) -> int:
    """Open leads due or overdue for follow-up on a date, per consultant (seed 001's cadence)."""
    from territory.leads.followup import followup, followup_json, write_call_list

    if args.out is not None and args.out.suffix.lower() != ".xlsx":
        raise CliError(
            "cli.file_access",
            path=str(args.out),
            detail=t("followup.xlsx_suffix", _lang(args), path=str(args.out)),
        )
    _out_file(args.out, _lang(args))
    day = _date(args, default_today=True)
    ws = _load(args)
    lang = args.lang or ws.dealer.language
    try:
        result = followup(
            ws, date=day, consultant=args.consultant, district=args.district, lang=lang
        )
    except ValueError as exc:
        raise CliError("cli.bad_option", detail=str(exc)) from None
    if args.out is not None:
        write_call_list(
            result, args.out, contacts=args.contacts, lang=lang, synthetic=ws.has_synthetic_data
        )
    for note in result.notes:
        _say(note)
    if args.json:
        emit_json(followup_json(result, contacts=args.contacts))
        return EXIT_OK
    for r in result.by_consultant.itertuples(index=False):
        _out(
            t(
                "cli.followup_consultant",
                lang,
                consultant=r.consultant or t("followup.unassigned", lang),
                open=r.open,
                due=r.due,
                overdue=r.overdue,
            )
        )
    doc = followup_json(result, contacts=args.contacts)
    for lead in doc["leads"][: args.top]:
        _out(
            t(
                "cli.followup_lead",
                lang,
                days=lead["days_overdue"],
                lead=lead["lead_id"],
                grade=lead["grade"] or "-",
                consultant=lead["consultant"] or t("followup.unassigned", lang),
                name=lead["name"] or "",
                phone=lead["phone"] or "",
                due=lead["due_date"],
            )
        )
    if len(doc["leads"]) > args.top:
        _say(t("cli.followup_more", lang, n=len(doc["leads"]) - args.top))
    if args.out is not None:
        _say(t("cli.exported", lang, n=1, path=str(args.out)))
    return EXIT_OK


def cmd_funnel(args: argparse.Namespace) -> int:
    """Seed 002's funnel N × K × F × C with its levers and the pyramid."""
    from territory.leads.funnel import funnel, funnel_json, funnel_pyramid, lever_text
    from territory.leads.lifecycle import lead_table

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    if args.target is not None and not args.target >= 0:
        raise CliError("cli.bad_option", detail="--target >= 0")
    leads = lead_table(ws.cards, settings=ws.settings)
    try:
        result = funnel(ws, leads=leads, by=args.by, start=args.start, end=args.end, lang=lang)
    except ValueError as exc:
        raise CliError("cli.bad_option", detail=str(exc)) from None
    table = funnel_pyramid(result, leads, target=args.target, settings=ws.settings)
    for note in result.notes:
        _say(note)
    if args.json:
        emit_json(funnel_json(result, pyramid_table=table))
        return EXIT_OK

    def pct(v) -> str:
        return "—" if v is None or v != v else f"{v * 100:.0f}%"

    for r in result.rows.itertuples(index=False):
        _out(
            t(
                "cli.funnel_line",
                lang,
                label=r.label,
                n="—" if r.N is None or r.N != r.N else f"{r.N:,.0f}",
                k=pct(r.K),
                f=pct(r.F),
                c=pct(r.C),
                cards=r.cards,
                sales=r.sales,
            )
        )
        if args.by:
            _out("     · " + lever_text(r, result.median, lang))
    _out(
        t(
            "cli.pyramid_line",
            lang,
            target=f"{table.attrs['target']:g}",
            levels="  ".join(
                f"{g} {n:,}/{h:,}"
                for g, n, h in table[["grade", "needed", "have"]].itertuples(index=False)
            ),
        )
    )
    return EXIT_OK


def cmd_lost(args: argparse.Namespace) -> int:
    """Why leads were lost (战败分析), by source or consultant."""
    from territory.leads.lost import lost_analysis, lost_json

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    try:
        result = lost_analysis(ws, by=args.by, start=args.start, end=args.end, lang=lang)
    except ValueError as exc:
        raise CliError("cli.bad_option", detail=str(exc)) from None
    if args.json:
        emit_json(lost_json(result))
        return EXIT_OK
    for r in result.reasons.itertuples(index=False):
        _out(t("cli.lost_line", lang, reason=r.label, n=r.count, share=f"{r.share * 100:.0f}%"))
    for r in result.rows.itertuples(index=False):
        _out(
            t(
                "cli.lost_row",
                lang,
                label=r.label,
                lost=r.lost,
                closed=r.closed,
                top=r.top_reason or "—",
            )
        )
    return EXIT_OK


def cmd_lead(args: argparse.Namespace) -> int:
    """Record a follow-up contact, a new grade, a won/lost lead or a hand-over (the journal)."""
    from territory.inputs.journal import Journal
    from territory.leads.lifecycle import LeadUpdate, UpdateError, record_updates

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    update = LeadUpdate(
        args.lead,
        contacted=args.contacted,
        grade=args.grade,
        status=args.status,
        lost_reason=args.reason,
        closed=args.closed,
        consultant=args.consultant,
        note=args.note,
    )
    try:
        batch = record_updates(ws, [update], who=args.who, origin="cli")
    except UpdateError as exc:
        for message in exc.messages(lang):
            _say(t("cli.error", lang, message=message))
        return EXIT_INVALID
    entries = [e for e in Journal(ws.root).entries("lead_update") if e.batch == batch]
    if args.json:
        emit_json(
            {
                "batch": batch,
                "edits": [{"lead_id": e.key, **e.data, "at": e.at, "who": e.who} for e in entries],
            }
        )
    else:
        _say(t("cli.lead_recorded", lang, lead=args.lead, batch=batch))
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    """Create or update an outreach event and import its filled-in registration form (journal)."""
    from territory.leads.record import Outing, record_outing

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    outing = Outing(
        args.event,
        status=args.status,
        date=args.date,
        zone_id=args.zone,
        format=args.format,
        cost=args.cost,
        staff=args.staff,
        location=args.location,
        form=args.form,
        note=args.note,
    )
    result = record_outing(ws, outing, who=args.who, origin="cli", lang=lang)
    if args.json:
        emit_json(result.to_dict(lang))
        return EXIT_OK
    if result.notices:
        _say(render_problems(result.notices, lang))
    _say(
        t(
            "review.cli_recorded",
            lang,
            event=result.event_id,
            status=result.status,
            added=result.leads_added,
            linked=result.leads_linked,
        )
    )
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    """What an outing produced over the following weeks, or a month's outings."""
    from territory.outreach.review import month_review, review_event, review_text

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    if args.days < 1:
        raise CliError("cli.bad_option", detail="--days must be at least 1")
    if (args.event is None) == (args.month is None):
        raise CliError("review.cli_event_or_month")
    if args.event is not None:
        document = review_event(ws, args.event, days=args.days, lang=lang)
    else:
        document = month_review(ws, args.month, days=args.days, lang=lang)
    if args.json:
        emit_json(document)
    else:
        for line in review_text(document, lang):
            _out(line)
    return EXIT_OK


def _date(
    args: argparse.Namespace, *, default_next_saturday: bool = True, default_today: bool = False
):
    import datetime as dt

    from territory.outreach.ranking import next_saturday

    if getattr(args, "date", None) is None:
        if default_today:
            return dt.date.today()
        if default_next_saturday:
            return next_saturday()
        raise CliError("cli.date_required")
    try:
        return dt.date.fromisoformat(args.date)
    except ValueError:
        raise CliError("cli.bad_date", value=args.date) from None


def _ranking_overrides(args: argparse.Namespace, ws) -> dict | None:
    """``--weight KEY=VALUE`` (repeatable) and ``--rotation-weeks N`` as settings overrides.

    Weights not given keep the workspace's settings.
    """
    ranking: dict = {}
    known = ws.settings.ranking.weights
    if getattr(args, "weight", None):
        given: dict[str, float] = {}
        for item in args.weight:
            key, sep, value = item.partition("=")
            key = key.strip()
            try:
                number = float(value) if sep else float("nan")
            except ValueError:
                number = float("nan")
            if key not in known or not (math.isfinite(number) and number >= 0):
                raise CliError("cli.bad_weight", value=item, known=", ".join(known))
            given[key] = number
        if sum({**known, **given}.values()) <= 0:
            raise CliError("cli.bad_weight", value=" ".join(args.weight), known=", ".join(known))
        ranking["weights"] = given
    if getattr(args, "rotation_weeks", None) is not None:
        if args.rotation_weeks < 0:
            raise CliError("cli.bad_option", detail="--rotation-weeks >= 0")
        ranking["rotation_weeks"] = args.rotation_weeks
    return {"ranking": ranking} if ranking else None


def cmd_recommend(args: argparse.Namespace) -> int:
    """Ranked outreach sites for a date."""
    from territory.outreach.ranking import recommend_json, recommend_weeks

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    if args.top < 1:
        raise CliError("cli.bad_option", detail="--top must be at least 1")
    if args.weeks is not None and args.weeks < 1:
        raise CliError("cli.bad_option", detail="--weeks must be at least 1")
    for zone_id in args.site or ():
        _zone(ws, zone_id)
    weeks = recommend_weeks(
        ws,
        date=_date(args),
        weeks=args.weeks or 1,
        top=args.top,
        model=_model(ws, args),
        lang=lang,
        overrides=_ranking_overrides(args, ws),
        sites=args.site or (),
    )
    rec = weeks[0]
    document = recommend_json(rec, lang=lang, weeks=weeks if args.weeks else None)
    if args.json:
        emit_json(document)
    else:
        for site in document["sites"]:
            _out(
                t(
                    "cli.site_line",
                    lang,
                    rank=site["rank"],
                    name=site["name"],
                    district=site["district"],
                    score=site["score"],
                )
            )
            for reason in site["reasons"]:
                _out(f"     · {reason}")
        for passed in document["not_chosen"]:
            _out(f"   × {passed['text']}")
        for week in document.get("weeks", [])[1:]:
            _out(f"{week['date']}: " + ", ".join(f"{s['name']}" for s in week["sites"]))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    """The 13-part outreach plan sheet as XLSX."""
    from territory.outreach.plan import build_plan
    from territory.outreach.plansheet import write_plan_xlsx

    _out_file(args.out, _lang(args))
    date = _date(args, default_next_saturday=False)
    ws = _load(args)
    lang = args.lang or ws.dealer.language
    _zone(ws, args.site)
    plan = build_plan(
        ws,
        zone_id=args.site,
        date=date,
        model=_model(ws, args),
        lang=lang,
    )
    path = write_plan_xlsx(plan, args.out)
    if args.json:
        emit_json(
            {
                "out": str(path),
                "zone_id": plan.zone_id,
                "date": plan.date.isoformat(),
                "kpi": plan.kpi,
                "event_id": plan.event_id,
                "actual": plan.actual,
            }
        )
    else:
        _say(t("cli.plan_written", lang, path=str(path)))
    return EXIT_OK


def cmd_print(args: argparse.Namespace) -> int:
    """Printable field maps and plans (PDF) for sites or the top N recommended."""
    from territory.render.printing import PrintOptions, print_sites

    if args.consultant:
        return _print_territories(args)
    if args.top is not None and args.top < 1:
        raise CliError("cli.bad_option", detail="--top must be at least 1")
    if args.out.suffix.lower() != ".pdf":
        raise CliError("cli.print_bad_out", path=str(args.out))
    if args.out.exists() and args.out.is_dir():
        raise CliError("cli.print_bad_out", path=str(args.out))
    date = _date(args)
    ws = _load(args)
    lang = args.lang or ws.dealer.language
    for zone_id in args.site or ():
        _zone(ws, zone_id)
    options = dict(
        sites=args.site,
        top=args.top,
        date=date,
        paper=args.paper,
        lang=lang,
        model=_model(ws, args),
        cards=args.cards,
        contacts=args.contacts or "hidden",
        basemap=args.basemap,
        tile_cache=args.tile_cache,
        overrides=_ranking_overrides(args, ws),
    )
    return _printed(lambda: print_sites(ws, PrintOptions(**options), out=args.out), args, lang)


def cmd_split(args: argparse.Namespace) -> int:
    """Divide the influence area among the sales consultants."""
    from territory.inputs import assignment as stored_assignment
    from territory.outreach import split as assign

    ws = _load(args)
    lang = args.lang or ws.dealer.language
    locks: dict[str, str] = {}
    for item in args.lock or ():
        zone, sep, name = item.replace("＝", "=").partition("=")
        if not sep or not zone.strip() or not name.strip():
            raise CliError("split.lock_bad", value=item)
        locks[zone.strip()] = name.strip()
    stored = stored_assignment.load_assignment(ws.root)
    has_stored = stored is not None
    keep = args.keep or args.assignment is not None
    if args.assignment is not None:
        stored = stored_assignment.read_assignment_file(
            args.assignment, zone_ids=ws.zones["zone_id"].tolist(), lang=lang
        )
    try:
        result = assign.split_workspace(
            ws,
            consultants=args.consultants,
            balance=args.balance,
            keep=keep,
            stored=stored,
            locks=locks,
            min_balance=args.min_balance,
            lang=lang,
        )
    except assign.SplitError as exc:
        raise CliError(exc.key, **exc.fields) from None
    document = assign.split_json(result, lang=lang)
    save = not args.dry_run and (keep or args.replace or not has_stored)
    if save:
        path = stored_assignment.save_assignment(
            ws.root,
            result.assignment(),
            consultants=result.consultants,
            balance=result.balance,
            balance_index=result.balance_index,
            origin="cli",
        )
        document["saved"] = str(path)
    else:
        document["saved"] = None
        if not args.dry_run:
            document["notices"].append(t("split.notice.not_saved", lang))
    if args.json:
        emit_json(document)
        return EXIT_OK
    measure = t(f"split.measure.{result.balance}", lang)
    for row in document["territories"]:
        _out(
            t(
                "split.line",
                lang,
                consultant=row["consultant"],
                zones=row["zones"],
                measure=measure,
                load=f"{row['load']:,.0f}",
                share=f"{row['share']:.0%}" if row["share"] is not None else "-",
                compactness=row["compactness"],
            )
        )
    yes = t("split.yes" if result.contiguous else "split.no", lang)
    _out(t("split.summary", lang, index=document["balance_index"], measure=measure, contiguous=yes))
    if result.kept:
        leads = document["open_leads_moved"]
        _out(
            t(
                "split.moved",
                lang,
                zones=document["zones_moved"],
                orphans=document["orphans_moved"],
                leads="-" if leads is None else leads,
            )
        )
    for notice in document["notices"]:
        _say(notice)
    if document["saved"]:
        _say(t("split.saved", lang, path=document["saved"]))
    return EXIT_OK


def _print_territories(args: argparse.Namespace) -> int:
    """``print --consultant NAME|all``: the consultants' territory maps (PDF)."""
    from territory.render.territory_print import print_territories

    if args.out.suffix.lower() != ".pdf" or args.out.is_dir():
        raise CliError("cli.print_bad_out", path=str(args.out))
    ws = _load(args)
    lang = args.lang or ws.dealer.language
    names = None if "all" in args.consultant else args.consultant
    return _printed(
        lambda: print_territories(
            ws,
            out=args.out,
            consultants=names,
            paper=args.paper,
            lang=lang,
            basemap=args.basemap,
            tile_cache=args.tile_cache,
        ),
        args,
        lang,
    )


def _printed(make, args: argparse.Namespace, lang: str) -> int:
    """Run a printer (``make()``) and report its file, pages and notices, or its error."""
    from territory.render.printing import PrintError

    try:
        result = make()
    except PrintError as exc:
        _say(t("cli.error", lang, message=exc.message(lang)))
        return EXIT_INTERNAL if exc.installation else EXIT_INVALID
    for notice in result.notices:
        _say(notice)
    if args.json:
        emit_json(result.to_dict())
    else:
        _say(t("cli.print_written", lang, path=str(result.path), pages=result.pages))
    return EXIT_OK


def cmd_network(args: argparse.Namespace) -> int:
    """Every dealer of a dealer network in one batch, on Dask."""
    from territory.network.engine import run_network
    from territory.network.inputs import NetworkError
    from territory.network.report import dealer_table, export_dealer_table, network_json

    root = _workspace_dir(args)
    lang = _lang(args)
    _out_file(args.out, lang)
    if args.out is not None and args.out.suffix.lower() not in (".csv", ".xlsx"):
        raise CliError("cli.bad_option", detail="--out FILE.csv | FILE.xlsx")
    if args.workers is not None and args.workers < 1:
        raise CliError("cli.bad_option", detail="--workers must be at least 1")
    date = _date(args)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        result = run_network(
            root,
            scheduler=args.scheduler,
            n_workers=args.workers,
            date=date,
            lang=args.lang,
            detail=args.detail,
            progress="bar" if show else None,
        )
    except NetworkError:
        raise CliError("cli.not_network", path=str(root)) from None
    except (OSError, TimeoutError) as exc:
        if args.scheduler:
            raise CliError(
                "cli.scheduler_unreachable", address=args.scheduler, detail=str(exc)[:200]
            ) from None
        raise
    lang = args.lang or result.network.language
    if args.out is not None:
        export_dealer_table(dealer_table(result, lang=lang), args.out, lang=lang)
    if args.json:
        emit_json(network_json(result, lang=lang))
        return EXIT_OK
    for s in result.dealers:
        _out(
            t(
                "cli.network_line",
                lang,
                dealer_id=s["dealer_id"],
                name=s["name"],
                zones=s["zone_count"],
                population=s["population"],
                customers=s["customers"],
                expected="-"
                if s.get("expected_customers") is None
                else f"{s['expected_customers']:.0f}",
                diagnosis=t(f"coverage.diagnosis.{s['diagnosis']}", lang),
                sites=("、" if lang == "zh" else ", ").join(s["sites"]) or "-",
            )
        )
    for g in result.gaps.areas.itertuples(index=False):
        _out(
            t(
                "cli.gap_line",
                lang,
                gap_id=g.gap_id,
                zones=len(g.zone_ids),
                population=int(g.population),
                expected=float(g.expected_customers),
                km=float(g.nearest_dealer_km),
            )
        )
    for o in result.gaps.outlets.itertuples(index=False):
        _out(
            t(
                "cli.outlet_line",
                lang,
                rank=o.rank,
                name=o.name,
                zone_id=o.zone_id,
                gain=o.marginal_shortfall,
            )
        )
    if result.notices:
        _say(render_problems(result.notices, lang))
    if args.out is not None:
        _say(t("cli.exported", lang, n=1, path=str(args.out)))
    return EXIT_OK


def _os_error_message(exc: OSError, lang: str) -> str:
    """The file and the operating system's reason, without a traceback."""
    path = exc.filename if exc.filename is not None else "-"
    detail = exc.strerror or str(exc) or type(exc).__name__
    return t("cli.file_access", lang, path=str(path), detail=detail)


def _zone(ws, zone_id: str) -> None:
    if zone_id not in set(ws.zones["zone_id"]):
        raise CliError("cli.unknown_zone", zone=zone_id)


def _model(ws, args: argparse.Namespace) -> str | None:
    name = getattr(args, "model", None)
    if name is not None and name not in [m.name for m in ws.dealer.models]:
        raise CliError(
            "cli.unknown_model", model=name, known=", ".join(m.name for m in ws.dealer.models)
        )
    return name


# ---------------------------------------------------------------- parser

#: name -> (handler, help key, argument adder)
COMMANDS: dict[
    str, tuple[Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None]]
] = {}


def command(name: str, help_key: str):
    """Register a sub-command; the decorated function adds its arguments."""

    def decorate(add_arguments: Callable[[argparse.ArgumentParser, str], None]):
        handler = globals()[f"cmd_{name}"]
        COMMANDS[name] = (handler, help_key, add_arguments)
        return add_arguments

    return decorate


@command("demo", "cli.help.demo")
def _args_demo(p: argparse.ArgumentParser, lang: str) -> None:
    pass


@command("validate", "cli.help.validate")
def _args_validate(p: argparse.ArgumentParser, lang: str) -> None:
    pass


@command("import", "cli.help.import")
def _args_import(p: argparse.ArgumentParser, lang: str) -> None:
    pass


@command("export", "cli.help.export")
def _args_export(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--out", required=True, type=Path, help=t("cli.opt.export_out", lang))
    p.add_argument("--include-personal-data", action="store_true", help=t("cli.opt.personal", lang))


def _model_option(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--model", default=None, help=t("cli.opt.model", lang))


def _ranking_options(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument(
        "--weight",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help=t("cli.opt.weight", lang),
    )
    p.add_argument("--rotation-weeks", type=int, default=None, help=t("cli.opt.rotation", lang))


@command("score", "cli.help.score")
def _args_score(p: argparse.ArgumentParser, lang: str) -> None:
    _model_option(p, lang)


@command("whitespace", "cli.help.whitespace")
def _args_whitespace(p: argparse.ArgumentParser, lang: str) -> None:
    _model_option(p, lang)


@command("coverage", "cli.help.coverage")
def _args_coverage(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument(
        "--by", choices=("district", "zone"), default="district", help=t("cli.opt.by", lang)
    )
    p.add_argument("--start", default=None, help=t("cli.opt.start", lang))
    p.add_argument("--end", default=None, help=t("cli.opt.end", lang))
    p.add_argument("--out", type=Path, default=None, help=t("cli.opt.coverage_out", lang))
    p.add_argument("--all-districts", action="store_true", help=t("cli.opt.all_districts", lang))


@command("recommend", "cli.help.recommend")
def _args_recommend(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--date", default=None, help=t("cli.opt.date_saturday", lang))
    p.add_argument("--top", type=int, default=5, help=t("cli.opt.top", lang))
    p.add_argument("--site", action="append", default=None, help=t("cli.opt.recommend_site", lang))
    p.add_argument("--weeks", type=int, default=None, help=t("cli.opt.weeks", lang))
    _model_option(p, lang)
    _ranking_options(p, lang)


@command("plan", "cli.help.plan")
def _args_plan(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--site", required=True, help=t("cli.opt.site", lang))
    p.add_argument("--date", required=True, help=t("cli.opt.date", lang))
    p.add_argument("--out", required=True, type=Path, help=t("cli.opt.plan_out", lang))
    _model_option(p, lang)


@command("print", "cli.help.print")
def _args_print(p: argparse.ArgumentParser, lang: str) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--site", action="append", default=None, help=t("cli.opt.print_site", lang))
    which.add_argument("--top", type=int, default=None, help=t("cli.opt.print_top", lang))
    which.add_argument(
        "--consultant", action="append", default=None, help=t("cli.opt.print_consultant", lang)
    )
    p.add_argument("--date", default=None, help=t("cli.opt.date_saturday", lang))
    p.add_argument(
        "--paper", type=str.upper, choices=("A4", "A3"), default="A4", help=t("cli.opt.paper", lang)
    )
    p.add_argument("--cards", action="store_true", help=t("cli.opt.cards", lang))
    p.add_argument(
        "--contacts", choices=("masked",), default=None, help=t("cli.opt.contacts", lang)
    )
    p.add_argument(
        "--basemap",
        choices=("none", "osm", "amap", "auto"),
        default="none",
        help=t("cli.opt.basemap", lang),
    )
    p.add_argument("--tile-cache", type=Path, default=None, help=t("cli.opt.tile_cache", lang))
    p.add_argument("--out", required=True, type=Path, help=t("cli.opt.print_out", lang))
    _model_option(p, lang)
    _ranking_options(p, lang)


def _period_options(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--from", dest="start", default=None, help=t("cli.opt.start", lang))
    p.add_argument("--to", dest="end", default=None, help=t("cli.opt.end", lang))


@command("followup", "cli.help.followup")
def _args_followup(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--date", default=None, help=t("cli.opt.followup_date", lang))
    p.add_argument("--consultant", default=None, help=t("cli.opt.consultant", lang))
    p.add_argument("--district", default=None, help=t("cli.opt.followup_district", lang))
    p.add_argument("--out", type=Path, default=None, help=t("cli.opt.followup_out", lang))
    p.add_argument(
        "--contacts",
        choices=("masked", "full"),
        default="masked",
        help=t("cli.opt.followup_contacts", lang),
    )
    p.add_argument("--top", type=int, default=30, help=t("cli.opt.followup_top", lang))


@command("funnel", "cli.help.funnel")
def _args_funnel(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument(
        "--by",
        choices=("district", "consultant", "source", "event"),
        default=None,
        help=t("cli.opt.funnel_by", lang),
    )
    _period_options(p, lang)
    p.add_argument("--target", type=float, default=None, help=t("cli.opt.funnel_target", lang))


@command("lost", "cli.help.lost")
def _args_lost(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument(
        "--by", choices=("source", "consultant"), default="source", help=t("cli.opt.lost_by", lang)
    )
    _period_options(p, lang)


@command("lead", "cli.help.lead")
def _args_lead(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--lead", required=True, help=t("cli.opt.lead_id", lang))
    p.add_argument("--contacted", default=None, help=t("cli.opt.lead_contacted", lang))
    p.add_argument("--grade", default=None, help=t("cli.opt.lead_grade", lang))
    p.add_argument("--status", default=None, help=t("cli.opt.lead_status", lang))
    p.add_argument("--reason", default=None, help=t("cli.opt.lead_reason", lang))
    p.add_argument("--closed", default=None, help=t("cli.opt.lead_closed", lang))
    p.add_argument("--consultant", default=None, help=t("cli.opt.lead_consultant", lang))
    p.add_argument("--note", default=None, help=t("cli.opt.lead_note", lang))
    p.add_argument("--who", default=None, help=t("cli.opt.lead_who", lang))


@command("record", "cli.help.record")
def _args_record(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--event", required=True, help=t("cli.opt.record_event", lang))
    p.add_argument("--status", default=None, help=t("cli.opt.record_status", lang))
    p.add_argument("--date", default=None, help=t("cli.opt.record_date", lang))
    p.add_argument(
        "--zone", "--site", dest="zone", default=None, help=t("cli.opt.record_zone", lang)
    )
    p.add_argument("--format", default=None, help=t("cli.opt.record_format", lang))
    p.add_argument("--cost", default=None, help=t("cli.opt.record_cost", lang))
    p.add_argument("--staff", default=None, help=t("cli.opt.record_staff", lang))
    p.add_argument("--location", default=None, help=t("cli.opt.record_location", lang))
    p.add_argument(
        "--form",
        "--leads",
        dest="form",
        type=Path,
        default=None,
        help=t("cli.opt.record_form", lang),
    )
    p.add_argument("--note", default=None, help=t("cli.opt.lead_note", lang))
    p.add_argument("--who", default=None, help=t("cli.opt.lead_who", lang))


@command("review", "cli.help.review")
def _args_review(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--event", default=None, help=t("cli.opt.review_event", lang))
    p.add_argument("--month", default=None, metavar="YYYY-MM", help=t("cli.opt.review_month", lang))
    p.add_argument("--days", type=int, default=28, help=t("cli.opt.review_days", lang))


@command("split", "cli.help.split")
def _args_split(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument("--consultants", required=True, help=t("cli.opt.consultants", lang))
    p.add_argument(
        "--balance",
        choices=("population", "open_leads", "workload"),
        default="population",
        help=t("cli.opt.balance", lang),
    )
    p.add_argument("--keep", action="store_true", help=t("cli.opt.keep", lang))
    p.add_argument("--assignment", type=Path, default=None, help=t("cli.opt.assignment", lang))
    p.add_argument(
        "--lock",
        action="append",
        default=None,
        metavar="ZONE_ID=NAME",
        help=t("cli.opt.lock", lang),
    )
    p.add_argument("--min-balance", type=float, default=None, help=t("cli.opt.min_balance", lang))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--replace", action="store_true", help=t("cli.opt.replace", lang))
    which.add_argument("--dry-run", action="store_true", help=t("cli.opt.dry_run", lang))


@command("network", "cli.help.network")
def _args_network(p: argparse.ArgumentParser, lang: str) -> None:
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help=t("cli.opt.scheduler", lang)
    )
    p.add_argument("--workers", type=int, default=None, help=t("cli.opt.workers", lang))
    p.add_argument("--date", default=None, help=t("cli.opt.network_date", lang))
    p.add_argument("--detail", action="store_true", help=t("cli.opt.detail", lang))
    p.add_argument("--out", type=Path, default=None, help=t("cli.opt.network_out", lang))
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=t("cli.opt.progress", lang),
    )


def _global_options(lang: str, *, defaults: bool) -> argparse.ArgumentParser:
    """``--json``, ``--lang`` and ``--debug``, accepted before and after the command.

    The sub-commands' copies have no defaults (``SUPPRESS``), so an option given before
    the command (``territory --lang en validate WS``) is not reset by the sub-command's
    default; given in both places, the later one wins.
    """
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=t("cli.help.json", lang), **unset)
    common.add_argument(
        "--lang",
        choices=("zh", "en"),
        help=t("cli.help.lang", lang),
        **({"default": None} if defaults else unset),
    )
    common.add_argument("--debug", action="store_true", help=argparse.SUPPRESS, **unset)
    return common


def build_parser(lang: str = "zh") -> argparse.ArgumentParser:
    """The argument parser (help texts in ``lang``)."""
    parser = argparse.ArgumentParser(
        prog="territory",
        description=t("cli.description", lang),
        parents=[_global_options(lang, defaults=True)],
    )
    sub_common = _global_options(lang, defaults=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_key, add_arguments) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=t(help_key, lang), parents=[sub_common])
        sub.add_argument("workspace", metavar="WS", help=t("cli.help.workspace", lang))
        add_arguments(sub, lang)
    return parser


def _pre_lang(argv: Sequence[str]) -> str:
    """The language asked for (the last ``--lang``, as the parser reads it), for help texts."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in ("zh", "en"):
            found = argv[i + 1]
        if arg.startswith("--lang=") and arg[7:] in ("zh", "en"):
            found = arg[7:]
    return found or os.environ.get("TERRITORY_LANG") or "zh"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _pre_lang(argv)
    parser = build_parser(lang)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own message
        return EXIT_OK if exc.code == 0 else EXIT_INVALID
    if args.lang is None and os.environ.get("TERRITORY_LANG") in ("zh", "en"):
        args.lang = os.environ["TERRITORY_LANG"]
    handler = COMMANDS[args.command][0]
    try:
        status = handler(args)
        if status == EXIT_OK:
            _save_pending_store(args, args.lang or lang)
        return status
    except LayerError as exc:
        exc_lang = args.lang or exc.lang
        if args.json:
            emit_json({"ok": False, "problems": [p.to_dict(exc_lang) for p in exc.problems]})
        head = t("problem.header", exc_lang, n=len(exc.errors))
        _say(head + "\n" + render_problems(exc.problems, exc_lang))
        return EXIT_INVALID
    except CliError as exc:
        _say(t("cli.error", lang, message=t(exc.key, lang, **exc.fields)))
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except JournalError as exc:
        _say(t("cli.error", lang, message=exc.message(args.lang or lang)))
        return EXIT_INVALID
    except OSError as exc:
        # A path the user named (or the workspace folder) cannot be written or
        # read: permissions, a missing folder, a full disk, a file open in Excel.
        _say(t("cli.error", lang, message=_os_error_message(exc, lang)))
        return EXIT_INVALID
    except Exception as exc:
        if args.debug or os.environ.get("TERRITORY_DEBUG"):
            traceback.print_exc()
        _say(t("cli.internal_error", lang, kind=type(exc).__name__, detail=str(exc)[:300]))
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Printed territory maps (顾问分区图): one map per consultant, the territory outlined.

:func:`print_territories` writes one PDF: when it holds several consultants,
an **overview** page (every territory in its own colour with the
consultant's name, the dealer, the influence circle, and the balance table:
zones, population, share of the mean, compactness); then, for each
consultant, a **territory map** drawn by the field-map printer
(:mod:`territory.render._fieldmap`: Web Mercator, optional tiles, scale
bar, north arrow, locator, data line) with the territory filled and
outlined, its zones named, locked zones hatched and the neighbouring
territories outlined in their colours with their consultants' names, and a
**zone list** (id, name, district, type, population, locked).

No customer or lead is named: the pages hold zones, counts and the
consultants' own names only.

Examples
--------
>>> import tempfile, pathlib
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> from territory.outreach.split import split_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> split = split_workspace(ws, consultants=["张伟", "李娜"])
>>> out = pathlib.Path(tempfile.mkdtemp()) / "territories.pdf"
>>> result = print_territories(ws, out=out, assignment=split.assignment())
>>> result.pages, [c["consultant"] for c in result.consultants]
(5, ['张伟', '李娜'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from shapely.geometry import Point, box

from territory.analysis.zones import Analysis, analyse
from territory.i18n import LANGS, t
from territory.outreach.split import describe_assignment
from territory.render._fieldmap import (
    _anchor,
    _attribution,
    _draw_tiles,
    _fit,
    _furniture,
    _influence_circle,
    _map_axes,
    _map_frame,
    _map_layout,
    _reset_view,
    _short_name,
    finish_locator,
    locator_axes,
)
from territory.render._printfonts import _FALLBACK_FAMILY, PrintError, register_fonts
from territory.render._printpages import (
    _COLOURS,
    _MM,
    MAP_CRS,
    PAPERS,
    _footer,
    _Page,
    _table,
    _title,
)
from territory.render.maps import territory_colours
from territory.render.printing import BASEMAPS, _context, _save
from territory.settings import Settings
from territory.vocab import ZONE_TYPES, label

__all__ = ["TerritoryPrintResult", "print_territories"]


@dataclass
class TerritoryPrintResult:
    """What :func:`print_territories` wrote: the file, its pages and one dict per consultant."""

    path: Path
    pages: int
    paper: str
    lang: str
    consultants: list[dict[str, Any]]
    balance: str
    balance_index: float
    basemap_used: str | None
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "path": str(self.path),
            "pages": self.pages,
            "paper": self.paper,
            "lang": self.lang,
            "balance": self.balance,
            "balance_index": round(self.balance_index, 1),
            "basemap_used": self.basemap_used,
            "notices": list(self.notices),
            "consultants": self.consultants,
        }


def print_territories(
    ws,
    *,
    out: Path | str,
    assignment: pd.DataFrame | None = None,
    consultants: Sequence[str] | None = None,
    paper: str = "A4",
    lang: str | None = None,
    basemap: str = "none",
    tile_cache: Path | str | None = None,
    settings: Settings | None = None,
    analysis: Analysis | None = None,
) -> TerritoryPrintResult:
    """Print the consultants' territories: an overview, then a map and a zone list each.

    Parameters
    ----------
    ws
        The workspace.
    out
        The PDF to write (atomically).
    assignment
        ``zone_id, consultant, locked`` (default: the stored assignment).
    consultants
        Whose territories to print, in order (default: everyone's); the
        overview page comes first when there are two or more.
    paper, lang, basemap, tile_cache, settings, analysis
        As for :func:`territory.render.printing.print_sites`.

    Raises
    ------
    PrintError
        No assignment, an unknown consultant, a bad option, or a missing CJK font.
    """
    from territory.inputs.assignment import load_assignment

    lang = lang or getattr(ws.dealer, "language", "zh") or "zh"
    settings = settings or ws.settings
    paper = str(paper).upper()
    if lang not in LANGS:
        raise PrintError("print.bad_lang", lang="en", value=lang, known=", ".join(LANGS))
    if paper not in PAPERS:
        raise PrintError("print.bad_paper", lang=lang, value=paper, known=", ".join(PAPERS))
    if basemap not in BASEMAPS:
        raise PrintError("print.bad_basemap", lang=lang, value=basemap, known=", ".join(BASEMAPS))
    if assignment is None:
        assignment = load_assignment(ws.root)
    if assignment is None or assignment.empty:
        raise PrintError("print.no_assignment", lang=lang)
    split = describe_assignment(ws, assignment, lang=lang, settings=settings)
    everyone = list(split.consultants)
    chosen = list(dict.fromkeys(consultants)) if consultants else everyone
    unknown = [c for c in chosen if c not in everyone]
    if unknown:
        raise PrintError(
            "print.unknown_consultant",
            lang=lang,
            name="、".join(unknown),
            known="、".join(everyone),
        )
    fonts = register_fonts(lang=lang)
    analysis = analysis or analyse(ws, settings=settings, lang=lang)
    notices: list[str] = [m.text(lang) for m in split.notices if m.key == "split.notice.bridge"]
    context_kw: dict[str, Any] = {
        "analysis": analysis,
        "settings": settings,
        "fonts": fonts,
        "lang": lang,
        "paper": paper,
        "date": dt.date.today(),
        "cards": False,
        "contacts": "hidden",
        "basemap": basemap,
        "tile_cache": tile_cache,
        "n_sites": 1,
        "notices": notices,
    }
    ctx = _context(ws, facts=_facts_for(ws, analysis, settings, lang), **context_kw)
    colours = territory_colours(everyone)
    row_of = {z: i for i, z in enumerate(analysis.zones["zone_id"].astype(str))}
    owner = dict(zip(split.zones["zone_id"], split.zones["consultant"], strict=True))
    locked = set(split.zones.loc[split.zones["locked"], "zone_id"])
    shapes = _shapes(ctx, split)
    rows = {r["consultant"]: r for r in split.territories.to_dict(orient="records")}

    rc = {
        "pdf.fonttype": 3,
        "svg.fonttype": "path",
        "text.parse_math": False,
        "axes.unicode_minus": False,
        "font.family": [fonts.family, _FALLBACK_FAMILY],
        "figure.dpi": 72,
        "savefig.dpi": 200,
        "image.resample": True,
    }
    info: list[dict[str, Any]] = []
    with matplotlib.rc_context(rc):
        pages: list[_Page] = []
        if len(chosen) > 1:
            pages.append(_overview(ctx, split, shapes, colours, chosen))
        for name in chosen:
            first = len(pages) + 1
            members = [row_of[z] for z in rows[name]["zone_ids"] if z in row_of]
            page, extent = _territory_page(
                ctx, split, name, members, shapes, colours, owner, locked, row_of
            )
            pages.append(page)
            pages.extend(_zone_list_pages(ctx, split, name, rows[name], locked))
            info.append(
                {
                    "consultant": name,
                    "zones": rows[name]["zones"],
                    "population": rows[name]["population"],
                    "share": round(rows[name]["share"], 4)
                    if rows[name]["share"] is not None
                    else None,
                    "compactness": rows[name]["compactness"],
                    "first_page": first,
                    "pages": len(pages) - first + 1,
                    "map": {"crs": MAP_CRS, "extent": [float(v) for v in extent]},
                }
            )
        for i, page in enumerate(pages, start=1):
            _footer(page, ctx, number=i, total=len(pages))
        title = t("territory_print.title", lang, dealer=ws.dealer.name)
        path = _save(pages, Path(out), title=title)
    return TerritoryPrintResult(
        path=path,
        pages=len(pages),
        paper=paper,
        lang=lang,
        consultants=info,
        balance=split.balance,
        balance_index=split.balance_index,
        basemap_used=basemap if ctx.tiles_drawn else None,
        notices=list(ctx.notices),
    )


def _facts_for(ws, analysis: Analysis, settings: Settings, lang: str):
    """The site facts the shared print context carries (its playbook and history)."""
    from territory.outreach.playbook import load_playbook
    from territory.outreach.site import SiteFacts

    playbook = load_playbook(ws.root, lang=lang)
    return SiteFacts(ws, analysis, playbook=playbook, settings=settings, lang=lang)


def _shapes(ctx, split) -> dict[str, Any]:
    """Each consultant's territory as one shape in map coordinates (gaps closed)."""
    from territory.render._fieldmap import map_geometry

    drawn = map_geometry(split.outlines(), coord_sys=ctx.coord_sys)
    return dict(zip(split.consultants, drawn.values, strict=True))


def _measure_text(split, lang: str) -> str:
    return t(f"split.measure.{split.balance}", lang)


def _overview(ctx, split, shapes, colours, chosen) -> _Page:
    """All territories on one map, and the balance table."""
    k = ctx.k
    lang = ctx.lang
    page = _Page(ctx, landscape=False)
    m = page.margin
    top = _title(
        page,
        ctx,
        t("territory_print.overview_title", lang, dealer=ctx.ws.dealer.name),
        t(
            "territory_print.overview_subtitle",
            lang,
            n=len(split.consultants),
            zones=len(split.zones),
            index=f"{split.balance_index:.1f}",
            measure=_measure_text(split, lang),
        ),
        None,
    )
    columns = [
        t("territory_print.col.consultant", lang),
        t("territory_print.col.zones", lang),
        t("territory_print.col.population", lang),
        t("territory_print.col.share", lang),
        t("territory_print.col.compactness", lang),
        t("territory_print.col.locked", lang),
    ]
    widths = [0.26, 0.12, 0.2, 0.16, 0.14, 0.12]
    table_rows = []
    for r in split.territories.to_dict(orient="records"):
        table_rows.append(
            [
                r["consultant"],
                str(r["zones"]),
                f"{r['population']:,}",
                f"{r['share']:.0%}" if r["share"] is not None else "—",
                f"{r['compactness']:.0f}" if r["compactness"] is not None else "—",
                str(len(r["locked_zone_ids"])),
            ]
        )
    mw = page.W - 2 * m
    table_kw = {"size": 7.5 * k, "min_row": 15 * k}
    table_h = _table(page, ctx, 0, 0, mw, columns, widths, table_rows, dry=True, **table_kw)
    bottom = page.H - m - 20 * k
    mh = max(bottom - top - table_h - 26 * k, (bottom - top) * 0.45)
    geoms = [*shapes.values(), Point(*ctx.dealer_m)]
    extent = _fit(_map_frame(ctx, geoms, include_dealer=True, margin_share=0.06), mw / mh)
    view = _map_axes(page, ctx, (m, top, mw, mh), extent)
    ax = view.ax
    tiles = _draw_tiles(ctx, ax, extent, mw / 72.0)
    for name, shape in shapes.items():
        gpd.GeoSeries([shape], crs=MAP_CRS).plot(
            ax=ax,
            facecolor=colours[name],
            alpha=0.18 if tiles else 0.28,
            edgecolor="none",
            zorder=2,
        )
    gpd.GeoSeries([_influence_circle(ctx)], crs=MAP_CRS).plot(
        ax=ax,
        facecolor="none",
        edgecolor=_COLOURS["dealer"],
        linewidth=0.9,
        linestyle="--",
        zorder=3,
    )
    for name, shape in shapes.items():
        gpd.GeoSeries([shape], crs=MAP_CRS).plot(
            ax=ax, facecolor="none", edgecolor=colours[name], linewidth=2.2, zorder=4
        )
    _reset_view(view)
    _furniture(ctx, view, tiles)
    _dealer(ctx, view)
    for name, shape in shapes.items():
        a = _anchor(shape)
        if a is None:
            continue
        art = view.text(
            ctx,
            a.x,
            a.y,
            name,
            ha="center",
            va="center",
            fontsize=10 * k,
            color=colours[name],
            zorder=12,
            halo=3,
        )
        view.labels.block([art])
    page.text(
        m,
        top + mh + 3 * k,
        t("territory_print.overview_legend", lang, km=ctx.settings.influence.radius_km),
        size=6.5 * k,
        color=_COLOURS["muted"],
    )
    _table(page, ctx, m, top + mh + 16 * k, mw, columns, widths, table_rows, **table_kw)
    from territory.render._fieldmap import _Layout

    _attribution(
        ctx, page, _Layout(False, (m, top, mw, mh), (m, bottom, mw, 0), top, bottom), tiles
    )
    return page


def _dealer(ctx, view) -> None:
    k = ctx.k
    dx, dy = ctx.dealer_m
    view.ax.plot(
        [dx],
        [dy],
        marker="*",
        markersize=15 * k,
        color=_COLOURS["dealer"],
        markeredgecolor="white",
        zorder=10,
    )
    view.labels.block(
        [
            view.text(
                ctx,
                dx,
                dy,
                t("print.dealer_short", ctx.lang),
                xytext=(9 * k, 0),
                va="center",
                fontsize=8.5 * k,
                color=_COLOURS["dealer"],
                zorder=11,
                halo=3,
            )
        ]
    )


def _territory_page(ctx, split, name, members, shapes, colours, owner, locked, row_of):
    """One consultant's territory on the field-map layout: map, legend and facts, locator."""
    k = ctx.k
    lang = ctx.lang
    shape = shapes[name]
    extent = _map_frame(ctx, [shape], include_dealer=True, margin_share=0.12)
    layout = _map_layout(ctx, extent)
    extent = _fit(extent, layout.map_box[2] / layout.map_box[3])
    page = _Page(ctx, landscape=layout.landscape)
    row = split.territories.set_index("consultant").loc[name]
    _title(
        page,
        ctx,
        t("territory_print.map_title", lang, name=name),
        t(
            "territory_print.map_subtitle",
            lang,
            zones=int(row["zones"]),
            population=f"{int(row['population']):,}",
            share=f"{row['share']:.0%}" if row["share"] is not None else "—",
            compactness=f"{row['compactness']:.0f}" if row["compactness"] is not None else "—",
            index=f"{split.balance_index:.1f}",
            measure=_measure_text(split, lang),
        ),
        None,
    )
    view = _map_axes(page, ctx, layout.map_box, extent)
    ax = view.ax
    tiles = _draw_tiles(ctx, ax, extent, layout.map_box[2] / 72.0)
    frame = box(*extent)
    in_frame = np.sort(ctx.zones_m.sindex.query(frame, predicate="intersects"))
    zones_m = ctx.zones_m
    if not tiles:
        zones_m.iloc[in_frame].plot(
            ax=ax, facecolor=_COLOURS["zone_fill"], edgecolor="none", zorder=1
        )
    colour = colours[name]
    gpd.GeoSeries([shape], crs=MAP_CRS).plot(
        ax=ax, facecolor=colour, alpha=0.16 if tiles else 0.22, edgecolor="none", zorder=2
    )
    zones_m.iloc[in_frame].plot(
        ax=ax, facecolor="none", edgecolor=_COLOURS["zone"], linewidth=0.35, zorder=3
    )
    mine_locked = [row_of[z] for z in locked if owner.get(z) == name and z in row_of]
    if mine_locked:
        zones_m.iloc[mine_locked].plot(
            ax=ax, facecolor="none", edgecolor=colour, hatch="///", linewidth=0.0, zorder=3.5
        )
    for other, other_shape in shapes.items():
        if other == name or not other_shape.intersects(frame):
            continue
        gpd.GeoSeries([other_shape], crs=MAP_CRS).plot(
            ax=ax, facecolor="none", edgecolor=colours[other], linewidth=1.3, zorder=4
        )
    gpd.GeoSeries([shape], crs=MAP_CRS).plot(
        ax=ax, facecolor="none", edgecolor=colour, linewidth=3.0, zorder=5
    )
    _reset_view(view)
    _furniture(ctx, view, tiles)
    _dealer(ctx, view)
    # Zone names inside the territory (largest first, where they fit), then the
    # neighbouring consultants' names in their territories.
    zones = ctx.zones
    order = sorted(members, key=lambda i: -float(zones_m.iloc[i].area))
    for i in order:
        a = _anchor(zones_m.iloc[i])
        if a is None or not frame.contains(a):
            continue
        art = view.text(
            ctx,
            a.x,
            a.y,
            _short_name(str(zones.iloc[i]["name"])),
            ha="center",
            va="center",
            fontsize=6.5 * k,
            color="#1a1a1a",
            zorder=9,
            halo=2,
        )
        view.labels.place([art])
    for other, other_shape in shapes.items():
        if other == name:
            continue
        part = other_shape.intersection(frame)
        if part.is_empty or part.area < frame.area * 0.01:
            continue
        a = _anchor(part)
        if a is None:
            continue
        art = view.text(
            ctx,
            a.x,
            a.y,
            other,
            ha="center",
            va="center",
            fontsize=8 * k,
            color=colours[other],
            zorder=9,
            halo=2.5,
        )
        view.labels.place([art])
    _attribution(ctx, page, layout, tiles)
    _panel(ctx, page, layout, split, name, colour, bool(mine_locked), shapes, colours, extent)
    return page, extent


def _panel(ctx, page, layout, split, name, colour, has_locked, shapes, colours, extent) -> None:
    k = ctx.k
    px, py, pw, ph = layout.panel_box
    gap = 5 * _MM * k
    if layout.landscape:
        loc_h = min(pw * 0.9, ph * 0.4)
        _locator(ctx, page, (px, py, pw, loc_h), shapes, colours, name, extent)
        y = _legend(ctx, page, (px, py + loc_h + gap, pw), colour, has_locked)
        _facts(ctx, page, (px, y + gap, pw), split, name)
    else:
        loc_w = min(ph * 1.0, pw * 0.3)
        col_w = (pw - loc_w - 2 * gap) / 2
        _legend(ctx, page, (px, py, col_w), colour, has_locked)
        _facts(ctx, page, (px + col_w + gap, py, col_w), split, name)
        _locator(ctx, page, (px + pw - loc_w, py, loc_w, ph), shapes, colours, name, extent)


def _legend(ctx, page, box_pt, colour, has_locked) -> float:
    k = ctx.k
    lang = ctx.lang
    x, y, w = box_pt
    size = 6.8 * k
    lh = size * 1.3
    sym_w = 15 * k
    page.text(x, y, t("print.legend.title", lang), size=8 * k, color=_COLOURS["head"])
    y += 13 * k
    entries = [
        (
            "patch",
            {"facecolor": colour, "alpha": 0.3, "edgecolor": colour, "linewidth": 2.5},
            t("territory_print.legend.territory", lang),
        ),
        (
            "patch",
            {"facecolor": "none", "edgecolor": "#777777", "linewidth": 1.2},
            t("territory_print.legend.others", lang),
        ),
        (
            "patch",
            {"facecolor": _COLOURS["zone_fill"], "edgecolor": _COLOURS["zone"], "linewidth": 0.5},
            t("print.legend.zone", lang),
        ),
    ]
    if has_locked:
        entries.append(
            (
                "patch",
                {"facecolor": "none", "edgecolor": colour, "hatch": "///", "linewidth": 0.5},
                t("territory_print.legend.locked", lang),
            )
        )
    entries.append(("star", {}, t("print.legend.dealer", lang, name=ctx.ws.dealer.name)))
    for kind, style, text in entries:
        lines = ctx.measure.wrap(ctx.text(text), w - sym_w - 4 * k, size)
        if kind == "patch":
            page.rect(x + 1 * k, y + 0.5 * k, sym_w - 2 * k, lh - 1 * k, **style)
        else:
            page.fig.add_artist(
                Line2D(
                    [x + sym_w / 2],
                    [page.H - (y + lh / 2)],
                    marker="*",
                    markersize=10 * k,
                    color=_COLOURS["dealer"],
                    transform=page.trans,
                )
            )
        for j, line in enumerate(lines):
            page.text(x + sym_w + 4 * k, y + j * lh, line, size=size)
        y += len(lines) * lh + 2.5 * k
    return y


def _facts(ctx, page, box_pt, split, name) -> None:
    k = ctx.k
    lang = ctx.lang
    x, y, w = box_pt
    row = split.territories.set_index("consultant").loc[name]
    size = 6.8 * k
    lh = size * 1.3
    facts = [
        (t("territory_print.fact.zones", lang), str(int(row["zones"]))),
        (t("territory_print.fact.population", lang), f"{int(row['population']):,}"),
        (
            t("territory_print.fact.share", lang, measure=_measure_text(split, lang)),
            f"{row['share']:.0%}" if row["share"] is not None else "—",
        ),
        (
            t("territory_print.fact.compactness", lang),
            f"{row['compactness']:.0f}" if row["compactness"] is not None else "—",
        ),
        (t("territory_print.fact.balance", lang), f"{split.balance_index:.1f}"),
        (t("territory_print.fact.locked", lang), str(len(row["locked_zone_ids"]))),
    ]
    if row["open_leads"] is not None:
        facts.append((t("territory_print.fact.open_leads", lang), f"{row['open_leads']:.0f}"))
    page.text(x, y, t("territory_print.fact.title", lang), size=8 * k, color=_COLOURS["head"])
    y += 13 * k
    label_w = min(w * 0.62, max(ctx.measure.width(ctx.text(a), size) for a, _ in facts) + 5 * k)
    for head, value in facts:
        page.text(x, y, head, size=size, color=_COLOURS["muted"])
        page.text(x + label_w, y, value, size=size)
        y += lh + 1.5 * k


def _locator(ctx, page, box_pt, shapes, colours, name, extent) -> None:
    ax, circle, loc_extent = locator_axes(ctx, page, box_pt, [box(*extent), *shapes.values()])
    for other, shape in shapes.items():
        gpd.GeoSeries([shape], crs=MAP_CRS).plot(
            ax=ax,
            facecolor=colours[other] if other == name else "#eeeeee",
            edgecolor=colours[other] if other == name else "#9a9a9a",
            alpha=0.85 if other == name else 1.0,
            linewidth=0.5,
            zorder=2 if other == name else 1,
        )
    finish_locator(ctx, ax, circle, loc_extent, circle_zorder=3, star_size=8)


def _zone_list_pages(ctx, split, name, row, locked) -> list[_Page]:
    """The territory's zones as a table, continued over as many pages as it takes."""
    k = ctx.k
    lang = ctx.lang
    zones = split.zones.set_index("zone_id")
    types = ctx.zones.set_index(ctx.zones["zone_id"].astype(str))["zone_type"]
    columns = [
        t("territory_print.col.zone_id", lang),
        t("territory_print.col.name", lang),
        t("territory_print.col.district", lang),
        t("territory_print.col.type", lang),
        t("territory_print.col.population", lang),
        t("territory_print.col.locked", lang),
    ]
    widths = [0.2, 0.26, 0.16, 0.14, 0.14, 0.1]
    records = []
    for z in sorted(row["zone_ids"], key=lambda z: (str(zones.loc[z, "district"]), z)):
        records.append(
            [
                z,
                str(zones.loc[z, "name"]),
                str(zones.loc[z, "district"]) if pd.notna(zones.loc[z, "district"]) else "—",
                label(str(types.get(z, "other")), ZONE_TYPES, lang),
                f"{int(zones.loc[z, 'population']):,}",
                t("split.yes", lang) if z in locked else "",
            ]
        )
    pages: list[_Page] = []
    table_kw = {"size": 7.2 * k, "min_row": 13 * k}
    probe = _Page(ctx)
    width = probe.W - 2 * probe.margin
    head = _table(probe, ctx, 0, 0, width, columns, widths, [], dry=True, **table_kw)
    heights = [
        _table(probe, ctx, 0, 0, width, columns, widths, [r], dry=True, **table_kw) - head
        for r in records
    ]
    probe.fig.clear()
    start = 0
    while True:
        page = _Page(ctx)
        m = page.margin
        top = _title(
            page,
            ctx,
            t(
                "territory_print.list_continued" if pages else "territory_print.list_title",
                lang,
                name=name,
            ),
            t(
                "territory_print.list_subtitle",
                lang,
                zones=row["zones"],
                population=f"{row['population']:,}",
            ),
            None,
        )
        room = page.H - m - 20 * k - top - head
        end, used = start, 0.0
        while end < len(records) and (used + heights[end] <= room or end == start):
            used += heights[end]
            end += 1
        _table(page, ctx, m, top, width, columns, widths, records[start:end], **table_kw)
        pages.append(page)
        start = end
        if start >= len(records):
            return pages

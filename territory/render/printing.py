"""Printed field maps and plans: one PDF per outing, A4 or A3, Chinese or English.

:func:`print_sites` writes, for every site, a **field map** (the site zone
highlighted, its neighbours with name, zone type and first format for the
date, the dealer and the straight line to it, existing customers counted in
H3 hexagons, optional lead cards counted per zone, legend, scale bar, north
arrow, locator map and data attribution), the **plan** (the 13 parts of
:func:`territory.outreach.plan.build_plan` condensed into two columns, the tools
checklist with tick boxes and the KPI targets with space for the results),
an optional **invitation list** of nearby owners (masked names and phones,
``contacts="masked"``) and a blank **visitor registration form**
(外拓客户登记表). Several sites make a map book with a cover page that lists
them on an overview map.

Maps are drawn in Web Mercator (EPSG:3857) so that map tiles (OpenStreetMap,
or AMap with every vector layer shifted to GCJ-02) can lie under them; the
scale bar is measured in the local UTM projection. Text uses the OFL font
Noto Sans SC from the ``pylopdf-fonts-zh-cn`` package (DejaVu Sans, shipped
with matplotlib, for the few symbols it lacks such as ☐), embedded as Type 3
fonts with a ToUnicode map so the PDF's text can be searched and copied.

No phone number or full customer name is ever printed: customers appear
only as counts (hexagons with fewer than ``print.hex_min_count`` customers
are left out), and the invitation list, an explicit opt-in, shows masked
forms only. The footer of every page records the choice.

Examples
--------
>>> import datetime as dt, tempfile, pathlib
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "site.pdf"
>>> options = PrintOptions(sites=["510105014"], date=dt.date(2026, 11, 28))
>>> result = print_sites(ws, options, out=out)
>>> result.pages, result.paper, result.sites[0]["name"]
(3, 'A4', '文家街道')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from pyproj import Transformer

from territory.analysis.zones import Analysis, analyse
from territory.i18n import LANGS, t
from territory.inputs import coords
from territory.outreach.plan import build_plan
from territory.outreach.playbook import Playbook, load_playbook, weekday_label
from territory.outreach.ranking import next_saturday, recommend
from territory.outreach.site import SiteFacts
from territory.render._fieldmap import _cover, _field_map, _points_to_map, map_geometry
from territory.render._printfonts import _FALLBACK_FAMILY, PrintError, _Measure, register_fonts
from territory.render._printpages import (
    MAP_CRS,
    PAPERS,
    _Ctx,
    _footer,
    _form_page,
    _invitation_pages,
    _Page,
    _plan_pages,
    _Site,
)
from territory.render._tiles import default_cache_dir
from territory.settings import Settings

__all__ = [
    "BASEMAPS",
    "CONTACTS",
    "MAP_CRS",
    "PAPERS",
    "PrintError",
    "PrintOptions",
    "PrintResult",
    "map_geometry",
    "print_sites",
    "register_fonts",
]

#: Basemap choices: no tiles, OpenStreetMap, AMap (高德; layers shifted to GCJ-02).
BASEMAPS: tuple[str, ...] = ("none", "osm", "amap", "auto")
#: Contact choices: ``hidden`` (default: no list) or ``masked`` (invitation list, masked).
CONTACTS: tuple[str, ...] = ("hidden", "masked")


@dataclass
class PrintResult:
    """What :func:`print_sites` wrote.

    Attributes
    ----------
    path
        The PDF file.
    pages
        Number of pages.
    paper
        ``A4`` or ``A3``.
    sites
        One dict per site, in print order: rank, zone_id, name, district,
        zone_type, date, formats, time_slots, expected_leads, first_page,
        pages, orientation, basemap and ``map`` (the map CRS, the coordinate
        system of the drawn layers, the extent and the plotted site and
        dealer points, the scale bar).
    basemap_used
        ``osm`` or ``amap`` when tiles lie under at least one map, else None.
    notices
        Messages for the user (tiles unavailable, characters the font lacks).
    """

    path: Path
    pages: int
    paper: str
    sites: list[dict[str, Any]]
    basemap_used: str | None
    notices: list[str] = field(default_factory=list)
    contacts: str = "hidden"
    lang: str = "zh"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``territory print --json``."""
        return {
            "path": str(self.path),
            "pages": self.pages,
            "paper": self.paper,
            "lang": self.lang,
            "contacts": self.contacts,
            "basemap_used": self.basemap_used,
            "notices": list(self.notices),
            "sites": self.sites,
        }


@dataclass(frozen=True)
class PrintOptions:
    """What to print and how (``territory print``'s options).

    Attributes
    ----------
    sites, top
        Either zone ids, in print order, or how many recommended sites.
    date
        The day of the outing (default: next Saturday).
    paper
        ``A4`` or ``A3``; each map page takes the orientation that fits its area.
    lang
        ``zh`` or ``en`` (default: the dealer's language).
    model
        The model the plan features (default: the first of dealer.toml).
    cards
        Also show A-cards and deposit cards, counted per zone.
    contacts
        ``hidden`` (default): no list of people. ``masked``: add an
        invitation list — the spot's referral targets, then other nearby
        owners — with masked names and phones.
    basemap
        ``none``, ``osm`` or ``amap`` tiles under the vector layers, or
        ``auto`` (the app's default): AMap from the tile cache or the
        network. When the tiles cannot be had the maps are printed without
        them, with a note on the page and in ``notices``. Tiles are cached
        (``tile_cache``), and a reprint with no network uses cached tiles
        even past ``print.tile_cache_days``.
    tile_cache
        Folder for cached tiles (default: the user's cache folder).
    overrides
        Per-call settings, e.g. ``{"print": {"osm_url": "http://127.0.0.1:8000/{z}/{x}/{y}.png"}}``.
    """

    sites: Sequence[str] | None = None
    top: int | None = None
    date: dt.date | None = None
    paper: str = "A4"
    lang: str | None = None
    model: str | None = None
    cards: bool = False
    contacts: str = "hidden"
    basemap: str = "none"
    tile_cache: Path | str | None = None
    overrides: dict | None = None


def _check_options(
    paper: str, lang: str, contacts: str, basemap: str, sites, top, settings: Settings
) -> None:
    if lang not in LANGS:
        raise PrintError("print.bad_lang", lang="en", value=lang, known=", ".join(LANGS))
    if paper not in PAPERS:
        raise PrintError("print.bad_paper", lang=lang, value=paper, known=", ".join(PAPERS))
    if contacts not in CONTACTS:
        raise PrintError("print.bad_contacts", lang=lang, value=contacts)
    if basemap not in BASEMAPS:
        raise PrintError("print.bad_basemap", lang=lang, value=basemap, known=", ".join(BASEMAPS))
    if (not sites) == (top is None):
        raise PrintError("print.sites_or_top", lang=lang)
    if top is not None and top < 1:
        raise PrintError("print.bad_top", lang=lang, value=top)
    if basemap != "none":
        template = settings.print.osm_url if basemap == "osm" else settings.print.amap_url
        if not all(f"{{{c}}}" in template for c in "xyz"):
            raise PrintError("print.bad_template", lang=lang, value=template)


def print_sites(
    ws,
    options: PrintOptions,
    *,
    out: Path | str,
    settings: Settings | None = None,
    analysis: Analysis | None = None,
    playbook: Playbook | None = None,
) -> PrintResult:
    """Print field maps and plans for ``options.sites`` (zone ids) or the ``options.top`` recommended.

    Parameters
    ----------
    ws
        The workspace (:func:`territory.inputs.workspace.load_workspace`).
    options
        What to print and how (:class:`PrintOptions`).
    out
        The PDF file to write (written atomically).
    settings
        Settings (default: the workspace's); ``options.overrides`` apply on top.
    analysis, playbook
        Precomputed :func:`territory.analysis.zones.analyse` result and playbook
        (for the same model and settings) to save time.

    Returns
    -------
    PrintResult

    Raises
    ------
    PrintError
        For a bad option, an unknown zone, or a missing CJK font.
    """
    o = options
    lang = o.lang or getattr(ws.dealer, "language", "zh") or "zh"
    settings = (settings or ws.settings).merged(o.overrides)
    paper = str(o.paper).upper()
    sites, top, contacts, basemap = o.sites, o.top, o.contacts, o.basemap
    _check_options(paper, lang, contacts, basemap, sites, top, settings)
    if basemap == "auto":
        basemap = "amap"
    fonts = register_fonts(lang=lang)
    date = o.date or next_saturday()
    known = set(ws.zones["zone_id"])
    if sites:
        unknown = [z for z in sites if str(z) not in known]
        if unknown:
            raise PrintError("print.unknown_zone", lang=lang, zone=", ".join(map(str, unknown)))
    analysis = analysis or analyse(ws, model=o.model, settings=settings, lang=lang)
    playbook = playbook or load_playbook(ws.root, lang=lang)
    facts = SiteFacts(ws, analysis, playbook=playbook, settings=settings, lang=lang)
    notices: list[str] = []
    if top is not None:
        rec = recommend(
            ws,
            date=date,
            top=top,
            settings=settings,
            analysis=analysis,
            playbook=playbook,
            lang=lang,
            facts=facts,
        )
        zone_ids = [str(z) for z in rec.sites["zone_id"]] if len(rec.sites) else []
        if len(zone_ids) < top:
            notices.append(t("print.fewer_sites", lang, n=len(zone_ids), top=top))
        if not zone_ids:
            raise PrintError("print.no_sites", lang=lang)
    else:
        zone_ids = list(dict.fromkeys(str(z) for z in sites or ()))

    ctx = _context(
        ws,
        analysis=analysis,
        settings=settings,
        facts=facts,
        fonts=fonts,
        lang=lang,
        paper=paper,
        date=date,
        cards=o.cards,
        contacts=contacts,
        basemap=basemap,
        tile_cache=o.tile_cache,
        n_sites=len(zone_ids),
        notices=notices,
    )
    site_objs: list[_Site] = []
    row_of = {z: i for i, z in enumerate(analysis.zones["zone_id"].astype(str))}
    for rank, zone_id in enumerate(zone_ids, start=1):
        brief = facts.brief(zone_id, date, referral_rows=contacts == "masked")
        plan = build_plan(ws, zone_id=zone_id, date=date, lang=lang, facts=facts, brief=brief)
        row = row_of[zone_id]
        z = analysis.zones.iloc[row]
        site_objs.append(
            _Site(
                rank=rank,
                row=row,
                zone_id=zone_id,
                name=_blank(z["name"], zone_id),
                district=_blank(z["district"], "—"),
                zone_type=str(z["zone_type"]),
                formats=list(brief.formats),
                slots=list(brief.slots),
                expected_leads=float(brief.economics.leads),
                plan=plan,
                brief=brief,
            )
        )

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
    with matplotlib.rc_context(rc):
        site_pages: list[list[_Page]] = []
        infos: list[dict[str, Any]] = []
        for site in site_objs:
            map_page, info = _field_map(ctx, site)
            pages = [map_page, *_plan_pages(ctx, site)]
            if contacts == "masked":
                pages += _invitation_pages(ctx, site)
            pages.append(_form_page(ctx, site))
            site_pages.append(pages)
            infos.append(info)
        all_pages: list[_Page] = []
        first_pages: list[int] = []
        offset = 1 if len(site_objs) > 1 else 0
        n = offset
        for pages in site_pages:
            first_pages.append(n + 1)
            n += len(pages)
        if len(site_objs) > 1:
            all_pages.append(_cover(ctx, site_objs, first_pages))
        for pages in site_pages:
            all_pages.extend(pages)
        total = len(all_pages)
        for i, page in enumerate(all_pages, start=1):
            _footer(page, ctx, number=i, total=total)
        path = _save(all_pages, Path(out), title=_document_title(ctx, site_objs))

    site_dicts = []
    for site, info, first, pages in zip(site_objs, infos, first_pages, site_pages, strict=True):
        site_dicts.append(
            {
                "rank": site.rank,
                "zone_id": site.zone_id,
                "name": site.name,
                "district": site.district,
                "zone_type": site.zone_type,
                "date": date.isoformat(),
                "formats": site.formats,
                "time_slots": [s.label(lang) for s in site.slots],
                "expected_leads": round(site.expected_leads, 1),
                "spot": site.brief.spot.to_dict(),
                "first_page": first,
                "pages": len(pages),
                **info,
            }
        )
    return PrintResult(
        path=path,
        pages=len(all_pages),
        paper=paper,
        sites=site_dicts,
        basemap_used=basemap if ctx.tiles_drawn else None,
        notices=list(ctx.notices),
        contacts=contacts,
        lang=lang,
    )


def _blank(value: object, default: str) -> str:
    """Text of a zone attribute, ``default`` when missing or empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip():
        return default
    return str(value)


def _context(
    ws,
    *,
    analysis: Analysis,
    settings: Settings,
    facts: SiteFacts,
    fonts,
    lang: str,
    paper: str,
    date: dt.date,
    cards: bool,
    contacts: str,
    basemap: str,
    tile_cache: Path | str | None,
    n_sites: int,
    notices: list[str],
) -> _Ctx:
    """Everything the pages share: layers projected once for drawing and measuring."""
    coord_sys = "gcj02" if basemap == "amap" else "wgs84"
    dealer = ws.dealer
    local = coords.local_crs(dealer.lon, dealer.lat)
    zones_geo = analysis.zones.geometry
    cust = ws.customers[ws.customers.geometry.notna()]
    lonlat = (
        np.column_stack([cust.geometry.x.to_numpy(), cust.geometry.y.to_numpy()])
        if len(cust)
        else np.empty((0, 2))
    )
    to_local = Transformer.from_crs(4326, local, always_xy=True)
    return _Ctx(
        ws=ws,
        analysis=analysis,
        settings=settings,
        playbook=facts.playbook,
        history=facts.history_for(date),
        facts=facts,
        fonts=fonts,
        measure=_Measure(fonts),
        lang=lang,
        paper=paper,
        date=date,
        cards=cards,
        contacts=contacts,
        basemap=basemap,
        cache_dir=Path(tile_cache) if tile_cache else default_cache_dir(),
        coord_sys=coord_sys,
        zones_m=map_geometry(zones_geo, coord_sys=coord_sys).reset_index(drop=True),
        zones_local=zones_geo.to_crs(local).reset_index(drop=True),
        local_crs=local,
        dealer_m=_points_to_map([dealer.lon], [dealer.lat], coord_sys)[0],
        dealer_local=np.array(to_local.transform(dealer.lon, dealer.lat)),
        customers_m=_points_to_map(lonlat[:, 0], lonlat[:, 1], coord_sys)
        if len(lonlat)
        else np.empty((0, 2)),
        customers_lonlat=lonlat,
        n_sites=n_sites,
        notices=notices,
    )


def _document_title(ctx: _Ctx, sites: list[_Site]) -> str:
    if len(sites) == 1:
        return sites[0].plan.title
    return t(
        "print.cover_title",
        ctx.lang,
        date=ctx.date.isoformat(),
        weekday=weekday_label(ctx.date, ctx.lang),
    )


def _save(pages: list[_Page], path: Path, *, title: str) -> Path:
    from matplotlib.backends.backend_pdf import PdfPages

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with PdfPages(
            tmp,
            metadata={
                "Title": title,
                "Creator": "Territory",
                "Producer": "Territory (matplotlib)",
                "CreationDate": None,
            },
        ) as pdf:
            for page in pages:
                pdf.savefig(page.fig)
        tmp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        for page in pages:
            page.fig.clear()
    return path

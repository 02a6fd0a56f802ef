"""Pages of a printed outing: page geometry, titles, footers, tables, the plan flow.

Private helper of :mod:`territory.render.printing`: everything on a page except
the maps (:mod:`territory.render._fieldmap`). Coordinates are points measured from
the page's top-left corner; type and spacing scale with the paper (A3 is
A4 enlarged).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Affine2D

from territory.analysis.zones import Analysis
from territory.i18n import t
from territory.outreach.history import EventHistory
from territory.outreach.plan import Plan, tool_labels
from territory.outreach.plansheet import REGISTRATION_COLUMNS
from territory.outreach.playbook import Playbook, Slot, weekday_label
from territory.privacy import mask_name, mask_phone
from territory.render._printfonts import _FALLBACK_FAMILY, _Fonts, _Measure
from territory.settings import Settings
from territory.vocab import FORMATS, label

__all__: list[str] = []

#: Paper sizes in millimetres, portrait (width, height).
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
#: The CRS maps are drawn in (Web Mercator, the CRS of XYZ tiles).
MAP_CRS = "EPSG:3857"

_MM = 72.0 / 25.4  # points per millimetre

_COLOURS = {
    "text": "#1a1a1a",
    "muted": "#5f5f5f",
    "head": "#1F4E79",
    "part": "#DDEBF7",
    "site": "#c0392b",
    "site_fill": "#f9d5d0",
    "neighbour": "#2b2b2b",
    "zone": "#a9a9a9",
    "zone_fill": "#f7f7f5",
    "district": "#6b6b6b",
    "dealer": "#0b3d91",
    "cards": "#117a65",
    "rule": "#8c8c8c",
    "note": "#9a3412",
}


def _halo(width: float = 2.5):
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


@dataclass
class _Site:
    rank: int
    row: int
    zone_id: str
    name: str
    district: str
    zone_type: str
    formats: list[str]
    slots: list[Slot]
    expected_leads: float
    plan: Plan
    brief: Any = None  # territory.outreach.site.SiteBrief


@dataclass
class _Ctx:
    ws: Any
    analysis: Analysis
    settings: Settings
    playbook: Playbook
    history: EventHistory
    facts: Any  # territory.outreach.site.SiteFacts
    fonts: _Fonts
    measure: _Measure
    lang: str
    paper: str
    date: dt.date
    cards: bool
    contacts: str
    basemap: str
    cache_dir: Path
    coord_sys: str
    zones_m: gpd.GeoSeries
    zones_local: gpd.GeoSeries
    local_crs: Any
    dealer_m: np.ndarray
    dealer_local: np.ndarray
    customers_m: np.ndarray
    customers_lonlat: np.ndarray
    n_sites: int = 1
    tiles_failed: str | None = None
    tiles_drawn: int = 0
    notices: list[str] = field(default_factory=list)
    _districts: gpd.GeoDataFrame | None = None

    @property
    def k(self) -> float:
        """Scale of type and spacing against A4."""
        return PAPERS[self.paper][0] / PAPERS["A4"][0]

    @property
    def zones(self) -> gpd.GeoDataFrame:
        return self.analysis.zones

    def text(self, value: object) -> str:
        clean = self.fonts.clean(value)
        lacking = self.fonts.lacks("" if value is None else str(value))
        if lacking:
            note = t("print.font_lacks", self.lang, chars="".join(sorted(lacking)))
            if note not in self.notices:
                self.notices.append(note)
        return clean

    def districts(self) -> gpd.GeoDataFrame:
        if self._districts is None:
            frame = gpd.GeoDataFrame(
                {"district": self.zones["district"].fillna("").astype(str).to_numpy()},
                geometry=self.zones_m.buffer(0).to_numpy(),
                crs=MAP_CRS,
            )
            districts = frame.dissolve("district").reset_index()
            # Drawn small (locator, overview): detail below ~30 m cannot be seen.
            districts["geometry"] = districts.geometry.simplify(30.0)
            self._districts = districts
        return self._districts

    def page_size(self, landscape: bool) -> tuple[float, float]:
        w, h = PAPERS[self.paper]
        return (h, w) if landscape else (w, h)


def _join(items: Sequence[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


class _Page:
    """A figure of the page size with helpers in points, y measured from the top."""

    def __init__(self, ctx: _Ctx, *, landscape: bool = False) -> None:
        self.ctx = ctx
        self.landscape = landscape
        w_mm, h_mm = ctx.page_size(landscape)
        self.fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4))
        FigureCanvasAgg(self.fig)
        self.W = w_mm * _MM
        self.H = h_mm * _MM
        self.trans = Affine2D().scale(1 / 72.0) + self.fig.dpi_scale_trans
        self.margin = 10 * _MM * ctx.k

    def text(self, x: float, y: float, s: str, *, size: float, **kw: Any):
        kw.setdefault("color", _COLOURS["text"])
        kw.setdefault("va", "top")
        return self.fig.text(
            x,
            self.H - y,
            self.ctx.text(s),
            transform=self.trans,
            fontsize=size,
            family=[self.ctx.fonts.family, _FALLBACK_FAMILY],
            **kw,
        )

    def rect(self, x: float, y: float, w: float, h: float, **kw: Any) -> None:
        kw.setdefault("linewidth", 0.6)
        self.fig.add_artist(Rectangle((x, self.H - y - h), w, h, transform=self.trans, **kw))

    def line(self, x0: float, y0: float, x1: float, y1: float, **kw: Any) -> None:
        kw.setdefault("linewidth", 0.5)
        kw.setdefault("color", _COLOURS["rule"])
        self.fig.add_artist(
            Line2D([x0, x1], [self.H - y0, self.H - y1], transform=self.trans, **kw)
        )

    def axes(self, x: float, y: float, w: float, h: float):
        """An axes at (x, y) from the top-left, size w × h, in points."""
        return self.fig.add_axes((x / self.W, 1 - (y + h) / self.H, w / self.W, h / self.H))


def _footer(page: _Page, ctx: _Ctx, *, number: int, total: int) -> None:
    k = ctx.k
    m = page.margin
    y = page.H - m + 1.5 * k
    page.line(m, y - 3 * k, page.W - m, y - 3 * k, color="#bbbbbb", linewidth=0.4)
    privacy = t(
        "print.contacts_masked" if ctx.contacts == "masked" else "print.contacts_hidden", ctx.lang
    )
    page.text(m, y, f"{ctx.ws.dealer.name} · Territory", size=6 * k, color=_COLOURS["muted"])
    page.text(page.W / 2, y, privacy, size=6 * k, color=_COLOURS["muted"], ha="center")
    page.text(
        page.W - m,
        y,
        t("print.page_of", ctx.lang, n=number, total=total),
        size=6 * k,
        color=_COLOURS["muted"],
        ha="right",
    )


def _title(page: _Page, ctx: _Ctx, title: str, subtitle: str, badge: str | None) -> float:
    """Draw the page title, shrunk or cut to fit beside the badge; return the y below it."""
    k = ctx.k
    m = page.margin
    room = page.W - 2 * m
    if badge:
        room -= ctx.measure.width(badge, 10 * k) + 14 * k
    size = 15 * k
    text = ctx.text(title)
    while size > 11 * k and ctx.measure.width(text, size) > room:
        size -= 0.5 * k
    while len(text) > 1 and ctx.measure.width(text, size) > room:
        text = text[:-2] + "…"
    page.text(m, m + (15 * k - size) / 2, text, size=size, color=_COLOURS["head"])
    sub = ctx.text(subtitle)
    while len(sub) > 1 and ctx.measure.width(sub, 8.5 * k) > page.W - 2 * m:
        sub = sub[:-2] + "…"
    page.text(m, m + 20 * k, sub, size=8.5 * k, color=_COLOURS["muted"])
    if badge:
        page.text(
            page.W - m,
            m + 2 * k,
            badge,
            size=10 * k,
            ha="right",
            color="white",
            bbox={"boxstyle": "round,pad=0.35", "facecolor": _COLOURS["site"], "edgecolor": "none"},
        )
    return m + 34 * k


def _table(
    page: _Page,
    ctx: _Ctx,
    x: float,
    y: float,
    width: float,
    columns: list[str],
    widths: list[float],
    rows: list[list[str]],
    *,
    size: float,
    min_row: float,
    dry: bool = False,
) -> float:
    """A ruled table with wrapped cells; returns the y below it (its height if ``dry``)."""
    k = ctx.k
    total = sum(widths)
    cw = [width * w / total for w in widths]
    pad = 2.5 * k
    lh = size * 1.3

    def row_height(cells: list[str], fsize: float) -> tuple[float, list[list[str]]]:
        wrapped = [
            ctx.measure.wrap(ctx.text(c), w - 2 * pad, fsize)
            for c, w in zip(cells, cw, strict=True)
        ]
        h = max(len(lines) for lines in wrapped) * fsize * 1.3 + 2 * pad
        return max(h, min_row), wrapped

    head_h, head_lines = row_height(columns, size)
    head_h = max(lh + 2 * pad, max(len(lines) for lines in head_lines) * lh + 2 * pad)
    laid = [row_height(r, size) for r in rows]
    if dry:
        return head_h + sum(h for h, _ in laid)
    page.rect(x, y, width, head_h, facecolor=_COLOURS["head"], edgecolor=_COLOURS["head"])
    cx = x
    for lines, w in zip(head_lines, cw, strict=True):
        for j, line in enumerate(lines):
            page.text(cx + pad, y + pad + j * lh, line, size=size, color="white")
        cx += w
    y += head_h
    for h, wrapped in laid:
        cx = x
        for lines, w in zip(wrapped, cw, strict=True):
            page.rect(cx, y, w, h, facecolor="none", edgecolor=_COLOURS["rule"], linewidth=0.5)
            for j, line in enumerate(lines):
                page.text(cx + pad, y + pad + j * lh, line, size=size)
            cx += w
        y += h
    return y


class _Flow:
    """Blocks flowing down two columns, page after page (the plan)."""

    def __init__(self, ctx: _Ctx, site: _Site, pages: list[_Page], *, size: float = 7.6) -> None:
        self.ctx = ctx
        self.site = site
        self.pages = pages
        self.k = ctx.k
        self.size = size * self.k
        self.lh = self.size * 1.38
        self.columns = 2
        self.started = False
        self.page: _Page
        self._new_page()

    def _new_page(self) -> None:
        ctx, site = self.ctx, self.site
        page = _Page(ctx)
        first = not self.started
        self.started = True
        badge = (
            t("print.site_badge", ctx.lang, rank=site.rank, n=ctx.n_sites)
            if ctx.n_sites > 1
            else None
        )
        title = (
            site.plan.title if first else t("print.plan_continued", ctx.lang, title=site.plan.title)
        )
        subtitle = t(
            "print.plan_subtitle",
            ctx.lang,
            name=site.name,
            district=site.district,
            date=ctx.date.isoformat(),
            weekday=weekday_label(ctx.date, ctx.lang),
            slots=_join([s.label(ctx.lang) for s in site.slots], ctx.lang)
            or t("plan.no_slot", ctx.lang),
        )
        self.top = _title(page, ctx, title, subtitle, badge)
        self.bottom = page.H - page.margin - 12 * self.k
        self.gutter = 7 * _MM * self.k
        self.col_w = (page.W - 2 * page.margin - self.gutter * (self.columns - 1)) / self.columns
        self.col = 0
        self.y = self.top
        self.page = page
        self.pages.append(page)

    @property
    def x(self) -> float:
        return self.page.margin + self.col * (self.col_w + self.gutter)

    def need(self, h: float) -> None:
        if self.y + h <= self.bottom or self.y == self.top:
            return
        if self.col + 1 < self.columns:
            self.col += 1
            self.y = self.top
        else:
            self._new_page()

    def header(self, text: str, *, first_h: float) -> None:
        h = self.size * 2.0
        self.need(h + first_h)
        self.page.rect(
            self.x, self.y, self.col_w, h - 2 * self.k, facecolor=_COLOURS["part"], edgecolor="none"
        )
        self.page.text(
            self.x + 3 * self.k,
            self.y + 2.5 * self.k,
            text,
            size=self.size * 1.15,
            color=_COLOURS["head"],
        )
        self.y += h + 1 * self.k

    def rows_height(
        self, rows: list[tuple[str, str]], label_w: float
    ) -> list[tuple[list[str], list[str], float]]:
        out = []
        value_w = self.col_w - label_w - 4 * self.k
        for lab, value in rows:
            ll = self.ctx.measure.wrap(self.ctx.text(lab), label_w, self.size)
            vl = self.ctx.measure.wrap(self.ctx.text(value), value_w, self.size)
            out.append((ll, vl, max(len(ll), len(vl)) * self.lh + 2.2 * self.k))
        return out

    def label_width(self, labels: list[str]) -> float:
        widest = max(
            (self.ctx.measure.width(self.ctx.text(s), self.size) for s in labels), default=0
        )
        return min(self.col_w * 0.3, widest + 3 * self.k)

    def section(self, title: str, rows: list[tuple[str, str]]) -> None:
        label_w = self.label_width([r[0] for r in rows])
        laid = self.rows_height(rows, label_w)
        self.header(title, first_h=laid[0][2] if laid else 0)
        previous = None
        for (lab, _), (ll, vl, h) in zip(rows, laid, strict=True):
            self.need(h)
            repeat = lab == previous and self.y != self.top
            previous = lab
            for j, line in enumerate([] if repeat else ll):
                self.page.text(
                    self.x, self.y + j * self.lh, line, size=self.size, color=_COLOURS["head"]
                )
            for j, line in enumerate(vl):
                self.page.text(
                    self.x + label_w + 4 * self.k, self.y + j * self.lh, line, size=self.size
                )
            self.y += h

    def kpi(
        self,
        title: str,
        rows: list[tuple[str, str]],
        extra: list[tuple[str, str]],
        actual: dict[str, str] | None = None,
    ) -> None:
        """KPI targets with a box for the result: empty, or the recorded outing's (``actual``)."""
        k = self.k
        row_h = self.lh + 4 * k
        head_h = self.lh + 2 * k
        self.header(title, first_h=head_h + row_h)
        label_w = self.col_w * 0.52
        target_w = self.col_w * 0.2
        actual_w = self.col_w - label_w - target_w
        heads = [
            t("print.kpi.item", self.ctx.lang),
            t("print.kpi.target", self.ctx.lang),
            t("print.kpi.actual", self.ctx.lang),
        ]
        self.need(head_h + row_h)
        xs = [self.x, self.x + label_w, self.x + label_w + target_w]
        for xh, text in zip(xs, heads, strict=True):
            self.page.text(xh + 2 * k, self.y, text, size=self.size, color=_COLOURS["muted"])
        self.y += head_h
        for lab, value in rows:
            lines = self.ctx.measure.wrap(self.ctx.text(lab), label_w - 4 * k, self.size)
            h = max(row_h, len(lines) * self.lh + 4 * k)
            self.need(h)
            for xr, wr in ((self.x, label_w), (xs[1], target_w), (xs[2], actual_w)):
                self.page.rect(
                    xr, self.y, wr, h, facecolor="none", edgecolor=_COLOURS["rule"], linewidth=0.5
                )
            for j, line in enumerate(lines):
                self.page.text(self.x + 2 * k, self.y + 2 * k + j * self.lh, line, size=self.size)
            self.page.text(
                xs[1] + target_w - 3 * k,
                self.y + 2 * k,
                value,
                size=self.size * 1.1,
                ha="right",
                color=_COLOURS["head"],
            )
            if actual and actual.get(lab):
                self.page.text(
                    xs[2] + actual_w - 3 * k,
                    self.y + 2 * k,
                    actual[lab],
                    size=self.size * 1.1,
                    ha="right",
                    color=_COLOURS["head"],
                )
            self.y += h
        self.y += 2 * k
        if extra:
            label_w2 = self.label_width([r[0] for r in extra])
            for ll, vl, h in self.rows_height(extra, label_w2):
                self.need(h)
                for j, line in enumerate(ll):
                    self.page.text(
                        self.x, self.y + j * self.lh, line, size=self.size, color=_COLOURS["head"]
                    )
                for j, line in enumerate(vl):
                    self.page.text(
                        self.x + label_w2 + 4 * self.k, self.y + j * self.lh, line, size=self.size
                    )
                self.y += h

    def checklist(self, title: str, items: list[str]) -> None:
        k = self.k
        size = self.size * 1.1
        row_h = size * 1.38 + 3 * k
        box = self.ctx.measure.width("☐ ", size)
        widest = max((self.ctx.measure.width(self.ctx.text(i), size) for i in items), default=0)
        cols = 2 if box + widest <= self.col_w / 2 - 4 * k else 1
        per_col = math.ceil(len(items) / cols)
        self.header(title, first_h=row_h * min(per_col, 3))
        cw = self.col_w / cols
        for r in range(per_col):
            self.need(row_h)
            for c in range(cols):
                i = c * per_col + r
                if i < len(items):
                    self.page.text(self.x + c * cw, self.y, f"☐ {items[i]}", size=size)
            self.y += row_h
        self.y += 2 * k

    def gap(self, h: float) -> None:
        self.y += h


def _plan_rows(section, lang: str) -> list[tuple[str, str]]:
    """A part's rows; a table (publicity) becomes one row per line, "column value; ..."."""
    rows = [(str(a), str(b)) for a, b in section.rows]
    if section.table is not None and len(section.table.columns):
        names = [str(c) for c in section.table.columns]
        sep = "；" if lang == "zh" else "; "
        for record in section.table.itertuples(index=False):
            values = ["" if pd.isna(v) else str(v).strip() for v in record]
            rest = [f"{n} {v}" for n, v in zip(names[1:], values[1:], strict=True) if v]
            rows.append((values[0], sep.join(rest)))
    return rows


#: Type sizes (points on A4) tried for the plan, largest first.
_PLAN_SIZES: tuple[float, ...] = (7.6, 7.2, 6.8)


def _plan_pages(ctx: _Ctx, site: _Site) -> list[_Page]:
    """The plan in two columns; a smaller type when that saves a page."""
    best: list[_Page] | None = None
    for size in _PLAN_SIZES:
        pages = _plan_flow(ctx, site, size)
        if best is None or len(pages) < len(best):
            for page in best or []:
                page.fig.clear()
            best = pages
        else:
            for page in pages:
                page.fig.clear()
        if len(best) == 1:
            break
    assert best is not None
    return best


def _plan_flow(ctx: _Ctx, site: _Site, size: float) -> list[_Page]:
    pages: list[_Page] = []
    flow = _Flow(ctx, site, pages, size=size)
    plan = site.plan
    flow.checklist(t("print.tools", ctx.lang), tool_labels(plan))
    for section in plan.sections:
        title = f"{section.number}. {section.title}"
        rows = _plan_rows(section, ctx.lang)
        if section.key == "kpi":
            rows = [(str(a), str(b)) for a, b in section.rows]  # the target/actual table: below
            numeric = [(a, b) for a, b in rows if b.isdigit()]
            other = [(a, b) for a, b in rows if not b.isdigit()]
            flow.kpi(title, numeric, other + _actual_rows(plan, ctx.lang), _actuals(plan, ctx.lang))
        else:
            flow.section(title, rows)
    return pages


def _actuals(plan, lang: str) -> dict[str, str]:
    """Part 8's actual box per target row, from the recorded outing (empty before ``record``)."""
    a = plan.actual
    if not a:
        return {}
    figures = {
        "new_leads": a["leads"],
        "target_deposits": a["deposits"],
        "target_orders": a["sales"],
    }
    return {t(f"plan.kpi.{key}", lang): str(value) for key, value in figures.items()}


def _actual_rows(plan, lang: str) -> list[tuple[str, str]]:
    """The recorded outing's cost figures, one line under the KPI box."""
    a = plan.actual
    if not a:
        return []
    head = t("plan.kpi.actual_head", lang, days=a["window"]["days"], event=plan.event_id)
    head += t("plan.kpi.actual_as_of", lang, day=a["window"]["as_of"])
    cost = a.get("cost")
    money = (lambda v: f"{v:,.0f} 元") if lang == "zh" else (lambda v: f"CNY {v:,.0f}")
    parts = [
        (t("plan.kpi.row.cost", lang), money(cost) if cost is not None else "—"),
        (t("plan.kpi.row.visits", lang), str(a["visits"])),
        (
            t("plan.kpi.row.cost_per_lead", lang),
            money(cost / a["leads"]) if cost is not None and a["leads"] else "—",
        ),
        (
            t("plan.kpi.row.cost_per_sale", lang),
            money(cost / a["sales"]) if cost is not None and a["sales"] else "—",
        ),
    ]
    sep = "；" if lang == "zh" else "; "
    return [(head, sep.join(f"{k} {v}" for k, v in parts))]


def _invitations(ctx: _Ctx, site: _Site) -> list[list[str]]:
    """Owners to invite, masked (never unmasked): referral targets first, then the nearest.

    Referral targets (seed 003: delivered 1–6 months before the date, peak
    at 3 months) come from the site brief, best prospects first; the list is
    filled up with the owners nearest the spot.
    """
    cust = ctx.ws.customers
    located = cust[cust.geometry.notna()]
    if located.empty:
        return []
    s = ctx.settings
    brief = site.brief
    if brief is not None:
        from pyproj import Transformer

        ax, ay = Transformer.from_crs(4326, ctx.local_crs, always_xy=True).transform(
            brief.spot.lon, brief.spot.lat
        )
    else:
        anchor = ctx.zones_local.iloc[site.row].representative_point()
        ax, ay = anchor.x, anchor.y
    pts = located.geometry.to_crs(ctx.local_crs)
    dist = np.hypot(pts.x.to_numpy() - ax, pts.y.to_numpy() - ay)
    near = np.flatnonzero(dist <= s.ranking.after_sales_km * 1000)
    referral = list(brief.referral.rows) if brief is not None else []
    cap = min(
        s.print.invite_list_max,
        max(int(site.plan.kpi.get("invited_owners", 0)), len(referral), 0),
    )
    position = {int(r): i for i, r in enumerate(cust.index.get_indexer(located.index))}
    first = [position[r] for r in referral if r in position]
    rest = [int(i) for i in near[np.argsort(dist[near], kind="stable")] if int(i) not in set(first)]
    order = (first + rest)[:cap]
    names = dict(zip(ctx.zones["zone_id"], ctx.zones["name"], strict=True))
    in_referral = set(first)
    rows = []
    for n, i in enumerate(order, start=1):
        r = located.iloc[i]
        date = r.get("delivery_date")
        if date is None or pd.isna(date):
            date = r.get("purchase_date")
        when = pd.Timestamp(date).strftime("%Y-%m") if pd.notna(date) else "—"
        if i in in_referral:
            when += " ★"
        rows.append(
            [
                str(n),
                str(mask_name(r.get("name")) if isinstance(r.get("name"), str) else "—"),
                str(mask_phone(r.get("phone")) if isinstance(r.get("phone"), str) else "—"),
                str(r.get("model")) if isinstance(r.get("model"), str) else "—",
                when,
                str(names.get(r.get("zone_id"), "—")),
                f"{dist[i] / 1000:.1f}",
                "",
            ]
        )
    return rows


def _invitation_pages(ctx: _Ctx, site: _Site) -> list[_Page]:
    lang = ctx.lang
    rows = _invitations(ctx, site)
    columns = [
        t("print.invite.no", lang),
        t("print.invite.name", lang),
        t("print.invite.phone", lang),
        t("print.invite.model", lang),
        t("print.invite.delivered", lang),
        t("print.invite.zone", lang),
        t("print.invite.km", lang),
        t("print.invite.result", lang),
    ]
    widths = [0.06, 0.1, 0.16, 0.12, 0.09, 0.16, 0.08, 0.23]
    k = ctx.k
    pages = []
    _, h_mm = ctx.page_size(False)
    usable = h_mm * _MM - 2 * 10 * _MM * k - 34 * k - 40 * k
    row_h = 16 * k
    per_page = max(1, int(usable // row_h) - 1)
    chunks = [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [[]]
    for chunk in chunks:
        page = _Page(ctx)
        m = page.margin
        top = _title(
            page,
            ctx,
            t("print.invite.title", lang, name=site.name),
            t(
                "print.invite.referral_subtitle",
                lang,
                km=ctx.settings.ranking.after_sales_km,
                n=len(rows),
                referral=len(site.brief.referral.rows) if site.brief is not None else 0,
            ),
            t("print.site_badge", lang, rank=site.rank, n=ctx.n_sites) if ctx.n_sites > 1 else None,
        )
        y = _table(
            page, ctx, m, top, page.W - 2 * m, columns, widths, chunk, size=7.5 * k, min_row=row_h
        )
        if not rows:
            page.text(
                m, y + 6 * k, t("print.invite.none", lang), size=8 * k, color=_COLOURS["muted"]
            )
            y += 16 * k
        page.text(m, y + 6 * k, t("print.invite.note", lang), size=6.5 * k, color=_COLOURS["muted"])
        pages.append(page)
    return pages


def _form_page(ctx: _Ctx, site: _Site) -> _Page:
    lang = ctx.lang
    k = ctx.k
    page = _Page(ctx, landscape=True)
    m = page.margin
    top = _title(
        page,
        ctx,
        f"{t('plan.form_name', lang)} · {site.name} · {ctx.date.isoformat()} {weekday_label(ctx.date, lang)}",
        t(
            "print.form_subtitle",
            lang,
            district=site.district,
            format=_join([label(f, FORMATS, lang) for f in site.formats[:1]], lang) or "—",
        ),
        t("print.site_badge", lang, rank=site.rank, n=ctx.n_sites) if ctx.n_sites > 1 else None,
    )
    columns = [t(f"form.{key}", lang) for key in REGISTRATION_COLUMNS]
    widths = [5, 11, 16, 16, 13, 13, 9, 9, 11, 17]
    size = 7.5 * k
    width = page.W - 2 * m
    note_size = 6.5 * k
    note = ctx.measure.wrap(ctx.text(t("form.note", lang)), width, note_size)
    note_h = len(note) * note_size * 1.35 + 6 * k
    head_lines = max(
        len(ctx.measure.wrap(ctx.text(c), width * w / sum(widths) - 5 * k, size))
        for c, w in zip(columns, widths, strict=True)
    )
    head_h = head_lines * size * 1.3 + 5 * k
    bottom = page.H - m - 8 * k
    n = ctx.settings.print.form_rows
    row_h = max(14 * k, (bottom - top - head_h - note_h) / n)
    rows = [[str(i + 1)] + [""] * (len(columns) - 1) for i in range(n)]
    y = _table(page, ctx, m, top, width, columns, widths, rows, size=size, min_row=row_h)
    for j, line in enumerate(note):
        page.text(
            m, y + 4 * k + j * note_size * 1.35, line, size=note_size, color=_COLOURS["muted"]
        )
    return page

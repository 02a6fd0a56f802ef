"""Field maps, the locator and the map-book overview, drawn with matplotlib.

Private helper of :mod:`territory.render.printing` (except :func:`map_geometry`,
which it re-exports). Maps are drawn in Web Mercator so that XYZ tiles can
lie under them; for AMap tiles every vector layer is first shifted to
GCJ-02. Distances and the scale bar are measured in the local UTM
projection (:func:`territory.inputs.coords.local_crs`). Customers appear only as
counts in H3 hexagons, never as points; cards only as counts per zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.transforms import Bbox
from pyproj import Transformer
from shapely.geometry import LineString, Point, box
from shapely.ops import polylabel

from territory.i18n import t
from territory.inputs import coords
from territory.outreach.playbook import weekday_label
from territory.render._printfonts import _FALLBACK_FAMILY
from territory.render._printpages import (
    _COLOURS,
    _MM,
    MAP_CRS,
    _Ctx,
    _halo,
    _join,
    _Page,
    _Site,
    _table,
    _title,
)
from territory.render._tiles import TileError, fetch_mosaic
from territory.vocab import FORMATS, ZONE_TYPES, label

__all__ = ["map_geometry"]

_HEX_STEPS = (3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

_HEX_ALPHA = 0.6
_HEX_ALPHA_ON_TILES = 0.42  # lighter over tiles so streets show through


def map_geometry(geoms: gpd.GeoSeries, *, coord_sys: str = "wgs84") -> gpd.GeoSeries:
    """Project geometries for drawing on a printed map (Web Mercator).

    ``coord_sys="gcj02"`` first shifts every vertex from WGS-84 to GCJ-02,
    the system of AMap tiles, so the layers line up with them (about 250 m
    east and 270 m south in Chengdu).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoSeries([Point(104.0657, 30.6595)], crs=4326)
    >>> a = map_geometry(g).iloc[0]
    >>> b = map_geometry(g, coord_sys="gcj02").iloc[0]
    >>> round(b.x - a.x), round(b.y - a.y)
    (279, -313)
    """
    if coord_sys not in ("wgs84", "gcj02"):
        raise ValueError(f"coord_sys must be wgs84 or gcj02, got {coord_sys!r}")
    g = geoms.to_crs(4326) if geoms.crs is not None and geoms.crs.to_epsg() != 4326 else geoms
    if coord_sys == "gcj02":
        shifted = shapely.transform(g.values, _gcj_xy)
        g = gpd.GeoSeries(shifted, index=g.index, crs=4326)
    return g.to_crs(MAP_CRS)


def _gcj_xy(xy: np.ndarray) -> np.ndarray:
    lon, lat = coords.from_wgs84(xy[:, 0], xy[:, 1], "gcj02")
    return np.column_stack([lon, lat])


_TO_MERC = Transformer.from_crs(4326, 3857, always_xy=True)

_FROM_MERC = Transformer.from_crs(3857, 4326, always_xy=True)


def _points_to_map(lon: np.ndarray, lat: np.ndarray, coord_sys: str) -> np.ndarray:
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if coord_sys == "gcj02" and len(lon):
        lon, lat = coords.from_wgs84(lon, lat, "gcj02")
    x, y = _TO_MERC.transform(lon, lat)
    return np.column_stack([np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")])


def _nice_length(limit_m: float) -> float:
    """The largest 1, 2 or 5 × 10^n metres not above ``limit_m``."""
    exp = math.floor(math.log10(max(limit_m, 1.0)))
    best = 10.0**exp
    for step in (1, 2, 5, 10):
        if step * 10.0**exp <= limit_m:
            best = step * 10.0**exp
    return best


def _ground_per_unit(ctx: _Ctx, extent: tuple[float, float, float, float]) -> float:
    """Metres on the ground per map unit across the middle of ``extent`` (local UTM)."""
    xmin, ymin, xmax, ymax = extent
    yc = (ymin + ymax) / 2
    lon, lat = _FROM_MERC.transform([xmin, xmax], [yc, yc])
    to_local = Transformer.from_crs(4326, ctx.local_crs, always_xy=True)
    x, y = to_local.transform(lon, lat)
    return float(math.hypot(x[1] - x[0], y[1] - y[0]) / (xmax - xmin))


def _scale_bar(ax, ctx: _Ctx, extent, axes_w_pt: float) -> tuple[float, Any]:
    """Draw a scale bar in the lower left; return its length (m) and its artists' bbox owner."""
    k = ctx.k
    xmin, ymin, xmax, _ = extent
    per_unit = _ground_per_unit(ctx, extent)
    ground_w = (xmax - xmin) * per_unit
    length = _nice_length(ground_w * 0.28)
    units = length / per_unit
    pt = (xmax - xmin) / axes_w_pt  # map units per point
    x0 = xmin + 14 * pt * k
    y0 = ymin + 16 * pt * k
    h = 4 * pt * k
    segments = 4 if str(int(length / 10 ** math.floor(math.log10(length))))[0] in "24" else 5
    seg = units / segments
    pad = 6 * pt * k
    unit_km = length >= 1000
    scale = ground_w * 1000 / (axes_w_pt / _MM)  # 1 : scale on paper
    scale = float(f"{scale:.2g}")
    caption = t("print.scale_ratio", ctx.lang, scale=f"{scale:,.0f}".replace(",", " "))
    back = Rectangle(
        (x0 - pad, y0 - pad - 9 * pt * k),
        units + 2 * pad + 16 * pt * k,
        h + 2 * pad + 19 * pt * k,
        facecolor="white",
        edgecolor="#999999",
        linewidth=0.4,
        alpha=0.9,
        zorder=20,
    )
    ax.add_patch(back)
    for i in range(segments):
        ax.add_patch(
            Rectangle(
                (x0 + i * seg, y0),
                seg,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=21,
            )
        )

    def fmt(metres: float) -> str:
        value = metres / 1000 if unit_km else metres
        return f"{value:g}"

    family = [ctx.fonts.family, _FALLBACK_FAMILY]
    leading = int(f"{length:e}"[0])
    for frac in (0.0, 1.0) if leading == 5 else (0.0, 0.5, 1.0):
        label_text = fmt(length * frac)
        if frac == 1.0:
            label_text += " km" if unit_km else " m"
        ax.text(
            x0 + units * frac,
            y0 + h + 1.5 * pt * k,
            label_text,
            ha="center" if frac < 1 else "left",
            va="bottom",
            fontsize=7 * k,
            family=family,
            zorder=22,
        )
    ax.text(
        x0,
        y0 - 2 * pt * k,
        caption,
        ha="left",
        va="top",
        fontsize=5.5 * k,
        color=_COLOURS["muted"],
        family=family,
        zorder=22,
    )
    return length, back


def _north_arrow(ax, ctx: _Ctx, extent, axes_w_pt: float):
    k = ctx.k
    xmin, _, xmax, ymax = extent
    pt = (xmax - xmin) / axes_w_pt
    w = 9 * pt * k
    h = 22 * pt * k
    cx = xmax - 16 * pt * k
    top = ymax - 20 * pt * k
    base = top - h
    back = Rectangle(
        (cx - w - 4 * pt * k, base - 5 * pt * k),
        2 * w + 8 * pt * k,
        h + 19 * pt * k,
        facecolor="white",
        edgecolor="#999999",
        linewidth=0.4,
        alpha=0.9,
        zorder=20,
    )
    ax.add_patch(back)
    notch = base + h * 0.28
    for side, face in ((-w, "black"), (w, "white")):  # the arrow's dark and light halves
        ax.add_patch(
            Polygon(
                [(cx, top), (cx + side, base), (cx, notch)],
                closed=True,
                facecolor=face,
                edgecolor="black",
                linewidth=0.6,
                zorder=21,
            )
        )
    ax.text(
        cx,
        top + 2 * pt * k,
        t("print.north", ctx.lang),
        ha="center",
        va="bottom",
        fontsize=9 * k,
        family=[ctx.fonts.family, _FALLBACK_FAMILY],
        zorder=22,
    )
    return back


def _largest(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(parts, key=lambda g: g.area) if parts else None


def _anchor(geom) -> Point | None:
    """A point well inside ``geom`` (pole of inaccessibility of its largest part)."""
    part = _largest(geom)
    if part is None:
        return None
    size = math.sqrt(max(part.area, 1e-9))
    try:
        return polylabel(part, tolerance=size / 50)
    except Exception:  # pragma: no cover - degenerate rings
        return part.representative_point()


def _hex_resolution(width_m: float, target: float, finest: int) -> int:
    import h3

    best, err = min(8, finest), float("inf")
    for res in range(min(5, finest), finest + 1):
        across = width_m / (math.sqrt(3) * h3.average_hexagon_edge_length(res, unit="m"))
        e = abs(math.log(across / target))
        if e < err:
            best, err = res, e
    return best


def _hex_classes(
    counts: np.ndarray, minimum: int, *, most: int = 5
) -> list[tuple[int, int | None]]:
    """Up to ``most`` classes of hexagon counts with round breaks at the data's quantiles."""
    counts = np.asarray(counts, dtype="float64")
    counts = counts[counts >= minimum]
    if counts.size == 0:
        return [(minimum, None)]
    nice = sorted(
        {minimum} | {m * 10**e for e in range(0, 7) for m in (1, 2, 5) if m * 10**e > minimum}
    )
    breaks = [minimum]
    for q in np.quantile(counts, np.linspace(0, 1, most + 1)[1:-1]):
        snapped = min(nice, key=lambda v: abs(math.log(v / max(q, 1e-9))))
        if snapped > breaks[-1] and snapped <= counts.max():
            breaks.append(int(snapped))
    classes: list[tuple[int, int | None]] = []
    for i, lo in enumerate(breaks):
        hi = breaks[i + 1] - 1 if i + 1 < len(breaks) else None
        classes.append((lo, hi))
    return classes


def _customer_hexes(ctx: _Ctx, extent) -> tuple[gpd.GeoDataFrame, int, float]:
    """Customer counts per H3 cell inside ``extent`` (cells below the minimum dropped)."""
    import h3

    xmin, ymin, xmax, ymax = extent
    xy = ctx.customers_m
    inside = (xy[:, 0] >= xmin) & (xy[:, 0] <= xmax) & (xy[:, 1] >= ymin) & (xy[:, 1] <= ymax)
    width_m = (xmax - xmin) * _ground_per_unit(ctx, extent)
    res = _hex_resolution(
        width_m, ctx.settings.print.hexagons_across, ctx.settings.print.hex_finest_resolution
    )
    area_km2 = float(h3.average_hexagon_area(res, unit="km^2"))
    if not inside.any():
        return gpd.GeoDataFrame({"count": []}, geometry=[], crs=MAP_CRS), res, area_km2
    lonlat = ctx.customers_lonlat[inside]
    cells = pd.Series(
        [h3.latlng_to_cell(lat, lon, res) for lon, lat in lonlat], dtype="object"
    ).value_counts()
    cells = cells[cells >= ctx.settings.print.hex_min_count]
    polys = []
    for cell in cells.index:
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
        polys.append(shapely.Polygon(ring))
    geo = gpd.GeoSeries(polys, crs=4326)
    frame = gpd.GeoDataFrame(
        {"count": cells.to_numpy(dtype="int64")},
        geometry=map_geometry(geo, coord_sys=ctx.coord_sys).to_numpy(),
        crs=MAP_CRS,
    )
    return frame, res, area_km2


def _draw_tiles(ctx: _Ctx, ax, extent, width_in: float) -> bool:
    """Tiles under the map when asked for and available; False (and a notice) if not."""
    if ctx.basemap == "none":
        return False
    if ctx.tiles_failed is not None:
        return False
    ps = ctx.settings.print
    template = ps.amap_url if ctx.basemap == "amap" else ps.osm_url
    try:
        mosaic = fetch_mosaic(
            extent,
            url_template=template,
            pixels=width_in * ps.tile_dpi,
            cache_dir=ctx.cache_dir,
            user_agent=ps.tile_user_agent,
            timeout=ps.tile_timeout_s,
            total_timeout=ps.tile_total_timeout_s,
            max_tiles=ps.tile_max,
            workers=ps.tile_workers,
            cache_days=ps.tile_cache_days,
        )
    except TileError as exc:
        ctx.tiles_failed = str(exc)
        ctx.notices.append(
            t("print.tiles_failed", ctx.lang, provider=_provider(ctx), reason=str(exc))
        )
        return False
    fade = min(max(ps.tile_fade, 0.0), 1.0)
    image = (mosaic.image.astype("float32") * (1 - fade) + 255.0 * fade).astype("uint8")
    ax.imshow(image, extent=mosaic.extent, zorder=0, interpolation="bilinear")
    ctx.tiles_drawn += 1
    return True


def _provider(ctx: _Ctx) -> str:
    return t(f"print.provider.{ctx.basemap}", ctx.lang)


def _map_frame(
    ctx: _Ctx, geoms_m: Sequence, *, include_dealer: bool, margin_share: float
) -> tuple[float, float, float, float]:
    ps = ctx.settings.print
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.asarray(geoms_m, dtype=object))
    size = max(xmax - xmin, ymax - ymin)
    pad = size * margin_share
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    centre_y = (ymin + ymax) / 2
    lat = math.degrees(math.atan(math.sinh(centre_y / 6378137.0)))
    min_units = ps.map_min_km * 1000 / math.cos(math.radians(lat))
    if xmax - xmin < min_units:
        c = (xmin + xmax) / 2
        xmin, xmax = c - min_units / 2, c + min_units / 2
    if ymax - ymin < min_units:
        c = (ymin + ymax) / 2
        ymin, ymax = c - min_units / 2, c + min_units / 2
    if include_dealer:
        dx, dy = ctx.dealer_m
        if not (xmin <= dx <= xmax and ymin <= dy <= ymax):
            w, h = xmax - xmin, ymax - ymin
            pad_d = 0.08 * max(w, h)
            nx0, nx1 = min(xmin, dx - pad_d), max(xmax, dx + pad_d)
            ny0, ny1 = min(ymin, dy - pad_d), max(ymax, dy + pad_d)
            if max((nx1 - nx0) / w, (ny1 - ny0) / h) <= ps.dealer_reach_factor:
                xmin, xmax, ymin, ymax = nx0, nx1, ny0, ny1
    return xmin, ymin, xmax, ymax


def _fit(extent, aspect: float) -> tuple[float, float, float, float]:
    """Grow ``extent`` to width/height ``aspect`` around its centre."""
    xmin, ymin, xmax, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    if w / h < aspect:
        w2 = h * aspect
        c = (xmin + xmax) / 2
        return c - w2 / 2, ymin, c + w2 / 2, ymax
    h2 = w / aspect
    c = (ymin + ymax) / 2
    return xmin, c - h2 / 2, xmax, c + h2 / 2


@dataclass
class _Layout:
    landscape: bool
    map_box: tuple[float, float, float, float]  # x, y (from top), w, h in points
    panel_box: tuple[float, float, float, float]
    top: float
    bottom: float


def _map_layout(ctx: _Ctx, extent, *, panel: bool = True) -> _Layout:
    """Choose the orientation whose map area best fits the extent's aspect."""
    k = ctx.k
    aspect = (extent[2] - extent[0]) / (extent[3] - extent[1])
    best: tuple[float, _Layout] | None = None
    for landscape in (False, True):
        w_mm, h_mm = ctx.page_size(landscape)
        W, H = w_mm * _MM, h_mm * _MM
        m = 10 * _MM * k
        top = m + 34 * k
        bottom = H - m - 20 * k  # footer and attribution
        if landscape and panel:
            pw = 68 * _MM * k
            map_box = (m, top, W - 2 * m - pw - 4 * _MM * k, bottom - top)
            panel_box = (W - m - pw, top, pw, bottom - top)
        elif panel:
            ph = 56 * _MM * k
            map_box = (m, top, W - 2 * m, bottom - top - ph - 3 * _MM * k)
            panel_box = (m, bottom - ph, W - 2 * m, ph)
        else:
            map_box = (m, top, W - 2 * m, bottom - top)
            panel_box = (m, bottom, W - 2 * m, 0)
        fit = abs(math.log((map_box[2] / map_box[3]) / aspect))
        layout = _Layout(landscape, map_box, panel_box, top, bottom)
        if best is None or fit < best[0] - 1e-9:
            best = (fit, layout)
    assert best is not None
    return best[1]


def _zones_in(ctx: _Ctx, extent) -> np.ndarray:
    idx = ctx.zones_m.sindex.query(box(*extent), predicate="intersects")
    return np.sort(idx)


def _first_format(ctx: _Ctx, zone_id: str) -> str | None:
    """A neighbour's first format on the date (None when it has no slot that day)."""
    if not ctx.facts.slots(zone_id, ctx.date):
        return None
    order = ctx.facts.formats(zone_id, ctx.date)
    return order[0] if order else None


class _Labels:
    """Greedy label placement: a label is drawn only where it overlaps no other."""

    def __init__(self, fig: Figure, ax) -> None:
        self.halos: dict[int, Any] = {}
        self.dpi = fig.dpi
        self.renderer = fig.canvas.get_renderer()
        self.area = ax.get_window_extent(self.renderer)
        self.taken: list[Bbox] = []

    def bbox(self, artists) -> Bbox:
        boxes = [a.get_window_extent(self.renderer) for a in artists]
        return Bbox.union(boxes)

    def block(self, artists) -> None:
        self.taken.append(self.bbox(artists).padded(2))

    def fits(self, bb: Bbox) -> bool:
        inner = self.area.padded(-3)
        if not (
            bb.x0 >= inner.x0 and bb.x1 <= inner.x1 and bb.y0 >= inner.y0 and bb.y1 <= inner.y1
        ):
            return False
        return not any(bb.overlaps(o) for o in self.taken)

    def place(self, artists) -> bool:
        bb = self.bbox(artists).padded(2)
        if self.fits(bb):
            self.taken.append(bb)
            return True
        self.remove(artists)
        return False

    def remove(self, artists) -> None:
        """Take labels (and their halos) off the map."""
        for a in artists:
            halo = self.halos.pop(id(a), None)
            if halo is not None:
                halo.remove()
            a.remove()


def _short_name(name: str) -> str:
    for suffix in ("街道办事处", "街道办", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass
class _MapView:
    """One map axes: its extent (EPSG:3857), width in points and label placer."""

    ax: Any
    extent: tuple[float, float, float, float]
    width_pt: float
    labels: _Labels
    family: list[str]

    @property
    def frame(self):
        return box(*self.extent)

    def text(self, ctx: _Ctx, x: float, y: float, s: str, *, halo: float = 0.0, **kw: Any):
        """A label at (x, y); ``halo`` draws a white outline under it (points).

        The outline is a separate path-only copy, so the label itself stays
        real text in the PDF (searchable, copyable).
        """
        kw.setdefault("family", self.family)
        kw.setdefault("xytext", (0, 0))
        text = ctx.text(s)
        if halo:
            under = dict(kw)
            under.pop("bbox", None)
            under.update(
                color="white",
                zorder=kw.get("zorder", 10) - 0.5,
                path_effects=_halo(halo),
            )
            back = self.ax.annotate(text, (x, y), textcoords="offset points", **under)
        art = self.ax.annotate(text, (x, y), textcoords="offset points", **kw)
        if halo:
            self.labels.halos[id(art)] = back
        return art


def _map_axes(page: _Page, ctx: _Ctx, box_pt, extent) -> _MapView:
    mx, my, mw, mh = box_pt
    ax = page.axes(mx, my, mw, mh)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
        spine.set_edgecolor("#333333")
    ax.set_facecolor("white")
    return _MapView(ax, extent, mw, _Labels(page.fig, ax), [ctx.fonts.family, _FALLBACK_FAMILY])


def _reset_view(view: _MapView) -> None:
    """geopandas' plot rescales and labels the axes: put the frame back."""
    ax, extent = view.ax, view.extent
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _field_map(ctx: _Ctx, site: _Site) -> tuple[_Page, dict[str, Any]]:
    """Page 1 of a site: the annotated field map with legend, facts and locator."""
    ps = ctx.settings.print
    site_m = ctx.zones_m.iloc[site.row]
    near = ctx.zones_local.sindex.query(
        ctx.zones_local.iloc[site.row], predicate="dwithin", distance=ps.neighbour_tolerance_m
    )
    neighbours = [int(i) for i in np.sort(near) if int(i) != site.row]

    spot_m = _spot_m(ctx, site)
    extent = _spot_frame(ctx, site_m, spot_m, margin_share=ps.map_margin_share)
    layout = _map_layout(ctx, extent)
    extent = _fit(extent, layout.map_box[2] / layout.map_box[3])
    page = _Page(ctx, landscape=layout.landscape)
    _map_title(ctx, page, site)
    view = _map_axes(page, ctx, layout.map_box, extent)

    tiles = _draw_tiles(ctx, view.ax, extent, layout.map_box[2] / 72.0)
    ramp, hex_info = _draw_layers(ctx, view, site, neighbours, tiles)
    end, km, dealer_in = _draw_dealer(ctx, view, site)
    length = _furniture(ctx, view, tiles)
    qr = _qr_code(ctx, page, view, site)
    _label_site(ctx, view, site, end)
    labelled = _label_neighbours(ctx, view, neighbours)

    _attribution(ctx, page, layout, tiles)
    _panel(ctx, page, layout, site, _legend_entries(ctx, tiles), ramp, km, extent)
    info = {
        "orientation": "landscape" if layout.landscape else "portrait",
        "basemap": ctx.basemap if tiles else None,
        "neighbours": len(neighbours),
        "neighbours_labelled": labelled,
        "map": {
            "crs": MAP_CRS,
            "coord_sys": ctx.coord_sys,
            "extent": [float(v) for v in extent],
            "site_xy": [float(end.x), float(end.y)],
            "spot_xy": [float(spot_m.x), float(spot_m.y)],
            "spot_on_map": bool(
                extent[0] <= spot_m.x <= extent[2] and extent[1] <= spot_m.y <= extent[3]
            ),
            "qr": qr,
            "dealer_xy": [float(v) for v in ctx.dealer_m],
            "dealer_on_map": bool(dealer_in),
            "distance_km": round(km, 2),
            "scale_bar_m": length,
            **hex_info,
        },
    }
    return page, info


def _spot_m(ctx: _Ctx, site: _Site) -> Point:
    """The site's spot in map coordinates (the zone's anchor when there is no brief)."""
    if site.brief is None:
        return _anchor(ctx.zones_m.iloc[site.row]) or ctx.zones_m.iloc[site.row].centroid
    spot = site.brief.spot
    xy = _points_to_map([spot.lon], [spot.lat], ctx.coord_sys)[0]
    return Point(float(xy[0]), float(xy[1]))


def _spot_frame(ctx: _Ctx, site_m, spot_m: Point, *, margin_share: float):
    """The zone with a margin, centred on the spot: the map zooms to where the team sets up."""
    xmin, ymin, xmax, ymax = _map_frame(
        ctx, [site_m], include_dealer=False, margin_share=margin_share
    )
    w, h = xmax - xmin, ymax - ymin
    hw = min(max(w / 2, spot_m.x - xmin, xmax - spot_m.x), w)
    hh = min(max(h / 2, spot_m.y - ymin, ymax - spot_m.y), h)
    return spot_m.x - hw, spot_m.y - hh, spot_m.x + hw, spot_m.y + hh


def _qr_code(ctx: _Ctx, page: _Page, view: _MapView, site: _Site) -> dict[str, Any] | None:
    """The AMap navigation QR code (GCJ-02) in the map's top-right corner, with its caption."""
    if site.brief is None:
        return None
    import segno

    k = ctx.k
    url = site.brief.spot.amap_url()
    qr = segno.make(url, error="m")
    matrix = np.array(list(qr.matrix_iter(border=4)), dtype=float)
    bb = view.ax.get_position()
    size = 30 * _MM * k
    x0 = bb.x1 * page.W - size - 3 * k
    y0 = (1 - bb.y1) * page.H + 3 * k
    caption_h = 9 * k
    page.rect(
        x0 - 2 * k,
        y0 - 2 * k,
        size + 4 * k,
        size + caption_h + 4 * k,
        facecolor="white",
        edgecolor="#999999",
        linewidth=0.4,
        zorder=30,
    )
    ax = page.axes(x0, y0, size, size)
    ax.set_zorder(31)
    ax.imshow(1 - matrix, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    page.text(
        x0 + size / 2,
        y0 + size + 1 * k,
        t("print.qr_caption", ctx.lang),
        size=6.5 * k,
        ha="center",
        color=_COLOURS["site"],
        zorder=32,
    )
    corner = (x0 - 2 * k, y0 - 2 * k, size + 4 * k, size + caption_h + 4 * k)
    # Labels keep clear of the code.
    view.labels.taken.append(
        Bbox.from_extents(
            corner[0] * page.fig.dpi / 72.0,
            (page.H - corner[1] - corner[3]) * page.fig.dpi / 72.0,
            (corner[0] + corner[2]) * page.fig.dpi / 72.0,
            (page.H - corner[1]) * page.fig.dpi / 72.0,
        )
    )
    return {"url": url, "version": int(qr.version), "box_pt": [float(v) for v in corner]}


def _map_title(ctx: _Ctx, page: _Page, site: _Site) -> None:
    lang = ctx.lang
    badge = t("print.site_badge", lang, rank=site.rank, n=ctx.n_sites) if ctx.n_sites > 1 else None
    slots = [s.label(lang) for s in site.slots] or [t("plan.no_slot", lang)]
    subtitle = t(
        "print.map_subtitle",
        lang,
        date=ctx.date.isoformat(),
        weekday=weekday_label(ctx.date, lang),
        type=label(site.zone_type, ZONE_TYPES, lang),
        format=label(site.formats[0], FORMATS, lang) if site.formats else "—",
        slots=_join(slots, lang),
    )
    title = t("print.map_title", lang, name=site.name, district=site.district)
    _title(page, ctx, title, subtitle, badge)


def _draw_layers(ctx: _Ctx, view: _MapView, site: _Site, neighbours: list[int], tiles: bool):
    """Zones, the site, customer hexagons; returns the hexagon classes and figures."""
    ps = ctx.settings.print
    ax = view.ax
    site_m = ctx.zones_m.iloc[site.row]
    others = ctx.zones_m.iloc[_zones_in(ctx, view.extent)]
    if not tiles:
        others.plot(ax=ax, facecolor=_COLOURS["zone_fill"], edgecolor="none", zorder=1)
    gpd.GeoSeries([site_m], crs=MAP_CRS).plot(
        ax=ax,
        facecolor=_COLOURS["site_fill"],
        edgecolor="none",
        alpha=0.6 if tiles else 0.9,
        zorder=2,
    )
    hexes, res, hex_km2 = _customer_hexes(ctx, view.extent)
    counts = hexes["count"].to_numpy()
    classes = _hex_classes(counts, ps.hex_min_count)
    cmap = matplotlib.colormaps["Purples"]
    colours = [cmap(0.2 + 0.6 * i / max(1, len(classes) - 1)) for i in range(len(classes))]
    if len(hexes):
        cls = np.zeros(len(hexes), dtype=int)
        for i, (lo, _hi) in enumerate(classes):
            cls[counts >= lo] = i
        hexes.plot(
            ax=ax,
            color=[colours[c] for c in cls],
            edgecolor="white",
            linewidth=0.25,
            alpha=_HEX_ALPHA_ON_TILES if tiles else _HEX_ALPHA,
            zorder=3,
        )
    others.plot(ax=ax, facecolor="none", edgecolor=_COLOURS["zone"], linewidth=0.45, zorder=4)
    if neighbours:
        ctx.zones_m.iloc[neighbours].plot(
            ax=ax, facecolor="none", edgecolor=_COLOURS["neighbour"], linewidth=0.9, zorder=5
        )
    gpd.GeoSeries([site_m], crs=MAP_CRS).plot(
        ax=ax, facecolor="none", edgecolor=_COLOURS["site"], linewidth=2.4, zorder=6
    )
    _reset_view(view)
    info = {
        "hex_resolution": res,
        "hexagons": len(hexes),
        "customers_shown": int(counts.sum()) if len(counts) else 0,
    }
    return (classes, colours, hex_km2, _HEX_ALPHA_ON_TILES if tiles else _HEX_ALPHA), info


def _draw_dealer(ctx: _Ctx, view: _MapView, site: _Site):
    """The dealer, the straight line to the site and its length; returns (end, km, on map)."""
    k = ctx.k
    ax, extent = view.ax, view.extent
    site_m = ctx.zones_m.iloc[site.row]
    end = _spot_m(ctx, site)
    if not view.frame.contains(end):
        end = _anchor(site_m.intersection(view.frame)) or site_m.representative_point()
    end_lonlat = _FROM_MERC.transform(end.x, end.y)
    if ctx.coord_sys == "gcj02":
        end_lonlat = coords.to_wgs84(end_lonlat[0], end_lonlat[1], "gcj02")
    ex, ey = Transformer.from_crs(4326, ctx.local_crs, always_xy=True).transform(*end_lonlat)
    km = math.hypot(ex - ctx.dealer_local[0], ey - ctx.dealer_local[1]) / 1000
    dx, dy = ctx.dealer_m
    dealer_in = extent[0] <= dx <= extent[2] and extent[1] <= dy <= extent[3]
    line = LineString([(dx, dy), (end.x, end.y)])
    visible = line.intersection(view.frame.buffer(-(extent[2] - extent[0]) * 0.01))
    if not visible.is_empty:
        vx, vy = visible.xy
        ax.plot(vx, vy, color=_COLOURS["dealer"], linewidth=1.6, linestyle=(0, (5, 3)), zorder=7)
    ax.plot(
        [end.x],
        [end.y],
        marker="v",
        markersize=11 * k,
        color=_COLOURS["site"],
        markeredgecolor="white",
        markeredgewidth=1.2,
        zorder=9,
    )
    west = dx < (extent[0] + extent[2]) / 2
    if dealer_in:
        ax.plot(
            [dx],
            [dy],
            marker="*",
            markersize=17 * k,
            color=_COLOURS["dealer"],
            markeredgecolor="white",
            markeredgewidth=1.0,
            zorder=10,
        )
        art = view.text(
            ctx,
            dx,
            dy,
            t("print.dealer_short", ctx.lang),
            xytext=(9 * k, 0) if west else (-9 * k, 0),
            ha="left" if west else "right",
            va="center",
            fontsize=9 * k,
            color=_COLOURS["dealer"],
            zorder=11,
            halo=3,
        )
        view.labels.block([art])
    elif not visible.is_empty:
        # The dealer is off the map: an arrow at the edge points to it.
        x_edge, y_edge = visible.coords[0]
        ax.annotate(
            "",
            xy=(x_edge, y_edge),
            xytext=(x_edge + (end.x - x_edge) * 0.08, y_edge + (end.y - y_edge) * 0.08),
            arrowprops={"arrowstyle": "-|>", "color": _COLOURS["dealer"], "lw": 1.6},
            zorder=10,
        )
        left = x_edge < (extent[0] + extent[2]) / 2
        low = y_edge < (extent[1] + extent[3]) / 2
        art = view.text(
            ctx,
            x_edge,
            y_edge,
            t("print.dealer_direction", ctx.lang, km=km),
            xytext=(4 * k if left else -4 * k, 4 * k if low else -4 * k),
            ha="left" if left else "right",
            va="bottom" if low else "top",
            fontsize=8 * k,
            color=_COLOURS["dealer"],
            zorder=11,
            halo=3,
        )
        view.labels.block([art])
    if not visible.is_empty and km > 0:
        mid = visible.interpolate(0.5, normalized=True)
        art = view.text(
            ctx,
            mid.x,
            mid.y,
            t("print.distance", ctx.lang, km=km),
            xytext=(0, 0),
            ha="center",
            va="center",
            fontsize=8 * k,
            color=_COLOURS["dealer"],
            zorder=11,
            bbox={
                "boxstyle": "round,pad=0.25",
                "facecolor": "white",
                "edgecolor": _COLOURS["dealer"],
                "linewidth": 0.6,
            },
        )
        view.labels.block([art])
    return end, km, dealer_in


def _furniture(ctx: _Ctx, view: _MapView, tiles: bool) -> float:
    """Scale bar, north arrow and the no-tiles note; labels keep clear of them."""
    k = ctx.k
    extent = view.extent
    length, bar = _scale_bar(view.ax, ctx, extent, view.width_pt)
    arrow = _north_arrow(view.ax, ctx, extent, view.width_pt)
    labels = view.labels
    labels.taken.append(bar.get_window_extent(labels.renderer).padded(2))
    labels.taken.append(arrow.get_window_extent(labels.renderer).padded(2))
    if ctx.basemap != "none" and not tiles:
        note = view.ax.text(
            extent[0] + (extent[2] - extent[0]) * 0.015,
            extent[3] - (extent[3] - extent[1]) * 0.015,
            ctx.text(t("print.tiles_note", ctx.lang, provider=_provider(ctx))),
            ha="left",
            va="top",
            fontsize=7 * k,
            color=_COLOURS["note"],
            family=view.family,
            zorder=22,
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "#fff7ed",
                "edgecolor": _COLOURS["note"],
                "linewidth": 0.6,
            },
        )
        labels.block([note])
    return length


def _label_site(ctx: _Ctx, view: _MapView, site: _Site, end) -> None:
    """The site's name, big, above its marker; always drawn."""
    k = ctx.k
    type_label = label(site.zone_type, ZONE_TYPES, ctx.lang)
    common = {"ha": "center", "color": _COLOURS["site"], "zorder": 12}
    pieces = [
        view.text(
            ctx,
            end.x,
            end.y,
            site.name,
            xytext=(0, 6 * k),
            va="bottom",
            fontsize=13 * k,
            halo=3.5,
            **common,
        ),
        view.text(
            ctx,
            end.x,
            end.y,
            t("print.site_label", ctx.lang, type=type_label),
            xytext=(0, -8 * k),
            va="top",
            fontsize=7.5 * k,
            halo=3,
            **common,
        ),
    ]
    if site.brief is not None:
        spot = site.brief.spot
        pieces.append(
            view.text(
                ctx,
                end.x,
                end.y,
                t("print.spot_label", ctx.lang, spot=spot.label(ctx.lang)),
                xytext=(0, -18 * k),
                va="top",
                fontsize=7.5 * k,
                halo=3,
                **common,
            )
        )
    if ctx.cards:
        z = ctx.zones.iloc[site.row]
        pieces.append(
            view.text(
                ctx,
                end.x,
                end.y,
                t("print.cards_line", ctx.lang, a=int(z["a_cards"]), d=int(z["deposit_cards"])),
                xytext=(0, -16 * k),
                ha="center",
                va="top",
                fontsize=7 * k,
                color=_COLOURS["cards"],
                zorder=12,
                halo=3,
            )
        )
    view.labels.block(pieces)


def _neighbour_details(ctx: _Ctx, z) -> str:
    fmt = _first_format(ctx, str(z["zone_id"]))
    zt = label(z["zone_type"], ZONE_TYPES, ctx.lang)
    detail = (
        f"{zt} · {label(fmt, FORMATS, ctx.lang)}"
        if fmt
        else f"{zt} · {t('print.no_slot_short', ctx.lang)}"
    )
    if ctx.cards:
        cards = t("print.cards_line", ctx.lang, a=int(z["a_cards"]), d=int(z["deposit_cards"]))
        detail += "\n" + cards
    return detail


def _label_neighbours(ctx: _Ctx, view: _MapView, neighbours: list[int]) -> int:
    """Label neighbours, biggest visible part first: full, then name only, then short name.

    A label is skipped when it would overlap another or be much wider than
    the zone's visible part. Returns how many were labelled.
    """
    k = ctx.k
    per_unit_pt = view.width_pt / (view.extent[2] - view.extent[0])
    candidates = []
    for i in neighbours:
        part = ctx.zones_m.iloc[i].intersection(view.frame)
        if not part.is_empty:
            candidates.append((part.area, i, part))
    candidates.sort(key=lambda c: -c[0])
    labelled = 0
    for _, i, part in candidates:
        z = ctx.zones.iloc[i]
        anchor = _anchor(part)
        if anchor is None:
            continue
        minx, miny, maxx, maxy = part.bounds
        width_pt = (maxx - minx) * per_unit_pt
        spots = [anchor]
        for fx, fy in ((0, 0.18), (0, -0.18), (0.18, 0), (-0.18, 0)):
            p = Point(anchor.x + fx * (maxx - minx), anchor.y + fy * (maxy - miny))
            if part.contains(p):
                spots.append(p)
        detail = _neighbour_details(ctx, z)
        done = False
        for variant, widest in (("full", 1.3), ("name", 1.8), ("short", 1.8)):
            full = z["name"] if isinstance(z["name"], str) and z["name"].strip() else z["zone_id"]
            name = _short_name(str(full)) if variant == "short" else str(full)
            for spot in spots:
                arts = [
                    view.text(
                        ctx,
                        spot.x,
                        spot.y,
                        name,
                        xytext=(0, 1),
                        ha="center",
                        va="bottom",
                        fontsize=8 * k,
                        color=_COLOURS["neighbour"],
                        zorder=12,
                        halo=2.5,
                    )
                ]
                if variant == "full":
                    arts.append(
                        view.text(
                            ctx,
                            spot.x,
                            spot.y,
                            detail,
                            xytext=(0, -1),
                            ha="center",
                            va="top",
                            fontsize=6.3 * k,
                            color=_COLOURS["muted"],
                            zorder=12,
                            halo=2.5,
                            linespacing=1.15,
                        )
                    )
                bb = view.labels.bbox(arts)
                if bb.width * 72.0 / view.labels.dpi > width_pt * widest:
                    view.labels.remove(arts)
                    continue
                if view.labels.place(arts):
                    done = True
                    labelled += 1
                    break
            if done:
                break
    return labelled


def _attribution(ctx: _Ctx, page: _Page, layout: _Layout, tiles: bool) -> None:
    k = ctx.k
    sources = ctx.settings.print.zone_sources.strip() or t(
        "print.attribution_sources_unknown", ctx.lang
    )
    text = t("print.attribution", ctx.lang, sources=sources)
    if ctx.ws.has_synthetic_data:
        text += t("print.attribution_demo", ctx.lang)
    if tiles:
        text += " " + t(f"print.tiles_attribution.{ctx.basemap}", ctx.lang)
    size = 5.5 * k
    width = page.W - 2 * page.margin
    for j, line in enumerate(ctx.measure.wrap(ctx.text(text), width, size)[:2]):
        page.text(
            page.margin,
            layout.bottom + 4 * k + j * size * 1.3,
            line,
            size=size,
            color=_COLOURS["muted"],
        )


def _legend_entries(ctx: _Ctx, tiles: bool) -> list[dict[str, Any]]:
    lang = ctx.lang
    entries: list[dict[str, Any]] = [
        {
            "kind": "patch",
            "face": _COLOURS["site_fill"],
            "edge": _COLOURS["site"],
            "lw": 2.0,
            "text": t("print.legend.site", lang),
        },
        {
            "kind": "patch",
            "face": "none",
            "edge": _COLOURS["neighbour"],
            "lw": 0.9,
            "text": t("print.legend.neighbour", lang),
        },
        {
            "kind": "patch",
            "face": "none" if tiles else _COLOURS["zone_fill"],
            "edge": _COLOURS["zone"],
            "lw": 0.5,
            "text": t("print.legend.zone", lang),
        },
        {"kind": "spot", "text": t("print.legend.spot", lang)},
        {"kind": "star", "text": t("print.legend.dealer", lang, name=ctx.ws.dealer.name)},
        {"kind": "line", "text": t("print.legend.line", lang)},
    ]
    if ctx.cards:
        entries.append({"kind": "cards", "text": t("print.legend.cards", lang)})
    return entries


def _legend(ctx: _Ctx, page: _Page, box_pt, entries, ramp) -> float:
    """Draw the legend in ``box_pt`` (x, y, w, h in points); return the y below it."""
    k = ctx.k
    x, y, w, _h = box_pt
    size = 6.8 * k
    lh = size * 1.3
    sym_w = 15 * k
    gap = 4 * k
    page.text(x, y, t("print.legend.title", ctx.lang), size=8 * k, color=_COLOURS["head"])
    y += 13 * k
    for entry in entries:
        lines = ctx.measure.wrap(ctx.text(entry["text"]), w - sym_w - gap, size)
        cy = page.H - (y + lh / 2)
        kind = entry["kind"]
        if kind == "patch":
            page.rect(
                x + 1 * k,
                y + 0.5 * k,
                sym_w - 2 * k,
                lh - 1 * k,
                facecolor=entry["face"],
                edgecolor=entry["edge"],
                linewidth=entry["lw"],
            )
        elif kind == "spot":
            page.fig.add_artist(
                Line2D(
                    [x + sym_w / 2],
                    [cy],
                    marker="v",
                    markersize=7 * k,
                    color=_COLOURS["site"],
                    markeredgecolor="white",
                    transform=page.trans,
                )
            )
        elif kind == "star":
            page.fig.add_artist(
                Line2D(
                    [x + sym_w / 2],
                    [cy],
                    marker="*",
                    markersize=10 * k,
                    color=_COLOURS["dealer"],
                    transform=page.trans,
                )
            )
        elif kind == "line":
            page.fig.add_artist(
                Line2D(
                    [x, x + sym_w],
                    [cy, cy],
                    color=_COLOURS["dealer"],
                    linewidth=1.6,
                    linestyle=(0, (4, 2)),
                    transform=page.trans,
                )
            )
        elif kind == "cards":
            page.text(
                x, y, t("print.legend.cards_symbol", ctx.lang), size=size, color=_COLOURS["cards"]
            )
        for j, line in enumerate(lines):
            page.text(x + sym_w + gap, y + j * lh, line, size=size)
        y += len(lines) * lh + 2.5 * k
    classes, colours, hex_km2, alpha = ramp
    y += 2 * k
    head = t("print.legend.hex_title", ctx.lang)
    note = t("print.legend.hex_note", ctx.lang, km2=hex_km2, n=ctx.settings.print.hex_min_count)
    for line in ctx.measure.wrap(ctx.text(head), w, size):
        page.text(x, y, line, size=size)
        y += lh
    sw = min(24 * k, w / max(1, len(classes)))
    for i, ((lo, hi), colour) in enumerate(zip(classes, colours, strict=True)):
        page.rect(
            x + i * sw,
            y + 1 * k,
            sw,
            7 * k,
            facecolor=colour,
            edgecolor="white",
            linewidth=0.5,
            alpha=alpha,
        )
        text = f"{lo}–{hi}" if hi is not None and hi > lo else (f"{lo}" if hi == lo else f"≥{lo}")
        page.text(x + i * sw + sw / 2, y + 9.5 * k, text, size=6 * k, ha="center")
    y += 19 * k
    for line in ctx.measure.wrap(ctx.text(note), w, 6 * k):
        page.text(x, y, line, size=6 * k, color=_COLOURS["muted"])
        y += 6 * k * 1.3
    return y


def _panel(
    ctx: _Ctx, page: _Page, layout: _Layout, site: _Site, entries, ramp, km: float, extent
) -> None:
    k = ctx.k
    px, py, pw, ph = layout.panel_box
    gap = 5 * _MM * k
    if layout.landscape:
        loc_h = min(pw * 0.9, ph * 0.36)
        _locator(ctx, page, (px, py, pw, loc_h), site, extent)
        y = _legend(ctx, page, (px, py + loc_h + gap, pw, ph), entries, ramp)
        _facts(ctx, page, (px, y + gap, pw, py + ph - y - gap), site, km)
    else:
        loc_w = min(ph * 1.0, pw * 0.27)
        col_w = (pw - loc_w - 2 * gap) / 2
        _legend(ctx, page, (px, py, col_w, ph), entries, ramp)
        _facts(ctx, page, (px + col_w + gap, py, col_w, ph), site, km)
        _locator(ctx, page, (px + pw - loc_w, py, loc_w, ph), site, extent)


def _facts(ctx: _Ctx, page: _Page, box_pt, site: _Site, km: float) -> None:
    k = ctx.k
    fx, fy, fw, fh = box_pt
    z = ctx.zones.iloc[site.row]
    lang = ctx.lang
    kpi = site.plan.kpi
    facts = [
        (
            t("print.fact.people", lang),
            t(
                "print.fact.people_text",
                lang,
                people=int(z["population"]),
                density=float(z["density"]),
            ),
        ),
        (
            t("print.fact.income", lang),
            t(
                "print.fact.income_text",
                lang,
                income=float(z["income"]),
                r=float(z["r_value"]),
                model=ctx.analysis.model,
            ),
        ),
        (t("print.fact.owners", lang), t("print.fact.owners_text", lang, n=int(z["owners"]))),
        (t("print.fact.distance", lang), t("print.fact.distance_text", lang, km=km)),
        (
            t("print.fact.formats", lang),
            _join([label(f, FORMATS, lang) for f in site.formats], lang) or "—",
        ),
        (
            t("print.fact.slots", lang),
            _join([s.label(lang) for s in site.slots], lang) or t("plan.no_slot", lang),
        ),
        (
            t("print.fact.kpi", lang),
            t(
                "print.fact.kpi_text",
                lang,
                leads=kpi["new_leads"],
                cards=kpi["new_cards"],
                orders=kpi["target_orders"],
            ),
        ),
    ]
    brief = site.brief
    if brief is not None:
        glon, glat = brief.spot.gcj02()
        e = brief.economics
        # The spot right after the distance; costs, referral and model fit after the KPI targets
        # (the panel drops what does not fit from the end).
        extra = [
            (
                t("print.fact.spot", lang),
                t(
                    "print.fact.spot_text",
                    lang,
                    spot=brief.spot.label(lang),
                    lon=glon,
                    lat=glat,
                ),
            ),
            (
                t("print.fact.economics", lang),
                t(
                    "print.fact.economics_text",
                    lang,
                    cpl="—" if not math.isfinite(e.cost_per_lead) else f"{e.cost_per_lead:,.0f}",
                    cps="—" if not math.isfinite(e.cost_per_sale) else f"{e.cost_per_sale:,.0f}",
                ),
            ),
            (
                t("print.fact.referral", lang),
                t(
                    "print.fact.referral_text",
                    lang,
                    n=brief.referral.count,
                    peak=brief.referral.peak,
                    km=brief.referral.radius_km,
                ),
            ),
            (t("print.fact.model", lang), brief.model_fit.text(lang)),
        ]
        facts[4:4] = extra[:1]
        facts += extra[1:]
        if brief.consultant:  # whose territory the site is in (territory split): first
            facts.insert(0, (t("plan.bg.consultant", lang), brief.consultant))
    if ctx.cards:
        facts.append(
            (
                t("print.fact.cards", lang),
                t("print.cards_line", lang, a=int(z["a_cards"]), d=int(z["deposit_cards"])),
            )
        )
    size = 6.8 * k
    lh = size * 1.3
    page.text(fx, fy, t("print.fact.title", lang), size=8 * k, color=_COLOURS["head"])
    y = fy + 13 * k
    label_w = min(fw * 0.4, max(ctx.measure.width(ctx.text(a), size) for a, _ in facts) + 5 * k)
    for head, value in facts:
        lines = ctx.measure.wrap(ctx.text(value), fw - label_w, size)
        if y + lh * len(lines) > fy + fh:
            break
        page.text(fx, y, head, size=size, color=_COLOURS["muted"])
        for j, line in enumerate(lines):
            page.text(fx + label_w, y + j * lh, line, size=size)
        y += lh * len(lines) + 2 * k


def _locator(ctx: _Ctx, page: _Page, box_pt, site: _Site, extent) -> None:
    ax, circle, loc_extent = locator_axes(ctx, page, box_pt, [box(*extent)])
    districts = ctx.districts()
    districts.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#9a9a9a", linewidth=0.35, zorder=1)
    gpd.GeoSeries([ctx.zones_m.iloc[site.row]], crs=MAP_CRS).plot(
        ax=ax, facecolor=_COLOURS["site"], edgecolor=_COLOURS["site"], linewidth=0.5, zorder=3
    )
    ax.add_patch(
        Rectangle(
            (extent[0], extent[1]),
            extent[2] - extent[0],
            extent[3] - extent[1],
            facecolor="none",
            edgecolor="black",
            linewidth=0.8,
            zorder=4,
        )
    )
    finish_locator(ctx, ax, circle, loc_extent, circle_zorder=2, star_size=9)


def locator_axes(ctx: _Ctx, page: _Page, box_pt, geoms) -> tuple:
    """A locator inset's title and empty axes: ``(ax, influence circle, extent)``, the extent
    showing the dealer's influence circle and ``geoms`` (Web Mercator) with a margin."""
    k = ctx.k
    ox, oy, ow, oh = box_pt
    title_h = 11 * k
    page.text(
        ox,
        oy,
        t("print.locator", ctx.lang, km=ctx.settings.influence.radius_km),
        size=7 * k,
        color=_COLOURS["head"],
    )
    ax = page.axes(ox, oy + title_h, ow, oh - title_h)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_edgecolor("#777777")
    circle = _influence_circle(ctx)
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.asarray([circle, *geoms], dtype=object))
    pad = 0.04 * max(xmax - xmin, ymax - ymin)
    loc_extent = _fit((xmin - pad, ymin - pad, xmax + pad, ymax + pad), ow / (oh - title_h))
    return ax, circle, loc_extent


def finish_locator(ctx: _Ctx, ax, circle, loc_extent, *, circle_zorder: int, star_size: float):
    """Draw the influence circle (dashed) and the dealer's star, and fix the locator's extent."""
    gpd.GeoSeries([circle], crs=MAP_CRS).plot(
        ax=ax,
        facecolor="none",
        edgecolor=_COLOURS["dealer"],
        linewidth=0.7,
        linestyle="--",
        zorder=circle_zorder,
    )
    ax.plot(
        [ctx.dealer_m[0]],
        [ctx.dealer_m[1]],
        marker="*",
        markersize=star_size * ctx.k,
        color=_COLOURS["dealer"],
        markeredgecolor="white",
        markeredgewidth=0.6,
        zorder=5,
    )
    ax.set_xlim(loc_extent[0], loc_extent[2])
    ax.set_ylim(loc_extent[1], loc_extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("")
    ax.set_ylabel("")


def _influence_circle(ctx: _Ctx):
    radius = ctx.settings.influence.radius_km * 1000
    circle_local = Point(*ctx.dealer_local).buffer(radius, quad_segs=32)
    g = gpd.GeoSeries([circle_local], crs=ctx.local_crs).to_crs(4326)
    return map_geometry(g, coord_sys=ctx.coord_sys).iloc[0]


def _cover(ctx: _Ctx, sites: list[_Site], first_pages: list[int]) -> _Page:
    k = ctx.k
    lang = ctx.lang
    page = _Page(ctx, landscape=False)
    m = page.margin
    top = _title(
        page,
        ctx,
        t(
            "print.cover_title",
            lang,
            date=ctx.date.isoformat(),
            weekday=weekday_label(ctx.date, lang),
        ),
        t(
            "print.cover_subtitle",
            lang,
            dealer=ctx.ws.dealer.name,
            n=len(sites),
            model=ctx.analysis.model,
        ),
        None,
    )
    # The table of sites, measured first: the map takes the rest of the page.
    columns = [
        t("print.cover.rank", lang),
        t("print.cover.name", lang),
        t("print.cover.district", lang),
        t("print.cover.date", lang),
        t("print.cover.formats", lang),
        t("print.cover.slots", lang),
        t("print.cover.leads", lang),
        t("print.cover.page", lang),
    ]
    widths = [0.05, 0.15, 0.09, 0.13, 0.22, 0.22, 0.07, 0.07]
    rows = [
        [
            str(s.rank),
            s.name,
            s.district,
            f"{ctx.date.isoformat()} {weekday_label(ctx.date, lang)}",
            _join([label(f, FORMATS, lang) for f in s.formats], lang),
            _join([sl.label(lang) for sl in s.slots], lang) or t("plan.no_slot", lang),
            f"{s.expected_leads:.0f}",
            str(p),
        ]
        for s, p in zip(sites, first_pages, strict=True)
    ]
    mw = page.W - 2 * m
    table_kw = {"size": 7.5 * k, "min_row": 16 * k}
    table_h = _table(page, ctx, 0, 0, mw, columns, widths, rows, dry=True, **table_kw)
    bottom = page.H - m - 20 * k
    mh = max(bottom - top - table_h - 24 * k, (bottom - top) * 0.4)
    geoms = [ctx.zones_m.iloc[s.row] for s in sites] + [Point(*ctx.dealer_m)]
    extent = _fit(_map_frame(ctx, geoms, include_dealer=False, margin_share=0.1), mw / mh)
    view = _map_axes(page, ctx, (m, top, mw, mh), extent)
    ax = view.ax
    tiles = _draw_tiles(ctx, ax, extent, mw / 72.0)
    in_frame = _zones_in(ctx, extent)
    ctx.zones_m.iloc[in_frame].plot(
        ax=ax,
        facecolor="none" if tiles else _COLOURS["zone_fill"],
        edgecolor="#d0d0d0",
        linewidth=0.3,
        zorder=1,
    )
    districts = ctx.districts()
    districts.plot(ax=ax, facecolor="none", edgecolor=_COLOURS["district"], linewidth=0.8, zorder=2)
    gpd.GeoSeries([_influence_circle(ctx)], crs=MAP_CRS).plot(
        ax=ax,
        facecolor="none",
        edgecolor=_COLOURS["dealer"],
        linewidth=1.0,
        linestyle="--",
        zorder=3,
    )
    for s in sites:
        gpd.GeoSeries([ctx.zones_m.iloc[s.row]], crs=MAP_CRS).plot(
            ax=ax,
            facecolor=_COLOURS["site_fill"],
            edgecolor=_COLOURS["site"],
            linewidth=1.4,
            zorder=4,
        )
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    _reset_view(view)
    family = view.family
    labels = view.labels
    _, bar = _scale_bar(ax, ctx, extent, mw)
    arrow = _north_arrow(ax, ctx, extent, mw)
    labels.taken.append(bar.get_window_extent(labels.renderer).padded(2))
    labels.taken.append(arrow.get_window_extent(labels.renderer).padded(2))
    dx, dy = ctx.dealer_m
    ax.plot(
        [dx],
        [dy],
        marker="*",
        markersize=16 * k,
        color=_COLOURS["dealer"],
        markeredgecolor="white",
        zorder=10,
    )
    labels.block(
        [
            view.text(
                ctx,
                dx,
                dy,
                t("print.dealer_short", lang),
                xytext=(9 * k, 0),
                va="center",
                fontsize=9 * k,
                color=_COLOURS["dealer"],
                zorder=11,
                halo=3,
            )
        ]
    )
    anchors = [_anchor(ctx.zones_m.iloc[s.row]) for s in sites]
    for s, a in zip(sites, anchors, strict=True):
        labels.block(
            [
                ax.text(
                    a.x,
                    a.y,
                    str(s.rank),
                    ha="center",
                    va="center",
                    fontsize=9 * k,
                    color="white",
                    family=family,
                    zorder=12,
                    bbox={
                        "boxstyle": "circle,pad=0.3",
                        "facecolor": _COLOURS["site"],
                        "edgecolor": "white",
                    },
                )
            ]
        )
    for s, a in zip(sites, anchors, strict=True):
        for offset, ha, va in (
            ((11 * k, 0), "left", "center"),
            ((-11 * k, 0), "right", "center"),
            ((0, 11 * k), "center", "bottom"),
            ((0, -11 * k), "center", "top"),
        ):
            art = view.text(
                ctx,
                a.x,
                a.y,
                s.name,
                xytext=offset,
                ha=ha,
                va=va,
                fontsize=8.5 * k,
                color=_COLOURS["site"],
                zorder=12,
                halo=3,
            )
            if labels.place([art]):
                break
    frame_box = box(*extent)
    for name, geom in zip(districts["district"], districts.geometry, strict=True):
        part = geom.intersection(frame_box)
        if not name or part.is_empty or part.area < frame_box.area * 0.01:
            continue
        a = _anchor(part)
        if a is None:
            continue
        art = view.text(
            ctx,
            a.x,
            a.y,
            name,
            ha="center",
            va="center",
            fontsize=7.5 * k,
            color=_COLOURS["district"],
            zorder=9,
            halo=2.5,
        )
        labels.place([art])
    page.text(
        m,
        top + mh + 3 * k,
        t("print.cover_legend", lang, km=ctx.settings.influence.radius_km),
        size=6.5 * k,
        color=_COLOURS["muted"],
    )
    _table(page, ctx, m, top + mh + 16 * k, mw, columns, widths, rows, **table_kw)
    layout = _Layout(False, (m, top, mw, mh), (m, bottom, mw, 0), top, bottom)
    _attribution(ctx, page, layout, tiles)
    return page

"""Fast, exact point-to-zone lookup.

Every customer, card and POI point is assigned to the zone (polygon) it falls
in. :class:`ZoneIndex` does that at tens of millions of points a second and
gives exactly the answer shapely gives:

* a point belongs to zone ``i`` when ``shapely.covers(zones[i], point)`` is
  true, i.e. the point lies in the interior **or on the boundary** of the zone;
* when several zones cover a point (on an edge or vertex shared by
  neighbours, or where zones overlap) the **lowest** positional index wins;
* a point covered by no zone, or with a NaN/infinite coordinate, gets ``-1``.

This equals ``geopandas.sjoin(points, zones, predicate="intersects")``
followed by the minimum zone position per point (``predicate="within"``
differs: it leaves out points on zone boundaries).

How it works
------------
The zones' bounding box is cut into a regular grid of square cells (the cell
size follows the size of the small zones, see
:class:`~territory.settings.LoadSettings`). At build time, with numpy only:

1. every distinct polygon edge is traced through the grid with a tiny safety
   margin; the cells it touches are *boundary* cells, all others are
   *interior* cells (no zone edge comes near them);
2. a scanline fill at the cell centres (one signed event per edge crossing,
   a cumulative sum along the rows, no sorting) tells which zone covers each
   centre; an interior cell is covered all over by exactly the zones that
   cover its centre, so it stores the lowest of them (or -1). Where two zones
   overlap, a second fill with squared weights tells both apart; deeper
   overlaps, and centres within rounding distance of an edge, are asked of
   GEOS (an STRtree query per such centre: fine for a few, slow if most of the
   map is covered three deep);
3. a boundary cell crossed by a single edge stores the edge and the zone on
   either side of it; a cell with several edges (near a vertex) stores the
   sorted list of zones that may cover some of it.

A lookup maps each point to its cell with two multiplications. Interior
cells answer at once. In a single-edge cell an orientation test with a
rigorous floating-point error bound (Shewchuk's filter) puts the point on one
side of the edge; only points within rounding distance of the edge, and
points in cells near vertices, are decided by GEOS itself
(:func:`shapely.intersects_xy` on prepared zones, which for a point is the
same predicate as ``covers``), in ascending zone order, so ties go to the
lowest index; in a cell that zones cover all over (no edge in it borders
uncovered ground) a point that misses all candidates but the last is in the
last, unchecked. Everything is vectorised; there is no Python loop over points
or zones.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> from territory.inputs.zone_index import ZoneIndex
>>> index = ZoneIndex([box(0, 0, 1, 1), box(1, 0, 2, 1)])
>>> index.lookup(np.array([0.5, 1.0, 1.5, 3.0, np.nan]), np.array([0.5, 0.5, 0.5, 0.5, 0.5]))
array([ 0,  0,  1, -1, -1], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.settings import Settings

__all__ = ["ZoneIndex", "assign_points"]

_BIG = np.iinfo(np.int32).max
#: Shewchuk's ``ccwerrboundA`` is (3 + 16 eps) eps = 3.3e-16; 1e-15 leaves a margin.
_ORIENT_ERR = 1e-15
#: Margin (in cells) around each cell within which an edge makes it a boundary cell. It
#: covers rounding in the point-to-cell mapping, which is many orders smaller.
_MARGIN_CELLS = 1e-6
#: A scanline crossing this close (in cells) to a cell centre makes the centre's cover
#: uncertain; such centres are checked with GEOS.
_CENTRE_TOL = 1e-7
#: Hard ceiling on the number of cells, whatever the resolution asked for.
_MAX_CELLS_HARD = 1 << 27
_COUNT_SHIFT = 32
#: Points looked up at a time.
_CHUNK = 1 << 20


class ZoneIndex:
    """Exact point-to-zone lookup on a raster with an exact check near edges.

    Parameters
    ----------
    polygons : sequence of shapely (Multi)Polygons, GeoSeries or GeoDataFrame
        The zones, in any CRS; lookups must use the same CRS. The position of a
        zone in this sequence is its index. ``None`` and empty geometries are
        allowed and never match.
    resolution : float, optional
        Cell size in CRS units. By default it is chosen from the zone sizes:
        ``settings.load.zone_index_cell_share`` times the square root of the
        area of the zone at quantile ``settings.load.zone_index_area_quantile``,
        enlarged if the grid would exceed ``settings.load.zone_index_max_cells``.
    settings : Settings, optional
        Settings to read the defaults above from; ``Settings()`` if omitted.

    Notes
    -----
    Semantics: :meth:`lookup` returns, for each point, the lowest ``i`` such
    that ``shapely.covers(polygons[i], point)`` (interior or boundary), or -1
    if no zone covers it or a coordinate is NaN. Ties on shared edges and
    vertices and overlaps all go to the lowest index.

    Raises
    ------
    ValueError
        If a geometry is not a Polygon/MultiPolygon, or is invalid (repair it
        first, e.g. with ``shapely.make_valid``), or ``resolution`` is not a
        positive number or gives too many cells.

    Examples
    --------
    >>> from shapely import box
    >>> index = ZoneIndex([box(0, 0, 2, 2), box(2, 0, 4, 2)])
    >>> index.lookup([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).tolist()
    [0, 0, 1]
    """

    def __init__(
        self,
        polygons: Sequence[Any] | gpd.GeoSeries | gpd.GeoDataFrame,
        *,
        resolution: float | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = settings if settings is not None else Settings()
        geoms = _as_geometry_array(polygons)
        _check_polygons(geoms)
        self._n = len(geoms)
        self._geoms = geoms
        self._empty = False
        self._build(resolution, settings)

    @classmethod
    def build(
        cls,
        polygons: Sequence[Any] | gpd.GeoSeries | gpd.GeoDataFrame,
        *,
        resolution: float | None = None,
        settings: Settings | None = None,
    ) -> ZoneIndex:
        """Build an index; same as ``ZoneIndex(polygons, ...)``."""
        return cls(polygons, resolution=resolution, settings=settings)

    # ------------------------------------------------------------------ info
    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return (
            f"ZoneIndex({self._n} zones, {self._nx}x{self._ny} cells of {self.resolution:g}, "
            f"{self._n_single} single-edge and {self._n_multi} multi-edge boundary cells)"
        )

    @property
    def resolution(self) -> float:
        """Cell size in CRS units."""
        return self._h

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(rows, columns)``."""
        return (self._ny, self._nx)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (the prepared GEOS zones not included)."""
        arrays = (
            self._grid,
            self._s_g,
            self._s_left,
            self._s_right,
            self._gx0,
            self._gy0,
            self._gx1,
            self._gy1,
            self._m_ptr,
            self._m_cand,
            self._m_covered,
        )
        return int(sum(a.nbytes for a in arrays))

    def stats(self) -> dict[str, float]:
        """Return figures about the grid (cells, boundary cells, memory) for reports."""
        cells = self._nx * self._ny
        return {
            "zones": self._n,
            "resolution": self._h,
            "cells": cells,
            "single_edge_cells": self._n_single,
            "multi_edge_cells": self._n_multi,
            "boundary_share": (self._n_single + self._n_multi) / max(cells, 1),
            "nbytes": self.nbytes,
        }

    # ----------------------------------------------------------------- build
    def _build(self, resolution: float | None, settings: Settings) -> None:
        seg = _segments(self._geoms)
        nonempty = ~(shapely.is_missing(self._geoms) | shapely.is_empty(self._geoms))
        if len(seg.poly) == 0:
            self._empty_grid()
            return
        xmin, ymin = seg.xy_min
        xmax, ymax = seg.xy_max
        h = _cell_size(
            self._geoms[nonempty], xmax - xmin, ymax - ymin, resolution, settings=settings
        )
        # Two cells of padding: the outer ring of cells is never near a zone (see lookup).
        x0, y0 = xmin - 2 * h, ymin - 2 * h
        s = 1.0 / h
        nx = int(np.floor((xmax - x0) * s)) + 3
        ny = int(np.floor((ymax - y0) * s)) + 3
        if nx * ny > _MAX_CELLS_HARD:
            raise ValueError(
                f"resolution {h:g} gives {nx}x{ny} cells, more than {_MAX_CELLS_HARD}; "
                "use a larger resolution"
            )
        self._h, self._x0, self._y0, self._s, self._nx, self._ny = h, x0, y0, s, nx, ny
        ncells = nx * ny
        # Margin: a fixed share of a cell, or more if the coordinates are so large that
        # rounding of the point-to-cell mapping gets near it.
        magnitude = max(abs(xmin), abs(xmax), abs(ymin), abs(ymax), abs(x0), abs(y0))
        delta = max(_MARGIN_CELLS, 1e4 * np.finfo(float).eps * (magnitude * s + nx + ny))
        if delta > 1e-2:
            raise ValueError(
                f"resolution {h:g} is too fine for coordinates of magnitude {magnitude:g}"
            )

        # Distinct geometric edges ("gsegs"), in grid units.
        gu0 = (seg.gx0 - x0) * s
        gv0 = (seg.gy0 - y0) * s
        gu1 = (seg.gx1 - x0) * s
        gv1 = (seg.gy1 - y0) * s

        # 1. Boundary cells: every cell an edge passes within `delta` of.
        pcell, pg = _trace(gu0, gv0, gu1, gv1, nx, ny, delta)

        # Boundary classification: first gseg seen in each cell, -2 where there are several.
        first = np.full(ncells, -1, dtype=np.int32)
        first[pcell] = pg
        first[pcell[pg != first[pcell]]] = -2
        bcell = np.flatnonzero(first != -1)
        bfirst = first[bcell]

        # 2. Scanline fill of cell centres: the sum over covering zones of (zone + 1) in the
        #    low 32 bits, and their count in the high bits.
        #    Zone edges on the same distinct edge are filled together: their weights are
        #    summed, signed by the side their zone lies on (half the crossings).
        fill_args = (gu0, gv0, gu1, gv1, np.ones(len(gu0), dtype=bool), nx, ny)
        one = seg.poly.astype(np.int64) + 1
        gstart = seg.gm_ptr[:-1]

        def per_gseg(weight: np.ndarray) -> np.ndarray:
            return np.add.reduceat(np.where(seg.left, weight, -weight), gstart)

        centre, uncertain = _fill(*fill_args, per_gseg(one + (1 << _COUNT_SHIFT)), tol=_CENTRE_TOL)
        grid = centre.astype(np.int32)  # keeps the low 32 bits
        grid -= 1
        bcount = centre[bcell] >> _COUNT_SHIFT
        bq = grid[bcell]  # the zone covering the centre when bcount == 1
        # Centres covered by two zones (overlaps): the sums of (zone + 1) and of its square
        # give both zones. Deeper overlaps, impossible counts (not for valid zones) and
        # centres a rounding error away from an edge are asked of GEOS.
        # One pass: as unsigned, negative (impossible) sums count as deep overlaps too.
        many = np.flatnonzero(centre.view(np.uint64) >= np.uint64(2 << _COUNT_SHIFT))
        many_sum = centre[many]
        del centre
        is_two = (many_sum >= (2 << _COUNT_SHIFT)) & (many_sum < (3 << _COUNT_SHIFT))
        is_two[np.isin(many, uncertain)] = False
        two_cells = many[is_two]
        s1 = many_sum[is_two] - (2 << _COUNT_SHIFT)
        ask = [many[~is_two], uncertain]
        # Cells whose centre's zones are listed in (pair_cell, pair_zone).
        explicit = np.zeros(ncells, dtype=bool)
        pair_cell = [np.empty(0, np.int64)]
        pair_zone = [np.empty(0, np.int64)]
        if two_cells.size:
            squares, _ = _fill(*fill_args, per_gseg(one * one), tol=_CENTRE_TOL)
            s2 = squares[two_cells]
            del squares
            d = np.rint(np.sqrt(np.maximum(2 * s2 - s1 * s1, 0))).astype(np.int64)
            a, b = (s1 - d) // 2, (s1 + d) // 2  # a <= b
            ok = (a >= 1) & (a + b == s1) & (a * a + b * b == s2)
            good = two_cells[ok]
            grid[good] = (a[ok] - 1).astype(np.int32)
            explicit[good] = True
            pair_cell += [good, good]
            pair_zone += [a[ok] - 1, b[ok] - 1]
            ask.append(two_cells[~ok])
        ask_cells = _sorted_unique(np.concatenate(ask))
        if ask_cells.size:
            ci, zi = _centre_covers(self._geoms, ask_cells, nx, x0, y0, h)
            lowest = np.full(ask_cells.size, _BIG, dtype=np.int64)
            np.minimum.at(lowest, ci, zi)
            lowest[lowest == _BIG] = -1
            grid[ask_cells] = lowest.astype(np.int32)
            explicit[ask_cells] = True
            pair_cell.append(ask_cells[ci])
            pair_zone.append(zi)
        pair_cell = np.concatenate(pair_cell)
        pair_zone = np.concatenate(pair_zone)
        bdoubt = explicit[bcell]
        del explicit

        # Single-edge cells: one gseg, at most two zones on it, centre cover known.
        single = bfirst >= 0
        gsafe = np.where(single, bfirst, 0)
        single &= seg.gcount[gsafe] <= 2
        single &= ~bdoubt
        sc = bcell[single]
        sg = bfirst[single]
        q = np.where(bcount[single] == 1, bq[single], -1)
        on_edge = (q == seg.gpoly_min[sg]) | (q == seg.gpoly_max[sg])
        full = np.where((q >= 0) & ~on_edge, q, _BIG)
        left = np.minimum(seg.gleft[sg], full)
        right = np.minimum(seg.gright[sg], full)
        left[left == _BIG] = -1
        right[right == _BIG] = -1

        # Multi-edge cells: candidate lists (zones on any edge in the cell, zones covering
        # the centre), sorted ascending.
        mc = bcell[~single]
        nm = len(mc)
        rank = first  # reuse: cell -> rank among multi cells, -1 elsewhere
        rank[:] = -1
        rank[mc] = np.arange(nm, dtype=np.int32)
        keep = rank[pcell] >= 0
        cr = rank[pcell[keep]]
        cg = pg[keep]
        cnt = seg.gm_ptr[cg + 1] - seg.gm_ptr[cg]
        cr_rep, offs = _expand(np.zeros(len(cg), np.int64), cnt)
        cz = seg.gm_poly[seg.gm_ptr[cg][cr_rep] + offs]
        cells_r = [cr[cr_rep].astype(np.int64)]
        zones_r = [cz.astype(np.int64)]
        mq = np.where(bcount[~single] == 1, bq[~single], -1)
        has_q = (mq >= 0) & ~bdoubt[~single]
        cells_r.append(np.flatnonzero(has_q).astype(np.int64))
        zones_r.append(mq[has_q].astype(np.int64))
        # A multi cell is covered all over when its centre is covered and every edge in it
        # has a zone on both sides (the uncovered part of a cell is bounded by edges with
        # no zone on one side): then a point missing all candidates but the last is in
        # the last, and the lookup skips that exact check.
        m_covered = has_q.copy()
        if pair_cell.size:
            er = rank[pair_cell]
            ok = er >= 0
            cells_r.append(er[ok].astype(np.int64))
            zones_r.append(pair_zone[ok].astype(np.int64))
            m_covered[er[ok]] = True
        open_edge = (seg.gleft[cg] == _BIG) | (seg.gright[cg] == _BIG)
        m_covered[cr[open_edge]] = False
        nz = max(self._n, 1)
        key = np.concatenate(cells_r) * nz + np.concatenate(zones_r)
        if (nm + 1) * nz < _BIG:
            key = key.astype(np.int32)  # sorts faster
        key = _sorted_unique(key)
        mrow = key // nz
        self._m_cand = (key % nz).astype(np.int32)
        self._m_ptr = np.searchsorted(mrow, np.arange(nm + 1)).astype(np.int64)
        self._m_covered = m_covered
        del rank, first

        ns = len(sc)
        grid[sc] = -2 - np.arange(ns, dtype=np.int32)
        grid[mc] = -2 - ns - np.arange(nm, dtype=np.int32)
        self._grid = grid
        self._n_single, self._n_multi = ns, nm
        self._s_g = sg.astype(np.int32)
        self._s_left = left.astype(np.int32)
        self._s_right = right.astype(np.int32)
        self._gx0, self._gy0, self._gx1, self._gy1 = seg.gx0, seg.gy0, seg.gx1, seg.gy1
        shapely.prepare(self._geoms)

    def _empty_grid(self) -> None:
        self._h, self._x0, self._y0, self._s, self._nx, self._ny = 1.0, 0.0, 0.0, 1.0, 1, 1
        self._grid = np.full(1, -1, dtype=np.int32)
        self._n_single = self._n_multi = 0
        empty_i = np.empty(0, np.int32)
        empty_f = np.empty(0, np.float64)
        self._s_g, self._s_left, self._s_right = empty_i, empty_i, empty_i
        self._gx0 = self._gy0 = self._gx1 = self._gy1 = empty_f
        self._m_ptr = np.zeros(1, np.int64)
        self._m_cand = empty_i
        self._m_covered = np.empty(0, bool)
        self._empty = True

    # ---------------------------------------------------------------- lookup
    def lookup(self, x: Any, y: Any) -> np.ndarray:
        """Return the index of the zone covering each point ``(x, y)``.

        Parameters
        ----------
        x, y : array_like of float
            Point coordinates in the zones' CRS; any broadcastable shapes.

        Returns
        -------
        numpy.ndarray of int32
            Lowest index of a zone that covers the point (interior or boundary),
            -1 where no zone does or a coordinate is NaN; shape of ``x`` and ``y``
            broadcast together.

        Examples
        --------
        >>> from shapely import box
        >>> ZoneIndex([box(0, 0, 1, 1)]).lookup([0.5, 1.0, 2.0], [0.5, 1.0, 2.0]).tolist()
        [0, 0, -1]
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, y.shape)
        xf = np.ascontiguousarray(np.broadcast_to(x, shape)).ravel()
        yf = np.ascontiguousarray(np.broadcast_to(y, shape)).ravel()
        if xf.size <= _CHUNK:
            return self._lookup_flat(xf, yf).reshape(shape)
        out = np.empty(xf.size, dtype=np.int32)
        for i in range(0, xf.size, _CHUNK):  # bounds the temporaries (about 30 bytes a point)
            out[i : i + _CHUNK] = self._lookup_flat(xf[i : i + _CHUNK], yf[i : i + _CHUNK])
        return out.reshape(shape)

    def _lookup_flat(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        n = x.size
        if n == 0 or self._empty:
            return np.full(n, -1, dtype=np.int32)
        # Points outside the grid, infinite or NaN (fmax/fmin drop NaN) land on the outer
        # ring of cells, which is two cells away from every zone and holds -1.
        u = x - self._x0
        u *= self._s
        np.fmax(u, 0.0, out=u)
        np.fmin(u, self._nx - 1, out=u)
        v = y - self._y0
        v *= self._s
        np.fmax(v, 0.0, out=v)
        np.fmin(v, self._ny - 1, out=v)
        cell = v.astype(np.int64)
        cell *= self._nx
        cell += u.astype(np.int64)
        del u, v
        out = self._grid.take(cell)
        del cell
        b = np.flatnonzero(out < -1)
        if b.size:
            self._resolve(x, y, out, b)
        return out

    def _resolve(self, x: np.ndarray, y: np.ndarray, out: np.ndarray, b: np.ndarray) -> None:
        k = -2 - out[b]
        is_single = k < self._n_single
        # Single-edge cells: filtered orientation test, GEOS only within rounding distance.
        bs = b[is_single]
        if bs.size:
            ks = k[is_single]
            g = self._s_g.take(ks)
            ax = self._gx0.take(g)
            ay = self._gy0.take(g)
            px = x.take(bs)
            py = y.take(bs)
            dl = self._gx1.take(g)
            dl -= ax
            py -= ay
            dl *= py
            dr = self._gy1.take(g)
            dr -= ay
            px -= ax
            dr *= px
            det = dl - dr
            np.abs(dl, out=dl)
            np.abs(dr, out=dr)
            dl += dr
            dl *= _ORIENT_ERR
            left = self._s_left.take(ks)
            right = self._s_right.take(ks)
            res = np.where(det > 0, left, right)
            amb = np.flatnonzero((np.abs(det) <= dl) & (left != right))
            if amb.size:
                la, ra = left[amb], right[amb]
                lo = np.minimum(la, ra)
                hi = np.maximum(la, ra)
                first = np.where(lo < 0, hi, lo)
                other = np.where(lo < 0, -1, hi)
                pts = bs[amb]
                hit = shapely.intersects_xy(self._geoms[first], x[pts], y[pts])
                res[amb] = np.where(hit, first, other)
            out[bs] = res
        # Multi-edge cells: candidates in ascending order, first covering one wins.
        bm = b[~is_single]
        if bm.size:
            km = k[~is_single] - self._n_single
            start = self._m_ptr.take(km)
            stop = self._m_ptr.take(km + 1)
            # In a covered cell the last candidate is implied once the others miss.
            covered = self._m_covered.take(km)
            stop -= covered
            res = np.where(covered, self._m_cand.take(stop, mode="clip"), -1).astype(np.int32)
            active = np.flatnonzero(start < stop)
            while active.size:
                cand = self._m_cand[start[active]]
                pts = bm[active]
                hit = shapely.intersects_xy(self._geoms[cand], x[pts], y[pts])
                res[active[hit]] = cand[hit]
                miss = active[~hit]
                start[miss] += 1
                active = miss[start[miss] < stop[miss]]
            out[bm] = res


def assign_points(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    resolution: float | None = None,
    settings: Settings | None = None,
) -> pd.Series:
    """Return the positional index of the zone covering each point.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries of Points
        Missing or empty geometries get -1.
    zones : GeoDataFrame or GeoSeries of (Multi)Polygons
        In the same CRS as ``points``.
    resolution, settings
        Passed to :class:`ZoneIndex`.

    Returns
    -------
    pandas.Series of int32 named ``"zone_position"``
        Aligned to ``points.index``: the lowest position in ``zones`` of a zone
        that covers the point (interior or boundary), -1 if none does.

    Raises
    ------
    ValueError
        If the CRSs differ or a point geometry is not a Point.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> zones = gpd.GeoSeries([box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=3857)
    >>> points = gpd.GeoSeries([Point(0.5, 0.5), Point(1, 0.5), None], index=[7, 8, 9], crs=3857)
    >>> assign_points(points, zones).tolist()
    [0, 0, -1]
    """
    if points.crs != zones.crs:
        raise ValueError(
            f"points CRS {points.crs} differs from zones CRS {zones.crs}; "
            "use to_crs() to bring them together first"
        )
    geoms = np.asarray(points.geometry.values, dtype=object)
    # One pass over the points: coordinates of the non-empty ones with their position.
    coords, where = shapely.get_coordinates(geoms, return_index=True)
    if where.size > 1 and (where[1:] == where[:-1]).any():
        raise ValueError(
            "points must be Point geometries; use .centroid or .representative_point() "
            "for other shapes"
        )
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[where] = coords[:, 0]
    y[where] = coords[:, 1]
    index = ZoneIndex(zones, resolution=resolution, settings=settings)
    return pd.Series(index.lookup(x, y), index=points.index, name="zone_position")


# ---------------------------------------------------------------------- helpers
def _as_geometry_array(polygons: Any) -> np.ndarray:
    if isinstance(polygons, gpd.GeoDataFrame):
        polygons = polygons.geometry
    if isinstance(polygons, gpd.GeoSeries):
        arr = np.array(polygons.values, dtype=object)
    else:
        arr = np.empty(len(polygons), dtype=object)
        arr[:] = list(polygons)
    # New geometry objects, so that preparing them leaves the caller's untouched (force_2d
    # copies, and is three times faster than a WKB round trip; the lookup is planar anyway).
    present = ~shapely.is_missing(arr)
    if present.any():
        arr[present] = shapely.force_2d(arr[present])
    return arr


def _check_polygons(geoms: np.ndarray) -> None:
    present = ~shapely.is_missing(geoms)
    kinds = shapely.get_type_id(geoms)
    allowed = (kinds == shapely.GeometryType.POLYGON) | (kinds == shapely.GeometryType.MULTIPOLYGON)
    wrong = np.flatnonzero(present & ~allowed & ~shapely.is_empty(geoms))
    if wrong.size:
        raise ValueError(f"zones must be Polygon or MultiPolygon; positions {_few(wrong)} are not")
    invalid = np.flatnonzero(present & ~shapely.is_valid(geoms))
    if invalid.size:
        raise ValueError(
            f"zones at positions {_few(invalid)} are invalid polygons; "
            "repair them first, e.g. with shapely.make_valid"
        )


def _few(positions: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(p)) for p in positions[:limit])
    return shown + (f" and {len(positions) - limit} more" if len(positions) > limit else "")


class _Segments:
    """Polygon edges: one row per (zone, ring edge), grouped into distinct geometric edges."""

    poly: np.ndarray  # zone of each edge
    left: np.ndarray  # zone interior lies left of the canonical direction
    gseg: np.ndarray  # distinct geometric edge of each edge
    gx0: np.ndarray  # canonical endpoints of each distinct edge (x0, y0) < (x1, y1)
    gy0: np.ndarray
    gx1: np.ndarray
    gy1: np.ndarray
    gcount: np.ndarray  # number of zone edges on each distinct edge
    gleft: np.ndarray  # lowest zone with interior on the left (_BIG if none)
    gright: np.ndarray
    gpoly_min: np.ndarray
    gpoly_max: np.ndarray
    gm_ptr: np.ndarray  # CSR: zones on each distinct edge
    gm_poly: np.ndarray
    xy_min: tuple[float, float]
    xy_max: tuple[float, float]


def _segments(geoms: np.ndarray) -> _Segments:
    seg = _Segments()
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    is_hole = np.zeros(len(rings), dtype=bool)
    is_hole[1:] = ring_part[1:] == ring_part[:-1]
    ring_left = shapely.is_ccw(rings) != is_hole
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    k = np.flatnonzero(ring_of[1:] == ring_of[:-1])
    x0, y0 = coords[k, 0], coords[k, 1]
    x1, y1 = coords[k + 1, 0], coords[k + 1, 1]
    r = ring_of[k]
    keep = (x0 != x1) | (y0 != y1)
    x0, y0, x1, y1, r = x0[keep], y0[keep], x1[keep], y1[keep], r[keep]
    poly = part_of[ring_part[r]].astype(np.int32)
    left = ring_left[r]
    swap = (x0 > x1) | ((x0 == x1) & (y0 > y1))
    x0, x1 = np.where(swap, x1, x0), np.where(swap, x0, x1)
    y0, y1 = np.where(swap, y1, y0), np.where(swap, y0, y1)
    left = left != swap
    # Group identical edges by sorting a hash of the endpoints' bits. A hash collision can
    # only split a group (equal edges no longer adjacent), which makes cells multi-edge:
    # slower, still exact.
    order = np.argsort(_edge_hash(x0, y0, x1, y1))
    x0, y0, x1, y1, poly, left = (a[order] for a in (x0, y0, x1, y1, poly, left))
    m = len(poly)
    new = np.ones(m, dtype=bool)
    if m:
        new[1:] = (x0[1:] != x0[:-1]) | (y0[1:] != y0[:-1]) | (x1[1:] != x1[:-1])
        new[1:] |= y1[1:] != y1[:-1]
    gseg = np.cumsum(new) - 1
    ng = int(new.sum())
    seg.poly, seg.left, seg.gseg = poly, left, gseg
    seg.gx0, seg.gy0, seg.gx1, seg.gy1 = x0[new], y0[new], x1[new], y1[new]
    seg.gcount = np.bincount(gseg, minlength=ng)
    seg.gleft = np.full(ng, _BIG, dtype=np.int32)
    seg.gright = np.full(ng, _BIG, dtype=np.int32)
    np.minimum.at(seg.gleft, gseg[left], poly[left])
    np.minimum.at(seg.gright, gseg[~left], poly[~left])
    starts = np.flatnonzero(new)
    seg.gpoly_min = np.minimum.reduceat(poly, starts) if m else poly
    seg.gpoly_max = np.maximum.reduceat(poly, starts) if m else poly
    seg.gm_ptr = np.r_[starts, m].astype(np.int64)
    seg.gm_poly = poly
    if m:
        seg.xy_min = (float(coords[:, 0].min()), float(coords[:, 1].min()))
        seg.xy_max = (float(coords[:, 0].max()), float(coords[:, 1].max()))
    return seg


def _edge_hash(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """A 64-bit mix of the coordinates' bits; equal edges (``-0.0 == 0.0``) hash alike."""
    mult = np.uint64(0x9E3779B97F4A7C15)
    shift = np.uint64(29)
    h = (x0 + 0.0).view(np.uint64) * mult
    for c in (y0, x1, y1):
        h ^= (c + 0.0).view(np.uint64)
        h *= mult
        h ^= h >> shift
    return h


def _cell_size(
    geoms: np.ndarray, width: float, height: float, resolution: float | None, *, settings: Settings
) -> float:
    if resolution is not None:
        if not (np.isfinite(resolution) and resolution > 0):
            raise ValueError(f"resolution must be a positive number, got {resolution!r}")
        return float(resolution)
    load = settings.load
    areas = shapely.area(geoms)
    areas = areas[areas > 0]
    extent = max(width, height)
    h = 0.0
    if areas.size:
        small = float(np.quantile(areas, load.zone_index_area_quantile))
        h = load.zone_index_cell_share * float(np.sqrt(small))
    if not (np.isfinite(h) and h > 0):
        h = extent / 64 if extent > 0 else 1.0
    # Grid of (width / h + 5) x (height / h + 5) cells at most max_cells.
    while (width / h + 5) * (height / h + 5) > load.zone_index_max_cells:
        h *= 1.05
    return h


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` without its overhead on this numpy)."""
    values = np.sort(values)
    if values.size:
        values = values[np.r_[True, values[1:] != values[:-1]]]
    return values


def _expand(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repeat item i count[i] times; return (item, start[item] + 0..count[i]-1)."""
    count = np.asarray(count, dtype=np.int64)
    total = int(count.sum())
    item = np.repeat(np.arange(len(count), dtype=np.int64), count)
    ends = np.cumsum(count)
    offs = np.arange(total, dtype=np.int64) - np.repeat(ends - count, count)
    return item, start[item] + offs


def _trace(
    u0: np.ndarray, v0: np.ndarray, u1: np.ndarray, v1: np.ndarray, nx: int, ny: int, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cells (flat ids) each segment passes within ``delta`` of, with the segment id.

    Segments are in grid units with ``u0 <= u1``. Conservative: every cell whose
    closure, grown by ``delta``, meets the segment is listed (maybe a few more).
    """
    c0 = np.clip(np.floor(u0 - delta), 0, nx - 1).astype(np.int64)
    c1 = np.clip(np.floor(u1 + delta), 0, nx - 1).astype(np.int64)
    sid, col = _expand(c0, c1 - c0 + 1)
    a_u, a_v, b_u, b_v = u0[sid], v0[sid], u1[sid], v1[sid]
    du = b_u - a_u
    flat = du > 0
    slope = np.where(flat, (b_v - a_v) / np.where(flat, du, 1.0), 0.0)
    ul = np.maximum(a_u, col - delta)
    ur = np.minimum(b_u, col + 1 + delta)
    vl = np.where(flat, a_v + (ul - a_u) * slope, a_v)
    vr = np.where(flat, a_v + (ur - a_u) * slope, b_v)
    lo = np.maximum(np.minimum(vl, vr), np.minimum(a_v, b_v))
    hi = np.minimum(np.maximum(vl, vr), np.maximum(a_v, b_v))
    r0 = np.clip(np.floor(lo - delta), 0, ny - 1).astype(np.int64)
    r1 = np.clip(np.floor(hi + delta), 0, ny - 1).astype(np.int64)
    del a_u, a_v, b_u, b_v, du, slope, ul, ur, vl, vr, lo, hi
    k, row = _expand(r0, r1 - r0 + 1)
    cell = row * nx + col[k]
    return cell, sid[k].astype(np.int32)


def _fill(
    u0: np.ndarray,
    v0: np.ndarray,
    u1: np.ndarray,
    v1: np.ndarray,
    left: np.ndarray,
    nx: int,
    ny: int,
    weight: np.ndarray,
    *,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Scanline cover of the cell centres.

    Each edge (canonical direction, zone interior on its left when ``left``) adds a
    signed event where it crosses the horizontal line through a row of centres:
    entering its zone (moving towards +u) adds the edge's ``weight``, leaving subtracts
    it. A cumulative sum along the flat cell order then gives, at each centre, the sum of
    the weights of the zones covering it (with ``zone + 1 + 2**32``: the sum of
    ``zone + 1`` in the low 32 bits, the number of zones in the high bits). Rows are
    closed: every ring crosses a row as often entering as leaving.

    Returns the per-cell sums and the cells whose centre lies within ``tol`` of a
    crossing (their cover is decided by GEOS instead).
    """
    # Per edge (u0 <= u1 in canonical direction): rows of centres it crosses, half-open in v
    # so that a vertex on a row is counted once (or twice/never at a local extreme).
    vlo = np.minimum(v0, v1)
    vhi = np.maximum(v0, v1)
    j0 = np.ceil(vlo - 0.5).astype(np.int64)
    j1 = np.ceil(vhi - 0.5).astype(np.int64) - 1
    np.clip(j0, 0, ny, out=j0)
    np.clip(j1, -1, ny - 1, out=j1)
    cnt = np.maximum(j1 - j0 + 1, 0)
    crosses = cnt > 0
    du_dv = (u1 - u0) / np.where(crosses, v1 - v0, 1.0)
    enter = (v1 < v0) == left
    weight = np.where(enter, weight, -weight)
    # Per crossing.
    sid, row = _expand(j0, cnt)
    ux = row + 0.5
    ux -= v0[sid]
    ux *= du_dv[sid]
    ux += u0[sid]
    np.clip(ux, u0[sid], u1[sid], out=ux)
    pos = np.ceil(ux - 0.5)
    np.clip(pos, 0, nx, out=pos)
    pos = pos.astype(np.int64)
    pos += row * nx
    acc = np.zeros(nx * ny + 1, dtype=np.int64)
    np.add.at(acc, pos, weight[sid])
    del pos, sid
    np.cumsum(acc, out=acc)
    near = np.rint(ux - 0.5)
    doubt = np.abs(ux - 0.5 - near) < tol
    dcol = near[doubt].astype(np.int64)
    drow = row[doubt]
    inside = (dcol >= 0) & (dcol < nx)
    return acc[:-1], drow[inside] * nx + dcol[inside]


def _centre_covers(
    geoms: np.ndarray, cells: np.ndarray, nx: int, x0: float, y0: float, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (GEOS) zones covering the centres of ``cells``: (cell position, zone) pairs."""
    cx = x0 + (cells % nx + 0.5) * h
    cy = y0 + (cells // nx + 0.5) * h
    tree = shapely.STRtree(geoms)
    ci, zi = tree.query(shapely.points(cx, cy), predicate="intersects")
    return ci.astype(np.int64), zi.astype(np.int64)

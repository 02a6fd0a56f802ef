"""Consultant territories (顾问分区): the influence area divided among the sales consultants.

Every zone of the influence area goes to exactly one consultant; each
territory is contiguous on the zone adjacency graph, compact, and balanced on
one measure (population, open leads or follow-up workload).

How a new split is made
-----------------------
1. **Zone graph** (:func:`zone_graph`): two zones are neighbours when they
   share at least ``min_shared_border_m`` of border (gaps and slivers up to
   ``adjacency_tolerance_m`` are tolerated; touching at a corner is not
   enough). A zone or group of zones with no neighbour (an *island*: across
   a river, or cut off by the edge of the influence area) is joined to the
   nearest zone by a **bridge**, and every bridge is reported.
2. **Start**: a balanced k-means on the zone centres (a power diagram: each
   territory's centre gets an offset that grows while the territory is light
   and shrinks while it is heavy), locked zones pinned to their consultant.
3. **Repair**: each territory keeps its connected piece (the one holding its
   locked zones, else the heaviest); cut-off pieces go to the lightest
   adjacent territory, so every territory is contiguous.
4. **Boundary moves**: a zone moves to a neighbouring territory when that
   lowers the sum of squared deviations from the mean, never disconnecting
   its own territory and never moving a locked zone, until every territory is
   within ``balance_tolerance`` of the mean; then zones move towards the
   territory whose centre is nearer (more compact) as long as no territory
   leaves that band. The two phases alternate ``phases`` times.

Re-balancing a stored assignment (``--keep``) is :func:`rebalance`: the zones
that must move (those of consultants who left, zones new to the area, a fair
share for each consultant who joined) move, and then only as many others as
it takes to lift the balance index to ``min_balance``, each time the single
move that helps most.

Measures
--------
``balance_index`` (:func:`balance_index`) = 100 × (1 − mean |Lₜ − L̄| / L̄),
floored at 0: how close each territory's load is to the mean (Esri's
balance index, 0–100; 100 when every territory carries exactly the mean).
``compactness`` (:func:`compactness`) = 100 × the perimeter of a circle of
the territory's area ÷ the territory's perimeter (Esri's compactness score:
how close a territory is to the circumference of a perfect circle; a square
scores 88.6).

Examples
--------
Four consultants on a 4 × 4 grid of equal zones: four contiguous territories
of four zones each.

>>> import numpy as np
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grid = gpd.GeoSeries([box(x * 1000, y * 1000, x * 1000 + 1000, y * 1000 + 1000)
...                       for y in range(4) for x in range(4)], crs="EPSG:32648")
>>> graph = zone_graph(grid)
>>> labels = partition(graph, np.ones(16), 4)
>>> sorted(np.bincount(labels).tolist()), all(is_contiguous(graph, labels))
([4, 4, 4, 4], True)
>>> balance_index(np.bincount(labels, np.ones(16)))
100.0
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from territory.settings import TerritorySettings

__all__ = [
    "Bridge",
    "PartitionError",
    "ZoneGraph",
    "balance_index",
    "compactness",
    "enclosures",
    "is_contiguous",
    "partition",
    "rebalance",
    "stays_connected",
    "territory_shapes",
    "zone_graph",
]


class PartitionError(ValueError):
    """The territories asked for cannot be drawn (e.g. locked zones that cannot be joined).

    ``key`` names the problem and ``territory`` the territory concerned; the
    caller turns them into a message in the user's language.
    """

    def __init__(self, key: str, territory: int) -> None:
        self.key = key
        self.territory = territory
        super().__init__(f"{key} (territory {territory})")


# ---------------------------------------------------------------- the zone graph


@dataclass(frozen=True)
class Bridge:
    """A link added between zones that share no border, so the area is one piece.

    ``island`` is a zone of the smaller piece, ``mainland`` the nearest zone
    outside it, ``distance_m`` the gap between them.
    """

    island: int
    mainland: int
    distance_m: float


@dataclass(frozen=True)
class ZoneGraph:
    """Zone adjacency (bridges included) with each zone's centre, area and perimeter, in metres.

    ``adjacency`` is a symmetric boolean CSR matrix; ``neighbours`` the same
    as tuples (for the moves that check connectivity one zone at a time);
    ``border`` the length of border each pair of neighbours shares (bridges
    share none); ``bridges`` the links added between pieces that share no
    border; ``pieces`` how many separate pieces the zones made before bridging.
    """

    adjacency: sparse.csr_matrix
    neighbours: tuple[tuple[int, ...], ...]
    xy: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray
    border: sparse.csr_matrix
    bridges: tuple[Bridge, ...]
    pieces: int

    @property
    def n(self) -> int:
        """Number of zones."""
        return len(self.xy)


def zone_graph(
    projected: gpd.GeoSeries | Sequence, *, settings: TerritorySettings | None = None
) -> ZoneGraph:
    """The adjacency graph of zones given in a projected CRS (metres).

    Parameters
    ----------
    projected : GeoSeries or sequence of polygons
        The zones, in a projected CRS.
    settings : TerritorySettings, optional
        ``adjacency_tolerance_m`` and ``min_shared_border_m``.

    Returns
    -------
    ZoneGraph
        Neighbours share at least ``min_shared_border_m`` of border (within
        ``adjacency_tolerance_m``); pieces with no neighbour are joined to the
        nearest zone by a :class:`Bridge`.

    Examples
    --------
    Three squares in a row and one far away: the far one is bridged to the
    nearest square, 2 km off.

    >>> from shapely.geometry import box
    >>> g = zone_graph([box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000),
    ...                 box(2000, 0, 3000, 1000), box(5000, 0, 6000, 1000)])
    >>> g.neighbours[1], g.pieces, g.bridges[0]
    ((0, 2), 2, Bridge(island=3, mainland=2, distance_m=2000.0))
    """
    s = settings or TerritorySettings()
    geoms = np.asarray(getattr(projected, "values", projected), dtype=object)
    n = len(geoms)
    if n == 0:
        empty = sparse.csr_matrix((0, 0), dtype=bool)
        return ZoneGraph(empty, (), np.zeros((0, 2)), np.zeros(0), np.zeros(0), empty, (), 0)
    left, right, shared = _shared_borders(geoms, float(s.adjacency_tolerance_m))
    ok = shared >= s.min_shared_border_m
    left, right, shared = left[ok], right[ok], shared[ok]
    border = sparse.coo_matrix((shared, (left, right)), shape=(n, n)).tocsr()
    border = (border + border.T).tocsr()
    xy = shapely.get_coordinates(shapely.centroid(geoms))
    area = shapely.area(geoms).astype("float64")
    perimeter = shapely.length(geoms).astype("float64")
    pieces, bridges = _bridges(geoms, xy, left, right)
    if bridges:
        left = np.concatenate([left, [b.island for b in bridges]])
        right = np.concatenate([right, [b.mainland for b in bridges]])
    adjacency = _symmetric(left, right, n)
    neighbours = tuple(
        tuple(int(j) for j in adjacency.indices[adjacency.indptr[i] : adjacency.indptr[i + 1]])
        for i in range(n)
    )
    return ZoneGraph(adjacency, neighbours, xy, area, perimeter, border, tuple(bridges), pieces)


def _symmetric(left: np.ndarray, right: np.ndarray, n: int) -> sparse.csr_matrix:
    data = np.ones(len(left), dtype=bool)
    m = sparse.coo_matrix((data, (left, right)), shape=(n, n)).tocsr()
    m = (m + m.T).astype(bool).tocsr()
    m.sort_indices()
    return m


def _shared_borders(geoms: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of zones (i < j) and the length of border they share, in metres.

    Exactly shared edges (a clean coverage: both polygons have the same
    vertices) are found by hashing boundary segments, which is fast; pairs
    whose boxes come within ``tol`` but share little exact edge (gaps,
    slivers, vertices that do not match) are measured as the length of one
    zone's border within ``tol`` of the other.
    """
    n = len(geoms)
    i, j, length = _exact_shared(geoms, quantum=min(tol, 1.0) * 1e-3)
    exact_key = i * n + j
    keys, inverse = np.unique(exact_key, return_inverse=True)
    exact = np.bincount(inverse, length, len(keys)) if len(keys) else np.zeros(0)
    box = shapely.bounds(geoms)
    grown = shapely.box(box[:, 0] - tol, box[:, 1] - tol, box[:, 2] + tol, box[:, 3] + tol)
    left, right = shapely.STRtree(geoms).query(grown)
    keep = left < right
    left, right = left[keep], right[keep]
    shared = np.zeros(len(left))
    if len(keys):
        pair = left * n + right
        where = np.minimum(np.searchsorted(keys, pair), len(keys) - 1)
        found = keys[where] == pair
        shared[found] = exact[where[found]]
    fuzzy = np.flatnonzero(shared < tol * 2.5 + 1.0)
    if len(fuzzy):
        # Either zone's border near (or inside) the other: a zone drawn on top of a larger
        # one (a market inside its township) has all of its border inside the other.
        lz, rz = left[fuzzy], right[fuzzy]
        both = np.unique(np.concatenate([lz, rz]))
        halo = np.empty(n, dtype=object)
        rim = np.empty(n, dtype=object)
        halo[both] = shapely.buffer(geoms[both], tol, quad_segs=2)
        rim[both] = shapely.boundary(geoms[both])
        near = np.maximum(
            shapely.length(shapely.intersection(rim[lz], halo[rz])),
            shapely.length(shapely.intersection(rim[rz], halo[lz])),
        )
        shared[fuzzy] = np.maximum(shared[fuzzy], near)
    return left, right, shared


def _exact_shared(geoms: np.ndarray, *, quantum: float) -> tuple[np.ndarray, ...]:
    """Boundary segments that two zones have in common: (zone i, zone j, length), i < j."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings = [shapely.get_exterior_ring(parts)]
    ring_owner = [owner]
    holes = shapely.get_num_interior_rings(parts)
    for h in range(int(holes.max()) if len(holes) else 0):
        has = holes > h
        rings.append(shapely.get_interior_ring(parts[has], h))
        ring_owner.append(owner[has])
    ring_geoms = np.concatenate(rings)
    zone_of_ring = np.concatenate(ring_owner)
    xy, ring = shapely.get_coordinates(ring_geoms, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    zone = zone_of_ring[ring[:-1][same]]
    qa = np.round(a / quantum).astype(np.int64)
    qb = np.round(b / quantum).astype(np.int64)
    flip = (qa[:, 0] > qb[:, 0]) | ((qa[:, 0] == qb[:, 0]) & (qa[:, 1] > qb[:, 1]))
    key = np.column_stack([np.where(flip[:, None], qb, qa), np.where(flip[:, None], qa, qb)])
    order = np.lexsort(key.T[::-1])
    key, zone = key[order], zone[order]
    length = np.hypot(*(b - a).T)[order]
    twin = (key[1:] == key[:-1]).all(axis=1) & (zone[1:] != zone[:-1])
    i, j = zone[:-1][twin], zone[1:][twin]
    return np.minimum(i, j), np.maximum(i, j), length[:-1][twin]


def _bridges(
    geoms: np.ndarray, xy: np.ndarray, left: np.ndarray, right: np.ndarray
) -> tuple[int, list[Bridge]]:
    """Join the pieces of the graph: a minimum spanning tree over pieces, by gap width."""
    n = len(geoms)
    pieces, label = csgraph.connected_components(_symmetric(left, right, n), directed=False)
    if pieces == 1:
        return 1, []
    bridges: list[Bridge] = []
    parent = list(range(pieces))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    # Candidate links: each zone to its nearest centres in other pieces, measured between polygons.
    kk = min(n, 16)
    _, near = cKDTree(xy).query(xy, k=kk)
    near = np.asarray(near).reshape(n, kk)
    src = np.repeat(np.arange(n), kk)
    dst = near.ravel()
    cross = label[src] != label[dst]
    src, dst = src[cross], dst[cross]
    if len(src):
        gap = shapely.distance(geoms[src], geoms[dst])
        for o in np.lexsort((dst, src, gap)):
            a, b = find(label[src[o]]), find(label[dst[o]])
            if a != b:
                parent[a] = b
                bridges.append(_bridge(int(src[o]), int(dst[o]), float(gap[o]), label))
    # Pieces the near-centre candidates did not reach: exact nearest polygon outside the piece.
    while True:
        roots = np.array([find(label[i]) for i in range(n)])
        groups = np.unique(roots)
        if len(groups) == 1:
            break
        sizes = np.bincount(np.searchsorted(groups, roots))
        small = groups[sizes.argmin()]
        inside = np.flatnonzero(roots == small)
        outside = np.flatnonzero(roots != small)
        tree = shapely.STRtree(geoms[outside])
        (qi, qj), dist = tree.query_nearest(geoms[inside], return_distance=True, all_matches=False)
        o = int(np.argmin(dist))
        a, b = int(inside[qi[o]]), int(outside[qj[o]])
        parent[find(label[a])] = find(label[b])
        bridges.append(_bridge(a, b, float(dist[o]), label))
    return pieces, bridges


def _bridge(a: int, b: int, gap: float, label: np.ndarray) -> Bridge:
    """A bridge whose ``island`` end is in the smaller of the two original pieces."""
    sizes = np.bincount(label)
    if sizes[label[a]] > sizes[label[b]]:
        a, b = b, a
    return Bridge(island=a, mainland=b, distance_m=round(gap, 1))


# ---------------------------------------------------------------- measures


def balance_index(loads: Sequence[float] | np.ndarray) -> float:
    """Esri's balance index: 100 × (1 − mean absolute deviation from the mean ÷ the mean).

    Parameters
    ----------
    loads : array-like
        Each territory's total of the balanced measure.

    Returns
    -------
    float
        0–100; 100 when every territory carries exactly the mean; NaN when
        the mean is 0 (nothing to balance).

    Examples
    --------
    >>> balance_index([100, 100, 100]), balance_index([90, 110]), balance_index([0, 200])
    (100.0, 90.0, 0.0)
    """
    values = np.asarray(loads, dtype="float64")
    mean = values.mean() if len(values) else 0.0
    if not mean > 0:
        return float("nan")
    return float(round(max(0.0, 100.0 * (1.0 - np.abs(values - mean).mean() / mean)), 6))


def territory_shapes(
    projected: gpd.GeoSeries, labels: np.ndarray, k: int, *, tolerance_m: float = 0.0
) -> np.ndarray:
    """One (multi)polygon per territory: its zones dissolved, gaps up to ``tolerance_m`` closed."""
    geoms = np.asarray(projected.values, dtype=object)
    shapes = np.empty(k, dtype=object)
    for t in range(k):
        members = geoms[labels == t]
        if not len(members):
            shapes[t] = shapely.Polygon()
            continue
        if tolerance_m > 0:
            grown = shapely.buffer(members, tolerance_m / 2, quad_segs=2, join_style="mitre")
            shapes[t] = shapely.buffer(
                shapely.union_all(grown), -tolerance_m / 2, quad_segs=2, join_style="mitre"
            )
        else:
            shapes[t] = shapely.union_all(members)
    return shapes


def compactness(graph: ZoneGraph, labels: np.ndarray, k: int) -> np.ndarray:
    """Esri's compactness score of each territory: 100 × 2√(πA) ÷ its perimeter.

    A territory's area is the sum of its zones' areas and its perimeter the
    sum of their perimeters less the borders they share with each other (so
    no polygons are dissolved). A circle scores 100, a square 88.6, a 40 × 1
    strip 27.3.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = zone_graph([box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)])
    >>> compactness(g, np.array([0, 0]), 1).round(1), compactness(g, np.array([0, 1]), 2).round(1)
    (array([83.6]), array([88.6, 88.6]))
    """
    area = np.bincount(labels, graph.area, k)
    outline = np.bincount(labels, graph.perimeter, k)
    border = graph.border.tocoo()
    inside = labels[border.row] == labels[border.col]
    outline -= np.bincount(labels[border.row[inside]], border.data[inside], k)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 100.0 * 2.0 * np.sqrt(np.pi * area) / outline
    return np.where(outline > 0, np.minimum(score, 100.0), np.nan)


def enclosures(
    graph: ZoneGraph, labels: np.ndarray, k: int, *, share: float = 0.97
) -> list[tuple[int, int]]:
    """Territories lying inside another: ``(inner, outer)`` pairs.

    A territory is inside another when at least ``share`` of its outline is
    border with that one territory (it touches neither a third territory nor
    the edge of the area).

    Examples
    --------
    A ring of eight squares around a ninth: the centre lies inside the ring.

    >>> from shapely.geometry import box
    >>> g = zone_graph([box(x * 10, y * 10, x * 10 + 10, y * 10 + 10)
    ...                 for y in range(3) for x in range(3)],
    ...                settings=TerritorySettings(adjacency_tolerance_m=0.1, min_shared_border_m=1))
    >>> enclosures(g, np.array([0, 0, 0, 0, 1, 0, 0, 0, 0]), 2)
    [(1, 0)]
    """
    border = graph.border.tocoo()
    a, b = labels[border.row], labels[border.col]
    inner = a == b
    outline = np.bincount(labels, graph.perimeter, k) - np.bincount(a[inner], border.data[inner], k)
    cross = ~inner
    between = sparse.coo_matrix((border.data[cross], (a[cross], b[cross])), shape=(k, k)).toarray()
    out = []
    for t in range(k):
        if outline[t] <= 0:
            continue
        u = int(between[t].argmax())
        if u != t and between[t, u] >= share * outline[t]:
            out.append((t, u))
    return out


def is_contiguous(graph: ZoneGraph, labels: np.ndarray) -> list[bool]:
    """Whether each territory (label 0..k-1) is one connected piece of the graph."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = []
    for t in range(k):
        members = np.flatnonzero(labels == t)
        if not len(members):
            out.append(False)
            continue
        sub = graph.adjacency[members][:, members]
        out.append(csgraph.connected_components(sub, directed=False)[0] == 1)
    return out


# ---------------------------------------------------------------- a new split


def partition(
    graph: ZoneGraph,
    weights: np.ndarray,
    k: int,
    *,
    locked: np.ndarray | None = None,
    settings: TerritorySettings | None = None,
) -> np.ndarray:
    """Divide the zones into ``k`` contiguous, compact territories balanced on ``weights``.

    Parameters
    ----------
    graph : ZoneGraph
        From :func:`zone_graph` (one piece, bridges included).
    weights : array of float
        The measure to balance, per zone (≥ 0, not all 0).
    k : int
        Number of territories, 1 ≤ k ≤ number of zones.
    locked : array of int, optional
        Per zone, the territory it is locked to, or -1.
    settings : TerritorySettings, optional

    Returns
    -------
    numpy.ndarray
        The territory (0..k-1) of every zone.

    Raises
    ------
    PartitionError
        ``locks_disconnected`` when one territory's locked zones cannot be
        joined without crossing zones locked to another.
    """
    s = settings or TerritorySettings()
    n = graph.n
    w = np.asarray(weights, dtype="float64")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of zones ({n}), got {k}")
    fixed = np.full(n, -1, dtype="int64") if locked is None else np.asarray(locked, "int64")
    if k == 1:
        return np.zeros(n, dtype="int64")
    starts = s.restarts if n <= s.restart_max_zones else 1
    enough = 100.0 * (1.0 - s.balance_tolerance)
    best, best_key = None, None
    for start in range(max(starts, 1)):
        labels = _balanced_kmeans(graph, w, k, fixed, s, seed=s.random_state + start)
        labels = _repair(graph, labels, w, k, fixed)
        labels = _improve(graph, labels, w, k, fixed, s)
        # Balanced enough (within the tolerance) counts the same; then the more compact wins.
        index = balance_index(np.bincount(labels, w, k))
        key = (min(index, enough), float(np.nanmean(compactness(graph, labels, k))))
        if best_key is None or key > best_key:
            best, best_key = labels, key
    return best


def _balanced_kmeans(
    graph: ZoneGraph, w: np.ndarray, k: int, fixed: np.ndarray, s: TerritorySettings, *, seed: int
) -> np.ndarray:
    """A power diagram on zone centres whose offsets equalise the territories' loads."""
    xy = graph.xy - graph.xy.mean(axis=0)
    ww = w + max(w.mean(), 1e-12) * 1e-6
    centres = _kmeans_pp(xy, ww, k, np.random.default_rng(seed))
    pinned = fixed >= 0
    if pinned.any():
        # A territory with locked zones starts at their centre; the others take the
        # k-means centres left after removing the one nearest each such start.
        starts = {}
        for t in np.unique(fixed[pinned]):
            members = fixed == t
            starts[int(t)] = np.average(xy[members], axis=0, weights=ww[members])
        free = list(range(k))
        for start in starts.values():
            free.remove(min(free, key=lambda c: float(((centres[c] - start) ** 2).sum())))
        spare = iter(centres[free].copy())
        for t in range(k):
            centres[t] = starts[t] if t in starts else next(spare)
    target = w.sum() / k
    spread = np.ptp(xy, axis=0)
    radius2 = max(spread[0] * spread[1], spread.max() ** 2 * 1e-3, 1.0) / (k * np.pi)
    offsets = np.zeros(k)
    x2 = (xy**2).sum(axis=1)
    best, best_score = None, -np.inf
    for _ in range(s.kmeans_iterations):
        d2 = x2[:, None] - 2.0 * xy @ centres.T + (centres**2).sum(axis=1)[None, :]
        labels = (d2 - offsets[None, :]).argmin(axis=1)
        labels[pinned] = fixed[pinned]
        loads = np.bincount(labels, w, k)
        counts = np.bincount(labels, minlength=k)
        if (counts > 0).all():
            score = -np.abs(loads - target).sum()
            if score > best_score:
                best, best_score = labels.copy(), score
        if target > 0:
            offsets += s.kmeans_step * radius2 * (target - loads) / target
        mass = np.bincount(labels, ww, k)
        for d in range(2):
            total = np.bincount(labels, ww * xy[:, d], k)
            centres[:, d] = np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), centres[:, d])
    if best is None:  # some centre never won a zone: start from the nearest-centre labels
        best = labels
    return best


def _kmeans_pp(xy: np.ndarray, ww: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding weighted by the measure: spread-out starting centres."""
    n = len(xy)
    first = int(rng.choice(n, p=ww / ww.sum()))
    centres = [xy[first]]
    d2 = ((xy - xy[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = ww * d2
        total = p.sum()
        nxt = int(rng.choice(n, p=p / total)) if total > 0 else int(rng.integers(n))
        centres.append(xy[nxt])
        d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
    return np.array(centres, dtype="float64")


def _components(graph: ZoneGraph, members: np.ndarray) -> tuple[int, np.ndarray]:
    sub = graph.adjacency[members][:, members]
    return csgraph.connected_components(sub, directed=False)


def _repair(
    graph: ZoneGraph, labels: np.ndarray, w: np.ndarray, k: int, fixed: np.ndarray
) -> np.ndarray:
    """Make every territory one connected piece holding its locked zones; none empty."""
    labels = labels.copy()
    for _ in range(graph.n + 1):
        split = False
        for t in range(k):
            members = np.flatnonzero(labels == t)
            if len(members) == 0:
                continue
            count, piece = _components(graph, members)
            if count == 1:
                continue
            split = True
            with_locks = np.unique(piece[fixed[members] == t])
            if len(with_locks) > 1:
                _join_locked(graph, labels, t, members, piece, with_locks, fixed)
                continue
            if len(with_locks) == 1:
                keep = int(with_locks[0])
            else:
                mass = np.bincount(piece, w[members], count) + np.bincount(piece) * 1e-9
                keep = int(mass.argmax())
            labels[members[piece != keep]] = -1
        if not split:
            break
        _fill(graph, labels, w, k)
    _fill_empty(graph, labels, w, k, fixed)
    return labels


def _join_locked(
    graph: ZoneGraph,
    labels: np.ndarray,
    t: int,
    members: np.ndarray,
    piece: np.ndarray,
    with_locks: np.ndarray,
    fixed: np.ndarray,
) -> None:
    """Give territory ``t`` the shortest path between two of its locked pieces."""
    blocked = (fixed >= 0) & (fixed != t)
    adj = graph.adjacency.tocoo()
    ok = ~blocked[adj.row] & ~blocked[adj.col]
    dist = np.hypot(*(graph.xy[adj.row[ok]] - graph.xy[adj.col[ok]]).T) + 1e-3
    weighted = sparse.csr_matrix((dist, (adj.row[ok], adj.col[ok])), shape=adj.shape)
    sources = members[piece == with_locks[0]]
    targets = members[np.isin(piece, with_locks[1:])]
    d, pred, _ = csgraph.dijkstra(
        weighted, indices=sources, min_only=True, return_predecessors=True
    )
    reach = targets[np.isfinite(d[targets])]
    if not len(reach):
        raise PartitionError("locks_disconnected", t)
    node = int(reach[np.argmin(d[reach])])
    start = set(sources.tolist())
    while node >= 0 and node not in start:
        labels[node] = t
        node = int(pred[node])


def _fill(graph: ZoneGraph, labels: np.ndarray, w: np.ndarray, k: int) -> None:
    """Give every unassigned zone (-1) to the lightest adjacent territory, growing outwards."""
    loads = np.bincount(labels[labels >= 0], w[labels >= 0], k)
    todo = [int(i) for i in np.flatnonzero(labels < 0)]
    while todo:
        left = []
        for i in todo:
            around = [labels[j] for j in graph.neighbours[i] if labels[j] >= 0]
            if not around:
                left.append(i)
                continue
            t = min(around, key=lambda a: (loads[a], a))
            labels[i] = t
            loads[t] += w[i]
        if len(left) == len(todo):  # cannot happen on a connected graph with an assigned zone
            raise ValueError("zones not connected to any territory")
        todo = left


def _fill_empty(
    graph: ZoneGraph, labels: np.ndarray, w: np.ndarray, k: int, fixed: np.ndarray
) -> None:
    """Give each empty territory one movable zone from the territory with the most zones."""
    for t in range(k):
        if (labels == t).any():
            continue
        counts = np.bincount(labels, minlength=k)
        for donor in np.argsort(-counts, kind="stable"):
            if counts[donor] < 2:
                break
            members = np.flatnonzero((labels == donor) & (fixed < 0))
            movable = [int(z) for z in members if stays_connected(graph, labels, int(z))]
            if movable:
                labels[max(movable, key=lambda z: (-w[z], z))] = t
                break


def stays_connected(graph: ZoneGraph, labels: np.ndarray, z: int) -> bool:
    """Whether zone ``z``'s territory stays one piece (and not empty) without it."""
    t = labels[z]
    same = [j for j in graph.neighbours[z] if labels[j] == t]
    if len(same) <= 1:
        return len(same) == 1
    targets = set(same[1:])
    seen = {z, same[0]}
    stack = [same[0]]
    nbrs = graph.neighbours
    while stack and targets:
        u = stack.pop()
        for v in nbrs[u]:
            if v not in seen and labels[v] == t:
                seen.add(v)
                targets.discard(v)
                stack.append(v)
    return not targets


def _centres(graph: ZoneGraph, labels: np.ndarray, k: int) -> np.ndarray:
    area = graph.area + 1e-9
    mass = np.bincount(labels, area, k)
    mass = np.where(mass > 0, mass, 1.0)
    return np.column_stack([np.bincount(labels, area * graph.xy[:, d], k) / mass for d in range(2)])


def _improve(
    graph: ZoneGraph,
    labels: np.ndarray,
    w: np.ndarray,
    k: int,
    fixed: np.ndarray,
    s: TerritorySettings,
) -> np.ndarray:
    """Boundary moves: balance into the band, then compactness inside it; alternating."""
    labels = labels.copy()
    adj = graph.adjacency.tocoo()
    ei, ej = adj.row, adj.col
    movable = fixed[ei] < 0
    ei, ej = ei[movable], ej[movable]
    target = w.sum() / k
    band = s.balance_tolerance * target
    for _ in range(s.phases):
        moved = 0
        for mode in ("balance", "compact"):
            for _round in range(s.max_rounds):
                loads = np.bincount(labels, w, k)
                a, b = labels[ei], labels[ej]
                cross = a != b
                i, a, b = ei[cross], a[cross], b[cross]
                wi = w[i]
                la, lb = loads[a], loads[b]
                centres = _centres(graph, labels, k)
                cost = ((graph.xy[i] - centres[b]) ** 2).sum(axis=1) - (
                    (graph.xy[i] - centres[a]) ** 2
                ).sum(axis=1)
                if mode == "balance":
                    gain = wi * (la - lb - wi)
                    good = (gain > 1e-12 * target * target) & (
                        (la > target + band) | (lb < target - band)
                    )
                else:
                    da, db = np.abs(la - target), np.abs(lb - target)
                    good = (
                        (cost < 0)
                        & (np.abs(la - wi - target) <= np.maximum(da, band))
                        & (np.abs(lb + wi - target) <= np.maximum(db, band))
                    )
                if not good.any():
                    break
                i, a, b, cost = i[good], a[good], b[good], cost[good]
                applied = 0
                touched = np.zeros(k, dtype=bool)
                for o in np.lexsort((i, cost)):
                    ta, tb, z = a[o], b[o], int(i[o])
                    if touched[ta] or touched[tb] or labels[z] != ta:
                        continue
                    if not stays_connected(graph, labels, z):
                        continue
                    labels[z] = tb
                    touched[ta] = touched[tb] = True
                    applied += 1
                moved += applied
                if not applied:
                    break
        if not moved:
            break
    return labels


# ---------------------------------------------------------------- re-balancing a stored split


def rebalance(
    graph: ZoneGraph,
    weights: np.ndarray,
    start: np.ndarray,
    k: int,
    *,
    locked: np.ndarray | None = None,
    min_balance: float = 80.0,
) -> np.ndarray:
    """Re-balance an assignment moving as few zones as possible.

    Parameters
    ----------
    graph : ZoneGraph
    weights : array of float
        The measure to balance, per zone.
    start : array of int
        The stored territory of each zone (0..k-1), or -1 for a zone that
        must be given a territory (its consultant left, or it is new).
        Territories with no zone are consultants who joined: each gets a
        fair share, first from the zones that must move anyway.
    k : int
        Number of territories.
    locked : array of int, optional
        Per zone, the territory it is locked to, or -1; locked zones never move.
    min_balance : float
        After the zones that must move have moved, other zones move (each
        time the one that helps the balance index most) only while the index
        is below this.

    Returns
    -------
    numpy.ndarray
        The territory of every zone.
    """
    w = np.asarray(weights, dtype="float64")
    fixed = np.full(graph.n, -1, dtype="int64") if locked is None else np.asarray(locked, "int64")
    labels = np.asarray(start, dtype="int64").copy()
    labels[fixed >= 0] = fixed[fixed >= 0]
    labels = _keep_pieces(graph, labels, w, k, fixed)
    target = w.sum() / k
    for t in range(k):
        if not (labels == t).any():
            _give_newcomer(graph, labels, w, k, t, fixed, target)
    if (labels < 0).any():
        _fill(graph, labels, w, k)
    _fill_empty(graph, labels, w, k, fixed)
    _greedy_balance(graph, labels, w, k, fixed, min_balance)
    return labels


def _keep_pieces(
    graph: ZoneGraph, labels: np.ndarray, w: np.ndarray, k: int, fixed: np.ndarray
) -> np.ndarray:
    """A stored territory that fell apart keeps its main piece; the rest must move."""
    for t in range(k):
        members = np.flatnonzero(labels == t)
        if len(members) < 2:
            continue
        count, piece = _components(graph, members)
        if count == 1:
            continue
        with_locks = np.unique(piece[fixed[members] == t])
        if len(with_locks) > 1:
            _join_locked(graph, labels, t, members, piece, with_locks, fixed)
            return _keep_pieces(graph, labels, w, k, fixed)
        if len(with_locks) == 1:
            keep = int(with_locks[0])
        else:
            keep = int((np.bincount(piece, w[members], count) + np.bincount(piece) * 1e-9).argmax())
        labels[members[piece != keep]] = -1
    return labels


def _give_newcomer(
    graph: ZoneGraph,
    labels: np.ndarray,
    w: np.ndarray,
    k: int,
    t: int,
    fixed: np.ndarray,
    target: float,
) -> None:
    """A consultant who joined: the heaviest piece of zones that must move, else carved out.

    Carving starts where the most overloaded territories meet (so each gives
    a little) and grows to the nearest zones, from overloaded territories
    first, until the newcomer holds a fair share.
    """
    free = np.flatnonzero(labels < 0)
    if len(free):
        count, piece = _components(graph, free)
        mass = np.bincount(piece, w[free], count) + np.bincount(piece) * 1e-9
        labels[free[piece == int(mass.argmax())]] = t
    else:
        seed = _junction(graph, labels, w, k, t, fixed, target)
        if seed is None:
            return
        labels[seed] = t
    mine = labels == t
    load = float(w[mine].sum())
    seed_xy = np.average(graph.xy[mine], axis=0, weights=graph.area[mine] + 1e-9)
    while load < target:
        loads = np.bincount(labels[labels >= 0], w[labels >= 0], k)
        best = None
        frontier = {j for i in np.flatnonzero(labels == t) for j in graph.neighbours[i]}
        for z in frontier:
            donor = labels[z]
            if donor == t or fixed[z] >= 0:
                continue
            if donor >= 0 and not stays_connected(graph, labels, z):
                continue
            # Nearest first; a territory that would fall below a fair share gives last.
            short = donor >= 0 and loads[donor] - w[z] < target
            key = (short, float(((graph.xy[z] - seed_xy) ** 2).sum()), z)
            if best is None or key < best[0]:
                best = (key, z)
        if best is None:
            return
        z = best[1]
        if abs(load + w[z] - target) > abs(load - target):
            return
        labels[z] = t
        load += float(w[z])


def _junction(
    graph: ZoneGraph,
    labels: np.ndarray,
    w: np.ndarray,
    k: int,
    t: int,
    fixed: np.ndarray,
    target: float,
) -> int | None:
    """A movable zone where the most overloaded territories meet (within two steps)."""
    loads = np.bincount(labels[labels >= 0], w[labels >= 0], k)
    over = np.maximum(loads - target, 0.0)
    best, best_key = None, None
    for z in range(graph.n):
        if fixed[z] >= 0 or labels[z] < 0 or labels[z] == t:
            continue
        near = {labels[z]}
        for j in graph.neighbours[z]:
            near.add(labels[j])
            near.update(labels[m] for m in graph.neighbours[j])
        near.discard(-1)
        near.discard(t)
        key = (float(sum(over[x] for x in near)), len(near), -z)
        if best_key is not None and key <= best_key:
            continue
        if (labels == labels[z]).sum() < 2 or not stays_connected(graph, labels, z):
            continue
        best, best_key = z, key
    return best


def _greedy_balance(
    graph: ZoneGraph,
    labels: np.ndarray,
    w: np.ndarray,
    k: int,
    fixed: np.ndarray,
    min_balance: float,
) -> None:
    """Single moves, the most helpful first, until the balance index reaches ``min_balance``."""
    adj = graph.adjacency.tocoo()
    ei, ej = adj.row, adj.col
    movable = fixed[ei] < 0
    ei, ej = ei[movable], ej[movable]
    target = w.sum() / k
    for _ in range(graph.n * 2):
        loads = np.bincount(labels, w, k)
        if not balance_index(loads) < min_balance:
            return
        a, b = labels[ei], labels[ej]
        cross = a != b
        i, a, b = ei[cross], a[cross], b[cross]
        wi = w[i]
        change = (
            np.abs(loads[a] - wi - target)
            + np.abs(loads[b] + wi - target)
            - np.abs(loads[a] - target)
            - np.abs(loads[b] - target)
        )
        good = change < -1e-12 * max(target, 1.0)
        if not good.any():
            return
        i, a, b, change = i[good], a[good], b[good], change[good]
        centres = _centres(graph, labels, k)
        cost = ((graph.xy[i] - centres[b]) ** 2).sum(axis=1) - (
            (graph.xy[i] - centres[a]) ** 2
        ).sum(axis=1)
        heap = list(zip(change.tolist(), cost.tolist(), i.tolist(), b.tolist(), strict=True))
        heapq.heapify(heap)
        while heap:
            _, _, z, tb = heapq.heappop(heap)
            if stays_connected(graph, labels, z):
                labels[z] = tb
                break
        else:
            return

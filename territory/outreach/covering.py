"""Choose K outreach sites jointly: the maximal covering location problem (MCLP).

Ranking zones one by one and taking the top N tends to return N sites in the
same cluster, each reaching the same people. This module chooses the N sites
*together* so that the white-space weight within a catchment radius of at
least one chosen site is as large as possible:

    maximise   sum_j w_j y_j
    subject to y_j <= sum_{i covers j} x_i   for every demand point j
               sum_i x_i = k                  (<= k when fewer sites are useful)
               x_i in {0, 1},  0 <= y_j <= 1

For ``k <= exact_limit`` the model is solved exactly with the CBC solver that
ships with pulp; beyond that, or when CBC is missing or runs out of time, a
lazy greedy heuristic is used and its optimality gap is reported against an
upper bound on the optimum.

Everything here is plain numpy/scipy on projected coordinates in metres;
:func:`choose_sites` is a convenience wrapper taking GeoDataFrames.

Examples
--------
Two demand clusters: the heaviest candidates (0 and 1) cover the same
cluster, so the top two by weight reach only 10 people; the joint choice
reaches 16.

>>> import numpy as np
>>> from territory.outreach.covering import coverage_matrix, max_cover
>>> demand = np.array([[0.0, 0.0], [100.0, 0.0], [5000.0, 0.0]])
>>> weights = np.array([6.0, 4.0, 6.0])
>>> sites = np.array([[50.0, 0.0], [60.0, 0.0], [5000.0, 10.0]])
>>> cover = coverage_matrix(demand, sites, radius=500.0)
>>> result = max_cover(weights, cover, 2)
>>> result.selected, result.covered_weight, result.optimal
((0, 2), 16.0, True)
"""

from __future__ import annotations

import heapq
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from territory.settings import RankingSettings, Settings

if TYPE_CHECKING:
    import geopandas as gpd
    import pulp
    import scipy.sparse as sp

# scipy.sparse and scipy.spatial are imported in the functions that compute: importing them takes
# about half a second, and the app reads kept rankings (and this module's CoverResult) on start.

__all__ = [
    "CoverResult",
    "choose_sites",
    "coverage_matrix",
    "max_cover",
]

#: Relative tolerance under which a bound and a covered weight count as equal.
_REL_TOL = 1e-9
#: Relative tolerance under which two site sets count as covering equal weight.
_SWAP_TOL = 1e-12
#: Relative slack added to computed bounds for floating-point rounding.
_BOUND_SLACK = 1e-10
#: Subgradient steps for the greedy's Lagrangian bound (about 0.1 s at 1,000 x 5,000).
_SUBGRADIENT_STEPS = 300
#: Steps without improvement before the subgradient step size is halved.
_SUBGRADIENT_PATIENCE = 20
#: Also solve the LP relaxation (HiGHS) for the greedy's bound when the merged
#: model has at most this many coverage terms (about 1 s at this size); it is
#: tighter than the Lagrangian bound but grows fast (10 s at 600,000 terms).
_LP_BOUND_MAX_TERMS = 150_000


@dataclass(frozen=True)
class CoverResult:
    """The sites chosen by :func:`max_cover` and how good the choice is.

    Attributes
    ----------
    selected : tuple of int
        Distinct candidate indices (rows of the coverage matrix), ordered by
        marginal gain, best first: the first site covers the most weight, the
        second the most of what the first leaves uncovered, and so on. Sites
        that would add no covered weight are left out (fewer than ``k`` only
        when everything reachable is already covered), except mandatory
        sites, which are always listed.
    covered_weight : float
        Total weight of demand points within reach of at least one selected site.
    total_weight : float
        Total weight of all demand points, covered or not.
    upper_bound : float
        A proven upper bound on the best covered weight any admissible set of
        ``k`` sites could reach. Equal to ``covered_weight`` when the choice is
        proven optimal.
    gap : float
        Relative optimality gap ``(upper_bound - covered_weight) / upper_bound``
        (0 when ``upper_bound`` is 0): the choice is within this share of the optimum.
    method : {'exact', 'greedy'}
        ``'exact'`` when the site set comes from the CBC model, ``'greedy'``
        when it comes from the lazy greedy heuristic. Inputs that need no
        solver (``k = 0``, nothing to cover, ``k`` at least the number of
        useful sites) carry the method ``k`` and ``exact_limit`` asked for.
    optimal : bool
        True when the choice is proven optimal: by CBC, or because the bound
        meets the covered weight (both up to a relative 1e-9 for solver
        tolerances and floating-point rounding).
    marginal_gain : tuple of float
        For each selected site, the weight it adds to the sites before it;
        the gains sum to ``covered_weight``.
    """

    selected: tuple[int, ...]
    covered_weight: float
    total_weight: float
    upper_bound: float
    gap: float
    method: Literal["exact", "greedy"]
    optimal: bool
    marginal_gain: tuple[float, ...]


def coverage_matrix(
    demand_xy: np.ndarray | Sequence[Sequence[float]],
    candidate_xy: np.ndarray | Sequence[Sequence[float]],
    *,
    radius: float,
) -> sp.csr_matrix:
    """Return which demand points each candidate site reaches.

    Parameters
    ----------
    demand_xy : array-like of shape (n_demand, 2)
        Demand point coordinates in a projected CRS, in metres.
    candidate_xy : array-like of shape (n_candidates, 2)
        Candidate site coordinates in the same CRS.
    radius : float
        Catchment radius in metres; a point at exactly ``radius`` is reached.

    Returns
    -------
    scipy.sparse.csr_matrix
        Boolean matrix of shape (n_candidates, n_demand); entry (i, j) is
        True when demand point j lies within ``radius`` of candidate i.
        Column indices are sorted within each row.

    Raises
    ------
    ValueError
        If an array is not of shape (n, 2), holds NaN or infinite values, or
        ``radius`` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> m = coverage_matrix(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0]]), radius=5.0)
    >>> m.toarray()
    array([[ True,  True]])
    """
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    demand = _points(demand_xy, "demand_xy")
    candidates = _points(candidate_xy, "candidate_xy")
    if isinstance(radius, bool) or not isinstance(radius, int | float | np.number):
        raise ValueError(f"radius must be a number of metres, got {radius!r}")
    radius = float(radius)
    if not math.isfinite(radius) or radius <= 0:
        raise ValueError(
            f"radius must be a positive finite number of metres, got {radius!r}; "
            "pass the catchment radius in metres, e.g. radius=3000.0 for 3 km"
        )
    shape = (len(candidates), len(demand))
    if len(candidates) == 0 or len(demand) == 0:
        return sp.csr_matrix(shape, dtype=bool)
    tree = cKDTree(demand)
    hits = tree.query_ball_point(candidates, r=radius, return_sorted=True)
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    indptr = np.zeros(len(hits) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=bool)
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def max_cover(
    weights: np.ndarray | Sequence[float],
    coverage: sp.spmatrix | sp.sparray | np.ndarray,
    k: int,
    *,
    exact_limit: int = RankingSettings.cover_exact_limit,
    time_limit: float | None = None,
    mandatory: Iterable[int] | None = None,
    forbidden: Iterable[int] | None = None,
) -> CoverResult:
    """Choose ``k`` distinct sites that together reach the most demand weight.

    Parameters
    ----------
    weights : array-like of shape (n_demand,)
        Non-negative weight of each demand point (e.g. white-space population).
    coverage : sparse or dense matrix of shape (n_candidates, n_demand)
        Truthy where a candidate reaches a demand point, as returned by
        :func:`coverage_matrix`.
    k : int
        Number of sites to choose (mandatory ones included).
    exact_limit : int, default 10
        Solve exactly with CBC when ``k <= exact_limit``; use the greedy
        heuristic above it.
    time_limit : float, optional
        Seconds CBC may spend solving (writing the model and the greedy
        bound come on top). CBC starts from the greedy solution; on time-out
        the better of CBC's best solution and the greedy one is returned
        with a proven bound, marked not optimal unless the bound meets it.
    mandatory : iterable of int, optional
        Candidate indices that must be chosen (e.g. a site already booked).
    forbidden : iterable of int, optional
        Candidate indices that must not be chosen.

    Returns
    -------
    CoverResult
        The chosen sites in order of marginal gain, the covered weight, an
        upper bound on the optimum and the relative gap to it.

    Raises
    ------
    ValueError
        If weights are negative or not finite, the shapes disagree, ``k`` is
        negative or smaller than the number of mandatory sites, an index is
        out of range, or a site is both mandatory and forbidden.

    Notes
    -----
    Only demand with positive weight reached by some admissible site enters
    the exact model, and demand points reached by exactly the same sites are
    merged into one. Degenerate inputs need no solver: ``k = 0``, all-zero
    weights, no coverage at all, or ``k`` at least the number of useful sites
    return at once with a proven optimum (all useful sites when ``k`` allows).
    Ties are broken towards low candidate indices, so the same input always
    gives the same result: greedy takes the lowest index among equal gains
    at every step; an exact optimum is canonicalised so that no chosen site
    could be swapped for a lower-indexed unchosen one without losing weight.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp

    Sites 1 and 0 reach the most weight on their own (12 and 10) but mostly
    the same people; together 1 and 2 reach 15.

    >>> cover = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]], dtype=bool))
    >>> weights = np.array([5.0, 5.0, 2.0, 3.0])
    >>> r = max_cover(weights, cover, 2)
    >>> r.selected, r.covered_weight, r.marginal_gain, r.method, r.gap
    ((1, 2), 15.0, (12.0, 3.0), 'exact', 0.0)
    >>> max_cover(weights, cover, 2, forbidden=[2]).selected
    (1,)
    """
    w = _weights(weights)
    cover = _coverage(coverage, len(w))
    n_cand = cover.shape[0]
    k = _count(k, "k")
    exact_limit = _count(exact_limit, "exact_limit")
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, int | float | np.number):
            raise ValueError(f"time_limit must be a number of seconds or None, got {time_limit!r}")
        if not math.isfinite(time_limit) or time_limit <= 0:
            raise ValueError(
                f"time_limit must be a positive number of seconds, got {time_limit!r}; "
                "pass None to let CBC run until it proves the optimum"
            )
    must = _indices(mandatory, n_cand, "mandatory")
    never = _indices(forbidden, n_cand, "forbidden")
    both = sorted(set(must) & set(never))
    if both:
        raise ValueError(
            f"candidates {both} are both mandatory and forbidden; remove them from one of the two"
        )
    if len(must) > k:
        raise ValueError(
            f"{len(must)} mandatory sites do not fit in k={k}; raise k to at least "
            f"{len(must)} or make fewer sites mandatory"
        )

    problem = _Problem(w, cover, k, must, never)
    method: Literal["exact", "greedy"] = "exact" if k <= exact_limit else "greedy"
    if len(problem.pool) <= k:
        # Every useful site fits (or k = 0): that is the optimum, no solver needed.
        return problem.result(problem.pool, method=method, bound=None)
    if len(must) == k:
        # Nothing left to choose.
        return problem.result(must, method=method, bound=None)
    # Greedy first: it is cheap, it starts CBC off with a good solution (5x
    # faster on dense instances) and it is the fallback.
    picks = _lazy_greedy(problem.w_csr, k, must, problem.allowed)[0]
    greedy = [*must, *picks]
    solved = None
    if method == "exact":
        solved = _solve_exact(problem, start=greedy, time_limit=time_limit)
    if solved is not None and solved[1]:
        sites = _prefer_low_indices(problem, solved[0])
        return problem.result(sites, method="exact", bound=None)
    # Greedy by request, or CBC missing, failed or out of time; in the last
    # case CBC's best solution is kept when it beats the greedy one.
    bound = _greedy_bound(problem, picks)
    if solved is not None and problem.covered(solved[0]) > problem.covered(greedy):
        return problem.result(solved[0], method="exact", bound=bound)
    return problem.result(greedy, method="greedy", bound=bound)


def choose_sites(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    k: int,
    *,
    weight: str,
    radius_km: float | None = None,
    mandatory: Iterable[object] | None = None,
    forbidden: Iterable[object] | None = None,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, CoverResult]:
    """Choose ``k`` candidate rows that jointly reach the most demand weight.

    A convenience wrapper around :func:`coverage_matrix` and :func:`max_cover`
    for GeoDataFrames in any CRS: both layers are projected to the UTM zone of
    the demand layer, and polygons are represented by a point inside them.

    Parameters
    ----------
    demand : geopandas.GeoDataFrame
        Demand zones or points with a CRS and a weight column.
    candidates : geopandas.GeoDataFrame
        Candidate sites (points or zones) with a CRS.
    k : int
        Number of sites to choose.
    weight : str
        Column of ``demand`` holding the non-negative weight (e.g. white-space population).
    radius_km : float, optional
        Catchment radius; defaults to ``settings.ranking.catchment_km``.
    mandatory, forbidden : iterable of index labels of ``candidates``, optional
        Sites that must, or must not, be chosen.
    settings : Settings, optional
        Defaults for the radius, the exact-solver limit and CBC's time limit.

    Returns
    -------
    selected : geopandas.GeoDataFrame
        A copy of the chosen candidate rows, best first, with two added
        columns: ``cover_rank`` (1 = best) and ``cover_gain`` (weight the
        site adds to those ranked before it).
    result : CoverResult
        The full result; its indices are positions in ``candidates``.

    Raises
    ------
    ValueError
        If a layer has no CRS or empty geometries, ``weight`` is missing,
        ``candidates`` already has a ``cover_rank`` or ``cover_gain`` column,
        or a label in ``mandatory``/``forbidden`` is not in ``candidates``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> demand = gpd.GeoDataFrame(
    ...     {"people": [6, 4, 6]},
    ...     geometry=[Point(104.00, 30.60), Point(104.001, 30.60), Point(104.10, 30.60)],
    ...     crs="EPSG:4326",
    ... )
    >>> sites = gpd.GeoDataFrame(
    ...     {"zone_id": ["a", "b", "c"]},
    ...     geometry=[Point(104.0005, 30.60), Point(104.0006, 30.60), Point(104.10, 30.601)],
    ...     crs="EPSG:4326",
    ... )
    >>> chosen, result = choose_sites(demand, sites, 2, weight="people", radius_km=1.0)
    >>> chosen["zone_id"].tolist(), result.covered_weight
    (['a', 'c'], 16.0)
    """
    settings = settings or Settings()
    for name, layer in (("demand", demand), ("candidates", candidates)):
        if layer.crs is None:
            raise ValueError(f"{name} has no CRS; set one with {name}.set_crs('EPSG:4326')")
        empty = layer.geometry.isna() | layer.geometry.is_empty
        if empty.any():
            raise ValueError(
                f"{name} has {int(empty.sum())} rows without geometry (first: "
                f"{layer.index[empty.to_numpy()][0]!r}); drop them or locate them first"
            )
    if weight not in demand.columns:
        raise ValueError(f"demand has no column {weight!r}; columns are {list(demand.columns)}")
    clash = [c for c in ("cover_rank", "cover_gain") if c in candidates.columns]
    if clash:
        raise ValueError(
            f"candidates already has column(s) {clash}; rename or drop them before choosing sites"
        )
    radius_km = settings.ranking.catchment_km if radius_km is None else radius_km
    crs = demand.estimate_utm_crs()
    demand_xy = _representative_xy(demand.to_crs(crs))
    candidate_xy = _representative_xy(candidates.to_crs(crs))
    cover = coverage_matrix(demand_xy, candidate_xy, radius=float(radius_km) * 1000.0)
    result = max_cover(
        demand[weight].to_numpy(dtype=np.float64),
        cover,
        k,
        exact_limit=settings.ranking.cover_exact_limit,
        time_limit=settings.ranking.cover_time_limit_s,
        mandatory=_positions(candidates, mandatory, "mandatory"),
        forbidden=_positions(candidates, forbidden, "forbidden"),
    )
    chosen = candidates.iloc[list(result.selected)].copy()
    chosen["cover_rank"] = np.arange(1, len(chosen) + 1, dtype=np.int64)
    chosen["cover_gain"] = np.asarray(result.marginal_gain, dtype=np.float64)
    return chosen, result


# --------------------------------------------------------------------------
# The problem, reduced to what matters
# --------------------------------------------------------------------------


class _Problem:
    """A validated instance with the parts every method needs."""

    def __init__(
        self,
        w: np.ndarray,
        cover: sp.csr_matrix,
        k: int,
        must: list[int],
        never: list[int],
    ) -> None:
        n_cand, n_dem = cover.shape
        self.w = w
        self.k = k
        self.must = must
        self.total = float(w.sum())
        positive = w > 0
        # Coverage restricted to demand that counts, with the weights as data.
        w_csr = cover.multiply(w[np.newaxis, :]).tocsr()
        w_csr.eliminate_zeros()
        w_csr.sort_indices()
        self.w_csr = w_csr
        allowed = np.ones(n_cand, dtype=bool)
        allowed[never] = False
        self.allowed = allowed
        useful = allowed & (np.diff(w_csr.indptr) > 0)
        pool = np.flatnonzero(useful)
        if must:
            pool = np.union1d(pool, np.asarray(must, dtype=np.int64))
        self.pool = [int(i) for i in pool]
        reach = np.zeros(n_dem, dtype=bool)
        rows = w_csr[self.pool] if self.pool else None
        if rows is not None:
            reach[rows.indices] = True
        self.reach = reach & positive
        #: Weight reachable by some admissible site: a bound for any k.
        self.reachable = float(w[self.reach].sum())
        self._reduced: tuple[np.ndarray, sp.csr_matrix, np.ndarray] | None = None

    def reduced(self) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """Return the instance the models are built on, merged and trimmed.

        Returns ``(sites, incidence, weight)``: the candidate indices that
        enter the model (useful or mandatory), a boolean matrix groups x
        sites, and the weight of each group. A group is the set of demand
        points with positive weight reached by exactly the same sites.
        """
        import scipy.sparse as sp

        if self._reduced is None:
            cand = np.asarray(self.pool, dtype=np.int64)
            cols = self.w_csr[cand].tocsc()
            cols.sort_indices()
            index: dict[bytes, int] = {}
            rows: list[np.ndarray] = []
            weight: list[float] = []
            for j in np.flatnonzero(np.diff(cols.indptr) > 0):
                members = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
                key = members.tobytes()
                g = index.get(key)
                if g is None:
                    index[key] = len(rows)
                    rows.append(members)
                    weight.append(float(self.w[j]))
                else:
                    weight[g] += float(self.w[j])
            indptr = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum([len(r) for r in rows], out=indptr[1:])
            indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
            incidence = sp.csr_matrix(
                (np.ones(len(indices), dtype=bool), indices, indptr), shape=(len(rows), len(cand))
            )
            self._reduced = (cand, incidence, np.asarray(weight, dtype=np.float64))
        return self._reduced

    def covered(self, sites: Sequence[int]) -> float:
        mask = np.zeros(self.w_csr.shape[1], dtype=bool)
        for i in sites:
            mask[self.w_csr.indices[self.w_csr.indptr[i] : self.w_csr.indptr[i + 1]]] = True
        return float(self.w[mask].sum())

    def result(
        self, sites: Sequence[int], *, method: Literal["exact", "greedy"], bound: float | None
    ) -> CoverResult:
        """Order ``sites`` by marginal gain and package them with the bound.

        ``bound=None`` means ``sites`` is proven optimal.
        """
        sites = sorted(set(int(i) for i in sites))
        allowed = np.zeros(self.w_csr.shape[0], dtype=bool)
        allowed[sites] = True
        order, gains = _lazy_greedy(self.w_csr, len(sites), [], allowed)
        chosen = set(order)
        idle = [i for i in sites if i not in chosen and i in self.must]
        selected = tuple(order + idle)
        marginal = tuple(gains + [0.0] * len(idle))
        covered = self.covered(selected)
        upper = covered if bound is None else max(min(bound, self.reachable), covered)
        gap = 0.0 if upper <= 0 else max(0.0, (upper - covered) / upper)
        optimal = bound is None or gap <= _REL_TOL
        if optimal:
            upper, gap = covered, 0.0
        return CoverResult(
            selected=selected,
            covered_weight=covered,
            total_weight=self.total,
            upper_bound=float(upper),
            gap=float(gap),
            method=method,
            optimal=bool(optimal),
            marginal_gain=marginal,
        )


# --------------------------------------------------------------------------
# Greedy and its bound
# --------------------------------------------------------------------------


def _lazy_greedy(
    w_csr: sp.csr_matrix,
    k: int,
    start: Sequence[int],
    allowed: np.ndarray,
) -> tuple[list[int], list[float]]:
    """Add up to ``k - len(start)`` sites to ``start`` greedily (lazy evaluation).

    Returns the added sites and their marginal gains; stops early when no
    admissible site adds weight. Ties go to the lowest index: heap entries
    are ``(-gain, index)`` and an entry is taken only when its gain is fresh.
    """
    indptr, indices, data = w_csr.indptr, w_csr.indices, w_csr.data
    covered = np.zeros(w_csr.shape[1], dtype=bool)
    for i in start:
        covered[indices[indptr[i] : indptr[i + 1]]] = True
    taken = set(start)

    def gain(i: int) -> float:
        a, b = indptr[i], indptr[i + 1]
        return float(data[a:b][~covered[indices[a:b]]].sum())

    heap: list[tuple[float, int]] = []
    for i in np.flatnonzero(allowed & (np.diff(indptr) > 0)):
        i = int(i)
        if i in taken:
            continue
        g = gain(i)
        if g > 0:
            heap.append((-g, i))
    heapq.heapify(heap)
    fresh = dict.fromkeys((i for _, i in heap), 0)
    picks: list[int] = []
    gains: list[float] = []
    step = 0
    while heap and len(start) + len(picks) < k:
        neg, i = heapq.heappop(heap)
        if fresh[i] == step:
            picks.append(i)
            gains.append(-neg)
            covered[indices[indptr[i] : indptr[i + 1]]] = True
            step += 1
            continue
        g = gain(i)
        fresh[i] = step
        if g > 0:
            heapq.heappush(heap, (-g, i))
    return picks, gains


def _greedy_bound(problem: _Problem, picks: list[int]) -> float:
    """Return an upper bound on the optimum, using the greedy run ``picks``.

    Several valid bounds, the smallest is returned:

    - the weight reachable by any admissible site;
    - the online bound (Minoux; Leskovec et al. 2007): for every prefix S of
      the greedy run (mandatory sites first), OPT <= f(S) + the sum of the
      ``k - |mandatory|`` largest marginal gains with respect to S;
    - the classic greedy guarantee, f(G) >= f(M) + (1 - (1 - 1/r)^r) (OPT - f(M))
      with r = k - |mandatory| greedy picks;
    - a Lagrangian bound improved by subgradient steps (:func:`_lagrangian_bound`);
    - the LP relaxation (:func:`_lp_bound`), when the model is small enough
      for it to be quick (``_LP_BOUND_MAX_TERMS``).
    """
    import scipy.sparse as sp

    must = problem.must
    r = problem.k - len(must)
    bounds = [problem.reachable]
    if r <= 0:
        return problem.covered(must)
    w_csr = problem.w_csr
    allowed = problem.allowed.astype(np.float64)
    covered = np.zeros(w_csr.shape[1], dtype=bool)
    for i in must:
        covered[w_csr.indices[w_csr.indptr[i] : w_csr.indptr[i + 1]]] = True
    ones = sp.csr_matrix((np.ones_like(w_csr.data), w_csr.indices, w_csr.indptr), shape=w_csr.shape)
    for step in range(len(picks) + 1):
        left = np.where(covered, 0.0, problem.w)
        gains = (ones @ left) * allowed
        top = np.partition(gains, -r)[-r:] if r < len(gains) else gains
        bounds.append(float(problem.w[covered].sum() + top.sum()))
        if step < len(picks):
            i = picks[step]
            covered[w_csr.indices[w_csr.indptr[i] : w_csr.indptr[i + 1]]] = True
    base = problem.covered(must)
    final = problem.covered(list(must) + picks)
    if len(picks) == r:
        ratio = 1.0 - (1.0 - 1.0 / r) ** r
        bounds.append(base + (final - base) / ratio)
    bounds.append(_lagrangian_bound(problem, [*must, *picks]))
    if problem.reduced()[1].nnz <= _LP_BOUND_MAX_TERMS:
        lp = _lp_bound(problem)
        if lp is not None:
            bounds.append(lp)
    # Sums of thousands of floats: leave room for their rounding.
    return min(bounds) * (1.0 + _BOUND_SLACK)


def _lagrangian_bound(problem: _Problem, sites: Sequence[int]) -> float:
    """Return the best Lagrangian bound found by subgradient steps from ``sites``.

    Relaxing ``y_g <= sum_{i reaches g} x_i`` with multipliers ``lam_g >= 0``
    gives, for every ``lam``, the bound
    ``L(lam) = sum_g max(0, w_g - lam_g) + (mandatory + best k - |mandatory|
    sites by sum of lam over the groups they reach)``. Starting from
    ``lam_g = w_g`` on the groups ``sites`` leave uncovered, ``L`` equals the
    online bound at ``sites``; projected subgradient steps (Polyak step
    towards the covered weight of ``sites``) then lower it towards the LP
    bound. Every iterate is a valid bound, so the result never depends on
    convergence, and the steps are deterministic.
    """
    cand, incidence, weight = problem.reduced()
    if len(weight) == 0:
        return 0.0
    reach = incidence.T.tocsr().astype(np.float64)  # sites x groups
    fixed = np.flatnonzero(np.isin(cand, problem.must))
    free = np.flatnonzero(~np.isin(cand, problem.must))
    r = min(problem.k - len(fixed), len(free))
    start = np.isin(cand, np.asarray(sites, dtype=np.int64)).astype(np.float64)
    lam = np.where(incidence.astype(np.float64) @ start > 0, 0.0, weight)
    lower = problem.covered(sites)
    best = math.inf
    scale, stall = 2.0, 0
    for _ in range(_SUBGRADIENT_STEPS):
        score = reach @ lam
        top = free[np.argpartition(-score[free], r - 1)[:r]] if 0 < r < len(free) else free[:r]
        chosen = np.concatenate([fixed, top])
        value = float(np.maximum(weight - lam, 0.0).sum() + score[chosen].sum())
        if value < best:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= _SUBGRADIENT_PATIENCE:
                scale, stall = scale / 2, 0
        if best - lower <= _REL_TOL * best:
            break
        sub = np.asarray(reach[chosen].sum(axis=0)).ravel() - (weight > lam)
        norm = float(np.square(sub).sum())  # not sub @ sub: BLAS threads cost ms here
        if norm == 0:
            break
        lam = np.clip(lam - scale * (value - lower) / norm * sub, 0.0, weight)
    return best


def _lp_bound(problem: _Problem) -> float | None:
    """Return an upper bound from the LP relaxation (HiGHS via scipy), or None.

    The relaxation lets ``x`` take values in [0, 1]; its optimum bounds the
    integer optimum from above and is usually within a few percent of it.
    Rather than trusting the reported optimum, the bound is recomputed from
    the duals ``lam >= 0`` of the coverage and ``k`` rows: for any such
    ``lam``, ``b @ lam + sum_j max over [l_j, u_j] of (c - A.T @ lam)_j v_j``
    bounds the LP (weak duality), so solver tolerances cannot make it too small.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    cand, incidence, weight = problem.reduced()
    n_x, n_y = len(cand), len(weight)
    if n_y == 0:
        return 0.0
    # maximise weight @ y  s.t.  y_g - sum_{i reaches g} x_i <= 0,  sum_i x_i <= k
    a_groups = sp.hstack(
        [-incidence.astype(np.float64), sp.identity(n_y, format="csr", dtype=np.float64)],
        format="csr",
    )
    a_k = sp.csr_matrix(np.concatenate([np.ones(n_x), np.zeros(n_y)])[np.newaxis, :])
    a_ub = sp.vstack([a_groups, a_k], format="csr")
    b_ub = np.concatenate([np.zeros(n_y), [float(problem.k)]])
    lower = np.zeros(n_x + n_y)
    lower[np.searchsorted(cand, problem.must)] = 1.0
    upper = np.ones(n_x + n_y)
    gain = np.concatenate([np.zeros(n_x), weight])
    try:
        # Interior point (with crossover) was the fastest HiGHS method on
        # the benchmark instance; any duals give a valid bound below.
        res = linprog(
            -gain,
            A_ub=a_ub,
            b_ub=b_ub,
            bounds=np.column_stack([lower, upper]),
            method="highs-ipm",
        )
    except (ValueError, RuntimeError):  # pragma: no cover - defensive
        return None
    marginals = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if res.status != 0 or marginals is None:
        return None
    lam = np.clip(-np.asarray(marginals, dtype=np.float64), 0.0, None)
    reduced_gain = gain - a_ub.T @ lam
    best = np.where(reduced_gain > 0, reduced_gain * upper, reduced_gain * lower)
    return float(b_ub @ lam + best.sum())


def _prefer_low_indices(problem: _Problem, sites: Sequence[int]) -> list[int]:
    """Swap chosen sites for lower-indexed unchosen ones that cover as much.

    CBC returns one optimum among equally good ones. This makes the choice
    canonical: afterwards no chosen, non-mandatory site can be replaced by an
    admissible lower-indexed site without losing covered weight. Every swap
    lowers the sum of indices, so the loop ends.
    """
    import scipy.sparse as sp

    chosen = sorted(set(sites))
    must = set(problem.must)
    w_csr = problem.w_csr
    ones = sp.csr_matrix((np.ones_like(w_csr.data), w_csr.indices, w_csr.indptr), shape=w_csr.shape)
    # Equal up to rounding: sums of the same weights in another order.
    tol = _SWAP_TOL * problem.reachable
    changed = True
    while changed:
        changed = False
        for s in sorted(chosen, reverse=True):
            if s in must or s == 0:
                continue
            others = [i for i in chosen if i != s]
            covered = np.zeros(w_csr.shape[1], dtype=bool)
            for i in others:
                covered[w_csr.indices[w_csr.indptr[i] : w_csr.indptr[i + 1]]] = True
            gains = ones[: s + 1] @ np.where(covered, 0.0, problem.w)
            ok = (gains[:s] >= gains[s] - tol) & problem.allowed[:s]
            ok[[i for i in others if i < s]] = False
            lower = np.flatnonzero(ok)
            if len(lower):
                chosen = sorted([*others, int(lower[0])])
                changed = True
                break
    return chosen


# --------------------------------------------------------------------------
# The exact model
# --------------------------------------------------------------------------


def _solve_exact(
    problem: _Problem,
    *,
    start: Sequence[int],
    time_limit: float | None,
    timings: dict[str, float] | None = None,
) -> tuple[list[int], bool] | None:
    """Solve the reduced MCLP with CBC, starting from the sites ``start``.

    Returns ``(sites, proven_optimal)``, or None when CBC is unavailable,
    fails, or stops without a solution. ``timings``, if given, receives the
    seconds spent building the model (``"build"``) and in pulp's solve, that
    is writing the MPS file, running CBC and reading its solution (``"solve"``).
    """
    try:
        import pulp
    except ImportError:  # pragma: no cover - pulp is a dependency
        return None
    warm = sys.platform != "win32"  # pulp needs keepFiles for a MIP start on Windows
    solver = _cbc(pulp, time_limit=time_limit, warm_start=warm)
    if solver is None:
        return None
    clock = time.perf_counter()
    model, x_vars, y_vars, cand = _build_model(problem, pulp)
    if warm:
        _, incidence, _ = problem.reduced()
        x_start = np.isin(cand, np.asarray(start, dtype=np.int64))
        y_start = (incidence.astype(np.int64) @ x_start.astype(np.int64)) > 0
        for var, value in zip(x_vars, x_start.tolist(), strict=True):
            var.setInitialValue(int(value))
        for var, value in zip(y_vars, y_start.tolist(), strict=True):
            var.setInitialValue(int(value))
    built = time.perf_counter()
    try:
        model.solve(solver)
    except pulp.PulpSolverError:
        return None
    finally:
        if timings is not None:
            timings["build"] = built - clock
            timings["solve"] = time.perf_counter() - built
    if model.status != pulp.LpStatusOptimal:
        return None
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in x_vars])
    sites = [int(c) for c, v in zip(cand, values, strict=True) if v > 0.5]
    proven = model.sol_status == pulp.LpSolutionOptimal
    return sites, proven


def _cbc(
    pulp: object, *, time_limit: float | None, warm_start: bool = False
) -> pulp.LpSolver | None:
    """Return CBC as a pulp solver: pulp's bundled binary, else ``cbc`` on PATH.

    The bundled binary is driven through ``COIN_CMD`` because pulp 3.3
    deprecates the ``PULP_CBC_CMD`` wrapper around the same binary.
    """
    bundled = getattr(getattr(pulp, "PULP_CBC_CMD", None), "pulp_cbc_path", None)
    for path in (bundled, None):
        solver = pulp.COIN_CMD(path=path, msg=False, timeLimit=time_limit, warmStart=warm_start)
        if solver.available():
            return solver
    return None


def _build_model(
    problem: _Problem, pulp_module: object
) -> tuple[pulp.LpProblem, list, list, np.ndarray]:
    """Build the sparse MCLP over the useful sites and the demand they reach.

    Demand points reached by exactly the same sites share one ``y`` variable
    with their summed weight. Expressions are built from prebuilt
    ``(variable, coefficient)`` lists: pulp's operator overloading is far
    slower on models of this size.
    """
    pulp = pulp_module
    cand, incidence, group_weight = problem.reduced()
    group_rows = np.split(incidence.indices, incidence.indptr[1:-1])

    model = pulp.LpProblem("mclp", pulp.LpMaximize)
    add_var = _variable_factory(model, pulp)
    must = set(problem.must)
    # Integer in [0, 1] rather than LpBinary, which would reset a mandatory
    # site's lower bound of 1 to 0.
    x_vars = [add_var(f"x{c}", 1 if int(c) in must else 0, 1, pulp.LpInteger) for c in cand]
    y_vars = [add_var(f"y{g}", 0, 1, pulp.LpContinuous) for g in range(len(group_rows))]
    model.setObjective(
        pulp.LpAffineExpression(list(zip(y_vars, group_weight.tolist(), strict=True)))
    )
    constraints = {}
    for g, rows in enumerate(group_rows):
        terms = [(y_vars[g], 1.0)]
        terms.extend((x_vars[r], -1.0) for r in rows.tolist())
        constraints[f"c{g}"] = pulp.LpConstraint(
            pulp.LpAffineExpression(terms), sense=pulp.LpConstraintLE, rhs=0.0
        )
    sense = pulp.LpConstraintEQ if len(cand) >= problem.k else pulp.LpConstraintLE
    constraints["k"] = pulp.LpConstraint(
        pulp.LpAffineExpression([(x, 1.0) for x in x_vars]), sense=sense, rhs=float(problem.k)
    )
    for name, constraint in constraints.items():
        model.addConstraint(constraint, name)
    return model, x_vars, y_vars, cand


def _variable_factory(model: pulp.LpProblem, pulp: object):
    """Return ``f(name, low, up, cat)`` creating a variable the way this pulp prefers."""
    if hasattr(model, "add_variable"):
        return lambda name, low, up, cat: model.add_variable(name, low, up, cat)
    return lambda name, low, up, cat: pulp.LpVariable(name, low, up, cat)  # pragma: no cover


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _points(xy: object, name: str) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"{name} must have shape (n, 2) with x, y in metres, got shape {arr.shape}; "
            "e.g. np.column_stack([gdf.geometry.x, gdf.geometry.y]) after projecting"
        )
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(
            f"{name} has NaN or infinite coordinates (first at row {bad}); "
            "drop or locate those points first"
        )
    return arr


def _weights(weights: object) -> np.ndarray:
    w = np.array(weights, dtype=np.float64)  # a copy: never change the caller's array
    if w.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {w.shape}")
    if not np.isfinite(w).all():
        bad = int(np.flatnonzero(~np.isfinite(w))[0])
        raise ValueError(
            f"weights must be finite, found NaN or infinity at index {bad}; "
            "fill missing weights, e.g. np.nan_to_num(weights, nan=0.0)"
        )
    if (w < 0).any():
        neg = np.flatnonzero(w < 0)
        raise ValueError(
            f"weights must be non-negative, found {len(neg)} negative (first at index "
            f"{int(neg[0])}: {w[neg[0]]!r}); clip them with np.clip(weights, 0, None) "
            "or shift the score so that 0 means 'nothing to gain'"
        )
    return w


def _coverage(coverage: object, n_demand: int) -> sp.csr_matrix:
    import scipy.sparse as sp

    if sp.issparse(coverage):
        cover = sp.csr_matrix(coverage, dtype=bool)
    else:
        arr = np.asarray(coverage)
        if arr.ndim != 2:
            raise ValueError(
                f"coverage must be a 2-D matrix (candidates x demand), got shape {arr.shape}"
            )
        cover = sp.csr_matrix(arr.astype(bool))
    if cover.shape[1] != n_demand:
        hint = (
            "; it looks transposed, pass coverage.T"
            if cover.shape[0] == n_demand
            else "; build it with coverage_matrix(demand_xy, candidate_xy, radius=...)"
        )
        raise ValueError(
            f"coverage has shape {cover.shape} but weights has {n_demand} entries: "
            f"coverage must be candidates x demand, one column per weight{hint}"
        )
    cover.sum_duplicates()
    cover.eliminate_zeros()
    cover.sort_indices()
    return cover


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}; pass how many sites to choose")
    return int(value)


def _indices(values: Iterable[int] | None, n: int, name: str) -> list[int]:
    if values is None:
        return []
    out: list[int] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise ValueError(f"{name} must hold candidate indices (int), got {v!r}")
        if not 0 <= v < n:
            raise ValueError(
                f"{name} index {int(v)} is out of range for {n} candidates; "
                f"use row positions 0..{n - 1} of the coverage matrix"
            )
        out.append(int(v))
    return sorted(set(out))


def _representative_xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    points = gdf.geometry.representative_point()  # a point stays itself
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


def _positions(
    candidates: gpd.GeoDataFrame, labels: Iterable[object] | None, name: str
) -> list[int] | None:
    if labels is None:
        return None
    labels = list(labels)
    if not candidates.index.is_unique:
        raise ValueError(
            f"{name} needs a unique candidates index; call candidates.reset_index() first"
        )
    missing = [lab for lab in labels if lab not in candidates.index]
    if missing:
        raise ValueError(
            f"{name} labels {missing} are not in the candidates' index; "
            "pass index labels of the candidates GeoDataFrame"
        )
    return [int(candidates.index.get_loc(lab)) for lab in labels]

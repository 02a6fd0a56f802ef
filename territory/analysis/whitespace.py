"""Look-alike white space (相对空白区域) and its candidate areas.

A zone is white space when it holds fewer existing customers than zones
like it hold. "Zones like it" is a count model: a Poisson GLM of customers
per person on the zone's density, income and type and a cubic spline of its
distance to the dealer (a dealer's customers thin out with distance, rarely
along a straight line in any transform), fitted with population as
exposure. Predictions are **cross-fitted**: each
zone's expectation comes from a model trained on the other folds, so a
zone's own count never predicts itself.

How sure we are matters as much as the gap: a zone of 500 people with no
customers is not white space. The out-of-fold residuals give the
over-dispersion of counts (a negative binomial with that dispersion), and
``confidence`` is the probability that a zone like this would hold more
customers than this one does. ``whitespace_score`` ranks zones by the
customers they are confidently missing (``shortfall × confidence``),
scaled to 0–1.

Cold start: with (almost) no customers there is nothing to learn from; the
ranking is then population × r_score and the result says so
(``mode = "cold_start"``).

Adjacent white-space zones are clustered into contiguous **candidate
areas** on the zone adjacency graph: connected groups of white-space zones,
bisected by adjacency-constrained Ward clustering until no area's zone
centres spread wider than ``max_area_km`` (every piece stays contiguous).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.inputs import coords
from territory.settings import Settings, WhitespaceSettings
from territory.vocab import ZONE_TYPES

if TYPE_CHECKING:
    from scipy import sparse

# scipy and scikit-learn are imported where they are used: they take seconds to import, and
# a precomputed analysis (the app's cold start) is read back without them.

__all__ = [
    "WhitespaceResult",
    "adjacency",
    "candidate_areas",
    "expected_customers",
    "whitespace",
]


@dataclass
class WhitespaceResult:
    """Per-zone white-space figures and the candidate areas.

    ``zones`` is aligned to the input index with columns
    ``expected_customers``, ``shortfall``, ``confidence``,
    ``whitespace_raw`` and ``whitespace_score``; ``areas`` has one row per
    candidate area, most promising first.
    """

    mode: str
    zones: pd.DataFrame
    areas: gpd.GeoDataFrame
    dispersion: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: The Huff fit (:class:`territory.analysis.huff.HuffFit`) behind the zones' ``share``,
    #: which scales the population exposed; None when no share was given.
    huff: object | None = None


def _features(frame: pd.DataFrame) -> np.ndarray:
    """Zone features except distance (log density, log income, zone type)."""
    dens = np.log1p(frame["density"].fillna(0).clip(lower=0).to_numpy())
    inc = np.log(frame["income"].astype("float64").clip(lower=1).to_numpy())
    types = [
        (frame["zone_type"] == code).to_numpy(dtype="float64")
        for code in ZONE_TYPES
        if code != "other"
    ]
    return np.column_stack([dens, inc, *types])


def _fold_design(x: np.ndarray, d: np.ndarray, train: np.ndarray, knots: int) -> np.ndarray:
    """Features plus a cubic spline of distance whose knots come from the training fold."""
    from sklearn.preprocessing import SplineTransformer

    spline = SplineTransformer(n_knots=knots, degree=3, extrapolation="constant")
    spline.fit(d[train, None])
    return np.column_stack([x, spline.transform(d[:, None])])


def expected_customers(
    frame: pd.DataFrame, *, settings: WhitespaceSettings | None = None
) -> tuple[pd.Series, float]:
    """Cross-fitted expected customers per zone and the NB dispersion α.

    ``frame`` needs ``customers``, ``population``, ``density``, ``income``,
    ``distance_km`` and ``zone_type``; an optional ``share`` (the dealer's
    share of the zone's buyers against competitor showrooms) scales the
    population exposed. Zones without population expect 0.
    α is the method-of-moments estimate of var = μ + αμ² from the
    out-of-fold predictions (0 when counts are not over-dispersed).
    """
    from sklearn.linear_model import PoissonRegressor
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from territory.analysis.threads import one_thread

    s = settings or WhitespaceSettings()
    y = frame["customers"].astype("float64").to_numpy()
    pop = frame["population"].astype("float64").to_numpy()
    share_col = "share_used" if "share_used" in frame else "share" if "share" in frame else None
    if share_col is not None:
        # The dealer's Huff share of the zone's buyers (competitor showrooms): exposure.
        pop = pop * frame[share_col].astype("float64").fillna(1.0).clip(0, 1).to_numpy()
    base = _features(frame)
    dist = frame["distance_km"].astype("float64").to_numpy()
    usable = np.flatnonzero((pop > 0) & np.isfinite(base).all(axis=1) & np.isfinite(dist))
    mu = np.zeros(len(frame))
    if len(usable) < 4:
        return pd.Series(mu, index=frame.index, name="expected_customers"), 0.0
    folds = min(s.folds, len(usable))
    splitter = KFold(n_splits=folds, shuffle=True, random_state=s.random_state)
    rate = np.divide(y, pop, out=np.zeros_like(y), where=pop > 0)
    with one_thread():  # a few thousand zones: threads cost more than they save
        for train, test in splitter.split(usable):
            tr, te = usable[train], usable[test]
            X = _fold_design(base, dist, tr, s.distance_knots)
            scaler = StandardScaler().fit(X[tr])
            model = PoissonRegressor(alpha=s.alpha, max_iter=1000)
            # Rates relative to the fold's mean rate: scikit-learn averages the deviance
            # over the (normalised) weights, so on raw rates of a few per thousand the
            # penalty would swamp the data and every zone would expect the mean.
            scale = float(np.average(rate[tr], weights=pop[tr])) or 1.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lbfgs convergence chatter on tiny folds
                model.fit(scaler.transform(X[tr]), rate[tr] / scale, sample_weight=pop[tr])
            # No extrapolation: a zone unlike every training zone is judged at the
            # edge of what the model has seen.
            x_test = np.clip(X[te], X[tr].min(axis=0), X[tr].max(axis=0))
            mu[te] = model.predict(scaler.transform(x_test)) * scale * pop[te]
    used = usable[mu[usable] > 0]
    alpha = 0.0
    if len(used):
        num = float(np.sum((y[used] - mu[used]) ** 2 - y[used]))
        den = float(np.sum(mu[used] ** 2))
        alpha = max(num / den, 0.0) if den > 0 else 0.0
    return pd.Series(mu, index=frame.index, name="expected_customers"), alpha


def _confidence(observed: np.ndarray, mu: np.ndarray, alpha: float) -> np.ndarray:
    """P(a zone like this holds more customers than observed)."""
    from scipy import stats

    out = np.zeros(len(mu))
    ok = mu > 0
    if alpha > 0:
        k = 1.0 / alpha
        p = k / (k + mu[ok])
        out[ok] = stats.nbinom.sf(observed[ok], k, p)
    else:
        out[ok] = stats.poisson.sf(observed[ok], mu[ok])
    return out


def whitespace(
    frame: gpd.GeoDataFrame,
    *,
    total_customers: int | None = None,
    settings: Settings | None = None,
    projected: gpd.GeoSeries | None = None,
) -> WhitespaceResult:
    """White-space figures for zones and their candidate areas.

    Parameters
    ----------
    frame
        Zones with ``zone_id``, ``population``, ``density``, ``income``,
        ``distance_km``, ``zone_type``, ``customers``, ``r_score``,
        ``in_influence_area`` and geometry (WGS-84).
    total_customers
        The dealer's located customers (defaults to the sum of
        ``customers``); below ``settings.whitespace.cold_start_customers`` the
        cold-start ranking is used.
    projected
        The zones' geometry in a projected CRS (metres), if already at hand.
    """
    settings = settings or Settings()
    s = settings.whitespace
    total = int(frame["customers"].sum()) if total_customers is None else int(total_customers)
    out = pd.DataFrame(index=frame.index)
    notes: list[str] = []
    if total < s.cold_start_customers:
        mode = "cold_start"
        raw = frame["population"].astype("float64") * frame["r_score"].fillna(0)
        out["expected_customers"] = np.nan
        out["shortfall"] = np.nan
        out["confidence"] = np.nan
        out["whitespace_raw"] = raw
        alpha = 0.0
        notes.append("cold_start")
    else:
        mode = "lookalike"
        mu, alpha = expected_customers(frame, settings=s)
        observed = frame["customers"].astype("float64").to_numpy()
        conf = _confidence(observed, mu.to_numpy(), alpha)
        shortfall = np.clip(mu.to_numpy() - observed, 0, None)
        raw = shortfall * conf
        raw[mu.to_numpy() < s.min_expected] = 0.0
        out["expected_customers"] = mu
        out["shortfall"] = shortfall
        out["confidence"] = conf
        out["whitespace_raw"] = raw
    top = float(out["whitespace_raw"].max()) if len(out) else 0.0
    out["whitespace_score"] = out["whitespace_raw"] / top if top > 0 else 0.0
    areas = candidate_areas(frame.join(out), mode=mode, settings=settings, projected=projected)
    return WhitespaceResult(mode=mode, zones=out, areas=areas, dispersion=alpha, notes=notes)


def adjacency(geoms: gpd.GeoSeries, *, tolerance_m: float) -> sparse.csr_matrix:
    """Symmetric zone adjacency (touching within ``tolerance_m``) as a sparse matrix.

    ``geoms`` must be in a projected CRS (metres).
    """
    from scipy import sparse

    values = np.asarray(geoms.values, dtype=object)
    n = len(values)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    tree = shapely.STRtree(values)
    left, right = tree.query(values, predicate="dwithin", distance=tolerance_m)
    keep = left != right
    data = np.ones(int(keep.sum()))
    matrix = sparse.coo_matrix((data, (left[keep], right[keep])), shape=(n, n)).tocsr()
    return ((matrix + matrix.T) > 0).astype("int8")


def _split(
    members: np.ndarray, xy: np.ndarray, adj: sparse.csr_matrix, limit: float
) -> list[np.ndarray]:
    """Bisect a connected set of zones (Ward, adjacency-constrained) until each piece is narrower than ``limit``."""
    from sklearn.cluster import AgglomerativeClustering

    if len(members) == 1 or np.ptp(xy[members], axis=0).max() <= limit:
        return [members]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = (
            AgglomerativeClustering(
                n_clusters=2, connectivity=adj[members][:, members], linkage="ward"
            )
            .fit(xy[members])
            .labels_
        )
    if labels.min() == labels.max():  # cannot split further
        return [members]
    return [part for k in (0, 1) for part in _split(members[labels == k], xy, adj, limit)]


def _nansum(values: np.ndarray):
    """``Series.sum()`` of a plain numeric array: NaN skipped (as 0), the same summation."""
    return np.nansum(values) if values.dtype.kind == "f" else values.sum()


def _area_sums(frame: pd.DataFrame, columns: list[str]) -> dict:
    """Per-column ``f(positions) -> sum`` equal to ``frame[column].iloc[positions].sum()``.

    Plain numeric columns are summed in NumPy (no frame taken per area);
    others (nullable, object) keep pandas' own sum.
    """
    out = {}
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "if":
            values = series.to_numpy()
            out[column] = lambda idx, v=values: _nansum(v[idx])
        else:
            out[column] = lambda idx, s=series: s.iloc[idx].sum()
    return out


def candidate_areas(
    zones: gpd.GeoDataFrame,
    *,
    mode: str = "lookalike",
    settings: Settings | None = None,
    projected: gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Cluster adjacent white-space zones into contiguous candidate areas.

    A zone is a candidate when it lies in the influence area, is affordable
    (R no higher than ``target_r × affordable_r_factor``: people can pay for
    the car; a low R is affordable too) and, in look-alike mode, is confidently
    short of customers (``confidence ≥ min_confidence`` and ``shortfall ≥
    min_shortfall``); in cold-start mode, when it is in the top
    ``top_share`` by population × r_score. Returns one row per area with
    ``area_id``, ``zone_ids`` (best first), ``population``, ``customers``,
    ``expected_customers``, ``shortfall``, ``score``, ``lon``, ``lat`` and
    the dissolved geometry, most promising first.
    """
    from scipy import sparse

    settings = settings or Settings()
    s = settings.whitespace
    columns = [
        "area_id",
        "zone_ids",
        "population",
        "customers",
        "expected_customers",
        "shortfall",
        "score",
        "lon",
        "lat",
    ]
    empty = gpd.GeoDataFrame(
        {c: [] for c in columns}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326"
    )
    max_r = settings.scoring.target_r * s.affordable_r_factor
    base = zones["in_influence_area"].fillna(False).astype(bool) & (
        zones["r_value"] <= max_r
    ).fillna(False)
    if mode == "cold_start":
        ranked = zones.loc[base, "whitespace_raw"]
        cut = ranked.quantile(1 - s.top_share) if len(ranked) else np.inf
        chosen = base & (zones["whitespace_raw"] >= cut) & (zones["whitespace_raw"] > 0)
    else:
        chosen = (
            base
            & (zones["confidence"].fillna(0) >= s.min_confidence)
            & (zones["shortfall"].fillna(0) >= s.min_shortfall)
        )
    picked = zones[chosen]
    if picked.empty:
        return empty
    if projected is not None and projected.crs is not None and projected.crs.is_projected:
        crs = projected.crs
        projected = projected.loc[picked.index]
    else:
        bounds = picked.total_bounds
        crs = coords.local_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        projected = picked.geometry.to_crs(crs)
    adj = adjacency(projected, tolerance_m=s.adjacency_tolerance_m)
    n_comp, comp = sparse.csgraph.connected_components(adj, directed=False)
    centres = projected.centroid
    xy = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
    limit = s.max_area_km * 1000.0
    pieces: list[np.ndarray] = []
    for c in range(n_comp):
        pieces.extend(_split(np.flatnonzero(comp == c), xy, adj, limit))
    labels = np.empty(len(picked), dtype="int64")
    for label, members in enumerate(pieces):
        labels[members] = label

    score_col = "whitespace_raw"
    records = []
    geoms = []
    weights = picked["population"].astype("float64").to_numpy()
    total = _area_sums(
        picked, ["population", "customers", "expected_customers", "shortfall", score_col]
    )
    scores = picked[score_col].to_numpy()
    zone_ids = picked["zone_id"].to_numpy()
    shapes = np.asarray(projected.values, dtype=object)
    # Each area's members in ascending order, as np.flatnonzero(labels == label) gives them.
    by_label = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[by_label])) + 1
    for idx in np.split(by_label, cuts):
        order = np.argsort(-scores[idx], kind="stable")
        w = weights[idx]
        cx, cy = np.average(xy[idx], axis=0, weights=w) if w.sum() > 0 else xy[idx].mean(axis=0)
        records.append(
            {
                "zone_ids": [str(z) for z in zone_ids[idx][order]],
                "population": int(total["population"](idx)),
                "customers": int(total["customers"](idx)),
                "expected_customers": float(total["expected_customers"](idx))
                if mode != "cold_start"
                else None,
                "shortfall": float(total["shortfall"](idx)) if mode != "cold_start" else None,
                "score": float(total[score_col](idx)),
                "_x": cx,
                "_y": cy,
            }
        )
        geoms.append(shapely.union_all(shapes[idx]))
    frame = pd.DataFrame.from_records(records)
    lonlat = gpd.GeoSeries.from_xy(frame["_x"], frame["_y"], crs=crs).to_crs("EPSG:4326")
    frame["lon"] = lonlat.x.to_numpy()
    frame["lat"] = lonlat.y.to_numpy()
    out = gpd.GeoDataFrame(
        frame.drop(columns=["_x", "_y"]),
        geometry=gpd.GeoSeries(geoms, crs=crs).to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "area_id", [f"A{i + 1}" for i in range(len(out))])
    return out

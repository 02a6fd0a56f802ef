"""Gaps: white space no dealer reaches, and where K new outlets would reach most of it.

A zone beyond every dealer's reach has few customers because nobody sells
there, not because nobody would buy. What it *would* hold is read from the
zones the network does serve: a Poisson GLM of customers per person (all
dealers' customers living in the zone) on the zone's density, income and
type and a spline of its distance to the nearest dealer — the white-space
model of :mod:`territory.analysis.whitespace`, with the same features — is
fitted on the served zones, and an unserved zone's ``expected_customers``
is its prediction at the typical distance of a served zone
(``reference_km``: the population-weighted median). As for a dealer, the
shortfall is expected − observed, ``confidence`` the negative-binomial
probability that a zone like this would hold more customers than it does,
and a zone is gap white space when it is affordable, confidently short and
expects at least ``min_expected`` customers (``settings.whitespace``).

Gap zones are clustered into contiguous areas with the dealers' own
:func:`~territory.analysis.whitespace.candidate_areas` (no wider than
``settings.network.gap_area_km``), in batches of :data:`GAP_BATCH_ZONES`
neighbouring gap zones (runs along a Hilbert curve), each in its own local
projection: a nation's unserved west is one connected sprawl of tens of
thousands of zones, which one clustering would take hours over, while
batches cluster in seconds and run as parallel tasks (``map_groups``). An
area never crosses a batch boundary. Areas are ranked best first. Then ``gap_outlets`` new
outlet locations are chosen **jointly** with the covering solver
(:func:`territory.outreach.covering.max_cover`): the K gap zones whose reach
(``outlet_radius_km``, by default the network's median reach) together
covers the most missing customers.

Examples
--------
>>> import numpy as np
>>> reference_km(np.array([1.0, 5.0, 9.0]), np.array([10, 1000, 10]))
5.0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from territory.analysis.whitespace import _confidence, _features, candidate_areas
from territory.inputs import coords
from territory.network.areas import EARTH_KM, nearest_dealer
from territory.settings import Settings

__all__ = ["GapResult", "find_gaps", "group_areas", "potential", "reference_km"]

#: Gap zones clustered together in one batch (see the module notes).
GAP_BATCH_ZONES = 400


@dataclass
class GapResult:
    """Gap white space and the joint choice of new outlets.

    ``zones`` holds every unserved zone's ``expected_customers``,
    ``shortfall``, ``confidence``, ``whitespace_raw`` and ``gap`` (chosen as
    gap white space); ``areas`` the gap areas, best first; ``outlets`` the
    chosen new outlet zones with what each adds.
    """

    zones: pd.DataFrame
    areas: gpd.GeoDataFrame
    outlets: pd.DataFrame
    reference_km: float | None
    dispersion: float
    covering: dict | None = None
    notes: list[str] = field(default_factory=list)


def reference_km(distance_km: np.ndarray, population: np.ndarray) -> float:
    """The population-weighted median distance of served zones to their dealer."""
    order = np.argsort(distance_km, kind="stable")
    d = np.asarray(distance_km, dtype="float64")[order]
    w = np.asarray(population, dtype="float64")[order]
    if w.sum() <= 0:
        return float(np.median(d)) if len(d) else 0.0
    cum = np.cumsum(w)
    return float(d[np.searchsorted(cum, cum[-1] / 2.0)])


def potential(
    frame: pd.DataFrame, served: np.ndarray, *, settings: Settings
) -> tuple[np.ndarray, float, float | None]:
    """Expected customers of every zone as if served at the typical distance.

    ``frame`` needs ``customers``, ``population``, ``density``, ``income``,
    ``zone_type`` and ``distance_km`` (to the nearest dealer). The GLM is
    fitted on the ``served`` zones with population. Served zones are
    predicted at their own distance, the others at :func:`reference_km`.
    Returns (expected, dispersion α, reference km); zeros when fewer than 4
    served zones can be used.
    """
    from sklearn.linear_model import PoissonRegressor
    from sklearn.preprocessing import SplineTransformer, StandardScaler

    from territory.analysis.threads import one_thread

    s = settings.whitespace
    y = frame["customers"].to_numpy(dtype="float64")
    pop = frame["population"].to_numpy(dtype="float64")
    x = _features(frame)
    dist = frame["distance_km"].to_numpy(dtype="float64")
    train = np.flatnonzero(served & (pop > 0) & np.isfinite(x).all(axis=1) & np.isfinite(dist))
    mu = np.zeros(len(frame))
    if len(train) < 4:
        return mu, 0.0, None
    ref = reference_km(dist[train], pop[train])
    at = np.where(served, dist, ref)
    spline = SplineTransformer(n_knots=s.distance_knots, degree=3, extrapolation="constant")
    spline.fit(dist[train, None])
    design = np.column_stack([x, spline.transform(np.nan_to_num(at)[:, None])])
    scaler = StandardScaler().fit(design[train])
    rate = np.divide(y, pop, out=np.zeros_like(y), where=pop > 0)
    with one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence chatter
        model = PoissonRegressor(alpha=s.alpha, max_iter=1000)
        model.fit(scaler.transform(design[train]), rate[train], sample_weight=pop[train])
    ok = (pop > 0) & np.isfinite(design).all(axis=1)
    clipped = np.clip(design[ok], design[train].min(axis=0), design[train].max(axis=0))
    mu[ok] = model.predict(scaler.transform(clipped)) * pop[ok]
    fitted = mu[train]
    num = float(np.sum((y[train] - fitted) ** 2 - y[train]))
    den = float(np.sum(fitted**2))
    alpha = max(num / den, 0.0) if den > 0 else 0.0
    return mu, alpha, ref


def _groups(picked: gpd.GeoDataFrame) -> np.ndarray:
    """Batch label of each gap zone: runs of :data:`GAP_BATCH_ZONES` along a Hilbert curve."""
    n = len(picked)
    if n == 0:
        return np.zeros(0, dtype="int64")
    centres = gpd.GeoSeries(shapely.centroid(np.asarray(picked.geometry.values, dtype=object)))
    minx, miny, maxx, maxy = centres.total_bounds
    pad = 1e-6
    distance = centres.hilbert_distance(
        total_bounds=(minx - pad, miny - pad, maxx + pad, maxy + pad), level=16
    ).to_numpy()
    labels = np.empty(n, dtype="int64")
    labels[np.argsort(distance, kind="stable")] = np.arange(n) // GAP_BATCH_ZONES
    return labels


def find_gaps(
    zones: gpd.GeoDataFrame,
    *,
    served: np.ndarray,
    customers: np.ndarray,
    dealers: pd.DataFrame,
    settings: Settings,
    price: float,
    map_groups=None,
) -> GapResult:
    """Gap white space, its areas and the joint choice of new outlets.

    Parameters
    ----------
    zones
        Every zone of the network (EPSG:4326).
    served
        Whether each zone is in some dealer's responsibility area.
    customers
        All the network's customers living in each zone (any dealer).
    dealers
        The network's dealers (``dealer_id``, ``lon``, ``lat``, ``radius_km``).
    price
        The car price for the gaps' R value (the network's median price).
    map_groups
        ``f(function, batches) -> results`` running :func:`group_areas` on
        batches of zone groups (the engine passes a Dask one); default: in turn.
    """
    from territory.analysis import scoring
    from territory.outreach.covering import max_cover

    s = settings.whitespace
    frame = pd.DataFrame(
        {
            "zone_id": zones["zone_id"].to_numpy(dtype=object),
            "name": zones["name"].to_numpy(dtype=object),
            "district": zones["district"].to_numpy(dtype=object),
            "zone_type": zones["zone_type"].to_numpy(dtype=object),
            "population": zones["population"].to_numpy(dtype="int64"),
            "income": zones["income"].to_numpy(dtype="float64"),
            "customers": np.asarray(customers, dtype="int64"),
        }
    )
    area = zones.geometry.to_crs("EPSG:6933").area.to_numpy() / 1e6  # equal-area, km²
    frame["area_km2"] = area
    frame["density"] = scoring.density(frame["population"], frame["area_km2"])
    centres = shapely.centroid(np.asarray(zones.geometry.values, dtype=object))
    lon, lat = shapely.get_x(centres), shapely.get_y(centres)
    nearest, km = nearest_dealer(lon, lat, dealers)
    frame["distance_km"] = km
    frame["nearest_dealer"] = dealers["dealer_id"].to_numpy(dtype=object)[np.maximum(nearest, 0)]
    frame["r_value"] = scoring.r_value(frame["income"], price=price)
    mu, alpha, ref = potential(frame, served, settings=settings)
    observed = frame["customers"].to_numpy(dtype="float64")
    frame["expected_customers"] = mu
    frame["shortfall"] = np.clip(mu - observed, 0, None)
    frame["confidence"] = _confidence(observed, mu, alpha)
    raw = frame["shortfall"].to_numpy() * frame["confidence"].to_numpy()
    raw[mu < s.min_expected] = 0.0
    frame["whitespace_raw"] = raw
    unserved = ~np.asarray(served, dtype=bool)
    frame["in_influence_area"] = unserved  # candidate_areas looks only at these
    max_r = settings.scoring.target_r * s.affordable_r_factor
    frame["gap"] = (
        unserved
        & (frame["r_value"] <= max_r).to_numpy()
        & (frame["confidence"] >= s.min_confidence).to_numpy()
        & (frame["shortfall"] >= s.min_shortfall).to_numpy()
        & (raw > 0)
    )
    notes = [] if ref is not None else ["too_few_served"]
    gdf = gpd.GeoDataFrame(frame, geometry=zones.geometry.values, crs="EPSG:4326")
    areas = _areas(gdf[frame["gap"].to_numpy()], settings, map_groups)
    if len(areas):
        near, near_km = nearest_dealer(areas["lon"].to_numpy(), areas["lat"].to_numpy(), dealers)
        areas["nearest_dealer_km"] = near_km
        areas["nearest_dealer"] = dealers["dealer_id"].to_numpy(dtype=object)[near]
    else:
        areas["nearest_dealer_km"] = pd.Series([], dtype="float64")
        areas["nearest_dealer"] = pd.Series([], dtype=object)

    outlets, covering = _outlets(gdf, areas, dealers, settings, max_cover)
    keep = frame[unserved].drop(columns=["in_influence_area"])
    return GapResult(
        zones=keep.reset_index(drop=True),
        areas=areas,
        outlets=outlets,
        reference_km=ref,
        dispersion=alpha,
        covering=covering,
        notes=notes,
    )


def group_areas(groups: list[gpd.GeoDataFrame], settings: Settings) -> list[gpd.GeoDataFrame]:
    """Candidate areas of each batch of gap zones, each in its own local projection (a task)."""
    gap_settings = settings.merged({"whitespace": {"max_area_km": settings.network.gap_area_km}})
    out = []
    for group in groups:
        bounds = group.total_bounds
        crs = coords.local_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        found = candidate_areas(
            group, mode="lookalike", settings=gap_settings, projected=group.geometry.to_crs(crs)
        )
        if len(found):
            out.append(found.drop(columns="area_id"))
    return out


#: Batches per task when the engine spreads the gap areas over workers.
GROUPS_PER_TASK = 4


def _areas(picked: gpd.GeoDataFrame, settings: Settings, map_groups=None) -> gpd.GeoDataFrame:
    """Gap areas: candidate areas per group of gap zones, best first, numbered G1, G2 ..."""
    parts: list[gpd.GeoDataFrame] = []
    if len(picked):
        labels = _groups(picked)
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        groups = [picked.iloc[idx] for idx in np.split(order, bounds)]
        batches = [groups[i : i + GROUPS_PER_TASK] for i in range(0, len(groups), GROUPS_PER_TASK)]
        if map_groups is None:
            results = [group_areas(batch, settings) for batch in batches]
        else:
            results = map_groups(group_areas, batches, settings)
        parts = [frame for result in results for frame in result]
    if not parts:
        columns = (
            "gap_id",
            "zone_ids",
            "population",
            "customers",
            "expected_customers",
            "shortfall",
            "score",
            "lon",
            "lat",
        )
        return gpd.GeoDataFrame(
            {c: [] for c in columns}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326"
        )
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["score", "lon", "lat"], ascending=[False, True, True], kind="stable")
    out = out.reset_index(drop=True)
    out.insert(0, "gap_id", [f"G{i + 1}" for i in range(len(out))])
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _outlets(gdf, areas, dealers, settings, max_cover):
    """K new outlets chosen jointly over the gap zones (maximal covering)."""
    ns = settings.network
    columns = [
        "rank",
        "zone_id",
        "name",
        "lon",
        "lat",
        "gap_ids",
        "covered_zone_ids",
        "covered_population",
        "covered_expected_customers",
        "covered_shortfall",
        "marginal_shortfall",
        "nearest_dealer_km",
    ]
    empty = pd.DataFrame({c: [] for c in columns})
    gap = gdf[gdf["gap"].to_numpy()]
    k = int(ns.gap_outlets)
    if gap.empty or k <= 0:
        return empty, None
    radius = ns.outlet_radius_km or float(np.median(dealers["radius_km"]))
    pts = shapely.point_on_surface(np.asarray(gap.geometry.values, dtype=object))
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    from sklearn.neighbors import BallTree

    xy = np.radians(np.column_stack([lat, lon]))
    tree = BallTree(xy, metric="haversine")
    hits = tree.query_radius(xy, r=radius / EARTH_KM)
    rows = np.repeat(np.arange(len(hits)), [len(h) for h in hits])
    cols = np.concatenate(hits) if len(hits) else np.zeros(0, dtype="int64")
    cover = sparse.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(gap), len(gap))
    )
    weights = gap["whitespace_raw"].to_numpy(dtype="float64")
    reach = np.asarray(cover @ weights).ravel()
    pool = max(settings.ranking.candidate_pool, 10 * k)
    cand = np.argsort(-reach, kind="stable")[:pool]
    rs = settings.ranking
    result = max_cover(
        weights,
        cover[cand],
        min(k, len(cand)),
        exact_limit=rs.cover_exact_limit,
        time_limit=rs.cover_time_limit_s,
    )
    zone_gap = {}
    for area in areas.itertuples(index=False):
        for z in area.zone_ids:
            zone_gap[z] = area.gap_id
    records = []
    covered = np.zeros(len(gap), dtype=bool)
    _, near_km = nearest_dealer(lon, lat, dealers)
    for rank, (i, gain) in enumerate(zip(result.selected, result.marginal_gain, strict=True), 1):
        site = int(cand[i])
        reached = cover[site].indices
        covered[reached] = True
        z = gap.iloc[reached]
        records.append(
            {
                "rank": rank,
                "zone_id": str(gap["zone_id"].iloc[site]),
                "name": str(gap["name"].iloc[site]),
                "lon": float(lon[site]),
                "lat": float(lat[site]),
                "gap_ids": sorted({zone_gap[zid] for zid in z["zone_id"] if zid in zone_gap}),
                "covered_zone_ids": [str(v) for v in z["zone_id"]],
                "covered_population": int(z["population"].sum()),
                "covered_expected_customers": float(z["expected_customers"].sum()),
                "covered_shortfall": float(z["shortfall"].sum()),
                "marginal_shortfall": float(gain),
                "nearest_dealer_km": float(near_km[site]),
            }
        )
    covering = {
        "method": result.method,
        "optimal": result.optimal,
        "gap": result.gap,
        "covered_weight": result.covered_weight,
        "total_weight": result.total_weight,
        "upper_bound": result.upper_bound,
        "radius_km": radius,
    }
    return (pd.DataFrame.from_records(records) if records else empty), covering

"""The dealer's sales influence area (销售影响范围): distances and rings.

Distances are straight-line, measured in the local UTM projection between
the dealer and each zone's centroid (for a zone the dealer sits in, 0). The
``method`` keyword leaves room for drive-time areas later: a function
registered in :data:`DISTANCE_METHODS` can return travel times instead.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> zones = gpd.GeoDataFrame({"zone_id": ["a", "b"]},
...     geometry=[box(104.00, 30.60, 104.01, 30.61), box(104.20, 30.60, 104.21, 30.61)], crs=4326)
>>> d = zone_distance_km(zones, lon=104.005, lat=30.605)
>>> d.round(1).tolist()
[0.0, 19.2]
>>> in_influence_area(d, radius_km=15).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from territory.inputs import coords

__all__ = [
    "DISTANCE_METHODS",
    "in_influence_area",
    "influence_rings",
    "ring_of",
    "zone_distance_km",
]


def _straight(
    zones: gpd.GeoDataFrame,
    lon: float,
    lat: float,
    crs: CRS,
    projected: gpd.GeoSeries | None = None,
) -> np.ndarray:
    projected = zones.geometry.to_crs(crs) if projected is None else projected
    dealer = gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs(crs).iloc[0]
    centroids = projected.centroid.values
    dist = shapely.distance(centroids, dealer) / 1000.0
    inside = shapely.covers(projected.values, dealer)
    return np.where(inside, 0.0, dist)


#: Distance methods by name: ``f(zones, lon, lat, crs, projected) -> km per zone``.
DISTANCE_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "straight": _straight,
}


def zone_distance_km(
    zones: gpd.GeoDataFrame,
    *,
    lon: float,
    lat: float,
    method: str = "straight",
    projected: gpd.GeoSeries | None = None,
) -> pd.Series:
    """Distance (km) from the dealer at ``lon``/``lat`` (WGS-84) to each zone.

    ``projected`` may pass the zones already projected to
    ``coords.local_crs(lon, lat)`` (saves a reprojection). Returns a Series
    named ``distance_km`` aligned to ``zones.index``.
    """
    if method not in DISTANCE_METHODS:
        raise ValueError(
            f"unknown distance method {method!r}; known: {', '.join(DISTANCE_METHODS)}"
        )
    if len(zones) == 0:
        return pd.Series([], index=zones.index, dtype="float64", name="distance_km")
    crs = coords.local_crs(lon, lat)
    km = DISTANCE_METHODS[method](zones, lon, lat, crs, projected)
    return pd.Series(km, index=zones.index, dtype="float64", name="distance_km")


def in_influence_area(distance_km: pd.Series, *, radius_km: float) -> pd.Series:
    """Whether each zone lies within the influence radius."""
    return (distance_km <= radius_km).rename("in_influence_area")


def ring_of(distance_km: pd.Series, *, rings_km: Sequence[float], radius_km: float) -> pd.Series:
    """The smallest ring (km) each zone falls in; NaN beyond the radius.

    The influence radius is always one of the rings.
    """
    edges = sorted({*(float(r) for r in rings_km if r < radius_km), float(radius_km)})
    values = distance_km.to_numpy()
    idx = np.searchsorted(edges, values, side="left")
    out = np.where(
        idx < len(edges), np.asarray([*edges, np.nan])[np.minimum(idx, len(edges))], np.nan
    )
    return pd.Series(out, index=distance_km.index, name="ring_km")


def influence_rings(
    *, lon: float, lat: float, rings_km: Sequence[float], radius_km: float
) -> gpd.GeoDataFrame:
    """Ring polygons around the dealer for display (WGS-84), largest first.

    Columns: ``ring_km`` and ``is_radius`` (True for the influence radius).
    """
    crs = coords.local_crs(lon, lat)
    centre = gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs(crs).iloc[0]
    radii = sorted(
        {*(float(r) for r in rings_km if r <= radius_km), float(radius_km)}, reverse=True
    )
    circles = [centre.buffer(r * 1000.0, quad_segs=32) for r in radii]
    return gpd.GeoDataFrame(
        {"ring_km": radii, "is_radius": [r == float(radius_km) for r in radii]},
        geometry=gpd.GeoSeries(circles, crs=crs).to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )

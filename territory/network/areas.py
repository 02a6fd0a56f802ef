"""Responsibility areas (责任区域): which zones each dealer of a network looks after.

Every zone within some dealer's reach (its ``radius_km``, measured as its own
workspace measures ``distance_km``: from the zone's centroid in the dealer's
local projection, 0 when the dealer sits in the zone) goes to one dealer:

``nearest``
    the nearest dealer within reach;
``huff``
    the dealer with the highest Huff share (Huff 1963): a dealer's share of a
    zone is ``A^a d^-b`` over the sum of the same for every dealer within reach
    and every competitor showroom (POIs of type ``competitor``) within the
    network's median reach, with ``A`` the dealer's ``attractiveness`` (1 when
    not given), ``d`` the distance in km (at least ``huff_min_km``), ``a`` =
    ``huff_attractiveness_exponent`` and ``b`` = ``huff_decay``;
``auto`` (default)
    Huff when dealers.csv has an ``attractiveness`` column or the network has
    competitor showrooms, else nearest.

A zone listed in ``assignment.csv`` goes to the dealer(s) named there,
whatever the distance. Zones are in two dealers' areas only when
``settings.network.allow_overlap`` is true: then every dealer within reach
whose share (Huff share; with ``nearest``, the same formula with equal
attractiveness) is at least ``overlap_min_share`` also has the zone. Zones
beyond every dealer's reach are in no area: the gaps are found among them.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely.geometry import box
>>> zones = gpd.GeoDataFrame({"zone_id": ["a", "b", "c"]}, geometry=[
...     box(104.00, 30.60, 104.02, 30.62), box(104.10, 30.60, 104.12, 30.62),
...     box(105.50, 30.60, 105.52, 30.62)], crs=4326)
>>> dealers = pd.DataFrame({"dealer_id": ["D1", "D2"], "lon": [104.01, 104.11],
...     "lat": [30.61, 30.61], "radius_km": [15.0, 15.0], "attractiveness": [None, None]})
>>> pairs = reach_pairs(zones, dealers)
>>> areas = assign_zones(zones, dealers, pairs)
>>> areas.zone_dealer.tolist()
['D1', 'D2', None]
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.analysis.influence import zone_distance_km
from territory.settings import NetworkSettings

__all__ = [
    "EARTH_KM",
    "Areas",
    "assign_zones",
    "haversine_km",
    "nearest_dealer",
    "reach_circles",
    "reach_pairs",
    "zone_hulls",
]

#: Mean Earth radius (km) for great-circle distances between dealers and gaps.
EARTH_KM = 6371.0088
#: Candidate search margin: a circle of radius × (1 + share) + km around each dealer.
_MARGIN_SHARE = 0.02
_MARGIN_KM = 2.0


@dataclass
class Areas:
    """The responsibility areas of a network.

    ``members`` has one row per (zone, dealer) membership: ``zone`` and
    ``dealer`` (positions in the zones and dealers tables), ``distance_km``,
    ``share`` and ``how`` (``nearest``, ``huff``, ``file`` or ``overlap``).
    ``zone_dealer`` gives each zone's primary dealer id (None: no dealer
    reaches it), aligned to the zones; ``method`` is the rule used.
    """

    members: pd.DataFrame
    zone_dealer: pd.Series
    method: str

    def zones_of(self, dealer: int) -> np.ndarray:
        """Sorted zone positions in dealer ``dealer``'s area."""
        return np.sort(self.members.loc[self.members["dealer"] == dealer, "zone"].to_numpy())

    @property
    def overlapping(self) -> int:
        """How many zones are in more than one area."""
        counts = self.members["zone"].value_counts()
        return int((counts > 1).sum())


def haversine_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance (km) between points given in degrees (broadcasting)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype="float64")) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def reach_circles(dealers: pd.DataFrame, *, segments: int = 64) -> gpd.GeoDataFrame:
    """A circle (WGS-84 polygon) around each dealer, a little wider than its reach.

    Used to find candidate zones by a spatial join; the exact distance is
    measured afterwards. Column ``dealer`` is the dealer's position.
    """
    lon = np.radians(dealers["lon"].to_numpy(dtype="float64"))[:, None]
    lat = np.radians(dealers["lat"].to_numpy(dtype="float64"))[:, None]
    radius = dealers["radius_km"].to_numpy(dtype="float64") * (1 + _MARGIN_SHARE) + _MARGIN_KM
    delta = (radius / EARTH_KM)[:, None]
    theta = np.linspace(0, 2 * np.pi, segments, endpoint=False)[None, :]
    lat2 = np.arcsin(np.sin(lat) * np.cos(delta) + np.cos(lat) * np.sin(delta) * np.cos(theta))
    lon2 = lon + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(lat), np.cos(delta) - np.sin(lat) * np.sin(lat2)
    )
    rings = np.stack([np.degrees(lon2), np.degrees(lat2)], axis=-1)
    polygons = shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))
    return gpd.GeoDataFrame(
        {"dealer": np.arange(len(dealers), dtype="int64")}, geometry=polygons, crs="EPSG:4326"
    )


def zone_hulls(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each zone's convex hull (it holds the zone and its centroid), with column ``zone``."""
    hulls = shapely.convex_hull(np.asarray(zones.geometry.values, dtype=object))
    return gpd.GeoDataFrame(
        {"zone": np.arange(len(zones), dtype="int64")}, geometry=hulls, crs="EPSG:4326"
    )


def candidate_pairs(hulls: gpd.GeoDataFrame, circles: gpd.GeoDataFrame) -> pd.DataFrame:
    """(zone, dealer) pairs whose hull meets the dealer's search circle (plain geopandas)."""
    joined = gpd.sjoin(hulls, circles, how="inner", predicate="intersects")
    return pd.DataFrame(
        {
            "zone": joined["zone"].to_numpy(dtype="int64"),
            "dealer": joined["dealer"].to_numpy(dtype="int64"),
        }
    )


def pair_distances(
    zones: gpd.GeoDataFrame, dealers: pd.DataFrame, pairs: pd.DataFrame
) -> pd.DataFrame:
    """Keep the pairs within each dealer's reach, with ``distance_km`` as its workspace measures it."""
    out = []
    for dealer, group in pairs.groupby("dealer", sort=True):
        d = dealers.iloc[int(dealer)]
        positions = np.sort(group["zone"].to_numpy())
        km = zone_distance_km(zones.iloc[positions], lon=float(d["lon"]), lat=float(d["lat"]))
        keep = km.to_numpy() <= float(d["radius_km"])
        out.append(
            pd.DataFrame(
                {
                    "zone": positions[keep],
                    "dealer": np.full(int(keep.sum()), int(dealer), dtype="int64"),
                    "distance_km": km.to_numpy()[keep],
                }
            )
        )
    if not out:
        return pd.DataFrame(
            {
                "zone": pd.Series([], dtype="int64"),
                "dealer": pd.Series([], dtype="int64"),
                "distance_km": pd.Series([], dtype="float64"),
            }
        )
    return pd.concat(out, ignore_index=True)


def reach_pairs(zones: gpd.GeoDataFrame, dealers: pd.DataFrame) -> pd.DataFrame:
    """Every (zone, dealer) pair within the dealer's reach, in one process (no Dask)."""
    return pair_distances(
        zones, dealers, candidate_pairs(zone_hulls(zones), reach_circles(dealers))
    )


def nearest_dealer(lon, lat, dealers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Position of and great-circle distance (km) to the nearest dealer of each point."""
    from sklearn.neighbors import BallTree

    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if len(dealers) == 0 or len(lon) == 0:
        return np.full(len(lon), -1, dtype="int64"), np.full(len(lon), np.nan)
    tree = BallTree(
        np.radians(dealers[["lat", "lon"]].to_numpy(dtype="float64")), metric="haversine"
    )
    dist, idx = tree.query(np.radians(np.column_stack([lat, lon])), k=1)
    return idx[:, 0].astype("int64"), dist[:, 0] * EARTH_KM


def _method(dealers: pd.DataFrame, competitors: pd.DataFrame | None, s: NetworkSettings) -> str:
    if s.assignment != "auto":
        return s.assignment
    has_a = "attractiveness" in dealers and dealers["attractiveness"].notna().any()
    has_c = competitors is not None and len(competitors) > 0
    return "huff" if has_a or has_c else "nearest"


def _shares(
    zones: gpd.GeoDataFrame,
    dealers: pd.DataFrame,
    pairs: pd.DataFrame,
    competitors: pd.DataFrame | None,
    s: NetworkSettings,
    *,
    equal: bool,
) -> np.ndarray:
    """Huff share of each pair (dealer attractiveness 1 when ``equal``)."""
    if pairs.empty:
        return np.zeros(0)
    attract = np.ones(len(dealers))
    if not equal and "attractiveness" in dealers:
        attract = dealers["attractiveness"].fillna(1.0).to_numpy(dtype="float64")
    km = np.maximum(pairs["distance_km"].to_numpy(dtype="float64"), s.huff_min_km)
    weight = (
        attract[pairs["dealer"].to_numpy()] ** s.huff_attractiveness_exponent * km**-s.huff_decay
    )
    total = pd.Series(weight).groupby(pairs["zone"].to_numpy()).sum()
    if competitors is not None and len(competitors):
        centres = shapely.centroid(np.asarray(zones.geometry.values, dtype=object))
        zx, zy = shapely.get_x(centres), shapely.get_y(centres)
        reach = float(np.median(dealers["radius_km"]))
        cx = competitors["lon"].to_numpy(dtype="float64")
        cy = competitors["lat"].to_numpy(dtype="float64")
        zone_ids = np.unique(pairs["zone"].to_numpy())
        d = haversine_km(zx[zone_ids, None], zy[zone_ids, None], cx[None, :], cy[None, :])
        w = np.where(d <= reach, np.maximum(d, s.huff_min_km) ** -s.huff_decay, 0.0).sum(axis=1)
        total = total.add(pd.Series(w, index=zone_ids), fill_value=0.0)
    return weight / total.reindex(pairs["zone"].to_numpy()).to_numpy()


def assign_zones(
    zones: gpd.GeoDataFrame,
    dealers: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    settings: NetworkSettings | None = None,
    competitors: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
) -> Areas:
    """Give zones to dealers from the pairs within reach (see the module notes).

    Parameters
    ----------
    pairs
        From :func:`reach_pairs` (or the Dask equivalent): ``zone``,
        ``dealer``, ``distance_km``.
    competitors
        Competitor showrooms: ``lon``, ``lat`` (WGS-84).
    assignment
        The typed assignment file: ``zone_id``, ``dealer_id``.
    """
    s = settings or NetworkSettings()
    method = _method(dealers, competitors, s)
    pairs = pairs.sort_values(["zone", "dealer"], kind="stable").reset_index(drop=True)
    share = _shares(zones, dealers, pairs, competitors, s, equal=method == "nearest")
    pairs["share"] = share
    if len(pairs):
        if method == "nearest":
            order = np.lexsort(
                (
                    pairs["dealer"].to_numpy(),
                    pairs["distance_km"].to_numpy(),
                    pairs["zone"].to_numpy(),
                )
            )
        else:
            order = np.lexsort(
                (pairs["dealer"].to_numpy(), -pairs["share"].to_numpy(), pairs["zone"].to_numpy())
            )
        ranked = pairs.iloc[order]
        first = ~ranked["zone"].duplicated()
        primary = ranked[first].assign(how=method)
        members = [primary]
        if s.allow_overlap:
            extra = ranked[~first & (ranked["share"] >= s.overlap_min_share)].assign(how="overlap")
            members.append(extra)
        members = pd.concat(members, ignore_index=True)
    else:
        members = pairs.assign(how=pd.Series([], dtype="str"))
    if assignment is not None and len(assignment):
        zone_pos = pd.Series(np.arange(len(zones)), index=zones["zone_id"].to_numpy())
        dealer_pos = pd.Series(np.arange(len(dealers)), index=dealers["dealer_id"].to_numpy())
        given = pd.DataFrame(
            {
                "zone": zone_pos.reindex(assignment["zone_id"].to_numpy()).to_numpy(dtype="int64"),
                "dealer": dealer_pos.reindex(assignment["dealer_id"].to_numpy()).to_numpy(
                    dtype="int64"
                ),
            }
        )
        known = pairs.set_index(["zone", "dealer"])
        idx = pd.MultiIndex.from_frame(given)
        km = known["distance_km"].reindex(idx).to_numpy(dtype="float64", copy=True)
        missing = np.isnan(km)
        if missing.any():
            centres = shapely.centroid(np.asarray(zones.geometry.values, dtype=object))
            gz = given["zone"].to_numpy()[missing]
            gd = given["dealer"].to_numpy()[missing]
            km[missing] = haversine_km(
                shapely.get_x(centres)[gz],
                shapely.get_y(centres)[gz],
                dealers["lon"].to_numpy()[gd],
                dealers["lat"].to_numpy()[gd],
            )
        given["distance_km"] = km
        given["share"] = known["share"].reindex(idx).to_numpy()
        given["how"] = "file"
        members = pd.concat(
            [members[~members["zone"].isin(set(given["zone"]))], given], ignore_index=True
        )
    members = members.sort_values(["zone", "dealer"], kind="stable").reset_index(drop=True)
    members["zone"] = members["zone"].astype("int64")
    members["dealer"] = members["dealer"].astype("int64")
    # The primary dealer of a zone: given by the file, else by the rule.
    rank = members["how"].map({"file": 0, "nearest": 1, "huff": 1, "overlap": 2}).to_numpy()
    first = members.assign(_rank=rank).sort_values(["zone", "_rank", "dealer"], kind="stable")
    first = first[~first["zone"].duplicated()]
    ids = dealers["dealer_id"].to_numpy(dtype=object)
    zone_dealer = pd.Series([None] * len(zones), index=zones.index, dtype=object, name="dealer_id")
    zone_dealer.iloc[first["zone"].to_numpy()] = ids[first["dealer"].to_numpy()]
    return Areas(members=members, zone_dealer=zone_dealer, method=method)

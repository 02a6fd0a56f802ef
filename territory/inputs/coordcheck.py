"""Which coordinate system the data most likely uses, from the evidence in the workspace.

Chinese web maps shift their coordinates: AMap and Tencent publish GCJ-02,
Baidu BD-09 (:mod:`territory.inputs.coords`). A file labelled with the wrong
system moves every point by 300–700 m (GCJ-02) or about 1 km (BD-09): enough
to move a fifth of the customers to another zone and change the recommended
sites, with nothing visibly wrong. The label cannot be checked on its own, but
a workspace often holds the evidence to test it:

- rows that carry both coordinates and their zone (a ``zone_id``, or an
  address that names the zone): under the right system nearly all of them lie
  in their zone; under a wrong one a share lies outside, all off in the same
  direction;
- customers at the residential compounds of ``pois`` (``poi_type``
  residential): under the right system many sit within a few dozen metres of a
  compound, under a wrong one almost none;
- the dealer's own zone (``zone_id`` in dealer.toml): the showroom lies in it.

Each hypothesis is tested the same way: the points are read as if they were in
another system (or the zones as if drawn in another system) and the evidence is
counted again. Another system is named only when it explains the misfits
clearly (``coord_check_min_gain`` more rows in their zone and the misfits at
least halved); the warning gives both counts so the user can judge. Rows whose
coordinates and zone_id disagree with no system to explain them are listed too:
their coordinates were used.

Examples
--------
>>> from territory.inputs.coords import wgs84_to_gcj02
>>> SYSTEMS
('wgs84', 'gcj02', 'bd09')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from territory._errors import WARNING, ProblemList
from territory.i18n import Message
from territory.inputs import coords
from territory.inputs.dealer import DEALER_FILE, Dealer
from territory.inputs.locate import coord_systems

__all__ = ["SYSTEMS", "Evidence", "check_coordinates", "check_dealer_zone", "gather_evidence"]

SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

Lookup = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Evidence:
    """Rows of one point file with coordinates and the zone they name."""

    file: str
    layer: str
    rows: np.ndarray  # the user's row numbers
    lon: np.ndarray  # as written in the file
    lat: np.ndarray
    systems: np.ndarray  # the system each row is declared in
    zone: np.ndarray  # positional index of the zone the row names
    source: str  # "zone_id" or "address"
    by_column: bool  # some rows' system comes from a coord_sys column

    def __len__(self) -> int:
        return len(self.rows)


def _sample(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def gather_evidence(
    layer: str,
    frame: pd.DataFrame,
    rows: pd.Series,
    file: str,
    zones: gpd.GeoDataFrame,
    *,
    default_coord_sys: str,
    geocoder,
    settings,
) -> Evidence | None:
    """Rows of a typed point table that carry coordinates and name their zone."""
    if not {"lon", "lat"} <= set(frame.columns) or not len(frame):
        return None
    lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
    west, south, east, north = settings.load.china_bounds
    has_xy = (
        np.isfinite(lon)
        & np.isfinite(lat)
        & (lon >= west)
        & (lon <= east)
        & (lat >= south)
        & (lat <= north)
    )
    if not has_xy.any():
        return None
    systems, _ = coord_systems(frame, default_coord_sys)
    ids = pd.Index(zones["zone_id"].astype("str"))
    zone = np.full(len(frame), -1, dtype="int64")
    source = "zone_id"
    if "zone_id" in frame and frame["zone_id"].notna().any():
        given = frame["zone_id"].astype("str").where(frame["zone_id"].notna(), None)
        zone = ids.get_indexer(given)
    if (zone[has_xy] < 0).all() and geocoder is not None:
        address = frame["address"] if "address" in frame else pd.Series(None, index=frame.index)
        if "location" in frame:
            address = address.fillna(frame["location"])
        take = np.flatnonzero(has_xy & address.notna().to_numpy())
        take = take[_sample(len(take), settings.load.coord_check_sample)]
        if len(take):
            found = geocoder.geocode(address.iloc[take])["zone_id"]
            zone = np.full(len(frame), -1, dtype="int64")
            zone[take] = ids.get_indexer(found.astype("str").where(found.notna(), None))
            source = "address"
    use = np.flatnonzero(has_xy & (zone >= 0))
    use = use[_sample(len(use), settings.load.coord_check_sample)]
    if not len(use):
        return None
    by_column = "coord_sys" in frame and bool(frame["coord_sys"].iloc[use].notna().any())
    return Evidence(
        file=file,
        layer=layer,
        rows=rows.to_numpy()[use],
        lon=lon[use],
        lat=lat[use],
        systems=np.asarray(systems, dtype=object)[use],
        zone=zone[use],
        source=source,
        by_column=by_column,
    )


def _hypotheses(ev_lon, ev_lat, systems, zones_sys):
    """``(kind, system, lon, lat)`` of each reading of the points, in the zones' frame."""
    x0, y0 = coords.to_wgs84(ev_lon, ev_lat, systems)
    yield "declared", None, x0, y0
    declared = set(systems)
    for p in SYSTEMS:
        if declared != {p}:
            x, y = coords.to_wgs84(ev_lon, ev_lat, p)
            yield "points", p, x, y
    for q in SYSTEMS:
        if q != zones_sys:
            # The zones were drawn in q but read as zones_sys: map the points the same way.
            x, y = coords.from_wgs84(x0, y0, q)
            x, y = coords.to_wgs84(x, y, zones_sys)
            yield "zones", q, x, y


def _counts(ev: Evidence, lookup: Lookup, zones_sys: str) -> dict:
    out = {}
    for kind, system, x, y in _hypotheses(ev.lon, ev.lat, ev.systems, zones_sys):
        inside = np.asarray(lookup(np.asarray(x), np.asarray(y))) == ev.zone
        out[(kind, system)] = inside
    return out


def _winner(inside: dict, n: int, settings) -> tuple | None:
    k0 = int(inside[("declared", None)].sum())
    misfits = n - k0
    if n < settings.load.coord_check_min_rows or misfits == 0:
        return None
    best = max((h for h in inside if h[0] != "declared"), key=lambda h: inside[h].sum())
    k = int(inside[best].sum())
    gain = k - k0
    if gain >= max(settings.load.coord_check_min_gain * n, 2) and (n - k) <= 0.5 * misfits:
        return best
    return None


def _declared_label(systems: np.ndarray) -> str:
    values = sorted(set(systems))
    return "/".join(values)


def check_coordinates(
    evidence: list[Evidence],
    zones_file: str,
    zones_sys: str,
    lookup: Lookup,
    problems: ProblemList,
    settings,
) -> set[str]:
    """Test each file's coordinate system against its rows' zones; warn with the evidence.

    Returns the layers for which another system was named (their zone_id
    mismatches are explained by it and not listed again).
    """
    named: set[str] = set()
    results = []
    for ev in evidence:
        inside = _counts(ev, lookup, zones_sys)
        results.append((ev, inside, _winner(inside, len(ev), settings)))
    zone_claims = [r for r in results if r[2] and r[2][0] == "zones"]
    if zone_claims and all(r[2] == zone_claims[0][2] for r in results if r[2]):
        q = zone_claims[0][2][1]
        parts = []
        for ev, inside, _ in results:
            k0 = int(inside[("declared", None)].sum())
            k = int(inside[("zones", q)].sum())
            parts.append(f"{ev.file}: {k0}/{len(ev)} → {k}/{len(ev)}")
            named.add(ev.layer)
        problems.add(
            zones_file,
            "warn.zones_coord_sys",
            column="zones_coord_sys",
            severity=WARNING,
            system=q,
            declared=zones_sys,
            label=Message(f"coords.label.{q}"),
            evidence="; ".join(parts),
        )
        return named
    for ev, inside, best in results:
        n = len(ev)
        k0 = int(inside[("declared", None)].sum())
        if best and best[0] == "points":
            named.add(ev.layer)
            k = int(inside[best].sum())
            problems.add(
                ev.file,
                "warn.coord_sys_points",
                column="lon/lat",
                severity=WARNING,
                n=n,
                k0=k0,
                k=k,
                source=ev.source,
                declared=_declared_label(ev.systems),
                system=best[1],
                label=Message(f"coords.label.{best[1]}"),
                how=Message(
                    "coords.fix_column" if ev.by_column else "coords.fix_toml", system=best[1]
                ),
            )
        elif best is None and ev.source == "zone_id" and k0 < n:
            outside = ~inside[("declared", None)]
            problems.add(
                ev.file,
                "warn.zone_id_mismatch",
                column="zone_id",
                rows=ev.rows[outside],
                severity=WARNING,
                n=int(outside.sum()),
                total=n,
            )
    return named


def check_compounds(
    customers: pd.DataFrame,
    customer_rows: pd.Series,
    customers_file: str,
    pois: pd.DataFrame,
    pois_file: str,
    *,
    default_coord_sys: str,
    problems: ProblemList,
    settings,
) -> bool:
    """Customers against the residential compounds of ``pois``: do they sit at them?

    Returns True when another system was named for the customers.
    """
    from scipy.spatial import cKDTree

    if "poi_type" not in pois or not {"lon", "lat"} <= set(pois.columns):
        return False
    residential = (pois["poi_type"] == "residential").to_numpy()
    plon = pois["lon"].to_numpy(dtype="float64", na_value=np.nan)
    plat = pois["lat"].to_numpy(dtype="float64", na_value=np.nan)
    ok = residential & np.isfinite(plon) & np.isfinite(plat)
    if ok.sum() < 5:
        return False
    psys, _ = coord_systems(pois, default_coord_sys)
    px, py = coords.to_wgs84(plon[ok], plat[ok], np.asarray(psys, dtype=object)[ok])
    clon = customers["lon"].to_numpy(dtype="float64", na_value=np.nan)
    clat = customers["lat"].to_numpy(dtype="float64", na_value=np.nan)
    has = np.flatnonzero(np.isfinite(clon) & np.isfinite(clat))
    if len(has) < 20:
        return False
    has = has[_sample(len(has), settings.load.coord_check_sample)]
    csys, _ = coord_systems(customers, default_coord_sys)
    csys = np.asarray(csys, dtype=object)[has]
    lat0 = float(np.nanmean(py))
    scale = np.array([111_320.0 * np.cos(np.radians(lat0)), 110_540.0])
    tree = cKDTree(np.column_stack([px, py]) * scale)
    radius = settings.load.compound_radius_m
    shares = {}
    for kind, system, x, y in _hypotheses(clon[has], clat[has], csys, "wgs84"):
        if kind == "zones":
            continue
        dist, _ = tree.query(np.column_stack([x, y]) * scale, k=1)
        shares[(kind, system)] = float(np.mean(dist <= radius))
    s0 = shares[("declared", None)]
    best = max((h for h in shares if h[0] != "declared"), key=shares.get)
    s = shares[best]
    if s < settings.load.compound_min_share or s < 3 * s0 or s - s0 < 0.2:
        return False
    by_column = "coord_sys" in customers and bool(customers["coord_sys"].notna().any())
    problems.add(
        customers_file,
        "warn.coord_sys_compounds",
        column="lon/lat",
        severity=WARNING,
        s0=f"{s0:.0%}",
        s=f"{s:.0%}",
        m=f"{radius:g}",
        pois=pois_file,
        n=len(has),
        compounds=int(ok.sum()),
        declared=_declared_label(csys),
        system=best[1],
        label=Message(f"coords.label.{best[1]}"),
        how=Message("coords.fix_column" if by_column else "coords.fix_toml", system=best[1]),
    )
    return True


def check_dealer_zone(
    dealer: Dealer, zones: gpd.GeoDataFrame, lookup: Lookup, problems: ProblemList, crs
) -> None:
    """dealer.toml's ``zone_id`` (the zone the showroom stands in) against its lon/lat."""
    zone_id = dealer.raw.get("zone_id")
    if zone_id is None:
        return
    ids = zones["zone_id"].astype("str").tolist()
    if isinstance(zone_id, bool) or not isinstance(zone_id, str | int) or str(zone_id) not in ids:
        problems.add(
            DEALER_FILE,
            "err.dealer_zone_unknown",
            column="zone_id",
            found=repr(zone_id),
            examples=", ".join(ids[:5]),
        )
        return
    pos = ids.index(str(zone_id))
    lon, lat = dealer.raw.get("lon"), dealer.raw.get("lat")
    x0, y0 = np.array([dealer.lon]), np.array([dealer.lat])
    if int(lookup(x0, y0)[0]) == pos:
        return
    for system in SYSTEMS:
        if system == dealer.coord_sys:
            continue
        x, y = coords.to_wgs84(np.array([float(lon)]), np.array([float(lat)]), system)
        if int(lookup(x, y)[0]) == pos:
            problems.add(
                DEALER_FILE,
                "warn.dealer_coord_sys",
                column="lon/lat",
                severity=WARNING,
                zone=str(zone_id),
                declared=dealer.coord_sys,
                system=system,
                label=Message(f"coords.label.{system}"),
            )
            return
    point = gpd.GeoSeries(gpd.points_from_xy(x0, y0), crs="EPSG:4326").to_crs(crs).iloc[0]
    km = float(zones.geometry.iloc[[pos]].to_crs(crs).distance(point).iloc[0]) / 1000.0
    problems.add(
        DEALER_FILE,
        "warn.dealer_off_zone",
        column="zone_id",
        severity=WARNING,
        zone=str(zone_id),
        km=f"{km:,.1f}",
    )

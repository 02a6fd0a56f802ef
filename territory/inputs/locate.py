"""Putting every point on the map: coordinates, zone_id or address.

Each row of a point layer is located by, in order of preference, its
``lon``/``lat`` (converted from its coordinate system to WGS-84), its
``zone_id``, or its ``address`` (geocoded). Every row is then assigned to
the zone that covers it and that zone's district. Rows that cannot be
located are kept (``located_by = "unlocated"``) and listed as notices; no
row is ever dropped.

Examples
--------
>>> import numpy as np, geopandas as gpd
>>> from shapely.geometry import box
>>> zones = gpd.GeoDataFrame({"zone_id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
>>> zone_positions(zones, np.array([0.5, 1.0, 5.0]), np.array([0.5, 0.5, 5.0])).tolist()
[0, 0, -1]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import ERROR, NOTICE, WARNING, ProblemList
from territory.inputs import coords
from territory.inputs.geocode import Geocoder
from territory.settings import Settings

__all__ = ["coord_systems", "locate_points", "zone_positions"]


def zone_positions(zones: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Positional index of the zone covering each point (-1 if none).

    A point on a shared boundary goes to the zone listed first. NaN
    coordinates give -1.
    """
    try:
        from territory.inputs.zone_index import ZoneIndex
    except ImportError:  # pragma: no cover - the fast index is optional during development
        ZoneIndex = None
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if ZoneIndex is not None:
        return np.asarray(ZoneIndex(zones.geometry).lookup(lon, lat), dtype="int64")
    out = np.full(len(lon), -1, dtype="int64")
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any() or len(zones) == 0:
        return out
    points = shapely.points(lon[ok], lat[ok])
    tree = shapely.STRtree(np.asarray(zones.geometry.values, dtype=object))
    point_idx, zone_idx = tree.query(points, predicate="covered_by")
    if len(point_idx):
        best = pd.Series(zone_idx).groupby(point_idx).min()
        sub = np.full(len(points), -1, dtype="int64")
        sub[best.index.to_numpy()] = best.to_numpy()
        out[ok] = sub
    return out


def coord_systems(frame: pd.DataFrame, default_coord_sys: str) -> tuple[np.ndarray, pd.Series]:
    """Each row's coordinate system (its ``coord_sys`` value, else the default).

    Returns ``(systems, bad)``: codes per row, and the rows whose ``coord_sys``
    value names no known system (they get the default).
    """
    from territory.vocab import COORD_SYSTEMS, normalise_code

    systems = np.full(len(frame), default_coord_sys, dtype=object)
    bad = pd.Series(False, index=frame.index)
    if "coord_sys" in frame and frame["coord_sys"].notna().any():
        raw = frame["coord_sys"]
        uniques = {v: normalise_code(v, COORD_SYSTEMS) for v in raw.dropna().unique()}
        codes = raw.map(uniques)
        bad = raw.notna() & codes.isna()
        systems = np.where(codes.notna().to_numpy(), codes.to_numpy(dtype=object), systems)
    return systems, bad


def locate_points(
    frame: pd.DataFrame,
    rows: pd.Series,
    *,
    file: str,
    zones: gpd.GeoDataFrame,
    default_coord_sys: str,
    geocoder: Geocoder | None,
    problems: ProblemList,
    settings: Settings | None = None,
    zone_lookup=None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Locate a typed point table and assign its rows to zones.

    Parameters
    ----------
    frame
        Typed columns from :func:`territory.inputs.layers.read_point_table`, with
        ``lon``, ``lat``, ``coord_sys``, ``zone_id`` and ``address`` (any may
        be all NA).
    rows
        The user's row number for each record, for messages.
    zones
        The validated zones (EPSG:4326).
    default_coord_sys
        dealer.toml's ``coord_sys`` for rows without a ``coord_sys`` value.
    geocoder
        Used for rows that have only an address; None to skip.
    zone_lookup
        Optional callable ``(lon, lat) -> positions`` (defaults to
        :func:`zone_positions`), so a caller can reuse a built index.
    layer
        The layer's name: most rows unlocated is an error in the layers of
        ``[settings.load] unlocated_error_layers`` (customers), else a warning.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` without the raw location columns, plus ``zone_id``,
        ``district``, ``located_by`` and a WGS-84 point geometry (None when
        unlocated).
    """
    settings = settings or Settings()
    n = len(frame)
    lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
    has_lon, has_lat = np.isfinite(lon), np.isfinite(lat)
    half = has_lon ^ has_lat
    if half.any():
        problems.add(file, "err.lonlat_partial", column="lon/lat", rows=rows[half])
    has_xy = has_lon & has_lat

    # Coordinate system per row.
    systems, bad = coord_systems(frame, default_coord_sys)
    if bad.any():
        problems.add(
            file,
            "err.unknown_code",
            column="coord_sys",
            rows=rows[bad],
            found=frame["coord_sys"][bad].iloc[0],
            expected="wgs84, gcj02, bd09",
        )

    # Swapped columns: decided on the whole column, not row by row.
    minx, miny, maxx, maxy = settings.load.china_bounds
    in_lon = (lon >= minx) & (lon <= maxx)
    in_lat = (lat >= miny) & (lat <= maxy)
    swapped_rows = (
        has_xy & (lon >= miny) & (lon <= maxy) & (lat >= minx) & (lat <= maxx) & ~(in_lon & in_lat)
    )
    if has_xy.sum() and swapped_rows.sum() >= settings.load.swapped_share * has_xy.sum():
        problems.add(file, "err.lonlat_swapped", column="lon/lat", count=int(swapped_rows.sum()))
        has_xy = np.zeros(n, dtype=bool)
    else:
        outside = has_xy & ~(in_lon & in_lat)
        if outside.any():
            i = np.flatnonzero(outside)[0]
            key = "err.out_of_china_swapped" if swapped_rows[outside].any() else "err.out_of_china"
            problems.add(
                file, key, column="lon/lat", rows=rows[outside], found=f"{lon[i]}, {lat[i]}"
            )
            has_xy = has_xy & ~outside

    wlon = np.full(n, np.nan)
    wlat = np.full(n, np.nan)
    if has_xy.any():
        wlon[has_xy], wlat[has_xy] = coords.to_wgs84(lon[has_xy], lat[has_xy], systems[has_xy])
    located_by = np.where(has_xy, "coords", None).astype(object)

    # Zone by coordinates.
    lookup = zone_lookup or (lambda x, y: zone_positions(zones, x, y))
    pos = np.full(n, -1, dtype="int64")
    if has_xy.any():
        pos[has_xy] = lookup(wlon[has_xy], wlat[has_xy])

    zone_ids = zones["zone_id"].to_numpy(dtype=object)
    district_of = (
        zones["district"].to_numpy(dtype=object)
        if "district" in zones
        else np.full(len(zones), None)
    )
    zone_col = np.where(
        pos >= 0, zone_ids[np.maximum(pos, 0)] if len(zones) else None, None
    ).astype(object)
    district_col = np.where(
        pos >= 0, district_of[np.maximum(pos, 0)] if len(zones) else None, None
    ).astype(object)

    # Points far outside every zone: kept, reported.
    far_check = has_xy & (pos < 0)
    if far_check.any() and len(zones):
        crs = coords.local_crs(wlon[has_xy], wlat[has_xy])
        hull = gpd.GeoSeries([zones.union_all()], crs="EPSG:4326").to_crs(crs).iloc[0]
        pts = gpd.GeoSeries(
            shapely.points(wlon[far_check], wlat[far_check]), crs="EPSG:4326"
        ).to_crs(crs)
        dist_km = shapely.distance(hull, pts.values) / 1000.0
        far = np.zeros(n, dtype=bool)
        far[np.flatnonzero(far_check)[dist_km > settings.load.max_outside_km]] = True
        if far.any():
            problems.add(
                file,
                "notice.far_outside_zones",
                column="lon/lat",
                rows=rows[far],
                severity=NOTICE,
                km=settings.load.max_outside_km,
            )

    # Rows located by zone_id only.
    given_zone = frame["zone_id"].to_numpy(dtype=object)
    by_zone = ~has_xy & pd.notna(given_zone)
    if by_zone.any():
        index = pd.Index(zone_ids)
        found = index.get_indexer(given_zone[by_zone])
        unknown = found < 0
        if unknown.any():
            bad_rows = rows[np.flatnonzero(by_zone)[unknown]]
            problems.add(
                file,
                "err.unknown_zone_id",
                column="zone_id",
                rows=bad_rows,
                found=given_zone[by_zone][unknown][0],
            )
        ok_idx = np.flatnonzero(by_zone)[~unknown]
        if len(ok_idx):
            reps = zones.geometry.iloc[found[~unknown]]
            rep_pts = _inside_points(reps)
            wlon[ok_idx], wlat[ok_idx] = rep_pts[:, 0], rep_pts[:, 1]
            zone_col[ok_idx] = zone_ids[found[~unknown]]
            district_col[ok_idx] = district_of[found[~unknown]]
            located_by[ok_idx] = "zone_id"

    # Rows located by address only.
    address = (
        frame["address"] if "address" in frame else pd.Series(None, index=frame.index, dtype="str")
    )
    if "location" in frame:
        address = address.fillna(frame["location"])
    by_address = (located_by == None) & address.notna().to_numpy()  # noqa: E711
    if by_address.any() and geocoder is not None:
        result = geocoder.geocode(address[by_address])
        got_zone = result["zone_id"].notna().to_numpy()
        got_district = result["district"].notna().to_numpy()
        idx = np.flatnonzero(by_address)
        zone_col[idx[got_zone]] = result["zone_id"].to_numpy(dtype=object)[got_zone]
        district_col[idx[got_district]] = result["district"].to_numpy(dtype=object)[got_district]
        wlon[idx] = result["lon"].to_numpy()
        wlat[idx] = result["lat"].to_numpy()
        located_by[idx[got_zone | got_district]] = "address"
        district_only = idx[got_district & ~got_zone]
        if len(district_only):
            problems.add(
                file,
                "notice.address_district_only",
                column="address",
                rows=rows[district_only],
                severity=NOTICE,
                found=address.iloc[district_only[0]],
            )
        unmatched = idx[~(got_zone | got_district)]
        if len(unmatched):
            problems.add(
                file,
                "notice.address_unmatched",
                column="address",
                rows=rows[unmatched],
                severity=NOTICE,
                found=address.iloc[unmatched[0]],
            )
    nothing = located_by == None  # noqa: E711
    no_location = nothing & ~by_address & ~half
    if no_location.any():
        problems.add(file, "notice.no_location", rows=rows[no_location], severity=NOTICE)
    located_by[nothing] = "unlocated"
    _most_unlocated(
        problems,
        layer,
        file,
        rows,
        settings,
        unlocated=nothing,
        unmatched=nothing & by_address,
        outside=(located_by == "coords") & pd.isna(zone_col) & pd.isna(district_col),
    )

    geometry = np.full(n, None, dtype=object)
    ok = np.isfinite(wlon) & np.isfinite(wlat)
    geometry[ok] = shapely.points(wlon[ok], wlat[ok])

    keep = [c for c in frame.columns if c not in ("lon", "lat", "coord_sys", "zone_id", "address")]
    out = frame[keep].copy()
    out["zone_id"] = pd.Series(zone_col, index=frame.index, dtype="str")
    out["district"] = pd.Series(district_col, index=frame.index, dtype="str")
    out["located_by"] = pd.Series(located_by, index=frame.index, dtype="str")
    out["address"] = (
        frame["address"] if "address" in frame else pd.Series(None, index=frame.index, dtype="str")
    )
    return gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geometry, index=frame.index, crs="EPSG:4326"), crs="EPSG:4326"
    )


def _most_unlocated(
    problems: ProblemList,
    layer: str | None,
    file: str,
    rows: pd.Series,
    settings: Settings,
    *,
    unlocated: np.ndarray,
    unmatched: np.ndarray,
    outside: np.ndarray,
) -> None:
    """Refuse a layer most of whose rows are off the map or outside every zone.

    Losing most rows is never what the user meant: the header row or sheet was
    missed, the addresses name nothing the zones know, or the coordinates are in
    another system or city. The analysis would go on silently with the few rows
    left (or switch to a cold start), so this is an error; ``[settings.load]
    max_unlocated_share = 1`` accepts it.
    """
    n = len(rows)
    lost = unlocated | outside
    count = int(lost.sum())
    if not n or count < settings.load.unlocated_min_rows:
        return
    if count <= settings.load.max_unlocated_share * n:
        return
    causes = {
        "address": int(unmatched.sum()),
        "none": int((unlocated & ~unmatched).sum()),
        "outside": int(outside.sum()),
    }
    cause = max(causes, key=causes.get)
    column = {"address": "address", "none": "lon/lat, zone_id, address", "outside": "lon/lat"}
    refuse = layer in settings.load.unlocated_error_layers
    problems.add(
        file,
        f"err.most_unlocated.{cause}",
        severity=ERROR if refuse else WARNING,
        column=column[cause],
        rows=rows[lost],
        n=count,
        total=n,
        share=f"{count / n:.0%}",
        limit=f"{settings.load.max_unlocated_share:g}",
    )


def _inside_points(geoms: gpd.GeoSeries) -> np.ndarray:
    """A point guaranteed inside each polygon (representative point)."""
    pts = shapely.point_on_surface(np.asarray(geoms.values, dtype=object))
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])

"""Coordinate systems: WGS-84, GCJ-02 and BD-09 (provisional numpy version).

Replaced by the full module from the coords work; same API.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS

__all__ = ["gcj02_to_wgs84", "local_crs", "out_of_china", "to_wgs84", "wgs84_to_gcj02"]

_A = 6378245.0
_EE = 0.00669342162296594323


def _arr(x):
    return np.asarray(x, dtype="float64")


def out_of_china(lon, lat):
    lon, lat = _arr(lon), _arr(lat)
    return ~((lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55))


def _delta(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (_A / sq * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    lon, lat = _arr(lon), _arr(lat)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat):
    lon, lat = _arr(lon), _arr(lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(3):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


def bd09_to_gcj02(lon, lat):
    x_pi = np.pi * 3000.0 / 180.0
    x, y = _arr(lon) - 0.0065, _arr(lat) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * x_pi)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * x_pi)
    return z * np.cos(theta), z * np.sin(theta)


def to_wgs84(lon, lat, coord_sys):
    lon, lat = _arr(lon), _arr(lat)
    codes = np.broadcast_to(np.asarray(coord_sys, dtype=object), lon.shape)
    out_lon, out_lat = lon.copy(), lat.copy()
    gcj = codes == "gcj02"
    if gcj.any():
        out_lon[gcj], out_lat[gcj] = gcj02_to_wgs84(lon[gcj], lat[gcj])
    bd = codes == "bd09"
    if bd.any():
        g = bd09_to_gcj02(lon[bd], lat[bd])
        out_lon[bd], out_lat[bd] = gcj02_to_wgs84(*g)
    if out_lon.ndim == 0:
        return float(out_lon), float(out_lat)
    return out_lon, out_lat


def local_crs(lon, lat) -> CRS:
    lon, lat = float(np.nanmean(_arr(lon))), float(np.nanmean(_arr(lat)))
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)

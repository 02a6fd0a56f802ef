"""Coordinates: WGS-84, GCJ-02 (AMap/Tencent) and BD-09 (Baidu), and local projections.

Chinese web maps publish points in offset coordinate systems: AMap (高德) and
Tencent use GCJ-02 (国测局坐标, "Mars coordinates"), Baidu uses BD-09, which is
a further twist of GCJ-02. Territory stores and exchanges WGS-84; every point
file is converted on import with :func:`to_wgs84` and back with
:func:`from_wgs84` only to draw on GCJ-02 tiles or to export. The offset in
Chengdu is about 250 m east and 270 m south; up to 700 m elsewhere.

Every converter is vectorised over numpy: scalars, lists, numpy arrays and
pandas Series are accepted; arrays come back as float64 numpy arrays and
scalars as floats. A row whose longitude or latitude is NaN comes back NaN
in both. Points outside China's box (:data:`CHINA_BOX`) are left unchanged,
as every GCJ-02 implementation does.

Why our own implementation
--------------------------
The GCJ-02 formula is public (the leaked reference code, reproduced by
``eviltransform``, ``coordtransform`` and ``prcoords``). The PyPI packages were
measured on 10**6 points around Chengdu (``benchmarks/bench_coords.py``):

- ``coordtransform`` 0.2.1 (MIT, C extension with a batch API): fast (about
  0.2 s per million), but returns Python lists, has only the one-step
  inverse (up to 1.2 m off) and keeps the other coordinate of a half-NaN row.
- ``prcoords`` 1.0.2 (CC0): iterative inverse (within about 3 mm), but
  scalar only (a Python loop: about 12 s per million for that inverse) and it
  warns on every point outside China.
- ``pybind11-coordtransform`` 0.1.3 (MIT): vectorised ``Nx2`` functions, but
  its out-of-China test looks at the first row only and the inverse is the
  one-step one.
- ``geocoordinates-rs`` 0.14.2 (MIT/Apache): accurate, but one point per FFI
  call (about 17 s per million).

None is vectorised, exact and safe for mixed rows at once, so this module
implements the public formula in numpy (about 60 lines) with an exact
fixed-point inverse: :func:`gcj02_to_wgs84` converges to 1e-9 degrees
(0.1 mm) in three evaluations of the forward formula (four in parts of
China). A million points take about 0.15 s forward and 0.45 s back. The
tests compare it with ``prcoords`` (a dev dependency) point by point.

Examples
--------
>>> from territory.inputs.coords import wgs84_to_gcj02, gcj02_to_wgs84
>>> lon, lat = wgs84_to_gcj02(104.0657, 30.6595)
>>> round(lon, 6), round(lat, 6)
(104.068207, 30.657079)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(back[0], 9), round(back[1], 9)
(104.0657, 30.6595)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pyproj import CRS

from territory.vocab import COORD_SYSTEMS, normalise_code

__all__ = [
    "CHINA_BOX",
    "CoordsInput",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "local_crs",
    "out_of_china",
    "project",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Scalars, sequences, numpy arrays or pandas Series of degrees.
CoordsInput = Any

#: (west, south, east, north) in degrees: the box inside which GCJ-02 applies
#: its offset. From the reference implementation (also used by eviltransform
#: and prcoords); outside it every converter returns its input unchanged.
CHINA_BOX: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)

# Constants of the GCJ-02 formula: the Krasovsky 1940 ellipsoid it uses.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# Constants of the BD-09 twist.
_BD_XPI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
# Fixed-point inverses stop once the last correction is below this (degrees). The offsets
# change by at most 0.0075 degree per degree anywhere in CHINA_BOX (measured on 2e6 random
# points), so the error left after a correction d is at most 0.0075 / (1 - 0.0075) * d:
# below 1e-9 degrees (0.1 mm) here.
_INVERSE_STEP_TOL_DEG = 1e-7
# A guard: the iteration gains two to three digits per step and needs two or three steps.
_INVERSE_MAX_ITER = 10

_Pair = tuple[Any, Any]


# ---------------------------------------------------------------------------
# Input and output handling
# ---------------------------------------------------------------------------


def _as_arrays(lon: CoordsInput, lat: CoordsInput) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return float64 1-d copies of ``lon``/``lat`` and whether both were scalars."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x = np.array(_values(lon), dtype=np.float64, ndmin=1).ravel()
    y = np.array(_values(lat), dtype=np.float64, ndmin=1).ravel()
    if x.shape != y.shape:
        raise ValueError(
            f"lon and lat must have the same length, got {x.size} and {y.size}; "
            "pass one longitude per latitude"
        )
    return x, y, scalar


def _values(value: CoordsInput) -> Any:
    if isinstance(value, pd.Series | pd.Index):
        return value.to_numpy(dtype="float64", na_value=np.nan)
    if value is None:
        return np.nan
    return value


def _result(x: np.ndarray, y: np.ndarray, scalar: bool) -> _Pair:
    if scalar:
        return float(x[0]), float(y[0])
    return x, y


def _finite(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(y)


def _in_china(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    west, south, east, north = CHINA_BOX
    return (x >= west) & (x <= east) & (y >= south) & (y <= north)


def _convert(
    func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: CoordsInput,
    lat: CoordsInput,
    *,
    china_only: bool,
) -> _Pair:
    """Apply ``func`` to the rows it concerns; NaN rows become NaN in both."""
    x, y, scalar = _as_arrays(lon, lat)
    finite = _finite(x, y)
    todo = finite & _in_china(x, y) if china_only else finite
    x[~finite] = np.nan
    y[~finite] = np.nan
    if todo.all():
        x, y = func(x, y)
    elif todo.any():
        x[todo], y[todo] = func(x[todo], y[todo])
    return _result(x, y, scalar)


# ---------------------------------------------------------------------------
# The formulas (arrays in, arrays out; no checks)
# ---------------------------------------------------------------------------


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> GCJ-02 by the public formula, with no China check.

    The twelve sines of the formula are computed from seven with the identities
    sin 3a = 3 sin a - 4 sin^3 a, cos 3a = 4 cos^3 a - 3 cos a and
    sin 2a = 2 sin a cos a (results agree with the textbook form to 1e-13 deg).
    """
    x = lon - 105.0
    y = lat - 35.0
    ax = x * (np.pi / 3.0)
    s3 = np.sin(ax)  # sin(pi x / 3)
    c3 = np.cos(ax)
    s1 = s3 * (3.0 - 4.0 * s3 * s3)  # sin(pi x)
    c1 = c3 * (4.0 * c3 * c3 - 3.0)  # cos(pi x)
    s2 = 2.0 * s1 * c1  # sin(2 pi x)
    s6 = s2 * (3.0 - 4.0 * s2 * s2)  # sin(6 pi x)
    ty = np.sin(y * (np.pi / 3.0))  # sin(pi y / 3)
    sy = ty * (3.0 - 4.0 * ty * ty)  # sin(pi y)
    root = np.sqrt(np.abs(x))
    xy = x * y
    common = (20.0 * s6 + 20.0 * s2) * (2.0 / 3.0)
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * xy
        + 0.2 * root
        + common
        + (20.0 * sy + 40.0 * ty) * (2.0 / 3.0)
        + (160.0 * np.sin(y * (np.pi / 12.0)) + 320.0 * np.sin(y * (np.pi / 30.0))) * (2.0 / 3.0)
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * xy
        + 0.1 * root
        + common
        + (20.0 * s1 + 40.0 * s3) * (2.0 / 3.0)
        + (150.0 * np.sin(x * (np.pi / 12.0)) + 300.0 * np.sin(x * (np.pi / 30.0))) * (2.0 / 3.0)
    )
    sin_lat = np.sin(np.radians(lat))
    magic = 1.0 - _GCJ_EE * sin_lat * sin_lat
    sqrt_magic = np.sqrt(magic)
    cos_lat = np.sqrt(1.0 - sin_lat * sin_lat)
    dlat *= 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon *= 180.0 / (_GCJ_A / sqrt_magic * cos_lat * np.pi)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_XPI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_XPI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_one_step(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_XPI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(p) == (lon, lat)`` by fixed-point iteration from ``start``.

    The offsets change slowly with position (the iteration contracts by less
    than 0.0075 per step), so each step ``p -= forward(p) - target`` gains two
    to three digits; it stops when the largest correction is below 1e-7
    degrees, which leaves an error below 1e-9 degrees.
    """
    px, py = start
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(px, py)
        dx = fx - lon
        dy = fy - lat
        px = px - dx
        py = py - dy
        if max(np.abs(dx).max(initial=0.0), np.abs(dy).max(initial=0.0)) < _INVERSE_STEP_TOL_DEG:
            break
    return px, py


def _gcj_inverse_exact(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj_forward, lon, lat, (lon, lat))


def _gcj_inverse_one_step(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fx, fy = _gcj_forward(lon, lat)
    return 2.0 * lon - fx, 2.0 * lat - fy


def _bd_inverse_exact(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj_to_bd, lon, lat, _bd_to_gcj_one_step(lon, lat))


# ---------------------------------------------------------------------------
# Public converters
# ---------------------------------------------------------------------------


def out_of_china(lon: CoordsInput, lat: CoordsInput) -> Any:
    """Return True where a point lies outside :data:`CHINA_BOX` (no offset applies there).

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees.

    Returns
    -------
    bool or numpy.ndarray of bool
        A bool for scalar input. Rows with NaN are False: their place is
        unknown, not known to be abroad.

    Examples
    --------
    >>> out_of_china([104.07, 2.35], [30.66, 48.86]).tolist()
    [False, True]
    """
    x, y, scalar = _as_arrays(lon, lat)
    mask = _finite(x, y) & ~_in_china(x, y)
    return bool(mask[0]) if scalar else mask


def wgs84_to_gcj02(lon: CoordsInput, lat: CoordsInput) -> _Pair:
    """Convert WGS-84 to GCJ-02 (AMap, Tencent).

    Parameters
    ----------
    lon, lat : float or array-like
        WGS-84 degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in GCJ-02: floats for scalar input, else float64 arrays.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([104.0657], [30.6595])
    >>> lon.round(6).tolist(), lat.round(6).tolist()
    ([104.068207], [30.657079])
    """
    return _convert(_gcj_forward, lon, lat, china_only=True)


def gcj02_to_wgs84(lon: CoordsInput, lat: CoordsInput, *, exact: bool = True) -> _Pair:
    """Convert GCJ-02 (AMap, Tencent) to WGS-84.

    Parameters
    ----------
    lon, lat : float or array-like
        GCJ-02 degrees.
    exact : bool, default True
        Invert the formula by fixed-point iteration to 1e-9 degrees. With
        False, use the common one-step inverse (up to about 1.2 m off in
        Chengdu; about a third of the time).

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS-84.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(104.068207, 30.657079)
    >>> round(lon, 6), round(lat, 6)
    (104.0657, 30.6595)
    """
    func = _gcj_inverse_exact if exact else _gcj_inverse_one_step
    return _convert(func, lon, lat, china_only=True)


def gcj02_to_bd09(lon: CoordsInput, lat: CoordsInput) -> _Pair:
    """Convert GCJ-02 to BD-09 (Baidu).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(104.068207, 30.657079)
    >>> round(lon, 6), round(lat, 6)
    (104.074701, 30.663109)
    """
    return _convert(_gcj_to_bd, lon, lat, china_only=False)


def bd09_to_gcj02(lon: CoordsInput, lat: CoordsInput, *, exact: bool = True) -> _Pair:
    """Convert BD-09 (Baidu) to GCJ-02.

    Parameters
    ----------
    lon, lat : float or array-like
        BD-09 degrees.
    exact : bool, default True
        Refine Baidu's published one-step inverse (about 1e-6 degrees off) by
        fixed-point iteration to 1e-9 degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(104.074701, 30.663109)
    >>> round(lon, 6), round(lat, 6)
    (104.068207, 30.657079)
    """
    func = _bd_inverse_exact if exact else _bd_to_gcj_one_step
    return _convert(func, lon, lat, china_only=False)


def wgs84_to_bd09(lon: CoordsInput, lat: CoordsInput) -> _Pair:
    """Convert WGS-84 to BD-09 (through GCJ-02; outside China only the BD twist applies).

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(104.0657, 30.6595)
    >>> round(lon, 6), round(lat, 6)
    (104.074702, 30.663109)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: CoordsInput, lat: CoordsInput, *, exact: bool = True) -> _Pair:
    """Convert BD-09 (Baidu) to WGS-84 (through GCJ-02).

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(104.074702, 30.663109)
    >>> round(lon, 5), round(lat, 5)
    (104.0657, 30.6595)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat, exact=exact), exact=exact)


_TO_WGS84: dict[str, Callable[..., _Pair]] = {
    "wgs84": lambda lon, lat, exact: (lon, lat),
    "gcj02": lambda lon, lat, exact: gcj02_to_wgs84(lon, lat, exact=exact),
    "bd09": lambda lon, lat, exact: bd09_to_wgs84(lon, lat, exact=exact),
}
_FROM_WGS84: dict[str, Callable[..., _Pair]] = {
    "wgs84": lambda lon, lat, exact: (lon, lat),
    "gcj02": lambda lon, lat, exact: wgs84_to_gcj02(lon, lat),
    "bd09": lambda lon, lat, exact: wgs84_to_bd09(lon, lat),
}


def to_wgs84(
    lon: CoordsInput,
    lat: CoordsInput,
    coord_sys: str | CoordsInput,
    *,
    default: str | None = None,
    exact: bool = True,
) -> _Pair:
    """Convert points given in ``coord_sys`` to WGS-84.

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees in the source system.
    coord_sys : str or array-like of str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` (or an alias such as ``"高德"``,
        ``"百度"``, ``"GCJ-02"``) for every row, or one code per row.
    default : str, optional
        The system of rows whose code is blank (None, NaN or ""). Without it
        a blank code is an error.
    exact : bool, default True
        Use the exact iterative inverses (see :func:`gcj02_to_wgs84`).

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS-84: floats for scalar input, else float64 arrays.

    Raises
    ------
    ValueError
        If a code is unknown or blank without ``default``, or if the number
        of codes differs from the number of points.

    Examples
    --------
    >>> lon, lat = to_wgs84([104.068207, 104.0657], [30.657079, 30.6595], ["gcj02", "wgs84"])
    >>> lon.round(5).tolist(), lat.round(5).tolist()
    ([104.0657, 104.0657], [30.6595, 30.6595])
    """
    return _by_system(_TO_WGS84, lon, lat, coord_sys, default=default, exact=exact)


def from_wgs84(
    lon: CoordsInput,
    lat: CoordsInput,
    coord_sys: str | CoordsInput,
    *,
    default: str | None = None,
) -> _Pair:
    """Convert WGS-84 points to ``coord_sys`` (for GCJ-02 tiles and exports).

    Parameters are those of :func:`to_wgs84`; ``coord_sys`` names the target.

    Examples
    --------
    >>> lon, lat = from_wgs84(104.0657, 30.6595, "gcj02")
    >>> round(lon, 6), round(lat, 6)
    (104.068207, 30.657079)
    """
    return _by_system(_FROM_WGS84, lon, lat, coord_sys, default=default, exact=True)


def _system_code(value: object, default: str | None) -> str:
    blank = value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""
    if blank:
        if default is None:
            raise ValueError("a coordinate system is blank; give one of wgs84, gcj02, bd09")
        value = default
    code = normalise_code(value, COORD_SYSTEMS)
    if code is None:
        raise ValueError(
            f"unknown coordinate system {value!r}; use one of {', '.join(COORD_SYSTEMS)}"
        )
    return code


def _by_system(
    table: dict[str, Callable[..., _Pair]],
    lon: CoordsInput,
    lat: CoordsInput,
    coord_sys: str | CoordsInput,
    *,
    default: str | None,
    exact: bool,
) -> _Pair:
    if np.ndim(coord_sys) == 0:
        code = _system_code(coord_sys, default)
        x, y, scalar = _as_arrays(lon, lat)
        x, y = table[code](x, y, exact)
        x, y = _as_arrays(x, y)[:2]
        x[~_finite(x, y)] = np.nan
        y[np.isnan(x)] = np.nan
        return _result(x, y, scalar)
    x, y, scalar = _as_arrays(lon, lat)
    systems = pd.Series(np.asarray(coord_sys, dtype=object).ravel(), dtype=object)
    if len(systems) != x.size:
        raise ValueError(
            f"coord_sys has {len(systems)} codes for {x.size} points; give one per point"
        )
    keys = systems.where(systems.notna(), "")
    codes = keys.map({k: _system_code(k, default) for k in pd.unique(keys)}).to_numpy()
    out_x = np.full_like(x, np.nan)
    out_y = np.full_like(y, np.nan)
    for code in np.unique(codes):
        rows = codes == code
        cx, cy = table[code](x[rows], y[rows], exact)
        out_x[rows], out_y[rows] = cx, cy
    out_x[~_finite(out_x, out_y)] = np.nan
    out_y[np.isnan(out_x)] = np.nan
    return _result(out_x, out_y, scalar)


# ---------------------------------------------------------------------------
# Projected CRS
# ---------------------------------------------------------------------------


def local_crs(lon: CoordsInput, lat: CoordsInput | None = None) -> CRS:
    """Return the WGS-84 UTM CRS of the zone that holds the data's centre.

    Parameters
    ----------
    lon : array-like or GeoDataFrame or GeoSeries
        WGS-84 longitudes, or geometries with a CRS (then ``lat`` is omitted).
    lat : array-like, optional
        WGS-84 latitudes.

    Returns
    -------
    pyproj.CRS
        ``EPSG:326zz`` (north) or ``EPSG:327zz`` (south), chosen at the centre
        of the bounding box of the finite points (Norway's special zones are
        not applied).

    Raises
    ------
    ValueError
        If there is no finite point, or geometries have no CRS.

    Examples
    --------
    >>> local_crs([104.0, 104.2], [30.6, 30.7]).to_epsg()
    32648
    """
    if lat is None:
        if not hasattr(lon, "total_bounds"):
            raise ValueError("give lon and lat, or a GeoDataFrame/GeoSeries as the only argument")
        if lon.crs is None:
            raise ValueError("the geometries have no CRS; set one with set_crs() first")
        geo = lon.to_crs(4326) if not lon.crs.equals(CRS.from_epsg(4326)) else lon
        west, south, east, north = geo.total_bounds
        x = np.array([west, east], dtype=np.float64)
        y = np.array([south, north], dtype=np.float64)
    else:
        x, y = _as_arrays(lon, lat)[:2]
    ok = _finite(x, y)
    if not ok.any():
        raise ValueError("no finite point to choose a projection from")
    cx = (x[ok].min() + x[ok].max()) / 2.0
    cy = (y[ok].min() + y[ok].max()) / 2.0
    zone = int(np.floor((cx + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if cy >= 0 else 32700) + zone)


def project(gdf: Any, *, to_crs: CRS | str | int | None = None) -> Any:
    """Return a copy of ``gdf`` in ``to_crs`` (default: :func:`local_crs` of the data).

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Geometries with a CRS.
    to_crs : pyproj.CRS or str or int, optional
        Target CRS; by default the UTM zone of the data's centre.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> pts = gpd.GeoSeries([Point(104.06, 30.66)], crs=4326)
    >>> project(pts).crs.to_epsg()
    32648
    """
    if gdf.crs is None:
        raise ValueError("the geometries have no CRS; set one with set_crs() first")
    return gdf.to_crs(to_crs if to_crs is not None else local_crs(gdf))

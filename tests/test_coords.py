"""WGS-84 / GCJ-02 / BD-09 conversion and local projections.

The reference is ``prcoords`` (CC0, a scalar implementation of the same public
formula with an exact iterative inverse), a dev dependency.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from territory.inputs import coords

prcoords = pytest.importorskip("prcoords", reason="prcoords (dev dependency) is the reference")

# Degrees to metres near Chengdu (30.6 N), good to 0.3 % for the error checks below.
M_PER_DEG_LAT = 110_850.0
M_PER_DEG_LON = 95_900.0

CHENGDU_WGS = (104.0657, 30.6595)  # Tianfu Square


def metres(lon_a, lat_a, lon_b, lat_b):
    return np.hypot(
        (np.asarray(lon_a) - lon_b) * M_PER_DEG_LON, (np.asarray(lat_a) - lat_b) * M_PER_DEG_LAT
    )


@pytest.fixture(scope="module")
def chengdu_points():
    rng = np.random.default_rng(20261115)
    n = 2_000
    return rng.uniform(102.9, 104.9, n), rng.uniform(30.0, 31.5, n)


@pytest.fixture(scope="module")
def china_points():
    rng = np.random.default_rng(7)
    n = 2_000
    return rng.uniform(75.0, 134.0, n), rng.uniform(18.0, 53.0, n)


def test_chengdu_point_matches_reference():
    lon, lat = coords.wgs84_to_gcj02(*CHENGDU_WGS)
    ref = prcoords.wgs_gcj((CHENGDU_WGS[1], CHENGDU_WGS[0]))
    assert isinstance(lon, float) and isinstance(lat, float)
    assert lon == pytest.approx(ref.lon, abs=1e-11)
    assert lat == pytest.approx(ref.lat, abs=1e-11)
    # the offset in Chengdu is a few hundred metres (east and south)
    assert 200 < (lon - CHENGDU_WGS[0]) * M_PER_DEG_LON < 300
    assert -300 < (lat - CHENGDU_WGS[1]) * M_PER_DEG_LAT < -200


@pytest.mark.parametrize("fixture", ["chengdu_points", "china_points"])
def test_forward_matches_reference_everywhere(fixture, request):
    lon, lat = request.getfixturevalue(fixture)
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    ref = np.array([prcoords.wgs_gcj((b, a)) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(glon, ref[:, 1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(glat, ref[:, 0], rtol=0, atol=1e-10)


def test_exact_inverse_matches_reference_and_round_trips(chengdu_points):
    lon, lat = chengdu_points
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
    assert metres(wlon, wlat, lon, lat).max() < 0.01  # 1 cm
    np.testing.assert_allclose(wlon, lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(wlat, lat, rtol=0, atol=1e-9)
    ref = np.array(
        [prcoords.gcj_wgs_bored((b, a)) for a, b in zip(glon[:300], glat[:300], strict=True)]
    )
    # prcoords stops iterating at 1e-5 degrees and lands within ~3e-8 degrees (3 mm)
    np.testing.assert_allclose(wlon[:300], ref[:, 1], rtol=0, atol=1e-7)
    np.testing.assert_allclose(wlat[:300], ref[:, 0], rtol=0, atol=1e-7)


def test_one_step_inverse_is_within_two_metres(chengdu_points):
    lon, lat = chengdu_points
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat, exact=False)
    err = metres(wlon, wlat, lon, lat)
    assert err.max() < 2.0
    # it is the rough inverse, not the exact one
    assert err.max() > 0.1
    ref = np.array([prcoords.gcj_wgs((b, a)) for a, b in zip(glon, glat, strict=True)])
    np.testing.assert_allclose(wlon, ref[:, 1], rtol=0, atol=1e-10)


def test_bd09_matches_reference_and_round_trips(chengdu_points):
    lon, lat = chengdu_points
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    blon, blat = coords.gcj02_to_bd09(glon, glat)
    ref = np.array([prcoords.gcj_bd((b, a)) for a, b in zip(glon, glat, strict=True)])
    np.testing.assert_allclose(blon, ref[:, 1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(blat, ref[:, 0], rtol=0, atol=1e-10)
    # exact: back to GCJ-02 and to WGS-84 within 1 cm
    g2lon, g2lat = coords.bd09_to_gcj02(blon, blat)
    assert metres(g2lon, g2lat, glon, glat).max() < 0.01
    w2lon, w2lat = coords.bd09_to_wgs84(blon, blat)
    assert metres(w2lon, w2lat, lon, lat).max() < 0.01
    # Baidu's one-step inverse is decimetre-level
    r1lon, r1lat = coords.bd09_to_gcj02(blon, blat, exact=False)
    assert metres(r1lon, r1lat, glon, glat).max() < 1.0
    # wgs84_to_bd09 composes the two steps
    dlon, dlat = coords.wgs84_to_bd09(lon, lat)
    np.testing.assert_array_equal(dlon, blon)
    np.testing.assert_array_equal(dlat, blat)


def test_points_outside_china_are_unchanged():
    lon = np.array([2.3522, 139.6917, -74.006, 104.0657])  # Paris, Tokyo, New York, Chengdu
    lat = np.array([48.8566, 35.6895, 40.7128, 30.6595])
    assert coords.out_of_china(lon, lat).tolist() == [True, True, True, False]
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(glon[:3], lon[:3])
    np.testing.assert_array_equal(glat[:3], lat[:3])
    assert glon[3] != lon[3]
    wlon, wlat = coords.gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(wlon[:3], lon[:3])
    np.testing.assert_array_equal(wlat[:3], lat[:3])
    assert coords.out_of_china(2.3522, 48.8566) is True


def test_nan_in_nan_out_for_both_coordinates():
    lon = [104.0657, np.nan, 104.1, None]
    lat = [30.6595, 30.6, np.nan, 30.7]
    for func in (
        coords.wgs84_to_gcj02,
        coords.gcj02_to_wgs84,
        coords.gcj02_to_bd09,
        coords.bd09_to_gcj02,
        coords.wgs84_to_bd09,
        coords.bd09_to_wgs84,
    ):
        out_lon, out_lat = func(lon, lat)
        assert np.isfinite(out_lon[0]) and np.isfinite(out_lat[0])
        assert np.isnan(out_lon[1:]).all() and np.isnan(out_lat[1:]).all(), func.__name__
    assert coords.out_of_china(lon, lat).tolist() == [False, False, False, False]
    one = coords.wgs84_to_gcj02(np.nan, 30.0)
    assert np.isnan(one[0]) and np.isnan(one[1])
    all_nan = coords.gcj02_to_wgs84([np.nan, np.nan], [np.nan, np.nan])
    assert np.isnan(all_nan[0]).all()


def test_accepts_lists_series_and_scalars_without_changing_inputs():
    lon = pd.Series([104.0657, 104.1], index=[10, 20])
    lat = pd.Series([30.6595, 30.7], index=[10, 20])
    before = lon.copy()
    out_lon, out_lat = coords.wgs84_to_gcj02(lon, lat)
    assert isinstance(out_lon, np.ndarray) and out_lon.dtype == np.float64
    assert isinstance(out_lat, np.ndarray) and out_lat.shape == (2,)
    pd.testing.assert_series_equal(lon, before)
    list_lon, _ = coords.wgs84_to_gcj02(lon.tolist(), lat.tolist())
    np.testing.assert_array_equal(out_lon, list_lon)
    scalar = coords.wgs84_to_gcj02(104, 30)  # ints are fine
    assert all(isinstance(v, float) for v in scalar)
    arr = np.array([104.0657])
    coords.gcj02_to_wgs84(arr, np.array([30.6595]))
    assert arr[0] == 104.0657
    nullable = pd.Series([104.0657, pd.NA], dtype="Float64")
    n_lon, _ = coords.wgs84_to_gcj02(nullable, [30.6595, 30.6])
    assert np.isfinite(n_lon[0]) and np.isnan(n_lon[1])


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        coords.wgs84_to_gcj02([104.0, 104.1], [30.6])


def test_to_wgs84_with_a_code_per_row():
    wlon = np.array([104.0657, 104.0, 103.9, 104.2])
    wlat = np.array([30.6595, 30.5, 30.8, 30.6])
    glon, glat = coords.wgs84_to_gcj02(wlon, wlat)
    blon, blat = coords.wgs84_to_bd09(wlon, wlat)
    systems = ["wgs84", "gcj02", "bd09", "高德"]
    src_lon = np.array([wlon[0], glon[1], blon[2], glon[3]])
    src_lat = np.array([wlat[0], glat[1], blat[2], glat[3]])
    out_lon, out_lat = coords.to_wgs84(src_lon, src_lat, systems)
    assert metres(out_lon, out_lat, wlon, wlat).max() < 0.01
    # a blank code takes the default
    out2 = coords.to_wgs84(src_lon, src_lat, ["wgs84", None, "bd09", ""], default="gcj02")
    np.testing.assert_allclose(out2[0], out_lon, rtol=0, atol=1e-12)
    # a scalar code applies to every row; the result is WGS-84
    all_gcj = coords.to_wgs84(glon, glat, "GCJ-02")
    assert metres(all_gcj[0], all_gcj[1], wlon, wlat).max() < 0.01
    same = coords.to_wgs84(wlon, wlat, "wgs84")
    np.testing.assert_array_equal(same[0], wlon)
    assert isinstance(coords.to_wgs84(104.0, 30.6, "wgs84")[0], float)
    # and back for display on GCJ-02 tiles
    back = coords.from_wgs84(out_lon, out_lat, systems)
    np.testing.assert_allclose(back[0], src_lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back[1], src_lat, rtol=0, atol=1e-9)


def test_to_wgs84_refuses_unknown_and_blank_codes():
    with pytest.raises(ValueError, match="unknown coordinate system 'utm'"):
        coords.to_wgs84([104.0], [30.6], ["utm"])
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.to_wgs84(104.0, 30.6, "mars2")
    with pytest.raises(ValueError, match="blank"):
        coords.to_wgs84([104.0, 104.1], [30.6, 30.6], ["gcj02", None])
    with pytest.raises(ValueError, match="1 codes for 2 points"):
        coords.to_wgs84([104.0, 104.1], [30.6, 30.6], ["gcj02"])


def test_vectorised_call_matches_scalar_calls():
    rng = np.random.default_rng(1)
    n = 100_000
    lon = rng.uniform(102.9, 104.9, n)
    lat = rng.uniform(30.0, 31.5, n)
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
    for i in range(0, n, 250):
        s_lon, s_lat = coords.wgs84_to_gcj02(float(lon[i]), float(lat[i]))
        assert s_lon == glon[i] and s_lat == glat[i]
        b_lon, b_lat = coords.gcj02_to_wgs84(float(glon[i]), float(glat[i]))
        assert abs(b_lon - wlon[i]) < 1e-10 and abs(b_lat - wlat[i]) < 1e-10


def test_local_crs_of_chengdu_is_utm_48n():
    crs = coords.local_crs([103.5, 104.5], [30.2, 31.0])
    assert crs.to_epsg() == 32648
    assert crs.is_projected and "UTM zone 48N" in crs.name
    assert coords.local_crs([151.2], [-33.9]).to_epsg() == 32756  # Sydney
    assert coords.local_crs([104.0, np.nan], [30.6, np.nan]).to_epsg() == 32648
    with pytest.raises(ValueError, match="no finite point"):
        coords.local_crs([np.nan], [np.nan])


def test_local_crs_and_project_from_a_geodataframe():
    square = Polygon([(104.0, 30.6), (104.01, 30.6), (104.01, 30.61), (104.0, 30.61)])
    gdf = gpd.GeoDataFrame({"zone_id": ["z1"]}, geometry=[square], crs=4326)
    assert coords.local_crs(gdf).to_epsg() == 32648
    projected = coords.project(gdf)
    assert projected.crs.to_epsg() == 32648
    assert gdf.crs.to_epsg() == 4326  # the input is not changed
    # about 962 m x 1109 m
    assert projected.area.iloc[0] == pytest.approx(962 * 1109, rel=0.01)
    assert coords.project(gdf, to_crs=3857).crs.to_epsg() == 3857
    # a layer in a projected CRS is measured in WGS-84 first
    assert coords.local_crs(projected).to_epsg() == 32648
    with pytest.raises(ValueError, match="no CRS"):
        coords.project(gpd.GeoDataFrame(geometry=[Point(104.0, 30.6)]))
    with pytest.raises(ValueError, match="no CRS"):
        coords.local_crs(gpd.GeoSeries([Point(104.0, 30.6)]))
    with pytest.raises(ValueError, match="give lon and lat"):
        coords.local_crs([104.0])


def test_exact_inverse_is_within_1e9_degrees_across_china(china_points):
    lon, lat = china_points
    lon = np.concatenate([lon, [105.0, 105.0 + 1e-12, 137.8, 72.1]])  # the cusp at 105 E, edges
    lat = np.concatenate([lat, [35.0, 30.0, 55.8, 0.9]])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 1e-9
    assert np.abs(wlat - lat).max() < 1e-9

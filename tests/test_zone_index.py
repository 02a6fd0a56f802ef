from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import MultiPolygon, Point, Polygon, box

from territory.inputs import zone_index
from territory.inputs.zone_index import ZoneIndex, assign_points
from territory.settings import Settings

NAN = float("nan")


def brute_force(polygons, x, y):
    """Lowest index of a polygon that covers each point (shapely), -1 if none."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    pts = shapely.points(np.where(finite, x, 0.0), np.where(finite, y, 0.0))
    cover = shapely.covers(np.asarray(polygons, dtype=object)[:, None], pts[None, :])
    out = np.where(cover.any(axis=0), cover.argmax(axis=0), -1)
    out[~finite] = -1
    return out


def lookup(zones, points, **kwargs):
    xy = np.asarray(points, dtype=float)
    return ZoneIndex(zones, **kwargs).lookup(xy[:, 0], xy[:, 1]).tolist()


# ------------------------------------------------------------------ literal zones
@pytest.fixture
def two_squares():
    return [box(0, 0, 2, 2), box(2, 0, 4, 2)]


@pytest.fixture
def l_shape():
    return Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])


@pytest.fixture
def ring():
    """A 10 x 10 square with a 4 x 4 hole in the middle."""
    return Polygon(box(0, 0, 10, 10).exterior.coords, [box(3, 3, 7, 7).exterior.coords])


@pytest.mark.parametrize("resolution", [None, 0.3, 1.0, 5.0])
def test_two_squares_shared_edge_and_vertices_go_to_lowest_index(two_squares, resolution):
    points = [(1, 1), (3, 1), (2, 1), (2, 0), (2, 2), (4, 1), (0, 0), (5, 1), (2, 2.5)]
    assert lookup(two_squares, points, resolution=resolution) == [0, 1, 0, 0, 0, 1, 0, -1, -1]
    # The rule is the index, not the geometry: swapped, the shared edge goes to the other square.
    swapped = two_squares[::-1]
    assert lookup(swapped, points, resolution=resolution) == [1, 0, 0, 0, 0, 0, 1, -1, -1]


def test_l_shape_notch_is_outside_and_reflex_vertex_inside(l_shape):
    points = [(2, 2), (0.5, 2), (1, 1), (2, 1), (3, 0.5), (1, 2.5), (1.5, 1.5)]
    assert lookup([l_shape], points, resolution=0.25) == [-1, 0, 0, 0, 0, 0, -1]


def test_hole_is_outside_but_its_edge_is_covered(ring):
    points = [(5, 5), (3, 5), (7, 7), (1, 1), (10, 10), (6.9, 6.9)]
    assert lookup([ring], points, resolution=0.5) == [-1, 0, 0, 0, 0, -1]


def test_zone_inside_another_zones_hole(ring):
    inner = box(3, 3, 7, 7)
    points = [(5, 5), (3, 5), (7, 7), (1, 1), (11, 11)]
    assert lookup([ring, inner], points) == [1, 0, 0, 0, -1]
    assert lookup([inner, ring], points) == [0, 0, 0, 1, -1]


def test_multipolygon_parts_and_shared_edge_with_neighbour():
    multi = MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    zones = [box(1, 0, 2, 1), multi]
    points = [(0.5, 0.5), (5.5, 5.5), (3, 3), (1, 0.5), (1.5, 0.5), (6, 6)]
    assert lookup(zones, points, resolution=0.2) == [1, 1, -1, 0, 0, 1]


def test_overlapping_zones_lowest_index_wins():
    zones = [box(0, 0, 4, 4), box(2, 2, 6, 6), box(2.5, 2.5, 3.5, 3.5)]
    points = [(3, 3), (1, 1), (5, 5), (3.5, 3.5), (4, 5), (6.5, 6.5)]
    assert lookup(zones, points) == [0, 0, 1, 0, 1, -1]
    assert lookup(zones[::-1], points) == [0, 2, 1, 0, 1, -1]


def test_diagonal_shared_edge_points_exactly_on_it():
    # The edge is neither horizontal nor vertical: on it, only the exact check can tell.
    low = Polygon([(0, 0), (4, 0), (4, 4)])
    high = Polygon([(0, 0), (4, 4), (0, 4)])
    points = [(1, 1), (2.5, 2.5), (3, 1), (1, 3), (0.1, 0.1), (3.9, 3.9)]
    for resolution in (0.25, 0.3, 1.0):
        assert lookup([low, high], points, resolution=resolution) == [0, 0, 0, 1, 0, 0]
        assert lookup([high, low], points, resolution=resolution) == [0, 0, 1, 0, 0, 0]


def test_nan_inf_and_far_points_are_outside(two_squares):
    x = [NAN, 1.0, np.inf, -np.inf, 1e300, 1.0]
    y = [1.0, NAN, 1.0, 1.0, 1.0, -1e300]
    assert ZoneIndex(two_squares).lookup(x, y).tolist() == [-1] * 6


def test_lookup_keeps_shape_and_dtype(two_squares):
    index = ZoneIndex.build(two_squares)
    out = index.lookup(np.array([[1.0, 3.0], [5.0, 2.0]]), 1.0)
    assert out.dtype == np.int32
    assert out.tolist() == [[0, 1], [-1, 0]]
    assert index.lookup([], []).shape == (0,)


def test_missing_and_empty_zones_never_match():
    zones = [None, box(0, 0, 1, 1), Polygon()]
    assert lookup(zones, [(0.5, 0.5), (0, 0), (2, 2)]) == [1, 1, -1]
    assert lookup([], [(0.5, 0.5)]) == [-1]
    assert lookup([None, Polygon()], [(0.5, 0.5)]) == [-1]


def test_accepts_geoseries_and_geodataframe(two_squares):
    series = gpd.GeoSeries(two_squares, index=[10, 20])
    assert lookup(series, [(3, 1)]) == [1]
    assert lookup(gpd.GeoDataFrame(geometry=series), [(1, 1)]) == [0]


def test_does_not_prepare_the_callers_geometries(two_squares):
    ZoneIndex(two_squares)
    assert not shapely.is_prepared(two_squares).any()


def test_resolution_from_settings_and_cap(two_squares):
    coarse = Settings().merged({"load": {"zone_index_cell_share": 0.5}})
    assert ZoneIndex(two_squares, settings=coarse).resolution == pytest.approx(1.0)
    capped = Settings().merged({"load": {"zone_index_max_cells": 100}})
    index = ZoneIndex(two_squares, settings=capped)
    assert index.shape[0] * index.shape[1] <= 100
    assert lookup(two_squares, [(2, 1), (3, 1)], settings=capped) == [0, 1]


def test_rejects_non_polygons():
    with pytest.raises(ValueError, match=r"Polygon or MultiPolygon; positions 1 are not"):
        ZoneIndex([box(0, 0, 1, 1), Point(0, 0)])


def test_rejects_invalid_polygons():
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    with pytest.raises(ValueError, match=r"positions 0 are invalid.*make_valid"):
        ZoneIndex([bowtie])


@pytest.mark.parametrize("resolution", [0.0, -1.0, float("nan")])
def test_rejects_bad_resolution(two_squares, resolution):
    with pytest.raises(ValueError, match="resolution must be a positive number"):
        ZoneIndex(two_squares, resolution=resolution)


def test_rejects_resolution_giving_too_many_cells(two_squares):
    with pytest.raises(ValueError, match="use a larger resolution"):
        ZoneIndex(two_squares, resolution=1e-6)


# ---------------------------------------------------------------- assign_points
def test_assign_points_aligned_to_index(two_squares):
    zones = gpd.GeoDataFrame({"zone_id": ["a", "b"]}, geometry=two_squares, crs=3857)
    points = gpd.GeoDataFrame(
        geometry=[Point(1, 1), Point(2, 1), None, Point(9, 9), Point(), Point(3, 1)],
        index=["p", "q", "r", "s", "t", "u"],
        crs=3857,
    )
    got = assign_points(points, zones)
    expected = pd.Series([0, 0, -1, -1, -1, 1], index=points.index, name="zone_position")
    pd.testing.assert_series_equal(got, expected, check_dtype=False)
    assert got.dtype == np.int32


def test_assign_points_refuses_crs_mismatch(two_squares):
    zones = gpd.GeoSeries(two_squares, crs=3857)
    points = gpd.GeoSeries([Point(1, 1)], crs=4326)
    with pytest.raises(ValueError, match=r"differs from zones CRS.*to_crs"):
        assign_points(points, zones)


def test_assign_points_refuses_non_points(two_squares):
    zones = gpd.GeoSeries(two_squares, crs=3857)
    points = gpd.GeoSeries([Point(1, 1), box(0, 0, 1, 1)], crs=3857)
    with pytest.raises(ValueError, match="points must be Point geometries"):
        assign_points(points, zones)


# ---------------------------------------------------- randomised, against shapely
def random_zones(rng, n, *, scale=1.0, offset=(0.0, 0.0)):
    """Voronoi cells clipped to a square, some with holes (half filled by a zone of
    their own), one MultiPolygon and two zones overlapping others (and each other, so
    some places are covered three deep), in random order."""
    square = box(0, 0, 100, 100)
    seeds = shapely.multipoints(rng.uniform(0, 100, (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=square))
    cells = list(shapely.intersection(np.asarray(cells), square))
    rng.shuffle(cells)
    zones = []
    for i, cell in enumerate(cells):
        if i < n // 5:
            hole = shapely.affinity.scale(cell, 0.5, 0.5, origin=cell.centroid)
            cell = shapely.difference(cell, hole)
            if i % 2:
                zones.append(hole)
        zones.append(cell)
    multi = shapely.union(zones.pop(), zones.pop(0))
    if multi.geom_type == "MultiPolygon":
        zones.insert(len(zones) // 2, multi)
    zones += [box(20, 30, 55, 60), box(40, 10, 70, 45)]
    zones = [zones[i] for i in rng.permutation(len(zones))]
    zones = [shapely.affinity.scale(z, scale, scale, origin=(0, 0)) for z in zones]
    return [shapely.affinity.translate(z, *offset) for z in zones]


def random_points(rng, zones, n):
    """Uniform points plus points exactly on vertices and on (or a rounding away from) edges."""
    coords = shapely.get_coordinates(zones)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = 0.05 * (hi - lo)
    xy = rng.uniform(lo - pad, hi + pad, (n, 2))
    k = n // 4
    xy[:k] = coords[rng.integers(0, len(coords), k)]
    i = rng.integers(0, len(coords) - 1, k)
    xy[k : 2 * k] = coords[i] + (coords[i + 1] - coords[i]) * rng.random((k, 1))
    xy[2 * k : 2 * k + 3] = np.nan
    return xy[:, 0], xy[:, 1]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("scale", "offset"),
    [(1.0, (0.0, 0.0)), (100.0, (500_000.0, 4_400_000.0)), (0.001, (116.3, 39.9))],
    ids=["plain", "utm", "lonlat"],
)
def test_random_zones_match_shapely_covers(seed, scale, offset):
    rng = np.random.default_rng(seed)
    zones = random_zones(rng, 25, scale=scale, offset=offset)
    x, y = random_points(rng, zones, 3000)
    expected = brute_force(zones, x, y)
    for resolution in (None, 0.7 * scale, 6.0 * scale):
        got = ZoneIndex(zones, resolution=resolution).lookup(x, y)
        mismatch = np.flatnonzero(got != expected)
        assert mismatch.size == 0, (resolution, mismatch[:5], got[mismatch[:5]])


@pytest.mark.parametrize("resolution", [1.0, 0.5, 0.25])
def test_edges_through_cell_centres_and_along_cell_sides(resolution):
    # With xmin = 0 the grid starts at -2 * resolution: edges at half-integers pass
    # exactly through cell centres at resolution 1, edges at integers run along cell
    # sides. Both are the awkward cases for a raster.
    rng = np.random.default_rng(7)
    xs = [0, 0.5, 1.5, 2.0, 3.5, 5.0]
    zones = [box(x0, y0, x1, y1) for x0, x1 in pairwise(xs) for y0, y1 in pairwise(xs)]
    zones = [zones[i] for i in rng.permutation(len(zones))]
    grid = np.arange(-1.0, 6.01, 0.25)
    gx, gy = np.meshgrid(grid, grid)
    x = np.r_[gx.ravel(), rng.uniform(-1, 6, 500)]
    y = np.r_[gy.ravel(), rng.uniform(-1, 6, 500)]
    got = ZoneIndex(zones, resolution=resolution).lookup(x, y)
    np.testing.assert_array_equal(got, brute_force(zones, x, y))


def test_points_a_rounding_error_away_from_a_slanted_edge():
    # Naive floating-point orientation puts these points left of a -> b; exactly they lie
    # right of it (found by searching with exact rational arithmetic).
    a, b = (0.1, 0.2), (7.3, 3.1)
    left = Polygon([a, b, (0.1, 3.1)])
    right = Polygon([a, (7.3, 0.2), b])
    x = [1.137949211581363, 2.3451864544754955, 4.0570745512460284, 1.5648777328682775]
    y = [0.6180628768869378, 1.1043112108304078, 1.7938216942518725, 0.7900201979608339]
    for zones in ([left, right], [right, left]):
        expected = brute_force(zones, x, y)
        assert len(set(expected.tolist())) == 1
        for resolution in (None, 0.25, 0.1):
            got = ZoneIndex(zones, resolution=resolution).lookup(x, y)
            np.testing.assert_array_equal(got, expected)


def test_lookup_in_chunks_matches(monkeypatch, two_squares):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 5, 1000), rng.uniform(-1, 3, 1000)
    whole = ZoneIndex(two_squares).lookup(x, y)
    monkeypatch.setattr(zone_index, "_CHUNK", 64)
    np.testing.assert_array_equal(ZoneIndex(two_squares).lookup(x, y), whole)
    np.testing.assert_array_equal(whole, brute_force(two_squares, x, y))


def test_rejects_resolution_too_fine_for_the_coordinates():
    far = [box(1e12, 1e12, 1e12 + 4, 1e12 + 2)]
    with pytest.raises(ValueError, match="too fine for coordinates of magnitude"):
        ZoneIndex(far, resolution=1.0)
    assert lookup(far, [(1e12 + 1, 1e12 + 1)], resolution=1e4) == [0]

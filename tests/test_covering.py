"""Tests for territory.outreach.covering: joint choice of K sites (MCLP)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from shapely.geometry import Point, Polygon

from territory.outreach import covering
from territory.outreach.covering import CoverResult, choose_sites, coverage_matrix, max_cover
from territory.settings import Settings

# ---------------------------------------------------------------------------
# Helpers: brute force on tiny instances
# ---------------------------------------------------------------------------


def covered_weight(weights, cover, sites) -> float:
    dense = np.asarray(sp.csr_matrix(cover).toarray(), dtype=bool)
    if not len(sites):
        return 0.0
    return float(weights[dense[list(sites)].any(axis=0)].sum())


def brute_force(weights, cover, k, *, mandatory=(), forbidden=()) -> float:
    """Best covered weight over all admissible sets of at most k sites."""
    n = sp.csr_matrix(cover).shape[0]
    free = [i for i in range(n) if i not in mandatory and i not in forbidden]
    size = min(k - len(mandatory), len(free))
    return max(
        covered_weight(weights, cover, [*mandatory, *extra])
        for extra in itertools.combinations(free, size)
    )


def random_instance(seed: int, n_cand: int = 10, n_dem: int = 25, *, integer: bool):
    rng = np.random.default_rng(seed)
    cover = rng.random((n_cand, n_dem)) < rng.uniform(0.1, 0.35)
    weights = (
        rng.integers(0, 6, size=n_dem).astype(float) if integer else rng.gamma(2.0, 3.0, n_dem)
    )
    return weights, sp.csr_matrix(cover)


def assert_consistent(result: CoverResult, weights, cover, k) -> None:
    """Invariants every result must satisfy, whatever the method."""
    assert len(set(result.selected)) == len(result.selected), "sites must be distinct"
    assert len(result.selected) <= k
    assert len(result.marginal_gain) == len(result.selected)
    assert result.covered_weight == pytest.approx(
        covered_weight(weights, cover, result.selected), rel=1e-12
    )
    assert sum(result.marginal_gain) == pytest.approx(result.covered_weight, rel=1e-9, abs=1e-12)
    # Greedy order on a coverage function: gains never increase.
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(result.marginal_gain))
    assert result.total_weight == pytest.approx(weights.sum())
    assert result.upper_bound >= result.covered_weight
    expected_gap = (
        0.0
        if result.upper_bound == 0
        else (result.upper_bound - result.covered_weight) / result.upper_bound
    )
    assert result.gap == pytest.approx(expected_gap, abs=1e-12)
    if result.optimal:
        assert result.gap == 0.0


# ---------------------------------------------------------------------------
# Fixtures: literal instances
# ---------------------------------------------------------------------------


@pytest.fixture
def two_towns():
    """A big town with three overlapping candidate sites and a small town with one.

    The three sites in the big town each reach more people than the one in
    the small town, so the top 2 by reach both sit in the big town.
    """
    demand = np.array([[0, 0], [400, 0], [800, 0], [1200, 0], [9000, 0], [9400, 0]], dtype=float)
    weights = np.array([10, 10, 10, 10, 8, 8], dtype=float)
    sites = np.array([[600, 0], [400, 0], [800, 0], [9200, 0]], dtype=float)
    return demand, weights, sites


@pytest.fixture
def greedy_trap():
    """Greedy takes the site reaching the most (0) and is stuck at 5.5; the optimum is 7."""
    weights = np.array([2.0, 1.5, 2.0, 1.5])  # demand a, b, c, d
    cover = sp.csr_matrix(
        np.array(
            [
                [1, 0, 1, 0],  # site 0: a, c -> 4
                [1, 1, 0, 0],  # site 1: a, b -> 3.5
                [0, 0, 1, 1],  # site 2: c, d -> 3.5
            ],
            dtype=bool,
        )
    )
    return weights, cover


# ---------------------------------------------------------------------------
# coverage_matrix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coverage_matrix_matches_brute_force_distances(seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 5000, size=(60, 2))
    sites = rng.uniform(0, 5000, size=(15, 2))
    cover = coverage_matrix(demand, sites, radius=900.0)
    distances = np.hypot(*(sites[:, None, :] - demand[None, :, :]).transpose(2, 0, 1))
    assert isinstance(cover, sp.csr_matrix)
    assert cover.dtype == bool
    assert cover.shape == (15, 60)
    np.testing.assert_array_equal(cover.toarray(), distances <= 900.0)
    assert cover.has_sorted_indices


def test_coverage_matrix_includes_points_exactly_at_the_radius():
    demand = np.array([[3.0, 4.0], [0.0, 5.0], [0.0, 5.000001], [6.0, 8.0]])
    cover = coverage_matrix(demand, np.array([[0.0, 0.0]]), radius=5.0)
    np.testing.assert_array_equal(cover.toarray(), [[True, True, False, False]])


def test_coverage_matrix_accepts_lists_and_empty_inputs():
    cover = coverage_matrix([[0, 0], [10, 0]], [[5, 0]], radius=5)
    np.testing.assert_array_equal(cover.toarray(), [[True, True]])
    assert coverage_matrix(np.zeros((0, 2)), [[5, 0]], radius=5).shape == (1, 0)
    assert coverage_matrix([[0, 0]], np.zeros((0, 2)), radius=5).shape == (0, 1)


def test_coverage_matrix_does_not_change_its_inputs():
    demand = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = demand.copy()
    coverage_matrix(demand, demand, radius=1.0)
    np.testing.assert_array_equal(demand, before)


@pytest.mark.parametrize(
    ("demand", "sites", "radius", "match"),
    [
        (np.zeros((3, 3)), np.zeros((1, 2)), 1.0, r"demand_xy must have shape \(n, 2\)"),
        (np.zeros((3, 2)), np.zeros(4), 1.0, r"candidate_xy must have shape \(n, 2\)"),
        (np.array([[0.0, np.nan]]), np.zeros((1, 2)), 1.0, "NaN or infinite coordinates"),
        (np.zeros((1, 2)), np.zeros((1, 2)), 0.0, "positive finite number of metres"),
        (np.zeros((1, 2)), np.zeros((1, 2)), -5.0, "positive finite number of metres"),
        (np.zeros((1, 2)), np.zeros((1, 2)), float("inf"), "positive finite number"),
        (np.zeros((1, 2)), np.zeros((1, 2)), "3km", "radius must be a number of metres"),
    ],
)
def test_coverage_matrix_rejects_bad_input(demand, sites, radius, match):
    with pytest.raises(ValueError, match=match):
        coverage_matrix(demand, sites, radius=radius)


# ---------------------------------------------------------------------------
# max_cover: the joint choice beats top N
# ---------------------------------------------------------------------------


def test_joint_choice_beats_top_n_by_reach(two_towns):
    demand, weights, sites = two_towns
    cover = coverage_matrix(demand, sites, radius=500.0)
    reach = np.asarray(cover.multiply(weights).sum(axis=1)).ravel()
    top_two = list(np.argsort(-reach, kind="stable")[:2])
    assert set(top_two) <= {0, 1, 2}, "fixture: top 2 by reach should both be in the big town"

    result = max_cover(weights, cover, 2)

    best = brute_force(weights, cover, 2)
    assert result.covered_weight == best
    assert result.covered_weight > covered_weight(weights, cover, top_two)
    assert 3 in result.selected, "the small town's site must be chosen"
    assert result.method == "exact"
    assert result.optimal
    assert_consistent(result, weights, cover, 2)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_exact_equals_brute_force(seed, k):
    weights, cover = random_instance(seed, n_cand=11, integer=seed % 2 == 0)
    result = max_cover(weights, cover, k)
    assert result.method == "exact"
    assert result.optimal
    assert result.covered_weight == pytest.approx(brute_force(weights, cover, k), rel=1e-9)
    assert result.upper_bound == result.covered_weight
    assert_consistent(result, weights, cover, k)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [2, 3, 4])
def test_greedy_is_no_better_than_exact_and_its_bound_holds(seed, k):
    weights, cover = random_instance(seed, n_cand=12, integer=seed % 2 == 1)
    optimum = brute_force(weights, cover, k)
    greedy = max_cover(weights, cover, k, exact_limit=0)
    exact = max_cover(weights, cover, k)

    assert greedy.method == "greedy"
    assert greedy.covered_weight <= exact.covered_weight + 1e-9
    assert exact.covered_weight == pytest.approx(optimum, rel=1e-9)
    # The bound is a true upper bound on the optimum ...
    assert greedy.upper_bound >= optimum * (1 - 1e-12)
    # ... and the gap reported is at least the true gap.
    true_gap = (optimum - greedy.covered_weight) / optimum if optimum else 0.0
    assert greedy.gap >= true_gap - 1e-12
    assert greedy.optimal == (greedy.gap == 0.0)
    assert_consistent(greedy, weights, cover, k)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_bound_without_the_lp_is_still_valid(monkeypatch, seed):
    """Large models skip the LP; the Lagrangian and online bounds must hold alone."""
    monkeypatch.setattr(covering, "_LP_BOUND_MAX_TERMS", -1)
    weights, cover = random_instance(seed + 200, n_cand=12, integer=seed % 2 == 0)
    optimum = brute_force(weights, cover, 4, mandatory=(0,))
    result = max_cover(weights, cover, 4, mandatory=[0], exact_limit=0)
    assert result.upper_bound >= optimum * (1 - 1e-12)
    assert_consistent(result, weights, cover, 4)

    problem = covering._Problem(weights, sp.csr_matrix(cover, dtype=bool), 4, [0], [])
    lagrangian = covering._lagrangian_bound(problem, list(result.selected))
    lp = covering._lp_bound(problem)
    # Weak duality: no Lagrangian bound is below the LP relaxation, nor the LP
    # below the integer optimum (up to rounding).
    assert lagrangian >= lp * (1 - 1e-12)
    assert lp >= optimum * (1 - 1e-12)


def test_greedy_gap_on_a_known_greedy_trap(greedy_trap):
    weights, cover = greedy_trap
    greedy = max_cover(weights, cover, 2, exact_limit=1)
    exact = max_cover(weights, cover, 2)

    assert greedy.method == "greedy"
    assert greedy.selected == (0, 1)  # site 0 first, then the lower index of the tie 1/2
    assert greedy.covered_weight == 5.5
    assert exact.selected in {(1, 2), (2, 1)}
    assert exact.covered_weight == 7.0
    assert not greedy.optimal
    # The LP relaxation of this instance is integral: the bound is the optimum.
    assert greedy.upper_bound == pytest.approx(7.0)
    assert greedy.gap == pytest.approx((7.0 - 5.5) / 7.0)


def test_greedy_and_exact_agree_when_greedy_is_optimal(two_towns):
    demand, weights, sites = two_towns
    cover = coverage_matrix(demand, sites, radius=500.0)
    greedy = max_cover(weights, cover, 2, exact_limit=0)
    assert greedy.covered_weight == max_cover(weights, cover, 2).covered_weight
    assert greedy.optimal
    assert greedy.gap == 0.0
    assert greedy.upper_bound == greedy.covered_weight


# ---------------------------------------------------------------------------
# Ties and reproducibility
# ---------------------------------------------------------------------------


def test_duplicate_sites_resolve_to_the_lowest_index():
    weights = np.array([5.0, 5.0, 3.0])
    cover = sp.csr_matrix(
        np.array([[0, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=bool)
    )  # 0 == 2, 1 == 3
    for exact_limit in (0, 10):
        result = max_cover(weights, cover, 2, exact_limit=exact_limit)
        assert result.selected == (1, 0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 4])
def test_exact_ties_prefer_lower_indices(seed, k):
    """No chosen site can be swapped for a lower unchosen one without losing weight."""
    rng = np.random.default_rng(seed)
    cover = sp.csr_matrix(rng.random((10, 25)) < rng.uniform(0.1, 0.35))
    weights = rng.integers(0, 3, size=25).astype(float)  # weights 0..2: many ties
    result = max_cover(weights, cover, k)
    assert result.covered_weight == brute_force(weights, cover, k)
    chosen = set(result.selected)
    for s in chosen:
        for lower in range(s):
            if lower in chosen:
                continue
            swapped = (chosen - {s}) | {lower}
            assert covered_weight(weights, cover, swapped) < result.covered_weight


@pytest.mark.parametrize("exact_limit", [0, 10])
def test_results_are_reproducible(exact_limit):
    weights, cover = random_instance(7, n_cand=12, integer=True)
    first = max_cover(weights, cover, 4, exact_limit=exact_limit)
    again = max_cover(weights, cover.copy(), 4, exact_limit=exact_limit)
    assert first == again


# ---------------------------------------------------------------------------
# Mandatory and forbidden sites
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("exact_limit", [0, 10])
def test_mandatory_and_forbidden_are_honoured(seed, exact_limit):
    weights, cover = random_instance(seed + 50, n_cand=10, integer=False)
    plain = max_cover(weights, cover, 3)
    must = [int(max(set(range(10)) - set(plain.selected)))]  # a site it would not pick
    never = [plain.selected[0]]  # the best site it would pick
    result = max_cover(weights, cover, 3, mandatory=must, forbidden=never, exact_limit=exact_limit)

    assert set(must) <= set(result.selected)
    assert not set(never) & set(result.selected)
    assert_consistent(result, weights, cover, 3)
    best = brute_force(weights, cover, 3, mandatory=must, forbidden=never)
    if exact_limit:
        assert result.covered_weight == pytest.approx(best, rel=1e-9)
        assert result.optimal
    else:
        assert result.covered_weight <= best + 1e-9
        assert result.upper_bound >= best * (1 - 1e-12)


def test_a_useless_mandatory_site_is_still_listed(greedy_trap):
    weights, cover = greedy_trap
    cover = sp.vstack(
        [cover, sp.csr_matrix((1, 4), dtype=bool)], format="csr"
    )  # site 3 reaches nobody
    result = max_cover(weights, cover, 3, mandatory=[3])
    assert result.selected == (1, 2, 3)
    assert result.marginal_gain == (3.5, 3.5, 0.0)


def test_k_equal_to_mandatory_needs_no_choice(greedy_trap):
    weights, cover = greedy_trap
    result = max_cover(weights, cover, 2, mandatory=[2, 0])
    assert result.selected == (0, 2)
    assert result.covered_weight == 5.5
    assert result.optimal


# ---------------------------------------------------------------------------
# Degenerate cases
# ---------------------------------------------------------------------------


def test_k_zero_chooses_nothing(greedy_trap):
    weights, cover = greedy_trap
    result = max_cover(weights, cover, 0)
    assert result.selected == ()
    assert result.marginal_gain == ()
    assert result.covered_weight == 0.0
    assert result.total_weight == 7.0
    assert result.optimal
    assert result.gap == 0.0


@pytest.mark.parametrize("exact_limit", [0, 10])
def test_k_beyond_the_useful_sites_returns_every_useful_site(exact_limit):
    weights = np.array([1.0, 2.0, 0.0, 4.0])
    cover = sp.csr_matrix(
        np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)
    )  # site 1 reaches only zero weight, site 3 nobody
    result = max_cover(weights, cover, 4, exact_limit=exact_limit)
    assert result.selected == (2, 0)  # site 4 adds nothing once 2 and 0 are in
    assert result.covered_weight == 7.0
    assert result.optimal
    assert result.method == ("exact" if exact_limit else "greedy")


def test_zero_weights_and_no_coverage_give_an_empty_optimal_choice():
    cover = sp.csr_matrix(np.eye(3, dtype=bool))
    for weights, matrix in (
        (np.zeros(3), cover),
        (np.ones(3), sp.csr_matrix((3, 3), dtype=bool)),
    ):
        result = max_cover(weights, matrix, 2)
        assert result.selected == ()
        assert result.covered_weight == 0.0
        assert result.upper_bound == 0.0
        assert result.gap == 0.0
        assert result.optimal


def test_uncovered_demand_counts_in_total_only():
    weights = np.array([3.0, 100.0])
    cover = sp.csr_matrix(np.array([[1, 0]], dtype=bool))
    result = max_cover(weights, cover, 1)
    assert result.covered_weight == 3.0
    assert result.total_weight == 103.0
    assert result.upper_bound == 3.0


def test_dense_coverage_and_lists_are_accepted(greedy_trap):
    weights, cover = greedy_trap
    result = max_cover(weights.tolist(), cover.toarray().astype(int), 2)
    assert result.covered_weight == 7.0


def test_inputs_are_not_changed(greedy_trap):
    weights, cover = greedy_trap
    w_before, c_before = weights.copy(), cover.toarray().copy()
    max_cover(weights, cover, 2)
    max_cover(weights, cover, 2, exact_limit=0)
    np.testing.assert_array_equal(weights, w_before)
    np.testing.assert_array_equal(cover.toarray(), c_before)


# ---------------------------------------------------------------------------
# Solver fallback
# ---------------------------------------------------------------------------


def test_greedy_fallback_when_cbc_is_missing(monkeypatch, greedy_trap):
    weights, cover = greedy_trap
    monkeypatch.setattr(covering, "_cbc", lambda pulp, **options: None)
    result = max_cover(weights, cover, 2)
    assert result.method == "greedy"
    assert result.covered_weight == 5.5
    assert result.upper_bound == pytest.approx(7.0)
    assert not result.optimal


def test_time_out_keeps_cbc_solution_when_better_than_greedy(monkeypatch, greedy_trap):
    weights, cover = greedy_trap
    # As if CBC stopped on its time limit holding the optimum, not yet proven.
    monkeypatch.setattr(
        covering, "_solve_exact", lambda problem, *, start, time_limit: ([1, 2], False)
    )
    result = max_cover(weights, cover, 2, time_limit=1.0)
    assert result.method == "exact"
    assert set(result.selected) == {1, 2}
    # The LP bound proves it optimal after all.
    assert result.optimal


def test_time_out_keeps_greedy_when_cbc_solution_is_worse(monkeypatch, greedy_trap):
    weights, cover = greedy_trap
    monkeypatch.setattr(
        covering, "_solve_exact", lambda problem, *, start, time_limit: ([2], False)
    )
    result = max_cover(weights, cover, 2, time_limit=1.0)
    assert result.method == "greedy"
    assert result.selected == (0, 1)


def test_time_limit_is_passed_to_cbc(greedy_trap):
    weights, cover = greedy_trap
    result = max_cover(weights, cover, 2, time_limit=30)
    assert result.method == "exact"
    assert result.optimal
    assert result.covered_weight == 7.0


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "k", "options", "match"),
    [
        ([1.0, -2.0, 3.0, 1.0], 2, {}, r"non-negative.*index 1.*np\.clip"),
        ([1.0, np.nan, 3.0, 1.0], 2, {}, r"finite.*index 1.*nan_to_num"),
        ([[1.0, 2.0, 3.0, 1.0]], 2, {}, "one-dimensional"),
        ([1.0, 2.0, 3.0], 2, {}, r"shape \(3, 4\) but weights has 3 entries"),
        ([1.0, 2.0, 3.0, 1.0], -1, {}, "k must be 0 or more"),
        ([1.0, 2.0, 3.0, 1.0], 1.5, {}, "k must be a whole number"),
        ([1.0, 2.0, 3.0, 1.0], True, {}, "k must be a whole number"),
        ([1.0, 2.0, 3.0, 1.0], 2, {"exact_limit": -1}, "exact_limit must be 0 or more"),
        ([1.0, 2.0, 3.0, 1.0], 2, {"time_limit": 0}, "time_limit must be a positive number"),
        ([1.0, 2.0, 3.0, 1.0], 2, {"time_limit": "1s"}, "time_limit must be a number"),
        ([1.0, 2.0, 3.0, 1.0], 1, {"mandatory": [0, 1]}, "raise k to at least 2"),
        (
            [1.0, 2.0, 3.0, 1.0],
            2,
            {"mandatory": [1], "forbidden": [1]},
            "both mandatory and forbidden",
        ),
        ([1.0, 2.0, 3.0, 1.0], 2, {"forbidden": [3]}, r"forbidden index 3 is out of range.*0\.\.2"),
        ([1.0, 2.0, 3.0, 1.0], 2, {"mandatory": ["a"]}, "mandatory must hold candidate indices"),
    ],
)
def test_invalid_input_is_rejected_with_a_fix(weights, k, options, match):
    cover = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    with pytest.raises(ValueError, match=match):
        max_cover(weights, cover, k, **options)


def test_transposed_coverage_is_named():
    cover = sp.csr_matrix(np.ones((4, 3), dtype=bool))  # demand x candidates by mistake
    with pytest.raises(ValueError, match=r"looks transposed, pass coverage\.T"):
        max_cover(np.ones(4), cover, 1)


def test_exact_limit_default_follows_settings():
    import inspect

    default = inspect.signature(max_cover).parameters["exact_limit"].default
    assert default == Settings().ranking.cover_exact_limit


# ---------------------------------------------------------------------------
# choose_sites: the GeoDataFrame wrapper
# ---------------------------------------------------------------------------


@pytest.fixture
def geo_two_towns():
    # About 111 m per 0.001 degree of latitude; towns 10 km apart.
    demand = gpd.GeoDataFrame(
        {"zone_id": list("abcde"), "white_space": [10.0, 10.0, 10.0, 8.0, 8.0]},
        geometry=[
            Point(104.0, 30.600),
            Point(104.0, 30.604),
            Point(104.0, 30.608),
            Point(104.0, 30.700),
            Point(104.0, 30.704),
        ],
        crs="EPSG:4326",
    )
    square = Polygon([(-0.001, -0.001), (0.001, -0.001), (0.001, 0.001), (-0.001, 0.001)])
    from shapely.affinity import translate

    sites = gpd.GeoDataFrame(
        {"site": ["mall", "school", "market", "village"]},
        geometry=[
            translate(square, 104.0, 30.604),
            Point(104.0, 30.603),
            Point(104.0, 30.605),
            Point(104.0, 30.702),
        ],
        crs="EPSG:4326",
        index=[10, 11, 12, 13],
    )
    return demand, sites


def test_choose_sites_picks_one_site_per_town(geo_two_towns):
    demand, sites = geo_two_towns
    before = sites.copy()
    chosen, result = choose_sites(demand, sites, 2, weight="white_space", radius_km=0.6)
    assert chosen["site"].tolist() == ["mall", "village"]
    assert chosen.index.tolist() == [10, 13]
    assert chosen["cover_rank"].tolist() == [1, 2]
    assert chosen["cover_gain"].tolist() == [30.0, 16.0]
    assert result.covered_weight == 46.0
    assert result.selected == (0, 3)  # positions, not labels
    assert "cover_rank" not in sites.columns
    assert sites.equals(before)


def test_choose_sites_labels_for_mandatory_and_forbidden(geo_two_towns):
    demand, sites = geo_two_towns
    chosen, _ = choose_sites(
        demand, sites, 2, weight="white_space", radius_km=0.6, mandatory=[12], forbidden=[13]
    )
    assert 12 in chosen.index
    assert 13 not in chosen.index


def test_choose_sites_radius_defaults_to_settings(geo_two_towns):
    demand, sites = geo_two_towns
    wide = Settings().merged({"ranking": {"catchment_km": 20.0}})
    chosen, result = choose_sites(demand, sites, 2, weight="white_space", settings=wide)
    assert len(chosen) == 1  # one site reaches both towns; a second adds nothing
    assert result.covered_weight == 46.0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d, s: (d.set_crs(None, allow_override=True), s), "demand has no CRS"),
        (lambda d, s: (d, s.assign(cover_rank=1)), r"already has column\(s\) \['cover_rank'\]"),
        (lambda d, s: (d.drop(columns="white_space"), s), "demand has no column 'white_space'"),
        (
            lambda d, s: (d, s.set_geometry([None, *s.geometry.iloc[1:]], crs=s.crs)),
            "candidates has 1 rows without geometry",
        ),
    ],
)
def test_choose_sites_rejects_bad_layers(geo_two_towns, change, match):
    demand, sites = change(*geo_two_towns)
    with pytest.raises(ValueError, match=match):
        choose_sites(demand, sites, 2, weight="white_space", radius_km=0.6)


def test_choose_sites_rejects_unknown_labels(geo_two_towns):
    demand, sites = geo_two_towns
    with pytest.raises(ValueError, match=r"mandatory labels \[99\] are not in the candidates"):
        choose_sites(demand, sites, 2, weight="white_space", radius_km=0.6, mandatory=[99])

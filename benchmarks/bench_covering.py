"""Benchmark: choosing K sites jointly, ours against spopt's MCLP on one instance.

A synthetic city (a dense centre, satellite towns and scattered villages over
about 40 x 40 km) with 5,000 demand zones and 1,000 candidate sites near
them; a 1 km catchment reaches a median of about 30 zones per site. For
k = 5 and 10 it times:

- ours: :func:`territory.outreach.covering.max_cover` end to end, and separately the
  model build and the solve (pulp writing the MPS file, pulp's bundled CBC
  binary, reading the solution);
- spopt: ``spopt.locate.MCLP.from_cost_matrix`` (model build) and
  ``.solve(PULP_CBC_CMD)`` (the same CBC binary) on the same instance, given
  as the dense distance matrix it needs,

checks that both reach the same optimum (relative difference <= 1e-6) and
prints the times and the ratio (ours: median of ``--runs`` runs; spopt:
one run, it is slow). For k = 20 and 50 it times the greedy
heuristic (selection and bound separately) and prints its covered weight,
bound and gap, and the true gap against CBC's optimum when
``--greedy-check`` is given.

Run::

    uv run python benchmarks/bench_covering.py            # ~2 minutes
    uv run python benchmarks/bench_covering.py --quick    # smaller instance, seconds
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pulp
from scipy.spatial.distance import cdist

from territory.outreach import covering
from territory.outreach.covering import coverage_matrix, max_cover


def city(n_demand: int, n_sites: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return demand xy, weights and candidate xy (metres) of a clustered city."""
    rng = np.random.default_rng(seed)
    centres = np.array(
        [[0, 0], [9000, 4000], [-7000, 8000], [-5000, -9000], [12000, -8000], [3000, 14000],
         [-14000, -2000]],
        dtype=float,
    )  # fmt: skip
    spread = np.array([4000, 1800, 1500, 1600, 1200, 1300, 1000], dtype=float)
    share = np.array([0.45, 0.12, 0.10, 0.10, 0.07, 0.06, 0.05])
    n_villages = int(n_demand * 0.15)
    counts = rng.multinomial(n_demand - n_villages, share / share.sum())
    parts = [rng.normal(c, s, size=(n, 2)) for c, s, n in zip(centres, spread, counts, strict=True)]
    parts.append(rng.uniform(-20000, 20000, size=(n_villages, 2)))
    demand = np.vstack(parts)
    # White-space population of a zone: skewed, a few large estates.
    weights = np.round(rng.lognormal(7.0, 1.0, size=n_demand))
    # Candidate sites near where people are (squares, malls, school gates).
    near = rng.choice(n_demand, n_sites, replace=False)
    sites = demand[near] + rng.normal(0, 300, size=(n_sites, 2))
    return demand, weights, sites


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def median_of(runs: int, fn, *args, **kwargs):
    """Return the last result and the median time of ``runs`` calls."""
    times = []
    for _ in range(runs):
        out, t = timed(fn, *args, **kwargs)
        times.append(t)
    return out, float(np.median(times))


def ours_split(weights, cover, k):
    """Time our model build and CBC solve separately, as max_cover runs them.

    The greedy run that max_cover does first (a few ms, it warm-starts CBC)
    is in neither figure; it is in the end-to-end time.
    """
    problem = covering._Problem(weights, cover, k, [], [])
    picks = covering._lazy_greedy(problem.w_csr, k, [], problem.allowed)[0]
    timings: dict[str, float] = {}
    solved = covering._solve_exact(problem, start=picks, time_limit=None, timings=timings)
    assert solved is not None and solved[1], "CBC did not prove the optimum"
    return timings["build"], timings["solve"], problem.covered(solved[0])


def greedy_split(weights, cover, k):
    """Time the lazy greedy selection and its bound separately."""
    problem = covering._Problem(weights, cover, k, [], [])
    picks, t_pick = timed(covering._lazy_greedy, problem.w_csr, k, [], problem.allowed)
    _, t_bound = timed(covering._greedy_bound, problem, picks[0])
    return t_pick, t_bound


def top_by_reach(weights, cover, k) -> float:
    """Covered weight of the k sites that each reach the most (the naive list)."""
    reach = np.asarray(cover.multiply(weights).sum(axis=1)).ravel()
    top = np.argsort(-reach, kind="stable")[:k]
    return float(weights[np.asarray(cover[top].sum(axis=0)).ravel() > 0].sum())


def spopt_run(cost, weights, radius, k):
    from spopt.locate import MCLP

    with warnings.catch_warnings():
        # spopt builds variables the way pulp 3.3 deprecates; not our concern here.
        warnings.simplefilter("ignore", DeprecationWarning)
        model, build = timed(
            MCLP.from_cost_matrix, cost, weights, service_radius=radius, p_facilities=k
        )
        solver = pulp.PULP_CBC_CMD(msg=False)
        _, solve = timed(model.solve, solver, results=False)
    assert model.problem.sol_status == pulp.LpSolutionOptimal
    objective = pulp.value(model.problem.objective)
    chosen = [j for j, v in enumerate(model.fac_vars) if v.varValue and v.varValue > 0.5]
    return build, solve, objective, chosen, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 zones x 200 sites, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="our timings: median of this many")
    parser.add_argument(
        "--greedy-check",
        action="store_true",
        help="also solve k = 20, 50 exactly to report greedy's true gap",
    )
    args = parser.parse_args()
    n_demand, n_sites = (1000, 200) if args.quick else (5000, 1000)
    # Same city area: a smaller instance gets a wider catchment, so that a
    # site still reaches about as many zones.
    radius = round(1000.0 * (5000 / n_demand) ** 0.5)
    demand, weights, sites = city(n_demand, n_sites, seed=args.seed)

    cover, t_cover = timed(coverage_matrix, demand, sites, radius=radius)
    per_site = np.diff(cover.indptr)
    print(f"instance: {n_demand} demand zones x {n_sites} candidate sites, radius {radius:.0f} m")
    print(
        f"coverage: {cover.nnz} pairs, zones per site median {np.median(per_site):.0f} "
        f"(p10 {np.percentile(per_site, 10):.0f}, p90 {np.percentile(per_site, 90):.0f}); "
        f"KD-tree {t_cover * 1000:.1f} ms"
    )
    cost, t_cost = timed(cdist, demand, sites)
    same = np.array_equal((cost <= radius).T, cover.toarray())
    print(f"dense cost matrix for spopt: {t_cost * 1000:.0f} ms; same coverage as ours: {same}")
    assert same

    print()
    print(
        f"{'k':>3} {'ours total':>11} {'build':>7} {'solve':>7} "
        f"{'spopt total':>12} {'build':>8} {'solve':>8} {'ratio':>7}  same optimum"
    )
    max_cover(weights, cover, 3)  # warm-up: imports, CBC binary in the page cache
    naive = {}
    for k in (5, 10):
        result, t_ours = median_of(args.runs, max_cover, weights, cover, k)
        assert result.method == "exact" and result.optimal
        splits = [ours_split(weights, cover, k) for _ in range(args.runs)]
        build = float(np.median([b for b, _, _ in splits]))
        solve = float(np.median([v for _, v, _ in splits]))
        objective = splits[-1][2]
        naive[k] = (top_by_reach(weights, cover, k), result.covered_weight)
        s_build, s_solve, s_objective, s_chosen, _ = spopt_run(cost, weights, radius, k)
        t_spopt = s_build + s_solve
        rel = abs(result.covered_weight - s_objective) / max(s_objective, 1.0)
        rel_model = abs(objective - s_objective) / max(s_objective, 1.0)
        ok = rel <= 1e-6 and rel_model <= 1e-6
        print(
            f"{k:>3} {t_ours:>10.2f}s {build:>6.2f}s {solve:>6.2f}s "
            f"{t_spopt:>11.2f}s {s_build:>7.2f}s {s_solve:>7.2f}s {t_spopt / t_ours:>6.1f}x  "
            f"{'yes' if ok else 'NO'} (ours {result.covered_weight:,.0f}, spopt {s_objective:,.0f}, "
            f"rel diff {rel:.1e})"
        )
        print(f"      ours {sorted(result.selected)}  spopt {s_chosen}")
        assert ok, "the two solvers disagree on the optimum"

    print()
    for k, (top, joint) in naive.items():
        print(
            f"k={k}: top {k} by own reach cover {top:,.0f}; the joint choice covers "
            f"{joint:,.0f} (+{(joint - top) / top:.0%})"
        )

    print()
    print(
        f"{'k':>3} {'greedy':>9} {'(select':>9} {'+ bound)':>9} {'covered':>12} {'bound':>12} "
        f"{'gap':>7}  true gap"
    )
    for k in (20, 50):
        result, t_greedy = median_of(args.runs, max_cover, weights, cover, k)
        assert result.method == "greedy"
        t_pick, t_bound = greedy_split(weights, cover, k)
        true_gap = ""
        if args.greedy_check:
            exact, t_exact = timed(max_cover, weights, cover, k, exact_limit=k)
            true_gap = (
                f"{(exact.covered_weight - result.covered_weight) / exact.covered_weight:.2%} "
                f"(CBC optimum {exact.covered_weight:,.0f} in {t_exact:.2f}s)"
            )
        print(
            f"{k:>3} {t_greedy * 1000:>7.1f}ms {t_pick * 1000:>7.1f}ms {t_bound * 1000:>7.1f}ms "
            f"{result.covered_weight:>12,.0f} {result.upper_bound:>12,.0f} {result.gap:>7.2%}  "
            f"{true_gap}"
        )
    print()
    print(f"total weight {weights.sum():,.0f}")


if __name__ == "__main__":
    main()

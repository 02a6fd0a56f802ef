"""Speed and accuracy of territory.inputs.coords on a million points around Chengdu.

Baseline, measured in the same run: ``prcoords`` (the dev dependency; a
scalar pure-Python implementation of the same formula) over 10,000 points,
scaled to a million. If ``coordTransform`` (C extension, one-step inverse) is
installed it is measured too; it is not a dependency.

Run: ``uv run python benchmarks/bench_coords.py [--n 1000000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from territory.inputs import coords

M_PER_DEG_LAT = 110_850.0
M_PER_DEG_LON = 95_900.0


def best_of(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points (default 1,000,000)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lon = rng.uniform(102.9, 104.9, args.n)
    lat = rng.uniform(30.0, 31.5, args.n)
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    blon, blat = coords.gcj02_to_bd09(glon, glat)

    ours = {
        "wgs84_to_gcj02": best_of(lambda: coords.wgs84_to_gcj02(lon, lat)),
        "gcj02_to_wgs84 exact": best_of(lambda: coords.gcj02_to_wgs84(glon, glat)),
        "gcj02_to_wgs84 one-step": best_of(lambda: coords.gcj02_to_wgs84(glon, glat, exact=False)),
        "bd09_to_wgs84 exact": best_of(lambda: coords.bd09_to_wgs84(blon, blat)),
    }

    base_n = 10_000
    baseline: dict[str, float] = {}
    try:
        import prcoords
    except ImportError:  # pragma: no cover - dev dependency
        prcoords = None
    if prcoords is not None:
        pairs = list(zip(lat[:base_n], lon[:base_n], strict=True))
        gpairs = list(zip(glat[:base_n], glon[:base_n], strict=True))
        scale = args.n / base_n
        baseline["wgs84_to_gcj02"] = best_of(lambda: [prcoords.wgs_gcj(p) for p in pairs]) * scale
        baseline["gcj02_to_wgs84 exact"] = (
            best_of(lambda: [prcoords.gcj_wgs_bored(p) for p in gpairs]) * scale
        )
        baseline["gcj02_to_wgs84 one-step"] = (
            best_of(lambda: [prcoords.gcj_wgs(p) for p in gpairs]) * scale
        )
    try:
        import coordTransform as ct
    except ImportError:
        ct = None

    print(f"points: {args.n:,} (Chengdu box); best of 3")
    print(f"{'operation':26} {'territory s':>12} {'prcoords loop s':>16} {'speed-up':>9}")
    for name, secs in ours.items():
        base = baseline.get(name)
        ratio = f"{base / secs:8.0f}x" if base else "      n/a"
        base_txt = f"{base:16.2f}" if base else f"{'n/a':>16}"
        print(f"{name:26} {secs:12.3f} {base_txt} {ratio}")
    if ct is not None:
        c_fwd = best_of(lambda: ct.wgs84_to_gcj02(lon, lat))
        c_inv = best_of(lambda: ct.gcj02_to_wgs84(glon, glat))
        print(
            f"coordTransform (C, lists): wgs84_to_gcj02 {c_fwd:.3f} s "
            f"(ours {c_fwd / ours['wgs84_to_gcj02']:.2f}x its speed), "
            f"one-step inverse {c_inv:.3f} s"
        )

    exact = coords.gcj02_to_wgs84(glon, glat)
    rough = coords.gcj02_to_wgs84(glon, glat, exact=False)

    def err(p):
        return np.hypot((p[0] - lon) * M_PER_DEG_LON, (p[1] - lat) * M_PER_DEG_LAT)

    e_exact, e_rough = err(exact), err(rough)
    print(
        f"GCJ-02 -> WGS-84 error vs truth: exact max {e_exact.max() * 1000:.2e} mm; "
        f"one-step max {e_rough.max():.3f} m, mean {e_rough.mean():.3f} m, "
        f"p99 {np.quantile(e_rough, 0.99):.3f} m"
    )
    bd_back = coords.bd09_to_wgs84(blon, blat)
    print(f"BD-09 -> WGS-84 exact round trip max error {err(bd_back).max() * 1000:.2e} mm")


if __name__ == "__main__":
    main()

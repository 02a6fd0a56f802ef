"""territory.analysis.threads: one thread for the small fits, the process scanned once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def test_one_thread_limits_every_pool_puts_them_back_and_scans_once():
    # A fresh process with scikit-learn imported (its OpenMP runtime loaded): inside the block
    # every pool has one thread, after it each pool has its own count back, and the process's
    # libraries are listed once however often the block is used.
    code = textwrap.dedent(
        """
        import json
        import sklearn.linear_model
        import threadpoolctl
        from territory.analysis import threads

        before = threadpoolctl.threadpool_info()
        built = []
        real = threadpoolctl.ThreadpoolController
        threadpoolctl.ThreadpoolController = lambda: built.append(1) or real()
        inside = []
        for _ in range(3):
            with threads.one_thread():
                inside.append(threadpoolctl.get_cached_controller().info())
        after = threadpoolctl.get_cached_controller().info()
        print(json.dumps({"built": len(built), "before": before, "inside": inside, "after": after}))
        """
    )
    # Thread counts as the machine gives them, not as this environment may cap them.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["built"] <= 1  # threadpool_limits would have built one per block: 3
    for pools in found["inside"]:
        assert {pool["internal_api"] for pool in pools} >= {"openmp", "openblas"}
        assert all(pool["num_threads"] == 1 for pool in pools)
    threads_of = lambda pools: sorted((p["filepath"], p["num_threads"]) for p in pools)  # noqa: E731
    assert threads_of(found["after"]) == threads_of(found["before"])

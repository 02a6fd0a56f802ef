"""territory.analysis.threads: one thread for the small fits, the process scanned once."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_one_thread_limits_scikit_learns_openmp_and_blas_and_scans_once():
    # A fresh process in which scikit-learn is not imported yet: the controller must still see
    # its OpenMP runtime (built after importing it), limit every pool to one thread inside the
    # block, put them back after, and be built once however often it is used.
    code = textwrap.dedent(
        """
        import json, sys
        import threadpoolctl
        from territory.analysis import threads

        assert "sklearn" not in sys.modules
        built = []
        real = threadpoolctl.ThreadpoolController
        threadpoolctl.ThreadpoolController = lambda: built.append(1) or real()
        inside = []
        for _ in range(3):
            with threads.one_thread():
                inside.append(threads.controller().info())
        after = threads.controller().info()
        print(json.dumps({"built": len(built), "inside": inside[-1], "after": after}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert found["built"] == 1
    apis = {pool["internal_api"] for pool in found["inside"]}
    assert "openmp" in apis, apis
    assert all(pool["num_threads"] == 1 for pool in found["inside"])
    # Put back after the block: this process's pools have more than one thread (2 cores).
    assert len(found["after"]) == len(found["inside"])
    assert any(pool["num_threads"] > 1 for pool in found["after"])

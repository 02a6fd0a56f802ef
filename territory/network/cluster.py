"""A LocalCluster in a process of its own, for hosts that cannot start one themselves.

A Streamlit server runs the page script as ``__main__``; worker processes
started from it would run the page again on start-up (multiprocessing's
spawn re-imports ``__main__``). The app therefore starts this module as a
child process: it starts a ``LocalCluster`` sized to the machine, prints its
scheduler address as one JSON line on stdout, and runs until its stdin is
closed (the app exits) or it is terminated.

    python -m territory.network.cluster [--workers N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

__all__ = ["main", "start"]


def start(workers: int | None = None, *, timeout_s: float = 300.0) -> tuple[subprocess.Popen, str]:
    """Start the cluster process; return it and the scheduler address."""
    command = [sys.executable, "-m", "territory.network.cluster"]
    if workers:
        command += ["--workers", str(int(workers))]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("the Dask cluster process ended before it started")
    return proc, json.loads(line)["address"]


def main(argv: list[str] | None = None) -> int:
    """Run a LocalCluster until stdin closes."""
    from territory.network.engine import local_cluster

    parser = argparse.ArgumentParser(prog="python -m territory.network.cluster")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    with local_cluster(args.workers) as cluster:
        sys.stdout.write(json.dumps({"address": cluster.scheduler_address}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes it (or dies)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

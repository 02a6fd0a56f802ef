"""The same network graph on a cluster of separate processes: ``dask scheduler`` + ``dask worker``.

Started as an operator would start them (the ``dask`` command, on
127.0.0.1, a free port), then ``territory network --scheduler`` run as a
user would run it; its JSON must equal the LocalCluster run's (apart from
the ``engine`` section, which says where and how long it ran).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from territory.network import grid

DATE = "2025-11-29"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process ended early with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def wait_for_workers(address: str, n: int, seconds: float = 120.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=seconds)


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and one worker process (two threads off), as separate OS processes."""
    dask = shutil.which("dask", path=str(BIN)) or "dask"
    port = free_port()
    # As docs/network.md tells a user to start workers: Dask's profiler off.
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
        "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    files = [open(logs / name, "w") for name in ("scheduler.out", "worker.out")]  # noqa: SIM115
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=files[0],
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=env,
    )
    procs = [scheduler]
    try:
        wait_for_port(port, scheduler)
        address = f"tcp://127.0.0.1:{port}"
        worker = subprocess.Popen(
            [
                dask,
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--local-directory",
                str(tmp_path / "w"),
            ],
            stdout=files[1],
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
        procs.append(worker)
        wait_for_workers(address, 1)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in files:
            handle.close()


def territory(*args: str) -> dict:
    out = subprocess.run(
        [str(BIN / "territory"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_scheduler_and_worker_processes_give_the_local_cluster_json(tmp_path, dask_cluster):
    folder = grid.write_grid_network(tmp_path / "net")
    remote = territory(
        "network", str(folder), "--scheduler", dask_cluster, "--date", DATE, "--json"
    )
    local = territory("network", str(folder), "--workers", "2", "--date", DATE, "--json")
    assert remote["engine"]["scheduler"] == dask_cluster
    assert local["engine"]["scheduler"] == "local" and local["engine"]["workers"] == 2
    assert remote["engine"]["workers"] == 1
    remote.pop("engine")
    local.pop("engine")
    assert remote == local
    assert [d["dealer_id"] for d in remote["dealers"]] == ["D1", "D2", "D3"]
    assert remote["gaps"]
    from distributed import Client

    with Client(dask_cluster, timeout="30s") as client:
        callbacks = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
    assert not [n for names in callbacks.values() for n in names if n.startswith("profile")]


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    folder = grid.write_grid_network(tmp_path / "net")
    port = free_port()  # nothing listens there
    out = subprocess.run(
        [
            str(BIN / "territory"),
            "network",
            str(folder),
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"},
    )
    assert out.returncode == 2
    assert f"cannot reach the Dask scheduler tcp://127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr

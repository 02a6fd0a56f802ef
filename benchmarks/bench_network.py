"""Dealer network at brand scale: ``territory network`` on Dask vs the single-dealer path in a loop.

    uv run python benchmarks/bench_network.py                     # 300 / 1,000 / 3,000 dealers
    uv run python benchmarks/bench_network.py --sizes 300 --loop-sample 20   # a quick look

For each network size (built once by ``benchmarks/national_network.py`` into
``benchmarks/out/national_<N>``: ~40,000 township zones of mainland China,
3,333 owners and 333 cards per dealer, so 3,000 dealers hold 10 M owners and
1 M cards; all synthetic), in the same run:

- **network**: ``run_network`` (reading every file, areas, every dealer,
  diagnosis, gaps) on a fresh ``LocalCluster`` with 1 and with 2 worker
  processes; wall time (cluster start-up reported apart) and the peak
  resident memory of each worker (``VmHWM``);
- **loop** (the baseline): what a brand does without the network command —
  for each dealer, its own workspace folder (its area's zones, its rows) is
  loaded and the single-dealer path run: ``load_workspace`` + ``analyse`` +
  ``recommend`` (3 sites) + ``coverage_table``, one dealer after another in
  one process. Timing every dealer of a large network this way takes hours,
  so a **measured sample** of dealers (spread over the network) is timed and
  the mean extrapolated to all dealers — labelled so in the output. The
  folders are written beforehand (not timed). The same sample is also timed
  as four ``territory`` commands per dealer (score, whitespace, recommend,
  coverage), as a user would run them, on a smaller sub-sample.

Figures are written to ``benchmarks/out/bench_network.json`` with the
machine's load (``uptime``) before and after: the machine is shared, run it
on a quiet one for figures to quote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

OUT = Path(__file__).parent / "out"
DATE = dt.date(2025, 11, 29)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def ensure_network(n: int, sources: str | None) -> Path:
    from national_network import _sources, build

    folder = OUT / f"national_{n}"
    if not (folder / "build.json").exists():
        build(
            folder,
            dealers=n,
            owners_per_dealer=3333,
            cards_per_dealer=333,
            sources=_sources(sources),
        )
    return folder


def _peak_rss() -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_network_once(folder: Path, workers: int, memory_limit: str = "10GiB") -> dict:
    from distributed import Client

    from territory.network.engine import local_cluster, run_network

    t0 = time.perf_counter()
    # What `territory network` starts (its worker settings), with a fixed memory limit per
    # worker (Dask spills to disk from 60 % of it).
    cluster = local_cluster(workers, memory_limit=memory_limit, silence_logs=logging.WARN)
    client = Client(cluster)
    started = time.perf_counter() - t0
    try:
        cpu0 = client.run(time.process_time)
        own0 = time.process_time()
        t0 = time.perf_counter()
        result = run_network(folder, client=client, date=DATE)
        wall = time.perf_counter() - t0
        own = time.process_time() - own0
        cpu1 = client.run(time.process_time)
        peaks = client.run(_peak_rss)
    finally:
        client.close()
        cluster.close()
    return {
        "workers": workers,
        "cluster_start_s": round(started, 1),
        "wall_s": round(wall, 1),
        # CPU seconds of every process of the run (workers + this process, which holds the
        # client and the scheduler): the work done, whatever the machine's load.
        "cpu_s": round(sum(cpu1[w] - cpu0[w] for w in cpu1) + own, 1),
        "timings": {k: round(v, 1) for k, v in result.engine["timings"].items()},
        "peak_worker_gb": [round(v / 2**30, 2) for v in peaks.values()],
        "dealers": len(result.dealers),
        "gaps": len(result.gaps.areas),
        "_areas": result.areas,
        "_network": result.network,
    }


def write_sample_folders(
    folder: Path, net, areas, sample: list[str], target: Path
) -> dict[str, Path]:
    """Each sampled dealer's own workspace folder (zones of its area, its rows)."""
    from territory.inputs.dealer import DEALER_FILE
    from territory.network.inputs import dealer_toml

    target.mkdir(parents=True, exist_ok=True)
    want = set(sample)
    rows: dict[str, dict[str, list[pd.DataFrame]]] = {d: {} for d in sample}
    for layer in ("customers", "cards", "events"):
        path = folder / f"{layer}.csv"
        for chunk in pd.read_csv(path, dtype=str, chunksize=1_000_000):
            mine = chunk[chunk["dealer_id"].isin(want)]
            for d, group in mine.groupby("dealer_id"):
                rows[d].setdefault(layer, []).append(group)
    out = {}
    for d in sample:
        i = int(np.flatnonzero(net.dealers["dealer_id"].to_numpy() == d)[0])
        ws = target / d
        ws.mkdir(exist_ok=True)
        data = dealer_toml(net, net.dealers.iloc[i])
        lines = [
            f"{k} = {json.dumps(v, ensure_ascii=False)}"
            for k, v in data.items()
            if k not in ("models", "settings")
        ]
        lines += [
            "",
            "[[models]]",
            f"name = {json.dumps(data['models'][0]['name'], ensure_ascii=False)}",
            f"price = {data['models'][0]['price']}",
        ]
        (ws / DEALER_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        own = net.zones.iloc[areas.zones_of(i)]
        own.to_file(ws / "zones.gpkg", driver="GPKG")
        for layer, parts in rows[d].items():
            frame = pd.concat(parts)
            if "zone_id" in frame:
                # As the network does: a zone of another dealer's area becomes its inside point.
                other = frame["zone_id"].notna() & ~frame["zone_id"].isin(set(own["zone_id"]))
                if other.any():
                    at = net.zones.set_index("zone_id").geometry.loc[frame.loc[other, "zone_id"]]
                    pts = at.representative_point()
                    frame.loc[other, "lon"] = pts.x.to_numpy()
                    frame.loc[other, "lat"] = pts.y.to_numpy()
                    frame.loc[other, "zone_id"] = None
            frame.to_csv(ws / f"{layer}.csv", index=False)
        out[d] = ws
    return out


def loop_in_process(folders: dict[str, Path]) -> tuple[list[float], list[float]]:
    from territory.analysis.zones import analyse
    from territory.inputs.workspace import load_workspace
    from territory.leads.coverage import coverage_table
    from territory.outreach.ranking import recommend

    times, cpu = [], []
    for ws_dir in folders.values():
        t0, c0 = time.perf_counter(), time.process_time()
        ws = load_workspace(ws_dir, use_store=False)
        analysis = analyse(ws)
        recommend(ws, date=DATE, top=3, analysis=analysis)
        inside = analysis.zones["in_influence_area"]
        coverage_table(
            ws.zones,
            ws.customers,
            ws.cards,
            by="district",
            settings=ws.settings,
            market=set(ws.zones.loc[inside.to_numpy(), "district"].dropna()),
        )
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


def loop_cli(folders: dict[str, Path]) -> list[float]:
    exe = str(Path(sys.executable).parent / "territory")
    times = []
    for ws_dir in folders.values():
        t0 = time.perf_counter()
        for args in (
            ["score"],
            ["whitespace"],
            ["recommend", "--date", DATE.isoformat(), "--top", "3"],
            ["coverage"],
        ):
            subprocess.run(
                [exe, args[0], str(ws_dir), *args[1:], "--json"], capture_output=True, check=True
            )
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,1000,3000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--loop-sample", type=int, default=30)
    parser.add_argument("--cli-sample", type=int, default=3)
    parser.add_argument("--sources", default=None)
    parser.add_argument(
        "--memory-limit", default="10GiB", help="per worker (Dask spills from 60 %% of it)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    report = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "uptime_before": uptime(),
        "cpus": len(os.sched_getaffinity(0)),
        "sizes": [],
    }
    print(report["uptime_before"], flush=True)
    for n in sizes:
        folder = ensure_network(n, args.sources)
        entry: dict = {
            "dealers": n,
            "build": json.loads((folder / "build.json").read_text()),
            "runs": [],
        }
        areas = net = None
        for w in [int(x) for x in args.workers.split(",")]:
            run = run_network_once(folder, w, args.memory_limit)
            run["memory_limit"] = args.memory_limit
            areas, net = run.pop("_areas"), run.pop("_network")
            entry["runs"].append(run)
            print(
                f"{n} dealers, {w} worker(s): {run['wall_s']} s, peak per worker {run['peak_worker_gb']} GB "
                f"({run['timings']}) | {uptime()}",
                flush=True,
            )
        rng = np.random.default_rng(n)
        ids = net.dealers["dealer_id"].to_numpy()
        sample = sorted(
            rng.choice(ids, size=min(args.loop_sample, len(ids)), replace=False).tolist()
        )
        folders = write_sample_folders(folder, net, areas, sample, OUT / f"loop_{n}")
        loop_in_process(dict(list(folders.items())[:1]))  # imports and first-call caches
        per, per_cpu = loop_in_process(folders)
        cli_folders = dict(list(folders.items())[: args.cli_sample])
        per_cli = loop_cli(cli_folders) if cli_folders else []
        loop = float(np.mean(per)) * n
        loop_c = float(np.mean(per_cli)) * n if per_cli else None
        entry["loop"] = {
            "label": f"measured sample of {len(per)} dealers, mean extrapolated to {n}",
            "per_dealer_s": round(float(np.mean(per)), 3),
            "extrapolated_s": round(loop, 1),
            "per_dealer_cpu_s": round(float(np.mean(per_cpu)), 3),
            "extrapolated_cpu_s": round(float(np.mean(per_cpu)) * n, 1),
        }
        entry["loop_cli"] = {
            "label": f"measured sample of {len(per_cli)} dealers (4 commands each), extrapolated to {n}",
            "per_dealer_s": round(float(np.mean(per_cli)), 2) if per_cli else None,
            "extrapolated_s": round(loop_c, 1) if loop_c else None,
        }
        walls = {r["workers"]: r["wall_s"] for r in entry["runs"]}
        entry["ratios"] = {f"loop_vs_{w}w": round(loop / s, 2) for w, s in walls.items()} | (
            {f"cli_loop_vs_{w}w": round(loop_c / s, 2) for w, s in walls.items()} if loop_c else {}
        )
        cpus = {r["workers"]: r["cpu_s"] for r in entry["runs"]}
        entry["ratios"] |= {
            f"cpu_loop_vs_{w}w": round(float(np.mean(per_cpu)) * n / c, 2) for w, c in cpus.items()
        }
        if 1 in walls and 2 in walls:
            entry["ratios"]["speedup_1_to_2"] = round(walls[1] / walls[2], 2)
        print(
            json.dumps({k: v for k, v in entry.items() if k != "build"}, ensure_ascii=False),
            flush=True,
        )
        report["sizes"].append(entry)
    report["uptime_after"] = uptime()
    print(report["uptime_after"])
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_network.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

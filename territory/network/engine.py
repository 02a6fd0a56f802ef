"""The network batch on Dask: one graph from a laptop's ``LocalCluster`` to a cluster.

:func:`run_network` reads a network folder and runs, for every dealer, the
single-dealer analysis inside its responsibility area, then the network's
coverage diagnosis and gaps. The work is a Dask graph run by
``dask.distributed``:

1. **Responsibility areas** — every zone's convex hull against every dealer's
   reach circle, a spatial join in ``dask-geopandas`` (zones partitioned
   along a Hilbert curve, dealers by partition, so only neighbouring
   partitions meet); then the exact distance of each candidate pair as the
   dealer's own workspace measures it, one task per dealer partition.
2. **Point files** — customers, cards and events read in byte ranges (one
   task per ~64 MB, :mod:`territory.network._chunks`), typed and checked on
   the workers, then **shuffled by dealer partition** (``set_index`` on the
   partition number with known divisions: Dask's P2P shuffle on a cluster),
   so each partition holds every row of its dealers and nothing else. The
   smaller files are shuffled first and kept (each partition compressed,
   :func:`pack`: the cards ~7× smaller), the largest last, so that its
   partitions are unpacked one at a time as their dealer tasks run.
3. **Dealers** — one task per partition of ``dealers_per_partition``
   neighbouring dealers (a Hilbert curve over their locations):
   :func:`territory.network.dealers.analyse_partition`.
4. **Network** (in the calling process, small): the coverage diagnosis of
   each dealer against the network median (seed 004's rule with dealers as
   the districts), the gap model and the joint choice of new outlets
   (:mod:`territory.network.gaps`).

Without a scheduler address a ``LocalCluster`` is started with one
single-threaded worker process per core (the per-dealer work holds the GIL)
and the machine's memory split between them; ``scheduler="tcp://host:8786"``
runs the same graph on an existing cluster whose workers have Territory
installed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import pickle
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import LayerError, Problem
from territory.network.areas import (
    Areas,
    assign_zones,
    pair_distances,
    reach_circles,
    zone_hulls,
)
from territory.network.gaps import GapResult, find_gaps
from territory.network.inputs import Network, dealer_toml, read_network

__all__ = [
    "NetworkResult",
    "connect",
    "dealer_partitions",
    "local_cluster",
    "pack",
    "run_network",
    "unpack",
]

Progress = Callable[[str, int, int], None]

#: Stages reported to a progress callback, in order.
STAGES: tuple[str, ...] = ("areas", "dealers", "gaps")


@dataclass
class NetworkResult:
    """Everything ``territory network`` computed.

    ``dealers`` holds one summary per dealer (the contract's keys and more),
    in dealers.csv order; ``zones`` one row per zone of the network (its
    primary dealer, the dealer's figures or the gap model's); ``details``
    (with ``detail=True``) each dealer's full single-dealer documents.
    """

    network: Network
    areas: Areas
    dealers: list[dict[str, Any]]
    zones: pd.DataFrame
    gaps: GapResult
    date: dt.date
    diagnosis: pd.DataFrame
    notices: list[Problem] = field(default_factory=list)
    details: dict[str, dict] | None = None
    engine: dict[str, Any] = field(default_factory=dict)


def default_workers() -> int:
    """Worker processes for a LocalCluster: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: Dask settings of the workers of a LocalCluster started here. The workers' statistical
#: profiler is off: it samples each task's stack every 10 ms and keeps a call tree per second for
#: the last 1,000 seconds (``distributed.admin.low-level-log-length``), twice (per worker and per
#: task kind). With the single-dealer path's deep pandas/scikit-learn stacks those trees were what
#: grew: at 3,000 dealers one worker's memory crept from ~1.1 to ~1.7 GB through the dealer tasks
#: while Dask's own data grew by ~70 MB; with the profiler off it stays at ~1.0 GB.
WORKER_CONFIG: dict[str, Any] = {"distributed.worker.profile.enabled": False}


def local_cluster(
    n_workers: int | None = None,
    *,
    memory_limit: str | float | None = "auto",
    dashboard: bool = False,
    silence_logs: int | bool = logging.ERROR,
):
    """A ``LocalCluster`` of single-threaded worker processes with :data:`WORKER_CONFIG`."""
    import dask
    from distributed import LocalCluster

    # Each worker's nanny copies the configuration it is created under into its worker process.
    with dask.config.set(WORKER_CONFIG):
        return LocalCluster(
            n_workers=n_workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":8787" if dashboard else ":0",
            silence_logs=silence_logs,
        )


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    memory_limit: str | float | None = "auto",
    dashboard: bool = False,
):
    """A ``distributed.Client``: to ``scheduler``, or to a new LocalCluster sized to the machine.

    The LocalCluster (and the client) are closed on exit; a client to an
    existing scheduler only disconnects.
    """
    import dask
    from distributed import Client

    if scheduler:
        client = Client(scheduler, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        try:
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(n_workers, memory_limit=memory_limit, dashboard=dashboard)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def dealer_partitions(dealers: pd.DataFrame, per_partition: int) -> np.ndarray:
    """Partition number of each dealer: runs of ``per_partition`` along a Hilbert curve.

    Dealers next to each other on the curve are neighbours on the map, so a
    partition's dealers (and their customers) cover one compact region.
    """
    n = len(dealers)
    if n == 0:
        return np.zeros(0, dtype="int64")
    points = gpd.GeoSeries.from_xy(dealers["lon"], dealers["lat"], crs="EPSG:4326")
    minx, miny, maxx, maxy = points.total_bounds
    pad = 1e-6
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    distance = points.hilbert_distance(total_bounds=bounds, level=16).to_numpy()
    order = np.argsort(distance, kind="stable")
    parts = np.empty(n, dtype="int64")
    parts[order] = np.arange(n) // max(1, int(per_partition))
    return parts


# ---------------------------------------------------------------- tasks (run on workers)


def _hull_frame(client, zones: gpd.GeoDataFrame, n: int):
    """Zone hulls as a dask-geopandas frame: ``n`` partitions along a Hilbert curve, scattered.

    The partitions are sent to the workers once (not embedded in the graph)
    and carry their spatial extent, so a spatial join only pairs partitions
    that meet.
    """
    import dask.dataframe as dd
    import dask_geopandas

    hulls = zone_hulls(zones)
    minx, miny, maxx, maxy = hulls.total_bounds
    pad = 1e-6
    distance = hulls.geometry.hilbert_distance(
        total_bounds=(minx - pad, miny - pad, maxx + pad, maxy + pad), level=16
    ).to_numpy()
    order = np.argsort(distance, kind="stable")
    pieces = [hulls.iloc[np.sort(c)] for c in np.array_split(order, n) if len(c)]
    futures = client.scatter(pieces)
    frame = dask_geopandas.from_dask_dataframe(
        dd.from_delayed(futures, meta=hulls.iloc[:0], verify_meta=False), geometry="geometry"
    )
    frame.spatial_partitions = gpd.GeoSeries(
        [shapely.box(*p.total_bounds) for p in pieces], crs="EPSG:4326"
    )
    return frame


def _pairs_task(
    zones: gpd.GeoDataFrame, dealers: pd.DataFrame, pairs: pd.DataFrame
) -> pd.DataFrame:
    return pair_distances(zones, dealers, pairs)


_GLOBAL_INDEX: dict[int, Any] = {}


def _global_lookup(zones: gpd.GeoDataFrame):
    """A ZoneIndex over every zone, built once per worker process for the scattered zones."""
    from territory.inputs.zone_index import ZoneIndex

    key = id(zones)
    hit = _GLOBAL_INDEX.get(key)
    if hit is None or hit[0] is not zones:
        _GLOBAL_INDEX.clear()
        hit = (zones, ZoneIndex(zones.geometry))
        _GLOBAL_INDEX[key] = hit
    return hit[1]


def pack(frame: pd.DataFrame) -> bytes:
    """``frame`` pickled and compressed (zlib, level 1), as the kept partitions wait.

    The smaller point files are shuffled first and kept in the workers' memory until their
    dealer tasks run, which made what a worker holds grow with the network. A piece of 296,112
    typed cards: 63.4 MB in memory, 9.2 MB packed, 0.27 s to pack, 0.13 s to unpack.
    """
    return zlib.compress(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack(value: bytes | pd.DataFrame | None) -> pd.DataFrame | None:
    """The frame :func:`pack` made (a frame or None is handed back as it is)."""
    if isinstance(value, bytes | bytearray):
        return pickle.loads(zlib.decompress(value))
    return value


def _partition_task(
    part: int,
    root: str,
    zones: gpd.GeoDataFrame,
    records: list[dict[str, Any]],
    layers: dict[str, pd.DataFrame],
    pois: gpd.GeoDataFrame,
    files: dict[str, str],
    date: dt.date,
    top: int,
    lang: str,
    detail: bool,
) -> dict[str, Any]:
    """Analyse one partition's dealers; hand back only what the network needs."""
    from territory.network.dealers import analyse_partition

    wall, cpu = time.perf_counter(), time.process_time()
    clean = {}
    for name, value in layers.items():
        frame = unpack(value)
        clean[name] = frame.reset_index(drop=True) if frame is not None else None
    results = analyse_partition(
        root=Path(root),
        zones=zones,
        dealers=records,
        layers=clean,
        pois=pois,
        files=files,
        date=date,
        top=top,
        lang=lang,
        detail=detail,
    )
    outside = [r.outside for r in results if len(r.outside)]
    counts = np.zeros(len(zones), dtype="int64")
    if outside:
        xy = np.concatenate(outside)
        pos = np.asarray(_global_lookup(zones).lookup(xy[:, 0], xy[:, 1]), dtype="int64")
        pos = pos[pos >= 0]
        counts = np.bincount(pos, minlength=len(zones)).astype("int64")
    nonzero = np.flatnonzero(counts)
    return {
        "part": part,
        "summaries": [r.summary for r in results],
        "zones": pd.concat([r.zones for r in results], ignore_index=True) if results else None,
        "cards": pd.concat([r.cards for r in results], ignore_index=True) if results else None,
        "outside": (nonzero, counts[nonzero]),
        "problems": [p for r in results for p in r.problems],
        "details": {r.summary["dealer_id"]: r.detail for r in results} if detail else None,
        "memory": _peak_rss(),
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
    }


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # read by then; a file gone now fails where it is read
        return 0


def _peak_rss() -> int | None:
    """This process's peak resident memory in bytes (Linux), for the benchmark."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover
        return None
    return None


# ---------------------------------------------------------------- driver


class _Bar:
    """A text bar on stderr, in the format of Dask's (``[####    ] | 45% Completed | 12.3s``).

    Drawn by the loop that takes the results, not by Dask's own bar: that one runs its own
    event loop, redirects ``sys.stdout`` for the whole process while it draws, and waits
    until every key it tracks exists on the scheduler — it cannot follow tasks whose keys
    are let go as soon as their results are taken (:func:`_gather_each`).
    """

    width = 40

    def __init__(self, stage: str, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()
        self.done = 0
        sys.stderr.write(f"{stage}:\n")
        self.draw()

    def draw(self, done: int | None = None) -> None:
        from dask.utils import format_time

        if done is not None:
            self.done = done
        frac = self.done / self.total if self.total else 1.0
        elapsed = format_time(time.perf_counter() - self.started)
        bar = "#" * int(self.width * frac)
        sys.stderr.write(f"\r[{bar:<{self.width}}] | {int(100 * frac)}% Completed | {elapsed}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def _each_done(client, futures: list, stage: str, progress: Progress | str | None, *, results):
    """Yield ``(future, result)`` as tasks finish, reporting progress; ``futures`` is emptied.

    ``progress``: ``"bar"`` (:class:`_Bar` on stderr, ticking while it waits), a callback
    ``f(stage, done, total)``, or None. With ``results=True`` a failed task raises its error;
    a cancelled one always raises ``CancelledError``. With ``results=False`` the result is None
    (nothing gathered; a failed task is yielded like the others, for ``gather`` to raise).
    """
    from distributed import as_completed

    total = len(futures)
    pending = as_completed(futures, with_results=results, loop=client.loop)
    futures.clear()  # from here only ``pending`` holds each future, until it is yielded
    bar = _Bar(stage, total) if progress == "bar" else None
    if callable(progress):
        progress(stage, 0, total)
    done = 0
    try:
        while not pending.is_empty():
            batch = pending.next_batch(block=bar is None)
            if not batch:  # the bar's clock ticks while nothing is done
                bar.draw()
                time.sleep(0.1)
                continue
            while batch:
                item = batch.pop(0)
                future, result = item if results else (item, None)
                del item
                if future.cancelled():
                    raise result if isinstance(result, BaseException) else _cancelled(future)
                if results and future.status == "error":  # as ``client.gather`` would
                    _, error, traceback = result
                    raise error.with_traceback(traceback)
                yield future, result
                del future, result
                done += 1
                if bar is not None:
                    bar.draw(done)
                elif callable(progress):
                    progress(stage, done, total)
    finally:
        if bar is not None:
            bar.close()


def _cancelled(future) -> BaseException:
    from asyncio import CancelledError

    return CancelledError(f"task {future.key} was cancelled")


def _track(client, futures, stage: str, progress: Progress | str | None) -> None:
    """Wait for ``futures`` showing progress (see :func:`_each_done`); results stay put."""
    from distributed import wait

    if progress is None:
        wait(futures)
        return
    for _ in _each_done(client, list(futures), stage, progress, results=False):
        pass


def _compute(client, items: list, stage: str, progress) -> list:
    futures = client.compute(items)
    _track(client, futures, stage, progress)
    return client.gather(futures)


def _gather_each(client, futures: list, stage: str, progress: Progress | str | None) -> list:
    """The results of ``futures``, in their order, each taken as soon as its task is done.

    ``futures`` is emptied, and once a result is on the client nothing here holds its
    future: the worker frees the result, and the scheduler the kept inputs that only its
    task needed (if the caller holds no other reference to them) — rather than every
    finished result and kept piece waiting on the workers until the last task is done.
    """
    where: dict[Any, list[int]] = {}
    for i, key in enumerate([f.key for f in futures]):
        where.setdefault(key, []).append(i)
    results: list[Any] = [None] * len(futures)
    for future, result in _each_done(client, futures, stage, progress, results=True):
        for i in where[future.key]:
            results[i] = result
        del future, result
    return results


def run_network(
    root: Path | str,
    *,
    scheduler: str | None = None,
    client=None,
    n_workers: int | None = None,
    date: dt.date | None = None,
    lang: str | None = None,
    detail: bool = False,
    progress: Progress | str | None = None,
    network: Network | None = None,
) -> NetworkResult:
    """Analyse every dealer of a network folder and find the gaps (see the module notes).

    Parameters
    ----------
    root
        The network folder.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``); None
        starts a LocalCluster sized to the machine (closed afterwards).
    client
        An existing ``distributed.Client`` to use instead (tests share one).
    date
        The outreach date of every dealer's next sites (default: next Saturday).
    detail
        Also keep each dealer's full score, whitespace, recommend and coverage documents.
    progress
        ``"bar"`` for Dask's progress bar on stderr, or ``f(stage, done, total)``.

    Raises
    ------
    LayerError
        If any file has an error (every problem listed, with the user's rows).
    """
    from territory.outreach.ranking import next_saturday

    started = time.perf_counter()
    net = network or read_network(root, lang=lang)
    lang = lang or net.language
    date = date or next_saturday()
    if client is not None:
        return _run(
            client,
            net,
            date=date,
            lang=lang,
            detail=detail,
            progress=progress,
            started=started,
            scheduler="client",
        )
    memory = net.settings.network.worker_memory
    with connect(scheduler, n_workers=n_workers, memory_limit=memory) as own:
        return _run(
            own,
            net,
            date=date,
            lang=lang,
            detail=detail,
            progress=progress,
            started=started,
            scheduler=scheduler or "local",
        )


def _run(
    client, net: Network, *, date, lang, detail, progress, started, scheduler
) -> NetworkResult:
    import dask
    import dask.dataframe as dd
    import dask_geopandas
    from dask import delayed
    from distributed import futures_of

    from territory.network._chunks import empty_chunk, merge_problems, read_chunk, row_decoder

    ns = net.network_settings
    zones = net.zones
    dealers = net.dealers
    n_dealers = len(dealers)
    parts = dealer_partitions(dealers, ns.dealers_per_partition)
    n_parts = int(parts.max()) + 1 if n_dealers else 0
    info = client.scheduler_info().get("workers", {})
    workers = len(info)
    memory_limits = sorted({int(w.get("memory_limit") or 0) for w in info.values()})
    timings: dict[str, float] = {"read": time.perf_counter() - started}

    with dask.config.set({"dataframe.convert-string": False}):
        # 1. Responsibility areas.
        t0 = time.perf_counter()
        [zones_future] = client.scatter([zones], broadcast=True)
        n_zparts = max(1, math.ceil(len(zones) / max(1, ns.zones_per_partition)))
        hull_dd = _hull_frame(client, zones, n_zparts)
        circles = reach_circles(dealers)
        circles["part"] = parts
        circles = circles.sort_values(["part", "dealer"], kind="stable").reset_index(drop=True)
        circle_dd = dask_geopandas.from_geopandas(
            circles, npartitions=max(1, min(n_parts, len(circles)))
        )
        circle_dd.calculate_spatial_partitions()
        joined = dask_geopandas.sjoin(hull_dd, circle_dd, predicate="intersects")
        [candidates] = _compute(client, [joined[["zone", "dealer", "part"]]], "areas", progress)
        candidates = candidates.sort_values(["dealer", "zone"], kind="stable")
        slim = dealers[["dealer_id", "lon", "lat", "radius_km"]]
        tasks = [
            delayed(_pairs_task)(zones_future, slim, group[["zone", "dealer"]])
            for _, group in candidates.groupby("part", sort=True)
        ]
        found = _compute(client, tasks, "areas", progress) if tasks else []
        pairs = (
            pd.concat(found, ignore_index=True)
            if found
            else pair_distances(zones, dealers, candidates.iloc[:0])
        )
        competitors = None
        if len(net.pois) and "poi_type" in net.pois:
            comp = net.pois[net.pois["poi_type"].eq("competitor").fillna(False).to_numpy()]
            comp = comp[comp.geometry.notna().to_numpy()]
            if len(comp):
                competitors = pd.DataFrame({"lon": comp.geometry.x, "lat": comp.geometry.y})
        areas = assign_zones(
            zones, dealers, pairs, settings=ns, competitors=competitors, assignment=net.assignment
        )
        timings["areas"] = time.perf_counter() - t0

        # 2. Point files: read in pieces, shuffled by dealer partition.
        t0 = time.perf_counter()
        dealer_parts = dict(zip(dealers["dealer_id"], parts.tolist(), strict=True))
        layer_infos: dict[str, list] = {}
        layer_parts: dict[str, list] = {}
        for name, source in net.points.items():
            pieces = [
                delayed(read_chunk, nout=2, pure=True)(
                    source, i, dealer_parts=dealer_parts, settings=net.settings
                )
                for i in range(source.chunks)
            ]
            layer_infos[name] = [p[1] for p in pieces]
            frame = dd.from_delayed(
                [p[0] for p in pieces], meta=empty_chunk(name), verify_meta=False
            )
            frame = frame[frame["_part"] >= 0]
            if n_parts > 1:
                frame = frame.set_index(
                    "_part", divisions=[*range(n_parts), n_parts - 1], sorted=False
                )
            else:
                frame = frame.repartition(npartitions=1)
            layer_parts[name] = frame.to_delayed()
        # Every layer but the largest is shuffled first and kept (in the workers' managed
        # memory, which Dask spills), each partition packed (:func:`pack`): with all three
        # shuffles in one graph, when the customers' shuffle finished before the cards', every
        # partition of customers was unpacked while the dealer tasks still waited for their
        # cards (one worker held ~570 MB of them at 1,000 dealers). With one shuffle left, each
        # dealer partition's rows are unpacked just before its task runs.
        largest = max(net.points, key=lambda name: _file_size(net.points[name].path), default=None)
        smaller = [name for name in layer_parts if name != largest]
        kept = rest = None
        if smaller:
            packed = {
                name: [delayed(pack, pure=True)(part) for part in layer_parts[name]]
                for name in smaller
            }
            kept = client.persist(
                [x for name in smaller for x in (*packed[name], *layer_infos[name])]
            )
            _track(client, futures_of(kept), "dealers", progress)
            rest = iter(kept)
            for name in smaller:
                layer_parts[name] = [next(rest) for _ in layer_parts[name]]
                layer_infos[name] = [next(rest) for _ in layer_infos[name]]
        infos = [x for name in net.points for x in layer_infos[name]]

        # 3. Dealers, one task per partition.
        members = areas.members
        records: list[list[dict]] = [[] for _ in range(n_parts)]
        positions = {int(d): g["zone"].to_numpy() for d, g in members.groupby("dealer")}
        for i, (_, row) in enumerate(dealers.iterrows()):
            records[int(parts[i])].append(
                {
                    "dealer_id": row["dealer_id"],
                    "brand": None if pd.isna(row["brand"]) else str(row["brand"]),
                    "toml": dealer_toml(net, row),
                    "positions": np.sort(positions.get(i, np.zeros(0, dtype="int64"))),
                }
            )
        [pois_future] = client.scatter([net.pois], broadcast=True)  # each dealer takes its own
        tasks = [
            delayed(_partition_task)(
                k,
                str(net.root),
                zones_future,
                records[k],
                {name: layer_parts[name][k] for name in layer_parts},
                pois_future,
                dict(net.sources),
                date,
                ns.sites_per_dealer,
                lang,
                detail,
            )
            for k in range(n_parts)
        ]
        futures = client.compute([*tasks, *infos])
        n_tasks = len(tasks)
        # From here only the scheduler holds the kept pieces, each until its dealer task is done.
        del tasks, infos, kept, rest, layer_parts, layer_infos
        computed = _gather_each(client, futures, "dealers", progress)
        timings["dealers"] = time.perf_counter() - t0
    results, chunk_infos = computed[:n_tasks], computed[n_tasks:]

    # Problems: rows decoded to the user's numbers, one line per kind of problem.
    offsets = row_decoder(chunk_infos)
    layer_of_file = {source.file: name for name, source in net.points.items()}
    raw = [p for info in chunk_infos for p in info["problems"]]
    raw += [p for r in results for p in r["problems"]]
    problems = merge_problems(raw, offsets, layer_of_file)
    if any(p.severity == "error" for p in problems):
        raise LayerError([*problems, *net.notices], lang)

    # 4. The network: diagnosis against the network median, zone table, gaps.
    t0 = time.perf_counter()
    by_id = {s["dealer_id"]: s for r in results for s in r["summaries"]}
    summaries = [by_id[d] for d in dealers["dealer_id"]]
    cards = [r["cards"] for r in results if r["cards"] is not None and len(r["cards"])]
    diagnosis = _network_diagnosis(summaries, cards, net, lang)
    for summary, row in zip(summaries, diagnosis.itertuples(index=False), strict=False):
        summary.update(
            {
                "diagnosis": row.diagnosis,
                "diagnosis_confidence": _num(row.confidence),
                "deposit_rate": _num(row.deposit_rate),
                "a_cards_per_10k": _num(row.a_cards_per_10k),
                "diagnosis_reason": row.reason,
            }
        )
    zone_table = pd.concat(
        [r["zones"] for r in results if r["zones"] is not None], ignore_index=True
    )
    outside = np.zeros(len(zones), dtype="int64")
    for r in results:
        idx, cnt = r["outside"]
        np.add.at(outside, idx, cnt)
    in_area = zone_table.groupby("zone_id")["customers"].sum()
    customers_all = zones["zone_id"].map(in_area).fillna(0).to_numpy(dtype="int64") + outside
    served = areas.zone_dealer.notna().to_numpy()
    price = float(np.median(dealers["price"])) if n_dealers else 0.0

    def map_groups(function, batches, settings):
        t1 = time.perf_counter()
        data = client.scatter(batches)  # polygons: sent as data, not inside the task graph
        futures = client.map(function, data, settings=settings, pure=False)
        _track(client, futures, "gaps", progress)
        found = client.gather(futures)
        timings["gap_areas"] = time.perf_counter() - t1
        return found

    gaps = find_gaps(
        zones,
        served=served,
        customers=customers_all,
        dealers=dealers,
        settings=net.settings,
        price=price,
        map_groups=map_groups,
    )
    table = _zone_table(zones, areas, zone_table, customers_all, gaps)
    timings["network"] = time.perf_counter() - t0
    # Where the dealers stage went: the dealer tasks' own time, summed over tasks
    # (worker-seconds; the rest of the stage is reading the point files and the shuffle).
    timings["dealer_tasks"] = sum(r.get("seconds", 0.0) for r in results)
    timings["dealer_tasks_cpu"] = sum(r.get("cpu_seconds", 0.0) for r in results)
    memory = [r["memory"] for r in results if r.get("memory")]
    details = None
    if detail:
        details = {}
        for r in results:
            details.update(r["details"] or {})
    engine = {
        "scheduler": scheduler,
        "workers": workers,
        "partitions": n_parts,
        "zone_partitions": n_zparts,
        "chunks": {name: s.chunks for name, s in net.points.items()},
        "seconds": time.perf_counter() - started,
        "timings": timings,
        "peak_worker_memory": max(memory) if memory else None,
        "worker_memory_limits": memory_limits,
    }
    return NetworkResult(
        network=net,
        areas=areas,
        dealers=summaries,
        zones=table,
        gaps=gaps,
        date=date,
        diagnosis=diagnosis,
        notices=[*net.notices, *problems],
        details=details,
        engine=engine,
    )


def _num(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _network_diagnosis(summaries, cards, net: Network, lang: str) -> pd.DataFrame:
    """Seed 004's coverage rule with dealers as the districts: each against the network median."""
    from territory.leads.coverage import coverage_table

    ids = [s["dealer_id"] for s in summaries]
    pseudo = pd.DataFrame(
        {
            "zone_id": ids,
            "name": [s["name"] for s in summaries],
            "district": ids,
            "population": [s["population"] for s in summaries],
        }
    )
    if cards:
        frame = pd.concat(cards, ignore_index=True)
        frame["zone_id"] = frame["dealer_id"]
        frame["district"] = frame["dealer_id"]
    else:
        frame = pd.DataFrame(
            {
                "zone_id": [],
                "district": [],
                "card_type": [],
                "date": pd.Series([], dtype="datetime64[ns]"),
            }
        )
    table = coverage_table(pseudo, None, frame, by="district", settings=net.settings, lang=lang)
    table = table[~table["unlocated"].to_numpy(dtype=bool)]
    return table.set_index("district").reindex(ids).reset_index()


def _zone_table(
    zones, areas: Areas, dealer_zones: pd.DataFrame, customers_all, gaps: GapResult
) -> pd.DataFrame:
    """One row per zone: its primary dealer's figures, or the gap model's."""
    primary = areas.zone_dealer
    table = pd.DataFrame(
        {
            "zone_id": zones["zone_id"].to_numpy(dtype=object),
            "name": zones["name"].to_numpy(dtype=object),
            "district": zones["district"].to_numpy(dtype=object),
            "zone_type": zones["zone_type"].to_numpy(dtype=object),
            "population": zones["population"].to_numpy(dtype="int64"),
            "dealer_id": primary.to_numpy(dtype=object),
            "dealers": areas.members.groupby("zone")
            .size()
            .reindex(range(len(zones)), fill_value=0)
            .to_numpy(),
            "customers_all": np.asarray(customers_all, dtype="int64"),
        }
    )
    mine = dealer_zones.merge(
        pd.DataFrame({"zone_id": table["zone_id"], "dealer_id": table["dealer_id"]}),
        on=["zone_id", "dealer_id"],
        how="inner",
    ).set_index("zone_id")
    for column in (
        "customers",
        "expected_customers",
        "whitespace_score",
        "whitespace_raw",
        "site_rank",
        "distance_km",
        "r_value",
    ):
        table[column] = table["zone_id"].map(mine[column]) if len(mine) else np.nan
    gz = gaps.zones.set_index("zone_id")
    unserved = table["dealer_id"].isna()
    for column in ("expected_customers", "whitespace_raw", "distance_km", "r_value"):
        filled = table.loc[unserved, "zone_id"].map(gz[column]) if len(gz) else np.nan
        table.loc[unserved, column] = filled
    table.loc[unserved, "customers"] = table.loc[unserved, "customers_all"]
    gap_of = {
        z: g
        for g, ids in zip(
            gaps.areas.get("gap_id", []), gaps.areas.get("zone_ids", []), strict=False
        )
        for z in ids
    }
    table["gap_id"] = table["zone_id"].map(gap_of)
    outlet = (
        {row.zone_id: row.rank for row in gaps.outlets.itertuples(index=False)}
        if len(gaps.outlets)
        else {}
    )
    table["outlet_rank"] = table["zone_id"].map(outlet)
    return table

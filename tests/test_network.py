"""Dealer networks on the literal grid (territory.network.grid): areas, equality, gaps, bad input.

One LocalCluster serves the whole module (started as a user's would be,
with worker processes); the CLI reaches it through ``--scheduler``.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.cli import main
from territory.network import grid
from territory.network.areas import assign_zones, reach_pairs
from territory.network.inputs import read_network

DATE = "2025-11-29"
#: The responsibility areas worked out by hand (see the layout in territory/network/grid.py).
AREAS = {
    "D1": {f"G{i}{j}" for i in (0, 1) for j in range(3)},
    "D2": {f"G{i}{j}" for i in (2, 3) for j in range(3)},
    "D3": {f"G{i}{j}" for i in (4, 5) for j in range(3)},
}
GAP = {f"G{i}{j}" for i in (6, 7) for j in range(3)}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local.scheduler_address


@pytest.fixture
def network(tmp_path: Path) -> Path:
    return grid.write_grid_network(tmp_path / "net")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def network_doc(capsys, folder: Path, scheduler: str, *extra: str) -> dict:
    code, out, err = run_cli(
        capsys, "network", str(folder), "--scheduler", scheduler, "--date", DATE, "--json", *extra
    )
    assert code == 0, err
    return json.loads(out)


# ---------------------------------------------------------------- areas


def test_grid_areas_nearest_dealer_within_reach(network):
    net = read_network(network)
    areas = assign_zones(net.zones, net.dealers, reach_pairs(net.zones, net.dealers))
    got: dict[str, set[str]] = {}
    for zone_id, dealer in zip(net.zones["zone_id"], areas.zone_dealer, strict=True):
        got.setdefault(dealer, set()).add(zone_id)
    assert areas.method == "nearest"
    assert got == {**AREAS, None: GAP}
    assert areas.overlapping == 0


def test_huff_attractiveness_moves_a_contested_zone(network):
    # G30 (column 3) lies 3.1 km from 中城 and 5.0 km from 东城: nearest gives it to 中城;
    # a 东城 three times as attractive wins it under Huff (3 / 5.0² > 1 / 3.1²).
    dealers = (network / "dealers.csv").read_text(encoding="utf-8").splitlines()
    dealers[0] += ",attractiveness"
    dealers[1:] = [line + f",{a}" for line, a in zip(dealers[1:], (1, 1, 3), strict=True)]
    (network / "dealers.csv").write_text("\n".join(dealers) + "\n", encoding="utf-8")
    net = read_network(network)
    areas = assign_zones(
        net.zones, net.dealers, reach_pairs(net.zones, net.dealers), settings=net.network_settings
    )
    owner = dict(zip(net.zones["zone_id"], areas.zone_dealer, strict=True))
    assert areas.method == "huff"
    assert owner["G31"] == "D3" and owner["G20"] == "D2" and owner["G60"] is None


def test_overlap_only_where_settings_allow(network):
    net = read_network(network)
    pairs = reach_pairs(net.zones, net.dealers)
    plain = assign_zones(net.zones, net.dealers, pairs, settings=net.network_settings)
    assert plain.overlapping == 0
    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(
        text + "allow_overlap = true\noverlap_min_share = 0.3\n", encoding="utf-8"
    )
    net = read_network(network)
    both = assign_zones(net.zones, net.dealers, pairs, settings=net.network_settings)
    shared = both.members[both.members["how"] == "overlap"]
    assert both.overlapping > 0
    # A shared zone's second dealer reaches it and holds at least 30 % of it.
    assert (shared["share"] >= 0.3).all() and (shared["distance_km"] <= 6.0).all()


def test_assignment_file_wins(network):
    (network / "assignment.csv").write_text("zone_id,dealer_id\nG20,D1\nG70,D3\n", encoding="utf-8")
    net = read_network(network)
    areas = assign_zones(
        net.zones,
        net.dealers,
        reach_pairs(net.zones, net.dealers),
        settings=net.network_settings,
        assignment=net.assignment,
    )
    owner = dict(zip(net.zones["zone_id"], areas.zone_dealer, strict=True))
    assert owner["G20"] == "D1" and owner["G70"] == "D3" and owner["G21"] == "D2"


# ---------------------------------------------------------------- the batch


def write_dealer_workspace(folder: Path, dealer: dict, zone_ids: set[str]) -> Path:
    """The dealer's own workspace, written by hand from the grid's literal rows."""
    folder.mkdir(parents=True)
    (folder / "dealer.toml").write_text(
        f'name = "{dealer["name"]}"\nlon = {dealer["lon"]}\nlat = {dealer["lat"]}\n'
        f'coord_sys = "wgs84"\nradius_km = {dealer["radius_km"]}\ntarget_r = 3.0\n'
        'language = "zh"\n\n[[models]]\nname = "家轿 A"\nprice = 120000\n\n'
        "[settings.network]\nsites_per_dealer = 2\ngap_outlets = 2\noutlet_radius_km = 6.0\n",
        encoding="utf-8",
    )
    (folder / "zones.geojson").write_text(
        json.dumps(grid.zones_geojson(zone_ids), ensure_ascii=False), encoding="utf-8"
    )
    for name, rows in (
        ("customers", grid.CUSTOMERS),
        ("cards", grid.CARDS),
        ("events", grid.EVENTS),
    ):
        grid.write_table(
            folder / f"{name}.csv", [r for r in rows if r["dealer_id"] == dealer["dealer_id"]]
        )
    return folder


def test_three_dealers_equal_three_workspaces(network, tmp_path, capsys, cluster):
    doc = network_doc(capsys, network, cluster, "--detail")
    assert [d["dealer_id"] for d in doc["dealers"]] == ["D1", "D2", "D3"]
    for dealer, summary in zip(grid.DEALERS, doc["dealers"], strict=True):
        assert set(summary["zones"]) == AREAS[dealer["dealer_id"]]
        ws = write_dealer_workspace(
            tmp_path / dealer["dealer_id"], dealer, AREAS[dealer["dealer_id"]]
        )
        single = {}
        for command, extra in (
            ("score", ()),
            ("whitespace", ()),
            ("recommend", ("--date", DATE, "--top", "2")),
            ("coverage", ()),
        ):
            code, out, err = run_cli(capsys, command, str(ws), "--json", *extra)
            assert code == 0, err
            single[command] = json.loads(out)
        detail = summary["detail"]
        for command in single:
            assert detail[command] == single[command], (dealer["dealer_id"], command)
        # The summary is read off the same documents.
        zones = single["score"]["zones"]
        assert summary["customers"] == sum(z["customers"] for z in zones)
        assert summary["population"] == sum(z["population"] for z in zones)
        assert summary["expected_customers"] == pytest.approx(
            sum(z["expected_customers"] for z in zones)
        )
        assert summary["sites"] == [s["zone_id"] for s in single["recommend"]["sites"]]
        assert [a["zone_ids"] for a in summary["areas"]] == [
            a["zone_ids"] for a in single["whitespace"]["areas"]
        ]
        assert summary["a_cards"] == sum(r["a_cards"] for r in single["coverage"]["rows"])
        assert set(summary["sites"]) <= AREAS[dealer["dealer_id"]]


def test_contract_shape_gap_and_diagnosis(network, capsys, cluster):
    doc = network_doc(capsys, network, cluster)
    for dealer in doc["dealers"]:
        for key in (
            "dealer_id",
            "zones",
            "population",
            "customers",
            "expected_customers",
            "whitespace_score",
            "a_cards",
            "deposit_cards",
            "diagnosis",
            "sites",
        ):
            assert key in dealer
    # 中城 turns none of its A-cards into deposits: a follow-up gap against the network median.
    diagnosis = {d["dealer_id"]: d["diagnosis"] for d in doc["dealers"]}
    assert diagnosis == {"D1": "balanced", "D2": "follow_up_gap", "D3": "balanced"}
    # 中城's customer who lives in 西城's area counts for neither area's white space.
    d2 = doc["dealers"][1]
    assert d2["customers_outside"] == 1 and d2["customers_total"] == d2["customers"] + 1
    # The gap: columns 6 and 7, beyond every dealer's 6 km, as populous as the served zones.
    assert len(doc["gaps"]) >= 1
    found = {z for g in doc["gaps"] for z in g["zone_ids"]}
    assert found <= GAP and len(found) >= 4
    top = doc["gaps"][0]
    for key in ("zone_ids", "population", "expected_customers", "nearest_dealer_km"):
        assert key in top
    assert top["nearest_dealer_km"] > 6.0 and top["expected_customers"] > 30
    assert doc["outlets"] and doc["outlets"][0]["zone_id"] in GAP
    assert doc["assignment"]["unserved_zones"] == 6


def test_chunked_reading_same_result_and_rows(network, capsys, cluster):
    whole = network_doc(capsys, network, cluster)
    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(text + "chunk_mb = 0.005\n", encoding="utf-8")
    pieces = network_doc(capsys, network, cluster)
    assert pieces["engine"]["chunks"]["customers"] > 5
    strip = lambda d: {k: v for k, v in d.items() if k != "engine"}  # noqa: E731
    assert strip(pieces) == strip(whole)
    # A bad value deep in the file: named with the row the user sees in a spreadsheet.
    lines = (network / "customers.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[700].split(",")
    cells[6] = "很多"  # age
    lines[700] = ",".join(cells)
    (network / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _err = run_cli(
        capsys, "network", str(network), "--scheduler", cluster, "--json", "--lang", "en"
    )
    assert code == 2
    problems = json.loads(out)["problems"]
    bad = [p for p in problems if p["code"] == "err.not_number"]
    assert bad and bad[0]["file"] == "customers.csv" and bad[0]["rows"] == [701]
    assert bad[0]["column"] == "age"


# ---------------------------------------------------------------- bad input


def test_dealer_named_twice_is_exit_2_with_row_and_column(network, capsys):
    lines = (network / "dealers.csv").read_text(encoding="utf-8").splitlines()
    lines.append(lines[2].replace("中城 4S 店", "中城二店"))  # D2 again, row 5
    (network / "dealers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = sorted(p.name for p in network.iterdir())
    code, out, err = run_cli(capsys, "network", str(network), "--json", "--lang", "en")
    assert code == 2
    problem = next(p for p in json.loads(out)["problems"] if p["code"] == "err.duplicate_id")
    assert problem["file"] == "dealers.csv" and problem["column"] == "dealer_id"
    assert problem["rows"] == [3, 5]
    assert "dealers.csv, rows 3, 5, column dealer_id" in err
    assert sorted(p.name for p in network.iterdir()) == before


def test_customer_of_unknown_dealer_is_exit_2_with_row_and_column(network, capsys, cluster):
    lines = (network / "customers.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[10].split(",")
    cells[1] = "D9"
    lines[10] = ",".join(cells)
    (network / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = {p.name: p.stat().st_mtime_ns for p in network.iterdir()}
    code, out, err = run_cli(
        capsys, "network", str(network), "--scheduler", cluster, "--json", "--lang", "zh"
    )
    assert code == 2
    problem = next(p for p in json.loads(out)["problems"] if p["code"] == "err.unknown_dealer_id")
    assert problem["file"] == "customers.csv" and problem["rows"] == [11]
    assert problem["column"] == "dealer_id"
    assert "经销商编号“D9”不在 dealers.csv 中" in err
    assert {p.name: p.stat().st_mtime_ns for p in network.iterdir()} == before


def test_not_a_network_folder(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    code, _out, err = run_cli(capsys, "network", str(tmp_path / "x"), "--lang", "en")
    assert code == 2 and "not a dealer network folder" in err


def test_export_dealer_table(network, tmp_path, capsys, cluster):
    out = tmp_path / "dealers.csv"
    code, _, err = run_cli(
        capsys, "network", str(network), "--scheduler", cluster, "--out", str(out), "--lang", "en"
    )
    assert code == 0, err
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Dealer ID,Dealer,Brand")
    assert "Follow-up gap" in text and "138" not in text


def test_copy_of_grid_is_untouched(network, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(network, copy)
    read_network(copy)
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in network.iterdir())


# ---------------------------------------------------------------- worker memory


def test_worker_memory_sets_the_local_clusters_limit(network, capsys, cluster):
    """``worker_memory`` reaches the LocalCluster ``territory network`` starts; results unchanged."""
    shared = network_doc(capsys, network, cluster)
    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(text + 'worker_memory = "2GiB"\n', encoding="utf-8")
    code, out, err = run_cli(
        capsys, "network", str(network), "--workers", "1", "--date", DATE, "--json"
    )
    assert code == 0, err
    own = json.loads(out)
    assert own["engine"]["scheduler"] == "local"
    assert own["engine"]["worker_memory_limits"] == [2 * 2**30]
    strip = lambda d: {k: v for k, v in d.items() if k != "engine"}  # noqa: E731
    assert strip(own) == strip(shared)


def _profiler_state(dask_worker) -> tuple[bool, int]:
    return (
        any(name.startswith("profile") for name in dask_worker.periodic_callbacks),
        len(dask_worker.profile_history) + len(dask_worker.profile_keys_history),
    )


def test_the_local_clusters_workers_keep_no_call_trees():
    """The workers ``territory network`` starts do not run Dask's statistical profiler.

    It keeps a call tree per second of the last 1,000 seconds: with the single-dealer path's
    deep stacks the trees grew one worker's memory by ~0.6 GB at 3,000 dealers.
    """
    import time

    from distributed import Client, LocalCluster

    from territory.network.engine import connect

    with connect(n_workers=1, memory_limit="1GiB") as client:
        client.submit(time.sleep, 1.5, pure=False).result()
        assert list(client.run(_profiler_state).values()) == [(False, 0)]
    # The same check on a plain LocalCluster: its workers do profile, so the check can fail.
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as plain,
        Client(plain) as client,
    ):
        client.submit(time.sleep, 1.5, pure=False).result()
        ((running, kept),) = client.run(_profiler_state).values()
        assert running and kept > 0


@pytest.mark.parametrize("value", ["lots", "1MB"])
def test_worker_memory_not_a_size_is_exit_2(network, capsys, value):
    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(text + f'worker_memory = "{value}"\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "network", str(network), "--json", "--lang", "en")
    assert code == 2
    problem = json.loads(out)["problems"][0]
    assert problem["file"] == "network.toml"
    assert problem["column"] == "settings.network.worker_memory"
    assert "3GiB" in err


# ---------------------------------------------------------------- the shuffles


def _key_name(key) -> str:
    name = key[0] if isinstance(key, tuple) else key
    return name if isinstance(name, str) else ""


def test_a_packed_partition_comes_back_the_same_and_smaller():
    from territory.network._chunks import empty_chunk
    from territory.network.engine import pack, unpack

    rng = np.random.default_rng(5)
    frame = empty_chunk("cards").reindex(range(2_000))
    frame["card_id"] = [f"C{i:06d}" for i in range(2_000)]
    frame["dealer_id"] = rng.choice(["D001", "D002"], 2_000)
    frame["date"] = pd.Timestamp("2025-11-01") + pd.to_timedelta(rng.integers(0, 60, 2_000), "D")
    frame["lon"] = rng.uniform(103, 105, 2_000)
    frame["_part"] = 1
    blob = pack(frame)
    back = unpack(blob)
    pd.testing.assert_frame_equal(back, frame)
    assert (back.dtypes == frame.dtypes).all()
    assert len(blob) < len(pickle.dumps(frame)) / 3
    assert unpack(frame) is frame and unpack(None) is None


def test_the_largest_point_file_is_shuffled_after_the_others_and_rows_still_named(
    network, capsys, cluster
):
    # Three dealer partitions (one dealer each) and small pieces: every point file is read in
    # pieces and shuffled. The smaller files are shuffled and kept first; the largest alone is
    # left for the dealer tasks, so its partitions are unpacked one by one as their dealer task
    # runs (with all three shuffles in one graph, one file's partitions could all be unpacked
    # while the dealer tasks still waited for another's).
    from distributed import Client, get_task_stream

    from territory.network.engine import run_network

    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(
        text + "chunk_mb = 0.002\ndealers_per_partition = 1\n", encoding="utf-8"
    )
    whole = grid.write_grid_network(network.parent / "whole")
    assert (network / "customers.csv").stat().st_size > (network / "cards.csv").stat().st_size
    with Client(cluster) as client, get_task_stream(client) as stream:
        result = run_network(network, client=client, date=dt.date.fromisoformat(DATE))
    assert result.engine["chunks"]["customers"] > 5 and result.engine["chunks"]["cards"] > 1
    spans: dict[str, list[float]] = {}
    for task in stream.data:
        key = task["key"]
        name = key[0] if isinstance(key, tuple) else key
        if isinstance(name, str) and name.startswith("shuffle-transfer-"):
            for ss in task["startstops"]:
                if ss["action"] == "compute":
                    spans.setdefault(name, []).extend([ss["start"], ss["stop"]])
    assert len(spans) == 3, sorted(spans)
    first, *_, last = sorted(spans.values(), key=min)
    others = [s for s in spans.values() if s is not last]
    assert min(last) >= max(max(s) for s in others)
    assert len(last) > len(first)  # the customers: more pieces than any other file
    # The kept partitions of the smaller files wait packed: one pack per file and partition.
    packs = [t for t in stream.data if _key_name(t["key"]).startswith("pack-")]
    assert len(packs) == 2 * 3
    # Same figures as the network read whole, unshuffled.
    strip = lambda d: {k: v for k, v in d.items() if k != "engine"}  # noqa: E731
    assert strip(network_doc(capsys, network, cluster)) == strip(
        network_doc(capsys, whole, cluster)
    )
    # A bad value deep in a file shuffled first is still named with the user's row.
    lines = (network / "cards.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = len(lines) - 3
    cells = lines[row].split(",")
    cells[header.index("date")] = "明天"
    lines[row] = ",".join(cells)
    (network / "cards.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _err = run_cli(
        capsys, "network", str(network), "--scheduler", cluster, "--json", "--lang", "en"
    )
    assert code == 2
    bad = [p for p in json.loads(out)["problems"] if p["file"] == "cards.csv"]
    assert bad and bad[0]["rows"] == [row + 1] and bad[0]["column"] == "date"


def _scheduler_keys(dask_scheduler) -> list[str]:
    return [str(key) for key in dask_scheduler.tasks]


def _wait_until(check, seconds: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("mode", ["callback", "bar"])
def test_each_result_leaves_the_cluster_once_the_client_has_it(cluster, monkeypatch, mode):
    # Two tasks, one held back by an Event until the other's result is on the client: by then
    # the cluster has let go of the finished task and of the kept piece only it read (before,
    # every result and kept piece stayed on the workers until the last task was done) — with
    # a progress callback (the app) and with the text bar (the CLI).
    from dask import delayed
    from distributed import Client, Event, futures_of

    from territory.network import engine

    def piece():
        return np.arange(1_000)

    def fast(values):
        return int(values.sum())

    def slow(name):
        from distributed import secede

        secede()  # give the worker's thread back, so that fast may run beside it
        Event(name).wait(60)
        return "slow"

    event = f"go-gather-each-{mode}"
    with Client(cluster) as client:
        [kept] = client.persist([delayed(piece)()])
        kept_key = str(futures_of(kept)[0].key)
        futures = client.compute([delayed(slow)(event), delayed(fast)(kept)])
        slow_key, fast_key = (str(f.key) for f in futures)
        del kept
        seen: dict[str, bool] = {}

        def check(done: int) -> None:
            if done != 1 or seen:
                return
            known = lambda: set(client.run_on_scheduler(_scheduler_keys))  # noqa: E731
            seen["freed"] = _wait_until(lambda: not {fast_key, kept_key} & known())
            seen["slow still there"] = slow_key in known()
            Event(event, client=client).set()

        if mode == "bar":
            draw = engine._Bar.draw

            def drawn(bar, done=None):
                draw(bar, done)
                check(bar.done)

            monkeypatch.setattr(engine._Bar, "draw", drawn)
            progress = "bar"
        else:
            progress = lambda stage, done, total: check(done)  # noqa: E731
        results = engine._gather_each(client, futures, "dealers", progress)
    assert results == ["slow", 499_500]
    assert futures == []
    assert seen == {"freed": True, "slow still there": True}


def test_no_kept_piece_outlives_its_dealer_task(network, capsys, cluster):
    # Three dealer partitions: when the last dealer result reaches the client, the packed
    # pieces of the smaller files (2 files x 3 partitions, kept since their shuffle) are gone
    # from the scheduler, each freed once its dealer task was done.
    from distributed import Client

    from territory.network.engine import run_network

    text = (network / "network.toml").read_text(encoding="utf-8")
    (network / "network.toml").write_text(
        text + "chunk_mb = 0.002\ndealers_per_partition = 1\n", encoding="utf-8"
    )
    packs_left: list[int] = []
    with Client(cluster) as client:

        def packs() -> int:
            keys = client.run_on_scheduler(_scheduler_keys)
            return sum("pack-" in key for key in keys)

        phases: list[int] = []  # "dealers": the kept files' shuffle, then the dealer tasks

        def progress(stage: str, done: int, total: int) -> None:
            if stage != "dealers":
                return
            if done == 0:
                phases.append(total)
            elif done == total and len(phases) == 2:
                _wait_until(lambda: packs() == 0)
                packs_left.append(packs())

        result = run_network(
            network, client=client, date=dt.date.fromisoformat(DATE), progress=progress
        )
    assert result.engine["chunks"]["cards"] > 1
    assert len(phases) == 2 and packs_left == [0]


def test_each_result_gathered_under_the_text_bar(cluster, capsys):
    # The CLI's progress: a text bar in Dask's format on stderr, nothing on stdout (the JSON).
    from dask import delayed
    from distributed import Client

    from territory.network.engine import _gather_each

    with Client(cluster) as client:
        futures = client.compute([delayed(pow)(2, i) for i in range(6)])
        results = _gather_each(client, futures, "dealers", "bar")
    assert results == [1, 2, 4, 8, 16, 32]
    out, err = capsys.readouterr()
    assert out == ""
    full = "\r[" + "#" * 40 + "] | 100% Completed | "
    assert err.startswith("dealers:\n")
    assert full in err and "\n" not in err.rsplit(full, 1)[1].rstrip("\n")


@pytest.mark.parametrize("progress", ["bar", None])
def test_a_failing_task_stops_the_gathering_with_its_error(cluster, capsys, progress):
    from dask import delayed
    from distributed import Client

    from territory.network.engine import _gather_each

    with Client(cluster) as client:
        futures = client.compute([delayed(int)("12"), delayed(int)("not a number")])
        with pytest.raises(ValueError, match="not a number"):
            _gather_each(client, futures, "dealers", progress)


def test_a_cancelled_task_stops_the_gathering(cluster):
    # A result that will never come (its task cancelled, e.g. by a scheduler restart) is an
    # error, not a CancelledError object handed on as if it were a dealer's result.
    from dask import delayed
    from distributed import Client, Event

    from territory.network.engine import _gather_each

    def wait(name):
        from distributed import secede

        secede()
        Event(name).wait(60)
        return "never"

    with Client(cluster) as client:
        futures = client.compute([delayed(int)("12"), delayed(wait)("never-set")])
        held = futures[1]

        def progress(stage: str, done: int, total: int) -> None:
            if done == 1:
                client.cancel([held])

        with pytest.raises(Exception, match="cancelled"):
            _gather_each(client, futures, "dealers", progress)

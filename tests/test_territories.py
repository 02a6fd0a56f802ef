"""Consultant territories: literal grids, --keep, locks, bad input, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import make_workspace
from shapely.geometry import Polygon, box

from territory.cli import main
from territory.inputs.assignment import (
    assignment_history,
    consultant_of,
    load_assignment,
    move_zone,
    save_assignment,
)
from territory.inputs.demo import demo_path
from territory.inputs.journal import JOURNAL_FILE
from territory.inputs.workspace import load_workspace
from territory.outreach import territories as geo
from territory.outreach.split import SplitError, split_json, split_workspace
from territory.settings import TerritorySettings

X0, Y0, D = 104.00, 30.60, 0.02
DEALER = """name = "网格 4S 店"
lon = {lon}
lat = {lat}
coord_sys = "wgs84"
radius_km = {radius}
[[models]]
name = "家轿 A"
price = 120000
"""


def grid_workspace(
    root: Path,
    nx: int = 4,
    ny: int = 4,
    *,
    population=None,
    extra: list[tuple[str, list]] | None = None,
    radius: float = 30,
) -> Path:
    """An nx × ny grid of equal 0.02° squares (zone ids 'r{row}c{col}', row 0 south)."""
    features = []
    for j in range(ny):
        for i in range(nx):
            x, y = X0 + i * D, Y0 + j * D
            ring = [[x, y], [x + D, y], [x + D, y + D], [x, y + D], [x, y]]
            features.append((f"r{j}c{i}", ring))
    features += extra or []
    pops = population or {}
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "zone_id": zid,
                    "name": f"片区{zid}",
                    "district": "测试区",
                    "zone_type": "residential",
                    "population": pops.get(zid, 1000),
                    "income": 40000,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for zid, ring in features
        ],
    }
    dealer = DEALER.format(lon=X0 + nx * D / 2, lat=Y0 + ny * D / 2, radius=radius)
    owner = f"customer_id,lon,lat\nC1,{X0 + D / 2},{Y0 + D / 2}\n"
    return make_workspace(root, zones=doc, dealer=dealer, customers=owner)


def split_cli(ws: Path, *args: str, capsys) -> tuple[int, dict | None, str]:
    status = main(["split", str(ws), *args, "--json"])
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if captured.out.strip() else None), captured.err


def owners(doc: dict) -> dict[str, str]:
    return {z: t["consultant"] for t in doc["territories"] for z in t["zone_ids"]}


# ---------------------------------------------------------------- the grid


def test_four_consultants_on_a_4x4_grid_get_four_contiguous_territories_of_four(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    status, doc, _ = split_cli(ws, "--consultants", "4", capsys=capsys)
    assert status == 0
    assert [t["zones"] for t in doc["territories"]] == [4, 4, 4, 4]
    assert doc["contiguous"] is True and all(t["contiguous"] for t in doc["territories"])
    assert doc["balance_index"] == 100.0
    assert sorted(z for t in doc["territories"] for z in t["zone_ids"]) == sorted(
        f"r{j}c{i}" for j in range(4) for i in range(4)
    )
    # Each territory is one piece by zone adjacency (checked here independently, on the ids).
    for t in doc["territories"]:
        cells = {(int(z[1]), int(z[3])) for z in t["zone_ids"]}
        seen, todo = set(), [next(iter(cells))]
        while todo:
            r, c = todo.pop()
            if (r, c) in seen:
                continue
            seen.add((r, c))
            todo += [p for p in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)) if p in cells]
        assert seen == cells
    # Four 2 x 2 blocks: the most compact split (a square scores 88.6).
    assert all(t["compactness"] == pytest.approx(88.6, abs=0.2) for t in doc["territories"])
    stored = load_assignment(ws)
    assert len(stored) == 16 and dict(
        zip(stored.zone_id, stored.consultant, strict=True)
    ) == owners(doc)


@pytest.mark.parametrize("leaver", ["张伟", "李娜", "王强", "刘洋"])
def test_keep_after_a_consultant_leaves_moves_only_that_consultants_zones(tmp_path, capsys, leaver):
    ws = grid_workspace(tmp_path / "ws")
    team = ["张伟", "李娜", "王强", "刘洋"]
    status, first, _ = split_cli(ws, "--consultants", ",".join(team), capsys=capsys)
    assert status == 0
    before = owners(first)
    stay = [n for n in team if n != leaver]
    status, doc, _ = split_cli(ws, "--consultants", ",".join(stay), "--keep", capsys=capsys)
    assert status == 0
    after = owners(doc)
    moved = {z for z in after if after[z] != before[z]}
    assert moved == {z for z, who in before.items() if who == leaver}
    assert doc["zones_moved"] == 4 and doc["orphans_moved"] == 4
    assert {m["from"] for m in doc["moved"]} == {leaver}
    assert doc["contiguous"] is True
    assert sorted(t["zones"] for t in doc["territories"]) == [4, 6, 6]
    assert load_assignment(ws)["consultant"].isin(stay).all()  # stored for next time


def test_keep_moves_more_zones_only_to_reach_the_minimum_balance(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    split_cli(ws, "--consultants", "A,B,C,D", capsys=capsys)
    before = owners(
        json.loads(
            json.dumps(split_cli(ws, "--consultants", "A,B,C,D", "--keep", capsys=capsys)[1])
        )
    )
    status, doc, _ = split_cli(
        ws, "--consultants", "A,B,C", "--keep", "--min-balance", "90", "--dry-run", capsys=capsys
    )
    assert status == 0
    # 4 + 6 + 6 (index 83.3) is below 90; one more zone gives 5 + 5 + 6 (91.7).
    assert doc["zones_moved"] == 5 and doc["orphans_moved"] == 4
    assert sorted(t["zones"] for t in doc["territories"]) == [5, 5, 6]
    assert doc["balance_index"] == pytest.approx(91.7, abs=0.05)
    assert (
        doc["saved"] is None
        and owners(
            split_cli(ws, "--consultants", "A,B,C,D", "--keep", "--dry-run", capsys=capsys)[1]
        )
        == before
    )


def test_a_consultant_who_joins_takes_zones_and_nobody_else_swaps(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws", 6, 6)
    split_cli(ws, "--consultants", "A,B,C", capsys=capsys)
    _, doc, _ = split_cli(ws, "--consultants", "A,B,C,D", "--keep", capsys=capsys)
    assert {m["to"] for m in doc["moved"]} == {"D"}
    assert doc["zones_moved"] == 9 and doc["balance_index"] == 100.0
    assert doc["contiguous"] is True


def test_a_locked_zone_stays_with_its_consultant(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    # A corner of what would be someone else's block, locked to 刘洋.
    status, doc, _ = split_cli(
        ws, "--consultants", "张伟,李娜,王强,刘洋", "--lock", "r0c0=刘洋", capsys=capsys
    )
    assert status == 0
    assert owners(doc)["r0c0"] == "刘洋"
    assert doc["contiguous"] is True and [t["zones"] for t in doc["territories"]] == [4, 4, 4, 4]
    assert next(t for t in doc["territories"] if t["consultant"] == "刘洋")["locked_zone_ids"] == [
        "r0c0"
    ]
    stored = load_assignment(ws)
    assert stored.set_index("zone_id").loc["r0c0", "locked"]
    # Re-balancing a lopsided population never moves it, even where that would help most.
    pops = {f"r{j}c{i}": 1000 for j in range(4) for i in range(4)}
    pops["r0c0"] = 3000
    ws2 = grid_workspace(tmp_path / "ws2", population=pops)
    save_assignment(ws2, load_assignment(ws), origin="api")
    status, doc, _ = split_cli(
        ws2, "--consultants", "张伟,李娜,王强,刘洋", "--keep", "--min-balance", "100", capsys=capsys
    )
    assert status == 0 and owners(doc)["r0c0"] == "刘洋"
    assert doc["zones_moved"] > 0 and all(m["zone_id"] != "r0c0" for m in doc["moved"])
    assert doc["contiguous"] is True


def test_stored_locks_void_when_their_consultant_leaves(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    split_cli(ws, "--consultants", "张伟,李娜,王强,刘洋", "--lock", "r0c0=刘洋", capsys=capsys)
    status, doc, _ = split_cli(
        ws, "--consultants", "张伟,李娜,王强", "--keep", "--lang", "en", capsys=capsys
    )
    assert status == 0 and owners(doc)["r0c0"] != "刘洋"
    assert any("'刘洋' is no longer a consultant" in n for n in doc["notices"])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["--consultants", "0"], "0 名销售顾问", "names no consultant"),
        (["--consultants", " , "], "无法读取", "cannot read --consultants"),
        (
            ["--consultants", "17"],
            "17 名销售顾问多于影响范围内的 16 个区域",
            "17 consultants are more than the 16 zones",
        ),
        (["--consultants", "张伟,李娜,张伟"], "“张伟”出现了两次", "'张伟' is listed twice"),
        (
            ["--consultants", "2", "--lock", "nowhere=顾问1"],
            "不在区域文件中",
            "not in the zones file",
        ),
        (["--consultants", "2", "--lock", "r0c0"], "区域编号=顾问姓名", "ZONE_ID=NAME"),
        (["--consultants", "2", "--lock", "r0c0=王五"], "没有此人", "is not among the consultants"),
        (["--consultants", "2", "--keep"], "还没有", "has none"),
        (["--consultants", "2", "--min-balance", "120"], "0 到 100", "between 0 and 100"),
        (["--consultants", "2", "--balance", "open_leads"], "没有未结案的线索", "no open leads"),
    ],
)
def test_bad_input_is_a_clear_message_in_both_languages_and_writes_nothing(
    tmp_path, capsys, args, zh, en
):
    ws = grid_workspace(tmp_path / "ws")
    before = sorted(p.name for p in ws.iterdir())
    for lang, text in (("zh", zh), ("en", en)):
        status = main(["split", str(ws), *args, "--lang", lang])
        err = capsys.readouterr().err
        assert status == 2, err
        assert text in err and "Traceback" not in err
        assert sorted(p.name for p in ws.iterdir()) == before


def test_locks_that_make_balance_impossible_are_refused(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    locks = [f"--lock=r{j}c{i}=A" for j in range(3) for i in range(4)]  # 12 of 16 zones to A
    status = main(["split", str(ws), "--consultants", "A,B,C,D", *locks, "--lang", "en"])
    err = capsys.readouterr().err
    assert status == 2
    assert "zones locked to 'A' already hold 12,000 of population against a mean of 4,000" in err
    assert "Fix: unlock some of 'A''s zones" in err
    assert not (ws / JOURNAL_FILE).exists()


def test_locks_that_force_a_long_territory_are_refused_with_the_reason(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    # Opposite corners locked to one consultant: any contiguous territory holding both has 7+ zones.
    status = main(
        [
            "split",
            str(ws),
            "--consultants",
            "A,B,C,D",
            "--lock",
            "r0c0=A",
            "--lock",
            "r3c3=A",
            "--lang",
            "en",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "the locked zones make the required balance impossible" in err and "'A'" in err
    # The same locks pass when the user accepts less balance.
    status = main(
        [
            "split",
            str(ws),
            "--consultants",
            "A,B,C,D",
            "--lock",
            "r0c0=A",
            "--lock",
            "r3c3=A",
            "--min-balance",
            "50",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["contiguous"] is True
    assert {"r0c0", "r3c3"} <= set(
        next(t for t in doc["territories"] if t["consultant"] == "A")["zone_ids"]
    )


def test_locked_zones_walled_apart_by_other_locks_are_refused(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    wall = [f"--lock=r{j}c1=B" for j in range(4)]
    status = main(
        [
            "split",
            str(ws),
            "--consultants",
            "A,B,C",
            "--lock",
            "r0c0=A",
            "--lock",
            "r0c3=A",
            *wall,
            "--lang",
            "en",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "the zones locked to 'A' are apart" in err and "Traceback" not in err


def test_a_zone_with_no_neighbours_is_bridged_and_explained(tmp_path, capsys):
    x, y0, y1 = X0 + 6 * D, Y0 + D / 4, Y0 + 3 * D / 4  # level with r0c3 only
    island = [[x, y0], [x + D, y0], [x + D, y1], [x, y1], [x, y0]]
    ws = grid_workspace(tmp_path / "ws", extra=[("island", island)])
    status, doc, _ = split_cli(ws, "--consultants", "4", "--lang", "en", capsys=capsys)
    assert status == 0 and doc["contiguous"] is True
    assert doc["bridges"] == [
        {"zone_id": "island", "to_zone_id": "r0c3", "km": pytest.approx(2 * 0.02 * 95.8, rel=0.02)}
    ]
    assert any("zone 'island'" in n and "shares no border" in n for n in doc["notices"])
    assert "island" in owners(doc)
    status, doc, _ = split_cli(ws, "--consultants", "4", "--dry-run", capsys=capsys)
    assert any("飞地" in n for n in doc["notices"])


def test_an_imported_assignment_with_bad_rows_names_file_row_and_column(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    csv = tmp_path / "team.csv"
    csv.write_text(
        "区域编号,销售顾问,锁定\nr0c0,张伟,是\nr0c1,,否\nzz9,李娜,\nr0c0,李娜,maybe\n",
        encoding="gbk",
    )
    status = main(
        ["split", str(ws), "--consultants", "张伟,李娜", "--assignment", str(csv), "--lang", "en"]
    )
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "team.csv, row 3, column consultant: no consultant given" in err
    assert "team.csv, row 4, column zone_id: zone id 'zz9' is not in the zones file" in err
    assert "column zone_id: zone 'r0c0' appears more than once" in err
    assert "row 5, column locked: cannot read 'maybe' as yes/no" in err
    assert not (ws / JOURNAL_FILE).exists()


def test_an_imported_assignment_is_rebalanced_and_stored(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    rows = ["zone_id,consultant,locked"]
    rows += [
        f"r{j}c{i},{'张伟' if j < 3 else '李娜'},{'1' if (j, i) == (2, 0) else ''}"
        for j in range(4)
        for i in range(4)
    ]
    csv = tmp_path / "team.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    status, doc, _ = split_cli(
        ws, "--consultants", "张伟,李娜", "--assignment", str(csv), capsys=capsys
    )
    assert status == 0 and doc["kept"] is True
    # 12 + 4 (index 50): three zones of 张伟's next to 李娜 reach 9 + 7 (87.5 ≥ 80), no more.
    assert doc["zones_moved"] == 3 and doc["orphans_moved"] == 0
    assert [t["zones"] for t in doc["territories"]] == [9, 7]
    assert doc["balance_index"] == 87.5
    assert owners(doc)["r2c0"] == "张伟"  # locked in the file
    assert consultant_of(ws)["r3c0"] == "李娜"


def test_a_stored_assignment_is_not_overwritten_without_keep_or_replace(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    split_cli(ws, "--consultants", "A,B", capsys=capsys)
    stored = load_assignment(ws)
    status, doc, _ = split_cli(ws, "--consultants", "C,D,E", "--lang", "en", capsys=capsys)
    assert status == 0 and doc["saved"] is None
    assert any("use --keep" in n for n in doc["notices"])
    assert load_assignment(ws).equals(stored)
    status, doc, _ = split_cli(ws, "--consultants", "C,D,E", "--replace", capsys=capsys)
    assert doc["saved"] and set(load_assignment(ws)["consultant"]) == {"C", "D", "E"}


def test_text_output_lists_territories_and_the_balance(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    assert main(["split", str(ws), "--consultants", "2", "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "Balance index 100.0 (on population); every territory contiguous: yes" in captured.out
    assert captured.out.count("8 zones, population 8,000 (100%)") == 2


# ---------------------------------------------------------------- the zone graph


def test_corner_touch_is_not_adjacency_and_a_zone_drawn_inside_another_is():
    squares = [box(0, 0, 1000, 1000), box(1000, 1000, 2000, 2000)]  # touch at a corner only
    graph = geo.zone_graph(squares)
    assert graph.pieces == 2 and graph.bridges[0].distance_m == 0.0
    nested = [box(0, 0, 3000, 3000), box(1000, 1000, 1400, 1400), box(3000, 0, 4000, 3000)]
    graph = geo.zone_graph(nested)
    assert graph.neighbours[1] == (0,) and graph.pieces == 1
    # Slivers narrower than the tolerance still make neighbours.
    gap = [box(0, 0, 1000, 1000), box(1010, 0, 2000, 1000)]
    assert geo.zone_graph(gap).pieces == 1
    assert geo.zone_graph(gap, settings=TerritorySettings(adjacency_tolerance_m=5)).pieces == 2


def test_zones_sharing_vertices_exactly_and_zones_with_t_junctions_agree():
    a = Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)])
    b = Polygon([(1000, 0), (2000, 0), (2000, 1000), (1000, 1000), (1000, 500)])  # extra vertex
    graph = geo.zone_graph([a, b])
    assert graph.neighbours == ((1,), (0,))
    assert graph.border[0, 1] == pytest.approx(1000, abs=50)


def test_balance_and_compactness_match_their_definitions():
    assert geo.balance_index([10, 10, 10, 10]) == 100.0
    assert geo.balance_index([5, 15]) == 50.0  # mean 10, mean |deviation| 5
    assert np.isnan(geo.balance_index([0, 0]))
    squares = [box(x * 10, 0, x * 10 + 10, 10) for x in range(4)]
    graph = geo.zone_graph(
        squares, settings=TerritorySettings(min_shared_border_m=1, adjacency_tolerance_m=0.1)
    )
    whole = geo.compactness(graph, np.zeros(4, dtype=int), 1)[0]
    assert whole == pytest.approx(100 * 2 * np.sqrt(np.pi * 400) / 100, abs=1e-6)  # 40 × 10 strip


def test_partition_is_deterministic_and_balanced_on_uneven_weights():
    rng = np.random.default_rng(3)
    cells = [
        box(x * 100, y * 100, x * 100 + 100, y * 100 + 100) for y in range(20) for x in range(20)
    ]
    weights = rng.lognormal(0, 1, len(cells))
    graph = geo.zone_graph(cells)
    a = geo.partition(graph, weights, 6)
    b = geo.partition(graph, weights, 6)
    assert (a == b).all()
    assert all(geo.is_contiguous(graph, a))
    assert geo.balance_index(np.bincount(a, weights, 6)) >= 97


# ---------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo_ws():
    return load_workspace(demo_path(), use_store=False)


def test_demo_four_consultants(demo_ws):
    split = split_workspace(demo_ws, consultants=["张伟", "李娜", "王强", "刘洋"], lang="en")
    doc = split_json(split, lang="en")
    assert set(doc) >= {"territories", "balance_index", "contiguous"}
    assert all(
        set(t) >= {"consultant", "zone_ids", "workload", "population", "open_leads"}
        for t in doc["territories"]
    )
    assert doc["contiguous"] is True
    assert doc["balance_index"] >= 95
    assert all(40 <= t["compactness"] <= 100 for t in doc["territories"])
    ids = [z for t in doc["territories"] for z in t["zone_ids"]]
    assert len(ids) == len(set(ids)) == doc["zones"] == len(split.zones)
    # The one zone of the area cut off by its edge (a market inside a township beyond 15 km).
    assert [b["zone_id"] for b in doc["bridges"]] == ["510115105-MK06"]
    population = sum(t["population"] for t in doc["territories"])
    assert population == int(split.zones["population"].sum())


def test_demo_replacing_a_consultant_hands_over_the_whole_territory(demo_ws, tmp_path):
    first = split_workspace(demo_ws, consultants=["张伟", "李娜", "王强", "刘洋"])
    stored = first.assignment()
    again = split_workspace(
        demo_ws, consultants=["张伟", "李娜", "赵敏", "刘洋"], keep=True, stored=stored
    )
    handed = set(first.territories.set_index("consultant").loc["王强", "zone_ids"])
    assert set(again.moved["zone_id"]) == handed
    assert set(again.moved["to"]) == {"赵敏"}
    assert again.balance_index == pytest.approx(first.balance_index)


def test_split_errors_carry_messages_in_both_languages(demo_ws):
    with pytest.raises(SplitError) as caught:
        split_workspace(demo_ws, consultants=500)
    assert "83" in caught.value.message("zh") and "83 zones" in caught.value.message("en")
    frame = gpd.GeoDataFrame  # noqa: F841 - the module imports geopandas for the fixture types


def test_the_assignment_lives_in_the_journal_and_zone_moves_replay(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    status, doc, _ = split_cli(ws, "--consultants", "A,B,C,D", capsys=capsys)
    assert status == 0 and doc["saved"] == str(ws / JOURNAL_FILE)
    history = assignment_history(ws)
    assert history[["kind", "origin"]].values.tolist() == [["territory_split", "cli"]]
    owner = owners(doc)
    other = owner["r0c2"]  # the block east of r0c0's
    assert other != owner["r0c0"]
    move_zone(ws, "r0c0", other, origin="api")
    assert consultant_of(ws)["r0c0"] == other
    (ws / "territory.gpkg").unlink()  # the cache may go at any time; the assignment does not
    assert consultant_of(ws)["r0c0"] == other
    # r0c0 is now cut off from the rest of its territory: --keep hands it back to a
    # neighbour (the only move), and the loads 4 + 4 + 4 + 4 need nothing else.
    status, doc, _ = split_cli(ws, "--consultants", "A,B,C,D", "--keep", capsys=capsys)
    assert status == 0 and doc["contiguous"] is True
    assert doc["moved"] == [{"zone_id": "r0c0", "from": other, "to": owner["r0c0"]}]
    # Handed to an adjacent territory, a zone stays where the user put it.
    move_zone(ws, "r0c1", other, origin="api")
    status, doc, _ = split_cli(ws, "--consultants", "A,B,C,D", "--keep", capsys=capsys)
    assert status == 0 and doc["zones_moved"] == 0 and owners(doc)["r0c1"] == other
    assert list(assignment_history(ws)["kind"]) == [
        "territory_split",
        "territory_zone",
        "territory_split",
        "territory_zone",
        "territory_split",
    ]
    with pytest.raises(KeyError):
        move_zone(ws, "nowhere", "A")


def test_a_territory_inside_another_is_reported_as_an_enclave(tmp_path, capsys):
    # A dense centre as populous as the eight zones around it: the balanced split is the
    # centre alone, ringed by the other territory.
    pops = {f"r{j}c{i}": 1000 for j in range(3) for i in range(3)}
    pops["r1c1"] = 8000
    ws = grid_workspace(tmp_path / "ws", 3, 3, population=pops)
    status, doc, _ = split_cli(ws, "--consultants", "A,B", "--lang", "en", capsys=capsys)
    assert status == 0 and doc["balance_index"] == 100.0 and doc["contiguous"] is True
    inner = owners(doc)["r1c1"]
    outer = "B" if inner == "A" else "A"
    assert doc["enclaves"] == [{"consultant": inner, "inside": outer}]
    assert any(
        f"'{inner}''s territory lies entirely inside '{outer}''s" in n for n in doc["notices"]
    )


def test_export_writes_the_territories_back_as_the_file_split_imports(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    split_cli(ws, "--consultants", "A,B", "--lock", "r0c0=B", capsys=capsys)
    assert main(["export", str(ws), "--out", str(tmp_path / "copy")]) == 0
    capsys.readouterr()
    exported = (tmp_path / "copy" / "territories.csv").read_text(encoding="utf-8-sig")
    assert exported.splitlines()[0] == "zone_id,consultant,locked"
    assert "r0c0,B,1" in exported.splitlines()
    # The round trip: the exported file re-balanced into another copy gives the same territories.
    other = grid_workspace(tmp_path / "other")
    status, doc, _ = split_cli(
        other,
        "--consultants",
        "A,B",
        "--assignment",
        str(tmp_path / "copy" / "territories.csv"),
        capsys=capsys,
    )
    assert status == 0 and doc["zones_moved"] == 0
    assert owners(doc) == dict(load_assignment(ws)[["zone_id", "consultant"]].values)


def _cards_in(zones: dict[str, int]) -> str:
    """Open B-grade A-cards: ``n`` of them at the middle of each named grid zone."""
    rows = ["card_id,card_type,date,grade,status,phone,lon,lat"]
    k = 0
    for zid, n in zones.items():
        row, col = int(zid[1]), int(zid[3])
        x, y = X0 + (col + 0.5) * D, Y0 + (row + 0.5) * D
        for _ in range(n):
            k += 1
            rows.append(f"K{k},A卡,2026-05-01,B,open,139{k:08d},{x},{y}")
    return "\n".join(rows) + "\n"


def test_open_leads_and_workload_come_from_the_leads(tmp_path, capsys):
    """Leads planted in the two western columns: a split on open leads gives each of two
    consultants the same count (population would split the grid in halves, 36 vs 0); the
    workload split reports contacts per month from the grades' cadence."""
    ws = grid_workspace(tmp_path / "ws")
    planted = {f"r{r}c{c}": 3 for r in range(4) for c in range(2)}  # 8 zones × 3 leads
    (ws / "cards.csv").write_text(_cards_in(planted), encoding="utf-8")
    assert main(["--json", "split", str(ws), "--consultants", "2", "--balance", "open_leads"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(t["open_leads"] for t in doc["territories"]) == [12, 12]
    assert doc["contiguous"] and doc["balance_index"] == 100
    assert main(["--json", "split", str(ws), "--consultants", "2", "--balance", "workload"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # 24 open B leads: one contact every 7 days each -> 24 × 30.4375 / 7 = 104.4 per month,
    # plus what the white space should bring (none on this uniform grid of one customer).
    total = sum(t["workload"] for t in doc["territories"])
    assert total >= 24 * 30.4375 / 7 - 1e-6
    assert sum(t["open_leads"] for t in doc["territories"]) == 24

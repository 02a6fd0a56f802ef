"""The GeoPackage store: round trip, freshness, atomic saves, export."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pyogrio
import pytest

from territory.inputs import store
from territory.inputs.workspace import load_workspace, read_sources
from territory.privacy import PHONE_PATTERN


def test_round_trip_keeps_types_and_values(tiny_ws):
    ws = read_sources(tiny_ws)
    path = store.save_store(ws)
    assert path.name == "territory.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"zones", "customers", "cards", "events", "pois", "meta", "settings"} <= layers
    back = store.read_store(tiny_ws)
    for name in ("zones", "customers", "cards", "events", "pois"):
        a, b = ws.layer(name), back.layer(name)
        assert list(a.columns) == list(b.columns), name
        assert a.dtypes.astype(str).tolist() == b.dtypes.astype(str).tolist(), name
        assert (
            a.drop(columns="geometry").astype(str).equals(b.drop(columns="geometry").astype(str))
        ), name
        assert a.geometry.geom_equals(b.geometry).all() or name == "zones"
    assert back.zones.to_crs(32648).area.sum() == pytest.approx(ws.zones.to_crs(32648).area.sum())
    assert back.customers["customer_id"].tolist() == ["007", "008"]
    assert back.dealer == ws.dealer


def test_store_is_used_only_while_fresh(tiny_ws):
    ws = load_workspace(tiny_ws, save_store=True)
    assert (tiny_ws / "territory.gpkg").exists()
    assert store.read_store_if_fresh(tiny_ws) is not None
    # Editing a source file makes the store stale: the files win.
    text = (tiny_ws / "customers.csv").read_text(encoding="utf-8")
    (tiny_ws / "customers.csv").write_text(text.replace("张三", "张三丰"), encoding="utf-8")
    assert store.read_store_if_fresh(tiny_ws) is None
    fresh = load_workspace(tiny_ws)
    assert fresh.customers["name"].iloc[0] == "张三丰"
    assert ws.customers["name"].iloc[0] == "张三"


def test_ui_settings_persist_in_the_store(tiny_ws):
    ws = read_sources(tiny_ws)
    store.save_store(ws)
    store.save_ui_settings(tiny_ws, {"model": "家轿 A", "weights": {"density": 0.3}})
    store.save_ui_settings(tiny_ws, {"model": "SUV"})
    assert store.read_ui_settings(tiny_ws) == {"model": "SUV", "weights": {"density": 0.3}}
    # A full re-save keeps the user's settings.
    store.save_store(ws)
    assert store.read_ui_settings(tiny_ws)["model"] == "SUV"


def test_killed_save_leaves_the_old_store_readable(tiny_ws):
    ws = read_sources(tiny_ws)
    store.save_store(ws)
    before = store.read_store(tiny_ws)
    # A child process saves again but is killed in the middle of writing layers.
    script = textwrap.dedent(
        f"""
        import sys, time, pyogrio
        from territory.inputs import store
        from territory.inputs.workspace import read_sources
        real = pyogrio.write_dataframe
        calls = []
        def slow(*args, **kwargs):
            calls.append(1)
            real(*args, **kwargs)
            if len(calls) == 2:
                print("writing", flush=True)
                time.sleep(60)
        pyogrio.write_dataframe = slow
        store.pyogrio.write_dataframe = slow
        ws = read_sources({str(tiny_ws)!r})
        ws.customers = ws.customers.iloc[:1]
        store.save_store(ws)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    leftovers = list(tiny_ws.glob(".territory-tmp-*"))
    assert leftovers, "the killed save should have left its temporary file"
    after = store.read_store(tiny_ws)
    assert len(after.customers) == len(before.customers) == 2
    # The next save cleans the leftovers up.
    store.save_store(ws)
    assert not list(tiny_ws.glob(".territory-tmp-*"))


def test_export_masks_personal_data_by_default(tiny_ws, tmp_path):
    ws = read_sources(tiny_ws)
    out = tmp_path / "out"
    files = store.export_workspace(ws, out)
    names = {p.name for p in files}
    assert {"dealer.toml", "zones.geojson", "customers.csv", "cards.csv", "events.csv"} <= names
    text = (out / "customers.csv").read_text(encoding="utf-8-sig")
    assert not PHONE_PATTERN.search(text)
    assert "138****1234" in text and "张*" in text and "张三" not in text
    # The export is itself a valid workspace in WGS-84.
    again = read_sources(out)
    assert again.customers["zone_id"].tolist() == ws.customers["zone_id"].tolist()
    assert again.dealer.lon == pytest.approx(ws.dealer.lon)


def test_export_with_personal_data_only_when_asked(tiny_ws, tmp_path):
    ws = read_sources(tiny_ws)
    store.export_workspace(ws, tmp_path / "out", mask_personal=False)
    text = (tmp_path / "out" / "customers.csv").read_text(encoding="utf-8-sig")
    assert "13812341234" in text and "张三" in text


def test_store_that_cannot_be_written_is_a_notice_not_a_crash(tiny_ws):
    # A folder squatting on the store's name makes the final move fail, for any user.
    (tiny_ws / "territory.gpkg").mkdir()
    (tiny_ws / "territory.gpkg" / "keep").write_text("x")
    ws = load_workspace(tiny_ws, save_store=True)
    assert any(p.key == "notice.store_not_saved" for p in ws.notices)
    assert len(ws.customers) == 2
    assert not list(tiny_ws.glob(".territory-tmp-*"))


def test_saving_is_reasonably_fast(tiny_ws):
    ws = read_sources(tiny_ws)
    t0 = time.perf_counter()
    store.save_store(ws)
    assert time.perf_counter() - t0 < 30


def test_an_unedited_demo_copy_is_renewed_after_an_upgrade_and_an_edited_one_kept(tmp_path):
    import json

    from territory.inputs.demo import MANIFEST, demo_copy, demo_path, write_demo

    bundled = (demo_path() / "events.csv").read_bytes()
    # A copy written by an older version: its events differ, and its manifest says so.
    old = write_demo(tmp_path / "old")
    (old / "events.csv").write_bytes(b"event_id,date,zone_id,format,cost,leads,sales\n")
    manifest = json.loads((old / MANIFEST).read_text(encoding="utf-8"))
    manifest["events.csv"] = hashlib.sha256((old / "events.csv").read_bytes()).hexdigest()
    (old / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert demo_copy(old) == old and (old / "events.csv").read_bytes() == bundled
    # A copy the user edited is theirs: left alone.
    edited = write_demo(tmp_path / "edited")
    (edited / "events.csv").write_bytes(b"event_id,date,zone_id,format,cost,leads,sales\n")
    demo_copy(edited)
    assert (edited / "events.csv").read_bytes() != bundled
    # A copy without a manifest (written before manifests existed) is left alone too.
    (edited / MANIFEST).unlink()
    demo_copy(edited)
    assert (edited / "events.csv").read_bytes() != bundled

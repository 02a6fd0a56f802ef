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


# ------------------------------------------------------------------ issue 13: trust no stale store


def _same_stat_edit(path, old: bytes, new: bytes) -> None:
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_store_is_keyed_on_content_not_size_and_mtime(tiny_ws):
    store.save_store(read_sources(tiny_ws))
    assert store.check_store(tiny_ws).status == "fresh"
    _same_stat_edit(tiny_ws / "customers.csv", "张三".encode(), "李四".encode())
    check = store.check_store(tiny_ws)
    assert check.status == "stale" and check.detail == "customers.csv"
    ws, reason = store.load_from_store(tiny_ws)
    assert ws is None and reason.key == "notice.store_stale"
    fresh = load_workspace(tiny_ws)
    assert fresh.customers["name"].iloc[0] == "李四"
    assert any(p.key == "notice.store_stale" for p in fresh.notices)


def test_edits_made_to_the_store_outside_territory_are_detected(tiny_ws):
    import sqlite3

    store.save_store(read_sources(tiny_ws))
    con = sqlite3.connect(tiny_ws / "territory.gpkg")
    con.create_function("ST_IsEmpty", 1, lambda g: 0)
    for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
        con.create_function(name, 1, lambda g: 0.0)
    with con:
        con.execute("UPDATE customers SET zone_id = '004'")
    con.close()
    check = store.check_store(tiny_ws)
    assert check.status == "tampered" and "edited" in check.detail
    assert store.read_store_if_fresh(tiny_ws) is None
    ws = load_workspace(tiny_ws)
    assert "004" not in set(ws.customers["zone_id"])
    assert any(p.key == "warn.store_tampered" and p.severity == "warning" for p in ws.notices)


def test_a_layer_rewritten_by_a_gis_is_detected(tiny_ws):
    ws = read_sources(tiny_ws)
    store.save_store(ws)
    pyogrio.write_dataframe(ws.customers.iloc[:1], tiny_ws / "territory.gpkg", layer="customers")
    check = store.check_store(tiny_ws)
    assert check.status == "tampered" and "customers" in check.detail


def test_the_settings_table_is_the_apps_to_change(tiny_ws):
    store.save_store(read_sources(tiny_ws))
    store.save_ui_settings(tiny_ws, {"model": "家轿 A"})
    assert store.check_store(tiny_ws).status == "fresh"


def test_a_read_only_store_is_never_replaced(tiny_ws):
    store.save_store(read_sources(tiny_ws))
    path = tiny_ws / "territory.gpkg"
    path.chmod(0o444)
    before = path.read_bytes()
    try:
        assert not store.store_writable(tiny_ws)
        with pytest.raises(store.StoreReadOnly):
            store.save_store(read_sources(tiny_ws))
        with pytest.raises(store.StoreReadOnly):
            store.save_ui_settings(tiny_ws, {"model": "x"})
        ws = load_workspace(tiny_ws, use_store=False, save_store=True)
        assert any(p.key == "notice.store_read_only" for p in ws.notices)
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_the_lock_waits_says_so_and_gives_up_after_the_timeout(tiny_ws):
    import threading

    held, release = threading.Event(), threading.Event()

    def holder():
        with store.workspace_lock(tiny_ws):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(30)
    waits = []
    try:
        with (
            pytest.raises(store.StoreBusy),
            store.workspace_lock(tiny_ws, timeout=0.3, on_wait=waits.append),
        ):
            pass
        assert waits == [0.3]
        # Released while waiting: the second writer goes on.
        threading.Timer(0.3, release.set).start()
        with store.workspace_lock(tiny_ws, timeout=30, on_wait=waits.append):
            pass
    finally:
        release.set()
        thread.join(30)
    assert waits == [0.3, 30]


def test_an_upgrade_of_the_reading_code_rebuilds_the_store(tiny_ws, monkeypatch):
    store.save_store(read_sources(tiny_ws))
    monkeypatch.setattr(store, "code_key", lambda: "another version")
    assert store.check_store(tiny_ws).status == "other_version"

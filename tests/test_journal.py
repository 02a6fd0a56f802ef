"""The journal of edits (territory-journal.sqlite): append-only, transactional, concurrent, replayed on load."""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import sqlite3
import stat

import pandas as pd
import pytest
from conftest import centre, make_workspace

from territory.inputs import store
from territory.inputs.journal import (
    JOURNAL_FILE,
    KINDS,
    Edit,
    Journal,
    JournalError,
    Kind,
    apply_journal,
    register_kind,
)
from territory.inputs.workspace import load_workspace

X, Y = centre(1)
CARDS = (
    "card_id,card_type,date,grade,status,phone,consultant,last_contact,lon,lat\n"
    f"A1,A,2026-05-01,B,open,13812341234,张伟,2026-05-02,{X},{Y}\n"
    f"D1,deposit,2026-05-09,,open,13812341234,张伟,,{X},{Y}\n"
    f"A2,A,2026-05-02,C,open,13900001111,李娜,,{X},{Y}\n"
)


@pytest.fixture
def ws_root(tmp_path):
    return make_workspace(tmp_path / "ws", cards=CARDS)


def test_a_workspace_without_edits_has_no_journal(ws_root):
    journal = Journal(ws_root)
    assert not journal.exists
    assert journal.version() == 0
    assert journal.entries() == []
    ws = load_workspace(ws_root, use_store=False, journal=False)
    assert apply_journal(ws) is ws
    assert not (ws_root / JOURNAL_FILE).exists(), "reading must not create the journal"


def test_append_writes_one_batch_with_who_and_time(ws_root):
    journal = Journal(ws_root)
    batch = journal.append(
        [
            Edit("lead_update", "A1", {"grade": "H", "before": {"grade": "B"}}),
            Edit("lead_update", "A2", {"last_contact": "2026-05-04"}),
        ],
        who="张伟",
        origin="app",
        note="周一电话",
    )
    entries = journal.entries()
    assert [e.key for e in entries] == ["A1", "A2"]
    assert {e.batch for e in entries} == {batch}
    assert entries[0].who == "张伟" and entries[0].origin == "app"
    assert entries[0].at[:2] == "20" and ("+" in entries[0].at or "Z" in entries[0].at)
    assert journal.version() == entries[-1].seq
    con = sqlite3.connect(journal.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT note FROM batches").fetchall() == [("周一电话",)]
    con.close()
    frame = journal.frame("lead_update")
    assert frame["data.grade"].tolist()[0] == "H"


def test_append_is_all_or_nothing(ws_root):
    journal = Journal(ws_root)
    journal.append([Edit("lead_update", "A1", {"grade": "A"})], who="x")
    with pytest.raises(JournalError, match="field"):
        journal.append(
            [
                Edit("lead_update", "A1", {"grade": "H"}),
                Edit("lead_update", "A2", {"favourite_colour": "red"}),
            ]
        )
    with pytest.raises(JournalError, match="kind"):
        journal.append([Edit("no_such_kind", "A1", {})])
    with pytest.raises(JournalError, match="stored"):
        journal.append([Edit("lead_update", "A1", {"note": float("nan")})])
    assert [e.data for e in journal.entries()] == [{"grade": "A"}]


def test_edits_are_applied_on_load_and_the_store_stays_a_cache(ws_root):
    ws = load_workspace(ws_root, use_store=False, save_store=True)
    lead = ws.cards.set_index("card_id")["lead_id"]
    assert lead["A1"] == lead["D1"] == "A1"  # A-card and deposit card: one lead by phone
    Journal(ws_root).append(
        [
            Edit(
                "lead_update",
                "A1",
                {
                    "last_contact": "2026-05-12",
                    "grade": "H",
                    "before": {"grade": "B", "last_contact": "2026-05-02"},
                },
            )
        ],
        who="张伟",
    )
    for merged in (load_workspace(ws_root), load_workspace(ws_root, use_store=False)):
        cards = merged.cards.set_index("card_id")
        # the contact lands on the latest card registered on or before it (the deposit card)
        assert cards.loc["D1", "last_contact"] == pd.Timestamp("2026-05-12")
        assert pd.isna(cards.loc["A1", "last_contact"])
        assert cards.loc["D1", "grade"] == "H"
    raw = load_workspace(ws_root, journal=False)
    assert raw.cards.set_index("card_id").loc["A1", "grade"] == "B"
    # the store holds the files only: reading it directly shows no edit
    assert store.read_store(ws_root).cards.set_index("card_id").loc["D1", "grade"] != "H"


def test_the_file_wins_when_it_changed_after_the_edit(ws_root):
    Journal(ws_root).append(
        [Edit("lead_update", "A2", {"grade": "A", "before": {"grade": "C"}})], who="李娜"
    )
    assert (
        load_workspace(ws_root, use_store=False).cards.set_index("card_id").loc["A2", "grade"]
        == "A"
    )
    # a new DMS export says B: newer than the edit
    (ws_root / "cards.csv").write_text(CARDS.replace("A2,A,2026-05-02,C", "A2,A,2026-05-02,B"))
    ws = load_workspace(ws_root, use_store=False)
    assert ws.cards.set_index("card_id").loc["A2", "grade"] == "B"
    notice = [p for p in ws.notices if p.key == "notice.journal_superseded"]
    assert notice and "A2" in notice[0].message("en") and notice[0].column == "grade"
    # an export of the merged data imported back (the file says A now) is quiet
    (ws_root / "cards.csv").write_text(CARDS.replace("A2,A,2026-05-02,C", "A2,A,2026-05-02,A"))
    ws = load_workspace(ws_root, use_store=False)
    assert not [p for p in ws.notices if p.key.startswith("notice.journal")]


def test_a_contact_date_never_moves_back(ws_root):
    Journal(ws_root).append([Edit("lead_update", "A1", {"last_contact": "2026-05-01"})], who="x")
    cards = load_workspace(ws_root, use_store=False).cards
    assert cards["last_contact"].max() == pd.Timestamp("2026-05-02")


def test_an_edit_of_a_lead_gone_from_the_files_is_a_notice(ws_root):
    Journal(ws_root).append([Edit("lead_update", "GONE", {"grade": "H"})], who="x")
    ws = load_workspace(ws_root, use_store=False)
    missing = [p for p in ws.notices if p.key == "notice.journal_lead_missing"]
    assert missing and "GONE" in missing[0].message("zh")
    assert len(Journal(ws_root).entries()) == 1  # kept in the journal


def test_export_gives_the_edits_back_as_plain_files(ws_root, tmp_path):
    Journal(ws_root).append(
        [
            Edit(
                "lead_update",
                "A2",
                {
                    "status": "lost",
                    "lost_reason": "买了竞品",
                    "closed_date": "2026-05-06",
                    "before": {"status": "open"},
                },
            )
        ],
        who="李娜",
    )
    ws = load_workspace(ws_root, use_store=False)
    out = tmp_path / "out"
    store.export_workspace(ws, out, mask_personal=False)
    cards = pd.read_csv(out / "cards.csv", dtype=str, encoding="utf-8-sig").set_index("card_id")
    assert cards.loc["A2", "status"] == "lost"
    assert cards.loc["A2", "lost_reason"] == "买了竞品"
    assert cards.loc["A2", "closed_date"] == "2026-05-06"
    assert cards.loc["D1", "lead_id"] == "A1"  # the link is explicit in the export
    assert "lead_linked_by" not in cards.columns
    # the user's own file is untouched
    assert (ws_root / "cards.csv").read_text() == CARDS
    again = load_workspace(out, use_store=False).cards.set_index("card_id")
    assert again.loc["A2", "status"] == "lost" and again.loc["D1", "lead_id"] == "A1"


def test_a_read_only_workspace_refuses_to_record_with_a_clear_error(ws_root):
    Journal(ws_root).append([Edit("lead_update", "A1", {"grade": "H"})], who="x")
    os.chmod(ws_root, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(ws_root, os.W_OK):  # running as root: permissions are not enforced
            pytest.skip("permissions are not enforced for this user")
        assert [e.key for e in Journal(ws_root).entries()] == ["A1"]  # still readable
        with pytest.raises(JournalError) as info:
            Journal(ws_root).append([Edit("lead_update", "A2", {"grade": "H"})], who="x")
        assert JOURNAL_FILE in info.value.message("en")
    finally:
        os.chmod(ws_root, stat.S_IRWXU)


def test_a_damaged_journal_is_an_error_naming_the_file(ws_root):
    (ws_root / JOURNAL_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError) as info:
        Journal(ws_root).append([Edit("lead_update", "A1", {"grade": "H"})], who="x")
    assert JOURNAL_FILE in info.value.message("zh")
    with pytest.raises(JournalError):
        load_workspace(ws_root, use_store=False)


def test_kinds_are_registered_once():
    assert "lead_update" in KINDS
    same = KINDS["lead_update"]
    assert register_kind(same) is same
    with pytest.raises(ValueError, match="already registered"):
        register_kind(Kind("lead_update", key="x", fields=()))


def _record(root: str, who: str, n: int, barrier: str) -> None:
    """One writer process: say it is ready, wait for the other, then append ``n`` one-edit batches."""
    import time
    from pathlib import Path

    folder = Path(barrier)
    (folder / who).touch()  # ready (modules imported)
    while len(list(folder.iterdir())) < 2:
        time.sleep(0.001)
    journal = Journal(root)
    for i in range(n):
        journal.append(
            [
                Edit(
                    "lead_update",
                    f"A{i % 2 + 1}",
                    {"last_contact": "2026-05-10", "note": f"{who}-{i}"},
                )
            ],
            who=who,
            origin="api",
        )
        time.sleep(0.002)  # a consultant's pace, compressed: the writers overlap


def test_two_processes_recording_200_updates_each_lose_nothing(ws_root, tmp_path):
    barrier = tmp_path / "ready"
    barrier.mkdir()
    ctx = multiprocessing.get_context("spawn")
    writers = [
        ctx.Process(target=_record, args=(str(ws_root), who, 200, str(barrier)))
        for who in ("甲", "乙")
    ]
    for p in writers:
        p.start()
    for p in writers:
        p.join(timeout=300)
        assert p.exitcode == 0
    entries = Journal(ws_root).entries()
    assert len(entries) == 400
    notes = {e.data["note"] for e in entries}
    assert notes == {f"{who}-{i}" for who in ("甲", "乙") for i in range(200)}
    assert len({e.seq for e in entries}) == 400
    assert len({e.batch for e in entries}) == 400
    # the writers interleaved (they really ran at once), and the order is each writer's own
    whos = [e.who for e in entries]
    assert sum(a != b for a, b in itertools.pairwise(whos)) > 1
    for who in ("甲", "乙"):
        mine = [int(e.data["note"].split("-")[1]) for e in entries if e.who == who]
        assert mine == sorted(mine)
    json.dumps([e.data for e in entries])


def test_a_journal_that_cannot_be_opened_is_an_error_not_a_traceback(ws_root, capsys):
    (ws_root / JOURNAL_FILE).mkdir()  # e.g. a sync tool left a folder of that name
    with pytest.raises(JournalError) as info:
        Journal(ws_root).append([Edit("lead_update", "A1", {"grade": "H"})], who="x")
    assert JOURNAL_FILE in info.value.message("en")
    with pytest.raises(JournalError):
        Journal(ws_root / "missing").append([Edit("lead_update", "A1", {"grade": "H"})])


def _busy_at_first(monkeypatch, times: int, *, where: str) -> list[int]:
    """Make the journal's first ``times`` transactions answer "database is locked" at once.

    ``where`` is ``"open"`` (while the connection is set up, as a WAL switch
    racing another writer does) or ``"insert"`` (inside the transaction,
    after the batch row was written): either way SQLite did not wait.
    """
    calls = [0]
    real = Journal._writer

    class Flaky:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            result = self.con.execute(sql, *args)
            if sql.startswith("INSERT INTO batches") and calls[0] <= times:
                raise sqlite3.OperationalError("database is locked")  # after the batch row
            return result

        def executemany(self, sql, rows):
            return self.con.executemany(sql, rows)

    @contextlib.contextmanager
    def writer(self):
        calls[0] += 1
        with real(self) as con:
            if where == "open" and calls[0] <= times:
                raise sqlite3.OperationalError("database is locked")
            yield Flaky(con) if where == "insert" else con

    monkeypatch.setattr(Journal, "_writer", writer)
    return calls


@pytest.mark.parametrize("where", ["open", "insert"])
def test_a_journal_that_answers_locked_at_once_is_tried_again_and_written_once(
    ws_root, monkeypatch, where
):
    calls = _busy_at_first(monkeypatch, 3, where=where)
    batch = Journal(ws_root).append([Edit("lead_update", "A1", {"grade": "H"})], who="x")
    assert calls[0] == 4
    entries = Journal(ws_root).entries()
    assert [(e.batch, e.data) for e in entries] == [(batch, {"grade": "H"})]
    assert (
        len(Journal(ws_root)._query("SELECT batch FROM batches")) == 1
    )  # the failed tries left nothing


def test_a_journal_locked_for_longer_than_the_timeout_is_a_clear_error(ws_root, monkeypatch):
    _busy_at_first(monkeypatch, 10**6, where="open")
    with pytest.raises(JournalError) as info:
        Journal(ws_root, timeout=0.3).append([Edit("lead_update", "A1", {"grade": "H"})], who="x")
    assert info.value.key == "journal.busy"
    assert JOURNAL_FILE in info.value.message("zh")
    assert Journal(ws_root).entries() == []

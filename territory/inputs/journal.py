"""The journal: every edit made in the app or by the command line, kept apart from the user's files.

A workspace's plain files (``cards.csv`` ...) belong to the user and are
never rewritten in place, and ``territory.gpkg`` is only a cache of them,
replaced whole on every rebuild. Edits — a consultant's call recorded on
the Follow-up page, a lead's new grade, later a recorded outing or a
consultant's territory — therefore live in a third file,
``territory-journal.sqlite``, as an **append-only** list of edits:

``edits``
    one row per edit: ``seq`` (increasing), ``batch`` (the append that
    wrote it), ``kind`` (what sort of edit: ``lead_update`` ...), ``key``
    (the thing edited: a lead_id, an event_id ...), ``data`` (a JSON object
    of the fields set), ``at`` (ISO time with offset), ``who`` and
    ``origin`` (``app``, ``cli``, ``api``).
``batches``
    one row per :meth:`Journal.append`: ``batch``, ``at``, ``who``,
    ``origin``, ``note``.
``meta``
    ``format_version``.

Writers use SQLite in WAL mode with ``BEGIN IMMEDIATE`` transactions and a
busy timeout, so two processes appending at once both succeed and nothing
is lost; an append is all or nothing. Readers never block writers.

How edits reach the data
------------------------
Each kind is registered once in :data:`KINDS` (name, what its key is, the
fields its data may hold, and optionally an *applier*). When a workspace is
loaded (:func:`territory.inputs.workspace.load_workspace`, the command line
and the app), :func:`apply_journal` replays the edits of every kind that
has an applier, in ``seq`` order, on the validated layers: the CLI, the app
and a browser refresh all see the same merged data, and ``territory
export`` writes it back as plain files. Kinds without an applier are read
by the module that owns them (:meth:`Journal.entries`).

Adding a kind (for the next feature)
------------------------------------
1. ``register_kind(Kind("event_record", key="event_id", fields=(...),
   applier="territory.inputs.xxx:apply_events"))`` in the module that owns
   it, at import time, *and* list that module in :data:`KIND_MODULES` so
   the kind is known before a workspace is loaded. Appliers must live on
   the ``inputs`` floor (they run while loading).
2. An applier is ``f(ws, entries) -> (ws, problems)``: it returns a new
   :class:`~territory.inputs.workspace.Workspace` (never changes its input)
   and a list of :class:`~territory.Problem` notices for edits it could not
   apply (e.g. the lead is gone from cards.csv).
3. Validate edits *before* appending them (the journal refuses unknown
   kinds and fields, nothing more).

Examples
--------
>>> import tempfile
>>> j = Journal(tempfile.mkdtemp())
>>> j.version()
0
>>> batch = j.append([Edit("lead_update", "L1", {"grade": "H"})], who="张伟", origin="api")
>>> [(e.kind, e.key, e.data, e.who) for e in j.entries()]
[('lead_update', 'L1', {'grade': 'H'}, '张伟')]
>>> j.version()
1
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import getpass
import importlib
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "JOURNAL_FILE",
    "KINDS",
    "KIND_MODULES",
    "Edit",
    "Entry",
    "Journal",
    "JournalError",
    "Kind",
    "apply_journal",
    "default_who",
    "register_kind",
]

#: The journal's file inside the workspace folder.
JOURNAL_FILE = "territory-journal.sqlite"
#: Version of the journal's tables; a newer journal is read but never written by older code.
FORMAT_VERSION = 1
#: Seconds a writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
#: Modules that register kinds with appliers (imported before the journal is applied).
KIND_MODULES: tuple[str, ...] = ("territory.inputs.leadlink", "territory.inputs.outings")
#: Values of ``origin``.
ORIGINS: tuple[str, ...] = ("app", "cli", "api")


class JournalError(OSError):
    """The journal cannot be written or read (read-only folder, locked, newer format, bad edit).

    ``key`` names a catalogue message and ``fields`` fill it, so the
    command line and the app can say it in the user's language.
    """

    def __init__(self, key: str, /, **fields: Any) -> None:
        from territory.i18n import Message

        self.key = key
        self.fields = fields
        self.detail = Message(key, **fields)
        super().__init__(str(self.detail))

    def message(self, lang: str | None = "zh") -> str:
        """The message in ``lang``."""
        return self.detail.text(lang)


@dataclass(frozen=True)
class Kind:
    """A sort of edit the journal accepts.

    ``key`` says what an edit's key names (``lead_id``); ``fields`` are the
    keys its data may hold; ``applier`` is ``"module:function"`` (see the
    module notes) or None when the owning module reads the edits itself.
    """

    name: str
    key: str
    fields: tuple[str, ...]
    applier: str | None = None
    description: str = ""
    #: Appliers run in increasing ``order`` (kinds that add rows before those that edit them:
    #: recorded events and form leads before ``lead_update``), then in registration order.
    order: int = 10


#: Every registered kind, by name.
KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Register (or re-register, identically) a kind of edit; return it.

    Raises
    ------
    ValueError
        If another kind of that name is already registered.
    """
    known = KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"journal kind {kind.name!r} is already registered differently")
    KINDS[kind.name] = kind
    return kind


def _load_kinds() -> None:
    for module in KIND_MODULES:
        importlib.import_module(module)


@dataclass(frozen=True)
class Edit:
    """One edit to append: ``kind``, the ``key`` of the thing edited, and the fields set."""

    kind: str
    key: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """An edit as recorded in the journal."""

    seq: int
    batch: int
    kind: str
    key: str
    data: dict[str, Any]
    at: str
    who: str | None
    origin: str


def default_who() -> str | None:
    """The operating-system user, as the default author of an edit (None if unknown)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS batches ("
    " batch INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT,"
    " origin TEXT NOT NULL, note TEXT)",
    "CREATE TABLE IF NOT EXISTS edits ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " batch INTEGER NOT NULL REFERENCES batches(batch),"
    " kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,"
    " at TEXT NOT NULL, who TEXT, origin TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS edits_kind_key ON edits (kind, key)",
)


class Journal:
    """The append-only journal of one workspace (``territory-journal.sqlite``).

    Parameters
    ----------
    root
        The workspace folder.
    timeout
        Seconds a writer waits for another writer (SQLite busy timeout).
    """

    def __init__(self, root: Path | str, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.root = Path(root)
        self.path = self.root / JOURNAL_FILE
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return f"Journal({str(self.root)!r})"

    @property
    def exists(self) -> bool:
        """Whether the journal file exists (a workspace without edits has none)."""
        return self.path.is_file()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        if not self.root.is_dir():
            raise JournalError("journal.no_folder", path=str(self.root))
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(
                "journal.not_writable", path=str(self.path), detail=str(exc)
            ) from None
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            yield con
        except sqlite3.OperationalError as exc:
            text = str(exc)
            key = "journal.busy" if "locked" in text or "busy" in text else "journal.not_writable"
            raise JournalError(key, path=str(self.path), detail=text) from None
        except sqlite3.DatabaseError as exc:
            raise JournalError("journal.corrupt", path=str(self.path), detail=str(exc)) from None
        finally:
            con.close()

    def _retrying(self, write: Callable[[], int]) -> int:
        """Run ``write`` (one whole transaction), again while the journal is busy, up to ``timeout``.

        SQLite's busy timeout covers waiting for a lock, but where waiting
        could deadlock SQLite answers "database is locked" at once instead
        (two connections promoting their locks on a new file that is being
        switched to WAL, for one). A transaction that failed that way
        was rolled back, so running it again cannot write it twice.
        """
        deadline = time.monotonic() + self.timeout
        pause = 0.005
        while True:
            try:
                return write()
            except JournalError as exc:
                if exc.key != "journal.busy" or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.25)

    def append(
        self,
        edits: Iterable[Edit],
        *,
        who: str | None = None,
        origin: str = "api",
        note: str | None = None,
    ) -> int:
        """Append ``edits`` in one transaction; return the batch number.

        All edits are written or none. ``who`` defaults to the operating
        system's user.

        Raises
        ------
        JournalError
            If a kind is unknown, a field is not one of its kind's, a value
            cannot be stored as JSON, or the file cannot be written (the
            message names the file and the reason).
        """
        _load_kinds()
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}; got {origin!r}")
        rows = []
        for edit in edits:
            kind = KINDS.get(edit.kind)
            if kind is None:
                raise JournalError("journal.unknown_kind", kind=edit.kind, known=", ".join(KINDS))
            extra = sorted(set(edit.data) - set(kind.fields))
            if extra:
                raise JournalError(
                    "journal.unknown_field",
                    kind=edit.kind,
                    found=", ".join(extra),
                    known=", ".join(kind.fields),
                )
            if not isinstance(edit.key, str) or not edit.key:
                raise JournalError("journal.no_key", kind=edit.kind)
            try:
                data = json.dumps(edit.data, ensure_ascii=False, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise JournalError("journal.bad_value", kind=edit.kind, detail=str(exc)) from None
            rows.append((edit.kind, edit.key, data))
        who = who if who is not None else default_who()
        at = _now()

        return self._retrying(
            lambda: self._write_batch(rows, at=at, who=who, origin=origin, note=note)
        )

    def _write_batch(
        self, rows: list[tuple[str, str, str]], *, at: str, who: str, origin: str, note: str | None
    ) -> int:
        """Write one batch of ``(kind, key, data)`` rows in one transaction; its number."""
        with self._writer() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    con.execute(statement)
                version = con.execute(
                    "SELECT value FROM meta WHERE key = 'format_version'"
                ).fetchone()
                if version is None:
                    con.execute(
                        "INSERT INTO meta (key, value) VALUES ('format_version', ?)",
                        (str(FORMAT_VERSION),),
                    )
                elif int(version[0]) > FORMAT_VERSION:
                    raise JournalError(
                        "journal.newer",
                        path=str(self.path),
                        found=version[0],
                        known=FORMAT_VERSION,
                    )
                batch = con.execute(
                    "INSERT INTO batches (at, who, origin, note) VALUES (?, ?, ?, ?)",
                    (at, who, origin, note),
                ).lastrowid
                con.executemany(
                    "INSERT INTO edits (batch, kind, key, data, at, who, origin)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(batch, kind, key, data, at, who, origin) for kind, key, data in rows],
                )
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise
        return int(batch)

    # ------------------------------------------------------------------ reading

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """Rows of a read-only query; none when the journal or its tables do not exist yet."""
        if not self.exists:
            return []
        uri = self.path.resolve().as_uri()
        try:
            con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=self.timeout)
        except sqlite3.Error as exc:
            raise JournalError("journal.unreadable", path=str(self.path), detail=str(exc)) from None
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            try:
                return con.execute(sql, tuple(params)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # created, nothing committed yet
                    return []
                if "unable to open" not in str(exc) and "readonly" not in str(exc):
                    raise
            # A read-only folder cannot hold WAL's shared-memory file: read the file as it is.
            con.close()
            con = sqlite3.connect(f"{uri}?immutable=1", uri=True)
            return con.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise JournalError("journal.unreadable", path=str(self.path), detail=str(exc)) from None
        finally:
            con.close()

    def version(self) -> int:
        """The number of the last edit (0 for none): changes whenever an edit is appended."""
        rows = self._query("SELECT max(seq) FROM edits")
        return int(rows[0][0] or 0) if rows else 0

    def entries(self, kinds: str | Iterable[str] | None = None, *, since: int = 0) -> list[Entry]:
        """The edits (of ``kinds``; after ``since``), oldest first."""
        if isinstance(kinds, str):
            kinds = (kinds,)
        kinds = tuple(kinds) if kinds is not None else None
        sql = "SELECT seq, batch, kind, key, data, at, who, origin FROM edits WHERE seq > ?"
        params: list[Any] = [int(since)]
        if kinds is not None:
            sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params += list(kinds)
        rows = self._query(sql + " ORDER BY seq", params)
        return [
            Entry(int(s), int(b), k, key, json.loads(d), at, who, origin)
            for s, b, k, key, d, at, who, origin in rows
        ]

    def frame(self, kinds: str | Iterable[str] | None = None):
        """The edits as a DataFrame (``seq``, ``batch``, ``kind``, ``key``, ``at``, ``who``,
        ``origin`` and one column per data field), oldest first."""
        import pandas as pd

        entries = self.entries(kinds)
        base = ["seq", "batch", "kind", "key", "at", "who", "origin"]
        if not entries:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in base})
        records = [
            {**{c: getattr(e, c) for c in base}, **{f"data.{k}": v for k, v in e.data.items()}}
            for e in entries
        ]
        return pd.DataFrame.from_records(records)


def apply_journal(ws, *, journal: Journal | None = None):
    """The workspace with every journalled edit applied (a new object; ``ws`` is unchanged).

    Edits that cannot be applied (their lead or event is gone from the
    files) are listed in the returned workspace's ``notices``; they stay in
    the journal. A workspace without a journal is returned as it is.

    Raises
    ------
    JournalError
        If the journal file is damaged or unreadable.
    """
    journal = journal or Journal(ws.root)
    if not journal.exists:
        return ws
    _load_kinds()
    ranked = sorted((k for k in KINDS.values() if k.applier), key=lambda k: k.order)
    appliers = {kind.name: kind for kind in ranked}
    entries = journal.entries(tuple(appliers))
    if not entries:
        return ws
    for name, kind in appliers.items():
        mine = [e for e in entries if e.kind == name]
        if not mine:
            continue
        module, _, function = kind.applier.partition(":")
        apply: Callable = getattr(importlib.import_module(module), function)
        ws, problems = apply(ws, mine)  # an applier may also settle earlier notices
        ws = dataclasses.replace(ws, notices=[*ws.notices, *problems])
    return ws

"""Session state and caches of the Network page (经销商网络).

A session is in *network mode* when its folder holds ``network.toml``. The
network is read and validated once per file stamp; a run (every dealer, the
diagnosis and the gaps on Dask) is kept per folder, stamp, date and
language. The Dask client is one per app server: a ``LocalCluster`` sized
to the machine, or the scheduler named by ``$TERRITORY_DASK_SCHEDULER``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from territory.ui import state

__all__ = [
    "active",
    "back_to_network",
    "client",
    "network",
    "network_root",
    "open_dealer",
    "result",
    "scheduler_address",
    "stamp",
]


def network_root() -> Path:
    """The session's folder (a network folder in network mode)."""
    return state.folder()


def active() -> bool:
    """Whether the session's folder is a dealer network (holds network.toml)."""
    from territory.network.inputs import is_network

    return is_network(network_root())


def stamp(root: Path) -> str:
    """Changes whenever a file of the network folder changes (cache key)."""
    files = {}
    for path in sorted(Path(root).iterdir()):
        if path.is_file() and not path.name.startswith("."):
            info = path.stat()
            files[path.name] = [info.st_size, info.st_mtime_ns]
    return json.dumps(files, sort_keys=True)


@st.cache_resource(show_spinner=False, max_entries=2)
def _network(root: str, stamp: str, lang: str):
    from territory.network.inputs import read_network

    return read_network(root, lang=lang)


def network():
    """The validated network of the session's folder (raises ``LayerError`` listing problems)."""
    root = network_root()
    return _network(str(root), stamp(root), state.lang())


def scheduler_address() -> str | None:
    """``$TERRITORY_DASK_SCHEDULER`` (an existing cluster), or None for a LocalCluster."""
    return os.environ.get("TERRITORY_DASK_SCHEDULER") or None


class _Holder:
    """Keeps the client (and the cluster process) alive; a Client itself is awaitable, which
    Streamlit's cache refuses to hold."""

    def __init__(self, client, process=None) -> None:
        self.client = client
        self.process = process


@st.cache_resource(show_spinner=False)
def _client(address: str | None, workers: int | None) -> _Holder:
    import atexit

    from distributed import Client

    if address:
        return _Holder(Client(address, timeout="30s"))
    # The LocalCluster lives in a child process: started from here, its workers would
    # re-run this page (multiprocessing re-imports the script Streamlit runs as __main__).
    from territory.network.cluster import start

    process, address = start(workers)
    atexit.register(process.terminate)
    return _Holder(Client(address, timeout="30s"), process)


def client():
    """The app server's Dask client (started on first use)."""
    workers = os.environ.get("TERRITORY_DASK_WORKERS")
    return _client(scheduler_address(), int(workers) if workers else None).client


@st.cache_resource(show_spinner=False)
def _runs() -> dict:
    """Network runs of this app server by (folder, stamp, date, language); the last few kept.

    A plain dict rather than a cached function: the run draws its progress into
    the page, which a cached function may not do.
    """
    return {}


_KEEP_RUNS = 4


def result(date: dt.date, progress: Callable[[str, int, int], None] | None = None, *, run: bool):
    """The network run for ``date``; None when it has not run yet and ``run`` is False."""
    from territory.network.engine import run_network

    root = network_root()
    key = (str(root), stamp(root), date.isoformat(), state.lang())
    runs = _runs()
    if key in runs:
        return runs[key]
    if not run:
        return None
    value = run_network(
        root,
        client=client(),
        date=date,
        lang=key[3],
        progress=progress,
        network=_network(key[0], key[1], key[3]),
    )
    while len(runs) >= _KEEP_RUNS:
        runs.pop(next(iter(runs)))
    runs[key] = value
    return value


def open_dealer(res, dealer_id: str) -> Path:
    """Write the dealer's own folder from the network and switch the session to it."""
    import sqlite3

    from territory.inputs import store
    from territory.inputs.workspace import load_workspace
    from territory.network.folders import write_dealer_workspace

    folder = write_dealer_workspace(
        res.network, res.areas, dealer_id, client=client(), lang=state.lang()
    )
    try:  # the store, and the dealer's pages in the language chosen here
        load_workspace(folder, save_store=True)
        store.save_ui_settings(folder, {"lang": state.lang()})
    except (OSError, ValueError, sqlite3.Error):
        pass  # the pages still open (from the files, in the dealer's language)
    _switch(folder)
    return folder


def back_to_network(folder: Path) -> None:
    """Switch the session back to the network ``folder``."""
    _switch(folder)


def _switch(folder: Path) -> None:
    keep = st.session_state.get("w_lang")
    st.session_state[state._FOLDER] = str(folder)
    state._reset_prefs()
    if keep is not None:
        st.session_state["w_lang"] = keep

"""One dealer of a network as a workspace folder of its own (the app's click-through).

:func:`write_dealer_workspace` writes the folder that dealer would keep —
dealer.toml, the zones of its responsibility area, its customers, cards and
events — built by :func:`territory.network.dealers.dealer_workspace` (the
same workspace the network analysed) and written by
:func:`territory.inputs.store.export_workspace`. The folder is the app's
working copy for that dealer's pages: personal data is kept (the pages mask
it on screen and in every export), and a marker file names the network it
came from so the app can lead back.

The dealer's rows are picked out of the network's point files piece by piece
(on the Dask workers when a client is given), never loaded whole.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from territory._errors import ProblemList
from territory.network.inputs import Network, dealer_toml

__all__ = ["MARKER", "dealer_folder", "network_of", "write_dealer_workspace"]

#: The marker file of a dealer folder written from a network: ``{"network": path, "dealer_id"}``.
MARKER = ".territory-network.json"


def dealer_folder(net: Network, dealer_id: str) -> Path:
    """Where the app keeps a dealer's folder: ``<network>/.territory/dealers/<dealer_id>``."""
    return Path(net.root) / ".territory" / "dealers" / str(dealer_id)


def network_of(folder: Path | str) -> Path | None:
    """The network a dealer folder was written from (None for an ordinary workspace)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = Path(str(data.get("network", "")))
    return path if (path / "network.toml").is_file() else None


def _rows(
    source, index: int, dealer_parts: dict[str, int], settings, dealer_id: str
) -> pd.DataFrame:
    from territory.network._chunks import read_chunk

    frame, _ = read_chunk(source, index, dealer_parts=dealer_parts, settings=settings)
    return frame[frame["dealer_id"].eq(dealer_id).fillna(False).to_numpy()]


def write_dealer_workspace(
    net: Network,
    areas,
    dealer_id: str,
    folder: Path | str | None = None,
    *,
    client=None,
    lang: str | None = None,
) -> Path:
    """Write one dealer's own workspace folder; returns it.

    Parameters
    ----------
    net, areas
        The network and its responsibility areas (:class:`~territory.network.areas.Areas`).
    folder
        Where to write (default :func:`dealer_folder`); an existing folder is replaced.
    client
        A ``distributed.Client``: the point files' pieces are read on its workers.
    """
    import shutil

    from territory.inputs.store import export_workspace
    from territory.network.dealers import dealer_workspace

    ids = net.dealers["dealer_id"].to_numpy()
    hits = np.flatnonzero(ids == dealer_id)
    if not len(hits):
        raise KeyError(f"unknown dealer {dealer_id!r}")
    i = int(hits[0])
    folder = Path(folder) if folder is not None else dealer_folder(net, dealer_id)
    parts = dict.fromkeys(ids.tolist(), 0)
    layers: dict[str, pd.DataFrame] = {}
    for name, source in net.points.items():
        if client is not None:
            futures = client.map(
                _rows,
                [source] * source.chunks,
                range(source.chunks),
                dealer_parts=parts,
                settings=net.settings,
                dealer_id=dealer_id,
                pure=False,
            )
            pieces = client.gather(futures)
        else:
            pieces = [
                _rows(source, k, parts, net.settings, dealer_id) for k in range(source.chunks)
            ]
        layers[name] = pd.concat(pieces, ignore_index=True)
    own = areas.zones_of(i)
    own_ids = set(net.zones["zone_id"].to_numpy()[own])
    pois = net.pois[net.pois["zone_id"].isin(own_ids).to_numpy()] if len(net.pois) else None
    ws = dealer_workspace(
        root=net.root,
        dealer_data=dealer_toml(net, net.dealers.iloc[i]),
        zones=net.zones,
        positions=own,
        layers=layers,
        pois=pois,
        files=dict(net.sources),
        lang=lang or net.language,
        problems=ProblemList(),
    )
    if folder.exists():
        shutil.rmtree(folder)
    export_workspace(ws, folder, mask_personal=False)
    (folder / MARKER).write_text(
        json.dumps(
            {
                "network": str(Path(net.root).resolve()),
                "dealer_id": dealer_id,
                "written": dt.datetime.now().isoformat(timespec="seconds"),
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return folder

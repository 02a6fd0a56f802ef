"""Who covers which zone: the consultants' stored assignment (顾问分区), kept in the journal.

A split of the influence area among the sales consultants
(:mod:`territory.outreach.split`) is a user's decision, so it lives in the
workspace's journal of edits (:mod:`territory.inputs.journal`), never in the
replaceable ``territory.gpkg`` cache nor in the user's own files. Two kinds
of edit:

``territory_split`` (key ``assignment``)
    a whole assignment: ``assignment`` ({zone_id: consultant}), ``locked``
    (zone ids that never move), ``consultants`` (the names, in order),
    ``balance`` and ``balance_index`` (what it was balanced on, how well);
``territory_zone`` (key: the zone id)
    one zone handed to another consultant, or (un)locked, after a split:
    ``consultant``, ``locked`` and ``before`` (the consultant it had).

:func:`load_assignment` replays them: the latest split, then the zone edits
made after it. Every edit keeps who made it and when.

An assignment can also be imported from a CSV/XLSX file with the columns
``zone_id, consultant`` and optionally ``locked`` (Chinese headers 区域编号,
销售顾问, 锁定 are accepted): :func:`read_assignment_file`.

:func:`consultant_of` answers "whose territory is this zone in?" for plans,
site lists and follow-up lists.

Examples
--------
>>> import tempfile, pandas as pd
>>> root = tempfile.mkdtemp()
>>> table = pd.DataFrame({"zone_id": ["z1", "z2"], "consultant": ["张伟", "李娜"],
...                       "locked": [False, True]})
>>> _ = save_assignment(root, table, origin="api")
>>> _ = move_zone(root, "z1", "李娜", origin="api")
>>> load_assignment(root).values.tolist()
[['z1', '李娜', False], ['z2', '李娜', True]]
>>> consultant_of(root, ["z2", "z9"])
{'z2': '李娜'}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from territory._errors import LayerError, ProblemList
from territory.inputs.journal import Edit, Journal, Kind, register_kind

__all__ = [
    "SPLIT_KIND",
    "ZONE_KIND",
    "assignment_history",
    "consultant_of",
    "load_assignment",
    "move_zone",
    "read_assignment_file",
    "save_assignment",
]

SPLIT_KIND = register_kind(
    Kind(
        "territory_split",
        key="assignment",
        fields=("assignment", "locked", "consultants", "balance", "balance_index"),
        description="a whole split of the influence area among the consultants",
    )
)
ZONE_KIND = register_kind(
    Kind(
        "territory_zone",
        key="zone_id",
        fields=("consultant", "locked", "before"),
        description="one zone handed to another consultant, or (un)locked",
    )
)

_COLUMNS = ("zone_id", "consultant", "locked")
_ALIASES = {
    "zone_id": ("zone_id", "区域编号", "区域id", "zone", "zoneid"),
    "consultant": ("consultant", "销售顾问", "顾问", "负责顾问", "负责人"),
    "locked": ("locked", "锁定", "固定", "lock"),
}
_YES = {"1", "true", "yes", "y", "是", "锁定", "locked", "√", "✓"}
_NO = {"", "0", "false", "no", "n", "否", "nan", "none"}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"zone_id": [], "consultant": [], "locked": []}).astype(
        {"zone_id": object, "consultant": object, "locked": bool}
    )


def load_assignment(root: Path | str) -> pd.DataFrame | None:
    """The stored assignment (``zone_id, consultant, locked``), or None when there is none.

    The latest ``territory_split`` edit, with the ``territory_zone`` edits
    made after it applied in order. ``frame.attrs["consultants"]`` lists the
    consultants in the order the split named them.
    """
    journal = Journal(root)
    entries = journal.entries((SPLIT_KIND.name, ZONE_KIND.name))
    last = max((i for i, e in enumerate(entries) if e.kind == SPLIT_KIND.name), default=None)
    if last is None:
        return None
    split = entries[last].data
    owner: dict[str, str] = {str(z): str(c) for z, c in (split.get("assignment") or {}).items()}
    locked = {str(z) for z in split.get("locked") or ()}
    for entry in entries[last + 1 :]:
        if entry.key not in owner:
            continue  # a zone that is not part of the split (stale edit)
        if entry.data.get("consultant"):
            owner[entry.key] = str(entry.data["consultant"])
        if "locked" in entry.data:
            if entry.data["locked"]:
                locked.add(entry.key)
            else:
                locked.discard(entry.key)
    frame = (
        pd.DataFrame(
            {
                "zone_id": list(owner),
                "consultant": list(owner.values()),
                "locked": [z in locked for z in owner],
            }
        )
        if owner
        else _empty()
    )
    # The consultants in the order they were given (a zone edit may name a newcomer).
    order = [str(c) for c in split.get("consultants") or ()]
    frame.attrs["consultants"] = list(dict.fromkeys([*order, *frame["consultant"]]))
    return frame


def save_assignment(
    root: Path | str,
    assignment: pd.DataFrame,
    *,
    consultants: Sequence[str] | None = None,
    balance: str | None = None,
    balance_index: float | None = None,
    who: str | None = None,
    origin: str = "cli",
    note: str | None = None,
) -> Path:
    """Store a whole assignment as one ``territory_split`` edit; return the journal's path.

    Raises
    ------
    JournalError
        If the journal cannot be written (the message names the file and why).
    """
    table = assignment[list(_COLUMNS)]
    data: dict[str, Any] = {
        "assignment": {
            str(z): str(c) for z, c in zip(table["zone_id"], table["consultant"], strict=True)
        },
        "locked": [str(z) for z in table.loc[table["locked"].astype(bool), "zone_id"]],
        "consultants": list(
            dict.fromkeys(
                [
                    *(
                        consultants
                        if consultants is not None
                        else assignment.attrs.get("consultants", ())
                    ),
                    *(str(c) for c in table["consultant"]),
                ]
            )
        ),
    }
    if balance is not None:
        data["balance"] = balance
    if balance_index is not None:
        data["balance_index"] = round(float(balance_index), 2)
    journal = Journal(root)
    journal.append([Edit(SPLIT_KIND.name, "assignment", data)], who=who, origin=origin, note=note)
    return journal.path


def move_zone(
    root: Path | str,
    zone_id: str,
    consultant: str | None = None,
    *,
    locked: bool | None = None,
    who: str | None = None,
    origin: str = "app",
) -> Path:
    """Hand one zone to ``consultant`` and/or (un)lock it, as a ``territory_zone`` edit.

    Raises
    ------
    KeyError
        If there is no stored assignment or the zone is not in it.
    JournalError
        If the journal cannot be written.
    """
    current = load_assignment(root)
    if current is None or zone_id not in set(current["zone_id"]):
        raise KeyError(zone_id)
    row = current.set_index("zone_id").loc[zone_id]
    data: dict[str, Any] = {"before": str(row["consultant"])}
    if consultant is not None:
        data["consultant"] = str(consultant)
    if locked is not None:
        data["locked"] = bool(locked)
    journal = Journal(root)
    journal.append([Edit(ZONE_KIND.name, str(zone_id), data)], who=who, origin=origin)
    return journal.path


def assignment_history(root: Path | str) -> pd.DataFrame:
    """Every split and zone edit, oldest first: ``seq``, ``at``, ``who``, ``origin``, ``kind``, ``key``."""
    frame = Journal(root).frame((SPLIT_KIND.name, ZONE_KIND.name))
    return frame[[c for c in ("seq", "at", "who", "origin", "kind", "key") if c in frame]]


def consultant_of(root_or_ws, zone_ids: Sequence[str] | None = None) -> dict[str, str]:
    """Whose territory each zone is in, from the stored assignment (empty when there is none).

    ``root_or_ws``: the workspace folder or a workspace. Plans, site lists
    and follow-up lists use it to name the consultant.
    """
    root = root_or_ws if isinstance(root_or_ws, str | Path) else root_or_ws.root
    stored = load_assignment(root)
    if stored is None:
        return {}
    mapping = dict(zip(stored["zone_id"], stored["consultant"], strict=True))
    if zone_ids is None:
        return mapping
    return {z: mapping[z] for z in zone_ids if z in mapping}


def read_assignment_file(
    path: Path | str, *, zone_ids: Sequence[str], lang: str = "zh"
) -> pd.DataFrame:
    """Import an assignment from CSV/XLSX: ``zone_id, consultant`` and optionally ``locked``.

    Raises
    ------
    LayerError
        Listing every problem with file, row and column: missing columns,
        unknown or repeated zones, rows without a consultant, unreadable
        ``locked`` values.
    """
    from territory.inputs._tables import read_table

    path = Path(path)
    problems = ProblemList()
    try:
        table = read_table(path, problems)
    except OSError as exc:
        problems.add(path.name, "assign.file_unreadable", detail=exc.strerror or str(exc))
        raise LayerError(problems, lang) from None
    if table is None:
        raise LayerError(problems, lang)
    frame = table.frame.copy()

    def key(name: object) -> str:
        return re.sub(r"[\s_\-]+", "", str(name)).lower()

    lookup = {key(a): canonical for canonical, names in _ALIASES.items() for a in names}
    frame = frame.rename(columns={c: lookup[key(c)] for c in frame.columns if key(c) in lookup})
    for column in ("zone_id", "consultant"):
        if column not in frame:
            problems.add(table.file, "assign.missing_column", column=column)
    if problems.errors:
        raise LayerError(problems, lang)
    known = {str(z) for z in zone_ids}
    rows = table.rows.to_numpy()
    zone = frame["zone_id"].fillna("").astype(str).str.strip()
    consultant = frame["consultant"].fillna("").astype(str).str.strip()
    unknown = ~zone.isin(known)
    for value, group in zone[unknown].groupby(zone[unknown]):
        problems.add(
            table.file, "assign.unknown_zone", column="zone_id", rows=rows[group.index], found=value
        )
    repeated = zone.duplicated(keep=False) & ~unknown
    for value, group in zone[repeated].groupby(zone[repeated]):
        problems.add(
            table.file,
            "assign.duplicate_zone",
            column="zone_id",
            rows=rows[group.index],
            found=value,
        )
    empty = consultant == ""
    if empty.any():
        problems.add(table.file, "assign.empty_consultant", column="consultant", rows=rows[empty])
    locked = pd.Series(False, index=frame.index)
    if "locked" in frame:
        text = frame["locked"].fillna("").astype(str).str.strip().str.lower()
        yes, no = text.isin(_YES), text.isin(_NO)
        for value, group in text[~(yes | no)].groupby(text[~(yes | no)]):
            problems.add(
                table.file,
                "assign.bad_locked",
                column="locked",
                rows=rows[group.index],
                found=value,
            )
        locked = yes
    if problems.errors:
        raise LayerError(problems, lang)
    return pd.DataFrame({"zone_id": zone, "consultant": consultant, "locked": locked.astype(bool)})

"""Showroom traffic (展厅来店统计): the optional ``traffic.*`` file.

One row per day (or per day and source): ``date`` 日期, ``visitors`` 来店批次
(showroom visits that day, registered or not) and an optional ``source``
来源 (the lead sources' codes). It gives seed 002's N; without it the funnel
says that N and K cannot be computed instead of guessing them. Several rows
for one day (and source) are added up.

Examples
--------
>>> empty_traffic().dtypes.astype(str).to_dict()
{'date': 'datetime64[ns]', 'visitors': 'Int64', 'source': 'str'}
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from territory._errors import ProblemList
from territory.inputs.layers import find_layer_file, read_point_table
from territory.settings import Settings

__all__ = ["empty_traffic", "read_traffic"]


def empty_traffic() -> pd.DataFrame:
    """A traffic table with no rows and the typed columns."""
    return pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[ns]"),
            "visitors": pd.Series(dtype="Int64"),
            "source": pd.Series(dtype="str"),
        }
    )


def read_traffic(
    root: Path, problems: ProblemList, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, str | None]:
    """Read and validate ``traffic.*`` in ``root``; return ``(table, file name or None)``.

    Problems (negative or fractional visitors, bad dates, unknown sources)
    are added to ``problems`` with the file, rows and column.
    """
    path = find_layer_file(root, "traffic", problems)
    if path is None:
        return empty_traffic(), None
    result = read_point_table(path, "traffic", problems, settings=settings)
    if result is None:
        return empty_traffic(), path.name
    typed, _ = result
    typed["date"] = pd.to_datetime(typed["date"]).astype("datetime64[ns]")
    return typed.reset_index(drop=True), path.name

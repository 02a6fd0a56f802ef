"""Big columns are parsed once per distinct value: the result must equal parsing row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory._errors import ProblemList
from territory.inputs import layers
from territory.inputs.layers import LAYERS, _by_distinct, _numeric, _parse_dates, type_columns

# Every kind of value the date and number rules treat differently, repeated so that a
# column is long enough (and repetitive enough) to be parsed per distinct value.
DATES = [
    "2024-03-05",
    "2024/3/5",
    "2024年3月5日",
    "2024.03.05",
    "45000",  # an Excel serial
    "1850-01-01",  # out of range
    "2024-13-01",  # not a date
    "昨天",
    "",
    None,
    " 2024-03-05 ",
    "２０２４-０３-０５",  # full-width digits
]
NUMBERS = ["1", "1,200", "１２", "nan", "inf", "-3", "", None, "3.5", "abc", " 7 "]


def _column(values: list, n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    picked = rng.choice(np.arange(len(values)), size=n)
    return pd.Series([values[i] for i in picked], dtype="str", index=np.arange(n) * 3 + 7)


def _same(a: pd.Series, b: pd.Series) -> None:
    pd.testing.assert_series_equal(a, b, check_exact=True)


def test_dates_per_distinct_value_equal_row_by_row():
    raw = _column(DATES, 9000, 1)
    parse = lambda r: _parse_dates(r, years=(1900, 2100), serials=(20000, 60000))  # noqa: E731
    for got, want in zip(_by_distinct(raw, parse), parse(raw), strict=True):
        _same(got, want)


def test_numbers_per_distinct_value_equal_row_by_row():
    raw = _column(NUMBERS, 9000, 2)
    _same(_by_distinct(raw, _numeric), _numeric(raw))


def test_mostly_distinct_columns_are_parsed_directly():
    raw = pd.Series([str(i) for i in range(9000)], dtype="str")
    calls = []

    def parse(r):
        calls.append(len(r))
        return _numeric(r)

    _same(_by_distinct(raw, parse), _numeric(raw))
    assert calls == [9000]


@pytest.mark.parametrize("layer", ["customers", "cards"])
def test_a_big_table_types_and_reports_as_row_by_row(layer, monkeypatch):
    n = 8000
    spec = LAYERS[layer]
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "lon": _column(["104.1", "x", "", "104,2"], n, 4).to_numpy(),
            "lat": _column(["30.5", "", "91"], n, 5).to_numpy(),
            "age": _column(["35", "-1", "abc", "", "40.5"], n, 6).to_numpy(),
            "purchase_date": _column(DATES, n, 7).to_numpy(),
            "date": _column(DATES, n, 8).to_numpy(),
            "card_type": _column(["A", "deposit", "X"], n, 9).to_numpy(),
        },
        dtype="str",
    )
    frame[spec.id_column] = [f"id{i}" for i in rng.permutation(n)]
    frame = frame[[c for c in frame.columns if c in {col.name for col in spec.columns}]]
    rows = pd.Series(np.arange(n) + 2)

    def typed():
        problems = ProblemList()
        out = type_columns(frame, rows, spec, problems, f"{layer}.csv")
        return out, [str(p) for p in problems]

    fast, fast_problems = typed()
    monkeypatch.setattr(layers, "_DISTINCT_MIN_ROWS", 10**9)  # row by row
    slow, slow_problems = typed()
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast_problems == slow_problems and fast_problems

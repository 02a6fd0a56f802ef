"""Charts of the follow-up page as plain Vega-Lite specs (dicts): workload, funnel, levers, pyramid.

Plain dicts (no Altair objects): building and validating Altair charts
costs about 0.1 s each, and the follow-up page reruns after every click.
Every label comes from the caller (already in the user's language); the
data are the package's tables. Vega-Lite renders text as text, never as
HTML.

Examples
--------
>>> import pandas as pd
>>> spec = pyramid_spec(pd.DataFrame({"grade": ["H", "A"], "needed": [10, 30], "have": [4, 40]}),
...                     title="t", needed="needed", have="have")
>>> [v["grade"] for v in spec["data"]["values"]], spec["layer"][0]["mark"]["type"]
(['H', 'A'], 'bar')
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["SCHEMA", "funnel_spec", "lever_spec", "pyramid_spec", "workload_spec"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
RED, AMBER, BLUE, PALE = "#d1495b", "#edae49", "#2f6fb3", "#c9d8ec"


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def workload_spec(
    by_consultant: pd.DataFrame, *, names: list[str], labels: dict[str, str], axis: str
) -> dict:
    """Stacked bars of overdue and due leads per consultant (most behind on top).

    ``names`` are the consultants' display names in ``by_consultant``'s
    order; ``labels`` the legend's words for ``overdue`` and ``due``.
    """
    values = [
        {"name": name, "kind": labels[kind], "n": int(row[kind]), "order": i}
        for name, (_, row) in zip(names, by_consultant.iterrows(), strict=True)
        for i, kind in enumerate(("overdue", "due"))
    ]
    return {
        "$schema": SCHEMA,
        "data": {"values": values},
        "height": {"step": 30},  # a number squeezes nominal bands in Streamlit's container
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "name",
                "type": "nominal",
                "sort": names,
                "title": None,
                "axis": {"labelOverlap": False, "labelLimit": 160},
            },
            "x": {"field": "n", "type": "quantitative", "stack": True, "title": axis},
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": None,
                "scale": {"domain": [labels["overdue"], labels["due"]], "range": [RED, AMBER]},
                "legend": {"orient": "top"},
            },
            "order": {"field": "order"},
            "tooltip": [
                {"field": "name", "type": "nominal"},
                {"field": "kind", "type": "nominal"},
                {"field": "n", "type": "quantitative"},
            ],
        },
    }


def funnel_spec(stages: list[tuple[str, float | None]], *, title: str) -> dict:
    """The funnel as centred bars, widest (N) on top; stages without a value are left out."""
    values = [
        {"stage": name, "n": v, "left": -v / 2, "right": v / 2, "text": f"{v:,.0f}"}
        for name, value in stages
        if (v := _num(value)) is not None
    ]
    order = [v["stage"] for v in values]
    y = {
        "field": "stage",
        "type": "nominal",
        "sort": order,
        "title": None,
        "axis": {"labelLimit": 220},
    }
    return {
        "$schema": SCHEMA,
        "title": title,
        "data": {"values": values},
        "height": {"step": 40},
        "layer": [
            {
                "mark": {"type": "bar", "color": BLUE},
                "encoding": {
                    "y": y,
                    "x": {"field": "left", "type": "quantitative", "axis": None},
                    "x2": {"field": "right"},
                    "tooltip": [
                        {"field": "stage", "type": "nominal"},
                        {"field": "n", "type": "quantitative", "format": ","},
                    ],
                },
            },
            {
                "mark": {"type": "text", "color": "white", "fontWeight": "bold"},
                "encoding": {
                    "y": y,
                    "x": {"datum": 0, "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
    }


def lever_spec(
    rows: pd.DataFrame, median: dict, *, indicators: dict[str, str], order: list[str]
) -> dict | None:
    """Bars of K, F and C per row with the median row as a dashed rule; the weakest lever in red.

    ``indicators`` maps ``K``/``F``/``C`` to their axis titles; ``order``
    gives the rows' labels top to bottom. None when nothing can be drawn.
    """
    panels = []
    for ind, title in indicators.items():
        values = [
            {"row": r.label, "value": v, "weak": r.best_lever == ind}
            for r in rows.itertuples(index=False)
            if (v := _num(getattr(r, ind))) is not None
        ]
        if not values:
            continue
        layer = [
            {
                "data": {"values": values},
                "mark": {"type": "bar"},
                "encoding": {
                    "y": {
                        "field": "row",
                        "type": "nominal",
                        "sort": order,
                        "title": None,
                        "axis": {"labelOverlap": False, "labelLimit": 200},
                    },
                    "x": {
                        "field": "value",
                        "type": "quantitative",
                        "axis": {"format": "%"},
                        "title": title,
                    },
                    "color": {
                        "condition": {"test": "datum.weak", "value": RED},
                        "value": BLUE,
                    },
                    "tooltip": [
                        {"field": "row", "type": "nominal"},
                        {"field": "value", "type": "quantitative", "format": ".0%"},
                    ],
                },
            }
        ]
        if _num(median.get(ind)) is not None:
            layer.append(
                {
                    "data": {"values": [{"median": _num(median[ind])}]},
                    "mark": {"type": "rule", "strokeDash": [4, 3], "color": "black"},
                    "encoding": {"x": {"field": "median", "type": "quantitative"}},
                }
            )
        panels.append({"width": 200, "height": {"step": 26}, "layer": layer})
    if not panels:
        return None
    return {"$schema": SCHEMA, "hconcat": panels}


def pyramid_spec(table: pd.DataFrame, *, title: str, needed: str, have: str) -> dict:
    """Seed 002's pyramid: what each grade needs (pale, centred) and what is open today (dark)."""
    values = [
        {
            "grade": r.grade,
            "needed": int(r.needed),
            "have": int(r.have),
            "left": -r.needed / 2,
            "right": r.needed / 2,
            "have_left": -r.have / 2,
            "have_right": r.have / 2,
        }
        for r in table.itertuples(index=False)
    ]
    order = [v["grade"] for v in values]
    y = {"field": "grade", "type": "nominal", "sort": order, "title": None}
    tooltip = [
        {"field": "grade", "type": "nominal"},
        {"field": "needed", "type": "quantitative", "format": ",", "title": needed},
        {"field": "have", "type": "quantitative", "format": ",", "title": have},
    ]
    return {
        "$schema": SCHEMA,
        "title": title,
        "data": {"values": values},
        "height": {"step": 44},
        "layer": [
            {
                "mark": {"type": "bar", "color": PALE},
                "encoding": {
                    "y": y,
                    "x": {"field": "left", "type": "quantitative", "axis": None},
                    "x2": {"field": "right"},
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "bar", "color": BLUE, "height": 14},
                "encoding": {
                    "y": y,
                    "x": {"field": "have_left", "type": "quantitative"},
                    "x2": {"field": "have_right"},
                    "tooltip": tooltip,
                },
            },
        ],
    }

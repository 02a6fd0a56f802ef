"""Charts of the Review page (活动复盘) as plain Vega-Lite specs, like :mod:`territory.render.lead_charts`.

Every label comes from the caller (already in the user's language).

Examples
--------
>>> weeks = [{"week": 1, "leads": 4, "followed_on_time": 1, "visits": 0, "deposits": 0,
...           "sales": 0}, {"week": 2, "leads": 0, "followed_on_time": 2, "visits": 1,
...           "deposits": 1, "sales": 1}]
>>> spec = weeks_spec(weeks, labels={k: k for k in WEEK_FIGURES}, week_label="W{n}", axis="n")
>>> len(spec["data"]["values"]), spec["mark"]["type"]
(10, 'bar')
"""

from __future__ import annotations

from territory.render.lead_charts import AMBER, BLUE, PALE, RED, SCHEMA

__all__ = ["WEEK_FIGURES", "month_spec", "weeks_spec"]

#: The per-week figures charted, in order.
WEEK_FIGURES: tuple[str, ...] = ("leads", "followed_on_time", "visits", "deposits", "sales")
_COLOURS = (PALE, BLUE, AMBER, "#6a994e", RED)


def weeks_spec(weeks: list[dict], *, labels: dict[str, str], week_label: str, axis: str) -> dict:
    """Grouped bars: each week's leads, followed on time, visits, deposits and sales."""
    names = [week_label.format(n=w["week"]) for w in weeks]
    values = [
        {"week": name, "figure": labels[f], "n": int(w[f]), "order": i}
        for name, w in zip(names, weeks, strict=True)
        for i, f in enumerate(WEEK_FIGURES)
    ]
    return {
        "$schema": SCHEMA,
        "data": {"values": values},
        "height": 220,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "week", "type": "nominal", "sort": names, "title": None},
            "xOffset": {"field": "figure", "sort": [labels[f] for f in WEEK_FIGURES]},
            "y": {"field": "n", "type": "quantitative", "title": axis},
            "color": {
                "field": "figure",
                "type": "nominal",
                "title": None,
                "scale": {"domain": [labels[f] for f in WEEK_FIGURES], "range": list(_COLOURS)},
                "legend": {"orient": "top"},
            },
            "tooltip": [
                {"field": "week", "type": "nominal"},
                {"field": "figure", "type": "nominal"},
                {"field": "n", "type": "quantitative"},
            ],
        },
    }


def month_spec(rows: list[dict], *, actual: str, target: str, axis: str) -> dict:
    """Per outing of a month: actual leads as bars, the target as a tick."""
    values = [
        {
            "event": f"{r['event_id']} {r.get('format_label') or ''}".strip(),
            "actual": int(r["leads"]),
            "target": r["targets"].get("leads"),
        }
        for r in rows
    ]
    order = [v["event"] for v in values]
    x = {"field": "event", "type": "nominal", "sort": order, "title": None}
    return {
        "$schema": SCHEMA,
        "data": {"values": values},
        "height": 220,
        "layer": [
            {
                "mark": {"type": "bar", "color": BLUE},
                "encoding": {
                    "x": x,
                    "y": {"field": "actual", "type": "quantitative", "title": axis},
                    "tooltip": [
                        {"field": "event", "type": "nominal"},
                        {"field": "actual", "type": "quantitative", "title": actual},
                        {"field": "target", "type": "quantitative", "title": target},
                    ],
                },
            },
            {
                "mark": {"type": "tick", "color": RED, "thickness": 3},
                "encoding": {"x": x, "y": {"field": "target", "type": "quantitative"}},
            },
        ],
    }

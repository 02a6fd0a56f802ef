"""territory.render._payloads: typed layer payloads, escaped on the way in, in step with the JS."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from territory.render import _payloads as pl

RUNTIME = (
    Path(__file__).resolve().parent.parent / "territory" / "static" / "map" / "territory-map.js"
)
EVIL = "<img src=x onerror=alert(1)>"


def js_typedefs() -> dict[str, list[str]]:
    """``@typedef {Object} Name`` blocks of the runtime and their ``@property`` names, in order."""
    text = RUNTIME.read_text(encoding="utf-8")
    out = {}
    for block in re.findall(r"/\*\*(.*?)\*/", text, re.S):
        name = re.search(r"@typedef \{Object\} (\w+)", block)
        if name:
            out[name.group(1)] = re.findall(r"@property \{[^}]*\} (\w+)", block)
    return out


@pytest.mark.parametrize(
    ("typedef", "cls"),
    [
        ("CardRow", pl.CardRow),
        ("CardAction", pl.CardAction),
        ("Card", pl.Card),
        ("Style", pl.Style),
        ("PolygonLayer", pl.PolygonLayer),
        ("DotLayer", pl.DotLayer),
        ("LabelLayer", pl.LabelLayer),
        ("SiteLayer", pl.SiteLayer),
        ("DealerLayer", pl.DealerLayer),
        ("LegendItem", pl.LegendItem),
        ("Legend", pl.Legend),
    ],
)
def test_python_payloads_and_js_typedefs_name_the_same_fields(typedef, cls):
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(js_typedefs()[typedef]) == fields


def test_every_layer_kind_has_a_js_builder():
    text = RUNTIME.read_text(encoding="utf-8")
    for cls in (pl.ShapesLayer, pl.PolygonLayer, pl.DotLayer, pl.LabelLayer, pl.SiteLayer):
        assert f"T.kinds.{cls.kind} = function" in text, cls.kind
    assert "T.kinds.dealer = function" in text and "T.legend = function" in text


def test_builders_escape_every_text():
    card = pl.card(
        title="name",
        rows=[pl.CardRow(EVIL, "pop", unit=EVIL), pl.CardRow("区县", "d", "text", lookup=True)],
        lookups={"d": [EVIL]},
        actions=[pl.CardAction("set_site", EVIL)],
        id="zone_id",
    )
    layer = pl.shapes_layer(
        geometry=[[["_p~iF~ps|U"]]],
        precision=5,
        palette=["#ffffff"],
        style={"stroke": "#000000", "weight": 1},
        properties={"name": [EVIL], "pop": [3], "d": [0], "zone_id": ["z1"]},
        card=card,
        tooltip="name",
    )
    text = pl.json_for_script(layer)
    assert EVIL not in text and "onerror=" not in text and "<" not in text
    data = json.loads(text)
    assert data["properties"]["name"] == [pl.safe_text(EVIL)]
    assert data["properties"]["pop"] == [3]  # numbers stay numbers
    assert data["card"]["rows"][0]["label"] == pl.safe_text(EVIL)
    assert data["card"]["actions"][0] == {"action": "set_site", "label": pl.safe_text(EVIL)}
    legend = pl.legend(title=EVIL, items=[("#123456", EVIL, "dot")], note=EVIL)
    assert EVIL not in pl.json_for_script(legend)
    label_layer = pl.labels_layer(points="", precision=5, texts=["13812341234 店"])
    assert label_layer.texts == ["138****1234 店"]


def test_builders_refuse_what_would_break_the_page():
    with pytest.raises(ValueError, match="not a colour"):
        pl.dots_layer(points="", precision=5, palette=["red;x:1"], style={})
    with pytest.raises(ValueError, match="unknown style keys"):
        pl.dots_layer(points="", precision=5, palette=["#ffffff"], style={"colour": "#000000"})
    with pytest.raises(ValueError, match="not a code"):
        pl.card(title="name'", rows=[])
    with pytest.raises(ValueError, match="needs id="):
        pl.card(title="name", rows=[], actions=[pl.CardAction("set_site", "x")])
    with pytest.raises(ValueError, match="2 classes for 1 features"):
        pl.polygons_layer(geometry=[[]], precision=5, palette=["#ffffff"], style={}, classes=[0, 1])
    with pytest.raises(ValueError, match="legend position"):
        pl.legend(title="x", items=[], position="middle")


def test_to_js_survives_quotes_backslashes_and_jinja():
    layer = pl.labels_layer(points="a\\b'{{c", precision=5, texts=["{% x %}"])
    expression = pl.to_js(layer)
    assert (
        expression.startswith("JSON.parse('") and "{{" not in expression and "{%" not in expression
    )
    literal = expression[len("JSON.parse('") : -2]
    decoded = json.loads(re.sub(r"\\(.)", r"\1", literal))
    assert decoded["points"] == "a\\b'{{c"

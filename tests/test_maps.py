"""territory.render.maps and territory.render.export_html: compact, escaped, CDN-free maps."""

from __future__ import annotations

import copy
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import make_workspace, zones_geojson
from shapely.geometry import Polygon, box

from territory.analysis.zones import analyse
from territory.inputs.coords import from_wgs84
from territory.inputs.workspace import load_workspace
from territory.leads.coverage import choropleth_frames, coverage_table
from territory.privacy import PHONE_PATTERN
from territory.render import maps
from territory.render.assets import linked_assets, localise
from territory.render.export_html import ExportError, check_export_html, map_html, write_map_html

EVIL = "<img src=x onerror=alert(1)>"
TEMPLATE = "${alert(2)}`{{7*7}}"


def decode_polyline(text: str, precision: int = 5) -> list[tuple[float, float]]:
    """Reference decoder (Google's algorithm) for the tests."""
    points, index, lat, lng = [], 0, 0, 0
    while index < len(text):
        values = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[index]) - 63
                index += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            values.append(~(result >> 1) if result & 1 else result >> 1)
        lat += values[0]
        lng += values[1]
        points.append((lat / 10**precision, lng / 10**precision))
    return points


def payloads(html: str, kind: str) -> list[dict]:
    """The JSON payloads of every ``territory.layer('<kind>', JSON.parse('...'))`` in a rendered map."""
    out = []
    for match in re.finditer(rf"territory\.layer\('{kind}', JSON\.parse\('(.*?)'\)\);", html):
        text = re.sub(r"\\(.)", r"\1", match.group(1))  # the JavaScript string's escapes
        out.append(json.loads(text))
    return out


def tiny_zones(name: str = "玉林街道") -> gpd.GeoDataFrame:
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["z1", "z2"],
            "name": [name, "春熙路"],
            "district": ["武侯区", "锦江区"],
            "zone_type": ["residential", "commercial"],
            "population": [42_000, 30_000],
            "income": [40_000.0, 60_000.0],
            "phone_column": ["13812341234", "13900001111"],
            "r_value": [3.0, 2.0],
            "density": [12_000.0, 9_000.0],
            "customers": [80, 12],
            "expected_customers": [95.0, np.nan],
            "whitespace_score": [0.9, np.nan],
        },
        geometry=[box(104.00, 30.60, 104.02, 30.62), box(104.02, 30.60, 104.04, 30.62)],
        crs=4326,
    )
    return zones


def test_safe_text_escapes_markup_templates_and_phones():
    assert maps.safe_text(EVIL) == "&lt;img src&#61;x onerror&#61;alert(1)&gt;"
    assert maps.safe_text(TEMPLATE) == "&#36;&#123;alert(2)&#125;&#96;&#123;&#123;7*7&#125;&#125;"
    assert maps.safe_text("小区 13812341234 门口") == "小区 138****1234 门口"
    assert maps.safe_text(None) == "" and maps.safe_text(pd.NA) == "" and maps.safe_text(3) == "3"


def test_polyline_round_trip_and_alphabet():
    rng = np.random.default_rng(1)
    lat = 30.6 + rng.normal(0, 0.2, 200)
    lon = 104.0 + rng.normal(0, 0.2, 200)
    text = maps.encode_polyline(lat, lon)
    decoded = np.array(decode_polyline(text))
    assert np.abs(decoded[:, 0] - lat).max() <= 0.5e-5 + 1e-12
    assert np.abs(decoded[:, 1] - lon).max() <= 0.5e-5 + 1e-12
    assert set(text) <= {chr(c) for c in range(63, 127)}


def test_zone_layer_embeds_only_whitelisted_escaped_columns():
    m = maps.base_map(lon=104.02, lat=30.61, tiles="none")
    maps.add_zones(m, tiny_zones(EVIL + TEMPLATE), colour_by="r_value")
    html = maps.finish_map(m).get_root().render()
    assert EVIL not in html and "onerror=" not in html.replace("i.onerror=", "")
    assert "${alert" not in html and "`{{7" not in html
    assert "phone_column" not in html and "13812341234" not in html and "13900001111" not in html
    (payload,) = payloads(html, "shapes")
    assert set(payload["properties"]) == {
        "name",
        "district",
        "type",
        "pop",
        "density",
        "income",
        "r",
        "customers",
        "expected",
        "ws",
        "formats",
    }
    assert payload["properties"]["name"][0] == maps.safe_text(EVIL + TEMPLATE)
    assert payload["properties"]["expected"] == [95, None]
    # R = 3.0 is at the target: the middle of the five bands; R = 2.0 is below.
    assert payload["classes"] == [2, 0]
    ring = decode_polyline(payload["geometry"][0][0][0])
    assert min(p[0] for p in ring) == pytest.approx(30.60) and max(
        p[1] for p in ring
    ) == pytest.approx(104.02)


def test_amap_tiles_shift_every_layer_to_gcj02():
    zones = tiny_zones()
    plain = maps.base_map(lon=104.02, lat=30.61, tiles="none")
    amap = maps.base_map(lon=104.02, lat=30.61, tiles="amap")
    for m in (plain, amap):
        maps.add_zones(m, zones)
        maps.add_dealer(m, lon=104.03, lat=30.61, name="店")
        maps.add_sites(
            m,
            pd.DataFrame(
                {
                    "rank": [1],
                    "name": ["玉林"],
                    "district": ["武侯区"],
                    "zone_type": ["residential"],
                    "formats": [["evening_display"]],
                    "time_slots": [["周六"]],
                    "expected_leads": [40.0],
                    "estimated_cost": [3000.0],
                    "score": [0.5],
                    "lon": [104.01],
                    "lat": [30.61],
                }
            ),
        )
    html_plain, html_amap = plain.get_root().render(), amap.get_root().render()
    assert "autonavi.com" in html_amap and "autonavi.com" not in html_plain
    first = [
        decode_polyline(payloads(h, "shapes")[0]["geometry"][0][0][0])[0]
        for h in (html_plain, html_amap)
    ]
    gx, gy = from_wgs84(first[0][1], first[0][0], "gcj02")
    assert first[1] == pytest.approx((gy, gx), abs=1e-5)
    assert abs(first[1][1] - first[0][1]) > 1e-3  # the shift is hundreds of metres
    dealers = [payloads(h, "dealer")[0] for h in (html_plain, html_amap)]
    dx, dy = from_wgs84(104.03, 30.61, "gcj02")
    assert (dealers[0]["lng"], dealers[0]["lat"]) == (104.03, 30.61)
    assert (dealers[1]["lng"], dealers[1]["lat"]) == pytest.approx((dx, dy), abs=1e-6)
    sites = [decode_polyline(payloads(h, "sites")[0]["points"])[0] for h in (html_plain, html_amap)]
    sx, sy = from_wgs84(104.01, 30.61, "gcj02")
    assert sites[1] == pytest.approx((sy, sx), abs=1e-5)


def test_hex_counts_aggregate_and_coarsen():
    lon = np.r_[np.full(5, 104.06), np.full(3, 104.2), np.nan]
    lat = np.r_[np.full(5, 30.66), np.full(3, 30.7), 30.0]
    frame = maps.hex_counts(lon, lat)
    assert frame["count"].tolist() == [5, 3] and frame.attrs["resolution"] == 9
    rng = np.random.default_rng(0)
    many = maps.hex_counts(
        104 + rng.normal(0, 0.1, 20_000), 30.6 + rng.normal(0, 0.1, 20_000), max_cells=200
    )
    assert len(many) <= 200 and many["count"].sum() == 20_000 and many.attrs["resolution"] < 9


def test_customers_never_reach_the_map_one_by_one(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    analysis = analyse(ws)
    m = maps.environment_map(ws, analysis, cards=True, pois=True, customer_style="hexagons")
    html = m.get_root().render()
    assert "张三" not in html and "13812341234" not in html and "007" not in html
    heat = maps.environment_map(ws, analysis, customer_style="heat").get_root().render()
    assert "leaflet-heat" in heat or "leaflet_heat" in heat
    with pytest.raises(ValueError, match="unknown customer style"):
        maps.add_customers(
            maps.base_map(lon=104, lat=30.6), maps.hex_counts([104], [30.6]), style="dots"
        )


def test_maps_link_only_leaflet_and_localise_to_vendored_files(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    m = maps.environment_map(ws, analyse(ws), customer_style="heat")
    links = linked_assets(m)
    assert {link.split("/")[-1] for link in links} == {
        "leaflet.js",
        "leaflet.css",
        "leaflet_heat.min.js",
        "territory-map.js",
        "territory-map.css",
    }
    html = localise(m, base_url="/static/").get_root().render()
    assert not re.search(r"(src|href)=\"https?://", html)
    with pytest.raises(ValueError, match="unknown tiles"):
        maps.base_map(lon=104, lat=30.6, tiles="google")
    with pytest.raises(ValueError, match="unknown colour_by"):
        maps.add_zones(maps.base_map(lon=104, lat=30.6), tiny_zones(), colour_by="mood")


def test_choropleth_map_of_coverage(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    table = coverage_table(ws.zones, ws.customers, ws.cards)
    frame = choropleth_frames(ws.zones, table)
    html = maps.choropleth_map(frame, "deposit_rate", lon=104.03, lat=30.61).get_root().render()
    (payload,) = payloads(html, "polygons")
    assert payload["properties"]["name"] == [maps.safe_text(v) for v in frame["label"]]
    with pytest.raises(ValueError, match="unknown coverage column"):
        maps.choropleth_map(frame, "customers", lon=104.03, lat=30.61)


def test_html_export_is_self_contained_and_escaped(tmp_path):
    zones = copy.deepcopy(zones_geojson())  # the fixture shares its property dicts
    zones["features"][0]["properties"]["name"] = EVIL
    zones["features"][1]["properties"]["name"] = TEMPLATE
    zones["features"][2]["properties"]["name"] = "<script>alert(3)</script> 13812345678"
    ws = load_workspace(make_workspace(tmp_path / "ws", zones=zones), use_store=False)
    m = maps.environment_map(ws, analyse(ws), colour_by="whitespace_score", cards=True)
    path = write_map_html(m, tmp_path / "map.html", title="店 <b>13812341234</b>")
    html = path.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link " not in html
    for raw in (EVIL, "onerror=alert", "${alert", "<script>alert", "{{7*7}}", "`{{"):
        assert raw not in html
    assert not PHONE_PATTERN.search(html)
    assert "<title>店 &lt;b&gt;138****1234&lt;/b&gt;</title>" in html
    assert len(html.encode()) < 1_000_000  # Leaflet only: a bare folium export is about 1.4 MB


def test_rendering_again_keeps_the_same_scripts(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    m = maps.environment_map(ws, analyse(ws), cards=True)
    first = m.get_root().render()
    maps.stable_ids(m)
    second = m.get_root().render()
    assert first == second  # same names, so the second render replaced the first's scripts
    assert second.count("var map_") == 1 and second.count("L.control.layers(") == 1
    assert not re.search(r"_[0-9a-f]{32}", second)  # no random folium ids left


def test_export_refuses_phone_numbers():
    with pytest.raises(ExportError, match="phone number"):
        check_export_html("<p>13812341234</p>")
    check_export_html("<p>1381234123</p>")


def test_demo_environment_map_stays_small(demo_ws):
    ws, analysis = demo_ws
    m = maps.environment_map(ws, analysis, colour_by="density_tier", cards=True, pois=True)
    html = localise(m, base_url="../static/").get_root().render()
    assert len(html.encode()) < 3_000_000
    assert not PHONE_PATTERN.search(map_html(m))
    zones = payloads(html, "shapes")[0]
    assert len(zones["geometry"]) == len(ws.zones)


@pytest.fixture(scope="module")
def demo_ws():
    from territory.inputs.demo import demo_path

    ws = load_workspace(demo_path(), use_store=False)
    return ws, analyse(ws)


def test_polygons_with_holes_and_multipolygons_are_encoded():
    outer = [(104.0, 30.6), (104.1, 30.6), (104.1, 30.7), (104.0, 30.7)]
    hole = [(104.03, 30.63), (104.06, 30.63), (104.06, 30.66), (104.03, 30.66)]
    from shapely.geometry import MultiPolygon

    geoms = gpd.GeoSeries(
        [
            Polygon(outer, [hole]),
            MultiPolygon([box(104.2, 30.6, 104.21, 30.61), box(104.3, 30.6, 104.31, 30.61)]),
        ],
        crs=4326,
    )
    m = maps.base_map(lon=104.1, lat=30.65)
    encoded = maps._encode_geoms(m, geoms)
    assert [len(p) for p in encoded[0]] == [2]  # one polygon, outer ring + hole
    assert len(encoded[1]) == 2  # two polygons

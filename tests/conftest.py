"""Shared fixtures: tiny literal workspaces near Chengdu."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Tests never reach a tile server on the internet: an "auto" basemap means none here. The
# basemap tests start a local tile server and clear this for the app they start.
os.environ.setdefault("TERRITORY_OFFLINE", "1")

#: Four 0.02° squares (about 2 km) in a row, west to east, in WGS-84.
X0, Y0, D = 104.00, 30.60, 0.02


def square(i: int, j: int = 0) -> list[list[list[float]]]:
    x, y = X0 + i * D, Y0 + j * D
    return [[[x, y], [x + D, y], [x + D, y + D], [x, y + D], [x, y]]]


ZONES = [
    {
        "zone_id": "001",
        "name": "玉林街道",
        "district": "武侯区",
        "zone_type": "residential",
        "population": 42000,
        "income": 40000,
    },
    {
        "zone_id": "002",
        "name": "春熙路街道",
        "district": "锦江区",
        "zone_type": "commercial",
        "population": 30000,
        "income": 60000,
    },
    {
        "zone_id": "003",
        "name": "高新园区",
        "district": "武侯区",
        "zone_type": "enterprise",
        "population": 10000,
        "income": 50000,
    },
    {
        "zone_id": "004",
        "name": "华阳镇",
        "district": "双流区",
        "zone_type": "township",
        "population": 20000,
        "income": 30000,
    },
]

DEALER = """name = "测试 4S 店"
lon = 104.03
lat = 30.61
coord_sys = "wgs84"
radius_km = 15
[[models]]
name = "家轿 A"
price = 120000
"""


def zones_geojson(zones=None, *, crs: bool = True) -> dict:
    zones = ZONES if zones is None else zones
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": z,
                "geometry": {"type": "Polygon", "coordinates": square(i)},
            }
            for i, z in enumerate(zones)
        ],
    }
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    return doc


def centre(i: int) -> tuple[float, float]:
    return X0 + i * D + D / 2, Y0 + D / 2


def make_workspace(
    root: Path,
    *,
    customers: str | None = None,
    cards: str | None = None,
    events: str | None = None,
    pois: str | None = None,
    dealer: str = DEALER,
    zones: dict | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dealer.toml").write_text(dealer, encoding="utf-8")
    (root / "zones.geojson").write_text(
        json.dumps(zones or zones_geojson(), ensure_ascii=False), encoding="utf-8"
    )
    if customers is None:
        (x0, y0), (x1, y1) = centre(0), centre(1)
        customers = (
            "customer_id,name,phone,model,purchase_date,age,gender,occupation,lon,lat\n"
            f"007,张三,13812341234,家轿 A,2025-03-01,32,男,教师,{x0},{y0}\n"
            f"008,李四,13900001111,家轿 A,2024/7/9,45,女,医生,{x1},{y1}\n"
        )
    (root / "customers.csv").write_text(customers, encoding="utf-8")
    if cards is not None:
        (root / "cards.csv").write_text(cards, encoding="utf-8")
    if events is not None:
        (root / "events.csv").write_text(events, encoding="utf-8")
    if pois is not None:
        (root / "pois.csv").write_text(pois, encoding="utf-8")
    return root


@pytest.fixture
def tiny_ws(tmp_path: Path) -> Path:
    """A valid four-zone workspace with two customers."""
    x, y = centre(2)
    return make_workspace(
        tmp_path / "ws",
        cards=f"card_id,card_type,date,grade,status,lon,lat\nK1,A卡,2026-05-01,H,open,{x},{y}\nK2,订金,2026-05-03,A,won,{x},{y}\n",
        events="event_id,date,zone_id,format,cost,leads,sales\nE1,2026-04-04,001,evening_display,2000,80,6\n",
    )

"""A tiny literal dealer network on a grid: three dealers, 24 zones, a gap in the east.

Used by the tests, the doctests and the app's tests; every number is written
out or follows from a formula below (no random draws), so a reader can work
the expected results out by hand. All of it is **synthetic**.

Layout (columns x = 0..7 west to east, rows y = 0..2 south to north; each
zone a 0.04° square, about 3.8 km × 4.4 km, near 104.0°E 30.6°N)::

    y=2  .  .  .  .  .  .  .  .
    y=1  D1 .  D2 .  D3 .  .  .
    y=0  .  .  .  .  .  .  .  .
         x=0 1  2  3  4  5  6  7

The dealers sit on the middle row at x = 0.5, 2.7 and 4.8 zone widths from the
west edge, with a reach of 6 km: each looks after two columns, and columns 6
and 7 are beyond every dealer (the gap). Existing customers
live in the zones dealers reach, thinning with distance to their dealer;
nobody has customers in columns 6 and 7, though they are as populous.

Examples
--------
>>> len(ZONES), len(DEALERS), sum(1 for c in CUSTOMERS if c["dealer_id"] == "D1") > 30
(24, 3, True)
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

__all__ = [
    "CARDS",
    "COLS",
    "CUSTOMERS",
    "DEALERS",
    "EVENTS",
    "NETWORK_TOML",
    "ROWS",
    "ZONES",
    "D",
    "square",
    "write_grid_network",
    "write_table",
]

X0, Y0, D = 104.0, 30.6, 0.04
COLS, ROWS = 8, 3
PRICE = 120_000
RADIUS_KM = 6.0

NETWORK_TOML = """name = "网格示例经销商网络（合成数据）"
target_r = 3.0
language = "zh"
coord_sys = "wgs84"

[settings.network]
sites_per_dealer = 2
gap_outlets = 2
outlet_radius_km = 6.0
"""


def square(i: int, j: int) -> list[list[list[float]]]:
    """The ring of zone (i, j) as GeoJSON coordinates."""
    x, y = X0 + i * D, Y0 + j * D
    return [[[x, y], [x + D, y], [x + D, y + D], [x, y + D], [x, y]]]


def _centre(i: int, j: int) -> tuple[float, float]:
    return X0 + (i + 0.5) * D, Y0 + (j + 0.5) * D


_TYPES = ("residential", "commercial", "township", "enterprise", "residential", "market")
_DISTRICTS = ("西区", "西区", "西区", "中区", "中区", "中区", "东区", "东区")

ZONES: list[dict] = [
    {
        "zone_id": f"G{i}{j}",
        "name": f"网格{i}-{j}",
        "district": _DISTRICTS[i],
        "zone_type": _TYPES[(i + 2 * j) % len(_TYPES)],
        "population": 20_000 + 3_000 * ((7 * i + 3 * j) % 5),
        "income": 40_000 + 5_000 * ((i + j) % 3),
        "synthetic": "true",
        "_ij": (i, j),
    }
    for j in range(ROWS)
    for i in range(COLS)
]

DEALERS: list[dict] = [
    {
        "dealer_id": f"D{k + 1}",
        "name": name,
        "brand": "示例品牌",
        "lon": round(X0 + x * D, 6),
        "lat": round(_centre(0, 1)[1], 6),
        "coord_sys": "wgs84",
        "radius_km": RADIUS_KM,
        "model": "家轿 A",
        "price": PRICE,
    }
    for k, (x, name) in enumerate(((0.5, "西城 4S 店"), (2.7, "中城 4S 店"), (4.8, "东城 4S 店")))
]

#: The dealer whose customers live in each reached column (by distance to the dealers).
_OWNER_OF_COLUMN = {0: "D1", 1: "D1", 2: "D2", 3: "D2", 4: "D3", 5: "D3"}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111.32 * math.cos(math.radians(30.66))
    dy = (a[1] - b[1]) * 110.57
    return math.hypot(dx, dy)


def _customers() -> list[dict]:
    rows: list[dict] = []
    dealer_at = {d["dealer_id"]: (d["lon"], d["lat"]) for d in DEALERS}
    k = 0
    for zone in ZONES:
        i, j = zone["_ij"]
        owner = _OWNER_OF_COLUMN.get(i)
        if owner is None:
            continue  # columns 6 and 7: no dealer reaches them, nobody bought there
        km = _km(_centre(i, j), dealer_at[owner])
        # A known model: 3 customers per 1,000 people at the showroom, halving every 4 km;
        # the zone type shifts it a little (commercial districts buy more).
        boost = {"commercial": 1.3, "enterprise": 0.8}.get(zone["zone_type"], 1.0)
        n = round(zone["population"] * 0.003 * 0.5 ** (km / 4.0) * boost)
        x0, y0 = X0 + i * D, Y0 + j * D
        for m in range(n):
            fx = 0.1 + 0.8 * ((m * 0.6180339887) % 1)
            fy = 0.1 + 0.8 * ((m * 0.7548776662 + 0.37) % 1)
            rows.append(
                {
                    "customer_id": f"C{k:05d}",
                    "dealer_id": owner,
                    "name": f"客户{k}",
                    "phone": f"138{k:08d}",
                    "model": "家轿 A",
                    "purchase_date": f"2024-{1 + m % 12:02d}-{1 + m % 28:02d}",
                    "age": 28 + (m * 7) % 20,
                    "gender": "男" if m % 3 else "女",
                    "lon": round(x0 + fx * D, 6),
                    "lat": round(y0 + fy * D, 6),
                }
            )
            k += 1
    # One of 中城's customers lives in 西城's area (bought in town, lives out west).
    x, y = _centre(1, 0)
    rows.append(
        {
            "customer_id": f"C{k:05d}",
            "dealer_id": "D2",
            "name": "客户外区",
            "phone": "13900000000",
            "model": "家轿 A",
            "purchase_date": "2024-06-01",
            "age": 35,
            "gender": "男",
            "lon": round(x + 0.003, 6),
            "lat": round(y + 0.004, 6),
        }
    )
    return rows


def _cards(customers: list[dict]) -> list[dict]:
    rows: list[dict] = []
    k = 0
    for zone in ZONES:
        i, j = zone["_ij"]
        owner = _OWNER_OF_COLUMN.get(i)
        if owner is None:
            continue
        n_a = 4 + (3 * i + j) % 5
        # 中城 (D2) follows up badly: few deposits for its A-cards.
        n_d = 0 if owner == "D2" else max(1, n_a // 2)
        x, y = _centre(i, j)
        for m in range(n_a + n_d):
            kind = "A" if m < n_a else "deposit"
            rows.append(
                {
                    "card_id": f"K{k:05d}",
                    "dealer_id": owner,
                    "card_type": kind,
                    "date": f"2025-09-{1 + (m * 3) % 28:02d}",
                    "grade": "HABC"[m % 4],
                    "status": "open",
                    "lon": round(x + 0.002 * ((m % 5) - 2), 6),
                    "lat": round(y + 0.002 * ((m % 3) - 1), 6),
                }
            )
            k += 1
    return rows


def _events() -> list[dict]:
    rows = []
    for k, (dealer, zone, fmt, cost, leads, sales) in enumerate(
        (
            ("D1", "G10", "midday_display", 3000, 25, 2),
            ("D1", "G01", "flyers", 2000, 40, 3),
            ("D2", "G21", "flyers", 2500, 30, 1),
            ("D3", "G40", "midday_display", 3500, 20, 2),
        )
    ):
        rows.append(
            {
                "event_id": f"E{k + 1}",
                "dealer_id": dealer,
                "date": f"2025-10-{4 + 7 * k:02d}",
                "zone_id": zone,
                "format": fmt,
                "cost": cost,
                "leads": leads,
                "sales": sales,
            }
        )
    return rows


CUSTOMERS: list[dict] = _customers()
CARDS: list[dict] = _cards(CUSTOMERS)
EVENTS: list[dict] = _events()


def write_table(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` (dicts with the same keys) as a UTF-8 CSV file."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def zones_geojson(zone_ids: set[str] | None = None) -> dict:
    """The zones (all, or those in ``zone_ids``) as a GeoJSON document."""
    features = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in z.items() if not k.startswith("_")},
            "geometry": {"type": "Polygon", "coordinates": square(*z["_ij"])},
        }
        for z in ZONES
        if zone_ids is None or z["zone_id"] in zone_ids
    ]
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }


def write_grid_network(folder: Path | str) -> Path:
    """Write the grid network (network.toml, dealers, zones, customers, cards, events)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.toml").write_text(NETWORK_TOML, encoding="utf-8")
    write_table(folder / "dealers.csv", DEALERS)
    (folder / "zones.geojson").write_text(
        json.dumps(zones_geojson(), ensure_ascii=False), encoding="utf-8"
    )
    write_table(folder / "customers.csv", CUSTOMERS)
    write_table(folder / "cards.csv", CARDS)
    write_table(folder / "events.csv", EVENTS)
    return folder

"""Loading a workspace: every file format, every validation case."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DEALER, ZONES, centre, make_workspace, square, zones_geojson
from shapely.geometry import Polygon, shape

from territory._errors import LayerError
from territory.inputs import coords
from territory.inputs.workspace import WorkspaceError, read_sources


def problems_of(exc: pytest.ExceptionInfo) -> list:
    return exc.value.problems


def codes(exc: pytest.ExceptionInfo) -> set[str]:
    return {p.key for p in exc.value.problems}


def zones_gdf() -> gpd.GeoDataFrame:
    feats = zones_geojson()["features"]
    return gpd.GeoDataFrame(
        [f["properties"] for f in feats],
        geometry=[shape(f["geometry"]) for f in feats],
        crs="EPSG:4326",
    )


# ------------------------------------------------------------------ the happy path


def test_tiny_workspace_loads_with_typed_columns(tiny_ws):
    ws = read_sources(tiny_ws)
    assert len(ws.zones) == 4
    assert ws.zones["zone_id"].tolist() == ["001", "002", "003", "004"]  # leading zeros kept
    assert ws.zones["population"].dtype == "int64"
    assert ws.customers["customer_id"].tolist() == ["007", "008"]
    assert ws.customers["phone"].tolist() == ["13812341234", "13900001111"]
    assert ws.customers["zone_id"].tolist() == ["001", "002"]
    assert ws.customers["district"].tolist() == ["武侯区", "锦江区"]
    assert ws.customers["gender"].tolist() == ["male", "female"]
    assert ws.customers["purchase_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-03-01",
        "2024-07-09",
    ]
    assert ws.cards["card_type"].tolist() == ["A", "deposit"]
    assert ws.cards["zone_id"].tolist() == ["003", "003"]
    assert ws.events["zone_id"].tolist() == ["001"]
    assert ws.events["located_by"].tolist() == ["zone_id"]
    assert ws.events.geometry.iloc[0].within(Polygon(square(0)[0]))
    assert ws.pois.empty and "zone_id" in ws.pois.columns
    assert ws.dealer.models[0].price == 120000
    assert ws.notices == []


def test_gbk_csv_with_chinese_headers_loads(tmp_path):
    (x, y) = centre(3)
    text = f"客户编号,姓名,电话,车型,购车日期,年龄,性别,职业,经度,纬度\n0001,王五,13711112222,家轿 A,2025年3月1日,30,男,司机,{x},{y}\n"
    root = make_workspace(tmp_path / "ws", customers="")
    (root / "customers.csv").write_bytes(text.encode("gbk"))
    ws = read_sources(root)
    row = ws.customers.iloc[0]
    assert (row["customer_id"], row["name"], row["phone"], row["zone_id"]) == (
        "0001",
        "王五",
        "13711112222",
        "004",
    )
    assert row["purchase_date"] == pd.Timestamp("2025-03-01")


def test_utf8_bom_and_semicolon_free_csv(tmp_path):
    (x, y) = centre(1)
    text = f"customer_id,name,lon,lat\nC1,赵六,{x},{y}\n"
    root = make_workspace(tmp_path / "ws", customers="")
    (root / "customers.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    ws = read_sources(root)
    assert ws.customers["name"].tolist() == ["赵六"]
    assert ws.customers["zone_id"].tolist() == ["002"]


def test_undecodable_csv_is_refused_not_mangled(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "customers.csv").write_bytes(
        b"name,lon,lat\n" + bytes(range(128, 256)) * 40 + b",1,2\n"
    )
    with pytest.raises(LayerError, match=r"encoding|编码") as exc:
        read_sources(root)
    assert "err.encoding" in codes(exc)


def test_xlsx_keeps_ids_and_phones_as_text(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    root = make_workspace(tmp_path / "ws", customers="")
    (root / "customers.csv").unlink()
    (x, y) = centre(0)
    book = Workbook()
    sheet = book.active
    sheet.append(["客户编号", "姓名", "电话", "购车日期", "经度", "纬度"])
    sheet.append(["00123", "孙七", 13855556666, dt.datetime(2025, 1, 2), x, y])
    sheet.append([None, None, None, None, None, None])  # a blank row is skipped but counted
    sheet.append(["00124", "周八", "13955557777", "2025-13-40", x, y])
    book.save(root / "customers.xlsx")
    with pytest.raises(LayerError, match=r"customers\.xlsx，第 4 行.*2025-13-40") as exc:
        read_sources(root)
    bad = [p for p in problems_of(exc) if p.key == "err.bad_date"]
    assert bad and bad[0].rows == (4,)  # Excel row 4: header 1, data 2, blank 3
    sheet.cell(row=4, column=4, value="2025-02-03")
    book.save(root / "customers.xlsx")
    ws = read_sources(root)
    assert ws.customers["customer_id"].tolist() == ["00123", "00124"]
    assert ws.customers["phone"].tolist() == ["13855556666", "13955557777"]
    assert ws.customers["purchase_date"].iloc[0] == pd.Timestamp("2025-01-02")


def test_phone_in_scientific_notation_is_an_error(tmp_path):
    (x, y) = centre(0)
    root = make_workspace(tmp_path / "ws", customers=f"name,phone,lon,lat\nA,1.38123E+10,{x},{y}\n")
    with pytest.raises(LayerError, match="科学计数法"):
        read_sources(root)


# ------------------------------------------------------------------ zone file formats


def test_zones_from_geopackage(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    zones_gdf().to_file(root / "zones.gpkg", layer="zones", driver="GPKG")
    ws = read_sources(root)
    assert ws.zones["zone_id"].tolist() == ["001", "002", "003", "004"]


def _shapefile(tmp_path: Path, *, crs: str | None = "EPSG:4326") -> Path:
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = zones_gdf()
    gdf["zone_id"] = gdf["zone_id"].astype(str)
    if crs is None:
        gdf = gdf.set_crs(None, allow_override=True)
    gdf.to_file(folder / "zones.shp", encoding="utf-8")
    return folder


def test_zones_from_zipped_shapefile_in_nested_folder(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    folder = _shapefile(tmp_path)
    with zipfile.ZipFile(root / "zones.zip", "w") as archive:
        for part in folder.iterdir():
            archive.write(part, f"导出/区域/{part.name}")
    ws = read_sources(root)
    assert ws.zones["zone_id"].tolist() == ["001", "002", "003", "004"]
    assert ws.zones["name"].tolist()[0] == "玉林街道"


@pytest.mark.parametrize("missing", [".prj", ".dbf"])
def test_zipped_shapefile_missing_sidecar_is_named(tmp_path, missing):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    folder = _shapefile(tmp_path)
    with zipfile.ZipFile(root / "zones.zip", "w") as archive:
        for part in folder.iterdir():
            if part.suffix != missing:
                archive.write(part, f"a/{part.name}")
    with pytest.raises(LayerError, match=re.escape(f"zones{missing}")):
        read_sources(root)


def test_plain_shapefile_without_prj_needs_a_declared_crs(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    folder = _shapefile(tmp_path)
    for part in folder.iterdir():
        if part.suffix != ".prj":
            part.rename(root / part.name)
    with pytest.raises(LayerError, match="zones_crs") as exc:
        read_sources(root)
    assert "err.shp_no_prj" in codes(exc)
    (root / "dealer.toml").write_text(DEALER + 'zones_crs = "EPSG:4326"\n', encoding="utf-8")
    # zones_crs must come before [[models]] in TOML: rewrite properly
    (root / "dealer.toml").write_text('zones_crs = "EPSG:4326"\n' + DEALER, encoding="utf-8")
    ws = read_sources(root)
    assert len(ws.zones) == 4


def test_geopackage_without_crs_is_refused_with_how_to_declare(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    gdf = zones_gdf().set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(root / "zones.gpkg", driver="GPKG")
    with pytest.raises(LayerError, match="zones_crs") as exc:
        read_sources(root, lang="en")
    assert "err.no_crs" in codes(exc)


def test_projected_zones_are_reprojected(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    zones_gdf().to_crs("EPSG:32648").to_file(root / "zones.gpkg", driver="GPKG")
    ws = read_sources(root)
    assert ws.zones.crs.to_epsg() == 4326
    assert abs(ws.zones.total_bounds[0] - 104.0) < 1e-6


# ------------------------------------------------------------------ validation cases


def test_missing_zone_type_column_is_named(tmp_path):
    zones = [{k: v for k, v in z.items() if k != "zone_type"} for z in ZONES]
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    with pytest.raises(LayerError, match="zone_type") as exc:
        read_sources(root, lang="en")
    (p,) = [p for p in problems_of(exc) if p.key == "err.missing_column"]
    assert p.file == "zones.geojson" and p.column == "zone_type"
    assert "residential" in p.fix("en")


def test_unknown_zone_type_and_card_type_values(tmp_path):
    zones = [dict(z) for z in ZONES]
    zones[2]["zone_type"] = "spaceport"
    (x, y) = centre(0)
    root = make_workspace(
        tmp_path / "ws",
        zones=zones_geojson(zones),
        cards=f"card_type,date,lon,lat\nA卡,2026-01-01,{x},{y}\nB卡,2026-01-02,{x},{y}\n",
    )
    with pytest.raises(LayerError, match=r"无法识别的值“spaceport”") as exc:
        read_sources(root)
    unknown = {p.file: p for p in problems_of(exc) if p.key == "err.unknown_code"}
    assert (
        unknown["zones.geojson"].rows == (3,)
        and unknown["zones.geojson"].fields["found"] == "spaceport"
    )
    assert unknown["cards.csv"].rows == (3,) and unknown["cards.csv"].fields["found"] == "B卡"


@pytest.mark.parametrize(
    ("column", "value", "key"),
    [
        ("population", "很多", "err.not_number"),
        ("population", -5, "err.below_minimum"),
        ("population", 10.5, "err.not_integer"),
        ("income", 0, "err.not_positive"),
        ("income", "四万", "err.not_number"),
        ("income", None, "err.required_value"),
    ],
)
def test_bad_population_and_income(tmp_path, column, value, key):
    zones = [dict(z) for z in ZONES]
    zones[1][column] = value
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    with pytest.raises(LayerError, match=r"zones\.geojson，第 2 个要素") as exc:
        read_sources(root)
    (p,) = [p for p in problems_of(exc) if p.key == key]
    assert p.rows == (2,) and p.row_kind == "feature"
    assert column in p.column
    assert p.ids == ("002",)  # the zone is named by its id too
    assert "第 2 个要素（编号 002）" in p.render("zh")


def test_thousands_separators_are_accepted(tmp_path):
    zones = [dict(z) for z in ZONES]
    zones[0]["population"] = "42,000"
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    assert read_sources(root).zones["population"].iloc[0] == 42000


def test_duplicate_zone_id(tmp_path):
    zones = [dict(z) for z in ZONES]
    zones[3]["zone_id"] = "001"
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    with pytest.raises(LayerError, match="001") as exc:
        read_sources(root)
    (p,) = [p for p in problems_of(exc) if p.key == "err.duplicate_id"]
    assert p.rows == (1, 4)


def test_null_polygon_is_an_error(tmp_path):
    doc = zones_geojson()
    doc["features"][2]["geometry"] = None
    root = make_workspace(tmp_path / "ws", zones=doc)
    with pytest.raises(LayerError, match=r"多边形为空") as exc:
        read_sources(root)
    (p,) = [p for p in problems_of(exc) if p.key == "err.geometry_null"]
    assert p.rows == (3,)


def test_point_instead_of_polygon_is_an_error(tmp_path):
    doc = zones_geojson()
    doc["features"][0]["geometry"] = {"type": "Point", "coordinates": [104.0, 30.6]}
    root = make_workspace(tmp_path / "ws", zones=doc)
    with pytest.raises(LayerError, match="Point"):
        read_sources(root)


def test_bowtie_polygon_is_repaired_and_reported_with_its_parts_not_a_percentage(tmp_path):
    doc = zones_geojson()
    x, y = 104.0, 30.6
    # A bow-tie: self-intersecting ring; make_valid keeps both triangles. Its signed
    # area before the repair cancels out, so an "area change" would be nonsense
    # (issue 13 saw "+5,379,147%"): the warning gives the parts and their area.
    doc["features"][0]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + D2, y + D2], [x + D2, y], [x, y + D2], [x, y]]],
    }
    root = make_workspace(tmp_path / "ws", zones=doc)
    ws = read_sources(root)
    assert ws.zones.geometry.iloc[0].is_valid
    assert ws.zones.geometry.iloc[0].geom_type == "MultiPolygon"
    assert not [p for p in ws.notices if p.key == "notice.geometry_repaired"]
    (p,) = [p for p in ws.notices if p.key == "warn.geometry_split"]
    assert p.rows == (1,) and p.severity == "warning"
    assert "Self-intersection" in p.fields["reason"] and p.fields["parts"] == 2
    # Two triangles of half the 0.02° square: about 2.1 km² near Chengdu.
    area = ws.zones.iloc[[0]].to_crs(32648).area.iloc[0] / 1e6
    assert float(p.fields["area"]) == pytest.approx(area, abs=0.01)
    assert 2.0 < area < 2.3
    assert "%" not in p.message("en")


def test_small_self_intersection_is_repaired_with_a_small_area_change(tmp_path):
    doc = zones_geojson()
    x, y = 104.0, 30.6
    # A spike that crosses the top edge: a valid repair changes the area a little.
    ring = [
        [x, y],
        [x + D2, y],
        [x + D2, y + D2],
        [x + 0.5 * D2, y + D2],
        [x + 0.5 * D2, y + 0.9 * D2],
        [x + 0.52 * D2, y + 1.0005 * D2],
        [x, y + D2],
        [x, y],
    ]
    doc["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    ws = read_sources(make_workspace(tmp_path / "ws", zones=doc))
    (p,) = [p for p in ws.notices if p.key == "notice.geometry_repaired"]
    change = float(p.fields["change"].rstrip("%"))
    assert abs(change) < 5 and p.fields["change"].endswith("%")


D2 = 0.02


def test_swapped_lon_lat_columns_are_detected_as_a_whole(tmp_path):
    rows = "".join(f"C{i},{centre(i % 4)[1]},{centre(i % 4)[0]}\n" for i in range(8))
    root = make_workspace(tmp_path / "ws", customers="customer_id,lon,lat\n" + rows)
    with pytest.raises(LayerError, match=r"互换|swap") as exc:
        read_sources(root)
    swapped = [p for p in problems_of(exc) if p.key == "err.lonlat_swapped"]
    assert len(swapped) == 1 and swapped[0].fields["count"] == 8
    assert not any(p.key.startswith("err.out_of_china") for p in problems_of(exc))


def test_points_outside_china_and_far_outside_zones(tmp_path):
    (x, y) = centre(0)
    customers = (
        "customer_id,lon,lat\n"
        f"C1,{x},{y}\n"
        "C2,2.35,48.85\n"  # Paris
        "C3,116.40,39.90\n"  # Beijing: in China, far from every zone
    )
    root = make_workspace(tmp_path / "ws", customers=customers)
    with pytest.raises(LayerError, match=r"不在中国境内") as exc:
        read_sources(root)
    (p,) = [p for p in problems_of(exc) if p.key == "err.out_of_china"]
    assert p.rows == (3,)
    far = [p for p in problems_of(exc) if p.key == "notice.far_outside_zones"]
    assert far and far[0].rows == (4,) and far[0].severity == "notice"


def test_far_point_is_kept_without_zone(tmp_path):
    (x, y) = centre(0)
    root = make_workspace(
        tmp_path / "ws", customers=f"customer_id,lon,lat\nC1,{x},{y}\nC3,116.40,39.90\n"
    )
    ws = read_sources(root)
    assert len(ws.customers) == 2
    assert ws.customers["zone_id"].isna().tolist() == [False, True]
    assert ws.customers["located_by"].tolist() == ["coords", "coords"]


def test_bad_dates_are_listed_by_row(tmp_path):
    (x, y) = centre(0)
    cards = f"card_type,date,lon,lat\nA,2026-01-01,{x},{y}\nA,昨天,{x},{y}\nA,,{x},{y}\nA,2026-02-30,{x},{y}\n"
    root = make_workspace(tmp_path / "ws", cards=cards)
    with pytest.raises(LayerError, match=r"无法识别的日期“昨天”") as exc:
        read_sources(root)
    bad = {p.key: p for p in problems_of(exc)}
    assert bad["err.bad_date"].rows == (3, 5)
    assert bad["err.required_value"].rows == (4,)


def test_empty_file_and_wrong_file_type(tmp_path):
    root = make_workspace(tmp_path / "ws", cards="")
    (root / "events.pdf").write_bytes(b"%PDF-1.4 ...")
    with pytest.raises(LayerError, match=r"文件是空的") as exc:
        read_sources(root)
    found = {(p.file, p.key) for p in problems_of(exc)}
    assert ("cards.csv", "err.file_empty") in found
    assert ("events.pdf", "err.file_type") in found


def test_xlsx_renamed_to_csv_is_a_wrong_file_type(tmp_path):
    from openpyxl import Workbook

    root = make_workspace(tmp_path / "ws")
    Workbook().save(root / "customers.csv")
    with pytest.raises(LayerError, match="zip/xlsx"):
        read_sources(root)


def test_two_files_for_one_layer_are_ambiguous(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "customers.xlsx").write_bytes(b"PK")
    with pytest.raises(LayerError, match=r"customers\.csv, customers\.xlsx"):
        read_sources(root)


def test_missing_zones_and_dealer_are_both_reported(tmp_path):
    root = make_workspace(tmp_path / "ws")
    (root / "zones.geojson").unlink()
    (root / "dealer.toml").unlink()
    with pytest.raises(LayerError, match=r"缺少必需的文件") as exc:
        read_sources(root)
    assert [p.key for p in problems_of(exc)].count("err.file_missing") == 2


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (DEALER.replace("price = 120000", 'price = "十二万"'), "err.toml_not_number"),
        (DEALER.replace("price = 120000", "price = -1"), "err.toml_not_positive"),
        (DEALER.replace('name = "测试 4S 店"\n', ""), "err.toml_missing_key"),
        (
            DEALER.replace("lon = 104.03", "lon = 30.61").replace("lat = 30.61", "lat = 104.03"),
            "err.dealer_out_of_china",
        ),
        (DEALER + "[settings.scoring]\nnope = 1\n", "err.toml_settings"),
        ("name = 'x\n", "err.toml_syntax"),
    ],
)
def test_dealer_toml_problems(tmp_path, toml, key):
    root = make_workspace(tmp_path / "ws", dealer=toml)
    with pytest.raises(LayerError, match=r"dealer\.toml") as exc:
        read_sources(root)
    assert key in codes(exc)


def test_every_problem_is_collected_before_raising(tmp_path):
    zones = [{k: v for k, v in z.items() if k != "income"} for z in ZONES]
    root = make_workspace(
        tmp_path / "ws", zones=zones_geojson(zones), cards="card_type,date\nX,someday\n"
    )
    with pytest.raises(LayerError, match=r"cards\.csv.*someday") as exc:
        read_sources(root)
    found = {(p.file, p.key) for p in problems_of(exc)}
    assert ("zones.geojson", "err.missing_column") in found
    assert ("cards.csv", "err.unknown_code") in found
    assert ("cards.csv", "err.bad_date") in found


def test_messages_in_both_languages_name_file_row_column_and_fix(tmp_path):
    zones = [dict(z) for z in ZONES]
    zones[1]["population"] = "很多"
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    with pytest.raises(LayerError, match=r"feature 2 \(id 002\), column population") as exc:
        read_sources(root, lang="en")
    text = str(exc.value)
    assert "zones.geojson, feature 2 (id 002), column population" in text and "Fix:" in text
    zh = exc.value.problems[0].render("zh")
    assert "zones.geojson，第 2 个要素（编号 002），列“population”" in zh and "修改方法" in zh


# ------------------------------------------------------------------ locating points


def test_gcj02_point_lands_within_2m_of_its_wgs84_position(tmp_path):
    true_lon, true_lat = centre(1)
    g_lon, g_lat = coords.wgs84_to_gcj02(true_lon, true_lat)
    root = make_workspace(
        tmp_path / "ws",
        customers=f"customer_id,lon,lat,coord_sys\nG1,{g_lon:.9f},{g_lat:.9f},gcj02\n",
    )
    ws = read_sources(root)
    got = ws.customers.to_crs("EPSG:32648").geometry.iloc[0]
    true = gpd.GeoSeries.from_xy([true_lon], [true_lat], crs=4326).to_crs("EPSG:32648").iloc[0]
    assert got.distance(true) < 2.0
    assert ws.customers["zone_id"].iloc[0] == "002"


def test_dealer_coord_sys_applies_to_point_files(tmp_path):
    dealer = DEALER.replace('coord_sys = "wgs84"', 'coord_sys = "gcj02"')
    true_lon, true_lat = centre(2)
    g_lon, g_lat = coords.wgs84_to_gcj02(true_lon, true_lat)
    root = make_workspace(
        tmp_path / "ws",
        dealer=dealer,
        customers=f"customer_id,lon,lat\nG1,{g_lon:.9f},{g_lat:.9f}\n",
    )
    ws = read_sources(root)
    assert abs(ws.customers.geometry.x.iloc[0] - true_lon) < 2e-5
    assert abs(ws.dealer.lon - coords.to_wgs84(104.03, 30.61, "gcj02")[0]) < 1e-12


def test_zone_id_and_address_locations(tmp_path):
    customers = (
        "customer_id,zone_id,address\n"
        "C1,003,\n"
        "C2,,成都市武侯区玉林街道玉林北路1号\n"
        "C3,,成都市锦江区某某小区\n"  # district only
        "C4,,火星基地 1 号\n"  # unmatched: listed, kept
        "C5,,\n"  # nothing at all: listed, kept
    )
    root = make_workspace(tmp_path / "ws", customers=customers)
    ws = read_sources(root)
    c = ws.customers.set_index("customer_id")
    assert c.loc["C1", "zone_id"] == "003" and c.loc["C1", "located_by"] == "zone_id"
    assert c.loc["C1", "geometry"].within(Polygon(square(2)[0]))
    assert c.loc["C2", "zone_id"] == "001" and c.loc["C2", "district"] == "武侯区"
    assert c.loc["C3", "district"] == "锦江区" and pd.isna(c.loc["C3", "zone_id"])
    assert c.loc["C3", "geometry"] is None  # no made-up point at the district's centre
    assert c.loc["C4", "located_by"] == "unlocated" and c.loc["C4", "geometry"] is None
    assert len(ws.customers) == 5
    keys = {p.key: p for p in ws.notices}
    assert keys["notice.address_unmatched"].rows == (5,)
    assert keys["notice.no_location"].rows == (6,)
    assert keys["notice.address_district_only"].rows == (4,)


def test_unknown_zone_id_in_points_is_an_error(tmp_path):
    root = make_workspace(tmp_path / "ws", customers="customer_id,zone_id\nC1,999\n")
    with pytest.raises(LayerError, match="999"):
        read_sources(root)


def test_point_on_shared_boundary_goes_to_one_zone(tmp_path):
    x = 104.0 + D2  # the edge between zone 001 and 002
    root = make_workspace(tmp_path / "ws", customers=f"customer_id,lon,lat\nB,{x},30.61\n")
    ws = read_sources(root)
    assert ws.customers["zone_id"].tolist() == ["001"]


def test_not_a_folder(tmp_path):
    with pytest.raises(WorkspaceError, match="not a workspace folder"):
        read_sources(tmp_path / "nope")


def test_many_bad_rows_stay_one_readable_problem(tmp_path):
    (x, y) = centre(0)
    rows = "".join(f"C{i},abc,{x},{y}\n" for i in range(5000))
    root = make_workspace(tmp_path / "ws", customers="customer_id,age,lon,lat\n" + rows)
    with pytest.raises(LayerError, match=r"and 4990 more") as exc:
        read_sources(root, lang="en")
    (p,) = [p for p in problems_of(exc) if p.key == "err.not_number"]
    assert len(p.rows) == 5000
    assert "and 4990 more" in p.render("en")
    assert len(p.render("en")) < 400


def test_json_of_problems_is_serialisable(tmp_path):
    zones = [dict(z) for z in ZONES]
    zones[0]["zone_type"] = "??"
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    with pytest.raises(LayerError, match=r"zones\.geojson") as exc:
        read_sources(root)
    doc = json.loads(json.dumps([p.to_dict("en") for p in exc.value.problems]))
    assert (
        doc[0]["file"] == "zones.geojson" and doc[0]["row"] == 1 and doc[0]["column"] == "zone_type"
    )


def test_large_point_table_is_vectorised(tmp_path):
    rng = np.random.default_rng(0)
    n = 20000
    lon = rng.uniform(104.0, 104.08, n)
    lat = rng.uniform(30.6, 30.62, n)
    frame = pd.DataFrame({"customer_id": [f"{i:06d}" for i in range(n)], "lon": lon, "lat": lat})
    root = make_workspace(tmp_path / "ws", customers=frame.to_csv(index=False))
    ws = read_sources(root)
    expected = np.floor((lon - 104.0) / 0.02).astype(int)
    got = ws.customers["zone_id"].astype(int).to_numpy() - 1
    assert (got == expected).all()


def test_synthetic_flag_is_read_from_the_zones_text(tmp_path):
    import copy

    from conftest import ZONES, zones_geojson

    records = copy.deepcopy(ZONES)
    for record in records:
        record["synthetic"] = "False"
    ws = read_sources(make_workspace(tmp_path / "no", zones=zones_geojson(records)))
    assert not ws.has_synthetic_data  # the text "False" is not a flag
    records[2]["synthetic"] = "true"
    ws = read_sources(make_workspace(tmp_path / "yes", zones=zones_geojson(records)))
    assert ws.has_synthetic_data

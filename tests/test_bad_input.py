"""Hostile input, one defect per workspace: a clear message, never a traceback.

Each case starts from the tiny valid workspace and breaks one thing. Through
the command line it must exit 2 (or 0 when the input is legitimately
accepted), print no traceback, name the file and the column (or key) in
both languages, and leave the workspace folder byte for byte unchanged.
Accepted cases check the value that was read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEALER, ZONES, centre, make_workspace, zones_geojson

from territory._errors import LayerError
from territory.cli import main
from territory.inputs.dealer import parse_dealer
from territory.inputs.workspace import read_sources
from territory.settings import Settings, SettingsError

X, Y = centre(0)
CUSTOMERS = "customer_id,name,phone,model,purchase_date,age,gender,occupation,lon,lat\n"


def customer(**values: str) -> str:
    row = {
        "customer_id": "007",
        "name": "张三",
        "phone": "13812341234",
        "model": "家轿 A",
        "purchase_date": "2025-03-01",
        "age": "32",
        "gender": "男",
        "occupation": "教师",
        "lon": str(X),
        "lat": str(Y),
    }
    row.update(values)
    return CUSTOMERS + ",".join(row.values()) + "\n"


def zones(**second: object) -> dict:
    """The four zones with the second one's properties changed."""
    records = copy.deepcopy(ZONES)
    records[1].update(second)
    return zones_geojson(records)


def write(root: Path, name: str, content: str | bytes | dict) -> None:
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False)
    if isinstance(content, str):
        content = content.encode("utf-8")
    (root / name).write_bytes(content)


def dealer(old: str, new: str) -> Callable[[Path], None]:
    assert old in DEALER
    return lambda root: write(root, "dealer.toml", DEALER.replace(old, new, 1))


def nan_vertex(root: Path) -> None:
    text = json.dumps(zones_geojson())
    write(root, "zones.geojson", text.replace("[104.02, 30.6]", "[NaN, 30.6]", 1))


def second_zone_geometry(geometry: dict) -> Callable[[Path], None]:
    """Replace the second zone's geometry (a GeoJSON geometry object)."""

    def breaker(root: Path) -> None:
        collection = zones_geojson()
        collection["features"][1]["geometry"] = geometry
        write(root, "zones.geojson", collection)

    return breaker


LINE = {"type": "LineString", "coordinates": [[104.02, 30.6], [104.03, 30.61]]}


def zip_without_shx(root: Path) -> None:
    import geopandas as gpd

    shp = root.parent / "shp"
    shp.mkdir()
    gpd.read_file(root / "zones.geojson").to_file(shp / "zones.shp")
    (root / "zones.geojson").unlink()
    with zipfile.ZipFile(root / "zones.zip", "w") as archive:
        for path in shp.iterdir():
            if path.suffix != ".shx":
                archive.write(path, f"nested/{path.name}")


def dealer_folder(root: Path) -> None:
    (root / "dealer.toml").unlink()
    (root / "dealer.toml").mkdir()


EVENTS = "event_id,date,zone_id,format,cost,leads,sales\n"

#: id -> (break the workspace, file named, column or key named)
REJECTED: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "toml_syntax": (
        dealer('name = "测试 4S 店"', 'name = "测试 4S 店'),
        "dealer.toml",
        "dealer.toml",
    ),
    "toml_missing_lon": (dealer("lon = 104.03\n", ""), "dealer.toml", "lon"),
    "toml_price_string": (dealer("price = 120000", 'price = "12万"'), "dealer.toml", "price"),
    "toml_negative_radius": (
        dealer("radius_km = 15", "radius_km = -5"),
        "dealer.toml",
        "radius_km",
    ),
    "toml_unknown_coord_sys": (
        dealer('coord_sys = "wgs84"', 'coord_sys = "utm"'),
        "dealer.toml",
        "coord_sys",
    ),
    "toml_lon_nan": (dealer("lon = 104.03", "lon = nan"), "dealer.toml", "lon"),
    "toml_lat_inf": (dealer("lat = 30.61", "lat = inf"), "dealer.toml", "lat"),
    "toml_price_inf": (dealer("price = 120000", "price = inf"), "dealer.toml", "price"),
    "toml_target_r_nan": (
        dealer("radius_km = 15", "radius_km = 15\ntarget_r = nan"),
        "dealer.toml",
        "target_r",
    ),
    "toml_setting_inf": (
        lambda root: write(root, "dealer.toml", DEALER + "[settings.influence]\nradius_km = inf\n"),
        "dealer.toml",
        "settings",
    ),
    "toml_unknown_zones_crs": (
        lambda root: write(root, "dealer.toml", 'zones_crs = "EPSG:99999"\n' + DEALER),
        "dealer.toml",
        "zones_crs",
    ),
    "toml_is_a_folder": (dealer_folder, "dealer.toml", "dealer.toml"),
    "zones_not_json": (lambda root: write(root, "zones.geojson", "{not json"), "zones.geojson", ""),
    "zones_no_features": (
        lambda root: write(root, "zones.geojson", zones_geojson([])),
        "zones.geojson",
        "",
    ),
    "zones_duplicate_id": (
        lambda root: write(root, "zones.geojson", zones(zone_id="001")),
        "zones.geojson",
        "zone_id",
    ),
    "zones_population_wan": (
        lambda root: write(root, "zones.geojson", zones(population="12万")),
        "zones.geojson",
        "population",
    ),
    "zones_population_inf": (
        lambda root: write(root, "zones.geojson", zones(population="inf")),
        "zones.geojson",
        "population",
    ),
    "zones_population_huge": (
        lambda root: write(root, "zones.geojson", zones(population="1e30")),
        "zones.geojson",
        "population",
    ),
    "zones_income_zero": (
        lambda root: write(root, "zones.geojson", zones(income=0)),
        "zones.geojson",
        "income",
    ),
    "zones_income_nan": (
        lambda root: write(root, "zones.geojson", zones(income="NaN")),
        "zones.geojson",
        "income",
    ),
    "zones_income_infinity": (
        lambda root: write(root, "zones.geojson", zones(income="Infinity")),
        "zones.geojson",
        "income",
    ),
    "zones_nan_vertex": (nan_vertex, "zones.geojson", "001"),
    "zones_collection_of_lines": (
        second_zone_geometry({"type": "GeometryCollection", "geometries": [LINE, LINE]}),
        "zones.geojson",
        "GeometryCollection",
    ),
    "zones_zip_without_shx": (zip_without_shx, "zones.zip", "zones.shx"),
    "csv_mixed_encodings": (
        lambda root: write(
            root,
            "customers.csv",
            customer().encode("utf-8") + customer(name="李四").splitlines()[1].encode("gbk"),
        ),
        "customers.csv",
        "",
    ),
    "csv_phone_scientific": (
        lambda root: write(root, "customers.csv", customer(phone="1.38E+10")),
        "customers.csv",
        "phone",
    ),
    "csv_lon_degree_sign": (
        lambda root: write(root, "customers.csv", customer(lon=f"{X}°")),
        "customers.csv",
        "lon",
    ),
    "csv_lon_inf": (
        lambda root: write(root, "customers.csv", customer(lon="inf")),
        "customers.csv",
        "lon",
    ),
    "csv_date_year_0001": (
        lambda root: write(root, "customers.csv", customer(purchase_date="0001-01-01")),
        "customers.csv",
        "purchase_date",
    ),
    "csv_date_year_9999": (
        lambda root: write(root, "customers.csv", customer(purchase_date="9999-12-31")),
        "customers.csv",
        "purchase_date",
    ),
    "csv_date_feb_30": (
        lambda root: write(root, "customers.csv", customer(purchase_date="2026-02-30")),
        "customers.csv",
        "purchase_date",
    ),
    "events_negative_cost": (
        lambda root: write(root, "events.csv", EVENTS + "E1,2026-04-04,001,晚间展示,-2000,80,6\n"),
        "events.csv",
        "cost",
    ),
    "cards_unknown_type": (
        lambda root: write(
            root, "cards.csv", f"card_id,card_type,date,lon,lat\nK1,B卡,2026-05-01,{X},{Y}\n"
        ),
        "cards.csv",
        "card_type",
    ),
}


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws", events=EVENTS + "E1,2026-04-04,001,晚间展示,2000,80,6\n")


#: Every case runs once (the suite stays fast); languages and commands alternate over the cases.
RUNS = [
    (case, ("zh", "en")[i % 2], ("import", "validate")[i // 2 % 2])
    for i, case in enumerate(REJECTED)
]


@pytest.mark.parametrize(("case", "lang", "command"), RUNS)
def test_bad_input_exits_2_with_file_and_column(case, lang, command, ws, capsys):
    breaker, file, column = REJECTED[case]
    breaker(ws)
    before = snapshot(ws)
    assert main([command, str(ws), "--lang", lang]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    assert "内部错误" not in text and "internal error" not in text
    assert file in out.err
    assert column in out.err
    assert ("修改方法" if lang == "zh" else "Fix:") in out.err
    assert snapshot(ws) == before, "the workspace changed on failure"


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("toml_lon_nan", "lon"),
        ("zones_population_inf", "population"),
        ("zones_nan_vertex", "NaN"),
        ("csv_date_year_9999", "1900"),
    ],
)
def test_bad_input_raises_layer_error_in_the_api(case, match, ws):
    REJECTED[case][0](ws)
    with pytest.raises(LayerError, match=match):
        read_sources(ws, lang="en")


def test_non_finite_numbers_are_refused_by_dealer_and_settings():
    data = {"name": "店", "lon": 104.0, "lat": 30.6, "models": [{"name": "A", "price": 1.0}]}
    with pytest.raises(LayerError, match="lon must be a number"):
        parse_dealer({**data, "lon": float("nan")}, lang="en")
    with pytest.raises(SettingsError, match="must be a number"):
        Settings().merged({"influence": {"radius_km": float("inf")}})
    with pytest.raises(SettingsError, match="must hold numbers"):
        Settings().merged({"ranking": {"weights": {"r_score": "x"}}})


# ------------------------------------------------------------------ accepted, with the right value


def xlsx(root: Path, rows: list[list], *, extra_sheet: bool = False) -> None:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    if extra_sheet:
        book.create_sheet("说明").append(["这一页不是数据"])
    (root / "customers.csv").unlink()
    book.save(root / "customers.xlsx")


ACCEPTED: dict[str, tuple[Callable[[Path], None], Callable]] = {
    "population_thousands_separator": (
        lambda root: write(root, "zones.geojson", zones(population="1,234")),
        lambda ws: ws.zones["population"].iloc[1] == 1234,
    ),
    "formula_and_html_name_kept_as_text": (
        lambda root: write(root, "zones.geojson", zones(name='=HYPERLINK("x","<script>")')),
        lambda ws: ws.zones["name"].iloc[1] == '=HYPERLINK("x","<script>")',
    ),
    "semicolon_csv": (
        lambda root: write(root, "customers.csv", customer().replace(",", ";")),
        lambda ws: ws.customers["phone"].iloc[0] == "13812341234",
    ),
    "tab_csv": (
        lambda root: write(root, "customers.csv", customer().replace(",", "\t")),
        lambda ws: ws.customers["customer_id"].iloc[0] == "007",
    ),
    "header_only_csv": (
        lambda root: write(root, "customers.csv", CUSTOMERS),
        lambda ws: len(ws.customers) == 0,
    ),
    "trailing_empty_rows": (
        lambda root: write(root, "customers.csv", customer() + ",,,,,,,,,\n\n,,,,,,,,,\n"),
        lambda ws: len(ws.customers) == 1,
    ),
    "date_slashes": (
        lambda root: write(root, "customers.csv", customer(purchase_date="2026/5/1")),
        lambda ws: str(ws.customers["purchase_date"].iloc[0].date()) == "2026-05-01",
    ),
    "date_chinese": (
        lambda root: write(root, "customers.csv", customer(purchase_date="2026年5月1日")),
        lambda ws: str(ws.customers["purchase_date"].iloc[0].date()) == "2026-05-01",
    ),
    "date_excel_serial_with_notice": (
        lambda root: write(root, "customers.csv", customer(purchase_date="45322")),
        lambda ws: (
            str(ws.customers["purchase_date"].iloc[0].date()) == "2024-01-31"
            and any(n.key == "notice.excel_serial_date" for n in ws.notices)
        ),
    ),
    "xlsx_serial_date_and_numeric_phone": (
        lambda root: xlsx(
            root,
            [
                CUSTOMERS.strip().split(","),
                [7, "张三", 13812341234, "A", 46143, 32, "男", "", X, Y],
            ],
            extra_sheet=True,
        ),
        lambda ws: (
            ws.customers["phone"].iloc[0] == "13812341234"
            and str(ws.customers["purchase_date"].iloc[0].date()) == "2026-05-01"
        ),
    ),
    "zones_collection_keeps_its_polygon": (
        lambda root: second_zone_geometry(
            {
                "type": "GeometryCollection",
                "geometries": [zones_geojson()["features"][1]["geometry"], LINE],
            }
        )(root),
        lambda ws: (
            ws.zones.geom_type.isin(["Polygon", "MultiPolygon"]).all()
            and len(ws.zones) == len(ZONES)
        ),
    ),
    "card_types_in_mixed_languages": (
        lambda root: write(
            root,
            "cards.csv",
            "card_id,card_type,date,lon,lat\n"
            + "".join(
                f"K{i},{kind},2026-05-01,{X},{Y}\n"
                for i, kind in enumerate(["A卡", "订金", "deposit", "C卡", "到店登记", "a"])
            ),
        ),
        lambda ws: list(ws.cards["card_type"]) == ["A", "deposit", "deposit", "deposit", "A", "A"],
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_legitimate_input_is_read_right(case, ws, capsys):
    breaker, check = ACCEPTED[case]
    breaker(ws)
    assert main(["validate", str(ws), "--lang", "en"]) == 0, capsys.readouterr().err
    assert check(read_sources(ws))


# ------------------------------------------------------------------ folders and the store


def test_missing_folder_and_file_instead_of_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for target in (tmp_path / "nope", tmp_path / "file"):
        assert main(["validate", str(target), "--lang", "en"]) == 2
        err = capsys.readouterr().err
        assert str(target) in err and "Traceback" not in err


def test_store_that_cannot_be_written_is_a_clear_error(ws, capsys):
    (ws / "territory.gpkg").mkdir()  # stands in for a read-only or locked store
    before = snapshot(ws)
    assert main(["import", str(ws), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "territory.gpkg" in err and "Traceback" not in err and "internal error" not in err
    assert snapshot(ws) == before


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_store_is_rebuilt_from_the_files(damage, ws, capsys):
    assert main(["import", str(ws)]) == 0
    store = ws / "territory.gpkg"
    data = store.read_bytes()
    store.write_bytes(data[:4096] if damage == "truncate" else b"garbage" * 100)
    assert main(["coverage", str(ws), "--json", "--lang", "en"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["rows"] and "Traceback" not in out.err
    from territory.inputs.store import read_store

    assert len(read_store(ws).zones) == len(ZONES)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ["plan", "--site", "001", "--date", "2026-06-06", "--out", "{tmp}/no/such/p.xlsx"],
            "such",
        ),
        (["plan", "--site", "001", "--date", "2026-06-06", "--out", "{tmp}"], "{tmp}"),
        (["plan", "--site", "001", "--date", "2026/13/01", "--out", "{tmp}/p.xlsx"], "2026/13/01"),
        (["coverage", "--out", "{tmp}/coverage.txt"], "coverage.txt"),
    ],
)
def test_bad_output_options_are_clear_errors_and_write_nothing(args, named, ws, tmp_path, capsys):
    before = snapshot(ws)
    argv = [args[0], str(ws), "--lang", "en", *[a.format(tmp=tmp_path) for a in args[1:]]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named.format(tmp=tmp_path) in err
    assert "Traceback" not in err and "internal error" not in err
    if args[0] == "plan":
        assert snapshot(ws) == before


@pytest.mark.parametrize(
    "args",
    [
        ["score", "--model", "没有这个车型"],
        ["plan", "--site", "999", "--date", "2026-06-06", "--out", "{tmp}/p.xlsx"],
        ["recommend", "--weight", "nearness=1"],
    ],
)
def test_a_bad_option_writes_no_store(args, ws, tmp_path, capsys):
    before = snapshot(ws)
    assert main([args[0], str(ws), *[a.format(tmp=tmp_path) for a in args[1:]]]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert snapshot(ws) == before  # no territory.gpkg written on exit 2
    assert main(["score", str(ws), "--json"]) == 0  # a successful command writes it
    assert (ws / "territory.gpkg").exists()

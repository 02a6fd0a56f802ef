"""Coverage by district: counts, periods, the statistical diagnosis, JSON, exports, chart data."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from territory.leads.coverage import (
    DIAGNOSES,
    bar_chart_data,
    choropleth_frames,
    coverage_json,
    coverage_table,
    export_coverage,
)
from territory.settings import Settings

# district -> (zones, population per zone); 甲区 has two zones to test dissolving.
DISTRICTS = {
    "甲区": (("z1", "z1b"), (60_000, 40_000)),  # many A-cards, almost no deposits
    "乙区": (("z2",), (200_000,)),  # almost no A-cards for its people
    "丙区": (("z3",), (100_000,)),  # near the median
    "丁区": (("z4",), (100_000,)),  # near the median
    "戊区": (("z5",), (3_000,)),  # 3 A-cards, 0 deposits
    "己区": (("z6",), (0,)),  # no population
    "庚区": (("z7",), (80_000,)),  # no cards
}


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    rows, shapes = [], []
    x = 0
    for district, (ids, pops) in DISTRICTS.items():
        for zone_id, pop in zip(ids, pops, strict=True):
            rows.append(
                {
                    "zone_id": zone_id,
                    "name": f"{district}{zone_id}",
                    "district": district,
                    "zone_type": "residential",
                    "population": pop,
                    "income": 40_000.0,
                }
            )
            shapes.append(box(x, 0, x + 1, 1))
            x += 1
    frame = gpd.GeoDataFrame(rows, geometry=shapes, crs="EPSG:4326")
    frame["population"] = frame["population"].astype("int64")
    return frame


def make_cards(*specs: tuple) -> pd.DataFrame:
    """Cards from (zone_id, district, card_type, count[, date[, grade[, status]]]) tuples."""
    rows = []
    for spec in specs:
        zone_id, district, card_type, count, *rest = spec
        date = rest[0] if rest else "2024-05-01"
        grade = rest[1] if len(rest) > 1 else None
        status = rest[2] if len(rest) > 2 else None
        rows += [
            {
                "card_id": f"c{len(rows) + i}",
                "zone_id": zone_id,
                "district": district,
                "card_type": card_type,
                "date": pd.Timestamp(date),
                "grade": grade,
                "status": status,
            }
            for i in range(count)
        ]
    return pd.DataFrame(rows)


@pytest.fixture
def planted() -> pd.DataFrame:
    return make_cards(
        ("z1", "甲区", "A", 60),
        ("z1b", "甲区", "A", 40),
        ("z1", "甲区", "deposit", 2),
        ("z2", "乙区", "A", 5),
        ("z2", "乙区", "deposit", 1),
        ("z3", "丙区", "A", 100),
        ("z3", "丙区", "deposit", 25),
        ("z4", "丁区", "A", 90),
        ("z4", "丁区", "deposit", 22),
        ("z5", "戊区", "A", 3),
        ("z6", "己区", "A", 4),
        (None, None, "A", 2),
    )


def row(table: pd.DataFrame, label: str) -> pd.Series:
    hits = table[table["label"] == label]
    assert len(hits) == 1, f"expected one row labelled {label!r}"
    return hits.iloc[0]


def test_planted_districts_get_their_diagnosis(zones, planted):
    table = coverage_table(zones, None, planted)
    got = dict(zip(table["label"], table["diagnosis"], strict=True))
    assert got == {
        "甲区": "follow_up_gap",
        "乙区": "awareness_gap",
        "丙区": "balanced",
        "丁区": "balanced",
        "戊区": "balanced",
        "己区": "no_data",
        "庚区": "no_data",
        "未定位": "no_data",
    }
    assert set(table["diagnosis"]) <= set(DIAGNOSES)
    assert table.attrs["yardstick_a_cards_per_10k"] == pytest.approx(10.0)
    assert table.attrs["yardstick_deposit_rate"] == pytest.approx(0.2)
    assert row(table, "甲区")["confidence"] > 0.99
    assert np.isnan(row(table, "丙区")["confidence"])


def test_three_a_cards_without_deposit_are_not_condemned(zones, planted):
    table = coverage_table(zones, None, planted)
    small = row(table, "戊区")
    threshold = 0.6 * table.attrs["yardstick_deposit_rate"]
    assert small["deposit_rate"] == 0.0 < threshold  # the point estimate alone would flag it
    assert small["diagnosis"] != "follow_up_gap"
    assert small["deposit_rate_upper"] > threshold
    assert small["follow_up_p"] > 0.1
    # The same 0 % on 30 A-cards is evidence.
    more = pd.concat([planted, make_cards(("z5", "戊区", "A", 27))], ignore_index=True)
    zones30 = zones.assign(population=zones["population"].where(zones["zone_id"] != "z5", 30_000))
    assert row(coverage_table(zones30, None, more), "戊区")["diagnosis"] == "follow_up_gap"


def test_few_a_cards_are_not_condemned_on_noise(zones, planted):
    # 4 A-cards in 10,000 people: 4 per 10k, below 0.6 x 10 = 6, but not significantly.
    zones4 = zones.assign(population=zones["population"].where(zones["zone_id"] != "z6", 10_000))
    small = row(coverage_table(zones4, None, planted), "己区")
    assert small["a_cards_per_10k"] == pytest.approx(4.0)
    assert small["diagnosis"] == "balanced"
    # The same 4 A-cards in 100,000 people are an awareness gap.
    zones4 = zones.assign(population=zones["population"].where(zones["zone_id"] != "z6", 100_000))
    assert row(coverage_table(zones4, None, planted), "己区")["diagnosis"] == "awareness_gap"


def test_bounds_and_p_values_agree(zones, planted):
    cs = Settings().coverage
    table = coverage_table(zones, None, planted)
    ok = table["diagnosis"] != "no_data"
    a_thr = cs.gap_ratio * table.attrs["yardstick_a_cards_per_10k"]
    d_thr = cs.gap_ratio * table.attrs["yardstick_deposit_rate"]
    alpha = 1 - cs.confidence
    sub = table[ok]
    assert ((sub["a_cards_per_10k_upper"] < a_thr) == (sub["awareness_p"] < alpha)).all()
    assert ((sub["deposit_rate_upper"] < d_thr) == (sub["follow_up_p"] < alpha)).all()


def test_both_gaps_report_the_more_certain_and_list_both(zones):
    # 乙区: 40 A-cards for 200,000 people (2 per 10k) and no deposit: weak on both counts.
    cards = make_cards(
        ("z1", "甲区", "A", 100),
        ("z1", "甲区", "deposit", 25),
        ("z3", "丙区", "A", 100),
        ("z3", "丙区", "deposit", 25),
        ("z4", "丁区", "A", 90),
        ("z4", "丁区", "deposit", 22),
        ("z5", "戊区", "A", 3),
        ("z5", "戊区", "deposit", 1),
        ("z2", "乙区", "A", 40),
    )
    both = row(coverage_table(zones, None, cards), "乙区")
    assert set(both["gaps"]) == {"awareness_gap", "follow_up_gap"}
    expected = "awareness_gap" if both["awareness_p"] < both["follow_up_p"] else "follow_up_gap"
    assert both["diagnosis"] == expected == both["gaps"][0]
    assert both["confidence"] == pytest.approx(1 - min(both["awareness_p"], both["follow_up_p"]))
    assert "外拓" in both["action"] and "跟进" in both["action"]


def test_settings_move_the_line_and_are_checked(zones, planted):
    # 甲区: 2 deposits on 100 A-cards; yardstick 20%; 90% upper bound about 5.2%.
    assert row(coverage_table(zones, None, planted), "甲区")["diagnosis"] == "follow_up_gap"
    low = Settings().merged({"coverage": {"gap_ratio": 0.2}})  # line at 4%
    assert row(coverage_table(zones, None, planted, settings=low), "甲区")["diagnosis"] == (
        "balanced"
    )
    bold = Settings().merged({"coverage": {"gap_ratio": 0.2, "confidence": 0.5}})
    assert row(coverage_table(zones, None, planted, settings=bold), "甲区")["diagnosis"] == (
        "follow_up_gap"
    )
    with pytest.raises(ValueError, match=r"confidence must be between 0 and 1"):
        coverage_table(
            zones, None, planted, settings=Settings().merged({"coverage": {"confidence": 1.5}})
        )
    with pytest.raises(ValueError, match=r"gap_ratio must be above 0"):
        coverage_table(
            zones, None, planted, settings=Settings().merged({"coverage": {"gap_ratio": 0.0}})
        )
    with pytest.raises(ValueError, match="by must be one of"):
        coverage_table(zones, None, planted, by="county")


def test_counts_rates_and_shares(zones, planted):
    customers = pd.DataFrame(
        {"zone_id": ["z1", "z1b", "z3", None], "district": ["甲区", "甲区", "丙区", None]}
    )
    table = coverage_table(zones, customers, planted)
    first = row(table, "甲区")
    assert (first["population"], first["customers"]) == (100_000, 2)
    assert (first["a_cards"], first["deposit_cards"]) == (100, 2)
    assert first["deposit_rate"] == pytest.approx(0.02)
    assert first["a_cards_per_10k"] == pytest.approx(10.0)
    assert first["deposit_cards_per_10k"] == pytest.approx(0.2)
    total_a = (planted["card_type"] == "A").sum()
    assert first["a_share"] == pytest.approx(100 / total_a)
    assert first["customer_share"] == pytest.approx(0.5)
    for share in ("a_share", "deposit_share", "customer_share"):
        assert table[share].sum() == pytest.approx(1.0)
    assert np.isnan(row(table, "庚区")["deposit_rate"])  # no A-cards
    assert np.isnan(row(table, "己区")["a_cards_per_10k"])  # no population
    unlocated = row(table, "未定位")
    assert bool(unlocated["unlocated"]) and pd.isna(unlocated["district"])
    assert (unlocated["a_cards"], unlocated["customers"]) == (2, 1)
    # No date range: previous-period columns exist and are NA.
    assert table["a_cards_prev"].isna().all() and table.attrs["start"] is None


def test_date_range_and_previous_period(zones):
    cards = make_cards(
        ("z3", "丙区", "A", 3, "2024-04-01"),  # first day of the period
        ("z3", "丙区", "A", 2, "2024-06-29 18:30"),  # last day, late: counts
        ("z3", "丙区", "A", 1, "2024-06-30"),  # after the period
        ("z3", "丙区", "deposit", 1, "2024-05-15"),
        ("z3", "丙区", "A", 4, "2024-03-31"),  # previous period's last day
        ("z3", "丙区", "A", 1, "2024-01-02"),  # previous period's first day
        ("z3", "丙区", "A", 7, "2024-01-01"),  # before both
        ("z3", "丙区", "deposit", 2, "2024-02-01"),
        ("z4", "丁区", "A", 2, "2024-02-01"),  # only in the previous period
    )
    table = coverage_table(zones, None, cards, start="2024-04-01", end="2024-06-29")
    c = row(table, "丙区")
    assert (c["a_cards"], c["deposit_cards"]) == (5, 1)
    assert (c["a_cards_prev"], c["deposit_cards_prev"]) == (5, 2)
    assert (c["a_cards_change"], c["deposit_cards_change"]) == (0, -1)
    assert c["a_cards_change_pct"] == 0.0 and c["deposit_cards_change_pct"] == -0.5
    d = row(table, "丁区")
    assert (d["a_cards"], d["a_cards_prev"], d["a_cards_change"]) == (0, 2, -2)
    assert d["a_cards_change_pct"] == -1.0
    e = row(table, "庚区")
    assert (e["a_cards_prev"], e["a_cards_change"]) == (0, 0) and np.isnan(e["a_cards_change_pct"])
    assert table.attrs["previous_start"] == "2024-01-02"
    assert table.attrs["previous_end"] == "2024-03-31"
    assert table.attrs["previous_complete"] is True
    later = coverage_table(zones, None, cards, start="2024-06-01", end="2024-06-29")
    assert later.attrs["previous_start"] == "2024-05-03"
    late = coverage_table(zones, None, cards, start="2023-12-01", end="2023-12-31")
    assert late.attrs["previous_complete"] is False


def test_open_ended_ranges_and_bad_dates(zones):
    cards = make_cards(("z3", "丙区", "A", 1, "2024-03-01"), ("z3", "丙区", "A", 2, "2024-05-20"))
    table = coverage_table(zones, None, cards, start="2024-05-01")
    assert (table.attrs["start"], table.attrs["end"]) == ("2024-05-01", "2024-05-20")
    assert row(table, "丙区")["a_cards"] == 2
    table = coverage_table(zones, None, cards, end="2024-04-01")
    assert table.attrs["start"] == "2024-03-01" and row(table, "丙区")["a_cards"] == 1
    with pytest.raises(ValueError, match="is after end"):
        coverage_table(zones, None, cards, start="2024-06-01", end="2024-05-01")
    with pytest.raises(ValueError, match="start must be a date"):
        coverage_table(zones, None, cards, start="next tuesday")


def test_by_zone_and_points_placed_only_by_district(zones):
    cards = make_cards(
        ("z1", "甲区", "A", 3),
        ("z1b", "甲区", "A", 1),
        (None, "甲区", "A", 2),  # district known from the address, zone not
        ("zz", None, "A", 1),  # a zone that does not exist
        (None, "外区", "A", 1),  # a district outside the zones
    )
    by_district = coverage_table(zones, None, cards)
    assert row(by_district, "甲区")["a_cards"] == 6
    outside = row(by_district, "外区")
    assert outside["diagnosis"] == "no_data" and pd.isna(outside["population"])
    assert row(by_district, "未定位")["a_cards"] == 1
    assert by_district["label"].tolist()[-2:] == ["外区", "未定位"]

    by_zone = coverage_table(zones, None, cards, by="zone", lang="en")
    assert list(by_zone.columns[:3]) == ["zone_id", "name", "district"]
    z1 = by_zone[by_zone["zone_id"] == "z1"].iloc[0]
    assert (z1["a_cards"], z1["population"], z1["district"]) == (3, 60_000, "甲区")
    assert row(by_zone, "Unlocated")["a_cards"] == 4
    assert len(by_zone) == len(zones) + 1


def test_zones_without_district_get_one_row(zones):
    bare = zones.drop(columns="district")
    cards = make_cards(("z1", None, "A", 2))
    table = coverage_table(bare, None, cards)
    assert table["label"].tolist() == ["未填区县"]
    assert table.iloc[0]["population"] == zones["population"].sum()


def test_empty_inputs(zones):
    table = coverage_table(zones, None, None)
    assert (table["diagnosis"] == "no_data").all()
    assert len(table) == len(DISTRICTS)
    assert table["a_share"].isna().all()


def test_actions_follow_the_cadence_and_language(zones, planted):
    graded = pd.concat(
        [
            planted,
            make_cards(("z1", "甲区", "A", 2, "2024-05-01", "H", "open")),
            make_cards(("z1", "甲区", "A", 1, "2024-05-01", "B", None)),
            make_cards(("z1", "甲区", "A", 5, "2024-05-01", "C", "lost")),
        ],
        ignore_index=True,
    )
    cadence = Settings().merged({"coverage": {"follow_up_days": {"H": 1}}})
    zh = row(coverage_table(zones, None, graded, settings=cadence), "甲区")
    assert zh["diagnosis"] == "follow_up_gap"
    assert (zh["open_h"], zh["open_a"], zh["open_b"], zh["open_c"]) == (2, 0, 1, 0)
    assert "H级每 1 天" in zh["action"] and "C级每 15 天" in zh["action"]
    assert "待跟进A卡 3 张" in zh["action"]
    en = coverage_table(zones, None, graded, lang="en")
    assert row(en, "甲区")["action"].startswith("Sales manager")
    assert row(en, "乙区")["action"].startswith("Go out to 乙区")
    assert row(en, "乙区")["diagnosis_label"].startswith("Awareness gap")
    assert "population" in row(en, "己区")["action"]
    assert "influence area" in row(en, "庚区")["action"]


def test_json_matches_the_contract_and_has_no_nan(zones, planted):
    table = coverage_table(zones, None, planted, start="2024-04-01", end="2024-06-29")
    doc = coverage_json(table)
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    assert "NaN" not in text
    assert doc["by"] == "district" and doc["start"] == "2024-04-01"
    contract = {
        "district",
        "population",
        "customers",
        "a_cards",
        "deposit_cards",
        "deposit_rate",
        "a_cards_per_10k",
        "deposit_cards_per_10k",
        "diagnosis",
    }
    rows = {r["label"]: r for r in doc["rows"]}
    assert all(contract <= set(r) for r in doc["rows"])
    assert rows["庚区"]["deposit_rate"] is None
    assert rows["未定位"]["district"] is None and rows["未定位"]["unlocated"] is True
    assert rows["甲区"]["gaps"] == ["follow_up_gap"]
    assert isinstance(rows["甲区"]["population"], int)
    assert doc["yardsticks"]["deposit_rate"] == pytest.approx(0.2)
    by_zone = coverage_json(coverage_table(zones, None, planted, by="zone"))
    assert by_zone["by"] == "zone" and {"zone_id", "name"} <= set(by_zone["rows"][0])


@pytest.fixture
def hostile(zones, planted):
    names = {"甲区": "=1+1", "乙区": "@SUM(A1)", "丙区": "+cmd", "丁区": "-2"}
    renamed = zones.assign(district=zones["district"].replace(names))
    cards = planted.assign(district=planted["district"].replace(names))
    return coverage_table(renamed, None, cards)


def test_export_csv_has_bom_chinese_headers_and_no_formulas(hostile, tmp_path):
    out = export_coverage(hostile, tmp_path / "coverage.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(back.columns[:4]) == ["区县", "人口", "保有客户", "A卡"]
    assert {"'=1+1", "'@SUM(A1)", "'+cmd", "'-2"} <= set(back["区县"])
    assert not back.apply(lambda col: col.str.match(r"^[=+\-@]", na=False)).any().any()
    assert "phone" not in raw.decode("utf-8-sig") and "电话" not in back.columns
    en = pd.read_csv(export_coverage(hostile, tmp_path / "en.csv", lang="en"), encoding="utf-8-sig")
    assert en.columns[0] == "District"


def test_export_xlsx_has_chinese_headers_and_text_cells(hostile, tmp_path):
    out = export_coverage(hostile, tmp_path / "coverage.xlsx")
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["区县", "人口", "保有客户", "A卡"]
    assert "诊断" in header and "建议行动" in header
    districts = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    assert districts[:4] == ["'=1+1", "'@SUM(A1)", "'+cmd", "'-2"]
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            assert cell.data_type != "f"
    rate_col = header.index("订金率（订金卡/A卡）") + 1
    assert sheet.cell(row=2, column=rate_col).number_format == "0.0%"
    assert sheet.cell(row=2, column=rate_col).value == pytest.approx(0.02)


def test_export_refuses_personal_data_and_bad_suffix(zones, planted, tmp_path):
    table = coverage_table(zones, None, planted)
    with pytest.raises(ValueError, match=r"never carries personal data"):
        export_coverage(table.assign(phone="13812345678"), tmp_path / "x.csv")
    leaked = table.assign(label=table["label"].where(table.index != 0, "张三 13812345678"))
    with pytest.raises(ValueError, match="looks like a phone number"):
        export_coverage(leaked, tmp_path / "x.csv")
    with pytest.raises(ValueError, match=r"must end in \.csv or \.xlsx"):
        export_coverage(table, tmp_path / "x.pdf")
    assert not (tmp_path / "x.csv").exists()


def test_bar_chart_data_is_long_format(zones, planted):
    table = coverage_table(zones, None, planted)
    bars = bar_chart_data(table)
    assert list(bars.columns) == ["label", "series", "series_label", "count"]
    assert len(bars) == 2 * len(table)
    first = bars[bars["label"] == "甲区"].set_index("series")["count"]
    assert first.to_dict() == {"a_cards": 100, "deposit_cards": 2}
    assert set(bars["series_label"]) == {"A卡", "订金卡"}
    assert bars["label"].tolist()[:4] == ["甲区", "甲区", "乙区", "乙区"]


def test_choropleth_dissolves_districts(zones, planted):
    table = coverage_table(zones, None, planted)
    frame = choropleth_frames(zones, table)
    assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.to_epsg() == 4326
    assert set(frame["district"]) == set(DISTRICTS)  # unlocated left out
    first = frame[frame["district"] == "甲区"].iloc[0]
    assert first.geometry.area == pytest.approx(2.0)  # two unit zones
    assert first["a_cards_per_10k"] == pytest.approx(10.0)
    assert first["deposit_rate"] == pytest.approx(0.02)
    by_zone = choropleth_frames(zones, coverage_table(zones, None, planted, by="zone"))
    assert len(by_zone) == len(zones)
    assert by_zone.set_index("zone_id").loc["z1b", "a_cards_per_10k"] == pytest.approx(10.0)


def test_inputs_are_not_changed(zones, planted):
    before_z, before_c = zones.copy(), planted.copy()
    coverage_table(zones, None, planted, by="zone", start="2024-01-01")
    pd.testing.assert_frame_equal(zones, before_z)
    pd.testing.assert_frame_equal(planted, before_c)

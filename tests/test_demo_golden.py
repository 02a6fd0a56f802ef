"""Golden figures of the Chengdu demo workspace, loaded the way users load it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from territory.inputs.demo import demo_path
from territory.inputs.workspace import load_workspace, summary

CENSUS = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "census_2020_chengdu_changzhou.csv"
)


@pytest.fixture(scope="module")
def ws():
    return load_workspace(demo_path(), use_store=False)


def test_zone_count_and_city_population(ws):
    assert len(ws.zones) == 395
    assert ws.zones["zone_id"].is_unique
    assert int(ws.zones["population"].sum()) == 20_937_757
    assert ws.zones["district"].nunique() == 20


def test_population_per_district_equals_the_census(ws):
    if not CENSUS.exists():
        pytest.skip(f"census source not found at {CENSUS} (shared/data beside the repository)")
    census = pd.read_csv(CENSUS, dtype={"区划代码": str})
    chengdu = census[(census["市"] == "成都市") & (census["区县"] != "成都市")]
    expected = chengdu.set_index("区县")["人口数_合计"].astype("int64")
    got = ws.zones.groupby("district")["population"].sum()
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()


def test_every_point_is_located(ws):
    table = summary(ws).set_index("layer")
    assert table.loc["customers", "rows"] == 40_000
    assert table.loc["customers", "unlocated"] == 0
    assert table.loc["customers", "address"] == 400  # address-only rows matched offline
    assert table.loc["customers", "zone_id"] == 200
    for layer in ("cards", "events", "pois"):
        assert table.loc[layer, "unlocated"] == 0, layer
        assert table.loc[layer, "in_zone"] == table.loc[layer, "rows"], layer
    # Every customer is in a zone, except addresses that name only a district
    # (no street or town): those are counted in their district, listed in a notice.
    notices = {p.key: p for p in ws.notices}
    district_only = len(notices["notice.address_district_only"].rows)
    assert 0 < district_only < 400
    assert table.loc["customers", "in_zone"] + district_only == 40_000
    assert ws.customers["district"].notna().all()
    assert "notice.far_outside_zones" not in notices


def test_dealer_and_models(ws):
    assert [m.price for m in ws.dealer.models] == [89_800, 129_800, 189_800]
    assert ws.dealer.coord_sys == "gcj02"
    # dealer.toml holds GCJ-02; the loaded dealer is WGS-84, a few hundred metres away.
    from territory.inputs import coords

    raw = json.loads((demo_path() / "planted.json").read_text(encoding="utf-8"))["dealer_gcj02"]
    back = coords.wgs84_to_gcj02(ws.dealer.lon, ws.dealer.lat)
    assert back == pytest.approx(tuple(raw), abs=1e-6)
    shift_m = ((raw[0] - ws.dealer.lon) * 96_000) ** 2 + ((raw[1] - ws.dealer.lat) * 111_000) ** 2
    assert 100 < shift_m**0.5 < 700

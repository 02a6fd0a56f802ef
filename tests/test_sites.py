"""Sites a manager can defend and a field team can find (issue 12).

The model matters, the spot, cost per sale, capacity and the calendar,
referral, competitors (Huff), coverage weighting, explanations, user-chosen
sites, and one site brief that the web card, the plan and the print agree on.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DEALER, centre, make_workspace
from shapely.geometry import Point
from test_analysis import LAT0, LON0, STEP, grid_workspace

from territory.analysis.huff import fit_decay, huff_share
from territory.analysis.zones import analyse, score_json
from territory.cli import main
from territory.inputs import coords
from territory.inputs.dealer import parse_dealer
from territory.inputs.workspace import load_workspace
from territory.outreach.plan import build_plan
from territory.outreach.ranking import recommend, recommend_json, recommend_weeks
from territory.outreach.site import SiteFacts
from territory.render import maps
from territory.render.printing import PrintOptions, print_sites
from territory.vocab import FORMATS, label

SATURDAY = dt.date(2026, 11, 28)


def _points(zone_geom, n: int, rng) -> list[Point]:
    minx, miny, maxx, maxy = zone_geom.bounds
    out = []
    while len(out) < n:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if zone_geom.contains(p):
            out.append(p)
    return out


def _customers(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    geoms = frame.pop("geometry")
    frame["customer_id"] = [f"C{i}" for i in range(len(frame))]
    frame["located_by"] = "coords"
    frame["district"] = None
    for column in ("purchase_date", "delivery_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


# ---------------------------------------------------------------- the model matters


def test_a_planted_premium_zone_is_a_top_site_for_the_premium_model_only():
    """Income fit for the 190k model, few of its buyers: top for it, not for the 90k car."""
    rich = {(i, j) for i in range(5, 8) for j in range(8)}  # the east: incomes fit the premium car
    planted = (5, 2)

    def income(i, j):
        return 63_000.0 if (i, j) in rich | {planted} else 30_000.0

    ws = grid_workspace(8, income=income, population=20_000)
    ws.dealer = parse_dealer(
        {
            "name": "D",
            "lon": LON0 + 4 * STEP,
            "lat": LAT0 + 4 * STEP,
            "models": [{"name": "家轿", "price": 90_000}, {"name": "豪华", "price": 190_000}],
        }
    )
    rng = np.random.default_rng(7)
    rows = []
    for _, z in ws.zones.iterrows():
        i, j = int(z["zone_id"][:2]), int(z["zone_id"][2:])
        d = np.hypot(i - 3.5, j - 3.5)
        if (i, j) == planted:
            cheap, premium = 6, 2
        elif (i, j) in rich:
            cheap, premium = 6, 30
        else:
            cheap, premium = round(30 * float(np.exp(-d / 6))), 1
        for model, n in (("家轿", cheap), ("豪华", premium)):
            for p in _points(z.geometry, n, rng):
                rows.append({"model": model, "zone_id": z["zone_id"], "geometry": p})
    ws.customers = _customers(rows)
    zid = f"{planted[0]:02d}{planted[1]:02d}"

    premium = recommend(ws, date=SATURDAY, top=3, model="豪华")
    cheap = recommend(ws, date=SATURDAY, top=5, model="家轿")
    assert zid in list(premium.sites["zone_id"])
    assert zid not in list(cheap.sites["zone_id"])
    # White space is per model: the planted zone lacks premium buyers, not cheap ones.
    za = premium.analysis.zones.set_index("zone_id")
    zc = cheap.analysis.zones.set_index("zone_id")
    assert za.loc[zid, "customers"] == 2 and zc.loc[zid, "customers"] == 6
    assert za.loc[zid, "owners"] == zc.loc[zid, "owners"] == 8
    assert za.loc[zid, "whitespace_score"] > 0.5 > zc.loc[zid, "whitespace_score"]
    site = premium.sites.set_index("zone_id").loc[zid]
    assert site["r_verdict"] == "match"
    assert any("R 3.0：收入与该车型目标人群匹配" in r for r in site["reasons"])
    # For the cheap car the same zone reads "income above the model's buyers" and suggests the premium one.
    brief = cheap.facts.brief(zid, SATURDAY)
    assert brief.model_fit.verdict == "upscale"
    assert brief.model_fit.text("zh") == "R 1.4：收入高于该车型目标人群，宜推高配/置换"
    assert brief.model_fit.best_model == "豪华"
    # ... and the zone cards say which model to feature.
    feature = dict(zip(cheap.analysis.zones["zone_id"], cheap.facts.feature_models(), strict=True))
    assert feature[zid] == "豪华" and feature["0000"] == "家轿"


# ---------------------------------------------------------------- cost per sale: street spot vs residential


def _street_spot_workspace(tmp_path: Path, events: str | None, *, spot: bool = True) -> Path:
    """Four residential zones in a row; zone 001 holds a street spot (人流点)."""
    from conftest import zones_geojson

    zones = [
        {
            "zone_id": f"00{i + 1}",
            "name": f"Z{i + 1}",
            "district": "武侯区",
            "zone_type": "residential",
            "population": 30000,
            "income": 40000,
        }
        for i in range(4)
    ]
    (x, y) = centre(0)
    pois = f"poi_id,name,poi_type,lon,lat\nS1,地铁口人流点,人流点,{x},{y}\n" if spot else None
    dealer = DEALER.replace("lon = 104.03", "lon = 104.04")
    return make_workspace(
        tmp_path / "ws", zones=zones_geojson(zones), pois=pois, events=events, dealer=dealer
    )


def _events(fmt: str, *, cost: float, leads: float, sales: float, n: int = 20) -> str:
    rows = ["event_id,date,zone_id,format,cost,leads,sales"]
    rows += [
        f"E{i},2026-0{1 + i % 6}-0{1 + i % 7},004,{fmt},{cost},{leads},{sales}" for i in range(n)
    ]
    return "\n".join(rows) + "\n"


def _scores(tmp_path: Path, events: str | None, *, spot: bool = True):
    ws = load_workspace(_street_spot_workspace(tmp_path, events, spot=spot), use_store=False)
    rec = recommend(ws, date=SATURDAY, top=4)
    return rec, rec.scores.set_index("zone_id")


def test_a_street_spot_beats_a_residential_zone_when_its_cost_per_sale_says_so(tmp_path):
    # Without the street spot, zone 001 (residential) ranks below zone 002.
    good = _events("wave_down_test_drive", cost=2000, leads=80, sales=8)
    _, base = _scores(tmp_path / "base", good, spot=False)
    assert base.loc["001", "score"] < base.loc["002", "score"]
    assert base.loc["001", "best_format"] == base.loc["002", "best_format"] == "midday_display"

    # Learned: wave-down test drives sell at ~230 CNY per sale, community displays at ~3,000.
    rec, scores = _scores(tmp_path / "good", good)
    assert scores.loc["001", "best_format"] == "wave_down_test_drive"
    assert scores.loc["001", "cost_per_sale"] < 300 < 2000 < scores.loc["002", "cost_per_sale"]
    assert scores.loc["001", "score"] > scores.loc["002", "score"]
    site = rec.sites.set_index("zone_id").loc["001"]
    assert site["formats"][0] == "wave_down_test_drive"
    assert site["spot"]["kind"] == "street_spot" and site["spot"]["name"] == "地铁口人流点"
    assert any("每单成本约" in r and "招手试驾" in r for r in site["reasons"])

    # Wave-down outings that bring leads and no sales: the street spot changes nothing.
    bad = _events("wave_down_test_drive", cost=5000, leads=100, sales=0, n=30)
    _, scores = _scores(tmp_path / "bad", bad)
    assert scores.loc["001", "best_format"] == "midday_display"
    assert scores.loc["001", "score"] < scores.loc["002", "score"]
    _, bad_base = _scores(tmp_path / "bad-base", bad, spot=False)
    assert scores["score"].to_dict() == pytest.approx(bad_base["score"].to_dict())

    # No history at all: the seed's priors decide (招手试驾 ≈ 32 CNY per sale, community 3,000).
    _, scores = _scores(tmp_path / "none", None)
    assert scores.loc["001", "best_format"] == "wave_down_test_drive"
    assert scores.loc["001", "cost_per_sale"] == pytest.approx(2.47 / 0.0765)
    assert scores.loc["001", "score"] > scores.loc["002", "score"]


# ---------------------------------------------------------------- capacity and calendar


def test_capacity_one_outing_a_day_over_two_weeks_gives_two_dates(tmp_path, capsys):
    dealer = DEALER + "[team]\nstaff_per_day = 3\ntest_cars = 2\n"
    root = make_workspace(tmp_path / "ws", dealer=dealer)
    ws = load_workspace(root, use_store=False)
    weeks = recommend_weeks(ws, date=SATURDAY, weeks=2, top=3)
    assert [w.date for w in weeks] == [SATURDAY, SATURDAY + dt.timedelta(days=7)]
    assert [len(w.sites) for w in weeks] == [1, 1]
    assert weeks[0].sites["zone_id"].iloc[0] != weeks[1].sites["zone_id"].iloc[0]
    assert weeks[0].capacity["staff"] == 3 and weeks[0].capacity["used_staff"] == 3
    assert any(p["why"] == "capacity" for p in weeks[0].passed)

    assert (
        main(
            ["recommend", str(root), "--date", "2026-11-28", "--weeks", "2", "--top", "3", "--json"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert [w["date"] for w in doc["weeks"]] == ["2026-11-28", "2026-12-05"]
    assert all(len(w["sites"]) == 1 for w in doc["weeks"])
    assert doc["sites"] == doc["weeks"][0]["sites"]


def test_without_a_team_table_there_is_no_capacity_limit(tiny_ws):
    ws = load_workspace(tiny_ws, use_store=False)
    rec = recommend(ws, date=SATURDAY, top=3)
    assert len(rec.sites) == 3 and rec.capacity is None


def test_bad_team_table_is_a_clear_error(tmp_path, capsys):
    root = make_workspace(
        tmp_path / "ws", dealer=DEALER + '[team]\nstaff_per_day = 0\ntest_cars = "two"\n'
    )
    assert main(["validate", str(root), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "team.staff_per_day" in err and "team.test_cars" in err


# ---------------------------------------------------------------- referral (seed 003)


def test_referral_counts_owners_delivered_one_to_six_months_before_within_reach(tmp_path):
    x, y = centre(0)
    near_x = x + 0.002
    far_x = x + 0.045  # about 4.3 km east
    day = SATURDAY

    def ago(months: float) -> str:
        return (day - dt.timedelta(days=round(months * 30.44))).isoformat()

    rows = [
        ("C1", near_x, ago(0.5)),  # too recent
        ("C2", near_x, ago(2.5)),  # in, near the peak
        ("C3", near_x, ago(3.0)),  # in, the peak
        ("C4", near_x, ago(5.5)),  # in
        ("C5", near_x, ago(7.0)),  # too old
        ("C6", far_x, ago(3.0)),  # out of reach
    ]
    customers = "customer_id,name,phone,model,purchase_date,delivery_date,lon,lat\n" + "".join(
        f"{cid},张三,1381234000{i},家轿 A,{ago(8)},{d},{lon},{y}\n"
        for i, (cid, lon, d) in enumerate(rows)
    )
    pois = f"poi_id,name,poi_type,households,lon,lat\nR1,锦绣花园,小区,1200,{x},{y}\n"
    root = make_workspace(tmp_path / "ws", customers=customers, pois=pois)
    ws = load_workspace(root, use_store=False)
    facts = SiteFacts.for_workspace(ws)
    brief = facts.brief("001", day, referral_rows=True)
    assert brief.spot.name == "锦绣花园" and brief.spot.kind == "residential"
    assert brief.referral.count == 3
    assert brief.referral.peak == 2
    ids = [ws.customers.iloc[r]["customer_id"] for r in brief.referral.rows]
    assert ids == ["C3", "C2", "C4"]  # nearest the 3-month peak first
    # Without a delivery date, the purchase date stands for it: all bought 8 months ago.
    ws.customers = ws.customers.assign(delivery_date=pd.NaT)
    assert SiteFacts.for_workspace(ws).brief("001", day).referral.count == 0
    # The plan carries the 转介绍 talking point and the audience row.
    ws = load_workspace(root, use_store=False)
    plan = build_plan(ws, zone_id="001", date=day)
    content = [v for _, v in plan.section("content").rows]
    assert any(v.startswith("转介绍：附近 3 位车主") for v in content)
    assert any("3 位" in v for k, v in plan.section("audience").rows if k == "转介绍对象")


def test_masked_invitation_list_puts_referral_targets_first(tmp_path):
    x, y = centre(0)
    customers = "customer_id,name,phone,model,purchase_date,lon,lat\n" + "".join(
        f"C{i},王小{i},1390000{i:04d},家轿 A,{(SATURDAY - dt.timedelta(days=30 * (1 + i % 9))).isoformat()},{x + 0.001 * (i % 5)},{y}\n"
        for i in range(12)
    )
    root = make_workspace(tmp_path / "ws", customers=customers)
    ws = load_workspace(root, use_store=False)
    out = tmp_path / "p.pdf"
    print_sites(ws, PrintOptions(sites=["001"], date=SATURDAY, contacts="masked"), out=out)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True
    ).stdout
    assert "★" in text and "13900000001" not in text
    assert "139****0001" in text


# ---------------------------------------------------------------- competitors (Huff)


def test_huff_decay_is_recovered_from_customers_drawn_from_a_known_model():
    rng = np.random.default_rng(12)
    n = 600
    xy = rng.uniform(-12, 12, (n, 2))
    comp = np.array([[7.0, 1.0], [-6.0, 6.0], [2.0, -8.0]])
    d0 = np.hypot(*xy.T)
    dc = np.hypot(xy[:, None, 0] - comp[:, 0], xy[:, None, 1] - comp[:, 1])
    pop = rng.uniform(3000, 20000, n)
    for beta in (1.0, 2.0):
        y = rng.poisson(0.003 * pop * huff_share(d0, dc, beta=beta))
        fit = fit_decay(y, pop, d0, dc, income=rng.uniform(3e4, 6e4, n))
        assert fit.fitted
        assert abs(fit.beta - beta) / beta < 0.10
        assert fit.beta_low < beta < fit.beta_high
        assert fit.deviance_explained > 0.2


def test_the_huff_fit_imports_only_statsmodels_glm():
    # ``statsmodels.api`` imports all of statsmodels (0.40 s against 0.06 s for the GLM), paid
    # by the first analysis after every start of the app or a command.
    import sys

    code = """
import sys
import numpy as np
from territory.analysis.huff import fit_decay, huff_share
rng = np.random.default_rng(3)
xy = rng.uniform(-10, 10, (300, 2))
comp = np.array([[6.0, 0.0]])
d0 = np.hypot(*xy.T)
dc = np.hypot(xy[:, None, 0] - comp[:, 0], xy[:, None, 1] - comp[:, 1])
pop = np.full(300, 5000.0)
fit = fit_decay(rng.poisson(0.004 * pop * huff_share(d0, dc, beta=1.5)), pop, d0, dc)
print(fit.fitted, "statsmodels.genmod" in sys.modules, "statsmodels.api" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "False"]


def test_a_competitor_next_to_a_zone_lowers_its_share_and_fits_through_analyse():
    beta = 1.8
    ws = grid_workspace(12, population=10_000)
    comp_lon, comp_lat = LON0 + 10.5 * STEP, LAT0 + 10.5 * STEP  # north-east, inside zone 1010
    ws.pois = gpd.GeoDataFrame(
        {
            "poi_id": ["K1"],
            "name": ["竞品甲 4S 店"],
            "poi_type": ["competitor"],
            "brand": ["甲"],
            "zone_id": ["1010"],
            "district": [None],
            "located_by": ["coords"],
            "households": [pd.NA],
        },
        geometry=[Point(comp_lon, comp_lat)],
        crs="EPSG:4326",
    )
    crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
    cen = ws.zones.geometry.to_crs(crs).representative_point()
    dealer = gpd.GeoSeries([Point(ws.dealer.lon, ws.dealer.lat)], crs=4326).to_crs(crs).iloc[0]
    comp = gpd.GeoSeries([Point(comp_lon, comp_lat)], crs=4326).to_crs(crs).iloc[0]
    d0 = np.hypot(cen.x - dealer.x, cen.y - dealer.y) / 1000
    dc = (np.hypot(cen.x - comp.x, cen.y - comp.y) / 1000).to_numpy()[:, None]
    share = huff_share(d0.to_numpy(), dc, beta=beta)
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.02 * 10_000 * share)
    rows = []
    for (_, z), k in zip(ws.zones.iterrows(), counts, strict=True):
        for p in _points(z.geometry, int(k), rng):
            rows.append({"model": "M", "zone_id": z["zone_id"], "geometry": p})
    ws.customers = _customers(rows)
    a = analyse(ws)
    assert a.huff is not None and a.huff.fitted and a.huff.supported
    assert abs(a.huff.beta - beta) / beta < 0.10
    zones = a.zones.set_index("zone_id")
    assert zones.loc["1010", "share"] < 0.5 < zones.loc["0101", "share"]
    assert zones.loc["1010", "competitor"] == "竞品甲 4S 店"
    doc = score_json(a)
    assert all("share" in z for z in doc["zones"])
    assert doc["huff"]["fitted"] is True
    # Next to the competitor the reasons carry a conquest note.
    facts = SiteFacts.for_workspace(ws, analysis=a)
    brief = facts.brief("1010", SATURDAY)
    assert brief.competitor == "竞品甲 4S 店" and brief.competitor_km < 1


def test_without_competitors_the_share_is_one(tiny_ws):
    a = analyse(load_workspace(tiny_ws, use_store=False))
    assert (a.zones["share"] == 1.0).all()
    assert a.huff is not None and not a.huff.fitted


# ---------------------------------------------------------------- the spot


def test_spot_prefers_the_biggest_compound_then_the_densest_cell(tmp_path):
    x, y = centre(0)
    pois = (
        "poi_id,name,poi_type,households,lon,lat\n"
        f"R1,小区甲,residential,500,{x - 0.004},{y}\n"
        f"R2,小区乙,residential,1200,{x + 0.004},{y + 0.004}\n"
    )
    # Zone 002 has no POI: its owners cluster in its north-east corner.
    x2, y2 = centre(1)
    customers = "customer_id,model,lon,lat\n" + "".join(
        f"C{i},家轿 A,{x2 + 0.007 + 0.0002 * (i % 4)},{y2 + 0.007 + 0.0002 * (i // 4)}\n"
        for i in range(12)
    )
    root = make_workspace(tmp_path / "ws", pois=pois, customers=customers)
    ws = load_workspace(root, use_store=False)
    facts = SiteFacts.for_workspace(ws)
    spot = facts.brief("001", SATURDAY).spot
    assert (spot.name, spot.kind, spot.poi_id) == ("小区乙", "residential", "R2")
    cell = facts.brief("002", SATURDAY).spot
    assert cell.kind == "cell"
    zone = ws.zones.set_index("zone_id").loc["002", "geometry"]
    assert zone.contains(Point(cell.lon, cell.lat))
    assert cell.lon > x2 + 0.005 and cell.lat > y2 + 0.005
    empty = facts.brief("004", SATURDAY).spot
    assert empty.kind == "centre"
    assert (
        ws.zones.set_index("zone_id").loc["004", "geometry"].contains(Point(empty.lon, empty.lat))
    )


def test_printed_map_carries_a_qr_code_that_opens_amap_at_the_spot(tmp_path):
    import zxingcpp
    from PIL import Image

    x, y = centre(0)
    pois = f"poi_id,name,poi_type,households,lon,lat\nR1,锦绣花园,residential,900,{x},{y}\n"
    ws = load_workspace(make_workspace(tmp_path / "ws", pois=pois), use_store=False)
    out = tmp_path / "map.pdf"
    result = print_sites(ws, PrintOptions(sites=["001"], date=SATURDAY), out=out)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", str(out), str(tmp_path / "p")],
        check=True,
    )
    png = next(tmp_path.glob("p-*.png"))
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(png))]
    assert len(found) == 1
    url = urlparse(found[0])
    assert (url.scheme, url.netloc, url.path) == ("https", "uri.amap.com", "/navigation")
    query = parse_qs(url.query)
    lon, lat, name = query["to"][0].split(",", 2)
    glon, glat = coords.wgs84_to_gcj02(x, y)
    assert float(lon) == pytest.approx(glon, abs=1e-6) and float(lat) == pytest.approx(
        glat, abs=1e-6
    )
    assert name == "锦绣花园" and query["coordinate"] == ["gaode"]
    site = result.sites[0]
    assert site["map"]["spot_on_map"] and site["map"]["qr"]["url"] == found[0]
    # The map zooms to the spot: it sits in the middle of the frame.
    x0, y0, x1, y1 = site["map"]["extent"]
    sx, sy = site["map"]["spot_xy"]
    assert abs((sx - x0) / (x1 - x0) - 0.5) < 0.05 and abs((sy - y0) / (y1 - y0) - 0.5) < 0.05
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(out), "-"], capture_output=True, text=True
    ).stdout
    assert "设点：锦绣花园（小区门口）" in text.replace("\n", "")


# ---------------------------------------------------------------- one brief: card, plan and print agree


def test_card_plan_and_print_agree_on_formats_with_a_playbook_override(tmp_path):
    from territory.ui.state import _zone_formats

    root = make_workspace(tmp_path / "ws")
    (root / "playbook.toml").write_text(
        '[zone_types.residential]\nformats = ["evening_display", "midday_display"]\n',
        encoding="utf-8",
    )
    ws = load_workspace(root, use_store=False)
    a = analyse(ws)
    plan = build_plan(ws, zone_id="001", date=SATURDAY, analysis=a)
    printed = print_sites(
        ws, PrintOptions(sites=["001"], date=SATURDAY), out=tmp_path / "p.pdf", analysis=a
    )
    formats = _zone_formats(ws, a, "zh", SATURDAY.isoformat())
    card = formats[list(a.zones["zone_id"]).index("001")]
    assert plan.formats == printed.sites[0]["formats"] == card
    assert "owner_free_service" not in card and set(card) == {"evening_display", "midday_display"}
    m = maps.base_map(lon=ws.dealer.lon, lat=ws.dealer.lat, radius_km=15)
    maps.add_zones(m, a.zones, formats=formats)
    html = m.get_root().render()
    expected = "、".join(label(f, FORMATS, "zh") for f in card)
    assert expected in html
    assert "保有客户免费服务" not in html
    # Without a date the card still follows the override (playbook order).
    assert _zone_formats(ws, a, "zh", None)[0] == ["evening_display", "midday_display"]


# ---------------------------------------------------------------- user-chosen sites, explanations, coverage


def test_user_chosen_sites_are_planned_like_the_others(tiny_ws, capsys):
    ws = load_workspace(tiny_ws, use_store=False)
    rec = recommend(ws, date=SATURDAY, top=2, sites=["003"])
    by = rec.sites.set_index("zone_id")["chosen_by"]
    assert by.loc["003"] == "user" and (by.drop("003") == "recommended").all()
    assert "用户指定的外拓点" in rec.sites.set_index("zone_id").loc["003", "reasons"]
    assert (
        main(
            [
                "recommend",
                str(tiny_ws),
                "--date",
                "2026-11-28",
                "--top",
                "2",
                "--site",
                "003",
                "--site",
                "004",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    chosen = {s["zone_id"]: s["chosen_by"] for s in doc["sites"]}
    assert chosen == {"003": "user", "004": "user"}
    for site in doc["sites"]:
        for key in (
            "spot",
            "expected_leads",
            "expected_sales",
            "cost",
            "referral_targets",
            "chosen_by",
        ):
            assert key in site
        assert set(site["spot"]) >= {"lon", "lat", "kind", "name"}
    assert main(["recommend", str(tiny_ws), "--site", "nope", "--json"]) == 2


def test_the_next_best_zone_is_explained_by_its_overlap():
    def population(i, j):
        return 60_000 if (i, j) in {(1, 1), (1, 2)} else 5_000

    ws = grid_workspace(6, population=population, customers_per_zone=lambda z: 0)
    rec = recommend(ws, date=SATURDAY, top=1)
    assert len(rec.sites) == 1 and rec.passed
    best = rec.passed[0]
    assert best["why"] == "overlap" and best["overlaps_rank"] == 1
    assert best["text"].startswith(f"{best['name']} {best['score']:.2f} 未选：与 1 号点覆盖重叠")
    doc = recommend_json(rec)
    assert doc["not_chosen"][0]["text"] == best["text"]


def test_awareness_gap_districts_weigh_up_their_zones():
    from territory.inputs.demo import demo_path

    ws = load_workspace(demo_path(), use_store=False)
    rec = recommend(ws, date=SATURDAY, top=5)
    planted = set(
        json.loads((demo_path() / "planted.json").read_text("utf-8"))["awareness_gap_districts"]
    )
    scores = rec.scores
    gap = scores[scores["awareness_gap"]]
    assert len(gap) and set(gap["district"]) <= planted
    assert (gap["coverage_factor"] == ws.settings.site.awareness_gap_factor).all()
    assert (scores.loc[~scores["awareness_gap"], "coverage_factor"] == 1.0).all()
    site = gap.sort_values("score").iloc[-1]
    brief = rec.facts.brief(site["zone_id"], SATURDAY)
    assert brief.awareness_gap


def test_a_re_rank_reuses_the_market_coverage_and_ranks_as_without_it():
    """New weights or dates (a new Settings) reuse the coverage table; results stay the same."""
    import dataclasses

    from territory.inputs.demo import demo_path
    from territory.leads.coverage import coverage_table
    from territory.outreach import site

    ws = load_workspace(demo_path(), use_store=False)
    analysis = analyse(ws)
    overrides = {"ranking": {"weights": {"distance": 0.4}, "rotation_weeks": 6}}
    site._MARKET.clear()
    recommend(ws, date=SATURDAY, top=5, analysis=analysis)  # fills the cache
    assert len(site._MARKET) == 1
    warm = recommend(
        ws, date=SATURDAY + dt.timedelta(days=7), top=5, analysis=analysis, overrides=overrides
    )
    assert len(site._MARKET) == 1  # the re-rank's new Settings hit the cached table
    site._MARKET.clear()
    site._CACHE.clear()
    cold = recommend(
        ws, date=SATURDAY + dt.timedelta(days=7), top=5, analysis=analysis, overrides=overrides
    )
    pd.testing.assert_frame_equal(warm.scores, cold.scores)
    pd.testing.assert_frame_equal(warm.sites, cold.sites)
    assert {z: b.to_dict() for z, b in warm.briefs.items()} == {
        z: b.to_dict() for z, b in cold.briefs.items()
    }
    assert recommend_json(warm) == recommend_json(cold)

    # The cached zone centres are those of projecting just the rows asked for.
    crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
    pool = warm.scores.iloc[::3]
    direct = pool.geometry.to_crs(crs).representative_point()
    np.testing.assert_array_equal(
        site.pool_centres(pool, analysis.zones, crs),
        np.column_stack([direct.x.to_numpy(), direct.y.to_numpy()]),
    )

    # Only settings.coverage matters: other sections share the table, coverage changes miss it.
    settings = ws.settings
    first = site.market_coverage(ws, analysis, settings, "zh")
    other = dataclasses.replace(
        settings, ranking=dataclasses.replace(settings.ranking, rotation_weeks=9)
    )
    assert site.market_coverage(ws, analysis, other, "zh") is first
    stricter = dataclasses.replace(
        settings, coverage=dataclasses.replace(settings.coverage, gap_ratio=0.95)
    )
    fresh = site.market_coverage(ws, analysis, stricter, "zh")
    assert fresh is not first
    market = set(
        analysis.zones.loc[analysis.zones["in_influence_area"].astype(bool), "district"].dropna()
    )
    expected = coverage_table(
        ws.zones, ws.customers, ws.cards, by="district", settings=stricter, lang="zh", market=market
    )
    pd.testing.assert_frame_equal(fresh, expected)
    assert fresh.attrs["gap_ratio"] == 0.95

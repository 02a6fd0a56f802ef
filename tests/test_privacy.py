"""Personal data never leaves in an export; no file Territory writes runs a formula.

The first test is the one issue 13 asks for: a workspace with phone and ID
numbers in arbitrary columns and formula payloads everywhere goes through every
writer of the command line (export, plan, coverage as CSV and XLSX), and no
output holds a mobile number, an 18-digit ID number or a cell that starts with
a formula prefix.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEALER, ZONES, centre, make_workspace, zones_geojson

from territory.cli import main
from territory.privacy import (
    mask_address,
    mask_frame,
    mask_text,
    neutralise,
    safe_cell,
    safe_frame,
    write_table,
)

MOBILE = re.compile(r"1[3-9]\d{9}")
ID18 = re.compile(r"\d{17}[\dXx]")
PREFIXES = ("=", "+", "-", "@")
FORMULAS = ['=HYPERLINK("http://evil","点我")', "+SUM(1,2)", "-2+3", "@cmd", "=cmd|' /C calc'!A0"]


def _id(base17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return (
        base17 + "10X98765432"[sum(int(c) * w for c, w in zip(base17, weights, strict=True)) % 11]
    )


def _leaky_workspace(root: Path) -> Path:
    records = [dict(z) for z in ZONES]
    records[0]["name"] = FORMULAS[0]
    records[1]["district"] = FORMULAS[1]
    records[2]["name"] = "=2+2"
    x, y = centre(0)
    header = [
        "customer_id",
        "name",
        "phone",
        "model",
        "occupation",
        "lon",
        "lat",
        "address",
        "备用电话",
        "备注",
        "身份证号",
        "紧急联系人",
        FORMULAS[4],
    ]
    rows = []
    for k in range(12):
        rows.append(
            [
                "13912345678" if k == 0 else f"C{k:03d}",
                FORMULAS[k % 5],
                f"1380013{k:04d}",
                FORMULAS[(k + 1) % 5],
                FORMULAS[(k + 2) % 5],
                x + 0.001 * (k % 5),
                y + 0.001 * (k % 3),
                f"成都市武侯区玉林北路{k + 1}号{k % 4 + 1}栋2单元50{k % 9}室",
                f"+86 137 0000 {k:04d}",
                f"周末来店，电话15{k:09d}，证件{_id(f'5101041990010{k:04d}')}",
                _id(f"1101051949123{k:04d}"),
                f"李{k}，18{k:09d}",
                FORMULAS[(k + 3) % 5],
            ]
        )
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    cx, cy = centre(2)
    cards = "card_id,card_type,date,model,name,phone,lon,lat,备注\n" + "".join(
        f"=K{k},{'A卡' if k % 2 else '订金'},2026-05-0{k + 1},@SUM(A1),1860000{k:04d},"
        f"1860000{k:04d},{cx},{cy},=1+{k}\n"
        for k in range(6)
    )
    events = "event_id,date,zone_id,location,format,cost,leads,sales\n=E1,2026-04-04,001,-玉林街道,flyers,2000,80,6\n"
    dealer = DEALER.replace('name = "测试 4S 店"', 'name = "=测试店"').replace(
        'name = "家轿 A"', 'name = "+家轿"'
    )
    return make_workspace(
        root,
        customers=buf.getvalue(),
        cards=cards,
        events=events,
        zones=zones_geojson(records),
        dealer=dealer,
    )


def _cells(path: Path) -> list[str]:
    if path.suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    from openpyxl import load_workbook

    out = []
    for sheet in load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    out.append("=" + str(cell.value).lstrip("="))
                elif cell.value is not None:
                    out.append(str(cell.value))
    return out


def _raw_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return path.read_text(encoding="utf-8-sig", errors="replace")


def test_no_output_file_holds_a_phone_an_id_number_or_a_formula(tmp_path, capsys):
    root = _leaky_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    out.mkdir()
    commands = [
        ["export", str(root), "--out", str(out / "plain")],
        ["plan", str(root), "--site", "001", "--date", "2026-12-12", "--out", str(out / "p.xlsx")],
        ["coverage", str(root), "--out", str(out / "c.csv")],
        ["coverage", str(root), "--by", "zone", "--out", str(out / "c.xlsx")],
    ]
    for argv in commands:
        assert main([*argv, "--lang", "en"]) == 0, capsys.readouterr().err
    files = sorted(p for p in out.rglob("*") if p.suffix in (".csv", ".xlsx"))
    assert {p.name for p in files} >= {
        "customers.csv",
        "cards.csv",
        "events.csv",
        "p.xlsx",
        "c.csv",
        "c.xlsx",
    }
    for path in files:
        text = _raw_text(path)
        assert not MOBILE.search(text), (path.name, MOBILE.search(text).group(0))
        assert not MOBILE.search(re.sub(r"[\s\-+]", "", text)), path.name
        assert not ID18.search(text), (path.name, ID18.search(text).group(0))
        for cell in _cells(path):
            assert not cell.startswith(PREFIXES), (path.name, cell)
    exported = pd.read_csv(out / "plain" / "customers.csv", dtype=str, encoding="utf-8-sig")
    # Masked, not dropped: every column is still there and still says what it held.
    assert exported["phone"].str.fullmatch(r"138\*{4}\d{4}").all()
    assert exported["备用电话"].str.contains(r"137\*{4}\d{4}").all()
    assert exported["address"].str.endswith("****").all()
    assert exported["address"].str.startswith("成都市武侯区玉林北路").all()
    assert exported["紧急联系人"].str.startswith("李").all()
    assert not exported["address"].str.contains(r"\d+\s*[号栋单元室]").any()
    # And the export is still a workspace the product reads.
    assert main(["validate", str(out / "plain"), "--lang", "en"]) == 0, capsys.readouterr().err


def test_personal_data_only_when_asked_and_formulas_never(tmp_path, capsys):
    root = _leaky_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    argv = ["export", str(root), "--out", str(out), "--include-personal-data"]
    assert main(argv) == 0, capsys.readouterr().err
    text = (out / "customers.csv").read_text(encoding="utf-8-sig")
    assert "13800130000" in text and "玉林北路1号1栋" in text
    for path in out.glob("*.csv"):
        assert not any(cell.startswith(PREFIXES) for cell in _cells(path)), path.name


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("8613812341234", "138****1234"),
        ("电话：13812341234，谢谢", "电话：138****1234，谢谢"),
        ("028-85123456", "028-****3456"),
        ("51010419900101123X", "510***********123X"),
        ("110105194912310", "110********2310"),
        ("卡号 6222021234567890123", "卡号 622**************23"),
        ("订单 202512345678", "订单 202*******78"),
        ("成都市武侯区玉林北路12号3栋2单元501室", "成都市武侯区玉林北路****"),
        ("锦绣花园3栋2单元", "锦绣花园****"),
        ("3栋2单元501", "****"),
        ("玉林街道", "玉林街道"),
        ("周日2号来店看车", "周日2号来店看车"),  # a date, not a house number
        ("家轿 A", "家轿 A"),
        ("2025-03-01", "2025-03-01"),
        ("104.0612345", "104.0612345"),
    ],
)
def test_mask_text_by_content(text, masked):
    assert mask_text(text) == masked
    assert not MOBILE.search(str(mask_text(text))) or text == masked


def test_identifiers_keep_long_numbers_that_are_no_phone():
    frame = pd.DataFrame(
        {"customer_id": ["202401010001", "13912345678"], "备注": ["202401010001", "x"]}
    )
    out = mask_frame(frame)
    assert out["customer_id"].tolist() == ["202401010001", "139****5678"]
    assert out["备注"].tolist() == ["202*******01", "x"]


def test_mask_address_keeps_the_street():
    assert (
        mask_address("成都市锦江区春熙路街道总府路8号附3号") == "成都市锦江区春熙路街道总府路****"
    )
    assert mask_address(None) is None


def test_safe_frame_masks_names_by_header_and_neutralises_headers_and_cells():
    frame = pd.DataFrame(
        {
            "name": ["张三", None],
            "车主": ["王五", "赵六"],
            "=bad": ["@x", "ok"],
            "cost": [-5.0, 3.0],
            "date": pd.to_datetime(["2026-01-01", None]),
        }
    )
    out = safe_frame(frame)
    assert out.columns.tolist() == ["name", "车主", "'=bad", "cost", "date"]
    assert out["name"].tolist()[0] == "张*" and pd.isna(out["name"].iloc[1])
    assert out["车主"].tolist() == ["王*", "赵*"]
    assert out["'=bad"].tolist() == ["'@x", "ok"]
    assert out["cost"].tolist() == [-5.0, 3.0]  # numbers stay numbers
    raw = safe_frame(frame, mask=False)
    assert raw["name"].iloc[0] == "张三" and raw["'=bad"].iloc[0] == "'@x"


def test_safe_cell_and_neutralise():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("call 13812341234") == "call 138****1234"
    assert safe_cell("13812341234", mask=False) == "13812341234"
    assert neutralise(-3) == -3 and neutralise("\tx") == "'\tx"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_table_is_the_shared_safe_writer(tmp_path, suffix):
    frame = pd.DataFrame(
        {"name": ["张三"], "phone": ["13812341234"], "note": ["=HYPERLINK(1)"], "n": [3]}
    )
    path = write_table(frame, tmp_path / f"t{suffix}")
    cells = _cells(path)
    assert "张*" in cells and "138****1234" in cells and "'=HYPERLINK(1)" in cells
    assert not any(c.startswith(PREFIXES) for c in cells)
    assert not list(tmp_path.glob(".t-*"))  # the unique temporary file was moved into place
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path).active
        assert sheet["C2"].data_type == "s" and sheet["D2"].value == 3
    with pytest.raises(ValueError, match=r"\.csv or \.xlsx"):
        write_table(frame, tmp_path / "t.txt")

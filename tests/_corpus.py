"""A corpus of single-defect workspaces (issue 13: nothing silently wrong).

Each :class:`Case` builds one small workspace from literal fixtures with one
defect of one class, runs the command line on it the way a user would, and
judges the outcome:

- ``error``: exit 2, the message names the file and the column (or key) and
  says how to fix it, no traceback, and not one byte of the workspace changed;
- ``warning``: exit 0 and a warning on stderr that names the problem (every
  word of ``words`` appears), in the Problem format (with a fix);
- ``accept``: legitimate (if unusual) input: exit 0 and the value read right
  (``check``), with no false alarm (none of ``absent`` appears).

Anything else is a failure of one of these kinds: ``crash`` (traceback or
exit 1), ``silent`` (exit 0 without the warning, or a wrong value),
``unclear`` (exit 2 without file, column or fix), ``changed`` (bytes of the
workspace changed on exit 2), ``refused`` (exit 2 on legitimate input),
``leak`` (an export holds personal data or a formula).

Run ``uv run python tests/_corpus.py`` for the counts per class (the figures
of the issue's before/after table); ``tests/test_corpus.py`` runs every case.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from conftest import DEALER, X0, Y0, ZONES, D, centre, make_workspace, square, zones_geojson

from territory.cli import main
from territory.inputs import coords

CLASSES = {
    "coords": "1 coordinate systems mislabelled",
    "excel": "2 Excel/CSV layouts of real DMS exports",
    "ranges": "3 impossible or implausible values",
    "export": "4 exports leak",
    "store": "5 stale or tampered store",
    "concurrency": "6 concurrency and permissions",
    "resources": "7 resource traps",
    "cli": "8 global options before the command",
}

FIX = {"zh": "修改方法", "en": "Fix:"}
TODAY = dt.date.today()


@dataclass
class Result:
    status: int
    out: str
    err: str
    root: Path
    changed: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One single-defect workspace and what a user must see."""

    id: str
    cls: str
    build: Callable[[Path], None]
    expect: str  # error | warning | accept
    file: str = ""
    column: str = ""
    words: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    argv: tuple[str, ...] = ("validate", "{ws}")
    check: Callable[[Result], object] | None = None
    runner: Callable[[Case, Path, str], Result] | None = None
    slow: bool = False
    fix: bool = True  # the message must say how to fix it


# ---------------------------------------------------------------- running


def snapshot(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def cli(argv: list[str], *, env: dict | None = None) -> tuple[int, str, str]:
    """Run ``main`` in this process, capturing stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # pragma: no cover - main never exits
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # a crash through main is a traceback for the user
                import traceback

                traceback.print_exc(file=err)
                status = 1
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return status, out.getvalue(), err.getvalue()


def subprocess_cli(argv: list[str], *, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "territory.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def _fill(argv, root: Path, tmp: Path) -> list[str]:
    return [a.format(ws=root, out=tmp / "out", tmp=tmp) for a in argv]


def default_runner(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    before = snapshot(root)
    status, out, err = cli([*_fill(case.argv, root, tmp), "--lang", lang])
    return Result(status, out, err, root, changed=snapshot(root) != before)


def run(case: Case, tmp: Path, lang: str) -> tuple[str, str]:
    """Run ``case``; return (outcome, detail). Outcome ``ok`` means handled."""
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        result = (case.runner or default_runner)(case, tmp, lang)
    except Exception as exc:  # a harness-level failure is a crash of the product
        import traceback

        return "crash", "".join(traceback.format_exception(exc))[-1500:]
    return judge(case, result, lang)


def judge(case: Case, r: Result, lang: str) -> tuple[str, str]:
    err = r.err.replace(str(r.root), "WS")
    text = (r.out + r.err).replace(str(r.root), "WS")
    detail = f"exit {r.status}\n{err[-1500:]}"
    if (
        "Traceback" in text
        or r.status not in (0, 2)
        or "内部错误" in text
        or "internal error" in text
    ):
        return "crash", detail
    if case.expect == "error":
        if r.status == 0:
            return "silent", detail
        if r.changed:
            return "changed", detail
        if case.file not in err or case.column not in err or (case.fix and FIX[lang] not in err):
            return "unclear", detail
        if case.check is not None and not _checked(case, r):
            return "unclear", detail
        return "ok", detail
    if r.status == 2:
        return "refused", detail
    if case.expect == "warning":
        low = err.lower()
        if not all(w.lower() in low for w in case.words) or FIX[lang] not in err:
            return "silent", detail
    for word in case.absent:
        if word.lower() in err.lower():
            return "silent", detail + f"\n(false alarm: {word!r})"
    if case.check is not None and not _checked(case, r):
        kind = "leak" if case.cls == "export" else "silent"
        return kind, detail + f"\n(check failed: {r.extra.get('why', '')})"
    return "ok", detail


def _checked(case: Case, r: Result) -> bool:
    try:
        ok = case.check(r)
    except Exception as exc:  # a check that cannot even read the result fails
        r.extra["why"] = f"{type(exc).__name__}: {exc}"
        return False
    if isinstance(ok, str):
        r.extra["why"] = ok
        return False
    return bool(ok)


def read_ws(root: Path):
    from territory.inputs.workspace import read_sources

    return read_sources(root)


# ---------------------------------------------------------------- fixtures

CUSTOMER_HEAD = ["customer_id", "name", "phone", "model", "purchase_date", "lon", "lat"]


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([13, seed])


def points_in_zones(
    n_per_zone: int, seed: int, zones=(0, 1, 2, 3)
) -> list[tuple[str, float, float]]:
    """Random points inside the conftest squares: (zone_id, lon, lat), WGS-84."""
    g = rng(seed)
    out = []
    for i in zones:
        for _ in range(n_per_zone):
            u, v = g.uniform(0.02, 0.98, 2)
            out.append((ZONES[i]["zone_id"], X0 + (i + u) * D, Y0 + v * D))
    return out


def as_system(lon: float, lat: float, system: str) -> tuple[float, float]:
    x, y = coords.from_wgs84(lon, lat, system)
    return round(float(x), 7), round(float(y), 7)


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def customers_rows(points, *, system: str = "wgs84", zone_id: bool = True, extra=None):
    header = ["customer_id", "name", "phone", "model", "purchase_date", "lon", "lat"]
    if zone_id:
        header.append("zone_id")
    rows = []
    for k, (zid, x, y) in enumerate(points):
        lon, lat = as_system(x, y, system)
        row = [f"C{k:03d}", "王五", f"139{k:08d}", "家轿 A", "2025-03-01", lon, lat]
        if zone_id:
            row.append(zid)
        rows.append(row)
    if extra:
        header.append(extra[0])
        for row, value in zip(rows, extra[1], strict=False):
            row.append(value)
    return csv_text(header, rows)


def dealer_toml(**changes: object) -> str:
    text = DEALER
    head, models = text.split("[[models]]", 1)
    lines = dict(line.split(" = ", 1) for line in head.strip().splitlines())
    for key, value in changes.items():
        if value is None:
            lines.pop(key, None)
        else:
            lines[key] = (
                value
                if isinstance(value, str) and value.startswith(("[", '"'))
                else (json.dumps(value) if isinstance(value, str) else repr(value))
            )
    body = "\n".join(f"{k} = {v}" for k, v in lines.items())
    return body + "\n[[models]]" + models


def dealer_at(lon: float, lat: float, system: str = "wgs84", **more: object) -> str:
    x, y = as_system(lon, lat, system)
    return dealer_toml(lon=x, lat=y, coord_sys=system, **more)


def ws(root: Path, **kw) -> Path:
    return make_workspace(root, **kw)


def with_file(name: str, text: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        ws(root)
        write(root, name, text)

    return build


def zones_doc(shift_system: str | None = None, records=None, geometries=None) -> dict:
    doc = zones_geojson(records)
    if geometries:
        for i, g in geometries.items():
            doc["features"][i]["geometry"] = g
    if shift_system:
        for f in doc["features"]:
            ring = f["geometry"]["coordinates"][0]
            f["geometry"]["coordinates"][0] = [list(as_system(x, y, shift_system)) for x, y in ring]
    return doc


def write(root: Path, name: str, content) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False)
    if isinstance(content, str):
        content = content.encode("utf-8")
    (root / name).write_bytes(content)


def workbook(sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for ref in (merges or {}).get(title, []):
            sheet.merge_cells(ref)
    return book


def save_xlsx(root: Path, name: str, book) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (root / "customers.csv").unlink()
    book.save(root / name)


def customer_records(n: int = 4) -> list[list]:
    pts = points_in_zones(1, 99)[:n]
    return [
        [f"C{k:03d}", "赵六", f"1380000{k:04d}", "家轿 A", "2025-03-01", round(x, 6), round(y, 6)]
        for k, (_, x, y) in enumerate(pts)
    ]


def check_customers(n: int = 4, phone: str = "13800000000"):
    def check(r: Result):
        w = read_ws(r.root)
        if len(w.customers) != n:
            return f"{len(w.customers)} customers read, {n} expected"
        if w.customers["phone"].iloc[0] != phone:
            return f"phone {w.customers['phone'].iloc[0]!r}"
        if (w.customers["located_by"] != "coords").any():
            return "not every customer located by coordinates"
        return True

    return check


# ---------------------------------------------------------------- class 1: coordinates


def _coords_case(
    cid,
    *,
    layer="customers",
    system="gcj02",
    declared="wgs84",
    n=10,
    words=(),
    column_sys=False,
    evidence="zone_id",
    seed=1,
    expect="warning",
    absent=(),
):
    def build(root: Path) -> None:
        pts = points_in_zones(n, seed)
        dealer = dealer_at(104.03, 30.61, declared)
        if layer == "customers":
            text = customers_rows(pts, system=system, zone_id=evidence == "zone_id")
            if column_sys:
                lines = text.splitlines()
                text = (
                    "\n".join([lines[0] + ",coord_sys"] + [ln + f",{declared}" for ln in lines[1:]])
                    + "\n"
                )
                dealer = dealer_at(104.03, 30.61, "wgs84")
            ws(root, customers=text, dealer=dealer)
        elif layer == "cards":
            names = {z["zone_id"]: z for z in ZONES}
            rows = []
            for k, (zid, x, y) in enumerate(pts):
                lon, lat = as_system(x, y, system)
                z = names[zid]
                address = f"成都市{z['district']}{z['name']}幸福路{k + 1}号"
                rows.append([f"K{k}", "A卡", "2026-05-01", "A", "open", lon, lat, address])
            cards = csv_text(
                ["card_id", "card_type", "date", "grade", "status", "lon", "lat", "address"], rows
            )
            ws(root, cards=cards, dealer=dealer)
        elif layer == "events":
            rows = []
            for k, (zid, x, y) in enumerate(pts):
                lon, lat = as_system(x, y, system)
                rows.append([f"E{k}", "2026-04-04", zid, "flyers", 2000, 50, 3, lon, lat])
            events = csv_text(
                ["event_id", "date", "zone_id", "format", "cost", "leads", "sales", "lon", "lat"],
                rows,
            )
            ws(root, events=events, dealer=dealer)
        elif layer == "pois":
            rows = []
            for k, (zid, x, y) in enumerate(pts):
                lon, lat = as_system(x, y, system)
                rows.append([f"P{k}", f"兴趣点{k}", "market", lon, lat, zid])
            pois = csv_text(["poi_id", "name", "poi_type", "lon", "lat", "zone_id"], rows)
            ws(root, pois=pois, dealer=dealer)

    return Case(cid, "coords", build, expect, words=words, absent=absent)


def zones_on_webmap(system: str):
    def build(root: Path) -> None:
        pts = points_in_zones(10, 2)
        ws(root, customers=customers_rows(pts), zones=zones_doc(system))

    return build


def customers_at_compounds(system: str, n_compounds: int = 12, per: int = 5):
    def build(root: Path) -> None:
        g = rng(5)
        compounds = points_in_zones(n_compounds // 4, 6)
        pois = csv_text(
            ["poi_id", "name", "poi_type", "lon", "lat"],
            [
                [f"R{k}", f"小区{k}", "residential", round(x, 6), round(y, 6)]
                for k, (_, x, y) in enumerate(compounds)
            ],
        )
        pts = []
        for zid, x, y in compounds:
            for _ in range(per):
                dx, dy = g.normal(0, 0.00015, 2)  # about 15 m
                pts.append((zid, x + dx, y + dy))
        ws(root, customers=customers_rows(pts, system=system, zone_id=False), pois=pois)

    return build


def dealer_in_zone(system_true: str, declared: str, zone_id: str, at=(X0 + D + 0.0185, Y0 + 0.003)):
    def build(root: Path) -> None:
        x, y = as_system(at[0], at[1], system_true)
        dealer = dealer_toml(lon=x, lat=y, coord_sys=declared, zone_id=zone_id)
        ws(root, dealer=dealer)

    return build


def zone_ids_disagree(root: Path) -> None:
    pts = points_in_zones(5, 3)
    g = rng(4)
    wrong = []
    for k, (zid, x, y) in enumerate(pts):
        if k % 3 == 0:
            others = [z["zone_id"] for z in ZONES if z["zone_id"] != zid]
            zid = others[int(g.integers(0, 3))]
        wrong.append((zid, x, y))
    ws(root, customers=customers_rows(wrong))


COORDS: list[Case] = [
    _coords_case("gcj02_labelled_wgs84_with_zone_id", words=("customers.csv", "gcj02")),
    _coords_case(
        "bd09_labelled_gcj02_with_zone_id",
        system="bd09",
        declared="gcj02",
        words=("customers.csv", "bd09"),
    ),
    _coords_case(
        "bd09_labelled_wgs84_with_zone_id", system="bd09", words=("customers.csv", "bd09")
    ),
    _coords_case(
        "coord_sys_column_says_wgs84_for_gcj02",
        column_sys=True,
        words=("customers.csv", "gcj02", "coord_sys"),
    ),
    _coords_case(
        "cards_gcj02_labelled_wgs84_with_address", layer="cards", words=("cards.csv", "gcj02")
    ),
    _coords_case(
        "events_gcj02_labelled_wgs84_with_zone_id",
        layer="events",
        n=4,
        words=("events.csv", "gcj02"),
    ),
    _coords_case(
        "pois_gcj02_labelled_wgs84_with_zone_id", layer="pois", n=4, words=("pois.csv", "gcj02")
    ),
    _coords_case(
        "wgs84_labelled_gcj02_with_zone_id",
        system="wgs84",
        declared="gcj02",
        words=("customers.csv", "wgs84"),
        seed=8,
    ),
    Case(
        "zones_drawn_on_amap",
        "coords",
        zones_on_webmap("gcj02"),
        "warning",
        words=("zones.geojson", "zones_coord_sys", "gcj02"),
    ),
    Case(
        "zones_drawn_on_baidu",
        "coords",
        zones_on_webmap("bd09"),
        "warning",
        words=("zones.geojson", "zones_coord_sys", "bd09"),
    ),
    Case(
        "customers_offset_from_residential_pois",
        "coords",
        customers_at_compounds("gcj02"),
        "warning",
        words=("customers.csv", "pois.csv", "gcj02"),
    ),
    Case(
        "customers_bd09_offset_from_residential_pois",
        "coords",
        customers_at_compounds("bd09"),
        "warning",
        words=("customers.csv", "bd09"),
    ),
    Case(
        "dealer_gcj02_labelled_wgs84_off_its_zone",
        "coords",
        dealer_in_zone("gcj02", "wgs84", "002"),
        "warning",
        words=("dealer.toml", "gcj02", "002"),
    ),
    Case(
        "dealer_bd09_labelled_gcj02_off_its_zone",
        "coords",
        dealer_in_zone("bd09", "gcj02", "002"),
        "warning",
        words=("dealer.toml", "bd09", "002"),
    ),
    Case(
        "dealer_far_from_its_own_zone",
        "coords",
        dealer_in_zone("wgs84", "wgs84", "004"),
        "warning",
        words=("dealer.toml", "004"),
    ),
    Case(
        "dealer_zone_id_unknown",
        "coords",
        dealer_in_zone("wgs84", "wgs84", "999"),
        "error",
        file="dealer.toml",
        column="zone_id",
    ),
    Case(
        "coordinates_disagree_with_zone_id",
        "coords",
        zone_ids_disagree,
        "warning",
        words=("customers.csv", "zone_id"),
        absent=("gcj02", "bd09"),
    ),
    # Controls: right labels give no claim.
    _coords_case(
        "ok_wgs84_with_zone_id",
        system="wgs84",
        expect="accept",
        absent=("gcj02", "bd09", "zone_id"),
    ),
    _coords_case(
        "ok_gcj02_declared_gcj02",
        system="gcj02",
        declared="gcj02",
        expect="accept",
        absent=("bd09", "wgs84", "zone_id"),
        seed=9,
    ),
    Case(
        "ok_customers_at_compounds",
        "coords",
        customers_at_compounds("wgs84"),
        "accept",
        absent=("gcj02", "bd09"),
    ),
    Case(
        "ok_dealer_in_its_zone",
        "coords",
        dealer_in_zone("gcj02", "gcj02", "002"),
        "accept",
        absent=("gcj02", "bd09", "dealer.toml"),
    ),
]


# ---------------------------------------------------------------- class 2: Excel and CSV layouts

TITLE = "成都示例汽车 4S 店保有客户明细表（导出时间：2026-11-30）"


def xlsx_case(
    cid,
    sheets,
    merges=None,
    *,
    name="customers.xlsx",
    expect="accept",
    check=None,
    file="",
    column="",
    words=(),
    dealer=None,
):
    def build(root: Path) -> None:
        ws(root, dealer=dealer or DEALER)
        save_xlsx(root, name, workbook(sheets, merges))

    return Case(
        cid,
        "excel",
        build,
        expect,
        file=file,
        column=column,
        words=words,
        check=check if check is not None else (check_customers() if expect != "error" else None),
    )


HEAD_ZH = ["客户编号", "姓名", "电话", "车型", "购车日期", "经度", "纬度"]


def formula_cached(root: Path) -> None:
    """Formulas with cached values, as Excel saves them."""
    ws(root)
    rows = customer_records()
    book = workbook({"明细": [HEAD_ZH, *[[*r[:5], f"={r[5]}+0", r[6]] for r in rows]]})
    buf = io.BytesIO()
    book.save(buf)
    src = zipfile.ZipFile(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode()
                for r in rows:
                    text = text.replace(f"<f>{r[5]}+0</f><v />", f"<f>{r[5]}+0</f><v>{r[5]}</v>", 1)
                data = text.encode()
            dst.writestr(item, data)
    (root / "customers.csv").unlink()
    (root / "customers.xlsx").write_bytes(out.getvalue())


def csv_layout(
    cid,
    text: str | bytes,
    *,
    expect="accept",
    check=None,
    file="",
    column="",
    name="customers.csv",
    words=(),
):
    def build(root: Path) -> None:
        ws(root)
        write(root, name, text)

    return Case(
        cid,
        "excel",
        build,
        expect,
        file=file,
        column=column,
        words=words,
        check=check if check is not None else (check_customers() if expect == "accept" else None),
    )


def _rows_csv(rows, head=CUSTOMER_HEAD) -> str:
    return csv_text(head, rows)


def most_unlocated_addresses(root: Path) -> None:
    rows = [[f"K{k}", "A卡", "2026-05-01", f"火星基地{k}号"] for k in range(8)]
    _x, _y = centre(1)
    rows += [[f"K{k}", "A卡", "2026-05-01", "成都市锦江区春熙路街道1号"] for k in range(8, 10)]
    ws(root, cards=csv_text(["card_id", "card_type", "date", "address"], rows))


def most_customers_unlocated_addresses(root: Path) -> None:
    rows = [[f"C{k}", "孙八", f"1360000{k:04d}", f"火星基地{k}号"] for k in range(6)]
    rows += [[f"C{k}", "孙八", f"1360000{k:04d}", "成都市锦江区春熙路街道1号"] for k in range(6, 8)]
    ws(root, customers=csv_text(["customer_id", "name", "phone", "address"], rows))


def most_unlocated_blank(root: Path) -> None:
    rows = customer_records(4)
    rows += [[f"D{k}", "钱七", f"1370000{k:04d}", "家轿 A", "2025-03-01", "", ""] for k in range(6)]
    ws(root, customers=_rows_csv(rows))


def few_unlocated(root: Path) -> None:
    rows = customer_records(4) * 3
    rows = [[f"C{k}", *r[1:]] for k, r in enumerate(rows)]
    rows[0][2] = "13800000000"
    rows.append(["D1", "钱七", "13700000001", "家轿 A", "2025-03-01", "", ""])
    ws(root, customers=_rows_csv(rows))


def two_sheets_resolved(root: Path) -> None:
    rows = customer_records()
    ws(root, dealer=DEALER + '\n[files.customers]\nsheet = "2026年"\n')
    save_xlsx(
        root,
        "customers.xlsx",
        workbook({"2025年": [HEAD_ZH, *rows[:2]], "2026年": [HEAD_ZH, *rows]}),
    )


def header_row_given(root: Path) -> None:
    rows = customer_records()
    # Rows above the header hold words that are also column names: the toml says where it is.
    sheet = [["区县", "人数"], ["武侯区", 3], ["锦江区", 1], [], HEAD_ZH, *rows]
    ws(root, dealer=DEALER + "\n[files.customers]\nheader_row = 5\n")
    save_xlsx(root, "customers.xlsx", workbook({"明细": sheet}))


def cards_second_sheet(root: Path) -> None:
    x, y = centre(2)
    ws(root)
    save_xlsx(
        root,
        "cards.xlsx",
        workbook(
            {
                "说明": [["本表由 DMS 导出"], ["字段说明见第二页"]],
                "线索": [
                    ["卡号", "卡类型", "日期", "经度", "纬度"],
                    ["K1", "A卡", "2026-05-01", x, y],
                    ["K2", "订金", "2026-05-03", x, y],
                ],
            }
        ),
    )
    (root / "customers.xlsx").unlink(missing_ok=True)


def _check_cards(r: Result):
    w = read_ws(r.root)
    return list(w.cards["card_type"]) == ["A", "deposit"] or f"cards {list(w.cards['card_type'])}"


def totals_row_check(r: Result):
    w = read_ws(r.root)
    return len(w.customers) == 4 or f"{len(w.customers)} customers"


def events_units_check(r: Result):
    w = read_ws(r.root)
    return float(w.events["cost"].iloc[0]) == 2000.0 or f"cost {w.events['cost'].tolist()}"


REC = customer_records()

EXCEL: list[Case] = [
    xlsx_case(
        "xlsx_title_row_above_header", {"明细": [[TITLE], HEAD_ZH, *REC]}, {"明细": ["A1:G1"]}
    ),
    xlsx_case(
        "xlsx_title_blank_and_unit_rows",
        {"明细": [[TITLE], [], ["单位：元；坐标：WGS-84"], HEAD_ZH, *REC]},
    ),
    xlsx_case(
        "xlsx_merged_group_header",
        {"明细": [[TITLE], ["客户信息", None, None, "车辆", None, "位置", None], HEAD_ZH, *REC]},
        {"明细": ["A1:G1", "A2:C2", "D2:E2", "F2:G2"]},
    ),
    xlsx_case(
        "xlsx_vertically_merged_header",
        {
            "明细": [
                ["客户编号", "姓名", "电话", "车型", "购车日期", "位置", None],
                [None, None, None, None, None, "经度", "纬度"],
                *REC,
            ]
        },
        {"明细": ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:E2", "F1:G1"]},
    ),
    xlsx_case(
        "xlsx_data_on_second_sheet",
        {"说明": [["本表由 DMS 导出，请勿修改"], ["导出人：张经理"]], "明细": [HEAD_ZH, *REC]},
    ),
    xlsx_case(
        "xlsx_data_on_third_sheet_after_summary",
        {
            "封面": [[TITLE]],
            "汇总": [["区县", "人数"], ["武侯区", 3], ["锦江区", 1]],
            "明细": [HEAD_ZH, *REC],
        },
    ),
    xlsx_case(
        "xlsx_two_data_sheets_ambiguous",
        {"2025年": [HEAD_ZH, *REC[:2]], "2026年": [HEAD_ZH, *REC]},
        expect="error",
        file="customers.xlsx",
        column="2026年",
    ),
    Case(
        "xlsx_two_data_sheets_chosen_in_toml",
        "excel",
        two_sheets_resolved,
        "accept",
        check=check_customers(),
    ),
    Case(
        "xlsx_header_row_given_in_toml",
        "excel",
        header_row_given,
        "accept",
        check=check_customers(),
    ),
    xlsx_case(
        "xlsx_formulas_without_cached_values_in_lon",
        {"明细": [HEAD_ZH, *[[*r[:5], f"={r[5]}+0", r[6]] for r in REC]]},
        expect="error",
        file="customers.xlsx",
        column="经度",
    ),
    xlsx_case(
        "xlsx_formulas_without_cached_values_in_extra_column",
        {"明细": [[*HEAD_ZH, "备注"], *[[*r, "=A2&B2"] for r in REC]]},
        expect="warning",
        words=("customers.xlsx", "备注"),
        check=check_customers(),
    ),
    Case(
        "xlsx_formulas_with_cached_values",
        "excel",
        formula_cached,
        "accept",
        check=check_customers(),
    ),
    xlsx_case(
        "xlsx_totals_row_at_the_end",
        {"明细": [HEAD_ZH, *REC, ["合计", None, None, None, None, None, None]]},
        expect="warning",
        words=("customers.xlsx", "合计"),
        check=totals_row_check,
    ),
    xlsx_case(
        "xlsx_data_starts_in_column_b", {"明细": [[None, *HEAD_ZH], *[[None, *r] for r in REC]]}
    ),
    Case("xlsx_cards_on_second_sheet", "excel", cards_second_sheet, "accept", check=_check_cards),
    xlsx_case(
        "xlsx_no_known_column",
        {"Sheet1": [["字段1", "字段2", "字段3"], ["a", "b", "c"]]},
        expect="error",
        file="customers.xlsx",
        column="lon",
    ),
    csv_layout("csv_title_line_above_header", f"{TITLE}\n" + _rows_csv(REC)),
    csv_layout("csv_two_title_lines_and_blank", f"{TITLE},,,\n导出人：张经理\n\n" + _rows_csv(REC)),
    csv_layout("csv_gbk_with_title_line", (f"{TITLE}\n" + _rows_csv(REC, HEAD_ZH)).encode("gbk")),
    csv_layout("csv_excel_sep_line", "sep=;\n" + _rows_csv(REC).replace(",", ";")),
    csv_layout(
        "csv_header_repeated_mid_file",
        _rows_csv(REC[:2]) + ",".join(CUSTOMER_HEAD) + "\n" + _rows_csv(REC[2:]).split("\n", 1)[1],
        expect="warning",
        words=("customers.csv", "4"),
    ),
    csv_layout(
        "csv_dms_column_names",
        csv_text(["客户编号", "客户名称", "手机号码", "意向车型", "购车时间", "东经", "北纬"], REC),
    ),
    csv_layout(
        "csv_units_in_headers",
        "活动编号,日期,区域编号,形式,费用（元）,留资数（个）,成交数（台）\nE1,2026-04-04,001,flyers,2000,80,6\n",
        name="events.csv",
        check=events_units_check,
    ),
    csv_layout(
        "csv_no_location_column",
        csv_text(["客户编号", "姓名", "电话"], [["C1", "张三", "13800000000"]] * 3),
        expect="error",
        file="customers.csv",
        column="lon",
    ),
    csv_layout(
        "csv_unknown_headers_only",
        csv_text(["col1", "col2", "col3"], [["a", "b", "c"]] * 3),
        expect="error",
        file="customers.csv",
        column="lon",
    ),
    Case(
        "most_cards_unlocated_addresses",
        "excel",
        most_unlocated_addresses,
        "warning",
        words=("cards.csv", "address", "8"),
    ),
    Case(
        "most_customers_unlocated_addresses",
        "excel",
        most_customers_unlocated_addresses,
        "error",
        file="customers.csv",
        column="address",
    ),
    Case(
        "cards_without_any_location_column",
        "excel",
        with_file("cards.csv", "card_id,card_type,date\nK1,A卡,2026-05-01\nK2,订金,2026-05-03\n"),
        "warning",
        words=("cards.csv", "lon/lat"),
    ),
    Case(
        "most_rows_unlocated_blank_coordinates",
        "excel",
        most_unlocated_blank,
        "error",
        file="customers.csv",
        column="lon",
    ),
    Case(
        "ok_one_row_unlocated_of_thirteen",
        "excel",
        few_unlocated,
        "accept",
        check=lambda r: len(read_ws(r.root).customers) == 13,
    ),
]


# ---------------------------------------------------------------- class 3: ranges


def zones_with(**second) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        records = copy.deepcopy(ZONES)
        records[1].update(second)
        ws(root, zones=zones_geojson(records))

    return build


def all_zones(**values) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        records = [{**z, **values} for z in copy.deepcopy(ZONES)]
        ws(root, zones=zones_geojson(records))

    return build


def with_dealer(text: str) -> Callable[[Path], None]:
    return lambda root: ws(root, dealer=text)


def future(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


def card_dated(date: str) -> str:
    x, y = centre(2)
    return f"card_id,card_type,date,lon,lat\nK1,A卡,2026-05-01,{x},{y}\nK2,A卡,{date},{x},{y}\n"


def event_row(**values) -> str:
    row = {
        "event_id": "E1",
        "date": "2026-04-04",
        "zone_id": "001",
        "format": "flyers",
        "cost": "2000",
        "leads": "80",
        "sales": "6",
    }
    row.update(values)
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


def customer_with(**values) -> str:
    x, y = centre(0)
    row = dict(
        zip(
            [*CUSTOMER_HEAD, "age"],
            ["007", "张三", "13812341234", "家轿 A", "2025-03-01", str(x), str(y), "32"],
            strict=True,
        )
    )
    row.update(values)
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


def shifted_zone(
    dx: float, dy: float = 0.0, index: int = 1, *, new_id: str | None = None, scale: float = 1.0
):
    def build(root: Path) -> None:
        doc = zones_geojson()
        ring = square(index)[0]
        cx, cy = X0 + (index + 0.5) * D, Y0 + 0.5 * D
        moved = [[cx + (x - cx) * scale + dx, cy + (y - cy) * scale + dy] for x, y in ring]
        feature = copy.deepcopy(doc["features"][index])
        feature["geometry"]["coordinates"] = [moved]
        if new_id:
            feature["properties"] = {**feature["properties"], "zone_id": new_id, "name": "新区"}
            doc["features"].append(feature)
        else:
            doc["features"][index] = feature
        pts = points_in_zones(20, 11)
        ws(root, zones=doc, customers=customers_rows(pts, zone_id=False))

    return build


def customers_in_overlap(r: Result):
    """The warning counts the customers in the overlap (zone 001's east 30%)."""
    w = read_ws(r.root)
    x = w.customers.geometry.x
    n = int(((x >= X0 + 0.7 * D) & (x <= X0 + D)).sum())
    return bool(re.search(rf"(?<![\d.]){n}(?![\d.])", r.err)) or f"{n} customers not named"


def bowtie(root: Path) -> None:
    x, y = X0 + D, Y0
    geometry = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + D, y + D], [x + D, y], [x, y + D], [x, y]]],
    }
    ws(root, zones=zones_doc(geometries={1: geometry}))


def spike(root: Path) -> None:
    x, y = X0 + D, Y0
    ring = [
        [x, y],
        [x + D, y],
        [x + D, y + D],
        [x + 0.5 * D, y + D],
        [x + 0.5 * D, y + 0.9 * D],
        [x + 0.52 * D, y + 1.0005 * D],
        [x, y + D],
        [x, y],
    ]
    ws(root, zones=zones_doc(geometries={1: {"type": "Polygon", "coordinates": [ring]}}))


def piled_points(root: Path) -> None:
    pts = points_in_zones(3, 12)
    x, y = centre(1)
    pts += [("002", x, y)] * 24
    ws(root, customers=customers_rows(pts, zone_id=False))


def no_absurd_percent(r: Result):
    for m in re.finditer(r"([+-]?[\d,]+(?:\.\d+)?)\s*%", r.err):
        if abs(float(m.group(1).replace(",", ""))) > 100:
            return f"absurd percentage {m.group(0)}"
    return True


def small_change_notice(r: Result):
    return no_absurd_percent(r)


RANGES: list[Case] = [
    Case(
        "radius_1e9_km",
        "ranges",
        with_dealer(dealer_toml(radius_km=1e9)),
        "error",
        file="dealer.toml",
        column="radius_km",
    ),
    Case(
        "radius_1e9_km_under_settings",
        "ranges",
        with_dealer(
            DEALER.replace("radius_km = 15\n", "") + "[settings.influence]\nradius_km = 1e9\n"
        ),
        "error",
        file="dealer.toml",
        column="radius_km",
    ),
    Case(
        "radius_10_m",
        "ranges",
        with_dealer(dealer_toml(radius_km=0.01)),
        "error",
        file="dealer.toml",
        column="radius_km",
    ),
    Case(
        "radius_150_km",
        "ranges",
        with_dealer(dealer_toml(radius_km=150)),
        "warning",
        words=("dealer.toml", "radius_km"),
    ),
    Case(
        "target_r_300",
        "ranges",
        with_dealer(dealer_toml(target_r=300)),
        "error",
        file="dealer.toml",
        column="target_r",
    ),
    Case(
        "price_8_98_yi",
        "ranges",
        with_dealer(DEALER.replace("120000", "898000000")),
        "error",
        file="dealer.toml",
        column="price",
    ),
    Case(
        "price_in_wan",
        "ranges",
        with_dealer(DEALER.replace("120000", "12")),
        "error",
        file="dealer.toml",
        column="price",
    ),
    Case(
        "dealer_1500_km_from_every_zone",
        "ranges",
        with_dealer(dealer_toml(lon=117.2, lat=39.1)),
        "error",
        file="dealer.toml",
        column="lon",
    ),
    Case(
        "dealer_40_km_outside_its_zones",
        "ranges",
        with_dealer(dealer_toml(lon=104.5, lat=30.62)),
        "warning",
        words=("dealer.toml", "km"),
    ),
    Case(
        "population_1_3e12",
        "ranges",
        zones_with(population=1.3e12),
        "error",
        file="zones.geojson",
        column="population",
    ),
    Case(
        "population_density_impossible",
        "ranges",
        zones_with(population=5_000_000),
        "error",
        file="zones.geojson",
        column="population",
    ),
    Case(
        "population_density_very_high",
        "ranges",
        zones_with(population=800_000),
        "warning",
        words=("zones.geojson", "population", "002"),
    ),
    Case(
        "population_zero_everywhere",
        "ranges",
        all_zones(population=0),
        "warning",
        words=("zones.geojson", "population"),
    ),
    Case(
        "income_in_wan",
        "ranges",
        zones_with(income=4.5),
        "error",
        file="zones.geojson",
        column="income",
    ),
    Case(
        "income_monthly",
        "ranges",
        zones_with(income=4500),
        "warning",
        words=("zones.geojson", "income", "002"),
    ),
    Case(
        "income_5_million",
        "ranges",
        zones_with(income=5_000_000),
        "error",
        file="zones.geojson",
        column="income",
    ),
    Case(
        "cards_dated_2099",
        "ranges",
        with_file("cards.csv", card_dated("2099-05-01")),
        "error",
        file="cards.csv",
        column="date",
    ),
    Case(
        "cards_dated_next_month",
        "ranges",
        with_file("cards.csv", card_dated(future(40))),
        "error",
        file="cards.csv",
        column="date",
    ),
    Case(
        "cards_dated_1970",
        "ranges",
        with_file("cards.csv", card_dated("1970-01-01")),
        "error",
        file="cards.csv",
        column="date",
    ),
    Case(
        "purchase_in_the_future",
        "ranges",
        with_file("customers.csv", customer_with(purchase_date=future(60))),
        "error",
        file="customers.csv",
        column="purchase_date",
    ),
    Case(
        "events_dated_2099",
        "ranges",
        with_file("events.csv", event_row(date="2099-04-04")),
        "error",
        file="events.csv",
        column="date",
    ),
    Case(
        "ok_event_planned_next_month",
        "ranges",
        with_file("events.csv", event_row(date=future(30))),
        "accept",
    ),
    Case(
        "event_cost_1e10",
        "ranges",
        with_file("events.csv", event_row(cost="1e10")),
        "error",
        file="events.csv",
        column="cost",
    ),
    Case(
        "event_leads_5_million",
        "ranges",
        with_file("events.csv", event_row(leads="5000000")),
        "error",
        file="events.csv",
        column="leads",
    ),
    Case(
        "event_sales_above_leads",
        "ranges",
        with_file("events.csv", event_row(leads="10", sales="50")),
        "warning",
        words=("events.csv", "sales"),
    ),
    Case(
        "age_zero_placeholder",
        "ranges",
        with_file("customers.csv", customer_with(age="0")),
        "warning",
        words=("customers.csv", "age"),
    ),
    Case(
        "zones_overlap_neighbour",
        "ranges",
        shifted_zone(-0.3 * D),
        "warning",
        words=("zones.geojson", "001", "002", "1.275"),
        check=customers_in_overlap,
    ),
    Case(
        "zones_duplicate_polygon",
        "ranges",
        shifted_zone(0, new_id="005"),
        "error",
        file="zones.geojson",
        column="005",
    ),
    Case(
        "zones_nested_small_zone",
        "ranges",
        shifted_zone(0, new_id="005", scale=0.3),
        "warning",
        words=("zones.geojson", "005", "002"),
    ),
    Case(
        "bowtie_polygon",
        "ranges",
        bowtie,
        "warning",
        words=("zones.geojson", "002"),
        check=no_absurd_percent,
    ),
    Case("ok_small_spike_repaired", "ranges", spike, "accept", check=small_change_notice),
    Case(
        "points_piled_on_one_spot", "ranges", piled_points, "warning", words=("customers.csv", "24")
    ),
]


# ---------------------------------------------------------------- class 4: exports

PHONE = re.compile(r"1[3-9]\d{9}")
ID18 = re.compile(r"\d{17}[\dXx]")
FORMULA_START = ("=", "+", "-", "@")
DETAIL = re.compile(r"\d+\s*(?:号|栋|幢|单元|室|弄)")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
LONG_DIGITS = re.compile(r"\d{16,19}")


def id_number(base17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(base17, weights, strict=True)) % 11]
    return base17 + check


def cells_of(path: Path) -> list[str]:
    """Every cell of a CSV or XLSX file (header included) as text."""
    if path.suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        return [c for row in csv.reader(io.StringIO(text)) for c in row]
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path)
        out = []
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        out.append("=" + str(cell.value).lstrip("="))
                    elif cell.value is not None:
                        out.append(str(cell.value))
        return out
    return [path.read_text(encoding="utf-8", errors="replace")]


def leaks(paths: list[Path], *, personal: bool = True, formulas: bool = True) -> list[str]:
    found = []
    for path in paths:
        for cell in cells_of(path):
            flat = re.sub(r"[\s\-+()]", "", cell)
            if personal:
                for pattern, what in (
                    (PHONE, "phone"),
                    (ID18, "id"),
                    (DETAIL, "address"),
                    (LANDLINE, "landline"),
                    (LONG_DIGITS, "long number"),
                ):
                    if pattern.search(cell) or (what in ("phone", "id") and pattern.search(flat)):
                        found.append(f"{path.name}: {what} in {cell[:60]!r}")
            if formulas and path.suffix in (".csv", ".xlsx") and cell.startswith(FORMULA_START):
                found.append(f"{path.name}: formula {cell[:60]!r}")
    return found


def exported(r: Result) -> list[Path]:
    out = r.root.parent / "out"
    files = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else []
    return files + [Path(p) for p in r.extra.get("files", [])]


def no_leak(*, personal=True, formulas=True, keep: str | None = None):
    def check(r: Result):
        files = [p for p in exported(r) if p.suffix in (".csv", ".xlsx")]
        if not files:
            return "nothing exported"
        found = leaks(files, personal=personal, formulas=formulas)
        if keep and not any(keep in c for p in files for c in cells_of(p)):
            return f"{keep!r} missing"
        return not found or "; ".join(found[:4])

    return check


def export_ws(extra_header: list[str], extra_values: list[str], **customer_changes):
    def build(root: Path) -> None:
        x, y = centre(0)
        row = {
            "customer_id": "007",
            "name": "张三",
            "phone": "13812341234",
            "model": "家轿 A",
            "purchase_date": "2025-03-01",
            "lon": str(x),
            "lat": str(y),
        }
        row.update(customer_changes)
        header = list(row) + extra_header
        values = list(row.values()) + extra_values
        ws(root, customers=csv_text(header, [values, values]))

    return build


def export_case(cid, build, *, argv=("export", "{ws}", "--out", "{out}"), check=None):
    return Case(cid, "export", build, "accept", argv=argv, check=check or no_leak())


def plan_and_coverage_runner(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    out = tmp / "out"
    out.mkdir()
    files, status, text_out, text_err = [], 0, "", ""
    for argv in (
        ["export", str(root), "--out", str(out / "plain")],
        ["plan", str(root), "--site", "001", "--date", "2026-12-12", "--out", str(out / "p.xlsx")],
        ["coverage", str(root), "--out", str(out / "c.csv")],
        ["coverage", str(root), "--out", str(out / "c.xlsx")],
    ):
        s, o, e = cli([*argv, "--lang", lang])
        status = max(status, s)
        text_out += o
        text_err += e
    return Result(status, text_out, text_err, root, extra={"files": files})


FORMULAS = ['=HYPERLINK("http://x","点我")', "+SUM(1,2)", "-2+3", "@cmd", "=cmd|' /C calc'!A0"]


def formulas_everywhere(root: Path) -> None:
    x, y = centre(0)
    records = copy.deepcopy(ZONES)
    records[0]["name"] = FORMULAS[0]
    records[0]["district"] = FORMULAS[3]
    records[1]["district"] = FORMULAS[1]
    dealer = DEALER.replace('name = "测试 4S 店"', 'name = "=测试店"').replace(
        'name = "家轿 A"', 'name = "+家轿"'
    )
    header = [
        "customer_id",
        "name",
        "phone",
        "model",
        "occupation",
        "lon",
        "lat",
        "备注",
        FORMULAS[4],
    ]
    rows = [
        [FORMULAS[2], FORMULAS[0], "13812341234", "+家轿", FORMULAS[1], x, y, FORMULAS[3], "=1"]
    ]
    cards = csv_text(
        ["card_id", "card_type", "date", "model", "name", "lon", "lat"],
        [["=K1", "A卡", "2026-05-01", "@SUM(A1)", "-张", x, y]],
    )
    ws(
        root,
        zones=zones_geojson(records),
        dealer=dealer,
        customers=csv_text(header, rows),
        cards=cards,
        events="event_id,date,zone_id,location,format,cost\n=E1,2026-04-04,001,-玉林街道,flyers,2000\n",
    )


EXPORT: list[Case] = [
    export_case("phone_in_backup_phone_column", export_ws(["备用电话"], ["13987654321"])),
    export_case("phone_in_remarks_text", export_ws(["备注"], ["周末来店，电话13987654321找王姐"])),
    export_case("phone_spaced_with_country_code", export_ws(["联系方式"], ["+86 139 8765 4321"])),
    export_case("landline_in_extra_column", export_ws(["办公电话"], ["028-85123456"])),
    export_case("id_number_column", export_ws(["身份证号"], [id_number("51010419900101123")])),
    export_case(
        "id_number_with_x_in_remarks",
        export_ws(["备注"], [f"证件{id_number('11010519491231002')}已登记"]),
    ),
    export_case("bank_card_in_remarks", export_ws(["备注"], ["卡号 6222021234567890123"])),
    export_case(
        "detailed_address_column",
        export_ws([], [], address="成都市武侯区玉林北路12号3栋2单元501室"),
    ),
    export_case(
        "detailed_address_in_extra_column",
        export_ws(["家庭住址"], ["成都市锦江区春熙路街道总府路8号附3号"]),
    ),
    export_case("phone_as_customer_id", export_ws([], [], customer_id="13912345678")),
    export_case("phone_in_name_column", export_ws([], [], name="13912345678")),
    export_case(
        "formula_in_text_columns",
        export_ws(["备注"], [FORMULAS[0]], name=FORMULAS[1], model=FORMULAS[3]),
    ),
    export_case("formula_in_header", export_ws([FORMULAS[4]], ["x"])),
    export_case("formula_in_cards_and_events", formulas_everywhere),
    Case(
        "formulas_in_plan_and_coverage_files",
        "export",
        formulas_everywhere,
        "accept",
        runner=plan_and_coverage_runner,
        check=no_leak(personal=False),
    ),
    export_case(
        "personal_data_asked_still_neutralised",
        formulas_everywhere,
        argv=("export", "{ws}", "--out", "{out}", "--include-personal-data"),
        check=no_leak(personal=False, keep="13812341234"),
    ),
]


# ---------------------------------------------------------------- class 5: the store


def same_stat_edit(path: Path, old: str, new: str) -> None:
    """Edit ``path`` keeping its size and modification time (as a restore or a sync would)."""
    assert len(old.encode()) == len(new.encode())
    st = path.stat()
    data = path.read_bytes()
    assert old.encode() in data
    path.write_bytes(data.replace(old.encode(), new.encode(), 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def store_runner(
    after_import: Callable[[Path], None], argv=("score", "{ws}", "--json"), *, plain: bool = True
):
    def runner(case: Case, tmp: Path, lang: str) -> Result:
        root = tmp / "ws"
        case.build(root)
        status, _, err = cli(["import", str(root)])
        assert status == 0, err
        after_import(root)
        before = snapshot(root)
        status, out, err = cli([*_fill(argv, root, tmp), "--lang", lang])
        return Result(status, out, err, root, changed=snapshot(root) != before)

    return runner


def base_store_ws(root: Path) -> None:
    pts = points_in_zones(2, 21)
    ws(root, customers=customers_rows(pts, zone_id=False))


def customers_in(r: Result, zone: str) -> int:
    doc = json.loads(r.out)
    return next(z["customers"] for z in doc["zones"] if z["zone_id"] == zone)


def fresh_counts(r: Result):
    """The score must count customers as the plain files place them now."""
    w = read_ws(r.root)
    want = w.customers["zone_id"].value_counts().to_dict()
    got = {z["zone_id"]: z["customers"] for z in json.loads(r.out)["zones"] if z["customers"]}
    return got == want or f"score says {got}, the files say {want}"


def move_first_customer(root: Path) -> None:
    path = root / "customers.csv"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[1].split(",")
    lon = first[5]
    # Same length: the first customer moves 0.04 degrees east (two zones).
    moved = f"{float(lon) + 2 * D:.{len(lon.split('.')[1])}f}"
    same_stat_edit(path, lon, moved)


def break_first_lon(root: Path) -> None:
    path = root / "customers.csv"
    lon = path.read_text(encoding="utf-8").splitlines()[1].split(",")[5]
    same_stat_edit(path, lon, lon.replace(".", "o", 1))


def sqlite_update(sql: str) -> Callable[[Path], None]:
    def tamper(root: Path) -> None:
        con = sqlite3.connect(root / "territory.gpkg")
        # What a SQLite browser with SpatiaLite offers: GeoPackage's R-tree triggers call these.
        con.create_function("ST_IsEmpty", 1, lambda g: 0)
        for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            con.create_function(name, 1, lambda g: 0.0)
        with con:
            con.execute(sql)
        con.close()

    return tamper


def replace_layer(root: Path) -> None:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    x, y = centre(3)
    frame = gpd.GeoDataFrame(
        {"customer_id": ["X1"] * 5, "lon": [x] * 5, "lat": [y] * 5, "zone_id": ["004"] * 5},
        geometry=[Point(x, y)] * 5,
        crs=4326,
    )
    pyogrio.write_dataframe(frame, root / "territory.gpkg", layer="customers", driver="GPKG")


def forge_meta(root: Path) -> None:
    move_first_customer(root)
    con = sqlite3.connect(root / "territory.gpkg")
    rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
    sources = json.loads(rows.get("sources", "{}"))
    name = "customers.csv"
    if name in sources and isinstance(sources[name], list):  # size and mtime fingerprints
        st = (root / name).stat()
        sources[name] = [st.st_size, st.st_mtime_ns]
    elif name in sources:
        sources[name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    with con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'sources'", (json.dumps(sources),))
    con.close()


def other_store(root: Path) -> None:
    other = root.parent / "other"
    records = copy.deepcopy(ZONES)
    for z in records:
        z["population"] = 1
    ws(other, zones=zones_geojson(records))
    assert cli(["import", str(other)])[0] == 0
    shutil.copy2(other / "territory.gpkg", root / "territory.gpkg")


def populations_fresh(r: Result):
    doc = json.loads(r.out)
    pops = {z["zone_id"]: z.get("population") for z in doc["zones"]}
    return all(p is None or p > 1 for p in pops.values()) or f"stale populations {pops}"


def radius_edit(root: Path) -> None:
    same_stat_edit(root / "dealer.toml", "radius_km = 15", "radius_km = 25")


def radius_fresh(r: Result):
    from territory.inputs import store

    w = store.read_store_if_fresh(r.root)
    doc = json.loads(r.out)
    if w is not None and w.dealer.radius_km != 25:
        return "the store still has the old radius"
    inside = sum(1 for z in doc["zones"] if z["in_influence_area"])
    return inside == 4 or f"{inside} zones inside"


def store_only_tampered(root: Path) -> None:
    sqlite_update("UPDATE customers SET zone_id = '004'")(root)
    for p in list(root.iterdir()):
        if p.name != "territory.gpkg":
            p.unlink()


def old_format(root: Path) -> None:
    sqlite_update("UPDATE meta SET value = '0' WHERE key = 'format_version'")(root)


def truncate_store(root: Path) -> None:
    path = root / "territory.gpkg"
    path.write_bytes(path.read_bytes()[:4096])


STORE: list[Case] = [
    Case(
        "validate_fails_but_score_used_old_store",
        "store",
        base_store_ws,
        "error",
        file="customers.csv",
        column="lon",
        runner=store_runner(break_first_lon),
    ),
    Case(
        "source_edited_keeping_size_and_mtime",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=fresh_counts,
        runner=store_runner(move_first_customer),
    ),
    Case(
        "store_rows_edited_with_sqlite",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=fresh_counts,
        runner=store_runner(
            sqlite_update("UPDATE customers SET zone_id = '004', lon = lon + 0.04")
        ),
    ),
    Case(
        "store_layer_replaced_by_gis",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=fresh_counts,
        runner=store_runner(replace_layer),
    ),
    Case(
        "store_meta_forged_after_source_edit",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=fresh_counts,
        runner=store_runner(forge_meta),
    ),
    Case(
        "store_copied_from_another_workspace",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=populations_fresh,
        runner=store_runner(other_store),
    ),
    Case(
        "dealer_toml_edited_keeping_size_and_mtime",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=radius_fresh,
        runner=store_runner(radius_edit),
    ),
    # Rebuilt with the right result before issue 13 too (without a notice): accepted if right.
    Case(
        "store_of_an_older_format",
        "store",
        base_store_ws,
        "accept",
        check=fresh_counts,
        runner=store_runner(old_format),
    ),
    Case(
        "store_truncated",
        "store",
        base_store_ws,
        "accept",
        check=fresh_counts,
        runner=store_runner(truncate_store),
    ),
    Case(
        "store_only_workspace_tampered",
        "store",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        runner=store_runner(store_only_tampered),
    ),
]


# ---------------------------------------------------------------- class 6: concurrency, permissions


def store_intact(root: Path) -> str | bool:
    from territory.inputs import store

    w = store.read_store_if_fresh(root)
    if w is None:
        return "no fresh store after the imports"
    if len(w.customers) != len(read_ws(root).customers):
        return "store rows differ from the files"
    left = [p.name for p in root.iterdir() if p.name.startswith(".territory-tmp")]
    return not left or f"temp files left: {left}"


def ten_imports(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    procs = [subprocess_cli(["import", str(root), "--lang", lang]) for _ in range(10)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    err = "\n".join(e for _, e in outs)
    status = 0 if all(c == 0 for c in codes) else (2 if 1 not in codes else 1)
    r = Result(status, "", err + f"\nexit codes {codes}", root)
    return r


def hold_lock(root: Path):
    import fcntl

    fh = open(root / ".territory.lock", "a+")  # noqa: SIM115 - held across the call
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def import_waits(case: Case, tmp: Path, lang: str) -> Result:
    """Hold the lock until the import says it waits (or ends without waiting), then release."""
    import threading

    root = tmp / "ws"
    case.build(root)
    fh = hold_lock(root)
    proc = subprocess_cli(["import", str(root), "--lang", lang])
    watchdog = threading.Timer(300, proc.kill)
    watchdog.start()
    seen = []
    try:
        for line in proc.stderr:  # blocks until the import writes or ends
            seen.append(line)
            if "territory.gpkg" in line:
                break
        waited = proc.poll() is None and bool(seen)
        time.sleep(0.5)
        still = proc.poll() is None  # it really blocks on the lock
    finally:
        fh.close()  # releases the lock
    out, err = proc.communicate(timeout=300)
    watchdog.cancel()
    err = "".join(seen) + err
    r = Result(proc.returncode, out, err + ("" if waited and still else "\n(did not wait)"), root)
    r.extra["waited"] = waited and still
    return r


def lock_timeout(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    fh = hold_lock(root)
    before = snapshot(root)
    try:
        proc = subprocess_cli(
            ["import", str(root), "--lang", lang], env={"TERRITORY_LOCK_TIMEOUT": "1"}
        )
        out, err = proc.communicate(timeout=120)
    finally:
        fh.close()
    return Result(proc.returncode, out, err, root, changed=snapshot(root) != before)


def readonly_store_import(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    assert cli(["import", str(root)])[0] == 0
    move_first_customer(root)
    (root / "territory.gpkg").chmod(0o444)
    before = snapshot(root)
    status, out, err = cli(["import", str(root), "--lang", lang])
    return Result(status, out, err, root, changed=snapshot(root) != before)


def readonly_store_score(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    assert cli(["import", str(root)])[0] == 0
    move_first_customer(root)
    (root / "territory.gpkg").chmod(0o444)
    before = snapshot(root)
    status, out, err = cli(["score", str(root), "--json", "--lang", lang])
    r = Result(status, out, err, root)
    r.extra["store_changed"] = snapshot(root) != before
    return r


def readonly_folder_score(case: Case, tmp: Path, lang: str) -> Result:
    root = tmp / "ws"
    case.build(root)
    root.chmod(0o555)
    before = snapshot(root)
    try:
        status, out, err = cli(["score", str(root), "--json", "--lang", lang])
    finally:
        root.chmod(0o755)
    r = Result(status, out, err, root)
    r.extra["store_changed"] = snapshot(root) != before
    return r


def unchanged_and_fresh(r: Result):
    if r.extra.get("store_changed"):
        return "a read-only store or folder was written"
    return fresh_counts(r)


def concurrent_scores(case: Case, tmp: Path, lang: str) -> Result:
    """Four commands read the files and save the store when done, at the same time."""
    root = tmp / "ws"
    case.build(root)
    procs = [
        subprocess_cli(["export", str(root), "--out", str(tmp / f"out{k}"), "--lang", lang])
        for k in range(4)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    status = 0 if all(c == 0 for c in codes) else max(codes)
    return Result(status, outs[0][0], "\n".join(e for _, e in outs) + f"\nexit codes {codes}", root)


CONCURRENCY: list[Case] = [
    Case(
        "ten_concurrent_imports",
        "concurrency",
        base_store_ws,
        "accept",
        check=lambda r: store_intact(r.root),
        runner=ten_imports,
        slow=True,
    ),
    Case(
        "import_while_another_import_runs",
        "concurrency",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=lambda r: (r.extra.get("waited") and store_intact(r.root)) or "did not wait",
        runner=import_waits,
        slow=True,
    ),
    Case(
        "import_gives_up_after_the_lock_timeout",
        "concurrency",
        base_store_ws,
        "error",
        file="territory.gpkg",
        column="TERRITORY_LOCK_TIMEOUT",
        runner=lock_timeout,
        slow=True,
    ),
    Case(
        "import_into_a_read_only_store",
        "concurrency",
        base_store_ws,
        "error",
        file="territory.gpkg",
        column="territory.gpkg",
        runner=readonly_store_import,
    ),
    Case(
        "score_with_a_stale_read_only_store",
        "concurrency",
        base_store_ws,
        "warning",
        words=("territory.gpkg",),
        check=unchanged_and_fresh,
        runner=readonly_store_score,
    ),
    Case(
        "score_in_a_read_only_folder",
        "concurrency",
        base_store_ws,
        "accept",
        check=unchanged_and_fresh,
        runner=readonly_folder_score,
    ),
    Case(
        "four_concurrent_exports",
        "concurrency",
        base_store_ws,
        "accept",
        check=lambda r: store_intact(r.root),
        runner=concurrent_scores,
        slow=True,
    ),
]


# ---------------------------------------------------------------- class 7: resource traps


def shapefile_files(tmp: Path) -> dict[str, bytes]:
    import geopandas as gpd

    folder = tmp / "shp-src"
    folder.mkdir(parents=True, exist_ok=True)
    gdf = gpd.GeoDataFrame.from_features(zones_geojson()["features"], crs=4326)
    gdf.to_file(folder / "zones.shp")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def zip_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def padded_prj_zip(root: Path) -> None:
    ws(root)
    files = shapefile_files(root.parent)
    files["zones.prj"] = files["zones.prj"] + b" " * (64 * 2**20)
    (root / "zones.geojson").unlink()
    (root / "zones.zip").write_bytes(zip_with(files))


def padded_prj_on_disk(root: Path) -> None:
    ws(root)
    files = shapefile_files(root.parent)
    files["zones.prj"] = files["zones.prj"] + b" " * (8 * 2**20)
    (root / "zones.geojson").unlink()
    for name, data in files.items():
        (root / name).write_bytes(data)


def zip_bomb_dbf(root: Path) -> None:
    ws(root)
    files = shapefile_files(root.parent)
    files["zones.dbf"] = files["zones.dbf"] + b"\0" * (120 * 2**20)
    (root / "zones.geojson").unlink()
    (root / "zones.zip").write_bytes(zip_with(files))


def capped(setting: str, value: float) -> str:
    return DEALER + f"\n[settings.load]\n{setting} = {value}\n"


def big_csv(root: Path) -> None:
    ws(root, dealer=capped("max_table_mb", 1))
    rows = customer_records() * 9000
    write(root, "customers.csv", _rows_csv(rows))


def big_xlsx(root: Path) -> None:
    ws(root, dealer=capped("max_table_mb", 1))
    rows = customer_records() * 3000
    save_xlsx(root, "customers.xlsx", workbook({"明细": [HEAD_ZH, *rows]}))


def big_geojson(root: Path) -> None:
    ws(root, dealer=capped("max_vector_mb", 1))
    text = json.dumps(zones_geojson(), ensure_ascii=False)
    write(root, "zones.geojson", text[:-1] + " " * (2 * 2**20) + "}")


def huge_dealer(root: Path) -> None:
    ws(root)
    write(root, "dealer.toml", DEALER + "#" + "x" * (20 * 2**20) + "\n")


def lying_dimension(root: Path) -> None:
    ws(root)
    book = workbook({"明细": [HEAD_ZH, *REC]})
    buf = io.BytesIO()
    book.save(buf)
    src = zipfile.ZipFile(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
            dst.writestr(item, data)
    (root / "customers.csv").unlink()
    (root / "customers.xlsx").write_bytes(out.getvalue())


RESOURCES: list[Case] = [
    Case(
        "zip_with_a_64_mb_padded_prj",
        "resources",
        padded_prj_zip,
        "error",
        file="zones.zip",
        column="zones.prj",
        slow=True,
    ),
    Case(
        "shapefile_with_a_padded_prj_on_disk",
        "resources",
        padded_prj_on_disk,
        "error",
        file="zones.prj",
        column="zones.prj",
    ),
    Case(
        "zip_bomb_in_the_dbf",
        "resources",
        zip_bomb_dbf,
        "error",
        file="zones.zip",
        column="zones.dbf",
        slow=True,
    ),
    Case(
        "csv_above_the_size_cap",
        "resources",
        big_csv,
        "error",
        file="customers.csv",
        column="max_table_mb",
    ),
    Case(
        "xlsx_above_the_size_cap",
        "resources",
        big_xlsx,
        "error",
        file="customers.xlsx",
        column="max_table_mb",
    ),
    Case(
        "geojson_above_the_size_cap",
        "resources",
        big_geojson,
        "error",
        file="zones.geojson",
        column="max_vector_mb",
    ),
    Case(
        "dealer_toml_of_20_mb",
        "resources",
        huge_dealer,
        "error",
        file="dealer.toml",
        column="dealer.toml",
    ),
    Case(
        "xlsx_dimension_claims_a_million_rows",
        "resources",
        lying_dimension,
        "accept",
        check=check_customers(),
    ),
]


# ---------------------------------------------------------------- class 8: global options


def broken_toml(root: Path) -> None:
    ws(root, dealer=DEALER.replace("lon = 104.03\n", ""))


def english(r: Result):
    return ("Fix:" in r.err and "修改方法" not in r.err) or "not in English"


def chinese(r: Result):
    return ("修改方法" in r.err and "Fix:" not in r.err) or "not in Chinese"


def json_out(r: Result):
    json.loads(r.out)
    return True


def english_json(r: Result):
    doc = json.loads(r.out)
    return (
        not doc.get("ok", True)
        and all(not re.search(r"[\u4e00-\u9fff]", p["fix"]) for p in doc["problems"])
    ) or "problems not in English"


def env_runner(env: dict):
    def runner(case: Case, tmp: Path, lang: str) -> Result:
        root = tmp / "ws"
        case.build(root)
        before = snapshot(root)
        status, out, err = cli(_fill(case.argv, root, tmp), env=env)
        return Result(status, out, err, root, changed=snapshot(root) != before)

    return runner


def plain_runner(case: Case, tmp: Path, lang: str) -> Result:
    return env_runner({})(case, tmp, lang)


def g(
    cid,
    argv,
    build=broken_toml,
    expect="error",
    check=None,
    env=None,
    file="dealer.toml",
    column="lon",
    fix=True,
):
    return Case(
        cid,
        "cli",
        build,
        expect,
        file=file,
        column=column,
        argv=tuple(argv),
        check=check,
        runner=env_runner(env) if env else plain_runner,
        fix=fix,
    )


CLI: list[Case] = [
    g("lang_before_the_command", ["--lang", "en", "validate", "{ws}"], check=english),
    g("lang_equals_before_the_command", ["--lang=en", "validate", "{ws}"], check=english),
    g(
        "json_before_the_command",
        ["--json", "score", "{ws}"],
        build=lambda r: ws(r),
        expect="accept",
        check=json_out,
    ),
    g(
        "json_and_lang_before_the_command",
        ["--json", "--lang", "en", "validate", "{ws}"],
        check=english_json,
    ),
    g(
        "lang_from_the_environment",
        ["validate", "{ws}"],
        env={"TERRITORY_LANG": "en"},
        check=english,
    ),
    g(
        "lang_after_the_command_wins",
        ["--lang", "zh", "validate", "{ws}", "--lang", "en"],
        check=english,
    ),
    g(
        "json_before_export",
        ["--json", "export", "{ws}", "--out", "{out}"],
        build=lambda r: ws(r),
        expect="accept",
        check=json_out,
    ),
    g(
        "lang_zh_after_lang_en_wins",
        ["--lang", "en", "validate", "{ws}", "--lang", "zh"],
        check=chinese,
    ),
    g(
        "lang_before_the_command_beats_the_environment",
        ["--lang", "zh", "validate", "{ws}"],
        env={"TERRITORY_LANG": "en"},
        check=chinese,
    ),
    g(
        "unknown_lang_before_the_command",
        ["--lang", "fr", "validate", "{ws}"],
        build=lambda r: ws(r),
        file="--lang",
        column="fr",
        fix=False,
    ),
]

#: The language each case is judged in (cli cases pick theirs in argv).
CASE_LANG = {
    "lang_before_the_command": "en",
    "lang_equals_before_the_command": "en",
    "json_and_lang_before_the_command": "en",
    "lang_from_the_environment": "en",
    "lang_after_the_command_wins": "en",
    "unknown_lang_before_the_command": "en",
    "lang_zh_after_lang_en_wins": "zh",
    "lang_before_the_command_beats_the_environment": "zh",
}

CASES: list[Case] = [*COORDS, *EXCEL, *RANGES, *EXPORT, *STORE, *CONCURRENCY, *RESOURCES, *CLI]


def lang_of(i: int, case: Case) -> str:
    return CASE_LANG.get(case.id, ("zh", "en")[i % 2])


def main_report(selected: list[str] | None = None) -> int:
    import tempfile
    from collections import Counter, defaultdict

    counts: dict[str, Counter] = defaultdict(Counter)
    failures = []
    skip = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--skip=")]
    for i, case in enumerate(CASES):
        if selected and not any(s in case.id or s == case.cls for s in selected):
            continue
        if any(s in case.id for s in skip):
            print(f"{case.cls:12s} {case.id:55s} skipped", flush=True)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            outcome, detail = run(case, Path(tmp), lang_of(i, case))
            took = time.perf_counter() - t0
        counts[case.cls][outcome] += 1
        if outcome != "ok":
            failures.append((case.cls, case.id, outcome, detail))
        print(f"{case.cls:12s} {case.id:55s} {outcome:8s} {took:5.1f}s", flush=True)
    print()
    kinds = ["ok", "silent", "crash", "unclear", "changed", "refused", "leak"]
    print(f"{'class':45s} " + " ".join(f"{k:>8s}" for k in ["cases", *kinds]))
    for cls, title in CLASSES.items():
        c = counts.get(cls, Counter())
        print(
            f"{title:45s} " + " ".join(f"{v:8d}" for v in [sum(c.values()), *(c[k] for k in kinds)])
        )
    if "-v" in sys.argv:
        for cls, cid, outcome, detail in failures:
            print(f"\n--- {cls} {cid}: {outcome}\n{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main_report([a for a in sys.argv[1:] if not a.startswith("-")]))

"""The Streamlit app, page by page, with streamlit.testing (no browser).

One copy of the demo workspace serves the module (the app's caches are per
process, so the analysis is computed once); the saved preferences are cleared
before each test.
"""

from __future__ import annotations

import copy
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.i18n import t
from territory.inputs import store
from territory.inputs.demo import write_demo
from territory.inputs.workspace import load_workspace
from territory.outreach.ranking import next_saturday

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = "territory/ui/pages"
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = write_demo(tmp_path_factory.mktemp("app") / "demo")
    load_workspace(folder, save_store=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERRITORY_WORKSPACE", str(folder))
        mp.setenv("TERRITORY_HOME", str(tmp_path_factory.mktemp("home")))
        yield folder


@pytest.fixture
def app(demo_folder):
    con = sqlite3.connect(demo_folder / store.STORE_FILE)
    with con:
        con.execute("DELETE FROM settings")
    con.close()
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.info, *at.success, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def go(at, page: str) -> AppTest:
    at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_map_page_opens_on_the_demo_in_chinese(app):
    assert app.title[0].value == t("ui.map.title", "zh")
    # The demo is labelled synthetic wherever it is open.
    assert t("ui.sidebar.synthetic", "zh") in [c.value for c in app.sidebar.caption]
    assert [m.label for m in app.metric][:2] == [
        t("ui.map.kpi.zones", "zh", km="15"),
        t("ui.map.kpi.population", "zh"),
    ]
    assert int(app.metric[0].value.replace(",", "")) > 0
    assert app.metric[1].value.endswith(" 万人")
    colour = app.selectbox(key="w_colour_by")
    assert colour.options == [
        t(f"ui.map.colour.{c}", "zh")
        for c in ("zone_type", "density_tier", "income_tier", "r_value", "whitespace_score")
    ]
    colour.set_value("r_value").run()
    assert not app.exception
    assert (
        store.read_ui_settings(Path(app.session_state["territory_folder"]))["colour_by"]
        == "r_value"
    )
    app.button_group(key="w_customer_style").set_value("heat").run()
    app.toggle(key="w_show_cards").set_value(True).run()
    assert not app.exception and not app.error


def test_language_switch_changes_labels_and_is_saved(app, demo_folder):
    app.button_group(key="w_lang").set_value("en").run()
    assert app.title[0].value == t("ui.map.title", "en")
    assert app.selectbox(key="w_model").label == "Model"
    assert app.metric[1].value.endswith(" million")  # not "× 10k"
    assert store.read_ui_settings(demo_folder)["lang"] == "en"
    # A new session (a browser refresh) opens in English.
    again = AppTest.from_file(APP, default_timeout=180)
    again.run()
    assert again.title[0].value == "Environment map"


def test_sites_page_lists_n_sites_and_reranks(app, demo_folder):
    go(app, "sites")
    assert app.date_input(key="w_date").value == next_saturday()
    app.slider(key="w_top").set_value(3).run()
    options = app.selectbox(key="w_site").options
    assert len(options) == 3 and options[0].startswith("1. ")
    first_name = options[0].split(". ", 1)[1].split("（")[0]
    assert first_name in texts(app)
    assert app.subheader[0].value.startswith("1. ")
    parts = [e.label for e in app.expander if e.label[:2].rstrip(".").isdigit()]
    assert len(parts) == 13 and parts[0].startswith("1. ")
    # Another day and weights: a new ranking, saved for the next session.
    later = next_saturday() + dt.timedelta(days=7)
    app.date_input(key="w_date").set_value(later).run()
    assert later.isoformat() in texts(app)
    top_before = app.selectbox(key="w_site").options
    app.slider(key="w_weight_whitespace").set_value(0.0).run()
    app.slider(key="w_weight_distance").set_value(1.0).run()
    assert not app.exception
    assert app.selectbox(key="w_site").options != top_before  # distance now dominates
    saved = store.read_ui_settings(demo_folder)
    assert (
        saved["top"] == 3 and saved["date"] == later.isoformat() and saved["weight_distance"] == 1.0
    )
    again = AppTest.from_file(APP, default_timeout=180)
    again.run()
    again.switch_page(f"{PAGES}/sites.py").run()
    assert again.slider(key="w_weight_distance").value == 1.0
    assert again.date_input(key="w_date").value == later
    # English labels on the same page.
    app.button_group(key="w_lang").set_value("en").run()
    assert app.title[0].value == t("ui.sites.title", "en")
    assert app.date_input(key="w_date").label == "Outreach date"


def test_whitespace_page_shows_areas_and_profile(app):
    go(app, "whitespace")
    assert app.title[0].value == t("ui.whitespace.title", "zh")
    assert len(app.dataframe) >= 2
    areas = app.dataframe[0].value
    assert len(areas) > 0 and areas["area_id"].iloc[0] == "A1"
    charts = app.get("vega_lite_chart")
    assert len(charts) >= 4
    assert any(t("ui.profile.title", "zh", n="40,000") == s.value for s in app.subheader)


def test_coverage_page_shows_table_chart_and_diagnosis(app):
    go(app, "coverage")
    table = app.dataframe[0].value
    assert {"label", "a_cards", "deposit_cards", "diagnosis_label"} <= set(table.columns)
    assert table["a_cards"].sum() > 0
    assert len(app.get("vega_lite_chart")) == 1
    assert app.date_input(key="w_coverage_range").value is not None
    assert "金牛区" in texts(app)  # the demo's planted follow-up gap


def test_print_page_offers_every_export(app):
    go(app, "exports")
    chosen = app.multiselect(key="w_print_sites")
    assert len(chosen.value) == 5
    assert app.button_group(key="w_paper").value == "A4"
    labels = [b.label for b in app.get("download_button")]
    assert (
        t("ui.print.download_xlsx", "zh") in labels and t("ui.print.download_html", "zh") in labels
    )
    chosen.set_value(chosen.value[:1]).run()
    assert not app.exception


def test_print_page_makes_the_pdf_of_the_chosen_site(app, tmp_path):
    import re
    import subprocess

    from pypdf import PdfReader

    go(app, "exports")
    sites = app.multiselect(key="w_print_sites")
    first, label = sites.value[0], sites.options[0]  # options read "1. 文家街道"
    name = label.split(". ", 1)[1]
    sites.set_value([first]).run()
    app.button(key="make_pdf").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    path = tmp_path / "app.pdf"
    path.write_bytes(app.session_state["pdf_bytes"])
    pdf = PdfReader(path)
    assert len(pdf.pages) == app.session_state["pdf_pages"] >= 3  # map, plan, form
    sizes = {round(float(p.mediabox.width)) for p in pdf.pages}
    assert sizes <= {595, 842}  # A4 in either orientation
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert name in text.replace(" ", "")
    assert not re.search(r"1[3-9]\d{9}", text)
    assert any(f"{len(pdf.pages)} 页" in s.value for s in app.success)
    assert t("ui.print.download_pdf", "zh") in [b.label for b in app.get("download_button")]
    # Another paper size asks for a new PDF: the old one is no longer offered.
    app.button_group(key="w_paper").set_value("A3").run()
    assert "pdf_bytes" not in app.session_state


def test_data_page_reports_layers_and_problems(app, demo_folder, tmp_path):
    go(app, "data")
    summary = app.dataframe[0].value
    assert summary["rows"].tolist()[:2] == [395, 40_000]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dealer.toml").write_text(
        'name = "x"\nlon = 104.0\nlat = 30.6\n[[models]]\nname = "A"\nprice = 1\n', encoding="utf-8"
    )
    (bad / "zones.csv").write_text("zone_id\n1\n", encoding="utf-8")
    app.text_input(key="open_path").set_value(str(bad)).run()
    app.button(key="open_button").click().run()
    assert not app.exception
    assert app.error, "the invalid workspace must be reported"
    problems = [d.value for d in app.dataframe if "fix" in d.value.columns]
    assert problems and problems[0]["fix"].str.len().min() > 0
    app.text_input(key="open_path").set_value(str(tmp_path / "missing")).run()
    app.button(key="open_button").click().run()
    assert any(str(tmp_path / "missing") in e.value for e in app.error)
    assert app.session_state["territory_folder"] == str(demo_folder)  # still the demo


def test_uploads_are_checked_before_saving(app, demo_folder, tmp_path):
    from territory.ui import state

    good = (demo_folder / "events.csv").read_bytes()
    staging = state.stage_files({"events": ("活动.csv", good)}, base=demo_folder)
    assert (staging / "events.csv").read_bytes() == good and (staging / "zones.geojson").exists()
    broken = b"event_id,date,format\nE1,not a date,flyers\n"
    staging = state.stage_files({"events": ("events.csv", broken)}, base=demo_folder)
    from territory._errors import LayerError
    from territory.inputs.workspace import read_sources

    with pytest.raises(LayerError) as err:
        read_sources(staging)
    assert any(p.file == "events.csv" and p.row == 2 for p in err.value.problems)
    with pytest.raises(ValueError, match="zones"):
        state.stage_files({"zones": ("zones.csv", b"x")}, base=demo_folder)


def test_checked_files_are_saved_into_the_workspace(tiny_ws):
    from territory.ui import state

    before = load_workspace(tiny_ws, save_store=True)
    assert len(before.events) == 1
    events = (tiny_ws / "events.csv").read_text(encoding="utf-8")
    events += "E2,2026-04-11,002,flyers,1500,60,2\n"
    staging = state.stage_files({"events": ("活动.xlsx.csv", events.encode())}, base=tiny_ws)
    state.store_files(staging, ["events"], root=tiny_ws)
    after = store.read_store(tiny_ws)
    assert sorted(after.events["event_id"]) == ["E1", "E2"]
    assert store.read_store_if_fresh(tiny_ws) is not None  # the store matches the new files


def test_user_strings_show_as_text_in_tables(tmp_path, monkeypatch):
    from conftest import make_workspace, zones_geojson

    zones = copy.deepcopy(zones_geojson())  # the fixture shares its property dicts
    for feature in zones["features"]:
        feature["properties"]["name"] = EVIL
    folder = make_workspace(tmp_path / "evil", zones=zones)
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(folder))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    go(at, "whitespace")
    names = at.dataframe[-1].value["name"].tolist()
    assert names and set(names) == {EVIL}
    go(at, "sites")
    assert EVIL in at.selectbox(key="w_site").options[0]
    # In Markdown the name is escaped, so it renders as text, never as an <img>.
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in texts(at)


def test_data_page_shows_warnings_open_with_the_evidence(tmp_path, monkeypatch):
    """Issue 13: a warning (here, GCJ-02 points labelled WGS-84) is shown, not folded away."""
    from _corpus import customers_rows, points_in_zones
    from conftest import make_workspace

    customers = customers_rows(points_in_zones(10, 1), system="gcj02")  # labelled WGS-84
    folder = make_workspace(tmp_path / "gcj", customers=customers)
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(folder))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    go(at, "data")
    assert [w.value for w in at.warning] == [t("ui.data.warnings", "zh", n=1)]
    messages = at.dataframe[-1].value
    row = messages[messages["file"] == "customers.csv"].iloc[0]
    assert row["severity"] == t("ui.severity.warning", "zh") and "gcj02" in row["message"]


def test_every_message_the_app_uses_exists_in_both_languages():
    import re

    from territory.i18n import catalogue
    from territory.render import maps
    from territory.ui import state

    root = Path(APP).parent
    sources = [
        Path(APP),
        *sorted((root / "territory" / "ui").rglob("*.py")),
        root / "territory" / "render" / "maps.py",
    ]
    literal = re.compile(r"""["']((?:ui|maps)\.[a-z0-9_.]+)["']""")
    keys = {k for path in sources for k in literal.findall(path.read_text(encoding="utf-8"))}
    keys = {k for k in keys if not k.endswith(".")}
    # Keys built with f-strings, from the values they take.
    keys |= {f"ui.map.colour.{c}" for c in maps.COLOUR_BY}
    keys |= {f"ui.map.customer_style.{c}" for c in maps.CUSTOMER_STYLES}
    keys |= {f"ui.layer.{n}" for n in state.LAYER_SUFFIXES}
    keys |= {f"ui.sites.weight.{k}" for k in state.WEIGHT_KEYS}
    keys |= {f"ui.weekday.{d}" for d in range(7)} | {"ui.severity.error", "ui.severity.notice"}
    keys |= {f"ui.profile.recency.{r}" for r in ("<3m", "3-12m", "1-3y", "3y+")}
    keys |= {f"maps.tiles.{c}" for c in maps.TILES}
    keys |= {f"maps.layer.{c}" for c in ("a_cards_per_10k", "deposit_rate")}
    keys |= {f"maps.legend.{c}" for c in (*maps.COLOUR_BY[1:], "a_cards_per_10k", "deposit_rate")}
    known = catalogue()
    missing = sorted(k for k in keys if k not in known)
    assert missing == []
    assert len(keys) > 150
    assert all(known[k]["zh"] and known[k]["en"] for k in keys)

"""The Network page (经销商网络) with streamlit.testing: a network folder opens on it.

The page runs the literal grid network on a LocalCluster shared through
``$TERRITORY_DASK_SCHEDULER`` (as a user points the app at a cluster).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.i18n import t
from territory.network import grid
from territory.network.folders import MARKER

APP = str(Path(__file__).resolve().parent.parent / "app.py")
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def network_env(tmp_path_factory):
    from distributed import LocalCluster

    folder = grid.write_grid_network(tmp_path_factory.mktemp("app") / "net")
    # A dealer whose name would run script if it reached the page unescaped.
    text = (folder / "dealers.csv").read_text(encoding="utf-8").replace("东城 4S 店", EVIL)
    (folder / "dealers.csv").write_text(text, encoding="utf-8")
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as c,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("TERRITORY_WORKSPACE", str(folder))
        mp.setenv("TERRITORY_HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("TERRITORY_DASK_SCHEDULER", c.scheduler_address)
        yield folder


def run_network(lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    if lang != "zh":
        at.session_state["w_lang"] = lang
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("ui.network.title", lang)
    at.button(key="network_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_network_page_runs_and_shows_dealers_gaps_and_outlets(network_env):
    at = run_network("zh")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("ui.network.m_dealers", "zh")] == "3"
    assert metrics[t("ui.network.m_served", "zh")] == "18 / 24"
    assert int(metrics[t("ui.network.m_gaps", "zh")]) >= 1
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == [
        t(f"network.col.{c}", "zh") for c in ("dealer_id", "name", "brand")
    ]
    assert table[t("network.col.dealer_id", "zh")].tolist() == ["D1", "D2", "D3"]
    assert (
        t("coverage.diagnosis.follow_up_gap", "zh")
        in table[t("network.col.diagnosis", "zh")].tolist()
    )
    # Gaps table and the outlets chosen over them.
    gaps = at.dataframe[1].value
    assert gaps[t("ui.network.g_km", "zh")].min() > 6.0
    assert any("网格6" in str(m.value) or "网格7" in str(m.value) for m in at.markdown)
    # The download holds the table, never a phone number.
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        t("ui.network.download", "zh", kind="CSV"),
        t("ui.network.download", "zh", kind="XLSX"),
    ]


def test_network_page_in_english_and_escapes_names(network_env):
    at = run_network("en")
    assert at.metric[0].label == "Dealers"
    assert (
        "Follow-up gap (few deposits)"
        in at.dataframe[0].value["Diagnosis (vs network median)"].tolist()
    )
    # The evil dealer name is data in the table, never markup in the page's markdown.
    assert not any("<img" in str(m.value) for m in at.markdown)
    at.radio(key="network_colour").set_value("diagnosis").run()
    assert not at.exception


def test_click_through_opens_the_dealers_own_pages(network_env):
    # In Chinese: AppTest evaluates translated option labels outside the page, in Chinese.
    at = run_network("zh")
    at.selectbox(key="network_pick").set_value("D2").run()
    at.button(key="network_open").click().run()
    assert not at.exception, at.exception
    folder = network_env / ".territory" / "dealers" / "D2"
    assert json.loads((folder / MARKER).read_text(encoding="utf-8"))["dealer_id"] == "D2"
    # Now the dealer's own pages: the map page, with the way back.
    assert at.title[0].value == t("ui.map.title", "zh")
    assert "中城 4S 店" in next(m.value for m in at.sidebar.markdown)
    at.button(key="network_back").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("ui.network.title", "zh")

"""Territory's Streamlit entry point (provisional: the demo on one map).

Run with ``uv run streamlit run app.py``. The full app (pages for data,
map, white space, sites, coverage and printing) replaces this page.
"""

from __future__ import annotations

import os
from pathlib import Path

import folium
import streamlit as st
from streamlit_folium import st_folium

from territory.demo import write_demo
from territory.i18n import t
from territory.vocab import ZONE_TYPES, label
from territory.workspace import load_workspace

ZONE_COLOURS = {
    "residential": "#4e79a7",
    "commercial": "#f28e2b",
    "enterprise": "#76b7b2",
    "township": "#59a14f",
    "market": "#edc948",
    "driving_school": "#b07aa1",
    "other": "#bab0ac",
}


def workspace_folder() -> Path:
    """The workspace to open: $TERRITORY_WORKSPACE, else a copy of the demo."""
    chosen = os.environ.get("TERRITORY_WORKSPACE")
    if chosen:
        return Path(chosen)
    home = Path(os.environ.get("TERRITORY_HOME", Path.home() / ".territory"))
    demo = home / "demo"
    if not (demo / "dealer.toml").exists():
        write_demo(demo)
    return demo


@st.cache_resource(show_spinner=False)
def _workspace(folder: str):
    return load_workspace(folder, save_store=True)


st.set_page_config(page_title=t("app.title", "zh"), layout="wide")
ws = _workspace(str(workspace_folder()))
st.title(t("app.title", "zh"))
st.caption(f"{ws.dealer.name} · {len(ws.zones)} 个区域 · {len(ws.customers)} 位保有客户")

m = folium.Map(location=[ws.dealer.lat, ws.dealer.lon], zoom_start=10, tiles=None)
zones = ws.zones[["zone_id", "name", "district", "zone_type", "population", "geometry"]].copy()
zones["type_label"] = zones["zone_type"].map(lambda c: label(c, ZONE_TYPES, "zh"))
folium.GeoJson(
    zones.to_json(),
    style_function=lambda f: {
        "fillColor": ZONE_COLOURS.get(f["properties"]["zone_type"], "#999"),
        "color": "#555",
        "weight": 0.5,
        "fillOpacity": 0.5,
    },
    tooltip=folium.GeoJsonTooltip(fields=["name", "district", "type_label", "population"]),
).add_to(m)
folium.Marker([ws.dealer.lat, ws.dealer.lon], tooltip=ws.dealer.name).add_to(m)
st_folium(m, height=640, use_container_width=True, returned_objects=[])

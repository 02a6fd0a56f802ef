"""A folium map in Streamlit that loads nothing from the network.

Run ``uv run streamlit run tests/apps/offline_map_app.py``; the browser test
``tests/test_offline_assets_browser.py`` drives it with every request to a
host other than 127.0.0.1 blocked. No configuration is needed:
:func:`territory.render.assets.streamlit_base_url` makes Streamlit serve the
vendored files and :func:`territory.render.assets.localise` points the map at them.
"""

import branca.colormap
import folium
import streamlit as st
from folium.plugins import Fullscreen, HeatMap, MarkerCluster, MeasureControl
from streamlit_folium import st_folium

from territory.render.assets import localise, streamlit_base_url

ZONES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"zone_id": "Z1", "name": "锦江 A"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [104.05, 30.65],
                        [104.07, 30.65],
                        [104.07, 30.67],
                        [104.05, 30.67],
                        [104.05, 30.65],
                    ]
                ],
            },
        },
        {
            "type": "Feature",
            "properties": {"zone_id": "Z2", "name": "青羊 B"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [104.03, 30.66],
                        [104.05, 30.66],
                        [104.05, 30.68],
                        [104.03, 30.68],
                        [104.03, 30.66],
                    ]
                ],
            },
        },
    ],
}


def build_map() -> folium.Map:
    """The demo map: every kind of layer and plugin Territory's maps use, no tiles."""
    # maxZoom, not max_zoom: with tiles=None folium drops max_zoom, and
    # MarkerCluster throws (stopping the whole map script) without it.
    m = folium.Map(location=[30.663, 104.055], zoom_start=14, tiles=None, maxZoom=18)
    folium.GeoJson(
        ZONES,
        name="zones",
        tooltip=folium.GeoJsonTooltip(["zone_id", "name"]),
        popup=folium.GeoJsonPopup(["name"]),
    ).add_to(m)
    HeatMap(
        [[30.660, 104.060, 1.0], [30.662, 104.058, 0.6], [30.670, 104.040, 0.8]], name="heat"
    ).add_to(m)
    folium.Marker(
        [30.664, 104.056], tooltip="dealer", icon=folium.Icon(icon="car", prefix="fa")
    ).add_to(m)
    folium.Marker([30.672, 104.045], tooltip="glyph", icon=folium.Icon(icon="info-sign")).add_to(m)
    cluster = MarkerCluster(name="customers").add_to(m)
    for lat, lon in [(30.655, 104.052), (30.656, 104.053), (30.657, 104.066)]:
        folium.CircleMarker([lat, lon], radius=5).add_to(cluster)
    branca.colormap.LinearColormap(["#ffffcc", "#800026"], vmin=0, vmax=10, caption="R").add_to(m)
    Fullscreen().add_to(m)
    MeasureControl().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def main() -> None:
    """The page: the demo map through st_folium, every asset served by the app."""
    st.set_page_config(page_title="offline map")
    st.title("Offline map")
    m = localise(build_map(), base_url=streamlit_base_url())
    st_folium(m, height=480, width=700, returned_objects=[])


if __name__ == "__main__":
    main()

"""Presentation: folium maps and their assets, HTML export, printed field maps and plans."""

"""Self-contained HTML export of an interactive map, for sharing (issue 6, item 6).

One file that opens from disk with no network (every script and style sheet
inlined by :func:`territory.render.assets.standalone_html`; with ``tiles="none"``
it makes no request at all). The maps of :mod:`territory.render.maps` embed only
whitelisted columns and pass every text through
:func:`territory.render._payloads.safe_text`; this module adds a title and refuses to
write a document in which a mainland mobile number appears.

Examples
--------
>>> import tempfile, pathlib
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> from territory.analysis.zones import analyse
>>> from territory.render.maps import environment_map
>>> ws = load_workspace(demo_path(), use_store=False)
>>> m = environment_map(ws, analyse(ws), tiles="none")
>>> out = write_map_html(m, pathlib.Path(tempfile.mkdtemp()) / "map.html", title=ws.dealer.name)
>>> text = out.read_text(encoding="utf-8")
>>> "<script src=" in text, "13812341234" in text
(False, False)
"""

from __future__ import annotations

from pathlib import Path

import folium

from territory.privacy import PHONE_PATTERN
from territory.render._folium import stable_ids
from territory.render._payloads import safe_text
from territory.render.assets import standalone_html

__all__ = ["ExportError", "check_export_html", "map_html", "write_map_html"]


class ExportError(ValueError):
    """An export would carry personal data (a phone number)."""


def check_export_html(html: str) -> None:
    """Raise :class:`ExportError` if ``html`` holds anything shaped like a mobile number.

    The check is deliberately blunt (any ``1[3-9]`` followed by 9 digits,
    even inside a longer number), the same test the export tests apply.
    """
    match = PHONE_PATTERN.search(html)
    if match:
        start = max(0, match.start() - 40)
        raise ExportError(
            "the exported map would contain a phone number-like sequence near "
            f"{html[start : match.end() + 10]!r}; the map must be built with territory.render.maps, "
            "which never embeds phone numbers"
        )


def map_html(m: folium.Map, *, title: str | None = None) -> str:
    """The map as one offline HTML document (title escaped, no phone numbers).

    Raises
    ------
    ExportError
        If a phone number-like sequence would be written.
    territory.render.assets.UnvendoredAssetError
        If the map links an asset that is not vendored.
    """
    if title is not None:
        m.get_root().title = safe_text(title)
    html = standalone_html(stable_ids(m))
    check_export_html(html)
    return html


def write_map_html(m: folium.Map, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`map_html` of ``m`` to ``path`` (UTF-8); return the path."""
    path = Path(path)
    path.write_text(map_html(m, title=title), encoding="utf-8")
    return path

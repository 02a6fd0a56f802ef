"""Display helpers shared by the pages: headers, tables, maps, problem reports.

Tables go through ``st.dataframe`` (cells are text, never HTML); free text
with user data goes through :func:`md` (Markdown special characters
escaped), so a zone called ``<img src=x onerror=alert(1)>`` shows as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from territory._errors import ERROR, Problem
from territory.ui import state

__all__ = [
    "MapAction",
    "header",
    "localise_widgets",
    "md",
    "open_folder_form",
    "problems_table",
    "recovery_form",
    "show_map",
    "table",
]

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")


def md(text: object) -> str:
    """``text`` with every Markdown (and HTML) special character escaped."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and line breaks escaped)."""
    return (
        '"'
        + "".join(c if c.isalnum() or c in " ·、，,.()（）" else f"\\{ord(c):x} " for c in text)
        + '"'
    )


def localise_widgets() -> None:
    """Streamlit's own texts of the upload widget in the app's language.

    ``st.file_uploader`` has no parameter for its button ("Upload") and its
    limit line ("200MB per file • CSV, ..."), so in Chinese the page's style
    sheet replaces them with the catalogue's texts (the original text is kept
    for screen readers in ``aria`` attributes and hidden on screen). The other
    widgets take our texts as parameters (labels, ``placeholder=``).
    """
    if state.lang() == "en":
        return
    from streamlit import config

    limit = state.tr(
        "ui.upload.limit",
        mb=config.get_option("server.maxUploadSize"),
        types="、".join(("CSV", "XLSX", "GeoJSON", "JSON", "GPKG", "ZIP", "TOML")),
    )
    button = state.tr("ui.upload.button")
    css = f"""
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p,
[data-testid="stFileUploaderDropzoneInstructions"] span {{
  font-size: 0 !important; line-height: 0 !important; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: {_css_string(button)}; font-size: 14px; line-height: 1.6; }}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{
  content: {_css_string(limit)}; font-size: 14px; line-height: 1.6; }}
"""
    st.html(f"<style>{css}</style>")


def header(title_key: str, caption_key: str | None = None) -> None:
    """The page title and a one-line explanation, from the catalogue."""
    st.title(state.tr(title_key))
    if caption_key:
        st.caption(state.tr(caption_key))


def table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    key: str | None = None,
    height: int | str = "auto",
    formats: Mapping[str, str] | None = None,
) -> None:
    """Show ``frame``'s ``columns`` (name -> catalogue key of the header) as a table."""
    shown = frame[[c for c in columns if c in frame.columns]].copy()
    config = {}
    for column, key_ in columns.items():
        if column not in shown.columns:
            continue
        fmt = (formats or {}).get(column)
        if fmt:
            config[column] = st.column_config.NumberColumn(state.tr(key_), format=fmt)
        else:
            config[column] = st.column_config.Column(state.tr(key_))
    st.dataframe(
        shown,
        hide_index=True,
        column_config=config,
        key=key,
        height=height,
        width="stretch",
        placeholder="—",
    )


def problems_table(problems: Iterable[Problem], *, key: str = "problems") -> None:
    """The validation report: severity, file, row, column, message and fix, errors first."""
    lang = state.lang()
    rows = []
    order = {ERROR: 0, "warning": 1}
    for p in sorted(problems, key=lambda p: order.get(p.severity, 2)):
        d = p.to_dict(lang)
        rows.append(
            {
                "severity": state.tr(f"ui.severity.{d['severity']}"),
                "file": d["file"],
                "row": _rows_text(d["rows"]),
                "column": d["column"] or "",
                "message": d["message"],
                "fix": d["fix"],
            }
        )
    frame = pd.DataFrame(rows, columns=["severity", "file", "row", "column", "message", "fix"])
    table(
        frame,
        {
            "severity": "ui.problems.severity",
            "file": "ui.problems.file",
            "row": "ui.problems.row",
            "column": "ui.problems.column",
            "message": "ui.problems.message",
            "fix": "ui.problems.fix",
        },
        key=key,
    )


def _rows_text(rows: list[int]) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (state.tr("ui.problems.more_rows", n=len(rows) - 5) if len(rows) > 5 else "")


@dataclass(frozen=True)
class MapAction:
    """What the user asked for on a map: a card button or a marker click (``action`` on ``id``)."""

    action: str
    id: str


def show_map(m, *, height: int = 600, key: str | None = None) -> MapAction | None:
    """Draw a map of :mod:`territory.render.maps` with every asset served by the app itself.

    Returns the :class:`MapAction` the user has just asked for on this map (a
    card button, e.g. ``CardAction("set_site", ...)`` on the zone card, or a
    site marker with ``click_action``), once; None otherwise. Give the map a
    ``key`` when it has actions, so a rerun does not repeat the last one.
    """
    from streamlit_folium import st_folium

    from territory.render.assets import localise, streamlit_base_url

    value = st_folium(
        localise(m, base_url=streamlit_base_url()),
        height=height,
        use_container_width=True,
        returned_objects=[],
        key=key,
    )
    request = (value or {}).get("territory_action") if isinstance(value, dict) else None
    if not isinstance(request, dict) or not request.get("action"):
        return None
    seen = f"_map_action_seen_{key}"
    if st.session_state.get(seen) == request.get("n"):
        return None
    st.session_state[seen] = request.get("n")
    return MapAction(action=str(request["action"]), id=str(request.get("id", "")))


def open_folder_form(*, key: str = "open") -> None:
    """A folder path and an Open button; on success the session switches workspace."""
    path = st.text_input(
        state.tr("ui.data.folder_input"),
        key=f"{key}_path",
        placeholder=state.tr("ui.data.folder_placeholder"),
    )
    if st.button(state.tr("ui.data.open"), key=f"{key}_button", type="primary"):
        with state.guard(), st.spinner(state.tr("ui.spinner.workspace")):
            state.open_folder(path)
            st.rerun()


def recovery_form() -> None:
    """Shown when the workspace cannot be opened: open another folder, or the demo."""
    st.title(state.tr("ui.recovery.title"))
    st.caption(state.tr("ui.recovery.caption", path=md(state.folder())))
    open_folder_form(key="recover")
    if st.button(state.tr("ui.recovery.demo"), key="recover_demo"):
        state.use_demo()
        st.rerun()

"""数据 Data: which workspace is open, what it holds, and bringing in new files.

Open a workspace folder, or upload files (CSV/XLSX, GeoJSON, zipped shapefile,
dealer.toml); every problem is listed with file, row, column and fix before
anything is saved into the workspace.

A Streamlit page script, run by ``app.py``'s navigation (not imported).
"""

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import streamlit as st

from territory._errors import LayerError
from territory.inputs import store
from territory.inputs.workspace import read_sources, summary
from territory.ui import components as ui
from territory.ui import state

tr = state.tr
ui.header("ui.data.title", "ui.data.caption")

_GUESS = {
    "dealer": ("dealer", "门店", "经销商"),
    "zones": ("zone", "区域", "片区"),
    "customers": ("customer", "客户", "保有"),
    "cards": ("card", "线索", "a卡", "订金"),
    "events": ("event", "活动", "外拓"),
    "pois": ("poi", "兴趣点", "驾校", "市场"),
}


def _guess(name: str) -> str:
    lower = name.lower()
    for layer, words in _GUESS.items():
        if any(w in lower for w in words):
            return layer
    return "customers" if lower.endswith((".csv", ".xlsx")) else "zones"


with state.guard():
    ws = state.workspace()
    st.subheader(tr("ui.data.current"))
    c1, c2 = st.columns([3, 2])
    with c1:
        st.markdown(f"**{ui.md(ws.dealer.name)}**")
        st.caption(tr("ui.sidebar.folder", path=ui.md(state.folder())))
        sep = "、" if state.lang() == "zh" else ", "
        models = sep.join(
            f"{ui.md(m.name)} ({tr('ui.money', value=f'{m.price:,.0f}')})" for m in ws.dealer.models
        )
        st.caption(tr("ui.data.models", models=models))
    with c2:
        stored = (state.folder() / store.STORE_FILE).exists()
        st.caption(tr("ui.data.store_yes" if stored else "ui.data.store_no", file=store.STORE_FILE))

    table = summary(ws)
    table["layer_label"] = [tr(f"ui.layer.{name}") for name in table["layer"]]
    table["file"] = table["file"].fillna("—")
    ui.table(
        table,
        {
            "layer_label": "ui.col.layer",
            "file": "ui.col.file",
            "rows": "ui.col.rows",
            "coords": "ui.col.by_coords",
            "zone_id": "ui.col.by_zone_id",
            "address": "ui.col.by_address",
            "unlocated": "ui.col.unlocated",
            "in_zone": "ui.col.in_zone",
        },
        formats={
            c: "localized" for c in ("rows", "coords", "zone_id", "address", "unlocated", "in_zone")
        },
        key="layer_summary",
    )
    if ws.notices:
        warnings = [p for p in ws.notices if p.severity == "warning"]
        if warnings:  # results may be wrong until the user looks: shown open, not folded away
            st.warning(tr("ui.data.warnings", n=len(warnings)))
        with st.expander(tr("ui.data.notices", n=len(ws.notices)), expanded=bool(warnings)):
            ui.problems_table(ws.notices, key="workspace_notices")

    st.subheader(tr("ui.data.open_title"))
    ui.open_folder_form(key="open")
    if st.button(tr("ui.recovery.demo"), key="open_demo"):
        state.use_demo()
        st.rerun()

    st.subheader(tr("ui.data.upload_title"))
    st.caption(tr("ui.data.upload_caption"))
    uploads = st.file_uploader(
        tr("ui.data.upload"),
        type=["csv", "xlsx", "geojson", "json", "gpkg", "zip", "toml"],
        accept_multiple_files=True,
        key="uploads",
    )
    if uploads:
        layers = list(state.LAYER_SUFFIXES)
        chosen: dict[str, tuple[str, bytes]] = {}
        for i, upload in enumerate(uploads):
            layer = st.selectbox(
                tr("ui.data.layer_for", file=upload.name),
                layers,
                index=layers.index(_guess(upload.name)),
                format_func=lambda name: tr(f"ui.layer.{name}"),
                key=f"upload_layer_{i}",
                placeholder=tr("ui.choose"),
            )
            chosen[layer] = (upload.name, upload.getvalue())
        if st.button(tr("ui.data.check"), type="primary", key="check_uploads"):
            old = st.session_state.pop("staging", None)
            if old:
                shutil.rmtree(old, ignore_errors=True)
            with st.spinner(tr("ui.spinner.validate")):
                staging = state.stage_files(chosen)
                st.session_state["staging"] = str(staging)
                st.session_state["staged_layers"] = list(chosen)
                try:
                    staged = read_sources(staging, lang=state.lang())
                    st.session_state["staged_problems"] = None
                    st.session_state["staged_notices"] = staged.notices
                    st.session_state["staged_summary"] = summary(staged)
                except LayerError as exc:
                    # Name the files as the user uploaded them, not as they were staged.
                    names = {
                        f"{layer}{Path(original).suffix.lower()}": original
                        for layer, (original, _) in chosen.items()
                    }
                    st.session_state["staged_problems"] = [
                        dataclasses.replace(p, file=names.get(p.file, p.file)) for p in exc.problems
                    ]
    staging = st.session_state.get("staging")
    if staging and Path(staging).exists():
        problems = st.session_state.get("staged_problems")
        if problems:
            errors = [p for p in problems if p.severity == "error"]
            st.error(tr("ui.data.invalid", n=len(errors)))
            ui.problems_table(problems, key="staged_problems_table")
        else:
            st.success(tr("ui.data.valid"))
            staged: pd.DataFrame = st.session_state["staged_summary"]
            staged["layer_label"] = [tr(f"ui.layer.{name}") for name in staged["layer"]]
            ui.table(
                staged,
                {
                    "layer_label": "ui.col.layer",
                    "file": "ui.col.file",
                    "rows": "ui.col.rows",
                    "unlocated": "ui.col.unlocated",
                },
                key="staged_summary_table",
            )
            notices = st.session_state.get("staged_notices") or []
            if notices:
                with st.expander(tr("ui.data.notices", n=len(notices))):
                    ui.problems_table(notices, key="staged_notices_table")
            if st.button(tr("ui.data.save"), type="primary", key="save_uploads"):
                with st.spinner(tr("ui.spinner.save")):
                    state.store_files(Path(staging), st.session_state["staged_layers"])
                shutil.rmtree(staging, ignore_errors=True)
                for key in (
                    "staging",
                    "staged_layers",
                    "staged_problems",
                    "staged_notices",
                    "staged_summary",
                ):
                    st.session_state.pop(key, None)
                st.session_state["saved_message"] = True
                st.rerun()
    if st.session_state.pop("saved_message", False):
        st.success(tr("ui.data.saved"))

"""Session state, saved preferences and caches of the app.

This is the only module of Territory with ``st.cache_*``: the package's
functions stay plain. What a fresh server would have to compute again (the
workspace, its analysis, the customer hexagons, the maps) is also kept on disk
by :mod:`territory.ui._precomputed`, so the first map after a restart comes in
seconds. Caches are keyed by the workspace folder and a stamp of
its files, so saving new files invalidates them; the analysis is cached per
model, radius and language, so moving a weight slider or the date only reruns
:func:`territory.outreach.ranking.recommend` with the precomputed ``analysis=``.

The user's choices (language, model, radius, date, weights, rotation, ...)
are saved in the workspace store (:func:`territory.inputs.store.save_ui_settings`)
as soon as a widget changes, and read back when a session starts, so they
survive a browser refresh.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from territory._errors import LayerError
from territory.i18n import check_lang, t
from territory.inputs import store
from territory.inputs.layers import LAYERS, TABLE_SUFFIXES, ZONE_SUFFIXES
from territory.settings import SettingsError

__all__ = [
    "LAYER_SUFFIXES",
    "PREF_DEFAULTS",
    "WEIGHT_KEYS",
    "analysis",
    "basemap",
    "bind",
    "cached_map",
    "call_list_xlsx",
    "chosen_sites",
    "coverage",
    "default_folder",
    "folder",
    "followup_default_date",
    "followup_list",
    "followup_view",
    "guard",
    "hexes",
    "home",
    "init",
    "lang",
    "lead_funnel",
    "lead_pyramid",
    "leads",
    "lost_leads",
    "offline",
    "open_folder",
    "overrides",
    "plan",
    "plans_xlsx",
    "pref",
    "prefs_unsaved",
    "print_pdf",
    "print_territories_pdf",
    "ready",
    "recommendation",
    "recommendation_weeks",
    "record_lead_update",
    "save",
    "save_lang",
    "set_pref",
    "site_date",
    "stage_files",
    "start_basemap_check",
    "store_files",
    "territories",
    "territories_map",
    "territory_settings",
    "tr",
    "use_demo",
    "workspace",
]

#: The ranking weights the Sites page offers, in display order.
WEIGHT_KEYS: tuple[str, ...] = ("whitespace", "r_score", "density", "distance", "history")

#: Preferences that are saved in the workspace, with their defaults (None: from the workspace).
PREF_DEFAULTS: dict[str, Any] = {
    "lang": None,
    "model": None,
    "radius_km": None,
    "tiles": "auto",
    "colour_by": "zone_type",
    "customer_style": "hexagons",
    "show_cards": False,
    "show_pois": True,
    "date": None,
    "top": 5,
    "rotation_weeks": None,
    "chosen_sites": [],
    "weeks": 1,
    "coverage_start": None,
    "coverage_end": None,
    "paper": "A4",
    "print_lang": None,
    "masked_contacts": False,
    "print_cards": False,
    **{f"weight_{k}": None for k in WEIGHT_KEYS},
}

#: File suffixes accepted per layer on upload.
LAYER_SUFFIXES: dict[str, tuple[str, ...]] = {
    "dealer": (".toml",),
    "zones": tuple(ZONE_SUFFIXES),
    **{name: tuple(TABLE_SUFFIXES) for name in LAYERS if name != "zones"},
}

_LOG = logging.getLogger("territory.ui")
_FOLDER = "territory_folder"
_PREFS = "territory_prefs"
_UNSAVED = "territory_prefs_unsaved"
_DEMO_COPY = threading.Lock()


# ----------------------------------------------------------------------------- folders


def home() -> Path:
    """Territory's per-user folder: ``$TERRITORY_HOME`` or ``~/.territory``."""
    return Path(os.environ.get("TERRITORY_HOME") or Path.home() / ".territory")


def default_folder() -> Path:
    """``$TERRITORY_WORKSPACE``, else a copy of the demo in :func:`home` (written once)."""
    chosen = os.environ.get("TERRITORY_WORKSPACE")
    if chosen:
        return Path(chosen)
    return _demo()


def _demo() -> Path:
    """The demo copy in :func:`home` (written or renewed under a lock: sessions and the server's
    warm-up, :func:`prepare`, may ask at once)."""
    from territory.inputs.demo import demo_copy

    with _DEMO_COPY:
        return demo_copy(home() / "demo")


def folder() -> Path:
    """The workspace folder of this session."""
    if _FOLDER not in st.session_state:
        st.session_state[_FOLDER] = str(default_folder())
    return Path(st.session_state[_FOLDER])


def _stamp(root: Path) -> str:
    """Changes whenever a plain file of the workspace changes or an edit is journalled (cache key)."""
    from territory.inputs.journal import Journal

    files = store.source_fingerprints(root)
    return json.dumps({"files": files, "journal": Journal(root).version()}, sort_keys=True)


@st.cache_resource(show_spinner=False, max_entries=4)
def _files_workspace(root: str, files: str):
    from territory.inputs.workspace import load_workspace

    return _kept(
        "workspace",
        (root, files),
        lambda: load_workspace(root, save_store=True, journal=False),
    )


def _kept(kind: str, key: tuple, compute):
    """``compute()``, or its result kept on disk by an earlier server (see ``_precomputed``)."""
    from territory.ui import _precomputed

    value = _precomputed.load(kind, key)
    if value is None:
        value = compute()
        _precomputed.save(kind, key, value)
    return value


@st.cache_resource(show_spinner=False, max_entries=4)
def _workspace(root: str, stamp: str):
    """The workspace with the journal's edits: the files are read once, the edits replayed on them."""
    from territory.inputs.journal import apply_journal

    files = json.dumps(json.loads(stamp)["files"], sort_keys=True)
    return apply_journal(_files_workspace(root, files))


def workspace():
    """The loaded workspace (validated; from its store when fresh)."""
    root = folder()
    return _workspace(str(root), _stamp(root))


def _key() -> tuple[str, str]:
    root = folder()
    return str(root), _stamp(root)


def open_folder(path: str | Path) -> None:
    """Switch this session to the workspace in ``path`` (loads it; raises its problems).

    Raises
    ------
    LayerError
        If the folder's files have problems (the session keeps its workspace).
    WorkspaceError
        If ``path`` is not a folder.
    """
    from territory.inputs.workspace import WorkspaceError
    from territory.network.inputs import is_network

    root = Path(str(path).strip()).expanduser()
    if not str(path).strip() or not root.is_dir():
        raise WorkspaceError(tr("ui.data.not_folder", path=str(path)))
    if not is_network(root):  # a dealer network opens on its own page (app.py)
        _workspace(str(root), _stamp(root))
    st.session_state[_FOLDER] = str(root)
    _reset_prefs()


def _reset_prefs() -> None:
    for key in list(st.session_state.keys()):
        if str(key).startswith("w_") or key in (_PREFS, _UNSAVED):
            del st.session_state[key]


# ----------------------------------------------------------------------------- preferences


def init() -> None:
    """Load the workspace and its saved preferences once per session."""
    if _PREFS in st.session_state:
        return
    st.session_state[_PREFS] = initial_prefs(folder(), workspace())


def initial_prefs(root: Path, ws) -> dict[str, Any]:
    """A new session's preferences in workspace ``root``: the saved ones over ``ws``'s defaults."""
    saved: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError, sqlite3.Error):
        saved = store.read_ui_settings(root)
    prefs = {k: v for k, v in saved.items() if k in PREF_DEFAULTS}
    defaults = {
        "lang": check_lang(ws.dealer.language),
        "model": ws.dealer.models[0].name,
        "radius_km": float(ws.settings.influence.radius_km),
        "rotation_weeks": int(ws.settings.ranking.rotation_weeks),
        "print_lang": check_lang(ws.dealer.language),
        **{f"weight_{k}": float(ws.settings.ranking.weights.get(k, 0.0)) for k in WEIGHT_KEYS},
    }
    merged = {k: v for k, v in PREF_DEFAULTS.items()}
    merged.update({k: v for k, v in defaults.items()})
    merged.update(prefs)
    if merged["model"] not in [m.name for m in ws.dealer.models]:
        merged["model"] = ws.dealer.models[0].name
    return merged


def ready() -> bool:
    """Whether :func:`init` succeeded in this session."""
    return _PREFS in st.session_state


def prefs_unsaved() -> bool:
    """Whether a preference could not be saved (read-only workspace): kept for the session."""
    return bool(st.session_state.get(_UNSAVED))


def use_demo() -> None:
    """Switch this session back to the demo workspace copy in :func:`home`."""
    st.session_state[_FOLDER] = str(_demo())
    _reset_prefs()


def pref(name: str) -> Any:
    """The current value of preference ``name``."""
    init()
    return st.session_state[_PREFS].get(name, PREF_DEFAULTS.get(name))


def set_pref(name: str, value: Any) -> None:
    """Set preference ``name`` and save it in the workspace store."""
    init()
    if isinstance(value, dt.date):
        value = value.isoformat()
    st.session_state[_PREFS][name] = value
    try:
        store.save_ui_settings(folder(), {name: value})
    except (OSError, sqlite3.Error):
        st.session_state[_UNSAVED] = True


def bind(name: str, *, value: Any = None) -> str:
    """Session key for the widget of preference ``name``, set from the saved value.

    Pass the key to the widget with ``on_change=state.save, args=(name,)``.
    ``value`` overrides the saved value (e.g. a date converted for the widget).
    """
    key = f"w_{name}"
    if key not in st.session_state:
        st.session_state[key] = pref(name) if value is None else value
    return key


def save(name: str) -> None:
    """Widget callback: save the widget's new value as preference ``name``."""
    set_pref(name, st.session_state[f"w_{name}"])


def save_lang() -> None:
    """Callback of the language switch: save it and let every other widget start afresh.

    Widgets whose labels are translated (``format_func``) would otherwise keep
    the label of the old language as their value; they are rebuilt from the
    saved preferences instead.
    """
    set_pref("lang", st.session_state["w_lang"])
    for key in list(st.session_state.keys()):
        if str(key).startswith("w_") and key != "w_lang":
            del st.session_state[key]


def lang() -> str:
    """The language of the app (``zh`` by default)."""
    if _PREFS not in st.session_state:
        return check_lang(st.session_state.get("w_lang", "zh"))
    return check_lang(pref("lang"))


def tr(key: str, /, **fields: Any) -> str:
    """A message of the catalogue in the app's language."""
    return t(key, lang(), **fields)


def overrides() -> dict:
    """Per-call settings from the preferences: radius, ranking weights and rotation."""
    return {
        "influence": {"radius_km": float(pref("radius_km"))},
        "ranking": {
            "weights": {k: float(pref(f"weight_{k}")) for k in WEIGHT_KEYS},
            "rotation_weeks": int(pref("rotation_weeks")),
        },
    }


# ----------------------------------------------------------------------------- basemap

_PROBES: dict[tuple, tuple[float, Any]] = {}
_PROBES_LOCK = threading.Lock()


def offline() -> bool:
    """``TERRITORY_OFFLINE=1``: never try to reach tile servers ("auto" means no basemap)."""
    return os.environ.get("TERRITORY_OFFLINE", "").strip() not in ("", "0")


def _probe(url: str, lon: float, lat: float, timeout: float, ttl: float) -> Any:
    """The (running or finished) probe of one AMap tile; a new one after ``ttl`` seconds."""
    from concurrent.futures import ThreadPoolExecutor

    from territory.render._tiles import probe

    key = (url, round(lon, 2), round(lat, 2))
    with _PROBES_LOCK:
        started, future = _PROBES.get(key, (0.0, None))
        if future is None or (future.done() and time.monotonic() - started > ttl):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="territory-tiles")
            future = pool.submit(
                probe,
                url,
                lon=lon,
                lat=lat,
                timeout=timeout,
                user_agent="Territory (basemap check)",
            )
            pool.shutdown(wait=False)
            started = time.monotonic()
            _PROBES[key] = (started, future)
    return started, future


def start_basemap_check() -> None:
    """Start checking the AMap tiles in the background (for an "auto" basemap)."""
    if str(pref("tiles")) == "auto" and not offline():
        ws = workspace()
        ms = ws.settings.maps
        _probe(
            ms.amap_url, ws.dealer.lon, ws.dealer.lat, ms.tile_probe_timeout_s, ms.tile_probe_ttl_s
        )


def basemap() -> tuple[str, bool]:
    """The tiles the maps use now, and whether "auto" found AMap unreachable (then "none").

    "auto" waits for the background check at most until its time-out.
    """
    choice = str(pref("tiles"))
    if choice != "auto":
        return choice, False
    if offline():
        return "none", True
    ws = workspace()
    ms = ws.settings.maps
    started, future = _probe(
        ms.amap_url, ws.dealer.lon, ws.dealer.lat, ms.tile_probe_timeout_s, ms.tile_probe_ttl_s
    )
    left = max(0.0, ms.tile_probe_timeout_s + 0.2 - (time.monotonic() - started))
    try:
        reachable = bool(future.result(timeout=left))
    except Exception:  # still running after its time-out, or failed: no basemap this time
        reachable = False
    return ("amap", False) if reachable else ("none", True)


# ----------------------------------------------------------------------------- cached computation


@st.cache_resource(show_spinner=False, max_entries=8)
def _analysis(root: str, stamp: str, model: str, radius_km: float, lang: str):
    from territory.analysis.zones import analyse

    def compute():
        ws = _workspace(root, stamp)
        return analyse(
            ws, model=model, overrides={"influence": {"radius_km": radius_km}}, lang=lang
        )

    return _kept("analysis", (root, stamp, model, radius_km, lang), compute)


def analysis():
    """The zone analysis for the chosen model and radius (cached)."""
    init()
    return _analysis_for(_key(), st.session_state[_PREFS])


def _analysis_for(key: tuple[str, str], prefs: dict[str, Any]):
    """The analysis of workspace ``key`` for preferences ``prefs`` (a session's or
    :func:`prepare`'s: one cache key for both)."""
    return _analysis(
        *key, str(prefs["model"]), float(prefs["radius_km"]), check_lang(prefs["lang"])
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def _hexes(root: str, stamp: str, max_cells: int, finest: int, coarsest: int) -> pd.DataFrame:
    from territory.render.maps import hex_counts

    def compute():
        points = _workspace(root, stamp).customers.geometry
        points = points[points.notna() & ~points.is_empty]
        return hex_counts(points.x, points.y, max_cells=max_cells, finest=finest, coarsest=coarsest)

    return _kept("hexes", (root, stamp, max_cells, finest, coarsest), compute)


def hexes() -> pd.DataFrame:
    """Existing customers counted per H3 hexagon (cached per workspace)."""
    return _hexes_for(_key(), workspace())


def _hexes_for(key: tuple[str, str], ws) -> pd.DataFrame:
    ms = ws.settings.maps
    return _hexes(*key, ms.max_hexagons, ms.finest_hex_resolution, ms.coarsest_hex_resolution)


def prepare(root: Path | str | None = None) -> None:
    """Compute, outside any session, what a new session's first page in ``root`` reads.

    The workspace (edits replayed), its analysis for the saved preferences and the customer
    hexagons of the default folder (:func:`default_folder`, or ``root``), into the caches the
    pages read (``st.cache_resource``; on disk by ``_precomputed``): the server's warm-up
    (``territory/ui/server.py``) calls it once the libraries are imported, so that after
    ``streamlit run`` this runs while the browser loads the front end. A page asking for one of
    these results meanwhile waits for it (Streamlit computes a cached value once) instead of
    computing it a second time. A dealer network, a missing folder or a workspace with problems
    is left to the page, which shows them as always.
    """
    from territory.network.inputs import is_network

    folder_path = Path(root) if root is not None else default_folder()
    if not folder_path.is_dir() or is_network(folder_path):
        return
    key = (str(folder_path), _stamp(folder_path))
    ws = _workspace(*key)
    prefs = initial_prefs(folder_path, ws)
    _analysis_for(key, prefs)
    if prefs["customer_style"] != "off":  # the map draws them (hexagons or points)
        _hexes_for(key, ws)


@st.cache_resource(show_spinner=False, max_entries=16)
def _recommendation(
    root: str,
    stamp: str,
    model: str,
    radius_km: float,
    lang: str,
    date: str,
    weights: tuple[tuple[str, float], ...],
    rotation_weeks: int,
    top: int,
    sites: tuple[str, ...] = (),
    weeks: int = 1,
    today: str = "",
):
    from territory.outreach.ranking import recommend_weeks

    def compute():
        return recommend_weeks(
            _workspace(root, stamp),
            date=dt.date.fromisoformat(date),
            weeks=weeks,
            top=top,
            model=model,
            overrides={
                "influence": {"radius_km": radius_km},
                "ranking": {"weights": dict(weights), "rotation_weeks": rotation_weeks},
            },
            analysis=_analysis(root, stamp, model, radius_km, lang),
            lang=lang,
            sites=sites,
        )

    # ``today`` is part of the key: a plan's publicity never starts before today.
    key = (root, stamp, model, radius_km, lang, date, weights, rotation_weeks, top, sites, weeks)
    kept = _kept("recommendation", (*key, today), compute)
    ws = _workspace(root, stamp)
    for rec in kept:  # site facts are kept without their workspace (see SiteFacts.rebind)
        if rec.facts is not None:
            rec.facts.rebind(ws)
    return kept


def site_date() -> dt.date:
    """The outreach date: the saved one, or next Saturday when none is saved or it has passed."""
    from territory.outreach.ranking import next_saturday

    saved = pref("date")
    with contextlib.suppress(TypeError, ValueError):
        day = dt.date.fromisoformat(str(saved))
        if day >= dt.date.today():
            return day
    return next_saturday()


def chosen_sites() -> tuple[str, ...]:
    """Zone ids the user chose as outreach sites (设为外拓点) that the workspace still has."""
    known = set(workspace().zones["zone_id"].astype(str))
    return tuple(z for z in (pref("chosen_sites") or []) if str(z) in known)


def recommendation_weeks() -> list:
    """One recommendation per outreach day: the saved date and the weeks after it (cached)."""
    o = overrides()["ranking"]
    return _recommendation(
        *_key(),
        str(pref("model")),
        float(pref("radius_km")),
        lang(),
        site_date().isoformat(),
        tuple(sorted(o["weights"].items())),
        int(o["rotation_weeks"]),
        int(pref("top")),
        chosen_sites(),
        max(1, int(pref("weeks") or 1)),
        dt.date.today().isoformat(),
    )


def recommendation():
    """Ranked sites for the saved date, weights, rotation, N and the user's chosen sites (cached)."""
    return recommendation_weeks()[0]


@st.cache_resource(show_spinner=False, max_entries=16)
def _plan(
    root: str,
    stamp: str,
    model: str,
    radius_km: float,
    lang: str,
    zone_id: str,
    date: str,
    today: str = "",
):
    from territory.outreach.plan import build_plan

    def compute():
        ws = _workspace(root, stamp)
        return build_plan(
            ws,
            zone_id=zone_id,
            date=dt.date.fromisoformat(date),
            model=model,
            lang=lang,
            settings=ws.settings.merged({"influence": {"radius_km": radius_km}}),
            analysis=_analysis(root, stamp, model, radius_km, lang),
        )

    # ``today`` is part of the key: publicity never starts before today.
    return _kept("plan", (root, stamp, model, radius_km, lang, zone_id, date, today), compute)


def plan(zone_id: str, *, plan_lang: str | None = None):
    """The 13-part plan of a site on the outreach date (cached)."""
    use = check_lang(plan_lang or lang())
    return _plan(
        *_key(),
        str(pref("model")),
        float(pref("radius_km")),
        use,
        zone_id,
        site_date().isoformat(),
        dt.date.today().isoformat(),
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _coverage(
    root: str, stamp: str, radius_km: float, lang: str, start: str | None, end: str | None
):
    from territory.analysis.influence import in_influence_area, zone_distance_km
    from territory.leads.coverage import coverage_table

    ws = _workspace(root, stamp)
    dist = zone_distance_km(ws.zones, lon=ws.dealer.lon, lat=ws.dealer.lat)
    market = set(ws.zones.loc[in_influence_area(dist, radius_km=radius_km), "district"].dropna())
    return coverage_table(
        ws.zones,
        ws.customers,
        ws.cards,
        by="district",
        start=start,
        end=end,
        settings=ws.settings,
        lang=lang,
        market=market,
    )


def coverage(start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """A-card vs deposit-card coverage by district for the period (cached)."""
    return _coverage(
        *_key(),
        float(pref("radius_km")),
        lang(),
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )


@st.cache_resource(show_spinner=False, max_entries=12)
def _map(kind: str, ws_key: tuple, args: tuple, options: tuple):
    return _kept(
        "maps",
        (kind, ws_key, args, options),
        lambda: _MAP_BUILDERS[kind](ws_key, args, dict(options)),
    )


def cached_map(kind: str, **options: Any):
    """A copy of a cached map (``kind``: zones, environment, whitespace, choropleth).

    ``options`` are the builder's (``colour_by``, ``column``, ...); ``lang``
    picks a language other than the app's.

    The copy can be changed and handed to ``st_folium`` (which renames the
    map's elements) without touching the cached original.
    """
    use_lang = check_lang(options.pop("lang", None) or lang())
    tiles, fell_back = basemap()
    args = (str(pref("model")), float(pref("radius_km")), use_lang, tiles)
    m = copy.deepcopy(_map(kind, _key(), args, tuple(sorted(options.items()))))
    if fell_back:
        from territory.render.maps import add_notice

        add_notice(m, t("maps.notice.no_tiles", use_lang))
    return m


def _zones_map(ws_key, args, options):
    from territory.render import maps

    root, stamp = ws_key
    model, radius_km, use_lang, tiles = args
    ws = _workspace(root, stamp)
    a = _analysis(root, stamp, model, radius_km, use_lang)
    m = maps.base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=radius_km,
        tiles=tiles,
        lang=use_lang,
        settings=a.settings,
    )
    maps.add_zones(
        m,
        a.zones,
        colour_by=options.get("colour_by", "zone_type"),
        lang=use_lang,
        settings=a.settings,
        opacity=options.get("opacity"),
        legend_position=options.get("legend_position", "bottomright"),
        formats=_zone_formats(ws, a, use_lang, options.get("date")),
        feature=_feature_models(ws, a, use_lang),
        actions=_card_actions(options.get("actions"), use_lang),
    )
    return m


def _feature_models(ws, a, use_lang: str) -> list[str] | None:
    """The model to feature in each zone (only when the dealer sells more than one)."""
    from territory.outreach.site import SiteFacts

    if len(ws.dealer.models) < 2:
        return None
    return SiteFacts.for_workspace(ws, analysis=a, lang=use_lang).feature_models()


def _card_actions(codes: str | None, use_lang: str) -> tuple:
    """Zone-card buttons by code (``"set_site"``: 设为外拓点)."""
    from territory.render.maps import CardAction

    return tuple(
        CardAction(code, t(f"maps.action.{code}", use_lang))
        for code in (codes or "").split(",")
        if code
    )


def _zone_formats(ws, a, use_lang: str, date: str | None) -> list[list[str]]:
    """Every zone's formats as the site brief orders them (the workspace's playbook)."""
    from territory.outreach.site import SiteFacts

    facts = SiteFacts.for_workspace(ws, analysis=a, lang=use_lang)
    return facts.zone_formats(dt.date.fromisoformat(date) if date else None)


def _choropleth_map(ws_key, args, options):
    from territory.analysis.influence import influence_rings
    from territory.leads.coverage import choropleth_frames
    from territory.render import maps

    root, stamp = ws_key
    _, radius_km, use_lang, tiles = args
    ws = _workspace(root, stamp)
    table = _coverage(root, stamp, radius_km, use_lang, options.get("start"), options.get("end"))
    frame = choropleth_frames(ws.zones, table)
    market = set(table.loc[table["in_market"], "district"].dropna())
    shown = frame[frame["district"].isin(market)] if market else frame
    return maps.choropleth_map(
        frame,
        options["column"],
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=radius_km,
        tiles=tiles,
        lang=use_lang,
        settings=ws.settings,
        bounds=tuple(shown.total_bounds) if len(shown) else None,
        dealer_name=ws.dealer.name,
        rings=influence_rings(
            lon=ws.dealer.lon, lat=ws.dealer.lat, rings_km=(), radius_km=radius_km
        ),
    )


def _environment_map(ws_key, args, options):
    from territory.render import maps

    root, stamp = ws_key
    model, radius_km, use_lang, tiles = args
    ws = _workspace(root, stamp)
    ms = ws.settings.maps
    style = options.get("customer_style", "hexagons")
    return maps.environment_map(
        ws,
        _analysis(root, stamp, model, radius_km, use_lang),
        colour_by=options.get("colour_by", "zone_type"),
        tiles=tiles,
        lang=use_lang,
        customers=None
        if style == "off"
        else _hexes(
            root, stamp, ms.max_hexagons, ms.finest_hex_resolution, ms.coarsest_hex_resolution
        ),
        customer_style=style,
        cards=bool(options.get("cards")),
        pois=bool(options.get("pois")),
    )


def _whitespace_map(ws_key, args, options):
    from territory.render import maps

    root, stamp = ws_key
    model, radius_km, use_lang, tiles = args
    ws = _workspace(root, stamp)
    return maps.whitespace_map(
        ws, _analysis(root, stamp, model, radius_km, use_lang), tiles=tiles, lang=use_lang
    )


_MAP_BUILDERS = {
    "zones": _zones_map,
    "environment": _environment_map,
    "whitespace": _whitespace_map,
    "choropleth": _choropleth_map,
}


# ----------------------------------------------------------------------------- territories


@st.cache_resource(show_spinner=False, max_entries=8)
def _territories(root: str, stamp: str, radius_km: float, use_lang: str):
    from territory.inputs.assignment import load_assignment
    from territory.outreach.split import describe_assignment

    stored = load_assignment(root)
    if stored is None or stored.empty:
        return None
    ws = _workspace(root, stamp)
    settings = ws.settings.merged({"influence": {"radius_km": radius_km}})
    return describe_assignment(ws, stored, lang=use_lang, settings=settings)


def territories():
    """The stored consultant territories with their figures (cached per journal version), or None."""
    return _territories(*_key(), float(pref("radius_km")), lang())


def territory_settings():
    """The workspace's settings with this session's radius (what the Consultants page splits)."""
    return workspace().settings.merged({"influence": {"radius_km": float(pref("radius_km"))}})


@st.cache_resource(show_spinner=False, max_entries=4)
def _territories_map(root: str, stamp: str, radius_km: float, use_lang: str, tiles: str):
    from territory.render import maps
    from territory.render._payloads import CardAction

    split = _territories(root, stamp, radius_km, use_lang)
    ws = _workspace(root, stamp)
    actions = [
        CardAction(f"give-{i}", t("maps.action.give", use_lang, name=name))
        for i, name in enumerate(split.consultants)
    ]
    actions.append(CardAction("toggle-lock", t("maps.action.toggle_lock", use_lang)))
    settings = ws.settings.merged({"influence": {"radius_km": radius_km}})
    return maps.territories_map(
        ws, split, tiles=tiles, lang=use_lang, actions=actions, settings=settings
    )


def territories_map():
    """A copy of the cached map of the stored territories, with its zone-card actions."""
    tiles, fell_back = basemap()
    m = copy.deepcopy(_territories_map(*_key(), float(pref("radius_km")), lang(), tiles))
    if fell_back:
        from territory.render.maps import add_notice

        add_notice(m, t("maps.notice.no_tiles", lang()))
    return m


def print_territories_pdf(consultants: list[str] | None, *, paper: str, print_lang: str):
    """The territory maps of ``consultants`` (None: everyone, with the overview) as PDF bytes."""
    from territory.render.territory_print import print_territories

    ws = workspace()
    radius_km = float(pref("radius_km"))
    settings = territory_settings()
    with tempfile.TemporaryDirectory(prefix="territory-print-") as tmp:
        result = print_territories(
            ws,
            out=Path(tmp) / "territories.pdf",
            consultants=consultants,
            paper=paper,
            lang=print_lang,
            settings=settings,
            analysis=_analysis(*_key(), str(pref("model")), radius_km, check_lang(print_lang)),
        )
        return result.path.read_bytes(), result


# ----------------------------------------------------------------------------- printing, files


def print_pdf(
    zone_ids: list[str], *, paper: str, print_lang: str, contacts: str, basemap: str, cards: bool
):
    """Field maps, plans and registration forms of ``zone_ids`` as PDF bytes and the print result.

    Uses the same model, radius, weights, rotation and date as the Sites page,
    with the analysis cached for the print language.
    """
    from territory.render.printing import PrintOptions, print_sites

    ws = workspace()
    model = str(pref("model"))
    radius_km = float(pref("radius_km"))
    if basemap == "auto" and offline():
        basemap = "none"
    with tempfile.TemporaryDirectory(prefix="territory-print-") as tmp:
        options = PrintOptions(
            sites=list(zone_ids),
            date=site_date(),
            paper=paper,
            lang=print_lang,
            model=model,
            cards=cards,
            contacts=contacts,
            basemap=basemap,
            overrides=overrides(),
        )
        result = print_sites(
            ws,
            options,
            out=Path(tmp) / "field-maps.pdf",
            analysis=_analysis(*_key(), model, radius_km, check_lang(print_lang)),
        )
        return result.path.read_bytes(), result


def plans_xlsx(plans: list) -> bytes:
    """One plan sheet as XLSX bytes, or a ZIP of one XLSX per plan when there are several.

    Takes finished :class:`territory.outreach.plan.Plan` objects (no session state), so it
    can run as a deferred download.
    """
    import io
    import zipfile

    from territory.outreach.plansheet import write_plan_xlsx

    with tempfile.TemporaryDirectory(prefix="territory-plan-") as tmp:
        paths = [
            write_plan_xlsx(p, Path(tmp) / f"plan-{p.zone_id}-{p.date.isoformat()}.xlsx")
            for p in plans
        ]
        if len(paths) == 1:
            return paths[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return buffer.getvalue()


def stage_files(files: dict[str, tuple[str, bytes]], *, base: Path | None = None) -> Path:
    """A temporary copy of the workspace with uploaded files put in place of their layers.

    ``files`` maps a layer name (dealer, zones, customers, cards, events,
    pois) to ``(original file name, content)``. The copy holds the
    workspace's plain files (not its store), and each uploaded file is
    written as ``<layer><suffix>``, replacing any file of that layer.

    Raises
    ------
    ValueError
        If a layer is unknown or a file's suffix does not fit its layer.
    """
    staging = Path(tempfile.mkdtemp(prefix="territory-upload-"))
    source = base if base is not None else folder()
    for name in LAYER_SUFFIXES:
        for path in _layer_files(source, name):
            shutil.copy2(path, staging / path.name)
    for layer, (original, content) in files.items():
        if layer not in LAYER_SUFFIXES:
            raise ValueError(f"unknown layer {layer!r}; use one of {', '.join(LAYER_SUFFIXES)}")
        suffix = Path(original).suffix.lower()
        if suffix not in LAYER_SUFFIXES[layer]:
            raise ValueError(
                t(
                    "ui.data.bad_suffix",
                    lang(),
                    file=original,
                    layer=layer,
                    allowed=", ".join(LAYER_SUFFIXES[layer]),
                )
            )
        for old in _layer_files(staging, layer):
            old.unlink()
        (staging / f"{layer}{suffix}").write_bytes(content)
    return staging


def _layer_files(root: Path, layer: str) -> list[Path]:
    sidecars = (".dbf", ".prj", ".shx", ".cpg") if layer == "zones" else ()
    return [
        p
        for p in sorted(Path(root).iterdir())
        if p.is_file()
        and p.stem.lower() == layer
        and p.suffix.lower() in (*LAYER_SUFFIXES[layer], *sidecars)
    ]


def store_files(staging: Path, layers: list[str], *, root: Path | None = None) -> None:
    """Copy the staged files of ``layers`` into the workspace and rebuild its store.

    ``root`` defaults to the session's workspace folder.
    """
    root = Path(root) if root is not None else folder()
    for layer in layers:
        for old in _layer_files(root, layer):
            old.unlink()
        for new in _layer_files(staging, layer):
            shutil.copy2(new, root / new.name)
    from territory.inputs.workspace import load_workspace

    load_workspace(root, use_store=False, save_store=True)


# ----------------------------------------------------------------------------- errors


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Turn errors from the package into a localised ``st.error`` (never a traceback)."""
    try:
        yield
    except LayerError as exc:
        from territory.ui.components import problems_table

        st.error(t("problem.header", lang(), n=len(exc.errors)))
        problems_table(exc.problems)
    except SettingsError as exc:
        st.error(tr("ui.error.settings", detail=exc.message(lang())))
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as exc:
        detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if callable(getattr(exc, "message", None)):  # PrintError: in the interface's language
            detail = exc.message(lang())
        st.error(tr("ui.error.invalid", detail=str(detail)))
    except Exception as exc:  # the user sees a message, never a traceback; the log keeps it
        _LOG.exception("internal error in a page")
        st.error(tr("ui.error.internal", kind=type(exc).__name__, detail=str(exc)[:300]))


# ----------------------------------------------------------------------------- leads (follow-up, funnel)


@st.cache_resource(show_spinner=False, max_entries=4)
def _leads(root: str, stamp: str) -> pd.DataFrame:
    from territory.leads.lifecycle import lead_table

    ws = _workspace(root, stamp)
    return lead_table(ws.cards, settings=ws.settings)


def leads() -> pd.DataFrame:
    """One row per lead, with the journal's edits (cached until the files or the journal change)."""
    return _leads(*_key())


def followup_default_date() -> tuple[dt.date, dt.date | None]:
    """The follow-up page's first date, and the data's last date when the data is stale.

    Today; but when the cards end more than ``settings.leads.stale_days``
    before today (an old export, the demo), the day after the data's end,
    so that the list shows what was due then rather than everything overdue.
    """
    from territory.leads.lifecycle import data_end

    ws = workspace()
    end = data_end(ws.cards)
    today = dt.date.today()
    if end is None or (today - end.date()).days <= ws.settings.leads.stale_days:
        return today, None
    return end.date() + dt.timedelta(days=1), end.date()


@st.cache_resource(show_spinner=False, max_entries=16)
def _followup(root: str, stamp: str, date: str, consultant, district, lang: str):
    from territory.leads.followup import followup

    ws = _workspace(root, stamp)
    return followup(
        ws,
        leads=_leads(root, stamp),
        date=date,
        consultant=consultant,
        district=district,
        lang=lang,
    )


def followup_list(date: dt.date, *, consultant: str | None = None, district: str | None = None):
    """The follow-up list of ``date`` (cached per filters; renewed after every recorded edit)."""
    return _followup(*_key(), date.isoformat(), consultant, district, lang())


@st.cache_resource(show_spinner=False, max_entries=16)
def _followup_view(root, stamp, date, consultant, district, lang: str, contacts: str):
    from territory.leads.followup import call_list_frame, lead_labels

    result = _followup(root, stamp, date, consultant, district, lang)
    pool = result.open_leads.sort_values(["days_overdue", "lead_id"], ascending=[False, True])
    return (
        result,
        call_list_frame(result.leads, contacts=contacts, lang=lang),
        lead_labels(pool, contacts=contacts, lang=lang),
    )


def followup_view(
    date: dt.date, *, consultant: str | None, district: str | None, contacts: str
) -> tuple:
    """``(FollowUp, call list as shown, {lead_id: label} of the open leads)`` (cached)."""
    return _followup_view(*_key(), date.isoformat(), consultant, district, lang(), contacts)


@st.cache_resource(show_spinner=False, max_entries=16)
def _pyramid(root: str, stamp: str, start, end, target, lang: str):
    from territory.leads.funnel import funnel_pyramid

    ws = _workspace(root, stamp)
    whole = _funnel(root, stamp, None, start, end, lang)
    return funnel_pyramid(whole, _leads(root, stamp), target=target, settings=ws.settings)


def lead_pyramid(start: dt.date | None, end: dt.date | None, target: float | None):
    """Seed 002's pyramid for the period's pace (``target`` None) or a given monthly target (cached)."""
    return _pyramid(
        *_key(),
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        target,
        lang(),
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def _funnel(root: str, stamp: str, by, start, end, lang: str):
    from territory.leads.funnel import funnel

    ws = _workspace(root, stamp)
    return funnel(ws, leads=_leads(root, stamp), by=by, start=start, end=end, lang=lang)


def lead_funnel(by: str | None, start: dt.date | None = None, end: dt.date | None = None):
    """Seed 002's funnel of the leads registered from ``start`` to ``end`` per ``by`` (cached)."""
    return _funnel(
        *_key(),
        by,
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        lang(),
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _lost(root: str, stamp: str, by: str, start, end, lang: str):
    from territory.leads.lost import lost_analysis

    ws = _workspace(root, stamp)
    return lost_analysis(ws, leads=_leads(root, stamp), by=by, start=start, end=end, lang=lang)


def lost_leads(by: str, start: dt.date | None = None, end: dt.date | None = None):
    """Lost reasons by source or consultant for the period (cached)."""
    return _lost(
        *_key(), by, start.isoformat() if start else None, end.isoformat() if end else None, lang()
    )


def record_lead_update(update, *, who: str | None) -> int:
    """Record one lead update in the workspace's journal (the next rerun shows it everywhere).

    Raises
    ------
    UpdateError
        If the update is invalid (nothing is written).
    JournalError
        If the journal cannot be written.
    """
    from territory.leads.lifecycle import record_updates

    return record_updates(workspace(), [update], who=who or None, origin="app", leads=leads())


def call_list_xlsx(result, *, contacts: str, list_lang: str) -> bytes:
    """The follow-up list as an XLSX call list (bytes), one sheet per consultant."""
    from territory.leads.followup import write_call_list

    with tempfile.TemporaryDirectory(prefix="territory-calls-") as tmp:
        path = write_call_list(
            result,
            Path(tmp) / "calls.xlsx",
            contacts=contacts,
            lang=list_lang,
            synthetic=workspace().has_synthetic_data,
        )
        return path.read_bytes()


# ----------------------------------------------------------------------------- outings (Review page)


@st.cache_resource(show_spinner=False, max_entries=4)
def _site_facts(root: str, stamp: str, model: str, radius_km: float, lang: str):
    from territory.outreach.site import SiteFacts

    a = _analysis(root, stamp, model, radius_km, lang)
    return SiteFacts.for_workspace(_workspace(root, stamp), analysis=a, lang=lang)


def site_facts():
    """The site facts of the session's analysis (targets of the Review page)."""
    return _site_facts(*_key(), str(pref("model")), float(pref("radius_km")), lang())


@st.cache_resource(show_spinner=False, max_entries=16)
def _event_review(root: str, stamp: str, model, radius_km, lang: str, event_id: str, days: int):
    from territory.outreach.review import review_event

    facts = _site_facts(root, stamp, model, radius_km, lang)
    return review_event(_workspace(root, stamp), event_id, days=days, lang=lang, facts=facts)


def event_review(event_id: str, days: int = 28) -> dict:
    """The review of one event (cached until the files or the journal change)."""
    return _event_review(
        *_key(), str(pref("model")), float(pref("radius_km")), lang(), event_id, int(days)
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _month_review(root: str, stamp: str, model, radius_km, lang: str, month: str, days: int):
    from territory.outreach.review import month_review

    facts = _site_facts(root, stamp, model, radius_km, lang)
    return month_review(_workspace(root, stamp), month, days=days, lang=lang, facts=facts)


def month_review(month: str, days: int = 28) -> dict:
    """The monthly summary of outings (cached until the files or the journal change)."""
    return _month_review(
        *_key(), str(pref("model")), float(pref("radius_km")), lang(), month, int(days)
    )


def record_outing(outing, *, who: str | None):
    """Record an outing (and its form) in the journal; the next rerun shows it everywhere.

    Raises LayerError (nothing written) on bad input.
    """
    from territory.leads.record import record_outing as record

    return record(workspace(), outing, who=who or None, origin="app", lang=lang())


def plan_sites(sites: list[tuple[str, str]], *, date: dt.date, cost: dict | None = None):
    """Record chosen sites as planned events on ``date`` (the Sites page's button)."""
    from territory.leads.record import plan_sites as plan

    return plan(workspace(), sites, date=date, origin="app", cost=cost)

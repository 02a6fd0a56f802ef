"""A workspace: the dealer's folder of files, loaded, validated and located.

Examples
--------
>>> from territory.inputs.workspace import load_workspace
>>> from territory.inputs.demo import demo_path
>>> ws = load_workspace(demo_path(), use_store=False)
>>> ws.dealer.models[0].price > 0, len(ws.zones) > 100
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from territory._errors import LayerError, Problem, ProblemList
from territory.inputs import coordcheck, plausible
from territory.inputs.dealer import DEALER_FILE, Dealer, Model, read_dealer
from territory.inputs.geocode import Geocoder, geocoder_for
from territory.inputs.layers import (
    POINT_LAYERS,
    empty_layer,
    find_layer_file,
    read_point_table,
    read_zones,
)
from territory.inputs.leadlink import link_cards
from territory.inputs.locate import locate_points, zone_positions
from territory.inputs.traffic import empty_traffic, read_traffic
from territory.settings import Settings

__all__ = [
    "Workspace",
    "WorkspaceError",
    "link_layers",
    "load_workspace",
    "read_sources",
    "store_opportunistically",
]


class WorkspaceError(ValueError):
    """The folder is not a workspace (missing, not a folder)."""


@dataclass
class Workspace:
    """Validated, located layers of one dealer's workspace.

    See ``docs/architecture.md`` for the columns of each layer. ``notices``
    are problems that did not stop loading (repairs, unmatched addresses).
    """

    root: Path
    dealer: Dealer
    zones: gpd.GeoDataFrame
    customers: gpd.GeoDataFrame
    cards: gpd.GeoDataFrame
    events: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    notices: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    traffic: pd.DataFrame = field(default_factory=empty_traffic)
    #: SHA-256 of each plain file as it was read (the store is keyed on them).
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The workspace's settings (defaults with dealer.toml overrides)."""
        return self.dealer.settings

    def model(self, name: str | None = None) -> Model:
        """The model called ``name`` (the first model when None)."""
        return self.dealer.model(name)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A layer by name: zones, customers, cards, events, pois (or the traffic table)."""
        return getattr(self, name)

    @property
    def has_synthetic_data(self) -> bool:
        """Whether the zones file marks made-up zones (``synthetic`` column), as the demo does.

        Pages and prints then say the workspace holds synthetic data.
        """
        flags = self.zones.get("synthetic")
        if flags is None:
            return False
        text = flags.dropna().astype("str").str.strip().str.lower()
        return bool(text.isin({"true", "1", "yes", "是"}).any())


def read_sources(
    root: Path | str,
    *,
    lang: str | None = None,
    geocoder: Geocoder | str | None = "offline",
) -> Workspace:
    """Read and validate the plain files of a workspace folder.

    Every file is checked and every problem collected before anything is
    raised, so the user sees the whole list at once.

    Raises
    ------
    WorkspaceError
        If ``root`` is not a folder.
    LayerError
        If any file has an error; ``problems`` lists errors and notices.
    """
    from territory.inputs.store import source_hashes

    root = Path(root)
    if not root.is_dir():
        raise WorkspaceError(f"not a workspace folder: {root}")
    hashes = source_hashes(root)  # before reading: the store is keyed on what was read
    problems = ProblemList()
    dealer: Dealer | None = None
    try:
        dealer = read_dealer(root / DEALER_FILE, lang=lang or "zh")
    except LayerError as exc:
        problems.extend(exc.problems)
    lang = lang or (dealer.language if dealer else "zh")
    settings = dealer.settings if dealer else Settings()
    if dealer is not None:
        plausible.check_dealer(dealer, problems)
    files = _file_options(dealer, problems)
    sources: dict[str, str] = {}

    zones = None
    zones_path = find_layer_file(root, "zones", problems)
    if zones_path is None and not any(
        p.key in ("err.file_ambiguous", "err.file_type") and p.file.lower().startswith("zones")
        for p in problems
    ):
        problems.add(
            "zones.*",
            "err.file_missing",
            pattern="zones.geojson / zones.gpkg / zones.zip / zones.shp",
        )
    if zones_path is not None:
        sources["zones"] = zones_path.name
        zones = read_zones(zones_path, dealer, problems, settings=settings)
    zones_ok = zones is not None and not any(
        p.severity == "error" and p.file == zones_path.name for p in problems
    )

    coder: Geocoder | None = None
    lookup = None
    crs = None
    if zones_ok:
        coder = geocoder_for(geocoder, zones) if isinstance(geocoder, str) else geocoder
        try:
            from territory.inputs.zone_index import ZoneIndex

            index = ZoneIndex(zones.geometry)
            lookup = index.lookup
        except ImportError:  # pragma: no cover
            lookup = None
        crs = plausible.local_crs_of(zones)
        plausible.check_zones(zones, zones.attrs["rows"], zones_path.name, problems, settings, crs)
        if dealer is not None:
            plausible.check_dealer_position(dealer, zones, problems, crs)
            coordcheck.check_dealer_zone(dealer, zones, _lookup(zones, lookup), problems, crs)

    layers: dict[str, gpd.GeoDataFrame] = {}
    typed_tables: dict[str, tuple] = {}
    tables: dict = {}
    for name in POINT_LAYERS:
        path = find_layer_file(root, name, problems)
        if path is None:
            layers[name] = empty_layer(name)
            continue
        sources[name] = path.name
        result = read_point_table(path, name, problems, settings=settings, options=files.get(name))
        if result is None:
            layers[name] = empty_layer(name)
            continue
        typed, table = result
        tables[name] = table
        labels = {c: table.label(c) for c in typed.columns}
        typed = plausible.check_values(
            name, typed, table.rows, table.file, problems, settings, labels=labels
        )
        if not zones_ok:
            layers[name] = empty_layer(name)
            continue
        typed_tables[name] = (typed, table)
        layers[name] = locate_points(
            typed,
            table.rows,
            file=table.file,
            zones=zones,
            default_coord_sys=dealer.coord_sys if dealer else "wgs84",
            geocoder=coder,
            problems=problems,
            settings=settings,
            zone_lookup=_lookup(zones, lookup),
            layer=name,
        )
        plausible.check_piles(layers[name], table.rows, table.file, problems, settings)

    if zones_ok:
        _check_coordinates(
            typed_tables, zones, zones_path.name, dealer, coder, lookup, problems, settings
        )
        plausible.check_overlaps(
            zones,
            zones.attrs["rows"],
            zones_path.name,
            {n: layers[n] for n in POINT_LAYERS},
            problems,
            settings,
            crs,
        )

    link_layers(
        layers, tables, sources=sources, dealer=dealer, problems=problems, settings=settings
    )
    traffic, traffic_file = read_traffic(root, problems, settings=settings)
    if traffic_file:
        sources["traffic"] = traffic_file

    if problems.errors or dealer is None or zones is None:
        raise LayerError(problems, lang)
    zones.attrs.pop("rows", None)
    zones["population"] = zones["population"].astype("int64")
    return Workspace(
        root=root,
        dealer=dealer,
        zones=zones,
        notices=problems.notices,
        sources=sources,
        hashes=hashes,
        traffic=traffic,
        **layers,
    )


def _lookup(zones: gpd.GeoDataFrame, lookup):
    """``(lon, lat) -> zone positions`` with the built index (or the plain lookup)."""
    if lookup:
        return lambda x, y: lookup(x, y)
    return lambda x, y: zone_positions(zones, x, y)


def _check_coordinates(
    tables: dict, zones, zones_file: str, dealer, coder, lookup, problems, settings
) -> None:
    """Which coordinate system the point files most likely use (see :mod:`coordcheck`)."""
    default = dealer.coord_sys if dealer else "wgs84"
    evidence = []
    for name, (typed, table) in tables.items():
        ev = coordcheck.gather_evidence(
            name,
            typed,
            table.rows,
            table.file,
            zones,
            default_coord_sys=default,
            geocoder=coder,
            settings=settings,
        )
        if ev is not None:
            evidence.append(ev)
    zones_sys = dealer.zones_coord_sys if dealer else "wgs84"
    named = coordcheck.check_coordinates(
        evidence, zones_file, zones_sys, _lookup(zones, lookup), problems, settings
    )
    if "customers" in tables and "pois" in tables and "customers" not in named:
        (customers, ctable), (pois, ptable) = tables["customers"], tables["pois"]
        coordcheck.check_compounds(
            customers,
            ctable.rows,
            ctable.file,
            pois,
            ptable.file,
            default_coord_sys=default,
            problems=problems,
            settings=settings,
        )


def _file_options(dealer: Dealer | None, problems: ProblemList) -> dict[str, dict]:
    """dealer.toml's ``[files.<layer>]`` tables: which sheet and header row to read.

    ``sheet`` is a sheet's name or number (1 = the first); ``header_row`` the
    row holding the column names (1 = the first row).
    """
    raw = (dealer.raw if dealer else {}).get("files", {})
    out: dict[str, dict] = {}
    if not isinstance(raw, dict):
        problems.add(
            DEALER_FILE,
            "err.toml_bad_value",
            column="files",
            found=repr(raw),
            expected='[files.customers] sheet = "..."',
        )
        return out
    for layer, options in raw.items():
        where = f"files.{layer}"
        if layer not in POINT_LAYERS or not isinstance(options, dict):
            problems.add(
                DEALER_FILE,
                "err.toml_bad_value",
                column=where,
                found=repr(options),
                expected=", ".join(f"[files.{n}]" for n in POINT_LAYERS),
            )
            continue
        clean: dict = {}
        for key, value in options.items():
            if (
                key == "sheet" and isinstance(value, str | int) and not isinstance(value, bool)
            ) or (
                key == "header_row"
                and isinstance(value, int)
                and not isinstance(value, bool)
                and value >= 1
            ):
                clean[key] = value
            else:
                problems.add(
                    DEALER_FILE,
                    "err.toml_bad_value",
                    column=f"{where}.{key}",
                    found=repr(value),
                    expected='sheet = "NAME" | N, header_row = N (>= 1)',
                )
        out[layer] = clean
    return out


def link_layers(
    layers: dict[str, gpd.GeoDataFrame],
    tables: dict,
    *,
    sources: dict[str, str],
    dealer: Dealer | None,
    problems: ProblemList,
    settings: Settings,
) -> None:
    """The checks across rows and layers once every point layer is located (in place).

    Cards are linked into leads (:func:`~territory.inputs.leadlink.link_cards`).
    Shared by :func:`read_sources` and a dealer network's per-dealer workspaces
    (:mod:`territory.network.dealers`), so both load a dealer the same way.
    ``tables`` maps a layer to the :class:`~territory.inputs._tables.Table` it
    was read from (rows and column labels for messages).
    """
    if "cards" in tables and len(layers["cards"]) == len(tables["cards"].rows):
        layers["cards"] = link_cards(
            layers["cards"],
            rows=tables["cards"].rows,
            file=sources["cards"],
            label=tables["cards"].label,
            problems=problems,
            team=dealer.team if dealer else None,
            event_ids=layers["events"]["event_id"] if "events" in sources else None,
            settings=settings,
        )


def load_workspace(
    root: Path | str,
    *,
    lang: str | None = None,
    use_store: bool = True,
    save_store: bool = False,
    geocoder: Geocoder | str | None = "offline",
    journal: bool = True,
) -> Workspace:
    """Load a workspace: from its store when it is up to date, else from its files.

    Parameters
    ----------
    root
        The workspace folder.
    lang
        Language of error messages (default: dealer.toml's ``language``).
    use_store
        Read the GeoPackage store when its recorded source fingerprints
        match the files in the folder (fast for large workspaces).
    save_store
        After reading the plain files, write the store (atomically). A
        store that cannot be written (read-only store or folder) is reported
        as a notice, never an error; while another process writes it, it is
        left to that process.
    geocoder
        Name of a registered geocoder or a :class:`Geocoder` instance.
    journal
        Apply the edits of the workspace's journal (``territory-journal.sqlite``:
        follow-up contacts and other changes made in the app or by the command
        line; see :mod:`territory.inputs.journal`). The store never holds them.

    A store that is out of date, was saved by another version or was changed
    outside Territory is not used: the workspace is read from its files and the
    reason is added to ``notices`` (file ``territory.gpkg``).
    """
    from territory.inputs import store
    from territory.inputs.journal import apply_journal

    root = Path(root)
    reason = None
    if use_store:
        cached, reason = store.load_from_store(root)
        if cached is not None:
            return apply_journal(cached) if journal else cached
    ws = read_sources(root, lang=lang, geocoder=geocoder)
    if reason is not None:
        ws.notices.append(reason)
    if save_store:
        problem = store_opportunistically(ws)
        if problem is not None:
            ws.notices.append(problem)
    return apply_journal(ws) if journal else ws


def store_opportunistically(ws: Workspace) -> Problem | None:
    """Write the store if nobody else is writing it; a notice if it cannot be written.

    Returns None when the store was written or left to another process that
    holds the lock (it writes the same files).
    """
    from territory.inputs import store

    problems = ProblemList()
    try:
        store.save_store(ws, timeout=0)
    except store.StoreBusy:
        return None
    except store.StoreReadOnly:
        problems.add(store.STORE_FILE, "notice.store_read_only", severity="notice")
    except OSError as exc:
        problems.add(store.STORE_FILE, "notice.store_not_saved", severity="notice", detail=str(exc))
    return problems[0] if problems else None


def summary(ws: Workspace) -> pd.DataFrame:
    """Rows per layer and how they were located (for reports and the app)."""
    records = []
    for name in ("zones", *POINT_LAYERS):
        layer = ws.layer(name)
        record: dict = {"layer": name, "rows": len(layer), "file": ws.sources.get(name)}
        if name != "zones":
            counts = layer["located_by"].value_counts()
            for how in ("coords", "zone_id", "address", "unlocated"):
                record[how] = int(counts.get(how, 0))
            record["in_zone"] = int(layer["zone_id"].notna().sum())
        records.append(record)
    if len(ws.traffic) or "traffic" in ws.sources:
        records.append(
            {"layer": "traffic", "rows": len(ws.traffic), "file": ws.sources.get("traffic")}
        )
    return pd.DataFrame.from_records(records).astype(
        {k: "Int64" for k in ("coords", "zone_id", "address", "unlocated", "in_zone")}
    )

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

__all__ = ["Workspace", "WorkspaceError", "link_layers", "load_workspace", "read_sources"]


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
    root = Path(root)
    if not root.is_dir():
        raise WorkspaceError(f"not a workspace folder: {root}")
    problems = ProblemList()
    dealer: Dealer | None = None
    try:
        dealer = read_dealer(root / DEALER_FILE, lang=lang or "zh")
    except LayerError as exc:
        problems.extend(exc.problems)
    lang = lang or (dealer.language if dealer else "zh")
    settings = dealer.settings if dealer else Settings()
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
    if zones_ok:
        coder = geocoder_for(geocoder, zones) if isinstance(geocoder, str) else geocoder
        try:
            from territory.inputs.zone_index import ZoneIndex

            index = ZoneIndex(zones.geometry)
            lookup = index.lookup
        except ImportError:  # pragma: no cover
            lookup = None

    layers: dict[str, gpd.GeoDataFrame] = {}
    tables: dict = {}
    for name in POINT_LAYERS:
        path = find_layer_file(root, name, problems)
        if path is None:
            layers[name] = empty_layer(name)
            continue
        sources[name] = path.name
        result = read_point_table(path, name, problems, settings=settings)
        if result is None:
            layers[name] = empty_layer(name)
            continue
        typed, table = result
        tables[name] = table
        if not zones_ok:
            layers[name] = empty_layer(name)
            continue
        layers[name] = locate_points(
            typed,
            table.rows,
            file=table.file,
            zones=zones,
            default_coord_sys=dealer.coord_sys if dealer else "wgs84",
            geocoder=coder,
            problems=problems,
            settings=settings,
            zone_lookup=(lambda x, y, _l=lookup: _l(x, y))
            if lookup
            else (lambda x, y: zone_positions(zones, x, y)),
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
        traffic=traffic,
        **layers,
    )


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
        store that cannot be written (read-only folder) is reported as a
        notice, never an error.
    geocoder
        Name of a registered geocoder or a :class:`Geocoder` instance.
    journal
        Apply the edits of the workspace's journal (``territory-journal.sqlite``:
        follow-up contacts and other changes made in the app or by the command
        line; see :mod:`territory.inputs.journal`). The store never holds them.
    """
    from territory.inputs import store
    from territory.inputs.journal import apply_journal

    root = Path(root)
    if use_store:
        cached = store.read_store_if_fresh(root)
        if cached is not None:
            return apply_journal(cached) if journal else cached
    ws = read_sources(root, lang=lang, geocoder=geocoder)
    if save_store:
        try:
            store.save_store(ws)
        except OSError as exc:
            problems = ProblemList()
            problems.add(
                store.STORE_FILE, "notice.store_not_saved", severity="notice", detail=str(exc)
            )
            ws.notices.extend(problems)
    return apply_journal(ws) if journal else ws


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

"""Reading the environment on one map (一张地图解读环境): the zone analysis.

:func:`analyse` joins the pieces of step 1 of the seeds' precise outreach
for one model: distance and influence area, R value and r_score, density
and income tiers, customers and cards per zone, the customer profile, and
look-alike white space with its candidate areas.

Examples
--------
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> a = analyse(ws)
>>> a.mode, bool(a.zones["r_value"].notna().all())
('lookalike', True)
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.analysis import huff, influence, scoring
from territory.analysis.profile import CustomerProfile, customer_profile
from territory.analysis.whitespace import WhitespaceResult, whitespace
from territory.inputs import coords
from territory.settings import Settings

__all__ = [
    "Analysis",
    "analyse",
    "count_by_zone",
    "model_customers",
    "score_json",
    "whitespace_json",
    "zone_metrics",
]


@dataclass
class Analysis:
    """The zone analysis of a workspace for one model."""

    model: str
    price: float
    zones: gpd.GeoDataFrame
    whitespace: WhitespaceResult
    profile: CustomerProfile
    settings: Settings
    #: The Huff fit behind ``zones["share"]`` (competitor showrooms), None when not computed.
    huff: huff.HuffFit | None = None
    #: ``band``: customers of the model or a similar price; ``all``: every customer (too few
    #: customers name a model of dealer.toml to tell them apart).
    customer_basis: str = "all"
    #: Models of the dealer (name, price), for per-zone model suggestions.
    models: tuple = ()

    @property
    def mode(self) -> str:
        """``lookalike`` or ``cold_start``."""
        return self.whitespace.mode

    @property
    def areas(self) -> gpd.GeoDataFrame:
        """White-space candidate areas, most promising first."""
        return self.whitespace.areas


def count_by_zone(
    points: pd.DataFrame, zones: pd.DataFrame, *, where: pd.Series | None = None
) -> pd.Series:
    """Number of points per zone, aligned to ``zones.index`` (0 where none)."""
    located = points["zone_id"]
    if where is not None:
        located = located[where.to_numpy()]
    counts = located.dropna().value_counts()
    return pd.Series(
        zones["zone_id"].map(counts).fillna(0).astype("int64").to_numpy(), index=zones.index
    )


def model_customers(
    customers: pd.DataFrame, models, chosen, *, settings: Settings
) -> pd.Series | None:
    """Which customers count for ``chosen``: they bought it or a model of similar price.

    A customer's model is looked up among the dealer's ``models`` (name →
    price); customers whose price lies within ``scoring.price_band`` of the
    chosen model's price count. Returns None (every customer counts) when
    fewer than ``scoring.min_model_share`` of the customers name a known model.

    >>> import pandas as pd
    >>> from territory.inputs.dealer import Model
    >>> ms = (Model("A", 90000.0), Model("B", 100000.0), Model("C", 190000.0))
    >>> c = pd.DataFrame({"model": ["A", "B", "C", "C"]})
    >>> model_customers(c, ms, ms[2], settings=Settings()).tolist()
    [False, False, True, True]
    >>> model_customers(c, ms, ms[0], settings=Settings()).tolist()
    [True, True, False, False]
    """
    if not len(customers) or "model" not in customers:
        return None
    prices = {m.name: float(m.price) for m in models}
    price = customers["model"].map(prices)
    if price.notna().mean() < settings.scoring.min_model_share:
        return None
    band = settings.scoring.price_band
    return ((price - chosen.price).abs() <= band * chosen.price).fillna(False).astype(bool)


def analyse(
    ws,
    *,
    model: str | None = None,
    settings: Settings | None = None,
    overrides: dict | None = None,
    lang: str = "zh",
) -> Analysis:
    """Score every zone of ``ws`` for ``model`` (the first model by default).

    Returns an :class:`Analysis` whose ``zones`` frame is aligned to
    ``ws.zones`` and holds, besides the zone's own columns: ``area_km2``,
    ``density``, ``density_tier`` (+ ``_label``), ``income_tier`` (+
    ``_label``), ``r_value``, ``r_score``, ``distance_km``,
    ``in_influence_area``, ``ring_km``, ``customers``,
    ``customers_per_1000``, ``a_cards``, ``deposit_cards``,
    ``expected_customers``, ``shortfall``, ``confidence``,
    ``whitespace_score`` and ``whitespace_rank``.
    """
    settings = (settings or ws.settings).merged(overrides)
    chosen = ws.model(model)
    zones = ws.zones
    cards = ws.cards
    band = model_customers(ws.customers, ws.dealer.models, chosen, settings=settings)
    owners = count_by_zone(ws.customers, zones)
    metrics, result = zone_metrics(
        zones,
        dealer_lon=ws.dealer.lon,
        dealer_lat=ws.dealer.lat,
        price=chosen.price,
        customers=owners if band is None else count_by_zone(ws.customers, zones, where=band),
        owners=owners,
        competitors=huff.competitors_of(ws.pois),
        a_cards=count_by_zone(cards, zones, where=cards["card_type"].eq("A").fillna(False)),
        deposit_cards=count_by_zone(
            cards, zones, where=cards["card_type"].eq("deposit").fillna(False)
        ),
        settings=settings,
        lang=lang,
    )
    profile = customer_profile(ws.customers, settings=settings)
    return Analysis(
        model=chosen.name,
        price=chosen.price,
        zones=metrics,
        whitespace=result,
        profile=profile,
        settings=settings,
        huff=result.huff,
        customer_basis="all" if band is None else "band",
        models=tuple(ws.dealer.models),
    )


def zone_metrics(
    zones: gpd.GeoDataFrame,
    *,
    dealer_lon: float,
    dealer_lat: float,
    price: float,
    customers: pd.Series,
    a_cards: pd.Series,
    deposit_cards: pd.Series,
    settings: Settings,
    lang: str = "zh",
    owners: pd.Series | None = None,
    competitors: huff.Competitors | None = None,
) -> tuple[gpd.GeoDataFrame, WhitespaceResult]:
    """The per-zone metrics of :func:`analyse` from counts already made.

    ``customers`` counts the model's customers (those who bought it or a
    model of similar price), ``owners`` every existing customer (default:
    ``customers``); ``competitors`` are competitor showrooms: the dealer's
    Huff share of each zone (``share``, 1.0 without competitors) scales the
    expected customers, and the fit is kept in the result's ``huff``.
    ``customers``, ``owners``, ``a_cards`` and ``deposit_cards`` are counts aligned to
    ``zones.index`` (how the points were assigned is the caller's business:
    :func:`count_by_zone` on located layers, or a
    :class:`~territory.inputs.zone_index.ZoneIndex` lookup with ``numpy.bincount``).
    """
    out = zones.copy()
    crs = coords.local_crs(dealer_lon, dealer_lat)
    projected = zones.geometry.to_crs(crs)
    out["area_km2"] = (projected.area / 1e6).astype("float64")
    out["density"] = scoring.density(zones["population"], out["area_km2"])
    k = settings.scoring.tier_count
    out["density_tier"] = scoring.tiers(out["density"], scheme=settings.scoring.tier_scheme, k=k)
    out["density_tier_label"] = scoring.tier_labels(out["density_tier"], k=k, lang=lang)
    out["income_tier"] = scoring.tiers(zones["income"], scheme=settings.scoring.tier_scheme, k=k)
    out["income_tier_label"] = scoring.tier_labels(out["income_tier"], k=k, lang=lang)
    out["r_value"] = scoring.r_value(zones["income"], price=price)
    out["r_score"] = scoring.r_score(
        out["r_value"], target_r=settings.scoring.target_r, tolerance=settings.scoring.r_tolerance
    )

    radius = settings.influence.radius_km
    out["distance_km"] = influence.zone_distance_km(
        zones, lon=dealer_lon, lat=dealer_lat, projected=projected
    )
    out["in_influence_area"] = influence.in_influence_area(out["distance_km"], radius_km=radius)
    out["ring_km"] = influence.ring_of(
        out["distance_km"], rings_km=settings.influence.rings_km, radius_km=radius
    )

    out["customers"] = customers.astype("int64")
    out["owners"] = (customers if owners is None else owners).astype("int64")
    centres = projected.representative_point()
    zone_xy = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
    comp = competitors if competitors is not None else huff.Competitors((), (), np.empty((0, 2)))
    dealer_xy = _project([dealer_lon], [dealer_lat], crs)[0]
    comp_xy = _project(comp.lonlat[:, 0], comp.lonlat[:, 1], crs)
    share, fit, near_km, near_idx = huff.zone_shares(
        zone_xy,
        (float(dealer_xy[0]), float(dealer_xy[1])),
        comp_xy,
        customers=out["owners"].to_numpy(),
        population=zones["population"].to_numpy(),
        fit_mask=out["in_influence_area"].to_numpy(dtype=bool),
        income=zones["income"].to_numpy(),
        density=out["density"].fillna(0).to_numpy(),
        settings=settings.huff,
    )
    out["share"] = share
    # The share scales the expected customers only where the customers bear it out.
    out["share_used"] = share if fit.supported else np.ones(len(share))
    out["competitor_km"] = near_km
    out["competitor"] = [comp.names[i] if i >= 0 else None for i in near_idx]
    out["competitor_brand"] = [comp.brands[i] if i >= 0 else None for i in near_idx]
    pop = zones["population"].astype("float64")
    out["customers_per_1000"] = (out["customers"] * 1000.0 / pop.where(pop > 0)).astype("float64")
    out["a_cards"] = a_cards.astype("int64")
    out["deposit_cards"] = deposit_cards.astype("int64")

    result = whitespace(
        out, total_customers=int(customers.sum()), settings=settings, projected=projected
    )
    result.huff = fit
    for column in result.zones.columns:
        out[column] = result.zones[column]
    out["whitespace_rank"] = (
        out["whitespace_raw"].rank(ascending=False, method="first").astype("int64")
    )
    return out, result


def _project(lon, lat, crs) -> np.ndarray:
    """WGS-84 lon/lat to (x, y) in ``crs``, shape (n, 2)."""
    from pyproj import Transformer

    lon = np.asarray(lon, dtype="float64")
    if not len(lon):
        return np.empty((0, 2))
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(
        lon, np.asarray(lat, dtype="float64")
    )
    return np.column_stack([np.asarray(x), np.asarray(y)])


def _num(value) -> float | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return None
    return float(value)


_SCORE_KEYS = (
    "zone_id",
    "name",
    "district",
    "zone_type",
    "population",
    "income",
    "area_km2",
    "r_value",
    "r_score",
    "density",
    "density_tier",
    "density_tier_label",
    "income_tier",
    "income_tier_label",
    "customers",
    "owners",
    "share",
    "customers_per_1000",
    "a_cards",
    "deposit_cards",
    "expected_customers",
    "shortfall",
    "confidence",
    "whitespace_score",
    "whitespace_rank",
    "distance_km",
    "ring_km",
    "in_influence_area",
)


def score_json(analysis: Analysis, *, lang: str = "zh") -> dict:
    """The ``territory score --json`` document (contract shape plus extras)."""
    rows = []
    frame = analysis.zones
    for record in frame[list(_SCORE_KEYS)].to_dict(orient="records"):
        row = {}
        for key, value in record.items():
            if key in (
                "zone_id",
                "name",
                "district",
                "zone_type",
                "density_tier_label",
                "income_tier_label",
            ):
                row[key] = (
                    None
                    if value is None
                    or value is pd.NA
                    or (isinstance(value, float) and np.isnan(value))
                    else str(value)
                )
            elif key in (
                "population",
                "customers",
                "owners",
                "a_cards",
                "deposit_cards",
                "whitespace_rank",
                "density_tier",
                "income_tier",
            ):
                row[key] = None if value is pd.NA or value is None else int(value)
            elif key == "in_influence_area":
                row[key] = bool(value)
            else:
                row[key] = _num(value)
        rows.append(row)
    return {
        "model": analysis.model,
        "price": analysis.price,
        "mode": analysis.mode,
        "target_r": analysis.settings.scoring.target_r,
        "dispersion": analysis.whitespace.dispersion,
        "customer_basis": analysis.customer_basis,
        "huff": analysis.huff.to_dict() if analysis.huff is not None else None,
        "notes": _notes(analysis, lang),
        "zones": rows,
    }


def _notes(analysis: Analysis, lang: str) -> list[str]:
    from territory.i18n import t

    return [t(f"analysis.note.{code}", lang) for code in analysis.whitespace.notes]


def whitespace_json(analysis: Analysis, *, lang: str = "zh") -> dict:
    """The ``territory whitespace --json`` document (contract shape plus extras)."""
    areas = []
    for record in analysis.areas.drop(columns="geometry").to_dict(orient="records"):
        areas.append(
            {
                "area_id": record["area_id"],
                "zone_ids": list(record["zone_ids"]),
                "population": int(record["population"]),
                "customers": int(record["customers"]),
                "expected_customers": _num(record["expected_customers"]),
                "shortfall": _num(record["shortfall"]),
                "score": _num(record["score"]),
                "lon": _num(record["lon"]),
                "lat": _num(record["lat"]),
            }
        )
    return {
        "model": analysis.model,
        "mode": analysis.mode,
        "notes": _notes(analysis, lang),
        "areas": areas,
    }

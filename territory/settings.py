"""Typed, documented defaults for every tunable number in Territory.

One place for R target, weights, radii, thresholds and tier breaks. The
defaults below can be overridden per workspace in ``dealer.toml``::

    target_r = 3.0
    [settings.scoring]
    r_tolerance = 0.4

and per call with :func:`Settings.merged` (``{"scoring": {"r_tolerance": 0.5}}``).
Functions take a ``settings`` keyword and read it at call time; nothing in
the package hard-codes these numbers.

Examples
--------
>>> from territory.settings import Settings
>>> s = Settings()
>>> s.scoring.target_r
3.0
>>> s.merged({"scoring": {"target_r": 2.5}}).scoring.target_r
2.5
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CoverageSettings",
    "HistorySettings",
    "HuffSettings",
    "InfluenceSettings",
    "LeadsSettings",
    "LoadSettings",
    "MapSettings",
    "NetworkSettings",
    "PlausibleSettings",
    "PrintSettings",
    "ProfileSettings",
    "RankingSettings",
    "ScoringSettings",
    "Settings",
    "SettingsError",
    "SiteSettings",
    "TerritorySettings",
    "WhitespaceSettings",
]


class SettingsError(ValueError):
    """A settings override names an unknown key or has a wrong type.

    ``detail`` is the catalogue message (shown in the user's language by
    :meth:`message`); ``str()`` gives it in English.
    """

    def __init__(self, key: str, /, **fields: Any) -> None:
        from territory.i18n import Message

        self.detail = Message(key, **fields)
        super().__init__(str(self.detail))

    def message(self, lang: str | None = "zh") -> str:
        """The message in ``lang``."""
        return self.detail.text(lang)


@dataclass(frozen=True)
class LoadSettings:
    """Loading and validation thresholds."""

    #: A point further than this from every zone is reported as "far outside the zones".
    max_outside_km: float = 5.0
    #: China's extent (lon/lat, WGS-84) used to flag points outside China.
    china_bounds: tuple[float, float, float, float] = (73.4, 3.8, 135.1, 53.6)
    #: Fraction of rows that must look swapped before the whole column is called swapped.
    swapped_share: float = 0.9
    #: A repaired polygon whose area changes by more than this share is reported as a problem.
    repair_area_warn_share: float = 0.01
    #: Zone index (point-to-zone lookup) cell size as a share of the square root of the area
    #: of a small zone (see ``zone_index_area_quantile``): smaller cells, fewer exact checks.
    zone_index_cell_share: float = 0.07
    #: Quantile of zone areas that sets the zone index cell size (small zones hold most points).
    zone_index_area_quantile: float = 0.25
    #: Most cells in the zone index grid (4 bytes each); the cell size grows to stay under it.
    zone_index_max_cells: int = 4_000_000
    #: Dates outside these years (first, last, inclusive) are refused as typos (0026, 20260).
    date_years: tuple[int, int] = (1900, 2100)
    #: Whole numbers in a date column within this range are read as Excel date serial
    #: numbers (days since 1899-12-30): 32874 is 1990-01-01, 73050 is 2099-12-31.
    excel_serial_range: tuple[int, int] = (32874, 73050)
    #: A CSV file larger than this (MB), or an XLSX whose sheets and shared strings unpack to
    #: more, is refused before it is read (reading needs several times its size in memory).
    max_table_mb: float = 1024.0
    #: A zones file (GeoJSON, GeoPackage, shapefile or the members of a zip) larger than this
    #: (MB) is refused before it is read.
    max_vector_mb: float = 1024.0
    #: A shapefile's .prj or .cpg larger than this (KB) is refused: they hold one short line,
    #: and GDAL reads them whole into memory (a padded .prj costs gigabytes).
    max_sidecar_kb: float = 64.0
    #: A zip member that unpacks to more than this many times its packed size (and to at
    #: least ``unzip_ratio_min_mb``) is refused as a zip bomb.
    max_unzip_ratio: float = 200.0
    #: ... from this unpacked size (MB) on: small members may compress very well.
    unzip_ratio_min_mb: float = 16.0
    #: Rows searched for the header row (title rows and merged group headers above it).
    header_scan_rows: int = 30
    #: A point file whose located rows are fewer than this share is refused (exit 2): most
    #: rows lost means the columns, the sheet or the coordinate system are wrong. Set 1.0
    #: to accept any number of unlocated rows.
    max_unlocated_share: float = 0.5
    #: ... once at least this many rows are unlocated.
    unlocated_min_rows: int = 3
    #: Layers refused (exit 2) when most rows are unlocated or no column can locate them;
    #: in the others (cards, events, POIs still count in the funnel) it is a warning.
    unlocated_error_layers: tuple[str, ...] = ("customers",)
    #: Coordinate-system check: fewest rows with both coordinates and a zone (zone_id or a
    #: matched address) needed to say which coordinate system the data most likely uses.
    coord_check_min_rows: int = 5
    #: ... at most this many such rows are tested (a fixed random sample of larger files).
    coord_check_sample: int = 20000
    #: ... another system is named when it puts at least this share more rows in their
    #: zone than the declared one and halves the rows outside.
    coord_check_min_gain: float = 0.05
    #: Customers within this distance (m) of a residential POI count as "at a compound" in
    #: the check of customers against the residential POIs.
    compound_radius_m: float = 100.0
    #: ... another system is named when it puts at least this share of customers at a
    #: compound, and three times the share of the declared system.
    compound_min_share: float = 0.3
    #: Seconds an import waits for another import of the same workspace before it gives up
    #: (the environment variable TERRITORY_LOCK_TIMEOUT overrides it).
    lock_timeout_s: float = 600.0


@dataclass(frozen=True)
class PlausibleSettings:
    """Plausible ranges of the values in a workspace (``[settings.plausible]``).

    A value outside a ``(low, high)`` range is refused (exit 2) as a typo or a wrong unit;
    a value outside a ``*_usual`` range is read, with a warning. A range that is too
    narrow for a real workspace is widened in dealer.toml, e.g.
    ``[settings.plausible]`` ``radius_km = [0.5, 800]``.
    """

    #: Sales influence radius (km) of dealer.toml's ``radius_km``.
    radius_km: tuple[float, float] = (0.5, 500.0)
    #: ... a radius outside this range is read with a warning.
    radius_km_usual: tuple[float, float] = (1.0, 100.0)
    #: dealer.toml's ``target_r`` (seed 000: best near 3).
    target_r: tuple[float, float] = (0.3, 30.0)
    #: A model's price (CNY): below is probably written in 万 (12 for 120,000), above in 分.
    price: tuple[float, float] = (10_000.0, 20_000_000.0)
    #: People in one zone (the largest Chinese county holds about 5 million).
    population: tuple[float, float] = (0.0, 20_000_000.0)
    #: People per km² of a zone: above the high end no place on earth is that dense.
    density: tuple[float, float] = (0.0, 500_000.0)
    #: ... above this a zone is read with a warning: the densest old-town streets of Chinese
    #: cities reach about 100,000 (the demo's densest street, 2020 census: 117,000).
    density_usual_max: float = 150_000.0
    #: Per-capita disposable income (CNY per person per year): below, probably 万; above, 分.
    income: tuple[float, float] = (1_000.0, 1_000_000.0)
    #: ... outside this range the income is read with a warning (monthly figures, typos):
    #: 2020's lowest county averages are about 7,000 and the highest about 90,000.
    income_usual: tuple[float, float] = (6_000.0, 300_000.0)
    #: The dealer farther than this (km) from every zone is refused: a wrong coordinate.
    dealer_zone_km: float = 100.0
    #: Earliest plausible date of a card or an event (DMS systems started around 2000).
    earliest_date: str = "2000-01-01"
    #: Earliest plausible purchase or delivery date of an existing customer.
    earliest_purchase: str = "1990-01-01"
    #: Days after today a date may lie, by layer: cards and purchases are never in the
    #: future (one day for time zones); events may be planned up to a year ahead.
    future_days: dict[str, float] = field(
        default_factory=lambda: {"cards": 1.0, "customers": 1.0, "events": 366.0}
    )
    #: "Today" for the future-date checks, as YYYY-MM-DD (empty: the computer's date).
    today: str = ""
    #: An event's cost (CNY).
    event_cost: tuple[float, float] = (0.0, 100_000_000.0)
    #: An event's leads.
    event_leads: tuple[float, float] = (0.0, 1_000_000.0)
    #: An event's sales.
    event_sales: tuple[float, float] = (0.0, 100_000.0)
    #: Ages outside this range are read as unknown, with a warning (0 is a DMS placeholder).
    age_usual: tuple[float, float] = (16.0, 100.0)
    #: Overlaps smaller than this share of the smaller zone are slivers of digitising: ignored.
    overlap_min_share: float = 0.005
    #: Two zones overlapping by this share of each of them are one zone twice: refused.
    duplicate_share: float = 0.9
    #: A share of a layer's located rows on one single coordinate above this is reported
    #: (a geocoder's city-centre default, a DMS placeholder) ...
    pile_share: float = 0.2
    #: ... when at least this many rows share it.
    pile_min_rows: int = 10


@dataclass(frozen=True)
class InfluenceSettings:
    """The dealer's sales influence area (销售影响范围)."""

    #: Radius of the influence area in km; dealer.toml's ``radius_km`` overrides it.
    radius_km: float = 15.0
    #: Rings drawn on maps (km).
    rings_km: tuple[float, ...] = (3.0, 5.0, 10.0)


@dataclass(frozen=True)
class ScoringSettings:
    """R value and tiers."""

    #: R (price / per-capita disposable income) at which customers decide most easily (seed 000).
    target_r: float = 3.0
    #: r_score = exp(-(ln(R / target_r) / r_tolerance)^2 / 2): the log-ratio at which r_score is 0.61.
    r_tolerance: float = 0.35
    #: mapclassify scheme for density and income tiers.
    tier_scheme: str = "Quantiles"
    #: Number of tiers (3 to 5).
    tier_count: int = 3
    #: A model's customers are those who bought it or a model priced within this share of it
    #: (customers who bought a car of similar price: white space and expected customers per model).
    price_band: float = 0.25
    #: ... when at least this share of customers name a model of dealer.toml; else all customers count.
    min_model_share: float = 0.5
    #: R between these multiples of target_r reads "matches the model"; below: income above
    #: the model's buyers (push higher trims, trade-in); above: stretch (instalments, entry trim).
    r_match: tuple[float, float] = (0.8, 1.25)


@dataclass(frozen=True)
class ProfileSettings:
    """Customer profile hints (seed 000, example 2)."""

    #: Fewer customers than this give no hints (shares would be noise).
    min_customers: int = 30
    #: Share aged 25–40 at or above which outreach goes after working hours.
    working_age_share: float = 0.6
    #: Share in the 30–35 core band at or above which family-economy talking points lead.
    core_band_share: float = 0.5
    #: Male share that, with a working-age majority, also calls for family-economy points.
    male_share: float = 0.75
    #: Share aged 41+ at or above which weekday daytime and service formats fit.
    older_share: float = 0.5
    #: Share under 30 at or above which online pre-heating and interactive formats fit.
    young_share: float = 0.4


@dataclass(frozen=True)
class WhitespaceSettings:
    """Look-alike white space and candidate areas."""

    #: Folds for cross-fitting the expected-customer model (a zone never predicts itself).
    folds: int = 5
    #: Seed for the folds.
    random_state: int = 0
    #: L2 penalty of the Poisson GLM on standardised features.
    alpha: float = 0.001
    #: Knots of the cubic spline of distance to the dealer in the GLM.
    distance_knots: int = 6
    #: Below this many located customers the cold-start ranking (population × r_score) is used.
    cold_start_customers: int = 30
    #: Zones expecting fewer customers than this are never white space (too little evidence).
    min_expected: float = 5.0
    #: A candidate zone must be at least this sure to be short of customers (0–1).
    min_confidence: float = 0.8
    #: ... and miss at least this many customers.
    min_shortfall: float = 3.0
    #: ... and be affordable: R at most target_r × this (a low R is affordable too).
    affordable_r_factor: float = 1.5
    #: Cold start: the top share of zones (by population × r_score) that are candidates.
    top_share: float = 0.2
    #: Zones closer than this (m) count as adjacent (tolerates slivers between polygons).
    adjacency_tolerance_m: float = 50.0
    #: A candidate area is no wider than this (km); larger clusters are split.
    max_area_km: float = 6.0


@dataclass(frozen=True)
class RankingSettings:
    """Recommendation: how sites are scored and chosen together."""

    #: Relative weights of the site-score terms (normalised to sum 1); each term is 0–1.
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "whitespace": 0.35,
            "r_score": 0.2,
            "density": 0.15,
            "distance": 0.15,
            "history": 0.15,
        }
    )
    #: A zone visited within this many weeks is pushed down (linearly back to full score).
    rotation_weeks: int = 4
    #: Score multiplier for a zone visited this week (rises to 1 over rotation_weeks).
    rotation_floor: float = 0.3
    #: Score multiplier when the zone type has no time slot on the date (enterprises at weekends).
    date_misfit_factor: float = 0.2
    #: Catchment radius (km) of a site: the zones it reaches.
    catchment_km: float = 3.0
    #: How many of the best-scoring zones are candidate sites for the covering model (at least 10 × N).
    candidate_pool: int = 60
    #: Weight of a site's own score against the white-space population it reaches.
    site_quality_weight: float = 1.0
    #: Choose up to this many sites exactly (CBC); more sites use the greedy heuristic with a gap.
    cover_exact_limit: int = 10
    #: Seconds CBC may spend on one choice of sites before the best found so far is used.
    cover_time_limit_s: float = 20.0
    #: Owners in a zone from which owner-service formats lead and referrals are asked (seed 000 ex. 1).
    owner_service_min: int = 20
    #: Owners within after_sales_km of the site from which the plan works with after-sales (seed: ~80 in 3 km).
    after_sales_owners: int = 60
    #: Radius (km) for counting owners around a site for the after-sales note.
    after_sales_km: float = 3.0
    #: With owner_service_min owners in the zone, owner free service's expected sales per yuan
    #: count this many times (it also serves existing customers and referrals, seed 003).
    owner_service_boost: float = 1.5


@dataclass(frozen=True)
class HistorySettings:
    """Past events: what recorded outings teach (docs/learning.md) and a zone's own track record.

    The learned figures per format × zone type come from an empirical-Bayes
    model whose hyper-parameters are fitted to the workspace's events; the
    values below are the centres of their hyper-priors (what holds while
    there is little data) and the attribution rules.
    """

    #: A zone's track record counts against this many events of the format's average.
    prior_events: float = 2.0
    #: A zone's own track record can scale expected leads by at most this factor (or 1/factor).
    max_zone_factor: float = 2.0
    #: Days after an event within which a deposit or deal of one of its leads counts as its sale
    #: (seed 001's case table counts three months); younger events count their leads as
    #: partly at risk (leads × days since / window).
    sales_window_days: int = 90
    #: Leads per event within one format × zone type: negative-binomial size (gamma shape) of the
    #: event-to-event spread, hyper-prior centre (3: one event's leads vary by about ±60 %).
    leads_dispersion: float = 3.0
    #: How far a workspace's leads per event sit from the playbook's prior: sd of the log ratio,
    #: hyper-prior centre (0.7: a factor of 2 either way is usual).
    leads_spread: float = 0.7
    #: Close rate: how many leads the playbook's prior close rate is worth (beta-binomial
    #: concentration), hyper-prior centre (200 leads: about 7 sales at 3.5 %).
    close_strength: float = 200.0
    #: Sd (log scale) of the hyper-priors around the three centres above: 0.5 lets many cells that
    #: agree move each by a factor of 2-3, while one or two cells barely move it.
    hyper_sd: float = 0.5
    #: The prior cost per event counts as this many events when averaging the workspace's costs.
    cost_prior_events: float = 1.0
    #: Learned sales per yuan this many times the prior's (or below 1/this) is reported as
    #: up-weighted (升权) or down-weighted (降权).
    verdict_ratio: float = 1.25


@dataclass(frozen=True)
class HuffSettings:
    """Competitor showrooms: the Huff model of the dealer's share of each zone's buyers."""

    #: Distances (km) are floored here: a zone holding a showroom is not at distance 0.
    min_km: float = 0.5
    #: A competitor showroom's attractiveness relative to the dealer's (1 = equal).
    competitor_attractiveness: float = 1.0
    #: The distance decay is searched between these bounds.
    beta_bounds: tuple[float, float] = (0.05, 5.0)
    #: Decay used when it cannot be fitted (too few zones or customers).
    default_beta: float = 1.5
    #: Fewest populated zones in the influence area for a fit.
    min_zones: int = 20
    #: Fewest located customers for a fit.
    min_customers: int = 100
    #: Zones within this many km of a competitor showroom get a conquest note.
    conquest_km: float = 3.0
    #: The share scales expected customers only when the Huff model's log-likelihood beats a
    #: dealer-distance-only model by at least this much (else competitors are noted, not used).
    support_margin: float = 2.0


@dataclass(frozen=True)
class SiteSettings:
    """A site's facts: the spot, referral targets, capacity, coverage weighting, explanations."""

    #: Side (m) of the square cells searched for the densest spot when a zone has no usable POI.
    spot_cell_m: float = 200.0
    #: Owners delivered between these many months before the date are referral targets (seed 003).
    referral_months: tuple[float, float] = (1.0, 6.0)
    #: ... with the referral peak this many months after delivery (weights fall linearly from it).
    referral_peak_months: float = 3.0
    #: Radius (km) around the spot in which referral targets are counted (seed 000's 3 km).
    referral_km: float = 3.0
    #: Score multiplier of zones in districts diagnosed awareness_gap by the coverage table.
    awareness_gap_factor: float = 1.2
    #: How many of the best zones not chosen are explained ("... 未选：...").
    explain_next: int = 3
    #: A next-best zone whose reach overlaps a chosen site's by at least this share is "overlapping".
    overlap_share: float = 0.5


@dataclass(frozen=True)
class CoverageSettings:
    """A-card vs deposit-card diagnosis."""

    #: Confidence level of the intervals used to call a gap.
    confidence: float = 0.9
    #: A rate below this share of the median district is "well below".
    gap_ratio: float = 0.6
    #: Days until the first contact with a new A-card, whatever its grade (seed 001: next day).
    first_contact_days: int = 1
    #: Follow-up interval in days after the first contact, by lead grade (seed 001: H 2, A 3, B 7, C 15).
    follow_up_days: dict[str, float] = field(
        default_factory=lambda: {"H": 2.0, "A": 3.0, "B": 7.0, "C": 15.0}
    )


@dataclass(frozen=True)
class LeadsSettings:
    """Leads after registration: linking cards into leads, follow-up lists, the funnel.

    The follow-up cadence itself (first contact, then every 2/3/7/15 days by
    grade) is ``coverage.first_contact_days`` and ``coverage.follow_up_days``.
    """

    #: A phone number on more cards than this is a placeholder (e.g. 13800000000), not one
    #: person: such cards are not linked into one lead by phone (a notice lists them).
    max_cards_per_phone: int = 8
    #: Grade whose cadence applies to a lead without a grade once it has been contacted.
    ungraded_as: str = "C"
    #: Dates (last contact, closed) up to this many days after today are accepted (time zones).
    future_slack_days: int = 1
    #: Cards ending more than this many days before the follow-up date: say the data may be stale.
    stale_days: int = 7
    #: Seed 002's pyramid: each grade needs this many times the leads of the grade above.
    pyramid_multiple: float = 3.0
    #: Rows with fewer leads than this do not set the median row the levers are compared with.
    median_min_leads: int = 5


@dataclass(frozen=True)
class PrintSettings:
    """Printed field maps (``territory print``): tiles, map layers, page layout."""

    #: URL template of the OpenStreetMap tiles (``{z}``, ``{x}``, ``{y}``); tests point it at a local server.
    osm_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    #: URL template of the AMap (高德) tiles, drawn in GCJ-02 (every vector layer is shifted to match).
    amap_url: str = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    #: User-Agent sent with every tile request (tile servers refuse anonymous clients).
    tile_user_agent: str = "Territory/0.1 (outreach field maps; python-urllib)"
    #: Seconds to wait for one tile before the map falls back to vector layers only.
    tile_timeout_s: float = 5.0
    #: Seconds all the tiles of one map may take together.
    tile_total_timeout_s: float = 30.0
    #: Most tiles under one map (the zoom goes down until the map needs no more).
    tile_max: int = 48
    #: Tile pixels per inch of paper aimed at when choosing the zoom.
    tile_dpi: float = 130.0
    #: Parallel tile downloads (the OSM tile policy asks for at most 2).
    tile_workers: int = 2
    #: Cached tiles older than this many days are fetched again.
    tile_cache_days: float = 30.0
    #: Tiles are blended with white by this share so the vector layers stay readable (0–1).
    tile_fade: float = 0.3
    #: Margin around the site zone on its field map, as a share of the zone's larger side.
    map_margin_share: float = 0.45
    #: The field map shows at least this many km across, however small the zone.
    map_min_km: float = 2.5
    #: The frame grows to hold the dealer when that makes it at most this many times larger.
    dealer_reach_factor: float = 1.8
    #: Zones closer than this (m) to the site count as its neighbours (tolerates slivers).
    neighbour_tolerance_m: float = 50.0
    #: Customer hexagons (H3) across the field map, about; picks the H3 resolution.
    hexagons_across: float = 18.0
    #: Hexagons with fewer customers than this are not drawn (no single household is shown).
    hex_min_count: int = 3
    #: Finest H3 resolution drawn (9: cells of about 0.1 km²), however small the map.
    hex_finest_resolution: int = 9
    #: Most people on the invitation list (``--contacts masked``).
    invite_list_max: int = 40
    #: Rows of the blank registration form (one page).
    form_rows: int = 16
    #: Where the zones' boundaries and population come from, printed in the data line of
    #: every field map (e.g. "2020 census, city planning bureau"); empty: "the workspace's zones".
    zone_sources: str = ""


@dataclass(frozen=True)
class MapSettings:
    """Interactive maps: how much detail they carry (the page must stay small and fast)."""

    #: Zone outlines are simplified so that no vertex moves more than this many screen pixels
    #: at ``detail_zoom`` (tolerance in metres = px × metres per pixel at that zoom).
    simplify_px: float = 1.0
    #: The zoom level whose pixel size sets the simplification tolerance (14 ≈ a few streets).
    detail_zoom: int = 14
    #: Coordinates sent to the browser are rounded to 10^-precision degrees (5 ≈ 1 m).
    precision: int = 5
    #: Most hexagons drawn for existing customers; the H3 resolution coarsens to stay under it.
    max_hexagons: int = 6000
    #: Finest H3 resolution for existing customers (9 ≈ 0.1 km² per hexagon).
    finest_hex_resolution: int = 9
    #: Coarsest H3 resolution (5 ≈ 250 km² per hexagon).
    coarsest_hex_resolution: int = 5
    #: Five R-value colour bands: multiples of target_r between them (≈ target in the middle).
    r_band_factors: tuple[float, ...] = (0.7, 0.86, 1.16, 1.42)
    #: Most points of interest drawn one by one (the rest are left out and the legend says so).
    max_pois: int = 2000
    #: Radius (px) of the largest card bubble; bubbles scale with the square root of the count.
    max_bubble_px: float = 16.0
    #: AMap (高德) tiles of the interactive maps, in GCJ-02 (``{s}`` 1-4, ``{lang}``, ``{x}``,
    #: ``{y}``, ``{z}``); tests point it at a local tile server.
    amap_url: str = (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}"
    )
    #: OpenStreetMap tiles of the interactive maps (``{s}`` a-c is not used by the default).
    osm_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    #: Seconds the app waits for one AMap tile when the basemap is "auto" (else: no basemap);
    #: the check runs while the workspace loads, so little of it is spent waiting.
    tile_probe_timeout_s: float = 1.0
    #: Seconds an "auto" basemap decision is kept before the tiles are tried again.
    tile_probe_ttl_s: float = 600.0


@dataclass(frozen=True)
class TerritorySettings:
    """Consultant territories (``territory split``): adjacency, balance, compactness."""

    #: Zones closer than this (m) count as touching (tolerates slivers and gaps between polygons).
    adjacency_tolerance_m: float = 20.0
    #: Two zones are neighbours only when they share at least this much border (m): zones that
    #: touch at a corner do not make a territory contiguous.
    min_shared_border_m: float = 50.0
    #: A new split aims for every territory within this share of the mean of the balanced
    #: measure, then makes territories more compact without leaving that band.
    balance_tolerance: float = 0.02
    #: The lowest acceptable balance index (0-100): ``--keep`` moves zones of consultants who
    #: stay only while the index is below it, and locks that make it unreachable are refused.
    min_balance: float = 80.0
    #: Below this balance index a new split explains what holds it back (large zones, locks).
    target_balance: float = 90.0
    #: Iterations of the balanced k-means that places the first territories.
    kmeans_iterations: int = 120
    #: Step of the balanced k-means (share of a territory's squared radius per unit of imbalance).
    kmeans_step: float = 0.15
    #: Most rounds of boundary moves in one phase (balance, then compactness).
    max_rounds: int = 3000
    #: How many times the balance and compactness phases alternate.
    phases: int = 3
    #: Seed of the k-means start (the same inputs always give the same territories).
    random_state: int = 0
    #: Starts tried (balanced enough, the most compact wins) when there are at most
    #: ``restart_max_zones`` zones; larger areas get one start (time).
    restarts: int = 4
    restart_max_zones: int = 1500
    #: Workload: the customers a zone's white space is missing are to be won over this many months.
    whitespace_months: float = 12.0
    #: Workload: leads won ÷ leads closed when the workspace has too few closed leads (seed 004:
    #: 13 %, the national showroom close rate).
    default_close_rate: float = 0.13
    #: Workload: closed leads needed before the workspace's own close rate is used.
    min_closed_leads: int = 30


@dataclass(frozen=True)
class NetworkSettings:
    """A dealer network (``territory network``): responsibility areas, gaps, the Dask engine."""

    #: How zones are given to dealers: ``nearest`` (the nearest dealer within its reach),
    #: ``huff`` (the highest Huff share) or ``auto`` (Huff when dealers.csv has an
    #: ``attractiveness`` column or the network has competitor showrooms, else nearest).
    #: A zone named in ``assignment.csv`` goes to the dealer given there in every case.
    assignment: str = "auto"
    #: Huff model: distance decay exponent (share ∝ attractiveness^a × distance^-decay).
    huff_decay: float = 2.0
    #: Huff model: exponent of the attractiveness.
    huff_attractiveness_exponent: float = 1.0
    #: Huff model: distances below this (km) count as this (a dealer inside a zone).
    huff_min_km: float = 0.5
    #: Whether a zone may belong to several dealers' responsibility areas.
    allow_overlap: bool = False
    #: With ``allow_overlap``: every dealer within reach whose share of the zone is at least
    #: this (0–1) also has the zone in its area.
    overlap_min_share: float = 0.3
    #: Next outreach sites recommended per dealer inside its own area.
    sites_per_dealer: int = 3
    #: New outlet locations chosen jointly over the gaps (maximal covering).
    gap_outlets: int = 5
    #: Reach (km) of a new outlet; 0: the median reach of the network's dealers.
    outlet_radius_km: float = 0.0
    #: A gap area is no wider than this (km); larger clusters of gap zones are split.
    gap_area_km: float = 40.0
    #: Dealers per Dask partition (dealers in one partition are neighbours on a Hilbert curve);
    #: small enough that the last partitions do not keep one worker busy while others idle.
    dealers_per_partition: int = 20
    #: Zones per Dask partition for the responsibility-area join.
    zones_per_partition: int = 5000
    #: Megabytes of a customers/cards/events CSV file read by one task (several pieces per
    #: worker, so that reading is spread evenly). Small pieces keep the workers' memory low
    #: while the largest file is read and shuffled: at 3,000 dealers one worker's peak was
    #: 1.28 GB with 16 MB pieces and 1.06 GB with 4 MB, in the same wall time.
    chunk_mb: float = 4.0
    #: Memory limit of each worker of the LocalCluster ``territory network`` starts: ``auto``
    #: (the machine's memory split between the workers) or a size such as ``"3GiB"``. Dask
    #: spills kept data to disk from 60 % of it, pauses a worker at 80 % and restarts it at
    #: 95 %. Not used with ``--scheduler`` (the cluster's own workers have their limits).
    worker_memory: str = "auto"


@dataclass(frozen=True)
class Settings:
    """All settings, grouped by the area of the product that reads them."""

    load: LoadSettings = field(default_factory=LoadSettings)
    plausible: PlausibleSettings = field(default_factory=PlausibleSettings)
    influence: InfluenceSettings = field(default_factory=InfluenceSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    profile: ProfileSettings = field(default_factory=ProfileSettings)
    whitespace: WhitespaceSettings = field(default_factory=WhitespaceSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    leads: LeadsSettings = field(default_factory=LeadsSettings)
    print: PrintSettings = field(default_factory=PrintSettings)
    maps: MapSettings = field(default_factory=MapSettings)
    territories: TerritorySettings = field(default_factory=TerritorySettings)
    huff: HuffSettings = field(default_factory=HuffSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)

    def merged(self, overrides: dict[str, Any] | None) -> Settings:
        """Return a copy with ``overrides`` (``{section: {key: value}}``) applied.

        Raises
        ------
        SettingsError
            If a section or key is unknown or a value has the wrong type.
        """
        if not overrides:
            return self
        changes: dict[str, Any] = {}
        sections = {f.name: f for f in dataclasses.fields(self)}
        for name, values in overrides.items():
            if name not in sections:
                raise SettingsError(
                    "settings.unknown_section", name=name, known=", ".join(sections)
                )
            if not isinstance(values, dict):
                raise SettingsError("settings.not_table", name=name)
            changes[name] = _replace_section(getattr(self, name), name, values)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain data (for TOML, JSON and the store)."""
        return dataclasses.asdict(self)


def _replace_section(section: Any, name: str, values: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(section)}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise SettingsError(
                "settings.unknown_key", where=f"{name}.{key}", known=", ".join(sorted(fields))
            )
        current = getattr(section, key)
        clean[key] = _coerce(current, value, f"{name}.{key}")
    return dataclasses.replace(section, **clean)


def _coerce(current: Any, value: Any, where: str) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise SettingsError("settings.want_bool", where=where, value=repr(value))
        return value
    if isinstance(current, int | float) and not isinstance(current, bool):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SettingsError("settings.want_number", where=where, value=repr(value))
        return type(current)(value) if isinstance(current, float) else int(value)
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            raise SettingsError("settings.want_list", where=where, value=repr(value))
        return tuple(value)
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise SettingsError("settings.want_table", where=where, value=repr(value))
        unknown = set(value) - set(current)
        if unknown:
            raise SettingsError(
                "settings.unknown_keys",
                where=where,
                unknown=", ".join(sorted(unknown)),
                known=", ".join(sorted(current)),
            )
        bad = {
            k: v
            for k, v in value.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
        }
        if bad:
            raise SettingsError("settings.want_numbers", where=where, value=repr(bad))
        return {**current, **{k: float(v) for k, v in value.items()}}
    if isinstance(current, str):
        if not isinstance(value, str):
            raise SettingsError("settings.want_text", where=where, value=repr(value))
        return value
    return value

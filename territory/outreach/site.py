"""One place for a site's facts: the site brief.

Ranking, the 13-part plan, printed field maps and the web zone card all need
the same facts about a site on a date: its formats (best first), time slots,
tools and talking points from the playbook (with the workspace's override),
what the main format costs per lead and per sale, the leads and sales to
expect, the spot where the team sets up, owners nearby and the referral
targets among them, how the chosen model fits the zone's income, the nearest
competitor showroom and whether the zone's district lacks showroom visitors.
:class:`SiteFacts` computes them once per workspace, analysis and playbook;
:meth:`SiteFacts.brief` gives a site's :class:`SiteBrief`, and the cheap
per-zone parts (main format, costs) come vectorised for ranking.

The spot (:class:`Spot`) is a point inside the zone: a POI of the kinds the
playbook prefers for the zone type (``[spot_kinds]``: a residential compound
gate, a market, a street spot, a mall), or the POI a spot format needs
(招手试驾 at a street spot); a zone without one gets the centre of its
densest 200 m cell of existing customers (where people live), else the point
deepest inside it. Its AMap navigation link is in GCJ-02.

Referral targets (seed 003): owners delivered between 1 and 6 months before
the date within ``site.referral_km`` of the spot; the referral peak is 3
months after delivery, so each owner weighs ``1 − |months − 3| / 3`` at
most and the peak count is those within a month of it.

Examples
--------
>>> import datetime as dt
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> ws = load_workspace(demo_path(), use_store=False)
>>> facts = SiteFacts.for_workspace(ws)
>>> brief = facts.brief("510105014", dt.date(2026, 11, 28))
>>> brief.name, brief.formats == facts.formats("510105014", dt.date(2026, 11, 28))
('文家街道', True)
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from territory.analysis.profile import CustomerProfile
from territory.analysis.zones import Analysis, analyse
from territory.i18n import catalogue, t
from territory.inputs import coords
from territory.outreach.history import EventHistory, FormatStats
from territory.outreach.playbook import Playbook, Slot, load_playbook
from territory.settings import RankingSettings, Settings
from territory.vocab import FORMATS, POI_TYPES, label

__all__ = [
    "Economics",
    "ModelFit",
    "Referral",
    "SiteBrief",
    "SiteFacts",
    "Spot",
    "amap_navigation_url",
    "ordered_formats",
    "owner_index",
    "owners_near",
    "r_verdict",
    "referral_invitations",
]

_AFTER_WORK_SLOTS = frozenset({"evening", "after_work"})
_DAYTIME_SLOTS = frozenset({"midday", "daytime", "lunch", "morning", "market_morning", "training"})
_DAYS_PER_MONTH = 30.44


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Spot:
    """Where in the zone the team sets up (WGS-84)."""

    lon: float
    lat: float
    kind: str  # a POI type (residential, market, street_spot, commercial, ...) or "cell" / "centre"
    name: str
    poi_id: str | None = None

    def gcj02(self) -> tuple[float, float]:
        """The spot in GCJ-02 (AMap, Tencent)."""
        lon, lat = coords.wgs84_to_gcj02(self.lon, self.lat)
        return float(lon), float(lat)

    def amap_url(self) -> str:
        """AMap navigation link to the spot (GCJ-02, by car)."""
        return amap_navigation_url(self.lon, self.lat, self.name)

    def kind_label(self, lang: str = "zh") -> str:
        """The spot's kind in words."""
        return t(f"site.spot_kind.{self.kind}", lang)

    def label(self, lang: str = "zh") -> str:
        """``名称（小区门口）``; a cell or centre spot is named for what it is already."""
        if self.kind not in POI_TYPES:
            return self.name
        return (
            f"{self.name}（{self.kind_label(lang)}）"
            if lang == "zh"
            else f"{self.name} ({self.kind_label(lang)})"
        )

    def to_dict(self) -> dict[str, Any]:
        glon, glat = self.gcj02()
        return {
            "lon": round(self.lon, 6),
            "lat": round(self.lat, 6),
            "kind": self.kind,
            "name": self.name,
            "poi_id": self.poi_id,
            "gcj02": [round(glon, 6), round(glat, 6)],
            "amap_url": self.amap_url(),
        }


def amap_navigation_url(lon: float, lat: float, name: str) -> str:
    """AMap URI that opens navigation by car to a WGS-84 point (sent in GCJ-02).

    >>> amap_navigation_url(104.0, 30.6, "A 点").startswith("https://uri.amap.com/navigation?to=104.00")
    True
    """
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    to = f"{float(glon):.6f},{float(glat):.6f},{name}"
    query = urllib.parse.urlencode(
        {"to": to, "mode": "car", "coordinate": "gaode", "callnative": 1, "src": "territory"},
        safe=",",
    )
    return f"https://uri.amap.com/navigation?{query}"


@dataclass(frozen=True)
class Economics:
    """What the main format of a site is expected to cost and bring."""

    format: str | None
    events: int
    cost_per_lead: float
    cost_per_sale: float
    close_rate: float
    leads: float
    sales: float
    cost: float
    zone_factor: float = 1.0

    @property
    def basis(self) -> str:
        """``history`` when past events back the figures, else ``prior``."""
        return "history" if self.events else "prior"


@dataclass(frozen=True)
class Referral:
    """Owners delivered 1–6 months before the date within reach of the spot (seed 003)."""

    count: int
    peak: int
    weight: float
    radius_km: float
    window: tuple[dt.date, dt.date]
    rows: tuple[int, ...] = ()  # positions in ws.customers, best referral prospects first


@dataclass(frozen=True)
class ModelFit:
    """How the chosen model fits the zone's income, and the model that fits best."""

    model: str
    r_value: float
    verdict: str  # match | upscale | stretch | unknown
    best_model: str
    best_r: float

    def text(self, lang: str = "zh") -> str:
        """``R 1.8：收入高于该车型目标人群，宜推高配/置换``."""
        if not math.isfinite(self.r_value):
            return t("site.r.unknown", lang)
        return t(f"site.r.{self.verdict}", lang, r=self.r_value, model=self.model)


def r_verdict(r: float, *, target_r: float, match: tuple[float, float]) -> str:
    """``match`` near the target, ``upscale`` when income is above the model's buyers, else ``stretch``.

    >>> r_verdict(1.8, target_r=3.0, match=(0.8, 1.25)), r_verdict(3.2, target_r=3.0, match=(0.8, 1.25))
    ('upscale', 'match')
    """
    if not math.isfinite(r):
        return "unknown"
    if r < match[0] * target_r:
        return "upscale"
    if r > match[1] * target_r:
        return "stretch"
    return "match"


@dataclass
class SiteBrief:
    """Everything known about one site on one date, in one language."""

    zone_id: str
    name: str
    district: str
    zone_type: str
    date: dt.date
    lang: str
    model: str
    formats: list[str]
    slots: list[Slot]
    tools: list[str]
    talking_points: list[str]
    owners: int
    owners_nearby: int
    nearby_km: float
    after_sales: bool
    spot: Spot
    economics: Economics
    staff: int
    test_cars: int
    referral: Referral
    model_fit: ModelFit
    share: float
    competitor: str | None
    competitor_km: float | None
    awareness_gap: bool
    consultant: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def main_format(self) -> str | None:
        return self.formats[0] if self.formats else None

    def to_dict(self) -> dict[str, Any]:
        """The brief's facts as plain data (JSON)."""
        e = self.economics
        return {
            "spot": self.spot.to_dict(),
            "expected_leads": round(e.leads, 2),
            "expected_sales": round(e.sales, 3),
            "cost": round(e.cost, 2),
            "cost_per_lead": _finite(e.cost_per_lead),
            "cost_per_sale": _finite(e.cost_per_sale),
            "close_rate": round(e.close_rate, 4),
            "economics_basis": e.basis,
            "staff": self.staff,
            "test_cars": self.test_cars,
            "referral_targets": self.referral.count,
            "referral_peak": self.referral.peak,
            "r_verdict": self.model_fit.verdict,
            "feature_model": self.model_fit.best_model,
            "share": round(self.share, 4),
            "competitor": self.competitor,
            "competitor_km": None if self.competitor_km is None else round(self.competitor_km, 2),
            "awareness_gap": self.awareness_gap,
            "consultant": self.consultant,
        }


def _finite(v: float) -> float | None:
    return round(float(v), 2) if v is not None and math.isfinite(v) else None


# ----------------------------------------------------------------------------- owners


@dataclass(frozen=True)
class OwnerIndex:
    """Located owners sorted by longitude: lon/lat, row positions, delivery day numbers."""

    lonlat: np.ndarray  # (n, 2), sorted by lon
    rows: np.ndarray  # positions in the customers frame
    delivered: np.ndarray  # days since 1970-01-01 (NaN when unknown)


#: The last few workspaces' owners: {id(frame): (weak ref, OwnerIndex)}.
_OWNERS: dict[int, tuple[weakref.ref, OwnerIndex]] = {}


def owner_index(customers: pd.DataFrame) -> OwnerIndex:
    """Located owners sorted by longitude (kept while the customers frame lives).

    Re-ranking after a weight or date change then does not walk a million
    points again.
    """
    hit = _OWNERS.get(id(customers))
    if hit is not None and hit[0]() is customers:
        return hit[1]
    geoms = customers.geometry.values
    present = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    lonlat = shapely.get_coordinates(geoms[present])
    delivered = _delivery(customers).to_numpy()[present]
    order = np.argsort(lonlat[:, 0], kind="stable")
    index = OwnerIndex(lonlat[order], present[order], delivered[order])
    for arr in (index.lonlat, index.rows, index.delivered):
        arr.setflags(write=False)
    for key in [k for k, (ref, _) in _OWNERS.items() if ref() is None]:
        del _OWNERS[key]
    if len(_OWNERS) >= 4:  # a few workspaces at most (the app's sessions)
        _OWNERS.clear()
    _OWNERS[id(customers)] = (weakref.ref(customers), index)
    return index


def _delivery(customers: pd.DataFrame) -> pd.Series:
    """Delivery day numbers: ``delivery_date``, else ``purchase_date`` (NaN when neither)."""
    empty = pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
    dates = pd.to_datetime(customers.get("delivery_date", empty), errors="coerce")
    if "purchase_date" in customers:
        dates = dates.fillna(pd.to_datetime(customers["purchase_date"], errors="coerce"))
    days = (dates - pd.Timestamp("1970-01-01")).dt.days
    return days.astype("float64")


def _near(
    index: OwnerIndex, lon: float, lat: float, radius_m: float, to_xy
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the index) of owners within ``radius_m`` of lon/lat and their distances (m).

    Only owners in a lon/lat box around the point are looked at; a local
    flat-earth distance sorts out the clear cases and the exact projected
    distance (``to_xy``) decides those within 1 % of the radius, so a million
    owners cost a few milliseconds and the counts equal projecting everyone.
    """
    if not len(index.lonlat):
        return np.empty(0, dtype="int64"), np.empty(0)
    dlat = 1.5 * radius_m / 110_574.0
    coslat = max(math.cos(math.radians(lat)), 0.01)
    dlon = 1.5 * radius_m / (111_320.0 * coslat)
    lo = int(np.searchsorted(index.lonlat[:, 0], lon - dlon, side="left"))
    hi = int(np.searchsorted(index.lonlat[:, 0], lon + dlon, side="right"))
    sl = index.lonlat[lo:hi]
    band = lo + np.flatnonzero(np.abs(sl[:, 1] - lat) <= dlat)
    if not len(band):
        return band, np.empty(0)
    pts = index.lonlat[band]
    approx = np.hypot((pts[:, 0] - lon) * 111_320.0 * coslat, (pts[:, 1] - lat) * 110_574.0)
    dist = approx.copy()
    edge = np.abs(approx - radius_m) <= 0.01 * radius_m + 1.0
    if edge.any():
        px, py = to_xy.transform(pts[edge, 0], pts[edge, 1])
        cx, cy = to_xy.transform(lon, lat)
        dist[edge] = np.hypot(np.asarray(px) - cx, np.asarray(py) - cy)
    keep = dist <= radius_m
    return band[keep], dist[keep]


def owners_near(
    customers: pd.DataFrame, crs, points_lonlat: np.ndarray, radius_m: float, *, to_xy=None
) -> list[int]:
    """How many located owners lie within ``radius_m`` of each WGS-84 point (metres in ``crs``)."""
    from pyproj import Transformer

    index = owner_index(customers)
    to_xy = to_xy or Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return [
        len(_near(index, float(lon), float(lat), radius_m, to_xy)[0])
        for lon, lat in np.asarray(points_lonlat, dtype="float64").reshape(-1, 2)
    ]


def ordered_formats(
    pb: Playbook,
    history: EventHistory,
    zone_type: str,
    date: dt.date,
    *,
    owners: int,
    owner_min: int,
    poi_types: frozenset[str] | tuple[str, ...] = (),
    owner_boost: float = RankingSettings.owner_service_boost,
) -> list[str]:
    """The site's formats, best first for this date and what the workspace has learned.

    Formats with a time slot on ``date`` come first; among them, the highest
    expected **sales per yuan** (:meth:`EventHistory.format_stats`: learned
    from recorded outings, the seed's priors until then). With at least
    ``owner_min`` owners in the zone, owner free service counts
    ``owner_boost`` times (it also serves owners and brings referrals).
    ``poi_types`` adds the formats of the zone's POIs (a street spot's
    wave-down test drive).
    """
    formats = list(pb.formats(zone_type, poi_types=poi_types))
    fits = {f for slot in pb.slots(zone_type, date, poi_types=poi_types) for f in slot.formats}

    def key(code: str) -> tuple:
        value = history.format_stats(code, zone_type).sales_per_yuan
        if code == "owner_free_service" and owners >= owner_min:
            value *= owner_boost
        return (code not in fits, -value)

    return sorted(formats, key=key)


# ----------------------------------------------------------------------------- the facts


class SiteFacts:
    """A workspace's site facts for one analysis (model), playbook and settings.

    Build it once (:meth:`for_workspace`) and ask it for the formats of any
    zone, the per-zone economics ranking needs, or a full :class:`SiteBrief`.
    """

    def __init__(
        self,
        ws,
        analysis: Analysis,
        *,
        playbook: Playbook,
        history: EventHistory | None = None,
        settings: Settings | None = None,
        lang: str = "zh",
    ) -> None:
        from pyproj import Transformer

        self.ws = ws
        self.analysis = analysis
        self.playbook = playbook
        self.settings = settings or analysis.settings
        self._history_given = history
        self._date: dt.date | None = None
        self._histories: dict[dt.date | None, EventHistory] = {}
        self.lang = lang
        self.zones = analysis.zones
        self._row = {str(z): i for i, z in enumerate(self.zones["zone_id"].astype(str))}
        wanted = ("zone_type", "owners", "name", "district", "r_value", "income", "share")
        wanted += ("competitor", "competitor_km", "geometry")
        self._cols = {c: self.zones[c].to_numpy() for c in wanted if c in self.zones}
        self.crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
        self._to_xy = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._pois = _pois_cached(ws.pois)
        self._orders: dict[tuple, list[str]] = {}
        self._gap: set[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the workspace (a kept ranking would hold every customer and card).

        Whoever reads the facts back gives them their workspace with :meth:`rebind`.
        """
        state = self.__dict__.copy()
        state["ws"] = None
        return state

    def rebind(self, ws) -> SiteFacts:
        """Attach ``ws`` (the workspace these facts were made from) after unpickling."""
        self.ws = ws
        return self

    @classmethod
    def for_workspace(
        cls,
        ws,
        *,
        model: str | None = None,
        analysis: Analysis | None = None,
        playbook: Playbook | None = None,
        settings: Settings | None = None,
        lang: str = "zh",
    ) -> SiteFacts:
        """Site facts of ``ws`` (analysis and playbook computed when not given)."""
        settings = settings or (analysis.settings if analysis is not None else ws.settings)
        analysis = analysis or analyse(ws, model=model, settings=settings, lang=lang)
        playbook = playbook or load_playbook(ws.root, lang=lang)
        return cls(ws, analysis, playbook=playbook, settings=settings, lang=lang)

    def history_for(self, date: dt.date | None) -> EventHistory:
        """What past outings teach, as it stands on ``date`` (learned figures, rotation).

        Kept per date for the life of these facts (a plan, a print, the days of
        :func:`territory.outreach.ranking.recommend_weeks`).
        """
        if self._history_given is not None:
            return self._history_given
        if date is not None:
            self._date = date
        if self._date not in self._histories:
            self._histories[self._date] = EventHistory.for_workspace(
                self.ws, self.playbook, settings=self.settings.history, as_of=self._date
            )
        return self._histories[self._date]

    @property
    def history(self) -> EventHistory:
        """The history for the last date asked about."""
        return self.history_for(None)

    # ------------------------------------------------------------ zones

    def _z(self, zone_id: str) -> dict[str, Any]:
        """The zone's analysis figures as a plain dict (fast)."""
        i = self.row(zone_id)
        return {c: v[i] for c, v in self._cols.items()}

    def row(self, zone_id: str) -> int:
        """Positional row of ``zone_id`` in the analysis (KeyError when unknown)."""
        return self._row[str(zone_id)]

    def spot_kinds(self, zone_id: str) -> tuple[str, ...]:
        """POI kinds (spot formats' kinds) present in the zone."""
        return tuple(sorted(self._pois.get(str(zone_id), {}).keys()))

    def _format_kinds(self, zone_id: str) -> tuple[str, ...]:
        """Spot kinds in the zone that bring formats of their own (street spots)."""
        with_formats = self.playbook.poi_types_with_formats()
        return tuple(k for k in self.spot_kinds(zone_id) if k in with_formats)

    # ------------------------------------------------------------ formats and slots

    def _slots(self, zone_type: str, kinds: tuple[str, ...], date: dt.date) -> list[Slot]:
        return list(self.playbook.slots(zone_type, date, poi_types=kinds))

    def _order(
        self, zone_type: str, kinds: tuple[str, ...], owners_ok: bool, date: dt.date
    ) -> list[str]:
        key = (zone_type, kinds, owners_ok, date)
        if key not in self._orders:
            ranking = self.settings.ranking
            self._orders[key] = ordered_formats(
                self.playbook,
                self.history_for(date),
                zone_type,
                date,
                owners=ranking.owner_service_min if owners_ok else 0,
                owner_min=ranking.owner_service_min,
                poi_types=kinds,
                owner_boost=ranking.owner_service_boost,
            )
        return self._orders[key]

    def formats(self, zone_id: str, date: dt.date) -> list[str]:
        """The zone's formats on ``date``, best first.

        Formats with a time slot that day first; among them the most
        expected sales per yuan (learned from recorded outings, the seed's
        priors until then), owner service boosted where the zone holds
        enough owners (:func:`ordered_formats`).
        """
        z = self._z(zone_id)
        owners_ok = int(z["owners"]) >= self.settings.ranking.owner_service_min
        return list(self._order(z["zone_type"], self._format_kinds(zone_id), owners_ok, date))

    def zone_formats(self, date: dt.date | None = None) -> list[list[str]]:
        """Every zone's formats (aligned to the analysis' rows), for maps and cards.

        With ``date`` the order is the day's (as in plans and prints); without,
        the playbook's order for the zone type plus the spot formats.
        """
        out = []
        for zid in self.zones["zone_id"].astype(str):
            if date is not None:
                out.append(self.formats(zid, date))
            else:
                z = self._z(zid)
                kinds = self._format_kinds(zid)
                out.append(list(self.playbook.formats(z["zone_type"], poi_types=kinds)))
        return out

    def slots(self, zone_id: str, date: dt.date, formats: list[str] | None = None) -> list[Slot]:
        """Time slots on ``date``, ordered by what today's customers suggest (seed 000, ex. 2)."""
        z = self._z(zone_id)
        slots = self._slots(z["zone_type"], self._format_kinds(zone_id), date)
        profile: CustomerProfile | None = self.analysis.profile
        codes = {h.code for h in profile.hints()} if profile is not None else set()
        if "after_work" in codes:
            slots = sorted(slots, key=lambda sl: sl.slot not in _AFTER_WORK_SLOTS)
        elif "daytime_service" in codes:
            slots = sorted(slots, key=lambda sl: sl.slot not in _DAYTIME_SLOTS)
        return slots

    def talking_points(self, zone_id: str, formats: list[str]) -> list[str]:
        """The pitch today's customers suggest, the spot format's points, the zone type's."""
        z = self._z(zone_id)
        lang = self.lang
        pitches = []
        profile = self.analysis.profile
        if profile is not None:
            for hint in profile.hints():
                key = f"profile.pitch.{hint.code}"
                if key in catalogue():
                    pitches.append(t(key, lang))
        zone_points = list(self.playbook.talking_points(z["zone_type"], lang))
        lead = self.playbook.spot_kind_of(formats[0]) if formats else None
        spot_points: list[str] = []
        if lead:  # the leading format is a POI's (招手试驾 at a street spot): its points first
            both = self.playbook.talking_points(z["zone_type"], lang, poi_types=[lead])
            spot_points = list(both[len(zone_points) :])
        return pitches + spot_points + zone_points

    def tools(self, zone_id: str, formats: list[str]) -> list[str]:
        """Tools for the zone type, plus those of a spot format that leads."""
        z = self._z(zone_id)
        kind = self.playbook.spot_kind_of(formats[0]) if formats else None
        return list(self.playbook.tools(z["zone_type"], poi_types=[kind] if kind else ()))

    # ------------------------------------------------------------ economics

    def economics(self, zone_id: str, fmt: str | None, date: dt.date | None = None) -> Economics:
        """Expected figures of ``fmt`` in the zone, scaled by the zone's own track record."""
        z = self._z(zone_id)
        return self._economics(str(zone_id), z["zone_type"], fmt, date=date)

    def _economics(
        self,
        zone_id: str,
        zone_type: str,
        fmt: str | None,
        *,
        factor: float | None = None,
        date: dt.date | None = None,
    ) -> Economics:
        if fmt is None:
            return Economics(None, 0, math.nan, math.nan, 0.0, 0.0, 0.0, 0.0)
        history = self.history_for(date)
        stats: FormatStats = history.format_stats(fmt, zone_type)
        if factor is None:
            factor = history.zone_factor(str(zone_id))
        leads = stats.leads_per_event * factor
        return Economics(
            format=fmt,
            events=stats.events,
            cost_per_lead=stats.cost_per_lead / factor,
            cost_per_sale=stats.cost_per_sale / factor,
            close_rate=stats.close_rate,
            leads=leads,
            sales=leads * stats.close_rate,
            cost=stats.cost_per_event,
            zone_factor=factor,
        )

    def main_formats(self, rows: pd.DataFrame, date: dt.date) -> pd.DataFrame:
        """Main format and its economics for every zone of ``rows`` (ranking's pool).

        Zones sharing a zone type, spot formats and owner-service rule share
        their main format: it is worked out once per group.
        """
        owner_min = self.settings.ranking.owner_service_min
        zone_ids = rows["zone_id"].astype(str).to_numpy()
        kinds = [self._format_kinds(z) for z in zone_ids]
        owners_ok = (rows["owners"].to_numpy() >= owner_min).tolist()
        keys = list(zip(rows["zone_type"].tolist(), kinds, owners_ok, strict=True))
        groups: dict[tuple, dict[str, Any]] = {}
        for key in dict.fromkeys(keys):
            zone_type, k, ok = key
            order = self._order(zone_type, k, ok, date)
            fmt = order[0] if order else None
            e = self._economics("", zone_type, fmt, factor=1.0, date=date)
            staff, cars = self.playbook.needs(fmt) if fmt else (0, 0)
            groups[key] = {
                "best_format": fmt,
                "cost_per_lead": e.cost_per_lead,
                "cost_per_sale": e.cost_per_sale,
                "sales_per_yuan": (e.sales / e.cost if e.cost > 0 else math.inf)
                if e.sales > 0
                else 0.0,
                "expected_leads": e.leads,
                "expected_sales": e.sales,
                "estimated_cost": e.cost,
                "history_events": e.events,
                "staff": staff,
                "test_cars": cars,
                "has_slot": self._has_slot(zone_type, k, date),
            }
        out = pd.DataFrame([groups[k] for k in keys], index=rows.index)
        # A zone's own track record scales its leads and unit costs (few zones have one).
        history = self.history_for(date)
        factor = np.array([history.zone_factor(z) for z in zone_ids], dtype="float64")
        if (factor != 1.0).any():
            out["cost_per_lead"] = out["cost_per_lead"] / factor
            out["cost_per_sale"] = out["cost_per_sale"] / factor
            out["sales_per_yuan"] = out["sales_per_yuan"] * factor
            out["expected_leads"] = out["expected_leads"] * factor
            out["expected_sales"] = out["expected_sales"] * factor
        return out

    def _has_slot(self, zone_type: str, kinds: tuple[str, ...], date: dt.date) -> bool:
        key = ("slot", zone_type, kinds, date)
        if key not in self._orders:
            self._orders[key] = bool(self._slots(zone_type, kinds, date))  # type: ignore[assignment]
        return bool(self._orders[key])

    # ------------------------------------------------------------ coverage

    def awareness_gap_districts(self) -> set[str]:
        """Districts the coverage table diagnoses ``awareness_gap`` (few A-cards for their people)."""
        if self._gap is None:
            self._gap = _awareness_gaps(self.ws, self.analysis, self.settings, self.lang)
        return self._gap

    # ------------------------------------------------------------ spot

    def spot(self, zone_id: str, formats: list[str] | None = None) -> Spot:
        """Where in the zone the team sets up (see the module notes)."""
        zid = str(zone_id)
        z = self._z(zid)
        pois = self._pois.get(zid, {})
        kinds: list[str] = []
        lead_kind = self.playbook.spot_kind_of(formats[0]) if formats else None
        if lead_kind:
            kinds.append(lead_kind)
        kinds += [k for k in self.playbook.spot_kinds(z["zone_type"]) if k not in kinds]
        for kind in kinds:
            options = pois.get(kind)
            if options:
                best = max(options, key=lambda p: (p["households"], -p["order"]))
                return Spot(best["lon"], best["lat"], kind, best["name"], best["poi_id"])
        return self._densest(zid, z)

    def _densest(self, zid: str, z) -> Spot:
        geom = z["geometry"]
        name_base = str(z["name"]) if isinstance(z["name"], str) and z["name"] else zid
        index = owner_index(self.ws.customers)
        if geom is not None and not geom.is_empty and len(index.lonlat):
            minx, miny, maxx, maxy = geom.bounds
            lo = np.searchsorted(index.lonlat[:, 0], minx, side="left")
            hi = np.searchsorted(index.lonlat[:, 0], maxx, side="right")
            band = index.lonlat[lo:hi]
            band = band[(band[:, 1] >= miny) & (band[:, 1] <= maxy)]
            inside = band[shapely.contains_xy(geom, band[:, 0], band[:, 1])] if len(band) else band
            if len(inside):
                x, y = self._to_xy.transform(inside[:, 0], inside[:, 1])
                size = self.settings.site.spot_cell_m
                cells = np.floor(np.column_stack([x, y]) / size).astype("int64")
                _, which, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
                best = int(np.argmax(counts))  # ties: the lowest cell (deterministic)
                members = inside[np.asarray(which).ravel() == best]
                lon, lat = members.mean(axis=0)
                if not shapely.contains_xy(geom, lon, lat):
                    # The cell's owners straddle a bend: the one nearest their middle.
                    d = np.hypot(members[:, 0] - lon, members[:, 1] - lat)
                    lon, lat = members[int(np.argmin(d))]
                return Spot(
                    float(lon),
                    float(lat),
                    "cell",
                    t("site.spot_cell_name", self.lang, zone=name_base),
                )
        from shapely.ops import polylabel

        part = geom if geom.geom_type == "Polygon" else max(geom.geoms, key=lambda g: g.area)
        p = polylabel(part, tolerance=math.sqrt(max(part.area, 1e-12)) / 50)
        return Spot(
            float(p.x), float(p.y), "centre", t("site.spot_centre_name", self.lang, zone=name_base)
        )

    # ------------------------------------------------------------ referral

    def referral(self, spot: Spot, date: dt.date, *, with_rows: bool = False) -> Referral:
        """Owners delivered 1–6 months before ``date`` within reach of the spot (seed 003)."""
        s = self.settings.site
        m0, m1 = s.referral_months
        peak = s.referral_peak_months
        today = (pd.Timestamp(date) - pd.Timestamp("1970-01-01")).days
        start = date - dt.timedelta(days=round(m1 * _DAYS_PER_MONTH))
        end = date - dt.timedelta(days=round(m0 * _DAYS_PER_MONTH))
        index = owner_index(self.ws.customers)
        pos, dist = _near(index, spot.lon, spot.lat, s.referral_km * 1000.0, self._to_xy)
        months = (today - index.delivered[pos]) / _DAYS_PER_MONTH
        ok = np.isfinite(months) & (months >= m0) & (months <= m1)
        pos, dist, months = pos[ok], dist[ok], months[ok]
        span = max(peak - m0, m1 - peak, 1e-9)
        weight = np.clip(1 - np.abs(months - peak) / span, 0, 1)
        peak_n = int((np.abs(months - peak) <= 1.0).sum())
        rows: tuple[int, ...] = ()
        if with_rows and len(pos):
            order = np.lexsort((dist, -weight))
            rows = tuple(int(r) for r in index.rows[pos[order]])
        return Referral(
            count=len(pos),
            peak=peak_n,
            weight=float(weight.sum()),
            radius_km=s.referral_km,
            window=(start, end),
            rows=rows,
        )

    # ------------------------------------------------------------ model

    def model_fit(self, zone_id: str) -> ModelFit:
        """The chosen model's R verdict in the zone and the model that fits best."""
        z = self._z(zone_id)
        sc = self.settings.scoring
        r = float(z["r_value"]) if pd.notna(z["r_value"]) else math.nan
        best, best_r, best_gap = self.analysis.model, r, math.inf
        income = float(z["income"])
        for m in self.analysis.models or ():
            mr = m.price / income if income > 0 else math.nan
            gap = abs(math.log(mr / sc.target_r)) if math.isfinite(mr) and mr > 0 else math.inf
            if gap < best_gap - 1e-12:
                best, best_r, best_gap = m.name, mr, gap
        return ModelFit(
            model=self.analysis.model,
            r_value=r,
            verdict=r_verdict(r, target_r=sc.target_r, match=sc.r_match),
            best_model=best,
            best_r=best_r,
        )

    def feature_models(self) -> list[str]:
        """The model to feature in every zone (best R fit), aligned to the analysis' rows."""
        return [self.model_fit(z).best_model for z in self.zones["zone_id"].astype(str)]

    # ------------------------------------------------------------ the brief

    def brief(self, zone_id: str, date: dt.date, *, referral_rows: bool = False) -> SiteBrief:
        """The site brief of ``zone_id`` on ``date``.

        Raises
        ------
        KeyError
            If the analysis has no zone ``zone_id``.
        """
        zid = str(zone_id)
        z = self._z(zid)
        lang = self.lang
        formats = self.formats(zid, date)
        slots = self.slots(zid, date, formats)
        spot = self.spot(zid, formats)
        econ = self.economics(zid, formats[0] if formats else None, date)
        ranking = self.settings.ranking
        nearby = owners_near(
            self.ws.customers,
            self.crs,
            np.array([[spot.lon, spot.lat]]),
            ranking.after_sales_km * 1000,
            to_xy=self._to_xy,
        )[0]
        staff, cars = self.playbook.needs(formats[0]) if formats else (0, 0)
        comp_km = z.get("competitor_km")
        has_comp = comp_km is not None and pd.notna(comp_km)
        district = z["district"]
        return SiteBrief(
            zone_id=zid,
            name=_text(z["name"], zid),
            district=_text(district, "—"),
            zone_type=str(z["zone_type"]),
            date=date,
            lang=lang,
            model=self.analysis.model,
            formats=formats,
            slots=slots,
            tools=self.tools(zid, formats),
            talking_points=self.talking_points(zid, formats),
            owners=int(z["owners"]),
            owners_nearby=int(nearby),
            nearby_km=ranking.after_sales_km,
            after_sales="owner_free_service" in formats and nearby >= ranking.after_sales_owners,
            spot=spot,
            economics=econ,
            staff=staff,
            test_cars=cars,
            referral=self.referral(spot, date, with_rows=referral_rows),
            model_fit=self.model_fit(zid),
            share=float(z["share"]) if "share" in z and pd.notna(z["share"]) else 1.0,
            competitor=z.get("competitor") if has_comp else None,
            competitor_km=float(comp_km) if has_comp else None,
            awareness_gap=isinstance(district, str) and district in self.awareness_gap_districts(),
            consultant=_consultant(self.ws, zid),
        )

    def format_label(self, code: str) -> str:
        """A format code in the facts' language."""
        return label(code, FORMATS, self.lang)


def _text(value: object, default: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip():
        return default
    return str(value)


def _consultant(ws, zone_id: str) -> str | None:
    """The consultant whose territory holds the zone (``territory split``), or None.

    Read from the assignment stored in the workspace's journal
    (:func:`territory.inputs.assignment.consultant_of`); a journal that cannot
    be read names nobody rather than stopping a plan.
    """
    from territory.inputs.assignment import consultant_of

    try:
        return consultant_of(ws, [zone_id]).get(zone_id)
    except (OSError, ValueError):
        return None


#: Per-frame caches (kept while the frame lives): {id: (weak ref, key, value)}.
_CACHE: dict[tuple, tuple[weakref.ref, Any]] = {}


def _cached(frame, key: tuple, make):
    full = (id(frame), *key)
    hit = _CACHE.get(full)
    if hit is not None and hit[0]() is frame:
        return hit[1]
    value = make()
    for k in [k for k, (ref, _) in _CACHE.items() if ref() is None]:
        del _CACHE[k]
    if len(_CACHE) >= 16:
        _CACHE.clear()
    _CACHE[full] = (weakref.ref(frame), value)
    return value


def _centres(geometry, crs) -> np.ndarray:
    pts = geometry.to_crs(crs).representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def pool_centres(pool, zones, crs) -> np.ndarray:
    """x, y rows of the representative points, projected to ``crs``, of ``pool`` (rows of ``zones``).

    The points of all of ``zones`` are kept while the frame lives (a re-rank
    asks for them again with new weights or dates); the rows handed out are
    the figures projecting just the pool gives.
    """
    from pyproj import CRS

    pos = zones.index.get_indexer(pool.index) if zones.index.is_unique else None
    if pos is None or (pos < 0).any():
        return _centres(pool.geometry, crs)
    key = ("centres", CRS.from_user_input(crs).to_string())
    return _cached(zones, key, lambda: _centres(zones.geometry, crs))[pos]


def _pois_cached(pois):
    if pois is None:
        return {}
    return _cached(pois, ("pois",), lambda: _pois_by_zone(pois))


def _pois_by_zone(pois: pd.DataFrame | None) -> dict[str, dict[str, list[dict]]]:
    """Usable spot POIs (not competitors) per zone and kind."""
    out: dict[str, dict[str, list[dict]]] = {}
    if pois is None or not len(pois):
        return out
    ok = pois["zone_id"].notna() & pois.geometry.notna() & (pois["poi_type"] != "competitor")
    ok &= pois["poi_type"].notna()
    frame = pois[ok]
    households = (
        pd.to_numeric(frame["households"], errors="coerce").fillna(0)
        if "households" in frame
        else pd.Series(0, index=frame.index)
    )
    for order, (zid, kind, name, pid, geom, hh) in enumerate(
        zip(
            frame["zone_id"].astype(str),
            frame["poi_type"],
            frame["name"],
            frame["poi_id"],
            frame.geometry,
            households,
            strict=True,
        )
    ):
        if geom is None or geom.is_empty:
            continue
        out.setdefault(zid, {}).setdefault(str(kind), []).append(
            {
                "lon": float(geom.x),
                "lat": float(geom.y),
                "name": _text(name, _text(pid, str(kind))),
                "poi_id": None if pd.isna(pid) else str(pid),
                "households": float(hh),
                "order": order,
            }
        )
    return out


#: The market coverage table: {(id cards, id zones, id ws zones, id customers, lang):
#: (weak refs, coverage settings, table)}.
_MARKET: dict[tuple, tuple[tuple, Any, pd.DataFrame]] = {}


def market_coverage(ws, analysis: Analysis, settings: Settings, lang: str) -> pd.DataFrame:
    """The coverage table by district, the market being the influence area's districts.

    What ``territory coverage`` shows for the workspace and what the site
    ranking reads its awareness gaps from; kept while the cards, customers,
    zones frames and the analysis live, so one recommendation and the
    dealer's coverage summary share one table. The table reads only
    ``settings.coverage``, so a re-rank with other weights or dates (new
    ``Settings`` from overrides) reuses it while the coverage settings are
    equal. Treat the table as read-only.
    """
    from territory.leads.coverage import coverage_table

    cards = ws.cards
    zones = analysis.zones
    frames = (cards, zones, ws.zones, ws.customers)
    key = (*(id(f) for f in frames), lang)
    hit = _MARKET.get(key)
    if hit is not None:
        refs, held, table = hit
        if all(r() is f for r, f in zip(refs, frames, strict=True)) and held == settings.coverage:
            return table
    market = set(zones.loc[zones["in_influence_area"].astype(bool), "district"].dropna())
    table = coverage_table(
        ws.zones, ws.customers, cards, by="district", settings=settings, lang=lang, market=market
    )
    if any(f is None for f in frames):
        return table
    for k in [k for k, (refs, _, _) in _MARKET.items() if any(r() is None for r in refs)]:
        del _MARKET[k]
    if len(_MARKET) >= 8:
        _MARKET.clear()
    _MARKET[key] = (tuple(weakref.ref(f) for f in frames), settings.coverage, table)
    return table


def _awareness_gaps(ws, analysis: Analysis, settings: Settings, lang: str) -> set[str]:
    cards = ws.cards
    if cards is None or not len(cards):
        return set()
    table = market_coverage(ws, analysis, settings, lang)
    return set(table.loc[table["diagnosis"] == "awareness_gap", "district"].dropna().astype(str))


def referral_invitations(ws, brief: SiteBrief, *, lang: str = "zh") -> pd.DataFrame:
    """The brief's referral targets as a masked invitation list (best prospects first).

    Names and phones are masked (张*, 138****1234): the list is for calling
    through the dealer's CRM, never a full contact sheet. Needs a brief made
    with ``referral_rows=True``.
    """
    from territory.privacy import mask_name, mask_phone

    rows = list(brief.referral.rows)
    cust = ws.customers.iloc[rows] if rows else ws.customers.iloc[:0]
    delivered = _delivery(cust)
    names = cust["name"] if "name" in cust else pd.Series(None, index=cust.index)
    phones = cust["phone"] if "phone" in cust else pd.Series(None, index=cust.index)
    models = cust["model"] if "model" in cust else pd.Series(None, index=cust.index)
    today = (pd.Timestamp(brief.date) - pd.Timestamp("1970-01-01")).days
    return pd.DataFrame(
        {
            "name": [mask_name(n) if isinstance(n, str) else "—" for n in names],
            "phone": [mask_phone(p) if isinstance(p, str) else "—" for p in phones],
            "model": [m if isinstance(m, str) else "—" for m in models],
            "delivered": [
                (pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(d))).strftime("%Y-%m")
                if np.isfinite(d)
                else "—"
                for d in delivered
            ],
            "months": [
                round((today - float(d)) / _DAYS_PER_MONTH, 1) if np.isfinite(d) else None
                for d in delivered
            ],
        }
    )

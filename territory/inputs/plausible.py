"""Plausible values: what a workspace may hold before its results can be trusted.

Validation in :mod:`territory.inputs.layers` checks that each value has the
right type; this module checks that the values make sense together with the
world they describe, with the ranges of :class:`~territory.settings.PlausibleSettings`
(documented defaults, widened per workspace in ``[settings.plausible]``):

- dealer.toml: the influence radius, ``target_r`` and the models' prices (a
  price of 12 is 12 万 written in the wrong unit; 898,000,000 is not a car);
- zones: people per zone and per km², per-capita income (4.5 is 4.5 万; 4,500
  a monthly figure), every population zero, zones that overlap (with the
  overlap's area and the customers it affects) or duplicate each other;
- point layers: dates in the future or before any DMS existed, event costs
  and leads beyond reason, more sales than leads, ages that are placeholders,
  many rows piled on one coordinate (a geocoder's city centre);
- the dealer: farther than ``dealer_zone_km`` from every zone, or with no zone
  within its influence radius.

A value outside a hard range is an error (exit 2, nothing written); one
outside a usual range is a warning that every command shows.

Examples
--------
>>> from territory._errors import ProblemList
>>> from territory.inputs.dealer import parse_dealer
>>> problems = ProblemList()
>>> d = parse_dealer({"name": "店", "lon": 104.0, "lat": 30.6, "radius_km": 1e9,
...                   "models": [{"name": "A", "price": 12}]})
>>> check_dealer(d, problems)
>>> sorted(p.column for p in problems.errors)
['models[1].price', 'radius_km']
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import ERROR, WARNING, Problem, ProblemList
from territory.inputs import coords
from territory.inputs.dealer import DEALER_FILE, Dealer
from territory.settings import Settings

__all__ = [
    "check_dealer",
    "check_dealer_position",
    "check_overlaps",
    "check_piles",
    "check_values",
    "check_zones",
    "today",
]

#: At most this many overlapping pairs are named one by one.
MAX_PAIRS = 20
#: Overlaps narrower than twice this (m) are digitising slivers, not looked at.
_SLIVER_M = 1.0
#: The dates checked against the plausible window, by layer (the lead dates of cards,
#: last_contact and closed_date, are checked with the lead in territory.inputs.leadlink).
_DATES: dict[str, tuple[str, ...]] = {
    "customers": ("purchase_date", "delivery_date"),
    "cards": ("date",),
    "events": ("date",),
}


def today(settings: Settings) -> dt.date:
    """The date future dates are measured from (``[settings.plausible] today`` or the clock)."""
    text = settings.plausible.today
    if text:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return dt.date.today()


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def _range_text(low: float, high: float) -> str:
    return f"{_fmt(low)}–{_fmt(high)}"


# ---------------------------------------------------------------- dealer.toml


def check_dealer(dealer: Dealer, problems: ProblemList) -> None:
    """The influence radius, ``target_r`` and the prices against their plausible ranges."""
    p = dealer.settings.plausible

    def hard(column: str, value: float, bounds: tuple[float, float], unit: str) -> bool:
        low, high = bounds
        if low <= value <= high:
            return True
        problems.add(
            DEALER_FILE,
            "err.implausible",
            column=column,
            found=_fmt(value),
            expected=_range_text(low, high),
            unit=unit,
            setting=column.split("[")[0].split(".")[0],
        )
        return False

    # The radius and target R in force, whether set at the top of dealer.toml or under
    # [settings.influence] / [settings.scoring].
    if hard("radius_km", dealer.radius_km, p.radius_km, "km"):
        low, high = p.radius_km_usual
        if not low <= dealer.radius_km <= high:
            problems.add(
                DEALER_FILE,
                "warn.radius_unusual",
                column="radius_km",
                severity=WARNING,
                found=_fmt(dealer.radius_km),
                expected=_range_text(low, high),
            )
    hard("target_r", dealer.target_r, p.target_r, "")
    for i, model in enumerate(dealer.models, start=1):
        low, high = p.price
        if not low <= model.price <= high:
            problems.add(
                DEALER_FILE,
                "err.price_implausible",
                column=f"models[{i}].price",
                found=_fmt(model.price),
                expected=_range_text(low, high),
                model=model.name,
            )


def check_dealer_position(
    dealer: Dealer, zones: gpd.GeoDataFrame, problems: ProblemList, crs
) -> None:
    """The dealer far from every zone: an error beyond ``dealer_zone_km``, else a warning
    when no zone lies within the influence radius."""
    if not len(zones):
        return
    point = gpd.GeoSeries([shapely.Point(dealer.lon, dealer.lat)], crs="EPSG:4326").to_crs(crs)
    geoms = zones.geometry.to_crs(crs)
    valid = geoms.notna() & ~geoms.is_empty
    if not valid.any():
        return
    km = float(geoms[valid].distance(point.iloc[0]).min()) / 1000.0
    limit = dealer.settings.plausible.dealer_zone_km
    if km > limit:
        problems.add(
            DEALER_FILE,
            "err.dealer_far_from_zones",
            column="lon/lat",
            found=f"{dealer.lon:.5f}, {dealer.lat:.5f}",
            km=f"{km:,.0f}",
            limit=f"{limit:g}",
        )
    elif km > dealer.radius_km:
        problems.add(
            DEALER_FILE,
            "warn.dealer_outside_radius",
            column="lon/lat",
            severity=WARNING,
            km=f"{km:,.1f}",
            radius=f"{dealer.radius_km:g}",
        )


# ---------------------------------------------------------------- zones


def check_zones(
    zones: gpd.GeoDataFrame, rows: pd.Series, file: str, problems: ProblemList, settings, crs
) -> None:
    """Population, density and income of each zone against their plausible ranges."""
    p = settings.plausible
    ids = zones["zone_id"].astype("str").to_numpy()
    pop = pd.to_numeric(zones["population"], errors="coerce").astype("float64").to_numpy()
    income = pd.to_numeric(zones["income"], errors="coerce").astype("float64").to_numpy()
    area = np.full(len(zones), np.nan)
    valid = zones.geometry.notna().to_numpy() & ~zones.geometry.is_empty.to_numpy()
    if valid.any():
        area[valid] = zones.geometry[valid].to_crs(crs).area.to_numpy() / 1e6

    def report(mask, key, column, severity=ERROR, **fields):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            first = int(np.flatnonzero(mask)[0])
            problems.append(
                Problem(
                    file,
                    key,
                    column=column,
                    rows=tuple(int(r) for r in rows[mask]),
                    row_kind="feature",
                    severity=severity,
                    ids=tuple(ids[mask]),
                    fields={k: (v(first) if callable(v) else v) for k, v in fields.items()},
                )
            )

    ok_pop = np.isfinite(pop)
    too_many = ok_pop & ((pop < p.population[0]) | (pop > p.population[1]))
    report(
        too_many,
        "err.population_implausible",
        "population",
        found=lambda i: _fmt(pop[i]),
        expected=_range_text(*p.population),
    )
    density = np.where(area > 1e-6, pop / np.where(area > 1e-6, area, 1.0), np.nan)
    dense = ok_pop & ~too_many & np.isfinite(density)
    report(
        dense & (density > p.density[1]),
        "err.density_implausible",
        "population",
        found=lambda i: _fmt(pop[i]),
        density=lambda i: _fmt(density[i]),
        area=lambda i: f"{area[i]:,.2f}",
        limit=_fmt(p.density[1]),
    )
    report(
        dense & (density <= p.density[1]) & (density > p.density_usual_max),
        "warn.density_high",
        "population",
        severity=WARNING,
        found=lambda i: _fmt(pop[i]),
        density=lambda i: _fmt(density[i]),
        area=lambda i: f"{area[i]:,.2f}",
        limit=_fmt(p.density_usual_max),
    )
    if len(zones) and ok_pop.all() and (pop == 0).all():
        problems.add(file, "warn.population_all_zero", column="population", severity=WARNING)
    ok_income = np.isfinite(income) & (income > 0)
    bad_income = ok_income & ((income < p.income[0]) | (income > p.income[1]))
    report(
        bad_income,
        "err.income_implausible",
        "income",
        found=lambda i: _fmt(income[i]),
        expected=_range_text(*p.income),
    )
    low, high = p.income_usual
    report(
        ok_income & ~bad_income & ((income < low) | (income > high)),
        "warn.income_unusual",
        "income",
        severity=WARNING,
        found=lambda i: _fmt(income[i]),
        expected=_range_text(low, high),
    )


def check_overlaps(
    zones: gpd.GeoDataFrame,
    rows: pd.Series,
    file: str,
    points: dict[str, gpd.GeoDataFrame],
    problems: ProblemList,
    settings,
    crs,
) -> None:
    """Zones that overlap: the overlap's area and the customers (and other points) it affects.

    A point in an overlap is counted in the zone listed first only, so the other
    zone loses it silently. Overlaps smaller than ``overlap_min_share`` of the
    smaller zone are digitising slivers and ignored; two zones overlapping by
    ``duplicate_share`` of each are one zone entered twice (its people counted
    twice): an error.
    """
    p = settings.plausible
    geoms = np.asarray(zones.geometry.to_crs(crs).values, dtype=object)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if valid.sum() < 2:
        return
    idx = np.flatnonzero(valid)
    # Zones shrunk by a metre still intersect only where they overlap by more than a
    # sliver (neighbours that merely touch no longer do): one cheap query instead of a
    # full DE-9IM relate per neighbouring pair (3x faster on 5,000 zones).
    shrunk = shapely.buffer(geoms[idx], -_SLIVER_M)
    tree = shapely.STRtree(shrunk)
    left, right = tree.query(shrunk, predicate="intersects")
    keep_pair = left < right
    if not keep_pair.any():
        return
    a_idx, b_idx = idx[left[keep_pair]], idx[right[keep_pair]]
    inter = shapely.intersection(geoms[a_idx], geoms[b_idx])
    inter_area = shapely.area(inter)
    area = shapely.area(geoms)
    smaller = np.minimum(area[a_idx], area[b_idx])
    keep = inter_area >= p.overlap_min_share * np.maximum(smaller, 1e-9)
    if not keep.any():
        return
    ids = zones["zone_id"].astype("str").to_numpy()
    inter_wgs = gpd.GeoSeries(inter[keep], crs=crs).to_crs("EPSG:4326").to_numpy()
    xy = {name: _located_xy(layer) for name, layer in points.items()}
    named = 0
    for a, b, share_area, poly in zip(
        a_idx[keep], b_idx[keep], inter_area[keep], inter_wgs, strict=True
    ):
        share_a, share_b = share_area / area[a], share_area / area[b]
        duplicate = min(share_a, share_b) >= p.duplicate_share
        inside = {
            n: int(shapely.contains_xy(poly, x, y).sum()) if len(x) else 0
            for n, (x, y) in xy.items()
        }
        customers = inside.pop("customers", 0)
        if named >= MAX_PAIRS and not duplicate:
            continue
        named += 1
        problems.append(
            Problem(
                file,
                "err.zones_duplicate" if duplicate else "warn.zones_overlap",
                column="geometry",
                rows=(int(rows.iloc[a]), int(rows.iloc[b])),
                row_kind="feature",
                severity=ERROR if duplicate else WARNING,
                ids=(ids[a], ids[b]),
                fields={
                    "a": ids[a],
                    "b": ids[b],
                    "area": f"{share_area / 1e6:,.3f}",
                    "share_a": f"{share_a:.0%}",
                    "share_b": f"{share_b:.0%}",
                    "customers": customers,
                    "others": sum(inside.values()),
                },
            )
        )
    hidden = int(keep.sum()) - named
    if hidden > 0:
        problems.add(file, "warn.zones_overlap_more", column="geometry", severity=WARNING, n=hidden)


def _located_xy(layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    if layer is None or not len(layer) or "located_by" not in layer:
        return np.empty(0), np.empty(0)
    by_coords = (layer["located_by"] == "coords").to_numpy()
    geoms = np.asarray(layer.geometry.values, dtype=object)[by_coords]
    geoms = geoms[~shapely.is_missing(geoms)]
    return shapely.get_x(geoms), shapely.get_y(geoms)


# ---------------------------------------------------------------- point layers


def check_values(
    layer: str,
    frame: pd.DataFrame,
    rows: pd.Series,
    file: str,
    problems: ProblemList,
    settings,
    *,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Dates, costs, leads, sales and ages of a typed point table; returns the frame
    with placeholder ages read as unknown."""
    p = settings.plausible
    labels = labels or {}
    out = frame
    now = pd.Timestamp(today(settings))
    earliest = pd.Timestamp(p.earliest_purchase if layer == "customers" else p.earliest_date)
    ahead = float(p.future_days.get(layer, 1.0))
    latest = now + pd.Timedelta(days=ahead)

    def flag(mask: pd.Series, key: str, column: str, severity=ERROR, **fields) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.add(
                file,
                key,
                column=labels.get(column, column),
                rows=rows[mask.to_numpy()],
                severity=severity,
                found=str(frame[column][mask].iloc[0])[:40],
                **fields,
            )

    for column in _DATES.get(layer, ()):
        if column not in frame or not pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        values = frame[column]
        flag(
            values > latest,
            "err.date_in_future",
            column,
            today=now.date().isoformat(),
            days=f"{ahead:g}",
        )
        flag(values < earliest, "err.date_too_early", column, earliest=earliest.date().isoformat())
    if layer == "events":
        for column, bounds in (
            ("cost", p.event_cost),
            ("leads", p.event_leads),
            ("sales", p.event_sales),
        ):
            if column in frame:
                values = pd.to_numeric(frame[column], errors="coerce")
                flag(
                    (values < bounds[0]) | (values > bounds[1]),
                    "err.value_implausible",
                    column,
                    expected=_range_text(*bounds),
                    setting=f"event_{column}",
                )
        if "leads" in frame and "sales" in frame:
            leads = pd.to_numeric(frame["leads"], errors="coerce")
            sales = pd.to_numeric(frame["sales"], errors="coerce")
            flag(sales > leads, "warn.sales_above_leads", "sales", severity=WARNING)
    if "age" in frame and frame["age"].notna().any():
        ages = pd.to_numeric(frame["age"], errors="coerce")
        low, high = p.age_usual
        odd = ages.notna() & ((ages < low) | (ages > high))
        if odd.any():
            flag(odd, "warn.age_unusual", "age", severity=WARNING, expected=_range_text(low, high))
            out = frame.copy()
            out["age"] = frame["age"].mask(odd)
    return out


def check_piles(
    layer: gpd.GeoDataFrame, rows: pd.Series, file: str, problems: ProblemList, settings
) -> None:
    """Many rows on one single coordinate: a geocoder's or DMS's default, not real places."""
    p = settings.plausible
    if not len(layer) or "located_by" not in layer:
        return
    by_coords = (layer["located_by"] == "coords").to_numpy()
    n = int(by_coords.sum())
    if n < p.pile_min_rows:
        return
    geoms = np.asarray(layer.geometry.values, dtype=object)
    x = np.round(shapely.get_x(geoms[by_coords]).astype("float64"), 6)
    y = np.round(shapely.get_y(geoms[by_coords]).astype("float64"), 6)
    keys = pd.Series(x + 1j * y)  # one hashable number per coordinate pair
    counts = keys.value_counts()
    top, count = counts.index[0], int(counts.iloc[0])
    if count < p.pile_min_rows or count <= p.pile_share * n:
        return
    on_top = np.zeros(len(layer), dtype=bool)
    on_top[np.flatnonzero(by_coords)[(keys == top).to_numpy()]] = True
    top = (top.real, top.imag)
    problems.add(
        file,
        "warn.points_piled",
        column="lon/lat",
        rows=rows[on_top],
        severity=WARNING,
        n=count,
        total=n,
        share=f"{count / n:.0%}",
        found=f"{top[0]:.6f}, {top[1]:.6f}",
    )


def local_crs_of(zones: gpd.GeoDataFrame):
    """The projected CRS distances and areas are measured in (UTM zone of the zones)."""
    return coords.local_crs(zones.geometry)

"""Zone scores: R value, r_score, density and income tiers.

The R value (R值) is the target model's price divided by the zone's
per-capita disposable income; the closer to ``target_r`` (3 by default,
seed 000), the easier local customers decide to buy. ``r_score`` is 1.0 at
the target and falls symmetrically in the ratio: R = 6 and R = 1.5 score
the same.

Examples
--------
>>> import pandas as pd
>>> r = r_value(pd.Series([40000.0, 20000.0, 80000.0]), price=120000)
>>> r.tolist()
[3.0, 6.0, 1.5]
>>> s = r_score(r, target_r=3.0, tolerance=0.35)
>>> float(s.iloc[0]), bool(s.iloc[1] == s.iloc[2])
(1.0, True)
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.i18n import t
from territory.inputs import coords

__all__ = ["area_km2", "density", "r_score", "r_value", "tier_labels", "tiers"]


def r_value(income: pd.Series, *, price: float) -> pd.Series:
    """Price / per-capita disposable income, per zone (NaN where income ≤ 0)."""
    income = income.astype("float64")
    return (price / income.where(income > 0)).rename("r_value")


def r_score(r: pd.Series, *, target_r: float, tolerance: float) -> pd.Series:
    """exp(-½ (ln(R / target_r) / tolerance)²): 1 at the target, symmetric in the ratio.

    ``tolerance`` is the log-ratio at which the score is e^-½ ≈ 0.61
    (0.35 ≈ a factor of 1.4 either way).
    """
    if target_r <= 0 or tolerance <= 0:
        raise ValueError("target_r and tolerance must be positive; check settings.scoring")
    z = np.log(r.astype("float64") / target_r) / tolerance
    return pd.Series(np.exp(-0.5 * z * z), index=r.index, name="r_score")


def area_km2(zones: gpd.GeoDataFrame) -> pd.Series:
    """Area of each zone in km², measured in the local UTM projection."""
    if len(zones) == 0:
        return pd.Series([], index=zones.index, dtype="float64", name="area_km2")
    bounds = zones.total_bounds
    crs = coords.local_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    return (zones.geometry.to_crs(crs).area / 1e6).rename("area_km2")


def density(population: pd.Series, area: pd.Series) -> pd.Series:
    """People per km² (NaN for zones without area)."""
    return (population.astype("float64") / area.where(area > 0)).rename("density")


def tiers(values: pd.Series, *, scheme: str = "Quantiles", k: int = 3) -> pd.Series:
    """Classify values into ``k`` tiers with mapclassify; 0 is the lowest tier.

    NaN stays NaN (nullable Int64). With fewer distinct values than ``k``,
    fewer tiers are used rather than failing.
    """
    if not 2 <= k <= 7:
        raise ValueError(
            f"tier count must be between 2 and 7, got {k}; check settings.scoring.tier_count"
        )
    import mapclassify  # imported here: it is slow to import and only tiers need it

    try:
        classifier = getattr(mapclassify, scheme)
    except AttributeError:
        raise ValueError(
            f"unknown tier scheme {scheme!r}; use a mapclassify scheme such as Quantiles, NaturalBreaks, EqualInterval"
        ) from None
    out = pd.Series(pd.NA, index=values.index, dtype="Int64", name="tier")
    ok = values.notna() & np.isfinite(values.astype("float64"))
    data = values[ok].astype("float64").to_numpy()
    if len(data) == 0:
        return out
    distinct = len(np.unique(data))
    if distinct < 2:
        out[ok] = 0
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns when it reduces k for ties
        result = classifier(data, k=min(k, distinct))
    out[ok] = result.yb.astype("int64")
    return out


_TIER_KEYS = {
    2: ("low", "high"),
    3: ("low", "mid", "high"),
    4: ("low", "mid_low", "mid_high", "high"),
    5: ("very_low", "low", "mid", "high", "very_high"),
    6: ("very_low", "low", "mid_low", "mid_high", "high", "very_high"),
    7: ("very_low", "low", "mid_low", "mid", "mid_high", "high", "very_high"),
}


def tier_labels(tier: pd.Series, *, k: int, lang: str = "zh") -> pd.Series:
    """Human labels (低/中/高 or low/mid/high) for tier numbers."""
    names = [t(f"tier.{key}", lang) for key in _TIER_KEYS[k]]
    return tier.map(
        lambda v: names[int(v)] if pd.notna(v) and int(v) < len(names) else None
    ).astype("str")

"""What today's customers look like (你今天客户的样子就是你未来客户的样子).

The profile of existing customers — age bands, gender, occupation, models,
purchase recency — overall and per zone, and the outreach hints it
implies (seed 000, example 2: buyers mostly aged 30–35 and male → go out
after working hours with family-economy talking points).

Examples
--------
>>> import pandas as pd
>>> customers = pd.DataFrame({"age": [31, 33, 34, 52], "gender": ["male", "male", "male", "female"],
...     "occupation": ["教师", "教师", "工程师", None], "model": ["A", "A", "B", "A"],
...     "zone_id": ["z1", "z1", "z2", "z2"], "purchase_date": pd.to_datetime(["2025-01-01"] * 4)})
>>> from territory.settings import Settings
>>> p = customer_profile(customers, settings=Settings().merged({"profile": {"min_customers": 1}}))
>>> p.count, round(p.share("gender", "male"), 2), round(p.share("age_band", "30-35"), 2)
(4, 0.75, 0.75)
>>> [h.code for h in p.hints()]
['after_work', 'family_economy']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from territory.i18n import t
from territory.settings import ProfileSettings, Settings

__all__ = ["AGE_BANDS", "CustomerProfile", "Hint", "customer_profile", "zone_profiles"]

#: Age bands (inclusive lower, exclusive upper). 30–35 is the seed's core band.
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("<25", 0, 25),
    ("25-29", 25, 30),
    ("30-35", 30, 36),
    ("36-40", 36, 41),
    ("41-50", 41, 51),
    ("51+", 51, 200),
)


def age_band(age: pd.Series) -> pd.Series:
    """The age band label of each age (NA when unknown)."""
    values = age.astype("float64")
    out = pd.Series(None, index=age.index, dtype="str")
    for name, low, high in AGE_BANDS:
        out[(values >= low) & (values < high)] = name
    return out


@dataclass(frozen=True)
class Hint:
    """An outreach hint derived from the profile, with the numbers behind it."""

    code: str
    share: float

    def text(self, lang: str = "zh") -> str:
        """The hint as a sentence in ``lang``."""
        return t(f"profile.hint.{self.code}", lang, share=f"{self.share:.0%}")


@dataclass(frozen=True)
class CustomerProfile:
    """Shares of each attribute among customers with that attribute known."""

    count: int
    distributions: dict[str, pd.Series] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)
    settings: ProfileSettings = field(default_factory=ProfileSettings)

    def share(self, attribute: str, value: str) -> float:
        """Share (0–1) of ``value`` among customers with ``attribute`` known."""
        dist = self.distributions.get(attribute)
        if dist is None or value not in dist.index:
            return 0.0
        return float(dist[value])

    def top(self, attribute: str, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most common values of ``attribute`` with their shares."""
        dist = self.distributions.get(attribute, pd.Series(dtype="float64"))
        ranked = dist.sort_values(ascending=False, kind="stable")
        return [(str(k), float(v)) for k, v in ranked.head(n).items()]

    def hints(self) -> list[Hint]:
        """Outreach hints this profile supports (empty when too few customers)."""
        s = self.settings
        if self.count < s.min_customers:
            return []
        out: list[Hint] = []
        working = sum(self.share("age_band", b) for b in ("25-29", "30-35", "36-40"))
        core = self.share("age_band", "30-35")
        male = self.share("gender", "male")
        older = self.share("age_band", "51+") + self.share("age_band", "41-50")
        young = self.share("age_band", "<25") + self.share("age_band", "25-29")
        if working >= s.working_age_share:
            out.append(Hint("after_work", working))
        if core >= s.core_band_share or (male >= s.male_share and working >= s.working_age_share):
            out.append(Hint("family_economy", max(core, male)))
        if older >= s.older_share:
            out.append(Hint("daytime_service", older))
        if young >= s.young_share:
            out.append(Hint("young_online", young))
        return out

    def to_dict(self, lang: str = "zh") -> dict:
        """Plain data for JSON and the app."""
        return {
            "count": self.count,
            "known": self.known,
            "distributions": {
                k: {str(i): float(v) for i, v in d.items()} for k, d in self.distributions.items()
            },
            "hints": [
                {"code": h.code, "share": h.share, "text": h.text(lang)} for h in self.hints()
            ],
        }


_ATTRIBUTES = ("age_band", "gender", "occupation", "model", "recency")


def _recency(purchase_date: pd.Series, as_of: pd.Timestamp | None) -> pd.Series:
    dates = pd.to_datetime(purchase_date)
    if as_of is None:
        as_of = dates.max() if dates.notna().any() else pd.Timestamp.today()
    months = (as_of - dates).dt.days / 30.44
    bands = pd.cut(months, [-np.inf, 3, 12, 36, np.inf], labels=["<3m", "3-12m", "1-3y", "3y+"])
    return bands.astype("str").where(months.notna(), None)


def customer_profile(
    customers: pd.DataFrame, *, as_of: pd.Timestamp | None = None, settings: Settings | None = None
) -> CustomerProfile:
    """Profile of ``customers`` (any frame with age, gender, occupation, model, purchase_date).

    ``recency`` bands count months since purchase up to ``as_of`` (default:
    the latest purchase), so the seed's 3-month referral window (seed 003)
    shows as ``<3m``.
    """
    settings = settings or Settings()
    frame = pd.DataFrame(index=customers.index)
    frame["age_band"] = age_band(customers["age"]) if "age" in customers else None
    for column in ("gender", "occupation", "model"):
        frame[column] = customers.get(column, None)
    frame["recency"] = (
        _recency(customers["purchase_date"], as_of) if "purchase_date" in customers else None
    )
    distributions: dict[str, pd.Series] = {}
    known: dict[str, int] = {}
    for column in _ATTRIBUTES:
        values = frame[column].dropna()
        known[column] = len(values)
        if len(values):
            counts = values.value_counts()
            if column == "age_band":
                counts = counts.reindex([b for b, _, _ in AGE_BANDS], fill_value=0)
            distributions[column] = (counts / counts.sum()).rename(column)
    return CustomerProfile(
        count=len(customers), distributions=distributions, known=known, settings=settings.profile
    )


def zone_profiles(
    customers: pd.DataFrame, *, as_of: pd.Timestamp | None = None, settings: Settings | None = None
) -> dict[str, CustomerProfile]:
    """A profile per zone_id (customers without a zone are left out)."""
    located = customers[customers["zone_id"].notna()]
    return {
        str(zone): customer_profile(group, as_of=as_of, settings=settings)
        for zone, group in located.groupby("zone_id", sort=True)
    }

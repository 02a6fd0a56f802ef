"""What past outreach events say: cost per lead and per sale, by format and zone.

Figures from the workspace's own events are shrunk towards the playbook's
priors (seed 001's case table) in proportion to how many events back them:
with ``n`` events and a prior worth ``m`` events, the estimate is
``(n × observed + m × prior) / (n + m)``. With no history the prior stands.

Examples
--------
>>> import pandas as pd
>>> from territory.outreach.playbook import load_playbook
>>> events = pd.DataFrame({"format": ["flyers", "flyers"], "zone_id": ["z1", "z2"],
...     "cost": [3000.0, 5000.0], "leads": [100.0, 100.0], "sales": [4.0, 2.0],
...     "date": pd.to_datetime(["2026-05-01", "2026-06-01"])})
>>> h = EventHistory(events, load_playbook())
>>> round(h.format_stats("flyers", "commercial").cost_per_lead, 1)   # 40 observed, 153 prior, n=2, m=2
96.5
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.outreach.playbook import Playbook
from territory.settings import HistorySettings

__all__ = ["EventHistory", "FormatStats"]


@dataclass(frozen=True)
class FormatStats:
    """Per-event expectations for a format (shrunk towards the prior)."""

    format: str
    events: int
    leads_per_event: float
    cost_per_event: float
    cost_per_lead: float
    close_rate: float

    @property
    def cost_per_sale(self) -> float:
        """Cost per deal (inf when the close rate is 0)."""
        return self.cost_per_lead / self.close_rate if self.close_rate > 0 else float("inf")

    @property
    def sales_per_event(self) -> float:
        """Expected deals per event."""
        return self.leads_per_event * self.close_rate


class EventHistory:
    """Statistics of past events for ranking and plans."""

    def __init__(
        self, events: pd.DataFrame, playbook: Playbook, *, settings: HistorySettings | None = None
    ) -> None:
        self.events = events
        self.playbook = playbook
        self.settings = settings or HistorySettings()
        usable = events[events["format"].notna()] if len(events) else events
        self._by_format = {str(k): g for k, g in usable.groupby("format")} if len(usable) else {}
        self._format_mean_leads = {
            code: float(group["leads"].astype("float64").mean())
            for code, group in self._by_format.items()
        }
        # Memos: ranking asks the same (format, zone type) and zone thousands of times.
        self._stats: dict[tuple[str, str], FormatStats] = {}
        self._zone_factors: dict[str, float] = {}
        self._by_zone = (
            {str(k): g for k, g in pd.DataFrame(events).groupby("zone_id")} if len(events) else {}
        )

    def format_stats(self, fmt: str, zone_type: str) -> FormatStats:
        """Expected per-event figures of ``fmt`` used in a zone of ``zone_type``."""
        key = (fmt, zone_type)
        if key not in self._stats:
            self._stats[key] = self._format_stats(fmt, zone_type)
        return self._stats[key]

    def _format_stats(self, fmt: str, zone_type: str) -> FormatStats:
        prior = self.playbook.prior(zone_type, fmt)
        m = self.settings.prior_events
        group = self._by_format.get(fmt)
        n = 0 if group is None else len(group)
        p_leads = float(prior["leads_per_event"])
        p_cpl = float(prior["cost_per_lead"])
        p_close = float(prior["close_rate"])
        if n == 0:
            leads, cpl, close = p_leads, p_cpl, p_close
        else:
            g_leads = group["leads"].astype("float64")
            g_cost = group["cost"].astype("float64")
            g_sales = group["sales"].astype("float64")
            obs_leads = float(g_leads.mean()) if g_leads.notna().any() else p_leads
            total_leads = float(g_leads.sum())
            obs_cpl = (
                float(g_cost.sum() / total_leads)
                if total_leads > 0 and g_cost.notna().any()
                else p_cpl
            )
            obs_close = (
                float(g_sales.sum() / total_leads)
                if total_leads > 0 and g_sales.notna().any()
                else p_close
            )
            leads = (n * obs_leads + m * p_leads) / (n + m)
            cpl = (n * obs_cpl + m * p_cpl) / (n + m)
            close = (n * obs_close + m * p_close) / (n + m)
        return FormatStats(
            format=fmt,
            events=n,
            leads_per_event=leads,
            cost_per_event=leads * cpl,
            cost_per_lead=cpl,
            close_rate=close,
        )

    def zone_factor(self, zone_id: str) -> float:
        """How a zone's past events did against their format's expectation.

        1.0 with no history; a zone whose events brought twice the leads of
        their format's average gets up to ``max_zone_factor``.
        """
        if str(zone_id) not in self._by_zone:
            return 1.0
        if zone_id not in self._zone_factors:
            self._zone_factors[zone_id] = self._zone_factor(zone_id)
        return self._zone_factors[zone_id]

    def _zone_factor(self, zone_id: str) -> float:
        own = self._by_zone[str(zone_id)]
        if own.empty or own["leads"].isna().all():
            return 1.0
        ratios = []
        for fmt, leads in zip(own["format"], own["leads"], strict=True):
            mean = self._format_mean_leads.get(str(fmt))
            if mean is None or pd.isna(leads) or not mean > 0:
                continue
            ratios.append(float(leads) / mean)
        if not ratios:
            return 1.0
        n = len(ratios)
        m = self.settings.prior_events
        shrunk = (n * float(np.mean(ratios)) + m * 1.0) / (n + m)
        return float(
            np.clip(shrunk, 1 / self.settings.max_zone_factor, self.settings.max_zone_factor)
        )

    def last_visit(self, zone_id: str, *, before: dt.date) -> dt.date | None:
        """Date of the latest event in ``zone_id`` before ``before``, or None."""
        if not len(self.events):
            return None
        own = self.events[
            (self.events["zone_id"] == zone_id) & (self.events["date"] < pd.Timestamp(before))
        ]
        return None if own.empty else own["date"].max().date()

    def last_visits(self, *, before: dt.date) -> pd.Series:
        """Latest event date per zone_id before ``before``."""
        if not len(self.events):
            return pd.Series(dtype="datetime64[ns]")
        past = self.events[self.events["date"] < pd.Timestamp(before)]
        return past.groupby("zone_id")["date"].max()

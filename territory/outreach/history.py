"""What past outreach events say, read by ranking, plans and print.

:class:`EventHistory` is the one object through which the outreach floor
reads the workspace's track record:

* :meth:`EventHistory.format_stats` — the **learned** per-event figures of a
  format in a zone type (leads, close rate, cost, hence cost per lead, cost
  per sale and sales per yuan), estimated from recorded outcomes with
  shrinkage towards the playbook's priors (:mod:`territory.leads.learning`,
  docs/learning.md), with the number of events behind them;
* :meth:`EventHistory.zone_factor` — how a zone's own events did against
  their format's average;
* :meth:`EventHistory.last_visits` — when the team was last in each zone.

Build it with :meth:`EventHistory.for_workspace` so events are placed in
their zones' types, leads are attributed from cards by ``event_id`` and
young events count only the sales they have had time to make.

Examples
--------
>>> import pandas as pd
>>> from territory.outreach.playbook import load_playbook
>>> events = pd.DataFrame({"format": ["flyers", "flyers"], "zone_id": ["z1", "z2"],
...     "cost": [3000.0, 5000.0], "leads": [100.0, 100.0], "sales": [4.0, 2.0],
...     "date": pd.to_datetime(["2026-05-01", "2026-06-01"])})
>>> h = EventHistory(events, load_playbook(), as_of="2026-11-01")
>>> stats = h.format_stats("flyers", "commercial")
>>> stats.events, stats.leads_observed, stats.sales_observed
(2, 200.0, 6.0)
>>> prior = h.prior_stats("flyers", "commercial")
>>> prior.leads_per_event < stats.leads_per_event < 100   # between the prior (40) and the data
True
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from dataclasses import dataclass

import pandas as pd

from territory.leads.learning import Estimate, Learned, Prior, event_outcomes, fit_learning
from territory.outreach.playbook import Playbook
from territory.settings import HistorySettings

__all__ = ["EventHistory", "FormatStats"]


@dataclass(frozen=True)
class FormatStats:
    """Expected per-event figures of a format in a zone type, and what is behind them.

    ``events`` is the number of recorded events behind the figures (0: the
    playbook's prior stands). ``verdict`` compares the learned sales per
    yuan with the prior's: ``"up"`` (升权), ``"down"`` (降权), ``"par"`` or
    ``"prior"`` (no events).
    """

    format: str
    events: int
    leads_per_event: float
    cost_per_event: float
    cost_per_lead: float
    close_rate: float
    zone_type: str = ""
    #: Total leads and sales of the events behind the figures.
    leads_observed: float = 0.0
    sales_observed: float = 0.0
    #: Events whose sales are known; of them, those still inside the sales window.
    sales_events: int = 0
    maturing: int = 0
    #: Events whose cost is known, and what they cost in all.
    cost_events: int = 0
    cost_observed: float = 0.0
    #: The prior's expected sales per yuan (for the verdict).
    prior_sales_per_yuan: float = math.nan
    verdict: str = "prior"

    @property
    def cost_per_sale(self) -> float:
        """Cost per deal (inf when no deal is expected)."""
        sales = self.sales_per_event
        return self.cost_per_event / sales if sales > 0 else math.inf

    @property
    def sales_per_event(self) -> float:
        """Expected deals per event."""
        return self.leads_per_event * self.close_rate

    @property
    def sales_per_yuan(self) -> float:
        """Expected deals per CNY: the economic term of the ranking."""
        if self.cost_per_event > 0:
            return self.sales_per_event / self.cost_per_event
        return math.inf if self.sales_per_event > 0 else 0.0

    @classmethod
    def from_estimate(cls, est: Estimate, *, verdict_ratio: float) -> FormatStats:
        """From the learning model's estimate."""
        prior_spy = est.prior.sales_per_yuan
        if est.events == 0 and est.sales_events == 0:
            verdict = "prior"
        elif est.sales_per_yuan > verdict_ratio * prior_spy:
            verdict = "up"
        elif est.sales_per_yuan * verdict_ratio < prior_spy:
            verdict = "down"
        else:
            verdict = "par"
        return cls(
            format=est.format,
            events=est.events,
            leads_per_event=est.leads_per_event,
            cost_per_event=est.cost_per_event,
            cost_per_lead=est.cost_per_lead,
            close_rate=est.close_rate,
            zone_type=est.zone_type,
            leads_observed=est.leads_observed,
            sales_observed=est.sales_observed,
            sales_events=est.sales_events,
            maturing=est.maturing,
            cost_events=est.cost_events,
            cost_observed=est.cost_observed,
            prior_sales_per_yuan=prior_spy,
            verdict=verdict,
        )


#: The last few learned models: re-ranking after a weight change reuses the fit. Keyed by the
#: identity of the events, cards and zones tables (checked through weak references, so a
#: replaced table is a miss), the date, the settings and the playbook's priors.
_LEARNED: dict[tuple, tuple[tuple, pd.DataFrame, Learned]] = {}


def _learning(events, cards, zones, as_of, settings: HistorySettings, playbook: Playbook, prior_of):
    """Outcomes and fitted model for these tables (memoised per table identity)."""
    tables = (events, cards, zones)
    priors = repr(
        (
            sorted(playbook.data.get("priors", {}).items()),
            sorted(playbook.data.get("format_priors", {}).items()),
        )
    )
    key = (*(id(x) for x in tables), str(as_of), settings, priors)
    hit = _LEARNED.get(key)
    if hit is not None and all(
        (ref() is table) if ref is not None else table is None
        for ref, table in zip(hit[0], tables, strict=True)
    ):
        return hit[1], hit[2]
    zone_types = (
        dict(zip(zones["zone_id"], zones["zone_type"], strict=True))
        if zones is not None and len(zones)
        else None
    )
    outcomes = event_outcomes(
        events,
        cards=cards,
        zone_types=zone_types,
        as_of=as_of,
        window_days=settings.sales_window_days,
    )
    learned = fit_learning(outcomes, prior_of, settings=settings)
    try:
        refs = tuple(None if t is None else weakref.ref(t) for t in tables)
    except TypeError:  # a table that cannot be referenced weakly is not kept
        return outcomes, learned
    for stale in [
        k for k, v in _LEARNED.items() if any(r is not None and r() is None for r in v[0])
    ]:
        del _LEARNED[stale]
    if len(_LEARNED) >= 8:
        _LEARNED.clear()
    _LEARNED[key] = (refs, outcomes, learned)
    return outcomes, learned


class EventHistory:
    """Statistics of past events for ranking, plans and print.

    Parameters
    ----------
    events
        The workspace's events (``ws.events``).
    playbook
        Its playbook: the priors.
    settings
        ``settings.history``.
    zones
        The zones (``zone_id``, ``zone_type``): an event counts for its
        zone's type; without them, for its format's own zone type.
    cards
        The cards: leads and sales attributed to events by ``event_id``.
    as_of
        The date the figures are for (the outing being planned): later
        events are ignored and younger ones count their sales as partial.
        Default: the day after the latest event or card.
    """

    def __init__(
        self,
        events: pd.DataFrame,
        playbook: Playbook,
        *,
        settings: HistorySettings | None = None,
        zones: pd.DataFrame | None = None,
        cards: pd.DataFrame | None = None,
        as_of: dt.date | str | None = None,
    ) -> None:
        self.events = events
        self.playbook = playbook
        self.settings = settings or HistorySettings()
        self.outcomes, self._learned = _learning(
            events, cards, zones, as_of, self.settings, playbook, self._prior
        )
        # Memos: ranking asks the same (format, zone type) and zone thousands of times.
        self._stats: dict[tuple[str, str], FormatStats] = {}
        self._zone_factors: dict[str, float] | None = None
        self._visits = self._visit_table(events)

    @classmethod
    def for_workspace(
        cls,
        ws,
        playbook: Playbook,
        *,
        settings: HistorySettings | None = None,
        as_of: dt.date | None = None,
    ) -> EventHistory:
        """The history of a loaded workspace, for an outing on ``as_of``."""
        return cls(
            ws.events,
            playbook,
            settings=settings or ws.settings.history,
            zones=ws.zones,
            cards=ws.cards,
            as_of=as_of,
        )

    @property
    def learned(self) -> Learned:
        """The fitted learning model."""
        return self._learned

    def _prior(self, fmt: str, zone_type: str) -> Prior:
        return Prior.of(self.playbook.prior(zone_type, fmt))

    def prior_stats(self, fmt: str, zone_type: str) -> FormatStats:
        """The playbook's prior figures of ``fmt`` in ``zone_type`` (no learning)."""
        prior = self._prior(fmt, zone_type)
        return FormatStats(
            format=fmt,
            events=0,
            leads_per_event=prior.leads_per_event,
            cost_per_event=prior.cost_per_event,
            cost_per_lead=prior.cost_per_lead,
            close_rate=prior.close_rate,
            zone_type=zone_type,
            prior_sales_per_yuan=prior.sales_per_yuan,
        )

    def format_stats(self, fmt: str, zone_type: str) -> FormatStats:
        """Expected per-event figures of ``fmt`` used in a zone of ``zone_type``."""
        key = (fmt, zone_type)
        if key not in self._stats:
            if (fmt, zone_type) in self.learned.cells:
                est = self.learned.estimate(fmt, zone_type, self._prior(fmt, zone_type))
                stats = FormatStats.from_estimate(est, verdict_ratio=self.settings.verdict_ratio)
            else:
                stats = self.prior_stats(fmt, zone_type)
            self._stats[key] = stats
        return self._stats[key]

    def learned_table(self, *, formats: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
        """Every cell with recorded events (or every format of ``formats``), one row each.

        ``formats`` maps zone types to their formats (e.g. the playbook's) to
        list prior-only cells too. Columns: format, zone_type, events,
        leads_observed, sales_observed, leads_per_event, close_rate,
        cost_per_event, cost_per_lead, cost_per_sale, sales_per_yuan,
        prior_cost_per_sale, verdict.
        """
        keys = set(self.learned.cells)
        for zone_type, codes in (formats or {}).items():
            keys |= {(f, zone_type) for f in codes}
        rows = []
        for fmt, zone_type in sorted(keys, key=lambda k: (k[1], k[0])):
            s = self.format_stats(fmt, zone_type)
            prior = self.prior_stats(fmt, zone_type)
            rows.append(
                {
                    "format": fmt,
                    "zone_type": zone_type,
                    "events": s.events,
                    "leads_observed": s.leads_observed,
                    "sales_observed": s.sales_observed,
                    "leads_per_event": s.leads_per_event,
                    "close_rate": s.close_rate,
                    "cost_per_event": s.cost_per_event,
                    "cost_per_lead": s.cost_per_lead,
                    "cost_per_sale": s.cost_per_sale,
                    "sales_per_yuan": s.sales_per_yuan,
                    "prior_cost_per_sale": prior.cost_per_sale,
                    "verdict": s.verdict,
                }
            )
        return pd.DataFrame(rows)

    def zone_factor(self, zone_id: str) -> float:
        """How a zone's past events did against their format's expectation.

        1.0 with no history; a zone whose events brought twice the leads of
        their format's average gets up to ``max_zone_factor``: the mean
        ratio of its events' leads to their format's mean, shrunk towards 1
        as if ``prior_events`` more events had been average.
        """
        if self._zone_factors is None:
            self._zone_factors = self._all_zone_factors()
        return self._zone_factors.get(str(zone_id), 1.0)

    def _all_zone_factors(self) -> dict[str, float]:
        o = self.outcomes
        if not len(o):
            return {}
        o = o[o["leads"].notna() & o["zone_id"].notna()]
        mean = o.groupby("format")["leads"].transform("mean")
        ratio = (o["leads"] / mean).where(mean > 0)
        ok = ratio.notna()
        per_zone = ratio[ok].groupby(o.loc[ok, "zone_id"].astype(str)).agg(["size", "mean"])
        n, m = per_zone["size"], self.settings.prior_events
        shrunk = (n * per_zone["mean"] + m) / (n + m)
        cap = self.settings.max_zone_factor
        return shrunk.clip(1 / cap, cap).astype(float).to_dict()

    @staticmethod
    def _visit_table(events: pd.DataFrame) -> pd.DataFrame:
        """Events that put the team in a zone (all but cancelled ones): zone_id, date."""
        if events is None or not len(events):
            return pd.DataFrame(
                {"zone_id": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]")}
            )
        keep = (
            events["status"].astype("string").fillna("done").ne("cancelled")
            if "status" in events
            else pd.Series(True, index=events.index)
        )
        return pd.DataFrame(
            {
                "zone_id": events.loc[keep, "zone_id"],
                "date": pd.to_datetime(events.loc[keep, "date"]),
            }
        )

    def last_visit(self, zone_id: str, *, before: dt.date) -> dt.date | None:
        """Date of the latest (not cancelled) event in ``zone_id`` before ``before``, or None."""
        v = self._visits
        own = v[(v["zone_id"] == zone_id) & (v["date"] < pd.Timestamp(before))]
        return None if own.empty else own["date"].max().date()

    def last_visits(self, *, before: dt.date) -> pd.Series:
        """Latest (not cancelled) event date per zone_id before ``before``."""
        v = self._visits
        if not len(v):
            return pd.Series(dtype="datetime64[ns]")
        past = v[v["date"] < pd.Timestamp(before)]
        return past.groupby("zone_id")["date"].max()

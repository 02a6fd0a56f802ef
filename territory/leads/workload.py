"""The follow-up workload of each zone: what a consultant covering it will have to do each month.

Seed 001's cadence says how often an open lead must be contacted: the day
after it is registered, then at least every 2 days for H, 3 for A, 7 for B
and 15 for C (``settings.coverage.follow_up_days``; a lead without a grade
follows ``settings.leads.ungraded_as``). A zone's **workload** (expected
follow-up contacts per month) is

* the contacts its open leads need: Σ 30.44 ÷ interval(grade), plus
* the contacts of the leads its white space should bring: the customers the
  zone is confidently missing against look-alike zones (``shortfall`` of the
  white-space model) need ``shortfall ÷ close rate`` leads, spread over
  ``territories.whitespace_months``; each new lead costs its first contact
  and then the mean monthly contacts of today's open leads.

The close rate is the workspace's own (won ÷ closed leads) once it has
``territories.min_closed_leads`` closed leads, else
``territories.default_close_rate`` (seed 004: 13 %, the national showroom
average).

Examples
--------
>>> import pandas as pd
>>> leads = pd.DataFrame({"zone_id": ["a", "a", "b", "b"], "grade": ["H", "C", None, "A"],
...                       "status": ["open", "open", "open", "won"]})
>>> table = zone_workload(["a", "b", "c"], leads)
>>> table["open_leads"].tolist()
[2, 1, 0]
>>> table["followup_contacts"].round(1).tolist()  # H: 30.44/2, C and ungraded: 30.44/15
[17.2, 2.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from territory.settings import Settings

__all__ = ["close_rate", "zone_workload"]

#: Days in an average month (365.25 / 12).
DAYS_PER_MONTH = 30.4375


def close_rate(leads: pd.DataFrame, *, settings: Settings | None = None) -> tuple[float, str]:
    """The share of closed leads that were won, and where it comes from (``workspace``/``default``)."""
    s = (settings or Settings()).territories
    status = leads["status"] if "status" in leads else pd.Series([], dtype=object)
    won = int(status.eq("won").sum())
    closed = won + int(status.eq("lost").sum())
    if closed >= s.min_closed_leads and won > 0:
        return won / closed, "workspace"
    return float(s.default_close_rate), "default"


def zone_workload(
    zone_ids: Sequence[str],
    leads: pd.DataFrame,
    *,
    shortfall: pd.Series | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Open leads and expected follow-up contacts per month of each zone.

    Parameters
    ----------
    zone_ids
        The zones, in the order of the result.
    leads
        One row per lead with ``zone_id``, ``grade`` and ``status``
        (``territory.leads.lifecycle.lead_table``).
    shortfall
        Customers each zone is confidently missing (white-space model),
        indexed by zone id; None or NaN counts as none.
    settings
        Cadence (``coverage``, ``leads.ungraded_as``) and ``territories``.

    Returns
    -------
    DataFrame
        Indexed by zone id: ``open_leads``, ``followup_contacts`` (per month,
        from open leads), ``whitespace_leads`` (expected new leads per month),
        ``workload`` (contacts per month, both together).
    """
    settings = settings or Settings()
    days = {g: float(v) for g, v in settings.coverage.follow_up_days.items()}
    slowest = days.get(settings.leads.ungraded_as, max(days.values()))
    index = pd.Index([str(z) for z in zone_ids], name="zone_id")
    open_ = leads[leads["status"].eq("open") & leads["zone_id"].notna()] if len(leads) else leads
    if len(open_):
        interval = open_["grade"].map(days).fillna(slowest).astype("float64")
        per_lead = DAYS_PER_MONTH / interval
        zone = open_["zone_id"].astype(str)
        count = zone.value_counts().reindex(index, fill_value=0)
        contacts = per_lead.groupby(zone.to_numpy()).sum().reindex(index, fill_value=0.0)
        mean_contacts = float(per_lead.mean())
    else:
        count = pd.Series(0, index=index)
        contacts = pd.Series(0.0, index=index)
        mean_contacts = DAYS_PER_MONTH / slowest
    rate, _ = close_rate(leads, settings=settings)
    missing = (
        pd.Series(shortfall, dtype="float64").reindex(index).fillna(0.0).clip(lower=0.0)
        if shortfall is not None
        else pd.Series(0.0, index=index)
    )
    new_leads = missing / max(rate, 1e-9) / max(settings.territories.whitespace_months, 1e-9)
    out = pd.DataFrame(
        {
            "open_leads": count.astype("int64"),
            "followup_contacts": contacts.astype("float64"),
            "whitespace_leads": new_leads.astype("float64"),
        },
        index=index,
    )
    out["workload"] = out["followup_contacts"] + out["whitespace_leads"] * (1.0 + mean_contacts)
    return out.replace([np.inf, -np.inf], np.nan).fillna(0.0).astype({"open_leads": "int64"})

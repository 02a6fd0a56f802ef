"""What recorded outings teach: leads per event, close rate and cost per sale.

Every done outreach event of the workspace is one observation of its
**cell**, the pair (format, zone type): how many leads it brought, how many of
them bought within ``sales_window_days``, and what it cost. The figures come
from the events file's totals and, where cards carry an ``event_id``, from the
cards themselves (an A-card and the same person's later deposit card are one
lead: same ``lead_id``, else same normalised phone). Each cell's figures are
then **shrunk towards the playbook's prior** (seed 001's case table) by an
empirical-Bayes model whose hyper-parameters are fitted across all cells of
the workspace (docs/learning.md says why this model):

* leads per event: a gamma–Poisson (negative-binomial) spread of events
  around the cell's mean, the cell's mean log-normal around the prior;
* close rate: beta–binomial, the cell's rate beta-distributed around the
  prior's rate;
* cost per event: the workspace's own mean, the prior counting as
  ``cost_prior_events`` events.

With no recorded outings every figure is the prior's; as events of a cell
accumulate, its figures move towards what they show.

This module is pure computation on plain tables: the playbook's priors come
in as a callable, so the outreach floor (``territory.outreach.history``)
reads this one and not the reverse.

Examples
--------
>>> import pandas as pd
>>> events = pd.DataFrame({"event_id": ["E1", "E2"], "format": ["flyers", "flyers"],
...     "zone_id": ["z1", "z1"], "date": pd.to_datetime(["2026-03-01", "2026-04-01"]),
...     "cost": [3000.0, 3000.0], "leads": [100.0, 80.0], "sales": [0.0, 0.0]})
>>> out = event_outcomes(events, zone_types={"z1": "commercial"}, as_of="2026-11-01")
>>> out[["event_id", "zone_type", "leads", "sales", "trials"]].to_dict("records")[1]
{'event_id': 'E2', 'zone_type': 'commercial', 'leads': 80.0, 'sales': 0.0, 'trials': 80.0}
>>> prior = Prior(leads_per_event=40, close_rate=0.03, cost_per_lead=150)
>>> model = fit_learning(out, lambda fmt, zone_type: prior)
>>> est = model.estimate("flyers", "commercial", prior)
>>> est.events, est.leads_observed, est.sales_observed
(2, 180.0, 0.0)
>>> est.close_rate < prior.close_rate < 0.05 and est.leads_per_event > prior.leads_per_event
True
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from territory.settings import HistorySettings
from territory.vocab import FORMATS_BY_ZONE_TYPE

__all__ = [
    "Estimate",
    "Hyper",
    "Learned",
    "Prior",
    "event_outcomes",
    "fit_learning",
    "home_zone_type",
]

#: Standard-normal grid on which a cell's mean leads per event is integrated out.
_Z = np.linspace(-8.0, 8.0, 321)
_LOG_PHI = -0.5 * _Z**2
#: Bounds of the fitted hyper-parameters (log scale): sizes 0.2–1,000, spreads 0.02–3,
#: close-rate strengths 2–100,000 leads.
_LOG_K = (math.log(0.2), math.log(1000.0))
_LOG_TAU = (math.log(0.02), math.log(3.0))
_LOG_KAPPA = (math.log(2.0), math.log(1e5))


@dataclass(frozen=True)
class Prior:
    """A format's prior per-event figures (the playbook's, after seed 001)."""

    leads_per_event: float
    close_rate: float
    cost_per_lead: float

    @property
    def cost_per_event(self) -> float:
        """Cost of one event: leads × cost per lead."""
        return self.leads_per_event * self.cost_per_lead

    @property
    def sales_per_yuan(self) -> float:
        """Expected sales per CNY spent."""
        return self.close_rate / self.cost_per_lead if self.cost_per_lead > 0 else math.inf

    @classmethod
    def of(cls, figures: Mapping[str, float]) -> Prior:
        """From a playbook ``[priors]`` entry."""
        return cls(
            leads_per_event=float(figures["leads_per_event"]),
            close_rate=float(figures["close_rate"]),
            cost_per_lead=float(figures["cost_per_lead"]),
        )


@dataclass(frozen=True)
class Hyper:
    """The fitted hyper-parameters, and how many cells informed each."""

    #: Negative-binomial size of leads per event within a cell (larger: events alike).
    leads_dispersion: float
    #: Sd of log(cell mean leads / prior leads) across cells.
    leads_spread: float
    #: How many leads the prior close rate is worth (beta concentration).
    close_strength: float
    #: Cells with leads data, and with sales data, behind the fit.
    leads_cells: int = 0
    sales_cells: int = 0


@dataclass(frozen=True)
class Estimate:
    """The learned per-event figures of one format × zone type, with what is behind them."""

    format: str
    zone_type: str
    prior: Prior
    #: Events whose leads are known, and their total leads.
    events: int
    leads_observed: float
    #: Events whose sales are known, their total sales, and the leads at risk behind them.
    sales_events: int
    sales_observed: float
    trials: float
    #: Events younger than the sales window (their sales are still coming in).
    maturing: int
    #: Events whose cost is known, and what they cost in all.
    cost_events: int
    cost_observed: float
    leads_per_event: float
    close_rate: float
    cost_per_event: float

    @property
    def cost_per_lead(self) -> float:
        """Cost per lead (inf with no expected leads)."""
        return self.cost_per_event / self.leads_per_event if self.leads_per_event > 0 else math.inf

    @property
    def sales_per_event(self) -> float:
        """Expected sales per event."""
        return self.leads_per_event * self.close_rate

    @property
    def cost_per_sale(self) -> float:
        """Cost per sale (inf with no expected sales)."""
        sales = self.sales_per_event
        return self.cost_per_event / sales if sales > 0 else math.inf

    @property
    def sales_per_yuan(self) -> float:
        """Expected sales per CNY spent: the ranking's economic term."""
        if self.cost_per_event > 0:
            return self.sales_per_event / self.cost_per_event
        return math.inf if self.sales_per_event > 0 else 0.0


@dataclass
class Learned:
    """Per-cell data and the fitted hyper-parameters; :meth:`estimate` gives the figures."""

    hyper: Hyper
    cells: dict[tuple[str, str], dict[str, float]]
    settings: HistorySettings = field(default_factory=HistorySettings)

    def estimate(self, fmt: str, zone_type: str, prior: Prior) -> Estimate:
        """The learned figures of ``fmt`` in zones of ``zone_type`` (the prior's with no data)."""
        c = self.cells.get((fmt, zone_type))
        s = self.settings
        if c is None:
            return Estimate(
                fmt, zone_type, prior, 0, 0.0, 0, 0.0, 0.0, 0, 0, 0.0, *_prior_figures(prior)
            )
        h = self.hyper
        leads = (
            float(
                _posterior_mean_leads(
                    np.array([c["n"]]),
                    np.array([c["leads"]]),
                    np.array([math.log(prior.leads_per_event)]),
                    h.leads_dispersion,
                    h.leads_spread,
                )[0]
            )
            if c["n"] > 0
            else prior.leads_per_event
        )
        a = h.close_strength * prior.close_rate
        close = (a + c["sales"]) / (h.close_strength + c["trials"])
        w = s.cost_prior_events
        cost = (c["cost"] + w * prior.cost_per_event) / (c["n_cost"] + w)
        return Estimate(
            format=fmt,
            zone_type=zone_type,
            prior=prior,
            events=int(c["n"]),
            leads_observed=float(c["leads"]),
            sales_events=int(c["n_sales"]),
            sales_observed=float(c["sales"]),
            trials=float(c["trials"]),
            maturing=int(c["maturing"]),
            cost_events=int(c["n_cost"]),
            cost_observed=float(c["cost"]),
            leads_per_event=leads,
            close_rate=float(close),
            cost_per_event=float(cost),
        )


def _prior_figures(prior: Prior) -> tuple[float, float, float]:
    return prior.leads_per_event, prior.close_rate, prior.cost_per_event


def home_zone_type(fmt: str) -> str:
    """The zone type a format belongs to in the contract (``other`` if none)."""
    return next((zt for zt, codes in FORMATS_BY_ZONE_TYPE.items() if fmt in codes), "other")


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column as an object array with None for blanks (None if there is no column)."""
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].to_numpy(dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = ~pd.isna(values)
    if present.any():
        text = np.array([str(v).strip() for v in values[present]], dtype=object)
        keep = (text != "") & (text != "nan") & (text != "<NA>")
        idx = np.flatnonzero(present)
        out[idx[keep]] = text[keep]
    return out


def _lead_keys(cards: pd.DataFrame) -> np.ndarray:
    """One key per person's lead: ``lead_id``, else the normalised phone, else the card.

    A loaded workspace has ``lead_id`` filled on every card by
    :mod:`territory.inputs.leadlink` (the contract's rule); the phone and
    card fallbacks serve plain tables.
    """
    lead = _text(cards, "lead_id")
    missing = lead == None  # noqa: E711 (element-wise)
    keys = np.where(missing, None, "lead:" + lead.astype(str)).astype(object)
    if not missing.any():
        return keys
    if "phone" in cards:
        phone = _text(cards, "phone")
        use = missing & (phone != None)  # noqa: E711
        if use.any():
            norm = (
                pd.Series(phone[use], dtype=object)
                .str.replace(r"[\s\-]", "", regex=True)
                .str.replace(r"^\+?86(?=1\d{10}$)", "", regex=True)
            )
            keys[use] = ("tel:" + norm).to_numpy(object)
            missing &= ~use
    rows = np.flatnonzero(missing)
    keys[rows] = [f"\x00row{i}" for i in rows]
    return keys


def card_outcomes(
    cards: pd.DataFrame | None, *, as_of: pd.Timestamp, window_days: int
) -> pd.DataFrame:
    """Leads and sales per ``event_id`` from cards; empty when no card names an event.

    A lead belongs to the event named on any of its cards (the earliest
    such card's). It is a sale of that event when one of its cards is a
    deposit card, or is won (on its ``closed_date`` when it has one), dated
    from the lead's first card of the event up to ``window_days`` later and
    not after ``as_of``.
    """
    empty = pd.DataFrame(
        {"leads": pd.Series(dtype="float64"), "sales": pd.Series(dtype="float64")}
    ).rename_axis("event_id")
    if cards is None or not len(cards) or "event_id" not in cards:
        return empty
    event = _text(cards, "event_id")
    tagged = event != None  # noqa: E711
    if not tagged.any():
        return empty
    keys, _ = pd.factorize(_lead_keys(cards))  # one integer per lead
    # Only the people with a card naming an event matter from here on.
    mine = np.isin(keys, np.unique(keys[tagged]))
    keys, event, tagged = keys[mine], event[mine], tagged[mine]
    date = pd.to_datetime(cards["date"].to_numpy()[mine], errors="coerce")
    kind = cards["card_type"].to_numpy(dtype=object)[mine]
    deposit = kind == "deposit"
    status = cards["status"].to_numpy(dtype=object)[mine] if "status" in cards else None
    won = (status == "won") if status is not None else np.zeros(len(keys), dtype=bool)
    closed = (
        pd.to_datetime(cards["closed_date"].to_numpy()[mine], errors="coerce")
        if "closed_date" in cards
        else pd.DatetimeIndex([pd.NaT] * len(keys))
    )
    # A won card without a deposit card sold on its closing date when it has one.
    sale_date = np.where(deposit | closed.isna(), date.to_numpy(), closed.to_numpy())
    frame = pd.DataFrame(
        {
            "key": keys,
            "event_id": pd.Series(event, dtype=object),
            "tagged": tagged,
            "date": date.to_numpy(),
            "sale": deposit | won,
            "sale_date": sale_date,
        }
    )
    frame = frame[frame["date"].notna() & (frame["date"] <= as_of)]
    first = (
        frame[frame["tagged"]]
        .sort_values("date", kind="stable")
        .drop_duplicates("key")
        .set_index("key")
    )
    start = frame["key"].map(first["date"])
    when = frame["sale_date"]
    window = pd.Timedelta(days=window_days)
    sold = frame["sale"] & (when >= start) & (when <= start + window) & (when <= as_of)
    sold_keys = np.unique(frame.loc[sold, "key"].to_numpy())
    per_event = first.assign(sold=np.isin(first.index.to_numpy(), sold_keys)).groupby("event_id")
    out = pd.DataFrame(
        {
            "leads": per_event.size().astype("float64"),
            "sales": per_event["sold"].sum().astype("float64"),
        }
    )
    out.index.name = "event_id"
    return out


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(pd.Series(frame[column].to_numpy()), errors="coerce").to_numpy(
        dtype="float64"
    )


_OUTCOME_COLUMNS = [
    "event_id",
    "date",
    "zone_id",
    "format",
    "zone_type",
    "cost",
    "leads",
    "sales",
    "maturity",
    "trials",
]


def event_outcomes(
    events: pd.DataFrame,
    *,
    cards: pd.DataFrame | None = None,
    zone_types: Mapping[str, str] | None = None,
    as_of: dt.date | str | pd.Timestamp | None = None,
    window_days: int = 90,
) -> pd.DataFrame:
    """One row per done event before ``as_of`` with its cell and outcome.

    Columns: ``event_id``, ``date``, ``zone_id``, ``format``, ``zone_type``
    (the zone's, else the format's home type), ``cost``, ``leads``,
    ``sales`` (NaN where unknown), ``maturity`` (share of the sales window
    elapsed, 0–1) and ``trials`` (leads at risk behind the sales:
    ``max(sales, leads × maturity)``). When an event has both a total in
    the events file and cards that name it, the larger count is used: a
    total typed on the day misses later deposits, and cards may miss leads
    that were never registered.

    Planned and cancelled events, events on or after ``as_of`` and events
    without a format are left out. ``as_of`` defaults to the day after the
    latest event or card.
    """
    if events is None or not len(events):
        return pd.DataFrame(columns=_OUTCOME_COLUMNS)
    dates = pd.to_datetime(events["date"].to_numpy(), errors="coerce")
    if as_of is None:
        latest = [dates.max()]
        if cards is not None and len(cards):
            latest.append(pd.to_datetime(cards["date"].to_numpy(), errors="coerce").max())
        latest = [d for d in latest if pd.notna(d)]
        as_of = (max(latest) + pd.Timedelta(days=1)) if latest else pd.Timestamp.today()
    as_of = pd.Timestamp(as_of).normalize()
    fmt = _text(events, "format")
    status = _text(events, "status")
    done = (status == None) | (status == "done")  # noqa: E711
    keep = (fmt != None) & ~dates.isna() & (dates < as_of) & done  # noqa: E711
    if not keep.any():
        return pd.DataFrame(columns=_OUTCOME_COLUMNS)
    zone = _text(events, "zone_id")[keep]
    out = pd.DataFrame(
        {
            "event_id": _text(events, "event_id")[keep],
            "date": dates[keep],
            "zone_id": zone,
            "format": fmt[keep],
            "cost": _numbers(events, "cost")[keep],
            "leads": _numbers(events, "leads")[keep],
            "sales": _numbers(events, "sales")[keep],
        }
    )
    home = [home_zone_type(f) for f in out["format"]]
    known = [zone_types.get(z) if zone_types and z is not None else None for z in zone]
    out["zone_type"] = [k if k is not None else h for k, h in zip(known, home, strict=True)]
    attributed = card_outcomes(cards, as_of=as_of, window_days=window_days)
    if len(attributed):
        for column in ("leads", "sales"):
            hit = out["event_id"].map(attributed[column]).to_numpy(dtype="float64")
            out[column] = np.fmax(out[column].to_numpy(), hit)
    age = (as_of - out["date"]).dt.days.to_numpy(dtype="float64")
    out["maturity"] = np.clip(age / max(window_days, 1), 0.0, 1.0)
    trials = np.fmax(out["sales"].to_numpy(), out["leads"].to_numpy() * out["maturity"].to_numpy())
    trials[np.isnan(out["sales"].to_numpy()) | np.isnan(out["leads"].to_numpy())] = np.nan
    out["trials"] = trials
    return out[_OUTCOME_COLUMNS]


# --- the model ------------------------------------------------------------------------------


def _nb_kernel(n: np.ndarray, total: np.ndarray, log_mu: np.ndarray, k: float) -> np.ndarray:
    """The part of a cell's negative-binomial log-likelihood that depends on its mean.

    Shapes: ``n``, ``total`` (cells,), ``log_mu`` (cells, grid) → (cells, grid).
    """
    mu = np.exp(log_mu)
    log_k_mu = np.log(k + mu)
    return n[:, None] * k * (math.log(k) - log_k_mu) + total[:, None] * (log_mu - log_k_mu)


def _log_mu_grid(log_prior: np.ndarray, tau: float) -> np.ndarray:
    """log μ on the grid: log-normal around the prior, centred so that E[μ] is the prior's mean."""
    return (log_prior - 0.5 * tau**2)[:, None] + tau * _Z[None, :]


def _posterior_mean_leads(
    n: np.ndarray, total: np.ndarray, log_prior: np.ndarray, k: float, tau: float
) -> np.ndarray:
    log_mu = _log_mu_grid(log_prior, tau)
    logw = _LOG_PHI[None, :] + _nb_kernel(n, total, log_mu, k)
    logw -= logw.max(axis=1, keepdims=True)
    w = np.exp(logw)
    return (w * np.exp(log_mu)).sum(axis=1) / w.sum(axis=1)


def _leads_objective(theta, n, total, log_prior, const_terms, s: HistorySettings) -> float:
    log_k, log_tau = theta
    k, tau = math.exp(log_k), math.exp(log_tau)
    log_mu = _log_mu_grid(log_prior, tau)
    logw = _LOG_PHI[None, :] + _nb_kernel(n, total, log_mu, k)
    top = logw.max(axis=1, keepdims=True)
    # ∫ N(z) L(μ(z)) dz on the grid: the normal's normalising constant and the step cancel out
    # of the optimum except for a constant, kept for a readable objective.
    marginal = top[:, 0] + np.log(np.exp(logw - top).sum(axis=1) * (_Z[1] - _Z[0]))
    marginal -= 0.5 * math.log(2 * math.pi)
    loglik = float(marginal.sum()) + const_terms(k)
    sd = s.hyper_sd
    penalty = ((log_k - math.log(s.leads_dispersion)) / sd) ** 2 + (
        (log_tau - math.log(s.leads_spread)) / sd
    ) ** 2
    return -(loglik - 0.5 * penalty)


def _fit_leads(cells: pd.DataFrame, every: np.ndarray, s: HistorySettings):
    """(size, spread) of the leads model; ``every`` holds each event's leads."""
    n = cells["n"].to_numpy(dtype="float64")
    total = cells["leads"].to_numpy(dtype="float64")
    log_prior = np.log(cells["prior_leads"].to_numpy(dtype="float64"))
    # Imported here, not at the top: the app imports this module when it starts.
    from scipy import optimize, special

    log_fact = float(special.gammaln(every + 1).sum())
    n_events = len(every)

    def const_terms(k: float) -> float:
        return float(special.gammaln(every + k).sum()) - n_events * special.gammaln(k) - log_fact

    start = np.array([math.log(s.leads_dispersion), math.log(s.leads_spread)])
    res = optimize.minimize(
        _leads_objective,
        start,
        args=(n, total, log_prior, const_terms, s),
        method="Nelder-Mead",
        bounds=[_LOG_K, _LOG_TAU],
        options={"xatol": 1e-3, "fatol": 1e-4},
    )
    x = res.x if np.all(np.isfinite(res.x)) else start
    return math.exp(x[0]), math.exp(x[1])


def _fit_close(cells: pd.DataFrame, s: HistorySettings) -> float:
    trials = cells["trials"].to_numpy(dtype="float64")
    sales = cells["sales"].to_numpy(dtype="float64")
    p0 = cells["prior_close"].to_numpy(dtype="float64")
    from scipy import optimize, special  # see _fit_leads

    def objective(log_kappa: float) -> float:
        kappa = math.exp(log_kappa)
        a, b = kappa * p0, kappa * (1 - p0)
        loglik = float((special.betaln(sales + a, trials - sales + b) - special.betaln(a, b)).sum())
        return -(loglik - 0.5 * ((log_kappa - math.log(s.close_strength)) / s.hyper_sd) ** 2)

    res = optimize.minimize_scalar(objective, bounds=_LOG_KAPPA, method="bounded")
    return math.exp(float(res.x)) if math.isfinite(res.x) else s.close_strength


def fit_learning(
    outcomes: pd.DataFrame,
    prior_of: Callable[[str, str], Prior],
    *,
    settings: HistorySettings | None = None,
) -> Learned:
    """Fit the hyper-parameters across every cell with data; return the learned model.

    Parameters
    ----------
    outcomes
        :func:`event_outcomes`.
    prior_of
        ``(format, zone_type) -> Prior``: the playbook's prior of a cell.

    Notes
    -----
    The hyper-parameters maximise the cells' marginal likelihood plus a
    log-normal hyper-prior centred on the settings' values (type-II maximum
    a posteriori), so that one or two cells cannot drive them to an
    extreme; with no data they are the settings' values.
    """
    s = settings or HistorySettings()
    k, tau, kappa = s.leads_dispersion, s.leads_spread, s.close_strength
    if not len(outcomes):
        return Learned(hyper=Hyper(k, tau, kappa), cells={}, settings=s)
    o = outcomes
    known = o["trials"].notna()
    parts = pd.DataFrame(
        {
            "format": o["format"].astype(str),
            "zone_type": o["zone_type"].astype(str),
            "n": o["leads"].notna().astype("float64"),
            "leads": o["leads"].fillna(0.0),
            "n_sales": known.astype("float64"),
            "sales": o["sales"].where(known, 0.0),
            "trials": o["trials"].fillna(0.0),
            "maturing": (known & (o["maturity"] < 1)).astype("float64"),
            "n_cost": o["cost"].notna().astype("float64"),
            "cost": o["cost"].fillna(0.0),
        }
    )
    cells = parts.groupby(["format", "zone_type"], sort=True).sum().reset_index()
    priors = [prior_of(f, z) for f, z in zip(cells["format"], cells["zone_type"], strict=True)]
    cells["prior_leads"] = [p.leads_per_event for p in priors]
    cells["prior_close"] = [p.close_rate for p in priors]
    with_leads = cells["n"] > 0
    n_leads = int(with_leads.sum())
    if n_leads:
        every = o["leads"].dropna().to_numpy(dtype="float64")
        k, tau = _fit_leads(cells[with_leads], every, s)
    with_sales = cells["trials"] > 0
    n_sales = int(with_sales.sum())
    if n_sales:
        kappa = _fit_close(cells[with_sales], s)
    rows = cells.to_dict("records")
    hyper = Hyper(k, tau, kappa, n_leads, n_sales)
    table = {(r["format"], r["zone_type"]): r for r in rows}
    return Learned(hyper=hyper, cells=table, settings=s)

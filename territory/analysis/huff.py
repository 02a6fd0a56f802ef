"""Competitor showrooms: the dealer's expected share of each zone's buyers (Huff model).

A buyer in zone ``z`` chooses among the dealer and the competitor showrooms
(POIs of type ``competitor``) with probability proportional to
``attractiveness × distance^-β`` (Huff, 1963). The dealer's **share** of the
zone is its term over the sum of all terms; with no competitor it is 1.0.

The distance decay ``β`` is **fitted to the dealer's own customers**: the
number of existing customers per zone is modelled as Poisson with mean
``population × share(β) × exp(γ·x)`` (``x``: a constant, log income and log
density, fitted with statsmodels' Poisson GLM with ``log(population ×
share)`` as offset) and ``β`` maximises the profile likelihood
(:func:`scipy.optimize.minimize_scalar`). :class:`HuffFit` says how well it
fits: the deviance explained against a model without the share, a 95 %
profile-likelihood interval for ``β`` and the number of zones behind it.

Distances are straight lines between zone representative points and the
showrooms in the local projected CRS, floored at ``huff.min_km`` (a zone
that holds a showroom is not at distance 0).

Examples
--------
>>> import numpy as np
>>> share = huff_share(np.array([1.0, 4.0]), np.array([[4.0], [1.0]]), beta=2.0)
>>> [round(float(s), 3) for s in share]
[0.941, 0.059]
>>> huff_share(np.array([2.0]), np.empty((1, 0)), beta=2.0).tolist()
[1.0]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.settings import HuffSettings

__all__ = [
    "Competitors",
    "HuffFit",
    "competitors_of",
    "fit_decay",
    "huff_share",
    "zone_shares",
]


@dataclass(frozen=True)
class Competitors:
    """Competitor showrooms: names, brands and WGS-84 lon/lat."""

    names: tuple[str, ...]
    brands: tuple[str, ...]
    lonlat: np.ndarray  # shape (m, 2)

    def __len__(self) -> int:
        return len(self.names)


def competitors_of(pois: pd.DataFrame) -> Competitors:
    """The located POIs of type ``competitor`` (empty when there are none)."""
    if pois is None or not len(pois) or "poi_type" not in pois:
        return Competitors((), (), np.empty((0, 2)))
    comp = pois[(pois["poi_type"] == "competitor") & pois.geometry.notna()]
    comp = comp[~comp.geometry.is_empty]
    if comp.empty:
        return Competitors((), (), np.empty((0, 2)))
    brands = comp["brand"] if "brand" in comp else pd.Series(None, index=comp.index)
    names = [
        str(n) if isinstance(n, str) and n.strip() else str(b if isinstance(b, str) else "—")
        for n, b in zip(comp["name"], brands, strict=True)
    ]
    return Competitors(
        names=tuple(names),
        brands=tuple(str(b) if isinstance(b, str) and b.strip() else "" for b in brands),
        lonlat=np.column_stack([comp.geometry.x.to_numpy(), comp.geometry.y.to_numpy()]),
    )


def huff_share(
    dealer_km: np.ndarray,
    competitor_km: np.ndarray,
    *,
    beta: float,
    attractiveness: float = 1.0,
    min_km: float = 0.5,
) -> np.ndarray:
    """The dealer's Huff share per zone.

    Parameters
    ----------
    dealer_km
        Distance of each zone to the dealer, shape (n,).
    competitor_km
        Distance of each zone to each competitor, shape (n, m); m may be 0.
    beta
        Distance decay (> 0).
    attractiveness
        A competitor's attractiveness relative to the dealer's (1 = equal).
    min_km
        Distances are floored here.
    """
    d = np.maximum(np.asarray(dealer_km, dtype="float64"), min_km) ** -beta
    comp = np.asarray(competitor_km, dtype="float64").reshape(len(d), -1)
    if comp.shape[1] == 0:
        return np.ones(len(d))
    c = attractiveness * (np.maximum(comp, min_km) ** -beta).sum(axis=1)
    return d / (d + c)


@dataclass(frozen=True)
class HuffFit:
    """The fitted distance decay and how well it fits.

    Attributes
    ----------
    beta
        The fitted decay (or the default when ``fitted`` is False).
    beta_low, beta_high
        95 % profile-likelihood interval (NaN when not fitted or unbounded).
    deviance_explained
        Share of the deviance of a model without the share (same covariates)
        that the share explains away: 0 = distance to showrooms explains
        nothing, 1 = everything left.
    pseudo_r2
        Deviance explained against a constant rate per person (0–1).
    zones
        Zones the fit used.
    customers
        Customers in them.
    fitted
        False when there were no competitors or too few zones/customers;
        the default ``beta`` of the settings is then used.
    """

    beta: float
    beta_low: float
    beta_high: float
    deviance_explained: float
    pseudo_r2: float
    zones: int
    customers: int
    fitted: bool
    competitors: int = 0
    #: The competitors explain the customers better than the dealer's distance alone does (a
    #: log-likelihood at least ``huff.support_margin`` above a model with log distance to the
    #: dealer as a covariate instead of the share; both have one parameter more than the base).
    supported: bool = False

    @classmethod
    def unfitted(cls, beta: float, *, zones: int = 0, customers: int = 0, competitors: int = 0):
        """No fit (no competitors, or too little data): the default decay stands."""
        nan = math.nan
        return cls(beta, nan, nan, nan, nan, zones, customers, False, competitors, False)

    def to_dict(self) -> dict:
        """Plain data for JSON."""

        def num(v: float) -> float | None:
            return None if not math.isfinite(v) else round(float(v), 4)

        return {
            "beta": num(self.beta),
            "beta_low": num(self.beta_low),
            "beta_high": num(self.beta_high),
            "deviance_explained": num(self.deviance_explained),
            "pseudo_r2": num(self.pseudo_r2),
            "zones": self.zones,
            "customers": self.customers,
            "fitted": self.fitted,
            "competitors": self.competitors,
            "supported": self.supported,
        }


def _design(income: np.ndarray | None, density: np.ndarray | None, n: int) -> np.ndarray:
    cols = [np.ones(n)]
    for values in (income, density):
        if values is None:
            continue
        v = np.log(np.clip(np.asarray(values, dtype="float64"), 1e-9, None))
        if np.ptp(v) > 1e-9:
            cols.append((v - v.mean()) / v.std())
    return np.column_stack(cols)


def _poisson_ll(y: np.ndarray, mu: np.ndarray) -> float:
    from scipy.special import gammaln

    mu = np.clip(mu, 1e-300, None)
    return float(np.sum(y * np.log(mu) - mu - gammaln(y + 1)))


def _glm_ll(y: np.ndarray, X: np.ndarray, offset: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood and fitted means of a Poisson GLM with ``offset`` (statsmodels)."""
    # The two modules, not ``statsmodels.api`` (which imports all of statsmodels: 0.40 s against
    # 0.06 s, paid by the first analysis after every start of the app or a command).
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GLM(y, X, family=families.Poisson(), offset=offset)
        res = model.fit(method="newton", maxiter=100, tol=1e-10)
    mu = np.asarray(res.fittedvalues, dtype="float64")
    return _poisson_ll(y, mu), mu


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    mu = np.clip(mu, 1e-300, None)
    term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(2 * np.sum(term - (y - mu)))


def fit_decay(
    customers: np.ndarray,
    population: np.ndarray,
    dealer_km: np.ndarray,
    competitor_km: np.ndarray,
    *,
    income: np.ndarray | None = None,
    density: np.ndarray | None = None,
    settings: HuffSettings | None = None,
) -> HuffFit:
    """Fit the Huff distance decay to customers per zone (profile likelihood over β).

    Zones with no population are left out. Without competitors, or with
    fewer than ``settings.min_zones`` zones or ``settings.min_customers``
    customers, nothing is fitted and the default decay is returned.

    Examples
    --------
    Customers drawn from a Huff model with β = 1.5 are fitted back:

    >>> rng = np.random.default_rng(1)
    >>> n = 400
    >>> xy = rng.uniform(-10, 10, (n, 2))
    >>> comp = np.array([[6.0, 0.0], [-5.0, 5.0]])
    >>> d0 = np.hypot(*xy.T)
    >>> dc = np.hypot(xy[:, None, 0] - comp[:, 0], xy[:, None, 1] - comp[:, 1])
    >>> pop = np.full(n, 5000.0)
    >>> y = rng.poisson(0.004 * pop * huff_share(d0, dc, beta=1.5))
    >>> fit = fit_decay(y, pop, d0, dc)
    >>> abs(fit.beta - 1.5) < 0.15, fit.fitted
    (True, True)
    """
    from scipy.optimize import brentq, minimize_scalar

    s = settings or HuffSettings()
    y_all = np.asarray(customers, dtype="float64")
    pop_all = np.asarray(population, dtype="float64")
    comp_all = np.asarray(competitor_km, dtype="float64").reshape(len(y_all), -1)
    keep = (pop_all > 0) & np.isfinite(np.asarray(dealer_km, dtype="float64"))
    n_comp = comp_all.shape[1]
    n, total = int(keep.sum()), int(y_all[keep].sum())
    if n_comp == 0 or n < s.min_zones or total < s.min_customers:
        return HuffFit(
            s.default_beta, math.nan, math.nan, math.nan, math.nan, n, total, False, n_comp
        )
    y = y_all[keep]
    pop = pop_all[keep]
    d0 = np.asarray(dealer_km, dtype="float64")[keep]
    dc = comp_all[keep]
    X = _design(
        None if income is None else np.asarray(income)[keep],
        None if density is None else np.asarray(density)[keep],
        n,
    )
    log_pop = np.log(pop)

    def neg_ll(beta: float) -> float:
        share = huff_share(
            d0, dc, beta=beta, attractiveness=s.competitor_attractiveness, min_km=s.min_km
        )
        return -_glm_ll(y, X, log_pop + np.log(share))[0]

    lo, hi = s.beta_bounds
    res = minimize_scalar(neg_ll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    beta = float(res.x)
    ll_max = -float(res.fun)
    # 95 % profile-likelihood interval: 2 (ll_max - ll(β)) = 3.84.
    crit = 3.841458820694124 / 2

    def gap(b: float) -> float:
        return (ll_max + neg_ll(b)) - crit  # ll_max - ll(b) - crit

    beta_low = brentq(gap, lo, beta) if gap(lo) > 0 and beta - lo > 1e-6 else math.nan
    beta_high = brentq(gap, beta, hi) if gap(hi) > 0 and hi - beta > 1e-6 else math.nan
    share = huff_share(
        d0, dc, beta=beta, attractiveness=s.competitor_attractiveness, min_km=s.min_km
    )
    _, mu = _glm_ll(y, X, log_pop + np.log(share))
    _, mu_noshare = _glm_ll(y, X, log_pop)
    _, mu_null = _glm_ll(y, np.ones((n, 1)), log_pop)
    dev, dev_noshare, dev_null = _deviance(y, mu), _deviance(y, mu_noshare), _deviance(y, mu_null)
    explained = 1 - dev / dev_noshare if dev_noshare > 0 else math.nan
    pseudo = 1 - dev / dev_null if dev_null > 0 else math.nan
    # Is it the competitors, or only the dealer's own distance decay? The same GLM with
    # log distance to the dealer as a covariate instead of the share.
    x_dealer = np.column_stack([X, np.log(np.maximum(d0, s.min_km))])
    ll_dealer, _ = _glm_ll(y, x_dealer, log_pop)
    supported = ll_max >= ll_dealer + s.support_margin
    return HuffFit(beta, beta_low, beta_high, explained, pseudo, n, total, True, n_comp, supported)


def zone_shares(
    zone_xy: np.ndarray,
    dealer_xy: tuple[float, float],
    competitor_xy: np.ndarray,
    *,
    customers: np.ndarray,
    population: np.ndarray,
    fit_mask: np.ndarray,
    income: np.ndarray | None = None,
    density: np.ndarray | None = None,
    settings: HuffSettings | None = None,
) -> tuple[np.ndarray, HuffFit, np.ndarray, np.ndarray]:
    """Shares of every zone, the fit, and each zone's nearest competitor (km, index).

    ``zone_xy``, ``dealer_xy`` and ``competitor_xy`` are in one projected CRS
    (metres). The decay is fitted on the zones of ``fit_mask`` (the
    influence area); shares are computed for all zones.
    """
    s = settings or HuffSettings()
    zone_xy = np.asarray(zone_xy, dtype="float64").reshape(-1, 2)
    comp = np.asarray(competitor_xy, dtype="float64").reshape(-1, 2)
    d0 = np.hypot(zone_xy[:, 0] - dealer_xy[0], zone_xy[:, 1] - dealer_xy[1]) / 1000.0
    if len(comp) == 0:
        fit = HuffFit.unfitted(s.default_beta)
        empty = np.full(len(zone_xy), -1, dtype="int64")
        return np.ones(len(zone_xy)), fit, np.full(len(zone_xy), np.nan), empty
    dc = np.hypot(zone_xy[:, None, 0] - comp[None, :, 0], zone_xy[:, None, 1] - comp[None, :, 1])
    dc = dc / 1000.0
    m = np.asarray(fit_mask, dtype=bool)
    fit = fit_decay(
        np.asarray(customers)[m],
        np.asarray(population)[m],
        d0[m],
        dc[m],
        income=None if income is None else np.asarray(income)[m],
        density=None if density is None else np.asarray(density)[m],
        settings=s,
    )
    share = huff_share(
        d0, dc, beta=fit.beta, attractiveness=s.competitor_attractiveness, min_km=s.min_km
    )
    nearest = dc.argmin(axis=1)
    return share, fit, dc[np.arange(len(dc)), nearest], nearest

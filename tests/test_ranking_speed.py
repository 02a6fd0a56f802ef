"""Regressions of the ranking speed-ups (memoised history, owners counted from a lon/lat box)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import make_workspace

from territory.inputs import coords
from territory.inputs.workspace import load_workspace
from territory.outreach.ranking import recommend
from territory.outreach.site import owners_near


def test_owners_near_counts_like_projecting_everyone():
    from territory.inputs.demo import demo_path

    ws = load_workspace(demo_path(), use_store=False)
    from pyproj import Transformer

    crs = coords.local_crs(ws.dealer.lon, ws.dealer.lat)
    located = ws.customers[ws.customers.geometry.notna()].geometry.to_crs(crs)
    everyone = np.column_stack([located.x.to_numpy(), located.y.to_numpy()])
    rng = np.random.default_rng(3)
    centres = everyone[rng.choice(len(everyone), 25, replace=False)] + rng.normal(0, 500, (25, 2))
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(*centres.T)
    lonlat = np.column_stack([lon, lat])
    for radius in (500.0, 3000.0, 12_000.0):
        brute = [int((np.hypot(*(everyone - c).T) <= radius).sum()) for c in centres]
        assert owners_near(ws.customers, crs, lonlat, radius) == brute
    assert owners_near(ws.customers.iloc[:0], crs, lonlat[:2], 1000.0) == [0, 0]


def test_recommend_without_any_past_event(tmp_path):
    ws = load_workspace(make_workspace(tmp_path / "ws"), use_store=False)
    assert ws.events.empty
    rec = recommend(ws, date=dt.date(2026, 11, 28), top=2)
    assert len(rec.sites) == 2
    assert rec.sites["last_visit"].isna().all()


def test_history_memo_returns_the_same_figures(tmp_path):
    from territory.outreach.history import EventHistory
    from territory.outreach.playbook import load_playbook

    events = (
        "event_id,date,zone_id,format,cost,leads,sales\n"
        "E1,2026-04-04,001,evening_display,2000,120,6\n"
        "E2,2026-04-11,002,evening_display,2000,40,1\n"
    )
    ws = load_workspace(make_workspace(tmp_path / "ws", events=events), use_store=False)
    history = EventHistory(ws.events, load_playbook())
    first = history.format_stats("evening_display", "residential")
    assert history.format_stats("evening_display", "residential") is first
    assert first.events == 2
    factors = [history.zone_factor(z) for z in ("001", "002", "003")]
    assert factors[0] > 1.0 > factors[1] and factors[2] == 1.0
    fresh = EventHistory(ws.events, load_playbook())
    assert [fresh.zone_factor(z) for z in ("003", "002", "001")] == factors[::-1]

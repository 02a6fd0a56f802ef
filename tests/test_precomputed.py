"""territory.ui._precomputed: results kept on disk between server starts."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from territory.ui import _precomputed


def test_round_trip_keys_and_code_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path))
    frame = pd.DataFrame({"a": [1, 2]})
    assert _precomputed.load("analysis", ("ws", "stamp-1")) is None
    _precomputed.save("analysis", ("ws", "stamp-1"), frame)
    assert _precomputed.load("analysis", ("ws", "stamp-1")).equals(frame)
    assert _precomputed.load("analysis", ("ws", "stamp-2")) is None  # the workspace changed
    assert _precomputed.load("maps", ("ws", "stamp-1")) is None  # another kind
    # New code (an upgrade, an edit): nothing computed by the old code is read.
    monkeypatch.setattr(_precomputed, "code_digest", lambda: "another-version")
    assert _precomputed.load("analysis", ("ws", "stamp-1")) is None
    assert list((tmp_path / "cache" / "analysis").glob("*.pkl"))  # written under the home


def test_damaged_files_are_a_miss_and_old_files_are_evicted(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRITORY_HOME", str(tmp_path))
    _precomputed.save("hexes", ("k",), [1, 2, 3])
    (path,) = (tmp_path / "cache" / "hexes").glob("*.pkl")
    path.write_bytes(b"not a pickle")
    assert _precomputed.load("hexes", ("k",)) is None
    monkeypatch.setattr(_precomputed, "MAX_FILES", 3)
    for i in range(6):
        _precomputed.save("hexes", ("k", i), i)
    assert len(list((tmp_path / "cache" / "hexes").glob("*.pkl"))) == 3
    assert _precomputed.load("hexes", ("k", 5)) == 5


def _fresh_python(code: str, path) -> str:
    """What ``code`` prints in a new Python process (``sys.argv[1]`` = ``path``)."""
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_kept_analysis_reads_back_without_scikit_learn_or_scipy(tmp_path):
    """The cold-start path: unpickling the analysis must not import the model libraries."""
    from territory.analysis.zones import analyse
    from territory.inputs.demo import demo_path
    from territory.inputs.workspace import load_workspace

    ws = load_workspace(demo_path(), use_store=False)
    path = tmp_path / "analysis.pkl"
    import pickle

    path.write_bytes(pickle.dumps(analyse(ws)))
    code = (
        "import pickle, sys; a = pickle.load(open(sys.argv[1], 'rb')); "
        "heavy = sorted(m for m in ('sklearn', 'scipy', 'mapclassify', 'matplotlib') "
        "if m in sys.modules); print(len(a.zones), heavy)"
    )
    assert _fresh_python(code, path) == f"{len(ws.zones)} []"


def test_a_kept_ranking_and_plan_read_back_without_scipy(tmp_path):
    """The Sites page after a restart: its ranking and plan come back without the maths libraries.

    The modules the page imports (ranking, covering, site facts, coverage, learning) import
    scipy only where they compute, so reading kept results costs no scipy import (~1 s).
    """
    import datetime as dt
    import pickle

    from territory.inputs.demo import demo_path
    from territory.inputs.workspace import load_workspace
    from territory.outreach.plan import build_plan
    from territory.outreach.ranking import recommend_weeks

    ws = load_workspace(demo_path(), use_store=False)
    day = dt.date(2026, 12, 12)
    weeks = recommend_weeks(ws, date=day, weeks=1, top=5)
    plan = build_plan(ws, zone_id=str(weeks[0].sites["zone_id"].iloc[0]), date=day)
    path = tmp_path / "kept.pkl"
    path.write_bytes(pickle.dumps((weeks, plan)))
    code = (
        "import pickle, sys\n"
        "import territory.outreach.ranking, territory.outreach.site, territory.leads.coverage\n"
        "import territory.leads.learning, territory.outreach.covering, territory.ui.state\n"
        "weeks, plan = pickle.load(open(sys.argv[1], 'rb'))\n"
        "heavy = sorted(m for m in ('sklearn', 'scipy', 'statsmodels') if m in sys.modules)\n"
        "print(list(weeks[0].sites['zone_id']), heavy)"
    )
    assert _fresh_python(code, path) == f"{list(weeks[0].sites['zone_id'])} []"


def test_kept_site_facts_leave_the_workspace_out_and_rebind():
    """A kept ranking does not carry every customer: its site facts pickle without the workspace.

    Rebound to the workspace, the facts give the same site brief as before.
    """
    import datetime as dt
    import pickle

    from territory.inputs.demo import demo_path
    from territory.inputs.workspace import load_workspace
    from territory.outreach.ranking import recommend_weeks

    ws = load_workspace(demo_path(), use_store=False)
    day = dt.date(2026, 12, 12)
    rec = recommend_weeks(ws, date=day, weeks=1, top=3)[0]
    zone = str(rec.sites["zone_id"].iloc[0])
    before = rec.facts.brief(zone, date=day)
    data = pickle.dumps(rec)
    assert len(data) < len(pickle.dumps(ws)) / 3  # the demo's workspace alone is ~10 MB
    back = pickle.loads(data)
    assert back.facts.ws is None
    assert back.facts.rebind(ws).brief(zone, date=day) == before

"""Territory: an outreach planner for car dealers (精准外拓).

The public API, imported lazily so that ``territory`` itself (and the
command line) starts fast:

- :func:`load_workspace`, :class:`Workspace`, :class:`LayerError` — a
  dealer's folder, validated and located;
- :func:`analyse` — R value, tiers, influence area, look-alike white space
  and candidate areas;
- :func:`recommend`, :func:`next_saturday` — next weekend's sites;
- :func:`build_plan`, :func:`write_plan_xlsx` — the 13-part plan sheet;
- :func:`coverage_table` — A-card vs deposit-card coverage by district;
- :class:`Settings` — every tunable number;
- :func:`write_demo`, :func:`demo_path` — the Chengdu demo workspace.

Examples
--------
>>> import territory
>>> ws = territory.load_workspace(territory.demo_path(), use_store=False)
>>> ws.dealer.model().name
'家轿 A'
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "LayerError": "territory._errors",
    "Settings": "territory.settings",
    "Workspace": "territory.inputs.workspace",
    "analyse": "territory.analysis.zones",
    "build_plan": "territory.outreach.plan",
    "coverage_table": "territory.leads.coverage",
    "demo_path": "territory.inputs.demo",
    "load_workspace": "territory.inputs.workspace",
    "next_saturday": "territory.outreach.ranking",
    "recommend": "territory.outreach.ranking",
    "write_demo": "territory.inputs.demo",
    "write_plan_xlsx": "territory.outreach.plansheet",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'territory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

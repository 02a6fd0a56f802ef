"""The outreach playbook: zone type → formats, time slots, tools, talking points.

The playbook is data (``territory/data/playbook.toml``), not code. A
workspace may hold a ``playbook.toml`` that overrides any part of it:
tables merge key by key, lists replace.

Examples
--------
>>> import datetime as dt
>>> pb = load_playbook()
>>> pb.formats("residential")
('midday_display', 'evening_display', 'owner_free_service')
>>> [s.label("en") for s in pb.slots("residential", dt.date(2026, 11, 28))]   # a Saturday
['Sat 09:30–17:30 daytime', 'Sat 18:30–21:00 evening']
>>> [s.label("zh") for s in pb.slots("residential", dt.date(2026, 11, 24))]   # a Tuesday
['周二 11:30–13:30 午间', '周二 18:30–21:00 晚间']
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from territory._errors import LayerError, ProblemList
from territory.i18n import t
from territory.vocab import (
    FORMATS,
    FORMATS_BY_POI_TYPE,
    FORMATS_BY_ZONE_TYPE,
    POI_TYPES,
    TOOLS,
    ZONE_TYPES,
)

__all__ = ["PLAYBOOK_FILE", "Playbook", "Slot", "load_playbook", "weekday_label"]

PLAYBOOK_FILE = "playbook.toml"
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def weekday_label(date: dt.date, lang: str = "zh") -> str:
    """The short weekday of ``date``: ``周六`` / ``Sat``.

    >>> weekday_label(dt.date(2026, 11, 28)), weekday_label(dt.date(2026, 11, 28), "en")
    ('周六', 'Sat')
    """
    return f"周{_WEEKDAYS_ZH[date.weekday()]}" if lang == "zh" else _WEEKDAYS_EN[date.weekday()]


@dataclass(frozen=True)
class Slot:
    """A time slot on a given date, with the formats that fit it."""

    date: dt.date
    slot: str
    start: str
    end: str
    formats: tuple[str, ...]

    def label(self, lang: str = "zh") -> str:
        """``周六 09:30–17:30 白天`` / ``Sat 09:30–17:30 daytime``."""
        day = weekday_label(self.date, lang)
        return f"{day} {self.start}–{self.end} {t(f'slot.{self.slot}', lang)}"


class Playbook:
    """The merged playbook (default + workspace override)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _type(self, zone_type: str) -> dict[str, Any]:
        types = self.data["zone_types"]
        return types.get(zone_type) or types["other"]

    def _poi(self, poi_type: str) -> dict[str, Any]:
        return self.data.get("poi_types", {}).get(poi_type, {})

    def poi_types_with_formats(self) -> frozenset[str]:
        """POI types whose presence in a zone adds formats to its sites (``street_spot``)."""
        return frozenset(k for k, v in self.data.get("poi_types", {}).items() if v.get("formats"))

    def formats(self, zone_type: str, *, poi_types: Iterable[str] = ()) -> tuple[str, ...]:
        """All formats of a zone type, in playbook order, then those its POIs add.

        >>> load_playbook().formats("residential", poi_types=["street_spot"])[-1]
        'wave_down_test_drive'
        """
        out = list(self._type(zone_type).get("formats", ()))
        for poi_type in sorted(poi_types):
            out += [f for f in self._poi(poi_type).get("formats", ()) if f not in out]
        return tuple(out)

    def tools(self, zone_type: str, *, poi_types: Iterable[str] = ()) -> tuple[str, ...]:
        """Tool codes to pack for a zone type (and the formats its POIs add)."""
        out = list(self._type(zone_type).get("tools", ()))
        for poi_type in sorted(poi_types):
            out += [x for x in self._poi(poi_type).get("tools", ()) if x not in out]
        return tuple(out)

    def talking_points(
        self, zone_type: str, lang: str = "zh", *, poi_types: Iterable[str] = ()
    ) -> tuple[str, ...]:
        """Talking points for a zone type (and the formats its POIs add)."""
        out = list(self._type(zone_type).get("talking_points", {}).get(lang, ()))
        for poi_type in sorted(poi_types):
            out += self._poi(poi_type).get("talking_points", {}).get(lang, [])
        return tuple(out)

    def audience(self, zone_type: str) -> str:
        """The audience code of a zone type (residents, shoppers, ...)."""
        return str(self._type(zone_type).get("audience", "residents"))

    def is_market_day(self, date: dt.date) -> bool:
        """Whether township markets meet on ``date`` (逢集, by day-of-month digit)."""
        days = set(self.data.get("market_days", ()))
        return bool(days) and (date.day % 10 in days or date.day in days)

    def slots(self, zone_type: str, date: dt.date, *, poi_types: Iterable[str] = ()) -> list[Slot]:
        """The time slots of a zone type on ``date`` (weekday or weekend).

        A slot lists only formats the zone type uses; a slot whose formats
        were all dropped (by a workspace override) is left out. ``poi_types``
        adds the slots of the formats those POIs bring (a street spot's
        wave-down test drive), merged into a zone-type slot with the same
        name and times.
        """
        key = "weekend" if date.weekday() >= 5 else "weekday"
        used = set(self.formats(zone_type))
        out = self._slots(self._type(zone_type).get(key, ()), used, date)
        for poi_type in sorted(poi_types):
            spec = self._poi(poi_type)
            extra = self._slots(spec.get(key, ()), set(spec.get("formats", ())), date)
            for slot in extra:
                same = next(
                    (
                        i
                        for i, s in enumerate(out)
                        if (s.slot, s.start, s.end) == (slot.slot, slot.start, slot.end)
                    ),
                    None,
                )
                if same is None:
                    out.append(slot)
                else:
                    merged = out[same].formats + tuple(
                        f for f in slot.formats if f not in out[same].formats
                    )
                    out[same] = Slot(date, slot.slot, slot.start, slot.end, merged)
        return out

    def _slots(self, entries, used: set[str], date: dt.date) -> list[Slot]:
        out = []
        for entry in entries:
            if entry.get("market_day_only") and not self.is_market_day(date):
                continue
            formats = tuple(f for f in entry.get("formats", ()) if f in used)
            if entry.get("formats") and not formats:
                continue  # the workspace dropped every format of this slot
            out.append(
                Slot(
                    date=date,
                    slot=entry["slot"],
                    start=entry["start"],
                    end=entry["end"],
                    formats=formats,
                )
            )
        return out

    def prior(self, zone_type: str, fmt: str | None = None) -> dict[str, float]:
        """Prior per-event figures (cost per lead, close rate, leads per event).

        A format with its own prior (``[format_priors]``, e.g. the wave-down
        test drive) uses it wherever it is held; other formats use their
        zone type's.

        >>> load_playbook().prior("commercial", "wave_down_test_drive")["close_rate"]
        0.0765
        """
        own = self.data.get("format_priors", {}).get(fmt) if fmt else None
        if own:
            return dict(own)
        priors = self.data["priors"]
        return dict(priors.get(zone_type) or priors["other"])

    # ------------------------------------------------------------ where and with whom (sites)

    def spot_kinds(self, zone_type: str) -> tuple[str, ...]:
        """POI types where the team sets up in a zone of ``zone_type``, preferred first."""
        kinds = self.data.get("spot_kinds", {})
        return tuple(kinds.get(zone_type, kinds.get("other", ())))

    def spot_kind_of(self, fmt: str) -> str | None:
        """The POI type whose formats include ``fmt`` (None for zone-type formats)."""
        for kind, spec in self.data.get("poi_types", {}).items():
            if fmt in spec.get("formats", ()):
                return kind
        return None

    def needs(self, fmt: str) -> tuple[int, int]:
        """(people, test-drive cars) one outing of ``fmt`` needs."""
        table = self.data.get("format_needs", {})
        spec = table.get(fmt) or table.get("default") or {}
        return int(spec.get("staff", 0)), int(spec.get("test_cars", 0))

    @property
    def kpi(self) -> dict[str, float]:
        """Parameters turning expected leads into KPI targets."""
        return dict(self.data["kpi"])

    @property
    def budget_shares(self) -> dict[str, float]:
        """How an event's cost splits over budget lines."""
        return dict(self.data["budget_shares"])


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def _check(data: dict[str, Any], file: str) -> ProblemList:
    problems = ProblemList()
    for zone_type, spec in data.get("zone_types", {}).items():
        where = f"zone_types.{zone_type}"
        if zone_type not in ZONE_TYPES:
            problems.add(
                file,
                "err.playbook_unknown",
                column=where,
                found=zone_type,
                expected=", ".join(ZONE_TYPES),
            )
            continue
        allowed = set(FORMATS_BY_ZONE_TYPE[zone_type])
        for code in spec.get("formats", ()):
            if code not in FORMATS:
                problems.add(
                    file,
                    "err.playbook_unknown",
                    column=f"{where}.formats",
                    found=code,
                    expected=", ".join(FORMATS),
                )
            elif code not in allowed:
                problems.add(
                    file,
                    "err.playbook_format_type",
                    column=f"{where}.formats",
                    found=code,
                    expected=", ".join(sorted(allowed)),
                )
        for code in spec.get("tools", ()):
            if code not in TOOLS:
                problems.add(
                    file,
                    "err.playbook_unknown",
                    column=f"{where}.tools",
                    found=code,
                    expected=", ".join(TOOLS),
                )
        for key in ("weekday", "weekend"):
            for entry in spec.get(key, ()):
                missing = [k for k in ("slot", "start", "end") if k not in entry]
                if missing:
                    problems.add(
                        file, "err.playbook_slot", column=f"{where}.{key}", found=", ".join(missing)
                    )
                for code in entry.get("formats", ()):
                    if code not in allowed:
                        problems.add(
                            file,
                            "err.playbook_format_type",
                            column=f"{where}.{key}",
                            found=code,
                            expected=", ".join(sorted(allowed)),
                        )
    for poi_type, spec in data.get("poi_types", {}).items():
        where = f"poi_types.{poi_type}"
        if poi_type not in POI_TYPES:
            problems.add(
                file,
                "err.playbook_unknown",
                column=where,
                found=poi_type,
                expected=", ".join(POI_TYPES),
            )
            continue
        allowed = set(FORMATS_BY_POI_TYPE.get(poi_type, ()))
        for code in spec.get("formats", ()):
            if code not in allowed:
                problems.add(
                    file,
                    "err.playbook_format_poi",
                    column=f"{where}.formats",
                    found=code,
                    expected=", ".join(sorted(allowed)) or "—",
                )
        for code in spec.get("tools", ()):
            if code not in TOOLS:
                problems.add(
                    file,
                    "err.playbook_unknown",
                    column=f"{where}.tools",
                    found=code,
                    expected=", ".join(TOOLS),
                )
    for table in ("priors", "format_priors"):
        known = ZONE_TYPES if table == "priors" else FORMATS
        for key, prior in data.get(table, {}).items():
            if key not in known:
                problems.add(
                    file,
                    "err.playbook_unknown",
                    column=table,
                    found=key,
                    expected=", ".join(known),
                )
                continue
            problems.extend(_check_prior(prior, f"{table}.{key}", file))
    for zone_type, kinds in data.get("spot_kinds", {}).items():
        for kind in kinds:
            if kind not in POI_TYPES or kind == "competitor":
                problems.add(
                    file,
                    "err.playbook_unknown",
                    column=f"spot_kinds.{zone_type}",
                    found=kind,
                    expected=", ".join(k for k in POI_TYPES if k != "competitor"),
                )
    for fmt, spec in data.get("format_needs", {}).items():
        if fmt != "default" and fmt not in FORMATS:
            problems.add(
                file,
                "err.playbook_unknown",
                column="format_needs",
                found=fmt,
                expected=", ".join(FORMATS),
            )
        bad = {
            k: v
            for k, v in (spec.items() if isinstance(spec, dict) else ())
            if k not in ("staff", "test_cars")
            or isinstance(v, bool)
            or not isinstance(v, int)
            or v < 0
        }
        if bad or not isinstance(spec, dict):
            problems.add(
                file,
                "err.playbook_unknown",
                column=f"format_needs.{fmt}",
                found=repr(bad or spec),
                expected="{ staff = 3, test_cars = 1 }",
            )
    return problems


#: The figures of a prior and the range each must lie in.
_PRIOR_FIELDS = {
    "cost_per_lead": (0.0, None),
    "close_rate": (0.0, 1.0),
    "leads_per_event": (0.0, None),
}


def _check_prior(prior: Any, where: str, file: str) -> ProblemList:
    problems = ProblemList()
    if not isinstance(prior, dict):
        problems.add(file, "err.playbook_prior", column=where, found=repr(prior))
        return problems
    for name, (lo, hi) in _PRIOR_FIELDS.items():
        value = prior.get(name)
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value > lo
            and (hi is None or value < hi)
        )
        if not ok:
            problems.add(file, "err.playbook_prior", column=f"{where}.{name}", found=repr(value))
    return problems


def load_playbook(workspace: Path | str | None = None, *, lang: str = "zh") -> Playbook:
    """The default playbook merged with ``workspace/playbook.toml`` if present.

    The same file (path and modification time) gives the same Playbook
    object, so statistics built on it can be kept between calls.

    Raises
    ------
    LayerError
        If the workspace's playbook has a syntax error or names unknown
        zone types, formats or tools.
    """
    stamp = None
    if workspace is not None:
        path = Path(workspace) / PLAYBOOK_FILE
        try:
            st = path.stat()
            stamp = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (str(path), None, None)
    return _load(stamp, lang)


@functools.lru_cache(maxsize=16)
def _load(stamp: tuple | None, lang: str) -> Playbook:
    default = tomllib.loads(
        (resources.files("territory") / "data" / "playbook.toml").read_text(encoding="utf-8")
    )
    data = default
    if stamp is not None and stamp[1] is not None:
        path = Path(stamp[0])
        if path.exists():
            problems = ProblemList()
            try:
                override = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                problems.add(PLAYBOOK_FILE, "err.toml_syntax", detail=str(exc))
                raise LayerError(problems, lang) from None
            data = _merge(default, override)
            problems.extend(_check(data, PLAYBOOK_FILE))
            if problems:
                raise LayerError(problems, lang)
    return Playbook(data)

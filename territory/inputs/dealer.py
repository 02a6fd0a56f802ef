"""The dealer: ``dealer.toml`` of a workspace.

Examples
--------
>>> from territory.inputs.dealer import parse_dealer
>>> d = parse_dealer({"name": "示例店", "lon": 104.0657, "lat": 30.6595,
...                   "models": [{"name": "家轿 A", "price": 120000}]})
>>> d.model().price, d.radius_km, d.target_r
(120000.0, 15.0, 3.0)
>>> d.team.consultants, d.team.staff_per_day
((), None)
"""

from __future__ import annotations

import math
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from territory._errors import LayerError, ProblemList
from territory.inputs import coords
from territory.settings import Settings, SettingsError
from territory.vocab import COORD_SYSTEMS, normalise_code

__all__ = ["DEALER_FILE", "TEAM_KEYS", "Dealer", "Model", "Team", "parse_dealer", "read_dealer"]

DEALER_FILE = "dealer.toml"
#: dealer.toml holds a few dozen lines: a larger file is refused before it is read.
MAX_DEALER_BYTES = 1 << 20


@dataclass(frozen=True)
class Model:
    """A car model the dealer sells."""

    name: str
    price: float


#: The keys of dealer.toml's optional ``[team]`` table.
TEAM_KEYS: tuple[str, ...] = ("consultants", "staff_per_day", "test_cars")


@dataclass(frozen=True)
class Team:
    """The dealer's outreach team: ``[team]`` in dealer.toml (all optional).

    ``consultants`` are the sales consultants (销售顾问) who follow leads up,
    in the order written; ``staff_per_day`` the people the dealer can send
    out on one day (≥ 1) and ``test_cars`` the test-drive cars available for
    outreach on one day (≥ 0). None means "not said": a reader that needs
    the number uses its own default and says so.

    Examples
    --------
    >>> Team(("张伟", "李娜")).consultants
    ('张伟', '李娜')
    """

    consultants: tuple[str, ...] = ()
    staff_per_day: int | None = None
    test_cars: int | None = None


@dataclass(frozen=True)
class Dealer:
    """The dealer, its models and its settings. ``lon``/``lat`` are WGS-84."""

    name: str
    lon: float
    lat: float
    models: tuple[Model, ...]
    coord_sys: str = "wgs84"
    radius_km: float = 15.0
    target_r: float = 3.0
    language: str = "zh"
    zones_crs: str | None = None
    zones_coord_sys: str = "wgs84"
    settings: Settings = field(default_factory=Settings)
    team: Team = field(default_factory=Team)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def model(self, name: str | None = None) -> Model:
        """Return the model called ``name``; the first model when None.

        Raises
        ------
        KeyError
            If no model has that name; the message lists the known models.
        """
        if name is None:
            return self.models[0]
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(m.name for m in self.models)
        raise KeyError(f"unknown model {name!r}; dealer.toml lists: {known}")


def read_dealer(path: Path, *, lang: str = "zh") -> Dealer:
    """Read and validate ``dealer.toml``.

    Raises
    ------
    LayerError
        Listing every problem: syntax, missing keys, wrong types or values.
    """
    problems = ProblemList()
    file = path.name
    if not path.exists():
        problems.add(file, "err.file_missing", pattern=DEALER_FILE)
        raise LayerError(problems, lang)
    if path.is_file() and path.stat().st_size > MAX_DEALER_BYTES:
        problems.add(
            file,
            "err.toml_too_large",
            column=DEALER_FILE,
            size=f"{path.stat().st_size / 2**20:,.1f} MB",
            limit=f"{MAX_DEALER_BYTES // 2**10} KB",
        )
        raise LayerError(problems, lang)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:  # a folder named dealer.toml, no read permission
        problems.add(file, "err.file_unreadable", detail=exc.strerror or type(exc).__name__)
        raise LayerError(problems, lang) from None
    except UnicodeDecodeError:
        problems.add(file, "err.toml_encoding")
        raise LayerError(problems, lang) from None
    except tomllib.TOMLDecodeError as exc:
        problems.add(file, "err.toml_syntax", detail=str(exc))
        raise LayerError(problems, lang) from None
    return parse_dealer(data, file=file, lang=lang)


def parse_dealer(data: dict[str, Any], *, file: str = DEALER_FILE, lang: str = "zh") -> Dealer:
    """Validate parsed ``dealer.toml`` content and return a :class:`Dealer`."""
    problems = ProblemList()

    def number(key: str, *, required: bool, default: float | None = None, positive: bool = True):
        if key not in data:
            if required:
                problems.add(file, "err.toml_missing_key", column=key)
            return default
        value = data[key]
        if not _finite_number(value):
            problems.add(file, "err.toml_not_number", column=key, found=repr(value))
            return default
        if positive and value <= 0:
            problems.add(file, "err.toml_not_positive", column=key, found=repr(value))
            return default
        return float(value)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(file, "err.toml_missing_key", column="name")
        name = ""
    lon = number("lon", required=True, positive=False)
    lat = number("lat", required=True, positive=False)
    # Absent keys leave [settings.influence] radius_km / [settings.scoring] target_r (or the
    # defaults) in force instead of silently overriding them with the defaults.
    radius = number("radius_km", required=False, default=None)
    target_r = number("target_r", required=False, default=None)

    coord_sys = _code(data, "coord_sys", problems, file)
    zones_coord_sys = _code(data, "zones_coord_sys", problems, file)
    language = data.get("language", "zh")
    if language not in ("zh", "en"):
        problems.add(
            file, "err.toml_bad_value", column="language", found=repr(language), expected="zh, en"
        )
        language = "zh"
    zones_crs = data.get("zones_crs")
    if zones_crs is not None and (
        isinstance(zones_crs, bool) or not isinstance(zones_crs, str | int)
    ):
        problems.add(
            file,
            "err.toml_bad_value",
            column="zones_crs",
            found=repr(zones_crs),
            expected="EPSG:4326",
        )
        zones_crs = None
    elif zones_crs is not None and not _known_crs(zones_crs):
        problems.add(file, "err.toml_bad_crs", column="zones_crs", found=repr(zones_crs))
        zones_crs = None

    models = _models(data.get("models"), problems, file)
    team = _team(data.get("team"), problems, file)

    settings = Settings()
    overrides = data.get("settings", {})
    try:
        settings = settings.merged(
            overrides if isinstance(overrides, dict) else {"settings": overrides}
        )
    except SettingsError as exc:
        problems.add(file, "err.toml_settings", column="settings", detail=exc.detail)
    if radius is not None:
        settings = settings.merged({"influence": {"radius_km": radius}})
    if target_r is not None:
        settings = settings.merged({"scoring": {"target_r": target_r}})

    if lon is not None and lat is not None and coord_sys is not None:
        wlon, wlat = coords.to_wgs84(lon, lat, coord_sys)
        if coords.out_of_china(wlon, wlat):
            problems.add(file, "err.dealer_out_of_china", column="lon/lat", found=f"{lon}, {lat}")
        lon, lat = float(wlon), float(wlat)

    if problems.errors:
        raise LayerError(problems, lang)
    return Dealer(
        name=name.strip(),
        lon=lon,
        lat=lat,
        models=models,
        coord_sys=coord_sys,
        radius_km=settings.influence.radius_km,
        target_r=settings.scoring.target_r,
        language=language,
        zones_crs=str(zones_crs) if zones_crs is not None else None,
        zones_coord_sys=zones_coord_sys,
        settings=settings,
        team=team,
        raw=data,
    )


def _known_crs(value: str | int) -> bool:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        return False
    return True


def _finite_number(value: Any) -> bool:
    """True for an int or float that is not a bool, NaN or infinite (TOML allows nan, inf)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _code(data: dict[str, Any], key: str, problems: ProblemList, file: str) -> str | None:
    value = data.get(key, "wgs84")
    code = normalise_code(value, COORD_SYSTEMS)
    if code is None:
        problems.add(
            file, "err.toml_bad_value", column=key, found=repr(value), expected="wgs84, gcj02, bd09"
        )
    return code


def _models(value: Any, problems: ProblemList, file: str) -> tuple[Model, ...]:
    if not isinstance(value, list) or not value:
        problems.add(file, "err.toml_no_models", column="models")
        return ()
    models: list[Model] = []
    names: set[str] = set()
    for i, item in enumerate(value, start=1):
        where = f"models[{i}]"
        if not isinstance(item, dict):
            problems.add(file, "err.toml_no_models", column=where)
            continue
        name = item.get("name")
        price = item.get("price")
        if not isinstance(name, str) or not name.strip():
            problems.add(file, "err.toml_missing_key", column=f"{where}.name")
            continue
        if name in names:
            problems.add(file, "err.toml_duplicate_model", column=f"{where}.name", found=name)
        names.add(name)
        if not _finite_number(price):
            problems.add(file, "err.toml_not_number", column=f"{where}.price", found=repr(price))
            continue
        if price <= 0:
            problems.add(file, "err.toml_not_positive", column=f"{where}.price", found=repr(price))
            continue
        models.append(Model(name=name.strip(), price=float(price)))
    return tuple(models)


def _team(value: Any, problems: ProblemList, file: str) -> Team:
    """``[team]``: consultants (unique names), staff_per_day (≥ 1), test_cars (≥ 0)."""
    if value is None:
        return Team()
    if not isinstance(value, dict):
        problems.add(file, "err.team_not_table", column="team", found=repr(value)[:80])
        return Team()
    for key in value:
        if key not in TEAM_KEYS:
            problems.add(
                file,
                "err.team_unknown_key",
                column=f"team.{key}",
                found=key,
                expected=", ".join(TEAM_KEYS),
            )
    consultants: list[str] = []
    names = value.get("consultants", [])
    if not isinstance(names, list):
        problems.add(
            file, "err.team_consultants", column="team.consultants", found=repr(names)[:80]
        )
        names = []
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        where = f"team.consultants[{i}]"
        if not isinstance(name, str) or not name.strip():
            problems.add(file, "err.team_consultants", column=where, found=repr(name)[:80])
            continue
        clean = unicodedata.normalize("NFKC", name).strip()
        if clean in seen:
            problems.add(file, "err.team_duplicate_consultant", column=where, found=clean)
            continue
        seen.add(clean)
        consultants.append(clean)
    counts: dict[str, int | None] = {}
    for key, least in (("staff_per_day", 1), ("test_cars", 0)):
        number = value.get(key)
        counts[key] = None
        if number is None:
            continue
        whole = _finite_number(number) and float(number).is_integer()
        if not whole:
            problems.add(file, "err.team_not_count", column=f"team.{key}", found=repr(number))
        elif number < least:
            problems.add(
                file, "err.team_too_small", column=f"team.{key}", found=repr(number), least=least
            )
        else:
            counts[key] = int(number)
    return Team(tuple(consultants), counts["staff_per_day"], counts["test_cars"])

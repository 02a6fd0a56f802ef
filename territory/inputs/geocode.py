"""Geocoders: turn an address into a zone (and a point).

The default :class:`OfflineGeocoder` needs no network: it matches an
address against the names of the workspace's zones (streets, towns,
townships) and districts, e.g. "成都市武侯区玉林街道玉林北路 1 号" → the zone
named 玉林街道 in 武侯区. An online geocoder (AMap with the user's key) can
be added later by implementing :class:`Geocoder` and registering it with
:func:`register`.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely.geometry import box
>>> zones = gpd.GeoDataFrame({"zone_id": ["z1", "z2"], "name": ["玉林街道", "华阳街道"],
...     "district": ["武侯区", "天府新区"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
>>> OfflineGeocoder(zones).geocode(pd.Series(["成都市武侯区玉林街道玉林北路1号", "火星"]))[["zone_id", "matched"]]
  zone_id matched
0      z1    玉林街道
1     NaN    None
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["Geocoder", "OfflineGeocoder", "geocoder_for", "register"]

#: Suffixes stripped to get a zone's short name ("玉林街道" → "玉林").
_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "乡", "办事处")


class Geocoder(Protocol):
    """Anything that turns addresses into zones and points.

    ``geocode`` returns a frame aligned to ``addresses`` with columns
    ``zone_id`` (str or NA), ``district`` (str or NA), ``lon``, ``lat``
    (WGS-84, NaN when unknown) and ``matched`` (the text that matched, for
    reports).
    """

    def geocode(self, addresses: pd.Series) -> pd.DataFrame:
        """Locate each address."""
        ...


class OfflineGeocoder:
    """Match addresses against zone and district names of the workspace.

    The longest zone name found in the address wins; when two zones share a
    name (two 新华街道 in different districts), the one whose district also
    appears in the address wins; a zone's short name (玉林 for 玉林街道) is
    used only when no other zone or district shares it. An address that
    names only a district is located to the district: zone unknown and no
    point, since a district centre would pile people up where none of them
    lives. The point given for a zone is its representative point (always
    inside the zone).
    """

    def __init__(self, zones: gpd.GeoDataFrame) -> None:
        self._zones = zones
        names = zones["name"].astype("str").fillna("")
        districts = (
            zones["district"].astype("str")
            if "district" in zones
            else pd.Series(None, index=zones.index, dtype="str")
        )
        entries: dict[str, list[int]] = {}
        for pos, name in enumerate(names):
            if name:
                entries.setdefault(name, []).append(pos)
        short: dict[str, list[int]] = {}
        for pos, name in enumerate(names):
            for suffix in _SUFFIXES:
                if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                    short.setdefault(name[: -len(suffix)], []).append(pos)
                    break
        district_names = set(districts.dropna()) - {""}
        for stem, positions in short.items():
            if stem not in entries and stem not in district_names and len(positions) == 1:
                entries[stem] = positions
        self._entries = entries
        self._districts = districts.to_numpy(dtype=object)
        self._district_names = sorted(district_names, key=len, reverse=True)
        pattern = "|".join(re.escape(n) for n in sorted(entries, key=len, reverse=True))
        self._zone_re = re.compile(pattern) if pattern else None
        self._district_re = (
            re.compile("|".join(re.escape(d) for d in self._district_names))
            if self._district_names
            else None
        )
        self._zone_xy = np.empty((0, 2))
        if len(zones):
            from territory.inputs.coords import local_crs

            projected = zones.to_crs(local_crs(zones.geometry))  # arithmetic: no CRS database query
            points = projected.representative_point().to_crs("EPSG:4326")
            self._zone_xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])

    def _match_one(self, address: str) -> tuple[int | None, str | None, str | None]:
        """Return (zone position, district, matched text)."""
        district_hit = self._district_re.search(address) if self._district_re else None
        district = district_hit.group(0) if district_hit else None
        if self._zone_re is not None:
            hits = [m.group(0) for m in self._zone_re.finditer(address)]
            for hit in sorted(hits, key=len, reverse=True):
                positions = self._entries[hit]
                if len(positions) > 1 and district:
                    positions = [
                        p for p in positions if self._districts[p] == district
                    ] or positions
                if len(positions) == 1:
                    return positions[0], self._districts[positions[0]], hit
        if district:
            return None, district, district
        return None, None, None

    def geocode(self, addresses: pd.Series) -> pd.DataFrame:
        """Locate each address; unmatched ones get NA zone and NaN coordinates."""
        text = addresses.astype("str").str.strip()
        text = text.where(text.ne(""), None)
        uniques = pd.Index(text.dropna().unique())
        results = [self._match_one(a) for a in uniques]
        n = len(uniques)
        pos = np.array([r[0] if r[0] is not None else -1 for r in results], dtype="int64").reshape(
            n
        )
        district = np.array([r[1] for r in results], dtype=object).reshape(n)
        matched = np.array([r[2] for r in results], dtype=object).reshape(n)
        xy = np.full((n, 2), np.nan)
        has_zone = pos >= 0
        xy[has_zone] = self._zone_xy[pos[has_zone]]
        zone_ids = np.array(
            [self._zones["zone_id"].iloc[p] if p >= 0 else None for p in pos], dtype=object
        ).reshape(n)
        which = uniques.get_indexer(text)
        found = which >= 0
        take = np.where(found, which, 0)

        def column(values, fill):
            if n == 0:
                return np.full(len(text), fill, dtype=object)
            return np.where(found, values[take], fill)

        return pd.DataFrame(
            {
                "zone_id": pd.Series(column(zone_ids, None), index=addresses.index, dtype="str"),
                "district": pd.Series(column(district, None), index=addresses.index, dtype="str"),
                "lon": pd.Series(column(xy[:, 0], np.nan), index=addresses.index, dtype="float64"),
                "lat": pd.Series(column(xy[:, 1], np.nan), index=addresses.index, dtype="float64"),
                "matched": pd.Series(column(matched, None), index=addresses.index, dtype="object"),
            }
        )


_REGISTRY: dict[str, Callable[..., Geocoder]] = {"offline": OfflineGeocoder}


def register(name: str, factory: Callable[..., Geocoder]) -> None:
    """Make a geocoder available by name (e.g. ``register("amap", AmapGeocoder)``)."""
    _REGISTRY[name] = factory


def geocoder_for(name: str, zones: gpd.GeoDataFrame, **options) -> Geocoder:
    """Build the geocoder registered as ``name`` for these zones.

    Raises
    ------
    KeyError
        If no geocoder has that name; the message lists the known ones.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown geocoder {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(zones, **options)

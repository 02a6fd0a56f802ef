"""Web map tiles under printed maps: zoom choice, download, disk cache, mosaic.

Private helper of :mod:`territory.render.printing`. Tiles are the usual XYZ
("slippy map") tiles in Web Mercator (EPSG:3857). :func:`fetch_mosaic`
returns one RGB array covering a map extent, or raises :class:`TileError`
on the first tile that cannot be had (offline, timeout, HTTP error, not an
image): the caller then prints vector layers only and says so.

Downloads use :mod:`urllib` with a User-Agent and short timeouts; tiles are
cached on disk under ``cache_dir/<hash of the URL template>/z/x/y.tile`` so a
second print needs no network and a test server never shares a cache with a
real one.

Examples
--------
>>> tile_range((11_575_000.0, 3_590_000.0, 11_590_000.0, 3_605_000.0), zoom=12)
(3231, 3232, 1679, 1681)
>>> zoom_for((11_575_000.0, 3_590_000.0, 11_590_000.0, 3_605_000.0), pixels=900, max_tiles=48)
13
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "ORIGIN",
    "TILE_SIZE",
    "Mosaic",
    "TileError",
    "default_cache_dir",
    "fetch_mosaic",
    "tile_range",
    "zoom_for",
]

#: Half the width of the Web Mercator square (metres).
ORIGIN = 20037508.342789244
#: Pixels per tile side.
TILE_SIZE = 256
_MAX_ZOOM = 18
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


class TileError(RuntimeError):
    """A tile could not be fetched or read; the message says which and why."""


@dataclass
class Mosaic:
    """An RGB image and the Web Mercator extent (x0, x1, y0, y1) it covers."""

    image: np.ndarray
    extent: tuple[float, float, float, float]
    zoom: int
    tiles: int
    downloaded: int


def default_cache_dir() -> Path:
    """The user's cache folder for tiles (``~/.cache/territory/tiles`` on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "territory" / "tiles"


def _tile_span(zoom: int) -> float:
    return 2 * ORIGIN / (1 << zoom)


def tile_range(
    extent: tuple[float, float, float, float], *, zoom: int
) -> tuple[int, int, int, int]:
    """Tile columns ``x0..x1`` and rows ``y0..y1`` (inclusive) covering ``extent``.

    ``extent`` is (xmin, ymin, xmax, ymax) in EPSG:3857 metres.
    """
    xmin, ymin, xmax, ymax = extent
    span = _tile_span(zoom)
    last = (1 << zoom) - 1

    def col(x: float) -> int:
        return min(last, max(0, math.floor((x + ORIGIN) / span)))

    def row(y: float) -> int:
        return min(last, max(0, math.floor((ORIGIN - y) / span)))

    return col(xmin), col(xmax), row(ymax), row(ymin)


def zoom_for(extent: tuple[float, float, float, float], *, pixels: float, max_tiles: int) -> int:
    """The zoom whose tiles give about ``pixels`` across ``extent``, within ``max_tiles``."""
    width = max(extent[2] - extent[0], 1.0)
    zoom = round(math.log2(max(pixels, 1.0) * 2 * ORIGIN / (TILE_SIZE * width)))
    zoom = max(0, min(_MAX_ZOOM, zoom))
    while zoom > 0:
        x0, x1, y0, y1 = tile_range(extent, zoom=zoom)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles:
            break
        zoom -= 1
    return zoom


def _decode(data: bytes, where: str) -> np.ndarray:
    if not (data.startswith(_PNG) or data.startswith(_JPEG)):
        raise TileError(f"{where}: the server did not send a PNG or JPEG image")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = np.asarray(img.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise TileError(f"{where}: unreadable image ({exc})") from None
    if rgb.shape[:2] != (TILE_SIZE, TILE_SIZE):
        from PIL import Image as _Image

        rgb = np.asarray(_Image.fromarray(rgb).resize((TILE_SIZE, TILE_SIZE)))
    return rgb


def _download(url: str, *, user_agent: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise TileError(f"{_host(url)}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TileError(f"{_host(url)}: {reason}") from None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


def probe(url_template: str, *, lon: float, lat: float, timeout: float, user_agent: str) -> bool:
    """Whether one tile of ``url_template`` (the one at zoom 12 over ``lon``/``lat``) loads.

    ``{s}`` is filled with ``1`` and ``{lang}`` with ``zh_cn``; the answer must
    decode as an image. Used to decide an "auto" basemap.
    """
    import math

    zoom = 12
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(max(min(lat, 85.0), -85.0))
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    url = url_template.replace("{s}", "1").replace("{lang}", "zh_cn").format(z=zoom, x=x, y=y)
    try:
        _decode(_download(url, user_agent=user_agent, timeout=timeout), _host(url))
    except TileError:
        return False
    return True


def fetch_mosaic(
    extent: tuple[float, float, float, float],
    *,
    url_template: str,
    pixels: float,
    cache_dir: Path,
    user_agent: str,
    timeout: float,
    total_timeout: float,
    max_tiles: int,
    workers: int = 2,
    cache_days: float = 30.0,
) -> Mosaic:
    """Download (or read from cache) the tiles covering ``extent`` and join them.

    Raises
    ------
    TileError
        On the first tile that cannot be fetched or decoded, or when the
        tiles together take longer than ``total_timeout`` seconds.
    """
    zoom = zoom_for(extent, pixels=pixels, max_tiles=max_tiles)
    x0, x1, y0, y1 = tile_range(extent, zoom=zoom)
    key = hashlib.sha1(url_template.encode("utf-8")).hexdigest()[:12]
    folder = Path(cache_dir) / key / str(zoom)
    deadline = time.monotonic() + total_timeout
    max_age = cache_days * 86400.0
    downloaded = 0

    def one(x: int, y: int) -> tuple[int, int, np.ndarray, bool]:
        path = folder / str(x) / f"{y}.tile"
        if path.exists() and time.time() - path.stat().st_mtime < max_age:
            try:
                return x, y, _decode(path.read_bytes(), str(path)), False
            except TileError:
                pass  # a damaged cache file: fetch it again
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TileError(
                    f"{_host(url_template)}: tiles took longer than {total_timeout:g} s"
                )
            url = url_template.format(z=zoom, x=x, y=y)
            data = _download(url, user_agent=user_agent, timeout=min(timeout, left))
            image = _decode(data, _host(url))
        except TileError:
            # Offline reprint: a tile older than cache_days is still better than none.
            if path.exists():
                try:
                    return x, y, _decode(path.read_bytes(), str(path)), False
                except TileError:
                    pass
            raise
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return x, y, image, True

    jobs = [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    mosaic = np.zeros(((y1 - y0 + 1) * TILE_SIZE, (x1 - x0 + 1) * TILE_SIZE, 3), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(one, x, y) for x, y in jobs]
        try:
            for future in futures:
                x, y, image, fresh = future.result()
                downloaded += fresh
                r, c = (y - y0) * TILE_SIZE, (x - x0) * TILE_SIZE
                mosaic[r : r + TILE_SIZE, c : c + TILE_SIZE] = image
        except TileError:
            for future in futures:
                future.cancel()
            raise
    span = _tile_span(zoom)
    extent_out = (
        -ORIGIN + x0 * span,
        -ORIGIN + (x1 + 1) * span,
        ORIGIN - (y1 + 1) * span,
        ORIGIN - y0 * span,
    )
    return Mosaic(mosaic, extent_out, zoom, len(jobs), downloaded)

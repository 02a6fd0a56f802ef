"""The print font: bundled Noto Sans SC, glyph checks, text measurement and wrapping.

Private helper of :mod:`territory.render.printing`. The OFL font Noto Sans SC comes
with the PyPI package ``pylopdf-fonts-zh-cn`` (a dependency), so no system
font is needed; DejaVu Sans (shipped with matplotlib) is the fallback for
the few symbols Noto Sans SC lacks, such as the tick box ☐. A missing or
broken font is a :class:`PrintError` naming the package to reinstall,
never a page of empty boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from territory.i18n import t

__all__ = ["PrintError", "register_fonts"]


class PrintError(ValueError):
    """A print cannot be made: a bad option, or the CJK font is missing.

    ``key`` and ``fields`` name a message of the catalogue (zh and en);
    ``installation`` is true when reinstalling fixes it (the font).
    """

    def __init__(self, key: str, *, lang: str = "zh", installation: bool = False, **fields: Any):
        self.key = key
        self.fields = fields
        self.installation = installation
        self.lang = lang
        super().__init__(t(key, lang, **fields))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the language it was raised in)."""
        return t(self.key, lang or self.lang, **self.fields)


_FALLBACK_FAMILY = "DejaVu Sans"

_FONT_SAMPLE = "成都市青羊区文家街道外拓客户登记表，保有客户（A卡）ABCxyz 0123456789 km²–·"


@dataclass(frozen=True)
class _Fonts:
    family: str
    path: str
    fallback_path: str
    covered: frozenset[int]
    fallback_covered: frozenset[int]

    def clean(self, text: object) -> str:
        """``text`` with characters no font has replaced by ``?`` (never a box)."""
        s = "" if text is None else str(text)
        return "".join(
            c if (ord(c) in self.covered or ord(c) in self.fallback_covered or c == "\n") else "?"
            for c in s
        )

    def lacks(self, text: str) -> set[str]:
        return {
            c
            for c in text
            if ord(c) not in self.covered and ord(c) not in self.fallback_covered and c != "\n"
        }


def register_fonts(*, lang: str = "zh") -> _Fonts:
    """Register the bundled Noto Sans SC with matplotlib and check that it renders.

    Returns the font set used by the printer (family name, coverage).

    Raises
    ------
    PrintError
        If the font file of ``pylopdf-fonts-zh-cn`` is missing or unreadable,
        or lacks simplified Chinese or Latin glyphs; the message says to
        reinstall the package.
    """
    try:
        import pylopdf_fonts_zh_cn

        path = Path(pylopdf_fonts_zh_cn.sans_path())
    except (ImportError, OSError, AttributeError) as exc:
        raise PrintError(
            "print.font_missing", lang=lang, installation=True, path=f"({exc})"
        ) from None
    if not path.is_file():
        raise PrintError("print.font_missing", lang=lang, installation=True, path=str(path))
    return _load_fonts(str(path), lang)


@lru_cache(maxsize=4)
def _load_fonts(path: str, lang: str) -> _Fonts:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
        covered = frozenset(font.get_charmap())
        missing = {c for c in _FONT_SAMPLE if ord(c) not in covered}
        if not missing:
            missing = {c for c in _FONT_SAMPLE if c != " " and not _inks(font, c)}
    except (OSError, RuntimeError, ValueError) as exc:
        raise PrintError(
            "print.font_missing", lang=lang, installation=True, path=f"{path} ({exc})"
        ) from None
    if missing:
        raise PrintError(
            "print.font_coverage",
            lang=lang,
            installation=True,
            path=path,
            chars="".join(sorted(missing)),
        )
    font_manager.fontManager.addfont(path)
    family = font_manager.FontProperties(fname=path).get_name()
    fallback = font_manager.findfont(
        font_manager.FontProperties(family=_FALLBACK_FAMILY), fallback_to_default=True
    )
    fallback_covered = frozenset(FT2Font(fallback).get_charmap())
    return _Fonts(family, path, fallback, covered, fallback_covered)


def _inks(font, char: str) -> bool:
    """Whether ``char`` renders to a bitmap with some ink (a real glyph, not a blank)."""
    import numpy as np

    font.set_size(24, 72)
    font.set_text(char)
    font.draw_glyphs_to_bitmap()
    return bool(np.asarray(font.get_image()).any())


def _advance(font, char: str) -> float:
    glyph = font.load_char(ord(char))
    return glyph.linearHoriAdvance / 65536.0


class _Measure:
    """Text widths in points (per-character advances, cached)."""

    def __init__(self, fonts: _Fonts) -> None:
        from matplotlib.ft2font import FT2Font

        self.fonts = fonts
        self.main = FT2Font(fonts.path)
        self.main.set_size(100, 72)
        self.fallback = FT2Font(fonts.fallback_path)
        self.fallback.set_size(100, 72)
        self.cache: dict[str, float] = {}

    def char(self, c: str) -> float:
        w = self.cache.get(c)
        if w is None:
            font = self.main if ord(c) in self.fonts.covered else self.fallback
            try:
                w = _advance(font, c) / 100.0
            except (RuntimeError, ValueError):
                w = 1.0
            self.cache[c] = w
        return w

    def width(self, text: str, size: float) -> float:
        return sum(self.char(c) for c in text) * size

    def wrap(self, text: str, width: float, size: float) -> list[str]:
        """Break ``text`` into lines no wider than ``width`` points.

        Latin words stay whole (unless a word alone is too wide); CJK text
        breaks between characters, never before closing punctuation.
        """
        lines: list[str] = []
        for paragraph in str(text).split("\n"):
            lines.extend(self._wrap_one(paragraph, width, size))
        return lines or [""]

    def _wrap_one(self, text: str, width: float, size: float) -> list[str]:
        tokens = _tokens(text)
        lines: list[str] = []
        line = ""
        for token in tokens:
            candidate = line + token
            if not line or self.width(candidate.rstrip(), size) <= width or token in _NO_BREAK:
                line = candidate
                continue
            if self.width(token, size) > width and not token.isspace():
                # a word wider than the line: break it by characters
                for c in token:
                    if self.width(line + c, size) > width and line.strip():
                        lines.append(line.rstrip())
                        line = ""
                    line += c
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
        if line.strip() or not lines:
            lines.append(line.rstrip())
        return lines


_NO_BREAK = set("，。；：、）」』》？！,.;:!?)%")


def _tokens(text: str) -> list[str]:
    """Latin words (with their trailing space) and single CJK characters."""
    out: list[str] = []
    word = ""
    for c in text:
        if ord(c) < 0x2E80 and not c.isspace():
            word += c
            continue
        if word:
            out.append(word)
            word = ""
        if c.isspace():
            if out:
                out[-1] += c
            else:
                out.append(c)
        else:
            out.append(c)
    if word:
        out.append(word)
    return out

"""One message catalogue for every user-facing string, Chinese first.

Messages live in TOML files under ``territory/locales/`` (one file per area:
``errors.toml``, ``ui.toml``, ...). Each key is a table with a ``zh`` and an
``en`` string, formatted with ``str.format`` fields::

    [err.missing_column]
    zh = "缺少必需的列“{column}”"
    en = "required column '{column}' is missing"

Examples
--------
>>> from territory.i18n import t
>>> t("lang.name", "zh")
'中文'
>>> t("lang.name", "en")
'English'
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

__all__ = ["LANGS", "Message", "catalogue", "check_lang", "t"]

LANGS: tuple[str, ...] = ("zh", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Return ``{key: {"zh": ..., "en": ...}}`` merged from every locale file.

    Raises
    ------
    RuntimeError
        If two files define the same key or a key lacks a language.
    """
    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    root = resources.files("territory") / "locales"
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        for key, value in _flatten(data):
            if key in merged:
                raise RuntimeError(f"message {key!r} defined in {origin[key]} and {entry.name}")
            missing = [lang for lang in LANGS if lang not in value]
            if missing:
                raise RuntimeError(f"message {key!r} in {entry.name} lacks {missing}")
            merged[key] = value
            origin[key] = entry.name
    return merged


def _flatten(table: dict, prefix: str = ""):
    for key, value in table.items():
        full = f"{prefix}{key}"
        if not isinstance(value, dict):
            raise RuntimeError(f"message {full!r} must be a table with zh and en")
        texts = {k: v for k, v in value.items() if k in LANGS}
        if texts:
            yield full, texts
        children = {k: v for k, v in value.items() if k not in LANGS}
        if children:
            yield from _flatten(children, f"{full}.")


def check_lang(lang: str | None) -> str:
    """Return ``lang`` if supported, else ``"zh"`` (the default language)."""
    return lang if lang in LANGS else "zh"


def t(key: str, lang: str | None = "zh", /, **fields: object) -> str:
    """Return message ``key`` in ``lang`` with ``fields`` filled in.

    An unknown key raises ``KeyError``: a missing message is a bug, and the
    test suite checks that every key used in the code exists.
    """
    text = catalogue()[key][check_lang(lang)]
    return text.format(**fields) if fields else text


class Message:
    """A catalogue message whose language is chosen later (when it is shown).

    >>> m = Message("cli.valid")
    >>> m.text("zh"), str(m)
    ('工作区检查通过。', 'The workspace is valid.')
    """

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields

    def text(self, lang: str | None = "zh") -> str:
        """The message in ``lang``."""
        return t(self.key, lang, **self.fields)

    def __str__(self) -> str:
        return self.text("en")

    def __repr__(self) -> str:
        return f"Message({self.key!r}, **{self.fields!r})"

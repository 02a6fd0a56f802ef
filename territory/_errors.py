"""Problems found in a workspace, and the one error that lists them.

Validation never stops at the first problem: every loader collects
:class:`Problem` records and raises a single :class:`LayerError` at the end.
A problem names the file, the row as the user counts it (row 1 is the
header in a table, so the first record is row 2; features are counted from
1), the column, what was found, what was expected and how to fix it, in
Chinese or English.

Examples
--------
>>> p = Problem("zones.geojson", "err.not_number", column="population", rows=(2,),
...             row_kind="feature", ids=("002",), fields={"found": "很多"})
>>> print(p.render("en"))
zones.geojson, feature 2 (id 002), column population: expected a number, found '很多'. Fix: write digits only (thousands separators allowed), no units or words
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from territory.i18n import Message, check_lang, t

__all__ = [
    "ERROR",
    "NOTICE",
    "WARNING",
    "LayerError",
    "Problem",
    "ProblemList",
    "render_problems",
]

#: Stops loading: exit 2, nothing written.
ERROR = "error"
#: Loading goes on, but results may be wrong until the user looks: shown by every command.
WARNING = "warning"
#: For the record (a repair, a skipped title row): shown by ``validate`` and ``import``.
NOTICE = "notice"
_ORDER = {ERROR: 0, WARNING: 1, NOTICE: 2}

#: At most this many rows are named one by one for one kind of problem in one column.
MAX_ROWS_LISTED = 10


@dataclass(frozen=True)
class Problem:
    """One problem in one place of one file.

    ``key`` names a message in the catalogue (``territory/locales/errors.toml``);
    ``key + ".fix"`` is the fix. ``fields`` fill both. ``rows`` lists every
    row with the same problem (the message names the first few and counts
    the rest), so a million bad rows stay one readable line.
    """

    file: str
    key: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    row_kind: str = "row"
    severity: str = ERROR
    fields: dict[str, Any] = field(default_factory=dict)
    ids: tuple[str, ...] = ()

    @property
    def row(self) -> int | None:
        """The first row with this problem, or None for a file-level problem."""
        return self.rows[0] if self.rows else None

    def message(self, lang: str = "zh") -> str:
        """What was found and what was expected."""
        return t(self.key, lang, column=self.column, **self._fields(lang))

    def fix(self, lang: str = "zh") -> str:
        """How to fix it."""
        return t(f"{self.key}.fix", lang, column=self.column, **self._fields(lang))

    def _fields(self, lang: str) -> dict[str, Any]:
        """The fields, with catalogue messages (:class:`~territory.i18n.Message`) in ``lang``."""
        return {k: v.text(lang) if isinstance(v, Message) else v for k, v in self.fields.items()}

    def where(self, lang: str = "zh") -> str:
        """File, rows and column, as the user would look them up."""
        lang = check_lang(lang)
        parts = [self.file]
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_LISTED])
            more = len(self.rows) - MAX_ROWS_LISTED
            rows = t(
                f"where.{self.row_kind}s" if len(self.rows) > 1 else f"where.{self.row_kind}",
                lang,
                rows=shown,
            )
            if self.ids:
                rows += t("where.ids", lang, ids=", ".join(self.ids[:MAX_ROWS_LISTED]))
            if more > 0:
                rows += t("where.more", lang, n=more)
            parts.append(rows)
        if self.column:
            parts.append(t("where.column", lang, column=self.column))
        return t("where.sep", lang).join(parts)

    def render(self, lang: str = "zh") -> str:
        """One line: where, what, and how to fix."""
        return t(
            "problem.line",
            lang,
            where=self.where(lang),
            message=self.message(lang),
            fix=self.fix(lang),
        )

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """Plain data for JSON output and the app's validation table."""
        return {
            "severity": self.severity,
            "file": self.file,
            "row": self.row,
            "rows": list(self.rows),
            "row_kind": self.row_kind,
            "ids": list(self.ids),
            "column": self.column,
            "code": self.key,
            "message": self.message(lang),
            "fix": self.fix(lang),
        }


class ProblemList(list):
    """A list of problems with helpers to add them."""

    def add(
        self,
        file: str,
        key: str,
        *,
        column: str | None = None,
        rows: Iterable[int] = (),
        row_kind: str = "row",
        severity: str = ERROR,
        **fields: Any,
    ) -> None:
        """Append a problem; ``rows`` are the user's row numbers."""
        self.append(
            Problem(
                file,
                key,
                column=column,
                rows=tuple(int(r) for r in rows),
                row_kind=row_kind,
                severity=severity,
                fields=fields,
            )
        )

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop loading."""
        return [p for p in self if p.severity == ERROR]

    @property
    def notices(self) -> list[Problem]:
        """The problems that are reported but do not stop loading (warnings included)."""
        return [p for p in self if p.severity != ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that do not stop loading but may make results wrong."""
        return [p for p in self if p.severity == WARNING]


def render_problems(problems: Sequence[Problem], lang: str = "zh") -> str:
    """Render problems one per line, errors first, then warnings, then notices."""
    ordered = sorted(problems, key=lambda p: _ORDER.get(p.severity, 3))
    return "\n".join(f"{t('severity.' + p.severity, lang)} {p.render(lang)}" for p in ordered)


class LayerError(ValueError):
    """The workspace has problems that must be fixed before it can be used.

    ``problems`` lists every problem found (errors and notices); ``str()``
    renders them in ``lang``.
    """

    def __init__(self, problems: Sequence[Problem], lang: str = "zh") -> None:
        # Errors first, then warnings, then notices (each kind in the order found).
        self.problems = sorted(problems, key=lambda p: _ORDER.get(p.severity, 3))
        self.lang = check_lang(lang)
        n = len([p for p in self.problems if p.severity == ERROR])
        head = t("problem.header", self.lang, n=n)
        super().__init__(f"{head}\n{render_problems(self.problems, self.lang)}")

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop loading."""
        return [p for p in self.problems if p.severity == ERROR]

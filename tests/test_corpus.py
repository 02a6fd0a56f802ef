"""Issue 13's corpus: single-defect workspaces of eight classes, none silently wrong.

Every case of ``tests/_corpus.py`` runs through the command line as a user
would: exit 2 naming file, row/column and fix with not one byte of the
workspace changed, or exit 0 with a warning that names the problem, or (for
legitimate but unusual input) exit 0 with the value read right and no false
alarm. With the 61 cases of ``test_bad_input.py`` the corpus holds more than
150 workspaces, in both languages.
"""

from __future__ import annotations

from collections import Counter

import pytest
from _corpus import CASES, CLASSES, lang_of, run


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CASES)), ids=[f"{c.cls}-{c.id}" for c in CASES]
)
def test_single_defect_workspace(index, case, tmp_path):
    outcome, detail = run(case, tmp_path, lang_of(index, case))
    assert outcome == "ok", f"{case.id}: {outcome}\n{detail}"


def test_the_corpus_covers_every_class_in_both_languages():
    per_class = Counter(c.cls for c in CASES)
    assert set(per_class) == set(CLASSES)
    assert all(n >= 7 for n in per_class.values()), per_class
    langs = {(c.cls, lang_of(i, c)) for i, c in enumerate(CASES)}
    assert all((cls, lang) in langs for cls in CLASSES for lang in ("zh", "en"))
    defects = [c for c in CASES if not c.id.startswith("ok_")]
    assert len(defects) + 61 >= 150  # with the 61 cases of test_bad_input.py
    assert len({c.id for c in CASES}) == len(CASES)

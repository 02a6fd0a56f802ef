"""Printed territory maps: an overview and, per consultant, the territory outlined and its zones."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
from PIL import Image
from test_printing import pdf_pages, pdf_text
from test_territories import grid_workspace

from territory.cli import main
from territory.render.maps import TERRITORY_COLOURS


def render(path, page: int, dpi: int = 40) -> np.ndarray:
    png = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def near(image: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).sum(axis=2) < tol).sum())


def test_every_consultant_gets_a_map_with_the_territory_outlined_in_both_languages(
    tmp_path, capsys
):
    ws = grid_workspace(tmp_path / "ws")
    assert main(["split", str(ws), "--consultants", "张伟,李娜,王强,刘洋"]) == 0
    capsys.readouterr()
    for lang, overview, title in (
        ("zh", "顾问分区总览", "{} 的责任区"),
        ("en", "Consultant territories", "Territory of {}"),
    ):
        out = tmp_path / f"territories-{lang}.pdf"
        assert (
            main(
                [
                    "print",
                    str(ws),
                    "--consultant",
                    "all",
                    "--out",
                    str(out),
                    "--lang",
                    lang,
                    "--json",
                ]
            )
            == 0
        )
        doc = json.loads(capsys.readouterr().out)
        # Overview, then map + zone list for each of the four.
        assert doc["pages"] == 9 == len(pdf_pages(out))
        assert [c["consultant"] for c in doc["consultants"]] == ["张伟", "李娜", "王强", "刘洋"]
        assert [c["first_page"] for c in doc["consultants"]] == [2, 4, 6, 8]
        assert doc["balance_index"] == 100.0
        assert overview in pdf_text(out, 1)
        for i, c in enumerate(doc["consultants"]):
            text = pdf_text(out, c["first_page"])
            assert title.format(c["consultant"]) in text
            listed = pdf_text(out, c["first_page"] + 1)
            assert sum(f"r{j}c{k}" in listed for j in range(4) for k in range(4)) == 4
            # The territory's outline is drawn in its consultant's colour, thickly.
            assert near(render(out, c["first_page"]), TERRITORY_COLOURS[i]) > 200


def test_one_consultant_prints_alone_and_bad_names_are_refused(tmp_path, capsys):
    ws = grid_workspace(tmp_path / "ws")
    out = tmp_path / "t.pdf"
    assert main(["print", str(ws), "--consultant", "all", "--out", str(out), "--lang", "en"]) == 2
    assert "no consultant territories yet" in capsys.readouterr().err
    assert not out.exists()
    main(["split", str(ws), "--consultants", "A,B"])
    capsys.readouterr()
    assert main(["print", str(ws), "--consultant", "Z", "--out", str(out), "--lang", "en"]) == 2
    assert "no consultant 'Z'" in capsys.readouterr().err
    assert (
        main(["print", str(ws), "--consultant", "B", "--out", str(out), "--json", "--lang", "en"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["pages"] == 2 and doc["consultants"][0]["consultant"] == "B"
    assert "Territory of B" in pdf_text(out, 1) and "Territory of A" not in pdf_text(out)

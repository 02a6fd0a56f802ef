"""The territory command: exit codes, messages, JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ZONES, make_workspace, zones_geojson

from territory.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "territory.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_validate_valid_workspace(tiny_ws, capsys):
    assert main(["validate", str(tiny_ws)]) == 0
    err = capsys.readouterr().err
    assert "工作区检查通过" in err


def test_validate_json(tiny_ws, capsys):
    assert main(["validate", str(tiny_ws), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert {r["layer"]: r["rows"] for r in doc["layers"]}["zones"] == 4


def test_missing_zone_type_exits_2_and_names_the_column(tmp_path):
    zones = [{k: v for k, v in z.items() if k != "zone_type"} for z in ZONES]
    root = make_workspace(tmp_path / "ws", zones=zones_geojson(zones))
    before = sorted(p.name for p in root.iterdir())
    result = run("validate", str(root), "--lang", "en")
    assert result.returncode == 2
    assert "zones.geojson" in result.stderr and "zone_type" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in root.iterdir()) == before  # nothing written


def test_import_on_invalid_workspace_writes_nothing(tmp_path, capsys):
    root = make_workspace(tmp_path / "ws", cards="card_type,date\nZ,2026-01-01\n")
    before = sorted(p.name for p in root.iterdir())
    assert main(["import", str(root), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["problems"][0]["file"] == "cards.csv"
    assert doc["problems"][0]["row"] == 2
    assert sorted(p.name for p in root.iterdir()) == before


def test_import_writes_the_store(tiny_ws, capsys):
    assert main(["import", str(tiny_ws)]) == 0
    assert (tiny_ws / "territory.gpkg").exists()


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope"), "--lang", "en"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_internal_errors_exit_1_without_traceback(tiny_ws, capsys, monkeypatch):
    import territory.inputs.workspace

    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(territory.inputs.workspace, "read_sources", boom)
    assert main(["validate", str(tiny_ws)]) == 1
    err = capsys.readouterr().err
    assert "kaput" in err and "Traceback" not in err


def test_bad_option_exits_2(capsys):
    assert main(["validate"]) == 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_help_in_both_languages(lang, capsys):
    assert main(["--lang", lang, "--help"]) == 0
    out = capsys.readouterr().out
    assert ("工作区" in out) if lang == "zh" else ("workspace" in out)


def test_export_command(tiny_ws, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(tiny_ws), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["masked"] is True
    assert "13812341234" not in (out / "customers.csv").read_text(encoding="utf-8-sig")


def test_coverage_command_json_and_export(tiny_ws, tmp_path, capsys):
    out = tmp_path / "coverage.xlsx"
    assert main(["coverage", str(tiny_ws), "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["by"] == "district"
    rows = {r["district"]: r for r in doc["rows"]}
    assert rows["武侯区"]["a_cards"] == 1 and rows["武侯区"]["deposit_cards"] == 1
    assert {
        "population",
        "customers",
        "deposit_rate",
        "a_cards_per_10k",
        "deposit_cards_per_10k",
        "diagnosis",
    } <= set(rows["武侯区"])
    assert out.exists()


def test_coverage_bad_date_is_a_clear_error(tiny_ws, capsys):
    assert main(["coverage", str(tiny_ws), "--start", "2026-13-01", "--lang", "en"]) == 2
    assert "invalid option" in capsys.readouterr().err

"""`imagora plugins` and the installed `imagora` script (one end-to-end subprocess run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog import __version__
from catalog.cli.main import cli
from harvesters.registry import harvesters


def plugin_rows() -> list[dict[str, str]]:
    result = CliRunner().invoke(cli, ["plugins", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_plugins_lists_harvesters_and_search_backends() -> None:
    rows = {(row["kind"], row["name"]): row for row in plugin_rows()}
    for name in ("dicom", "bids", "bruker"):
        assert ("harvester", name) in rows
    tantivy = rows[("search backend", "tantivy")]
    assert tantivy["status"] == "available"
    assert tantivy["detail"] == "catalog.search.tantivy_backend:TantivyBackend"


def test_plugins_names_the_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harvesters, "_targets", dict(harvesters._targets))
    harvesters.register("omero", "imagora_omero_plugin_absent.harvester:OmeroHarvester")
    rows = {row["name"]: row for row in plugin_rows() if row["kind"] == "harvester"}
    assert rows["omero"]["status"] == "unavailable"
    assert "'imagora_omero_plugin_absent'" in rows["omero"]["detail"]
    table = CliRunner().invoke(cli, ["plugins"]).stdout
    assert "omero" in table
    assert "unavailable" in table


def installed_script() -> Path:
    script = Path(sys.executable).parent / "imagora"
    if not script.exists():
        pytest.skip(f"{script} is not installed; run `pip install -e .`")
    return script


def test_installed_command_end_to_end(tmp_path: Path) -> None:
    script = installed_script()
    version = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert version.stdout.strip() == f"imagora, version {__version__}"
    missing = tmp_path / "no-such-folder"
    run = subprocess.run(
        [script, "--data-dir", str(tmp_path / "data"), "harvest", "bids", str(missing), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert str(missing) in run.stderr
    assert "Traceback" not in run.stderr
    token = subprocess.run(
        [
            script,
            "--data-dir",
            str(tmp_path / "data"),
            "tokens",
            "create",
            "--user",
            "ann",
            "--role",
            "admin",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("imt_")

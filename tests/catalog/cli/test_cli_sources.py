"""`imagora sources`: add, list, run by name and when due, remove."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Invoke

from harvesters.bruker.sample import write_sample_study


def test_sources_lifecycle(invoke: Invoke, tmp_path: Path) -> None:
    write_sample_study(tmp_path / "pv")
    added = invoke(
        "sources",
        "add",
        "rats",
        "bruker",
        str(tmp_path / "pv"),
        "--species",
        "rat",
        "--every",
        "6h",
    )
    assert added.exit_code == 0, added.stderr
    assert "every 360 min" in added.stdout

    listed = invoke("sources", "list", "--json")
    (source,) = json.loads(listed.stdout.strip().splitlines()[-1])
    assert (source["name"], source["options"], source["last_run"]) == (
        "rats",
        {"species": "rat"},
        None,
    )

    due = invoke("sources", "run", "--due", "--json")
    assert due.exit_code == 0, due.stderr
    (run,) = json.loads(due.stdout.strip().splitlines()[-1])
    assert run["name"] == "rats" and run["report"]["created"] == 6

    again = invoke("sources", "run", "--due")
    assert "no source is due" in again.stdout

    by_name = invoke("sources", "run", "rats", "--json")
    (rerun,) = json.loads(by_name.stdout.strip().splitlines()[-1])
    assert rerun["report"]["unchanged"] == 6

    assert invoke("sources", "remove", "rats").exit_code == 0
    assert json.loads(invoke("sources", "list", "--json").stdout.strip()) == []


def test_sources_refuse_bad_input(invoke: Invoke, tmp_path: Path) -> None:
    bad_interval = invoke("sources", "add", "x", "bids", str(tmp_path), "--every", "weekly")
    assert bad_interval.exit_code == 1
    assert "'weekly' is not like 30m, 6h or 1d" in bad_interval.stderr
    bad_option = invoke("sources", "add", "x", "bids", str(tmp_path), "-o", "colour=red")
    assert "does not take colour" in bad_option.stderr
    both = invoke("sources", "run", "x", "--due")
    assert both.exit_code == 2 and "NAME or --due" in both.stderr
    missing = invoke("sources", "run", "nope")
    assert missing.exit_code == 1 and "no harvest source named 'nope'" in missing.stderr

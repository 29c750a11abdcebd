"""What a new user reads first: `harvest --help`, `sources add --help`, `plugins`.

Every type a person harvests by hand is listed with what LOCATION is and a whole example
command line, both declared by the harvester itself; the compute bridge's own harvester
is left out of those lists but still shown by `imagora plugins`.
"""

from __future__ import annotations

import json
import re

from cli_support import Invoke

from catalog.cli.harvest import source_options
from catalog.services.harvest import HarvestService
from harvesters.registry import harvesters

BY_HAND = ("bids", "bruker", "ckan", "dicom", "shanoir", "xnat")


def types_section(text: str) -> dict[str, str]:
    """The `Types:` section of a help text: name -> its (unwrapped) description."""
    section = text.split("\nTypes:\n", 1)[1]
    rows: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        found = re.match(r"^  (\S+)\s+(.*)$", line)
        if found:
            name = found.group(1)
            rows[name] = found.group(2)
        elif line.startswith("    ") and name:
            rows[name] += " " + line.strip()
    return rows


def test_harvest_help_describes_every_type_with_a_real_example(invoke: Invoke) -> None:
    result = invoke("harvest", "--help")
    assert result.exit_code == 0, result.stderr
    rows = types_section(result.stdout)
    assert sorted(rows) == list(BY_HAND)  # compute is run by the compute bridge, not by hand
    for name, text in rows.items():
        summary, sep, example = text.partition(". Example: ")
        assert sep, f"{name} has no example: {text!r}"
        assert summary and summary.lower() != name, f"{name} has no description: {text!r}"
        assert "module docstring" not in summary
        assert example.startswith(f"imagora harvest {name} ")
        assert "..." not in example, f"{name}'s example is a placeholder: {example!r}"
        location = example.split()[3]
        assert not location.startswith("-"), example
    assert "imagora harvest xnat https://xnat.example.org --user alice" in rows["xnat"]
    assert "--project PRJ1" in rows["xnat"]
    assert "imagora harvest shanoir https://shanoir.example.org --user alice" in rows["shanoir"]
    assert "--study 12" in rows["shanoir"]
    assert "imagora harvest ckan https://ckan.example.org" in rows["ckan"]


def test_harvest_help_explains_the_full_re_read(invoke: Invoke) -> None:
    text = " ".join(invoke("harvest", "--help").stdout.split())
    assert "--full Re-read every item, not only those whose fingerprint changed" in text
    assert "Shanoir-NG has no update dates" in text


def test_every_example_uses_options_its_harvester_takes() -> None:
    """An example that the harvester would refuse ('does not take --x') is worse than none."""
    flags = {p.opts[0]: p.name for p in source_options(lambda **_: None).__click_params__}
    for info in HarvestService.user_kinds():
        words = info.example.replace('"$', "$").split()
        given = {flags[w] for w in words if w in flags}
        given |= {w.split("=", 1)[0] for w in words if "=" in w and not w.startswith("-")}
        fields = set(harvesters.get(info.name).Options.model_fields)
        assert given <= fields, (info.name, given - fields)


def test_sources_add_help_lists_the_types_and_keeps_secrets_out(invoke: Invoke) -> None:
    result = invoke("sources", "add", "--help")
    assert result.exit_code == 0, result.stderr
    rows = types_section(result.stdout)
    assert sorted(rows) == list(BY_HAND)
    assert all(text and text.lower() != name for name, text in rows.items())
    text = " ".join(result.stdout.split())
    assert "-o secrets_file=/etc/imagora/xnat.toml" in text
    assert "Harvest only this XNAT project id (xnat)" in text
    assert "Harvest only this Shanoir-NG study id (shanoir)" in text


def test_plugins_says_what_each_plugin_does_and_keeps_compute(invoke: Invoke) -> None:
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    compute = rows[("harvester", "compute")]
    assert compute["status"] == "available"
    assert "compute job's output/ folder" in compute["summary"]
    for (kind, name), row in rows.items():
        assert row["summary"] and row["summary"].lower() != name, (kind, name)
    assert rows[("harvester", "shanoir")]["summary"].startswith("a Shanoir-NG server by URL")


def test_an_unavailable_harvester_is_described_not_raised() -> None:
    harvesters.register("absent", "imagora_absent_plugin.harvester:AbsentHarvester")
    try:
        info = HarvestService.describe("absent")
        assert info.summary.startswith("unavailable: the harvester 'absent' is unavailable")
        assert "absent" in [i.name for i in HarvestService.user_kinds()]
    finally:
        harvesters._targets.pop("absent")

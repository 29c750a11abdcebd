"""`imagora search`, `show`, `access` and `index rebuild` against a real installation."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from cli_support import Invoke, Seeded


def search_json(invoke: Invoke, *args: str) -> dict:
    result = invoke("search", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_search_json_has_the_contract_shape(invoke: Invoke, seeded: Seeded) -> None:
    page = search_json(invoke, "hippocampus")
    assert page["total"] == 2
    assert {hit["id"] for hit in page["hits"]} == {seeded.collection_id, seeded.scan_id}
    for hit in page["hits"]:
        assert {"id", "title", "level"} <= set(hit)
    levels = {v["value"]: v for v in page["facets"]["level"]}
    assert levels["acquisition"] == {"value": "acquisition", "label": "acquisition", "count": 1}
    for values in page["facets"].values():
        for value in values:
            assert set(value) == {"value", "label", "count"}


def test_search_filters_and_level(invoke: Invoke, seeded: Seeded) -> None:
    page = search_json(invoke, "", "--filter", "modality=MR", "--level", "acquisition")
    assert [hit["id"] for hit in page["hits"]] == [seeded.scan_id]
    rolled = search_json(invoke, "", "--filter", "modality=MR")  # datasets hold it too
    assert seeded.scan_id in {hit["id"] for hit in rolled["hits"]} and rolled["total"] > 1
    page = search_json(invoke, "hippocampus", "--level", "collection")
    assert [hit["title"] for hit in page["hits"]] == ["Hippocampus atlas of the rat"]


def test_search_table_lists_hits_and_facets(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("search", "hippocampus")
    assert result.exit_code == 0
    assert "2 records" in result.stdout
    assert seeded.scan_id in result.stdout
    assert "Modality: MR (1)" in result.stdout


def test_search_rejects_bad_filters(invoke: Invoke, seeded: Seeded) -> None:
    malformed = invoke("search", "x", "--filter", "modality")
    assert malformed.exit_code == 2
    assert "--filter needs FIELD=VALUE" in malformed.stderr
    unknown = invoke("search", "x", "--filter", "colour=red")
    assert unknown.exit_code == 1
    assert "cannot filter on 'colour'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + unknown.stdout


def test_show_prints_the_record_as_json(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("show", seeded.scan_id, "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["id"] == seeded.scan_id
    assert record["imaging"]["modality"] == "MR"
    assert record["parents"][0]["id"] == seeded.collection_id
    assert record["access"]["record"] == "public"


def test_show_unknown_record_is_a_clear_error(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("show", "doesnotexist")
    assert result.exit_code == 1
    assert "no record with id 'doesnotexist'" in result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("exporters.registry") is None, reason="the exporters are missing"
)
@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("jsonld", '"@context"'),
        ("turtle", "dcat:Dataset"),
        ("datacite-xml", "<resource"),
        ("csl-json", '"type": "dataset"'),
        ("ris", "TY  - DATA"),
    ],
)
def test_show_other_formats_go_through_the_exporters(
    invoke: Invoke, seeded: Seeded, fmt: str, marker: str
) -> None:
    result = invoke("show", seeded.collection_id, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert marker in result.stdout
    assert "Hippocampus atlas of the rat" in result.stdout


def test_restricting_a_record_hides_it_from_anonymous_search(
    invoke: Invoke, seeded: Seeded
) -> None:
    result = invoke("access", seeded.collection_id, "--record", "restricted")
    assert result.exit_code == 0, result.stderr
    assert "record restricted, files open" in result.stdout
    assert search_json(invoke, "hippocampus")["total"] == 0  # the child inherits
    assert search_json(invoke, "hippocampus", "--all")["total"] == 2
    hidden = invoke("show", seeded.scan_id)
    assert hidden.exit_code == 1
    assert json.loads(invoke("show", seeded.scan_id, "--all", "--format", "json").stdout)["access"][
        "record"
    ] == ("restricted")


def test_embargo_needs_a_valid_end_date(invoke: Invoke, seeded: Seeded) -> None:
    missing = invoke("access", seeded.collection_id, "--files", "embargoed")
    assert missing.exit_code == 1
    assert "an embargo needs an end date" in missing.stderr
    bad = invoke("access", seeded.collection_id, "--files", "embargoed", "--until", "soon")
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.stderr
    ok = invoke("access", seeded.collection_id, "--files", "embargoed", "--until", "2031-02-03")
    assert ok.exit_code == 0
    assert "files embargoed until 2031-02-03" in ok.stdout
    page = search_json(invoke, "", "--filter", "access=embargoed")
    assert {hit["id"] for hit in page["hits"]} == {seeded.collection_id, seeded.scan_id}


def test_access_without_a_change_is_a_usage_error(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("access", seeded.collection_id)
    assert result.exit_code == 2
    assert "give at least one of --record, --files, --until" in result.stderr


def test_index_rebuild_restores_search_after_the_index_is_lost(
    invoke: Invoke, seeded: Seeded, data_dir: Path
) -> None:
    shutil.rmtree(data_dir / "index")
    result = invoke("index", "rebuild")
    assert result.exit_code == 0, result.stderr
    assert "indexed 2 records" in result.stdout
    page = search_json(invoke, "hippocampus")
    assert {hit["id"] for hit in page["hits"]} == {seeded.collection_id, seeded.scan_id}


def test_search_table_says_how_the_query_was_read(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("search", "hippocampus 3T")
    assert result.exit_code == 0
    assert "Understood as: hippocampus (concept" in result.stdout
    assert "field strength 3 T" in result.stdout
    typo = invoke("search", "hipocampus")
    assert "Did you mean: hippocampus" in typo.stdout

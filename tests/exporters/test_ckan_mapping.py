"""CKAN parameter translation and package dicts (the logic behind the Action API)."""

from __future__ import annotations

import pytest
from exporter_samples import BASE

from catalog.domain.errors import NotFoundError, QuerySyntaxError, ValidationError
from catalog.services.ckan import UnknownAction, failure, parse_fq, search_plan
from exporters.ckan import package, package_name


def test_parse_fq_clauses():
    assert parse_fq('modality:MR AND license_id:"CC-BY-4.0" tags:"spin echo"') == [
        ("modality", "MR"),
        ("license_id", "CC-BY-4.0"),
        ("tags", "spin echo"),
    ]
    assert parse_fq("") == []
    with pytest.raises(QuerySyntaxError, match="cannot parse fq at 'modality'"):
        parse_fq("modality")


def test_search_plan_maps_ckan_fields():
    plan = search_plan(
        {
            "q": "*:*",
            "fq": 'organization:bids res_format:DICOM license_id:CC0-1.0 tags:"T1w" type:dataset',
            "sort": "metadata_modified desc",
        }
    )
    assert plan.text == '"T1w"'
    assert plan.level == "collection"
    assert plan.sort == "updated"
    assert plan.filters == {
        "source": ["bids", "dicom", "xnat", "shanoir"],
        "license": ["CC0-1.0"],
    }
    assert search_plan({"fq": "level:acquisition"}).level is None
    assert search_plan({"sort": "title_string asc"}).sort == "title"


def test_search_plan_refuses_unknown_fields_and_sorts():
    with pytest.raises(QuerySyntaxError, match="cannot filter on 'colour'"):
        search_plan({"fq": "colour:red"})
    with pytest.raises(ValidationError, match="unsupported sort 'views desc'"):
        search_plan({"sort": "views desc"})


def test_package_dict(collection, context):
    pkg = package(collection, context)
    assert pkg["id"] == "rat-study"
    assert pkg["name"] == "rat-study"
    assert pkg["title"] == "Rat brain MRI at 9.4 T"
    assert pkg["notes"].startswith("Structural and functional MRI")
    assert (pkg["license_id"], pkg["license_title"]) == (
        "CC-BY-4.0",
        "Creative Commons Attribution 4.0 International",
    )
    assert pkg["url"] == f"{BASE}/records/rat-study"
    assert (pkg["type"], pkg["state"], pkg["private"]) == ("dataset", "active", False)
    assert [t["name"] for t in pkg["tags"]] == ["rat", "brain"]
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["doi"] == "10.5281/zenodo.123"
    assert extras["level"] == "collection"
    assert pkg["resources"][0]["format"] == "HTML"
    assert pkg["organization"]["name"] == "deposit"
    assert pkg["metadata_modified"].startswith("2025-03-04T10:30:00")


def test_package_resources_for_open_files(acquisition, embargoed, context):
    resources = package(acquisition, context)["resources"]
    assert [(r["url"], r["format"]) for r in resources] == [
        (f"{BASE}/records/rat-01-t2", "HTML"),
        ("https://data.example.org/rat/T2w.nii.gz", "NIfTI"),
    ]
    assert len(package(embargoed, context)["resources"]) == 1
    extras = {e["key"]: e["value"] for e in package(acquisition, context)["extras"]}
    assert (extras["modality"], extras["field_strength_t"], extras["species"]) == (
        "MR",
        "9.4",
        "Rattus norvegicus",
    )


def test_package_names_are_ckan_valid():
    assert package_name("Rat.Study_01") == "rat-study_01"
    assert package_name("a") == "record-a"


def test_error_shapes():
    assert failure(NotFoundError("no record with id 'x'")).status == 404
    assert failure(NotFoundError("gone")).error == {
        "__type": "Not Found Error",
        "message": "Not found: gone",
    }
    invalid = failure(ValidationError("Missing value: id", field="id"))
    assert (invalid.status, invalid.error["__type"], invalid.error["id"]) == (
        409,
        "Validation Error",
        ["Missing value: id"],
    )
    unknown = failure(UnknownAction("nope"))
    assert (unknown.status, unknown.error["message"]) == (
        400,
        "Bad request - Action name not known: nope",
    )

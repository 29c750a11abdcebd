"""The Zenodo publisher, only through HTTP against the loopback Zenodo."""

from __future__ import annotations

from pathlib import Path

import pytest
from publish_support import BASE, FakeClock, deposit_of, package_of, sample_record
from zenodo_server import ZenodoServer

from catalog.domain.errors import PublishRemoteError, ValidationError
from exporters.publishers.base import Checkpoint, PublishedVersion
from exporters.publishers.registry import publishers
from exporters.publishers.zenodo import ZenodoPublisher
from exporters.publishers.zenodo_metadata import zenodo_license, zenodo_metadata

FILES = {"dataset.zip": b"PK-fake-zip-" * 100, "manifest-sha256.txt": b"abc  x\n"}


def _publisher(server: ZenodoServer, clock: FakeClock, attempts: int = 6) -> ZenodoPublisher:
    return ZenodoPublisher(server.base_url, server.token, ("imaging",), clock.policy(attempts))


def _run(server, clock, deposit, checkpoint=None, attempts=6):  # type: ignore[no-untyped-def]
    checkpoint = checkpoint or Checkpoint()
    saved: list[dict] = []
    result = _publisher(server, clock, attempts).publish(
        deposit, checkpoint, lambda c: saved.append(c.to_json())
    )
    return result, checkpoint, saved


def test_first_version_follows_the_documented_flow(zenodo, clock, tmp_path: Path) -> None:
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES))
    result, _, saved = _run(zenodo, clock, deposit)
    [dep] = zenodo.depositions.values()
    assert result.doi == dep.doi == f"10.5072/zenodo.{dep.id}"
    assert result.concept_doi == f"10.5072/zenodo.{dep.concept}"
    assert result.url.endswith(f"/records/{dep.id}")
    assert dep.files["dataset.zip"] == FILES["dataset.zip"]
    methods = [(m, p.split("/")[-1]) for m, p, _ in zenodo.log]
    assert methods[0] == ("GET", "depositions")  # looks for a lost draft first
    assert ("POST", "depositions") in methods and ("POST", "publish") in methods
    assert [s["step"] for s in saved] == ["draft"] and saved[0]["remote_id"] == str(dep.id)
    assert zenodo.calls("POST", r".*/actions/publish")[0][2] == 202


def test_metadata_mapping(zenodo, clock, tmp_path: Path) -> None:
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES))
    _run(zenodo, clock, deposit)
    [dep] = zenodo.depositions.values()
    m = dep.metadata
    assert m["upload_type"] == "dataset"
    assert m["creators"] == [
        {"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Inria"}
    ]
    assert m["license"] == "cc-by-4.0" and m["access_right"] == "open"
    assert m["version"] == "1" and m["publication_date"] == "2026-12-02"
    assert m["description"].startswith("<p>Structural MRI")
    assert f'<a href="{BASE}/records/rat-study">' in m["description"]
    assert {
        "term": "Rattus norvegicus",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_10116",
        "scheme": "url",
    } in m["subjects"]
    assert {"identifier": "10.1234/paper", "relation": "isSupplementTo"} in m["related_identifiers"]
    assert {"identifier": f"{BASE}/records/rat-study", "relation": "isAlternateIdentifier"} in m[
        "related_identifiers"
    ]
    assert m["communities"] == [{"identifier": "imaging"}]
    assert m["grants"] == [{"id": "10.13039/501100000780::675191"}]
    assert "rat" in m["keywords"]


def test_embargoed_record_sends_access_right_and_date() -> None:
    record = sample_record(access={"files": "embargoed", "embargo_until": "2099-01-01"})
    m = zenodo_metadata(deposit_of(record, package_of_none()))
    assert m["access_right"] == "embargoed" and m["embargo_date"] == "2099-01-01"
    assert m["license"] == "cc-by-4.0"


def package_of_none():  # type: ignore[no-untyped-def]
    from exporters.publishers.base import Package

    return Package()


def test_licences_map_to_zenodo_ids_and_unknown_ones_are_refused() -> None:
    assert zenodo_license("CC0-1.0") == "cc0-1.0"
    with pytest.raises(ValidationError, match="no Zenodo equivalent") as info:
        zenodo_license("LicenseRef-mine")
    assert info.value.field == "license"


def test_validation_errors_reach_the_user(zenodo, clock, tmp_path: Path) -> None:
    deposit = deposit_of(sample_record(creators=[]), package_of(tmp_path, FILES))
    with pytest.raises(PublishRemoteError) as info:
        _run(zenodo, clock, deposit)
    assert "HTTP 400" in info.value.message
    assert ("metadata.creators", "Shorter than minimum length 1.") in info.value.problems
    assert "metadata.creators: Shorter than minimum length 1." in info.value.message


def test_429_waits_for_the_rate_limit_reset_and_409_backs_off(zenodo, clock, tmp_path) -> None:
    reset = int(clock.now) + 7
    zenodo.inject(
        "PUT",
        r"/api/deposit/depositions/\d+",
        "status",
        status=429,
        headers={
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
        body={"status": 429, "message": "Too many requests"},
    )
    zenodo.inject(
        "POST", r".*/actions/publish", "status", status=409, body={"status": 409, "message": "busy"}
    )
    zenodo.inject(
        "POST", r"/api/deposit/depositions", "status", status=429, headers={"Retry-After": "3"}
    )
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES))
    result, _, _ = _run(zenodo, clock, deposit)
    assert result.doi
    # Retry-After: 3 s; X-RateLimit-Reset is an epoch time 7 s after the start, 3 s of
    # which were already waited; the 409 has no header: the first backoff step
    assert clock.waits == [3.0, 4.0, 0.5]
    assert len(zenodo.depositions) == 1


def test_retries_give_up_with_the_service_message(zenodo, clock, tmp_path) -> None:
    zenodo.inject(
        "POST",
        r".*/actions/publish",
        "status",
        status=429,
        times=10,
        body={"status": 429, "message": "Too many requests"},
    )
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES))
    with pytest.raises(PublishRemoteError, match=r"HTTP 429.*Too many requests"):
        _run(zenodo, clock, deposit, attempts=3)
    assert len(clock.waits) == 2


@pytest.mark.parametrize(
    ("method", "pattern"),
    [
        ("POST", r"/api/deposit/depositions"),
        ("GET", r"/api/files/.+"),
        ("PUT", r"/api/files/.+/dataset.zip"),
        ("PUT", r"/api/deposit/depositions/\d+"),
        ("POST", r".*/actions/publish"),
    ],
)
@pytest.mark.parametrize("kind", ["drop-before", "drop-after"])
def test_a_network_failure_at_any_step_then_a_retry_makes_one_deposition(
    zenodo, clock, tmp_path, method, pattern, kind
) -> None:
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES))
    zenodo.inject(method, pattern, kind)
    checkpoint = Checkpoint()
    saved: list[dict] = []
    with pytest.raises(PublishRemoteError, match=r"could not reach Zenodo.*run the same publish"):
        _publisher(zenodo, clock).publish(deposit, checkpoint, lambda c: saved.append(c.to_json()))
    resumed = Checkpoint.from_json(saved[-1]) if saved else Checkpoint()
    result, _, _ = _run(zenodo, clock, deposit, resumed)
    assert len(zenodo.depositions) == 1
    [dep] = zenodo.depositions.values()
    assert dep.submitted and result.doi == dep.doi
    assert dep.files["dataset.zip"] == FILES["dataset.zip"]


def test_new_version_gets_a_new_doi_under_the_same_concept(zenodo, clock, tmp_path) -> None:
    first, _, _ = _run(zenodo, clock, deposit_of(sample_record(), package_of(tmp_path, FILES)))
    previous = PublishedVersion(1, first.remote_id, first.doi, first.concept_doi)
    files = {"dataset.zip": b"version two", "README.txt": b"new"}
    second_dir = tmp_path / "v2"
    second_dir.mkdir()
    deposit = deposit_of(sample_record(), package_of(second_dir, files), 2, previous)
    second, _, _ = _run(zenodo, clock, deposit)
    assert second.doi != first.doi and second.concept_doi == first.concept_doi
    new = zenodo.depositions[int(second.remote_id)]
    assert new.files == files  # the inherited manifest was removed, the zip replaced
    assert new.metadata["version"] == "2"
    assert len(zenodo.calls("POST", r".*/actions/newversion")) == 1


@pytest.mark.parametrize("kind", ["drop-before", "drop-after"])
def test_a_lost_newversion_answer_reuses_the_single_open_draft(
    zenodo, clock, tmp_path, kind
) -> None:
    first, _, _ = _run(zenodo, clock, deposit_of(sample_record(), package_of(tmp_path, FILES)))
    previous = PublishedVersion(1, first.remote_id, first.doi, first.concept_doi)
    deposit = deposit_of(sample_record(), package_of(tmp_path, FILES), 2, previous)
    zenodo.inject("POST", r".*/actions/newversion", kind)
    with pytest.raises(PublishRemoteError):
        _run(zenodo, clock, deposit)
    second, _, _ = _run(zenodo, clock, deposit)
    assert len(zenodo.depositions) == 2  # v1 and exactly one v2
    assert second.concept_doi == first.concept_doi and second.doi != first.doi


def test_registry_and_missing_token() -> None:
    from catalog.domain.errors import ConfigurationError
    from catalog.settings import Settings

    assert publishers.get("zenodo") is ZenodoPublisher
    with pytest.raises(ConfigurationError, match="IMAGORA_ZENODO_TOKEN"):
        ZenodoPublisher.from_settings(Settings(zenodo_token=""))

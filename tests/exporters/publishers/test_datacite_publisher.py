"""The DataCite publisher, only through HTTP against the loopback DataCite REST API."""

from __future__ import annotations

import pytest
from datacite_server import DataCiteServer
from publish_support import BASE, FakeClock, deposit_of, sample_record

from catalog.domain.errors import ConfigurationError, PublishRemoteError, ValidationError
from catalog.settings import Settings
from exporters.publishers.base import Checkpoint, Package
from exporters.publishers.datacite import DataCitePublisher


def _publisher(server: DataCiteServer, clock: FakeClock, **options) -> DataCitePublisher:  # type: ignore[no-untyped-def]
    return DataCitePublisher(
        server.base_url,
        "TEST.IMAGORA",
        options.pop("password", "secret"),
        server.prefix,
        clock.policy(),
        **options,
    )


def _run(server, clock, record, version=1, checkpoint=None, **options):  # type: ignore[no-untyped-def]
    checkpoint = checkpoint or Checkpoint()
    saved: list[dict] = []
    result = _publisher(server, clock, **options).publish(
        deposit_of(record, Package(), version), checkpoint, lambda c: saved.append(c.to_json())
    )
    return result, saved


def test_draft_then_publish_with_schema_46_attributes(datacite, clock) -> None:
    result, saved = _run(datacite, clock, sample_record())
    assert result.doi == "10.80000/imagora.rat-study.v1"
    assert result.concept_doi == "10.80000/imagora.rat-study"
    version = datacite.dois[result.doi]
    assert version["state"] == "findable"
    assert version["url"] == f"{BASE}/records/rat-study"
    assert version["types"] == {
        "resourceTypeGeneral": "Dataset",
        "resourceType": "Imaging collection",
    }
    assert version["creators"][0]["nameIdentifiers"][0] == {
        "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
        "nameIdentifierScheme": "ORCID",
        "schemeUri": "https://orcid.org",
    }
    assert version["publisher"] == {"name": "Imagora test"} and version["publicationYear"] == 2026
    assert {
        "relatedIdentifier": "10.80000/imagora.rat-study",
        "relatedIdentifierType": "DOI",
        "relationType": "IsVersionOf",
    } in version["relatedIdentifiers"]
    assert version["rightsList"][0]["rightsIdentifier"] == "cc-by-4.0"
    assert version["fundingReferences"][0]["awardNumber"] == "675191"
    concept = datacite.dois[result.concept_doi]
    assert concept["state"] == "findable"
    assert [r["relationType"] for r in concept["relatedIdentifiers"]].count("HasVersion") == 1
    # draft first (no event), then PUT with event publish
    assert [(m, s) for m, _, s in datacite.log[:2]] == [("POST", 201), ("PUT", 200)]
    assert [s["step"] for s in saved] == ["draft", "findable", "done"]


def test_new_version_updates_the_concept(datacite, clock) -> None:
    _run(datacite, clock, sample_record())
    result, _ = _run(datacite, clock, sample_record(title="Rat brain MRI, v2"), version=2)
    assert result.doi.endswith(".v2")
    concept = datacite.dois[result.concept_doi]
    assert concept["titles"] == [{"title": "Rat brain MRI, v2"}]
    assert sum(r["relationType"] == "HasVersion" for r in concept["relatedIdentifiers"]) == 2


@pytest.mark.parametrize("kind", ["drop-before", "drop-after"])
@pytest.mark.parametrize(("method", "pattern"), [("POST", "/dois"), ("PUT", r"/dois/.+\.v1")])
def test_a_lost_request_is_resumed_without_a_second_doi(
    datacite, clock, kind, method, pattern
) -> None:
    datacite.inject(method, pattern, kind)
    saved: list[dict] = []
    with pytest.raises(PublishRemoteError, match="could not reach DataCite"):
        _publisher(datacite, clock).publish(
            deposit_of(sample_record(), Package()),
            Checkpoint(),
            lambda c: saved.append(c.to_json()),
        )
    resumed = Checkpoint.from_json(saved[-1]) if saved else Checkpoint()
    result, _ = _run(datacite, clock, sample_record(), checkpoint=resumed)
    assert sorted(datacite.dois) == [result.concept_doi, result.doi]
    assert datacite.dois[result.doi]["state"] == "findable"


def test_datacite_errors_reach_the_user(datacite, clock) -> None:
    datacite.inject(
        "PUT",
        r"/dois/.+",
        "status",
        status=422,
        body={"errors": [{"source": "titles", "title": "Can't be blank"}]},
    )
    with pytest.raises(PublishRemoteError) as info:
        _run(datacite, clock, sample_record())
    assert info.value.problems == [("titles", "Can't be blank")]
    assert "titles: Can't be blank" in info.value.message


def test_bad_credentials_are_a_clear_error(datacite, clock) -> None:
    with pytest.raises(PublishRemoteError, match=r"HTTP 401.*Bad credentials"):
        _run(datacite, clock, sample_record(), password="wrong")


def test_xml_that_fails_the_xsd_is_never_sent(datacite, clock, tmp_path) -> None:
    strict = tmp_path / "strict.xsd"
    strict.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://datacite.org/schema/kernel-4">'
        '<xs:element name="other"/></xs:schema>'
    )
    with pytest.raises(ValidationError, match="does not validate"):
        _run(datacite, clock, sample_record(), xsd=strict)
    assert datacite.log == []


def test_settings_must_name_credentials_and_prefix() -> None:
    with pytest.raises(
        ConfigurationError, match="IMAGORA_DATACITE_PASSWORD, IMAGORA_DATACITE_PREFIX"
    ):
        DataCitePublisher.from_settings(Settings(datacite_user="X.Y"))

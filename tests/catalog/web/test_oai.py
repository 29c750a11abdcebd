"""OAI-PMH 2.0 at /oai, harvested by a real client (Sickle) from a loopback uvicorn server.

Three records per response, so every list needs resumption tokens. Every oai_datacite
payload is validated against the vendored DataCite 4.6 XSD.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from live import serving
from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator
from web_factories import Ids, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.domain.records import AccessUpdate, RecordCreate, RecordUpdate
from catalog.services.container import Catalog
from catalog.services.oai import OaiError, OaiService
from catalog.web.app import create_app

XSD = Path(__file__).resolve().parents[2] / "data" / "datacite-4.6" / "metadata.xsd"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DATACITE = "{http://schema.datacite.org/oai/oai-1.1/}"
KERNEL = "{http://datacite.org/schema/kernel-4}"
DC = "{http://purl.org/dc/elements/1.1/}"
PUBLIC = {"rat-study", "rat-01", "rat-01-ses-1", "rat-01-t2", "rat-01-pet"}
PUBLIC |= {f"rat-01-epi-{n:03d}" for n in range(4)}
HIDDEN = {"secret-study", "secret-scan"}


def oai_id(record_id: str) -> str:
    return f"oai:testserver:{record_id}"


def bare(identifier: str) -> str:
    return identifier.removeprefix("oai:testserver:")


@pytest.fixture(scope="module")
def oai_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Catalog, Ids]]:
    settings = make_settings(tmp_path_factory.mktemp("oai") / "data", oai_page_size=3)
    catalog = Catalog.open(settings)
    ids = populate(catalog, extra_scans=4)
    yield catalog, ids
    catalog.close()


@pytest.fixture(scope="module")
def endpoint(oai_catalog: tuple[Catalog, Ids]) -> Iterator[str]:
    with serving(create_app(catalog=oai_catalog[0])) as url:
        yield f"{url}/oai"


@pytest.fixture(scope="module")
def sickle(endpoint: str) -> Sickle:
    return Sickle(endpoint, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def datacite_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_identify(sickle: Sickle) -> None:
    identify = sickle.Identify()
    assert identify.repositoryName.startswith("Imagora")
    assert identify.baseURL == "http://testserver/oai"
    assert identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.adminEmail == "admin@example.org"
    datetime.strptime(identify.earliestDatestamp, "%Y-%m-%dT%H:%M:%SZ")


def test_metadata_formats_and_sets(sickle: Sickle) -> None:
    formats = {f.metadataPrefix: f.metadataNamespace for f in sickle.ListMetadataFormats()}
    assert formats == {
        "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
        "oai_datacite": "http://schema.datacite.org/oai/oai-1.1/",
    }
    specs = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert specs["openaire_data"] == "OpenAIRE"
    assert {"collection", "acquisition", "publication"} <= set(specs)
    one = list(sickle.ListMetadataFormats(identifier=oai_id("rat-01-t2")))
    assert len(one) == 2
    with pytest.raises(oaiexceptions.IdDoesNotExist, match="no public record"):
        list(sickle.ListMetadataFormats(identifier=oai_id("secret-study")))


def test_full_harvest_with_resumption_tokens(
    sickle: Sickle, datacite_schema: etree.XMLSchema
) -> None:
    records = list(sickle.ListRecords(metadataPrefix="oai_datacite"))
    live = {bare(r.header.identifier): r for r in records if not r.header.deleted}
    deleted = {bare(r.header.identifier) for r in records if r.header.deleted}
    assert set(live) == PUBLIC
    assert deleted == {"gone"}
    assert len(records) == len(PUBLIC) + 1  # nothing twice
    for record in live.values():
        envelope = record.xml.find(f".//{OAI_DATACITE}oai_datacite")
        assert envelope.findtext(f"{OAI_DATACITE}schemaVersion") == "4.6"
        assert envelope.findtext(f"{OAI_DATACITE}datacentreSymbol") == "IMAGORA"
        resource = envelope.find(f"{OAI_DATACITE}payload/{KERNEL}resource")
        datacite_schema.assertValid(etree.fromstring(etree.tostring(resource)))
    study = live["rat-study"].xml.find(f".//{KERNEL}resource")
    assert study.findtext(f"{KERNEL}identifier") == "10.5281/zenodo.123"
    rights = [r.get("rightsURI") for r in study.iter(f"{KERNEL}rights")]
    assert "info:eu-repo/semantics/openAccess" in rights
    assert study.find(f"{KERNEL}dates") is not None
    assert study.find(f"{KERNEL}descriptions") is not None


def test_resumption_token_attributes(endpoint: str) -> None:
    pages = Sickle(endpoint, iterator=OAIResponseIterator).ListIdentifiers(metadataPrefix="oai_dc")
    tokens = []
    for response in pages:
        element = response.xml.find(f".//{OAI}resumptionToken")
        tokens.append(element)
    total = len(PUBLIC) + 1
    assert [t.get("cursor") for t in tokens] == ["0", "3", "6", "9"]
    assert {t.get("completeListSize") for t in tokens} == {str(total)}
    assert all(t.get("expirationDate", "").endswith("Z") for t in tokens[:-1])
    assert tokens[-1].text is None  # the last response carries an empty token
    assert all(t.text for t in tokens[:-1])


def test_openaire_set_and_oai_dc(sickle: Sickle) -> None:
    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_datacite", set="openaire_data"))
    assert [bare(h.identifier) for h in headers if not h.deleted] == ["rat-study"]
    assert all("openaire_data" in h.setSpecs for h in headers)
    record = sickle.GetRecord(identifier=oai_id("rat-study"), metadataPrefix="oai_dc")
    dc = record.xml.find(f".//{DC}title").getparent()
    assert dc.findtext(f"{DC}title") == "Rat brain MRI at 9.4 T"
    assert dc.findtext(f"{DC}creator") == "Jane Doe"
    identifiers = [e.text for e in dc.iter(f"{DC}identifier")]
    assert identifiers == [
        "https://doi.org/10.5281/zenodo.123",
        "http://testserver/records/rat-study",
    ]
    rights = [e.text for e in dc.iter(f"{DC}rights")]
    assert rights == [
        "info:eu-repo/semantics/openAccess",
        "https://spdx.org/licenses/CC-BY-4.0",
    ]


def test_get_record_errors(sickle: Sickle) -> None:
    with pytest.raises(oaiexceptions.IdDoesNotExist, match="no public record"):
        sickle.GetRecord(identifier=oai_id("secret-scan"), metadataPrefix="oai_dc")
    with pytest.raises(oaiexceptions.IdDoesNotExist, match="not an identifier of this"):
        sickle.GetRecord(identifier="oai:elsewhere:rat-study", metadataPrefix="oai_dc")
    with pytest.raises(oaiexceptions.CannotDisseminateFormat, match="'marc21' is not offered"):
        sickle.GetRecord(identifier=oai_id("rat-study"), metadataPrefix="marc21")
    deleted = sickle.GetRecord(identifier=oai_id("gone"), metadataPrefix="oai_dc")
    assert deleted.header.deleted
    assert deleted.xml.find(f"{OAI}metadata") is None


def test_restricted_records_never_appear(sickle: Sickle) -> None:
    for prefix in ("oai_dc", "oai_datacite"):
        seen = {bare(h.identifier) for h in sickle.ListIdentifiers(metadataPrefix=prefix)}
        assert not seen & HIDDEN


def _error(client: TestClient, **params: str | list[str]) -> tuple[str, str, etree._Element]:
    response = client.get("/oai", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    error = root.find(f"{OAI}error")
    assert error is not None, response.text
    return error.get("code"), error.text, root.find(f"{OAI}request")


@pytest.fixture(scope="module")
def client(oai_catalog: tuple[Catalog, Ids]) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=oai_catalog[0])) as c:
        yield c


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({}, "badVerb", "the verb is missing"),
        ({"verb": "Harvest"}, "badVerb", "the verb is 'Harvest'"),
        ({"verb": ["Identify", "Identify"]}, "badVerb", "the verb is missing"),
        ({"verb": "ListRecords"}, "badArgument", "ListRecords needs: metadataPrefix"),
        ({"verb": "Identify", "set": "x"}, "badArgument", "Identify does not take: set"),
        (
            {"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]},
            "badArgument",
            "repeated argument: metadataPrefix",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-13-01"},
            "badArgument",
            "'from' must be a UTC date",
        ),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2026-01-01",
                "until": "2026-02-01T00:00:00Z",
            },
            "badArgument",
            "same granularity",
        ),
        (
            {"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"},
            "badArgument",
            "exclusive",
        ),
        (
            {
                "verb": "ListIdentifiers",
                "metadataPrefix": "oai_dc",
                "from": "2026-02-01T00:00:00Z",
                "until": "2026-01-01T00:00:00Z",
            },
            "badArgument",
            "is later than 'until'",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat", "mods"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
            "noRecordsMatch",
            "no records match",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "nope"},
            "noRecordsMatch",
            "there is no set 'nope'",
        ),
        ({"verb": "ListRecords", "resumptionToken": "abc.def"}, "badResumptionToken", "not one"),
        ({"verb": "ListRecords", "resumptionToken": "garbage"}, "badResumptionToken", "not one"),
        ({"verb": "ListSets", "resumptionToken": "abc"}, "badResumptionToken", "complete"),
    ],
)
def test_protocol_errors(client: TestClient, params: dict, code: str, message: str) -> None:
    got_code, text, request = _error(client, **params)
    assert (got_code, message in text) == (code, True), text
    if code in ("badVerb", "badArgument"):
        assert request.attrib == {}  # OAI-PMH 3.2: no attributes with these errors
    assert request.text == "http://testserver/oai"


def test_post_requests_are_accepted(client: TestClient) -> None:
    response = client.post("/oai", data={"verb": "Identify"})
    assert b"<protocolVersion>2.0</protocolVersion>" in response.content


def test_token_for_another_verb_and_expired_tokens(oai_catalog: tuple[Catalog, Ids]) -> None:
    catalog = oai_catalog[0]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    now = [start]
    service = OaiService(
        catalog.uow, catalog.records, catalog.exports, page_size=2, clock=lambda: now[0]
    )
    first = service.list_page(service.list_request("ListIdentifiers", {"metadataPrefix": "oai_dc"}))
    token = first.token.value
    assert first.token.expires == start + timedelta(hours=1)
    with pytest.raises(OaiError, match="continues ListIdentifiers, not ListRecords"):
        service.resume("ListRecords", token)
    now[0] = start + timedelta(hours=1, seconds=1)
    with pytest.raises(OaiError, match="has expired") as caught:
        service.resume("ListIdentifiers", token)
    assert caught.value.code == "badResumptionToken"


def test_from_until_at_second_granularity(tmp_path: Path) -> None:
    catalog = Catalog.open(make_settings(tmp_path / "data", oai_page_size=2))
    try:
        stamps = {}
        for number in range(4):
            record = RecordCreate(id=f"c{number}", level="collection", title=f"Study {number}")
            catalog.records.create(SYSTEM, record)
            stamps[f"c{number}"] = datetime(2026, 5, 1, 12, 0, number * 10, 250_000, tzinfo=UTC)
        with catalog.uow() as uow:
            for record_id, stamp in stamps.items():
                stored = uow.records.get(record_id)
                stored.updated = stamp
                uow.records.save(stored, snapshot=False)
            uow.commit()
        with TestClient(create_app(catalog=catalog)) as client:

            def listed(**window: str) -> list[str]:
                params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", **window}
                root = etree.fromstring(client.get("/oai", params=params).content)
                return [e.text for e in root.iter(f"{OAI}identifier")]

            assert listed(**{"from": "2026-05-01T12:00:10Z", "until": "2026-05-01T12:00:20Z"}) == [
                oai_id("c1"),
                oai_id("c2"),
            ]
            assert listed(**{"from": "2026-05-01T12:00:11Z"}) == [oai_id("c2"), oai_id("c3")]
            assert listed(**{"until": "2026-05-01T12:00:09Z"}) == [oai_id("c0")]
            assert len(listed(**{"from": "2026-05-01", "until": "2026-05-01"})) == 2
            root = etree.fromstring(
                client.get(
                    "/oai",
                    params={
                        "verb": "GetRecord",
                        "metadataPrefix": "oai_dc",
                        "identifier": oai_id("c1"),
                    },
                ).content
            )
            assert root.findtext(f".//{OAI}datestamp") == "2026-05-01T12:00:10Z"
    finally:
        catalog.close()


def test_tokens_stay_stable_while_records_change(tmp_path: Path) -> None:
    """A record changed or added mid-harvest moves past the frozen window: the pages
    already promised neither shift nor repeat, and the count stays what was announced."""
    catalog = Catalog.open(make_settings(tmp_path / "data", oai_page_size=3))
    try:
        for number in range(7):
            record = RecordCreate(id=f"s{number}", level="collection", title=f"Study {number}")
            catalog.records.create(SYSTEM, record)
        with serving(create_app(catalog=catalog)) as url:
            sickle = Sickle(f"{url}/oai", iterator=OAIResponseIterator)
            pages = sickle.ListIdentifiers(metadataPrefix="oai_dc")
            first = next(pages)
            seen = [e.text for e in first.xml.iter(f"{OAI}identifier")]
            assert seen == [oai_id("s0"), oai_id("s1"), oai_id("s2")]
            catalog.records.update(SYSTEM, "s1", RecordUpdate(title="Study one, edited"))
            catalog.records.update(SYSTEM, "s4", RecordUpdate(title="Study four, edited"))
            catalog.records.create(SYSTEM, RecordCreate(id="s9", level="collection", title="New"))
            sizes = set()
            for response in pages:
                seen += [e.text for e in response.xml.iter(f"{OAI}identifier")]
                sizes.add(response.xml.find(f".//{OAI}resumptionToken").get("completeListSize"))
            assert sizes == {"7"}
            assert len(seen) == len(set(seen))  # nothing twice
            assert set(seen) == {oai_id(f"s{n}") for n in (0, 1, 2, 3, 5, 6)}
            # the next incremental harvest from the first response's date gets the changes
            later = {
                bare(h.identifier)
                for h in Sickle(f"{url}/oai").ListIdentifiers(
                    metadataPrefix="oai_dc", **{"from": first.xml.findtext(f"{OAI}responseDate")}
                )
            }
            assert {"s1", "s4", "s9"} <= later
    finally:
        catalog.close()


def test_records_that_stop_being_public_become_deleted_records(tmp_path: Path) -> None:
    """Restricting a public study answers it and its children as deleted records (so
    aggregators drop them); opening it again brings them back; a record restricted from
    the start never shows up at all."""
    catalog = Catalog.open(make_settings(tmp_path / "data", oai_page_size=2))
    try:
        ids = populate(catalog)
        with TestClient(create_app(catalog=catalog)) as client:

            def headers() -> dict[str, bool]:
                found: dict[str, bool] = {}
                params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
                while True:
                    root = etree.fromstring(client.get("/oai", params=params).content)
                    for header in root.iter(f"{OAI}header"):
                        identifier = bare(header.findtext(f"{OAI}identifier"))
                        found[identifier] = header.get("status") == "deleted"
                    token = root.findtext(f".//{OAI}resumptionToken")
                    if not token:
                        return found
                    params = {"verb": "ListIdentifiers", "resumptionToken": token}

            before = headers()
            assert before[ids.t2] is False and ids.secret not in before
            catalog.records.set_access(SYSTEM, ids.study, AccessUpdate(record="restricted"))
            after = headers()
            branch = {ids.study, ids.subject, ids.session, ids.t2, ids.pet}
            assert {i for i, deleted in after.items() if deleted} == branch | {ids.gone}
            assert set(after) == set(before)  # nothing new revealed, nothing vanished
            assert ids.secret not in after and ids.secret_scan not in after
            params = {"verb": "GetRecord", "metadataPrefix": "oai_datacite"}
            root = etree.fromstring(
                client.get("/oai", params={**params, "identifier": oai_id(ids.t2)}).content
            )
            assert root.find(f".//{OAI}header").get("status") == "deleted"
            assert root.find(f".//{OAI}metadata") is None
            catalog.records.set_access(SYSTEM, ids.study, AccessUpdate(record="public"))
            again = headers()
            assert {i for i, deleted in again.items() if deleted} == {ids.gone}
    finally:
        catalog.close()

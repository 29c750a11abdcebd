"""OaiService over the store, on SQLite and PostgreSQL: keyset pages, frozen windows and
withheld records (public once, restricted now) answered as deleted."""

from __future__ import annotations

from catalog.domain.identity import SYSTEM
from catalog.domain.records import AccessUpdate, RecordCreate
from catalog.services.container import Catalog
from catalog.services.oai import OaiService


def _all(service: OaiService, verb: str = "ListIdentifiers") -> list[tuple[str, bool]]:
    page = service.list_page(service.list_request(verb, {"metadataPrefix": "oai_datacite"}))
    found = [(r.header.identifier.rsplit(":", 1)[1], r.header.deleted) for r in page.records]
    while page.token is not None and page.token.value:
        page = service.list_page(service.resume(verb, page.token.value))
        found += [(r.header.identifier.rsplit(":", 1)[1], r.header.deleted) for r in page.records]
    return found


def test_pages_and_withheld_records(catalog: Catalog) -> None:
    for number in range(5):
        data = RecordCreate(id=f"c{number}", level="collection", title=f"Study {number}")
        catalog.records.create(SYSTEM, data)
    hidden = RecordCreate(
        id="h", level="collection", title="Hidden", access={"record": "restricted"}
    )
    catalog.records.create(SYSTEM, hidden)
    service = OaiService(catalog.uow, catalog.records, catalog.exports, page_size=2)
    assert _all(service) == [(f"c{n}", False) for n in range(5)]
    catalog.records.set_access(SYSTEM, "c1", AccessUpdate(record="restricted"))
    listed = _all(service, "ListRecords")
    assert sorted(listed) == [
        ("c0", False),
        ("c1", True),
        ("c2", False),
        ("c3", False),
        ("c4", False),
    ]
    assert listed[-1] == ("c1", True)  # its datestamp is when it stopped being public
    assert service.get_record(service.identifier("c1"), "oai_dc").metadata is None
    catalog.records.set_access(SYSTEM, "c1", AccessUpdate(record="public"))
    assert sorted(_all(service)) == [(f"c{n}", False) for n in range(5)]

"""The shared write rules: curated overrides survive harvests, conflicts are reported,
versions bump over published ones, anonymous callers never see server paths.

A small real harvester of `.card` text files (`key=value` lines: title, description,
keywords, license) yields collection -> acquisition, so the service's bookkeeping runs for
real on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from catalog.domain.enums import Role
from catalog.domain.identity import ANONYMOUS, SYSTEM, Identity
from catalog.domain.records import RecordCreate, RecordUpdate, Term
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from harvesters.base import FileFacts, HarvestedRecord, Harvester, ItemError
from harvesters.registry import harvesters

CURATOR = Identity(user="cora", role=Role.curator)


class CardHarvester(Harvester):
    name = "card"
    version = "1.0"

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        yield from sorted(location.rglob("*.card"))

    def read(self, path: Path) -> list[FileFacts]:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [FileFacts(path=path.name, kind="card", data=dict(x.split("=", 1) for x in lines))]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        yield HarvestedRecord(
            "collection",
            RecordCreate(
                level="collection",
                title=location.name,
                source={"type": "card", "location": str(location), "external_id": str(location)},
                related=[
                    {"identifier": f"bids:{location}", "scheme": "bids", "relation": "IsPartOf"},
                    {"identifier": "10.5281/zenodo.1", "scheme": "DOI", "relation": "IsCitedBy"},
                ],
            ),
        )
        for fact in sorted(facts, key=lambda f: f.path):
            data = fact.data
            yield HarvestedRecord(
                f"card:{fact.path}",
                RecordCreate(
                    level="acquisition",
                    title=data["title"],
                    description=data.get("description"),
                    keywords=[k for k in data.get("keywords", "").split(",") if k],
                    license=data.get("license"),
                    terms=[Term(iri="urn:t:auto", label="auto", scheme="test", rule="auto")],
                ),
                "collection",
            )


@pytest.fixture(autouse=True)
def _registered() -> None:
    harvesters.register("card", CardHarvester)


def _card(root: Path, name: str, **fields: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    values = {"title": "T1 MPRAGE", "description": "raw scan", "keywords": "mr,t1"} | fields
    text = "".join(f"{k}={v}\n" for k, v in values.items())
    (root / name).write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    _card(root, "a.card")
    _card(root, "b.card", title="T2 TSE", description="second scan")
    return root


def _acq(catalog: Catalog, title: str) -> str:
    page = catalog.records.search(SYSTEM, SearchRequest(text=title, level="acquisition"))
    return next(h.id for h in page.hits if h.title == title)


def test_curated_edits_survive_an_unchanged_reharvest(catalog: Catalog, site: Path) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    rid = _acq(catalog, "T1 MPRAGE")
    edit = RecordUpdate(
        title="Redacted title",
        description="curated text",
        license="CC-BY-4.0",
        keywords=["curated"],
        terms=[Term(iri="urn:t:manual", label="manual", scheme="test")],
    )
    catalog.records.update(CURATOR, rid, edit)
    report = catalog.harvest.run(SYSTEM, "card", str(site))
    assert (report.updated, report.unchanged, report.conflicts) == (0, 3, [])
    record = catalog.records.get(ANONYMOUS, rid)
    assert (record.title, record.description, record.license) == (
        "Redacted title",
        "curated text",
        "CC-BY-4.0",
    )
    assert record.keywords == ["curated"]
    assert [t.iri for t in record.terms] == ["urn:t:manual"]
    # the redacted title is what search finds; the harvested one is gone from the index
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="MPRAGE")).total == 0


def test_curators_see_harvested_and_curated_values_the_public_does_not(
    catalog: Catalog, site: Path
) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    rid = _acq(catalog, "T1 MPRAGE")
    catalog.records.update(CURATOR, rid, RecordUpdate(title="Curated", keywords=["k"]))
    seen = catalog.records.get(CURATOR, rid).curation
    assert seen is not None
    assert seen.curated == {"title": "Curated", "keywords": ["k"]}
    assert seen.harvested == {"title": "T1 MPRAGE", "keywords": ["mr", "t1"]}
    assert catalog.records.get(ANONYMOUS, rid).curation is None
    # a second edit replaces the override, not the remembered harvested value
    catalog.records.update(CURATOR, rid, RecordUpdate(title="Curated again"))
    again = catalog.records.get(SYSTEM, rid).curation
    assert again is not None and again.harvested["title"] == "T1 MPRAGE"
    assert again.curated["title"] == "Curated again"


def test_a_source_change_to_a_curated_field_is_a_conflict_and_curated_wins(
    catalog: Catalog, site: Path
) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    rid = _acq(catalog, "T1 MPRAGE")
    catalog.records.update(CURATOR, rid, RecordUpdate(title="Curated"))
    _card(site, "a.card", title="T1 MPRAGE v2", description="raw scan, reprocessed")
    report = catalog.harvest.run(SYSTEM, "card", str(site))
    assert [(c.record, c.field) for c in report.conflicts] == [(rid, "title")]
    assert "curated value was kept" in report.conflicts[0].message
    assert report.updated == 1  # the description is not curated: it follows the source
    record = catalog.records.get(SYSTEM, rid)
    assert record.title == "Curated"
    assert record.description == "raw scan, reprocessed"
    assert record.curation is not None
    assert record.curation.harvested["title"] == "T1 MPRAGE v2"
    # the conflict is reported once: the next run finds nothing new
    quiet = catalog.harvest.run(SYSTEM, "card", str(site))
    assert (quiet.updated, quiet.unchanged, quiet.conflicts) == (0, 3, [])


def test_uncurated_fields_still_follow_the_source(catalog: Catalog, site: Path) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    _card(site, "b.card", title="T2 TSE axial")
    report = catalog.harvest.run(SYSTEM, "card", str(site))
    assert (report.updated, report.conflicts) == (1, [])
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="axial")).total == 1


def test_edit_of_a_published_version_goes_to_the_next_version(catalog: Catalog, site: Path) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    rid = _acq(catalog, "T1 MPRAGE")
    with catalog.uow() as uow:
        uow.records.mark_published(rid, 1)
        uow.commit()
    record = catalog.records.update(CURATOR, rid, RecordUpdate(title="Curated"))
    assert (record.version, record.published_versions) == (2, [1])


def test_withdraw_is_a_tombstone(catalog: Catalog, site: Path) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    rid = _acq(catalog, "T2 TSE")
    record = catalog.records.withdraw(CURATOR, rid)
    assert record.status == "withdrawn" and record.withdrawn_at is not None


def test_anonymous_callers_never_see_the_servers_paths(catalog: Catalog, site: Path) -> None:
    catalog.harvest.run(SYSTEM, "card", str(site))
    collection = catalog.records.search(SYSTEM, SearchRequest(level="collection")).hits[0].id
    public = catalog.records.get(ANONYMOUS, collection)
    assert public.source.type == "card"
    assert public.source.location is None and public.source.external_id is None
    assert [r.identifier for r in public.related] == ["10.5281/zenodo.1"]
    assert str(site) not in public.model_dump_json()
    admin = catalog.records.get(SYSTEM, collection)
    assert admin.source.location == str(site)
    assert {r.identifier for r in admin.related} == {f"bids:{site}", "10.5281/zenodo.1"}

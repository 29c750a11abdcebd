"""Ontology-aware search through the service layer (annotation at write, expansion at query).

The records' headers never name the concept searched for: "T1-weighted" must reach MPRAGE
and SPGR scans, "rodent" rat and mouse subjects, "hippocampus" records annotated with its
parts; exact mode turns the expansion off, and every hit says why it matched.
"""

from __future__ import annotations

import pytest

from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import Concept, Imaging, RecordCreate, SubjectInfo, Term
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest

RAT = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10116", label="Rattus norvegicus")
MOUSE = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10090", label="Mus musculus")
HUMAN = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_9606", label="Homo sapiens")


@pytest.fixture
def populated(sqlite_catalog: Catalog) -> dict[str, str]:
    cat = sqlite_catalog
    col = cat.records.create(SYSTEM, RecordCreate(level="collection", title="Mixed study"))

    def add(level: str, title: str, **kw: object) -> str:
        return cat.records.create(
            SYSTEM,
            RecordCreate(level=level, title=title, parent_id=col.id, **kw),  # type: ignore[arg-type]
        ).id

    return {
        "mprage": add(
            "acquisition",
            "t1_mprage_sag_p2_iso",
            imaging=Imaging(
                modality="MR",
                series_description="t1_mprage_sag_p2_iso",
                scanning_sequence="GR\\IR",
                sequence_variant="SK\\SP\\MP",
            ),
        ),
        "spgr": add(
            "acquisition",
            "Sag FSPGR BRAVO",
            imaging=Imaging(modality="MR", series_description="Sag FSPGR BRAVO"),
        ),
        "tse": add(
            "acquisition",
            "t2_tse_tra",
            imaging=Imaging(modality="MR", series_description="t2_tse_tra"),
        ),
        "rat": add("subject", "Animal 12", subject=SubjectInfo(species=RAT)),
        "mouse": add("subject", "Animal 13", subject=SubjectInfo(species=MOUSE)),
        "human": add("subject", "Volunteer 1", subject=SubjectInfo(species=HUMAN)),
        "ca1": add("derived", "CA1 segmentation", description="Manual segmentation of CA1"),
    }


def _ids(cat: Catalog, text: str, exact: bool = False) -> set[str]:
    page = cat.records.search(ANONYMOUS, SearchRequest(text=text, exact=exact, size=50))
    return {h.id for h in page.hits}


def test_t1_weighted_finds_mprage_and_spgr(
    sqlite_catalog: Catalog, populated: dict[str, str]
) -> None:
    found = _ids(sqlite_catalog, "T1-weighted")
    assert {populated["mprage"], populated["spgr"]} <= found
    assert populated["tse"] not in found


def test_rodent_finds_rats_and_mice_not_humans(
    sqlite_catalog: Catalog, populated: dict[str, str]
) -> None:
    found = _ids(sqlite_catalog, "rodent")
    assert {populated["rat"], populated["mouse"]} <= found
    assert populated["human"] not in found


def test_hippocampus_finds_records_annotated_with_its_parts(
    sqlite_catalog: Catalog, populated: dict[str, str]
) -> None:
    record = sqlite_catalog.records.get(SYSTEM, populated["ca1"])
    assert any("CA1" in t.label for t in record.terms)
    assert populated["ca1"] in _ids(sqlite_catalog, "hippocampus")


def test_exact_mode_turns_expansion_off(sqlite_catalog: Catalog, populated: dict[str, str]) -> None:
    assert populated["rat"] not in _ids(sqlite_catalog, "rodent", exact=True)
    assert populated["mprage"] not in _ids(sqlite_catalog, "T1-weighted", exact=True)


def test_every_hit_explains_its_match(sqlite_catalog: Catalog, populated: dict[str, str]) -> None:
    page = sqlite_catalog.records.search(ANONYMOUS, SearchRequest(text="T1-weighted"))
    hit = next(h for h in page.hits if h.id == populated["mprage"])
    assert hit.explanation, "a concept hit must say why it matched"
    reason = hit.explanation[0]
    assert reason["concept"] == "T1-weighted"
    assert reason["match"] in ("expanded", "narrower")
    assert reason["rule"] == "sequence_name:mprage"  # which rule made the record's term
    assert "series_description" in reason["fields"]  # and which header field it read


def test_rejected_term_stays_rejected_on_reannotation(
    sqlite_catalog: Catalog, populated: dict[str, str]
) -> None:
    cat = sqlite_catalog
    record = cat.records.get(SYSTEM, populated["mprage"])
    mprage_term = next(t for t in record.terms if "MPRAGE" in t.label.upper())
    cat.annotation.set_status(SYSTEM, record.id, mprage_term.iri, "rejected")
    report = cat.annotation.reannotate_all(SYSTEM)
    assert report.records == 8
    again = cat.records.get(SYSTEM, record.id)
    assert {t.iri: t.status for t in again.terms}[mprage_term.iri] == "rejected"
    # the title still says "mprage", so text may find it; the concept route must not
    page = cat.records.search(ANONYMOUS, SearchRequest(text="MPRAGE", size=50))
    for hit in page.hits:
        if hit.id == record.id:
            assert all(r.get("iri") != mprage_term.iri for r in hit.explanation)


def test_curator_term_is_added_and_searchable(
    sqlite_catalog: Catalog, populated: dict[str, str]
) -> None:
    cat = sqlite_catalog
    term = Term(
        iri="http://purl.obolibrary.org/obo/UBERON_0001885", label="dentate gyrus", scheme="anatomy"
    )
    updated = cat.annotation.add_term(SYSTEM, populated["tse"], term)
    added = next(t for t in updated.terms if t.iri == term.iri)
    assert (added.rule, added.status) == ("manual", "accepted")
    assert populated["tse"] in _ids(cat, "hippocampus")

"""TermService (autocomplete, details, recognised concepts, trees) and the concept filter."""

from __future__ import annotations

import pytest

from catalog.domain.errors import NotFoundError, QuerySyntaxError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import Imaging, RecordCreate, Term
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.services.terms import TermService
from ontologies.integration import term_closure

T1 = "http://purl.obolibrary.org/obo/OBI_0003341"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
SPGR = "https://w3id.org/imagora/vocab/mr-technique/spgr"
RAT = "http://purl.obolibrary.org/obo/NCBITaxon_10116"


def test_suggest_ranks_label_prefix_before_synonyms() -> None:
    found = TermService().suggest("t1", limit=10)
    labels = [s.label for s in found]
    assert labels[0] == "T1-weighted"
    # prefix of the preferred label first, then synonyms / word prefixes
    assert labels.index("T1-weighted spin echo") < labels.index("post-contrast T1-weighted")
    synonym = TermService().suggest("T1WI")[0]
    assert (synonym.label, synonym.matched) == ("T1-weighted", "T1WI")


def test_suggest_scheme_limit_and_empty() -> None:
    service = TermService()
    assert service.suggest("   ") == []
    assert all(s.scheme == "species" for s in service.suggest("r", scheme="species", limit=5))
    assert len(service.suggest("r", scheme="species", limit=2)) == 2
    with pytest.raises(QuerySyntaxError, match="limit must be between 1 and 50"):
        service.suggest("t1", limit=0)
    with pytest.raises(NotFoundError, match="unknown concept scheme 'nope'"):
        service.suggest("t1", scheme="nope")


def test_detail_and_recognised() -> None:
    service = TermService()
    detail = service.detail(T1)
    assert detail.label == "T1-weighted" and detail.scheme == "mri"
    assert MPRAGE in {link.iri for link in detail.narrower}
    assert detail.narrower_total == 8
    with pytest.raises(NotFoundError, match="no loaded vocabulary defines"):
        service.detail("http://example.org/none")
    (concept,) = service.recognised("T1-weighted", exact=False)
    assert (concept.iri, concept.narrower) == (T1, 8)
    assert "MPRAGE" in concept.narrower_labels
    assert service.recognised("T1-weighted", exact=True)[0].narrower == 0


def test_facet_trees_count_each_record_once_per_node() -> None:
    mprage = Term(iri=MPRAGE, label="MPRAGE", scheme="mri")
    spgr = Term(iri=SPGR, label="SPGR", scheme="mri")
    t1 = Term(iri=T1, label="T1-weighted", scheme="mri")
    close = term_closure()  # what the index stores per record
    counts: dict[str, int] = {}
    for record_terms in ([mprage, t1], [spgr], []):
        for iri in close(t.iri for t in record_terms):
            counts[iri] = counts.get(iri, 0) + 1
    trees = TermService().facet_trees_from_counts(counts)
    (root,) = trees["contrast"]
    (t1_node,) = root.children
    assert (t1_node.label, t1_node.count) == ("T1-weighted", 2)  # not 3
    assert {(c.label, c.count) for c in t1_node.children} == {("MPRAGE", 1), ("SPGR", 1)}
    assert "species" not in trees


def test_concept_filter_reaches_narrower_and_explains(sqlite_catalog: Catalog) -> None:
    cat = sqlite_catalog
    scan = cat.records.create(
        SYSTEM,
        RecordCreate(
            level="acquisition",
            title="Sagittal 3D",
            imaging=Imaging(modality="MR", series_description="t1_mprage_sag"),
        ),
    )
    cat.records.create(SYSTEM, RecordCreate(level="acquisition", title="Plain PET"))
    page = cat.records.search(ANONYMOUS, SearchRequest(concept=T1, facet_trees=True))
    assert [h.id for h in page.hits] == [scan.id]
    (why,) = page.hits[0].explanation
    assert why["rule"] == "sequence_name:mprage" and why["fields"] == "series_description"
    assert why["evidence"] == "series_description=t1_mprage_sag"
    assert page.facet_trees["contrast"][0].count == 1
    with pytest.raises(QuerySyntaxError, match="unknown concept"):
        cat.records.search(ANONYMOUS, SearchRequest(concept="http://example.org/x"))


def test_tree_counts_are_exact_and_come_from_the_index(sqlite_catalog: Catalog) -> None:
    cat = sqlite_catalog
    for number in range(5):
        cat.records.create(
            SYSTEM,
            RecordCreate(
                level="acquisition",
                title=f"Scan {number}",
                imaging=Imaging(modality="MR", series_description="t1_mprage"),
            ),
        )
    # a page of 2 hits, yet every one of the 5 matches is counted, once per node
    page = cat.records.search(ANONYMOUS, SearchRequest(text="Scan", size=2, facet_trees=True))
    assert page.total == 5 and len(page.hits) == 2
    root = page.facet_trees["contrast"][0]
    assert root.count == 5
    mprage = _find(root, "MPRAGE")
    assert mprage is not None and mprage.count == 5
    with cat.uow() as uow:  # no store reads are needed for the counts
        assert uow.records.count() == 5


def _find(node, label):  # type: ignore[no-untyped-def]
    if node.label == label:
        return node
    for child in node.children:
        found = _find(child, label)
        if found is not None:
            return found
    return None

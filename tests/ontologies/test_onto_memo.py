"""The annotation memo: repeats are answered from it, and exactly as the annotator would."""

from __future__ import annotations

from catalog.domain.records import Imaging, RecordCreate, SubjectInfo, Term
from harvesters.species import lookup_species
from ontologies.integration import AnnotationMemo, record_annotator


def _scan(title: str, tr: float = 2300.0) -> RecordCreate:
    return RecordCreate(
        level="acquisition",
        title=title,
        imaging=Imaging(modality="MR", tr_ms=tr, te_ms=2.9, sequence="tfl3d1"),
        subject=SubjectInfo(species=lookup_species("rat"), strain="Wistar"),
    )


def test_memoised_annotation_equals_a_fresh_one() -> None:
    annotate = record_annotator()
    first = annotate(_scan("T1 MPRAGE"), [])
    again = annotate(_scan("T1 MPRAGE"), [])
    fresh = record_annotator()(_scan("T1 MPRAGE"), [])
    assert first == again == fresh and first  # the annotator proposed something
    assert {t.label for t in first} >= {"Wistar"}


def test_key_follows_every_input_the_annotator_reads() -> None:
    memo = AnnotationMemo()
    base = memo.key(_scan("T1 MPRAGE"), [])
    assert memo.key(_scan("T1 MPRAGE"), []) == base
    assert memo.key(_scan("T2 TSE"), []) != base
    assert memo.key(_scan("T1 MPRAGE", tr=500.0), []) != base
    rejected = Term(iri="urn:x", label="x", scheme="s", status="rejected")
    assert memo.key(_scan("T1 MPRAGE"), [rejected]) != base
    own = _scan("T1 MPRAGE")
    own.terms = [Term(iri="urn:y", label="y", scheme="s")]
    assert memo.key(own, []) != base


def test_rejected_terms_stay_rejected_through_the_memo() -> None:
    annotate = record_annotator()
    proposed = annotate(_scan("T1 MPRAGE"), [])
    rejected = [t.model_copy(update={"status": "rejected"}) for t in proposed]
    after = annotate(_scan("T1 MPRAGE"), rejected)
    assert all(t.status == "rejected" for t in after if t.iri in {r.iri for r in rejected})


def test_bound_copies_and_hits() -> None:
    memo = AnnotationMemo(size=2)
    terms = [Term(iri="urn:a", label="a", scheme="s")]
    memo.put("k1", terms)
    memo.put("k2", terms)
    memo.put("k3", terms)
    assert len(memo) == 2 and memo.get("k1") is None
    got = memo.get("k3")
    assert got == terms and got is not None and got[0] is not terms[0]
    got[0].label = "changed"
    assert memo.get("k3") == terms and memo.hits == 2


def test_copies_own_their_evidence_and_equal_validated_terms() -> None:
    memo = AnnotationMemo()
    term = Term(iri="urn:a", label="a", scheme="s", rule="r", evidence={"field": "title"})
    memo.put("k", [term])
    got = memo.get("k")
    assert got == [term] and got[0].model_dump() == term.model_dump()
    assert got[0].model_fields_set == term.model_fields_set
    got[0].evidence["field"] = "changed"
    got[0].status = "rejected"
    again = memo.get("k")
    assert again is not None and again[0].evidence == {"field": "title"}
    assert again[0].status == "proposed" and term.evidence == {"field": "title"}

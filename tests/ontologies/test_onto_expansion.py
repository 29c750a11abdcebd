"""Query-side recognition, expansion and match explanations."""

from __future__ import annotations

import pytest

from catalog.domain.records import Term
from catalog.domain.search import ConceptClause
from ontologies.expansion import expand, explain, recognise
from ontologies.graph import Vocabulary

OBO = "http://purl.obolibrary.org/obo/"
T1 = OBO + "OBI_0003341"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
SPGR = "https://w3id.org/imagora/vocab/mr-technique/spgr"
RAT, MOUSE, RODENTIA = OBO + "NCBITaxon_10116", OBO + "NCBITaxon_10090", OBO + "NCBITaxon_9989"
WISTAR = "https://identifiers.org/RRID:RGD_13508588"
AMMONS_HORN, HIPPO_FORMATION = OBO + "UBERON_0001954", OBO + "UBERON_0002421"
CA1, DENTATE = OBO + "UBERON_0003881", OBO + "UBERON_0001885"


@pytest.mark.parametrize(
    ("text", "iri", "matched"),
    [
        ("T1-weighted", T1, "T1-weighted"),
        ("t1w", T1, "T1w"),
        ("T1 weighted", T1, "T1 weighted"),
        ("t1  WEIGHTED", T1, "T1-weighted"),
        ("MPRAGE", MPRAGE, "MPRAGE"),
        ("mp-rage", MPRAGE, "MP-RAGE"),
        ("rodent", RODENTIA, "rodent"),
        ("Rat", RAT, "rat"),
        ("hippocampus", AMMONS_HORN, "hippocampus"),
        ("PET", "http://dicom.nema.org/resources/ontology/DCM/PT", "PET"),
        ("C57BL/6J", "https://identifiers.org/RRID:IMSR_JAX:000664", "C57BL/6J"),
    ],
)
def test_recognise_labels_synonyms_abbreviations(
    vocab: Vocabulary, text: str, iri: str, matched: str
) -> None:
    found = recognise(f"scans: {text}!", vocab)
    assert found[0].concept_iri == iri
    assert found[0].matched_label == matched
    assert found[0].span == (7, 7 + len(text))
    assert found[0].label == vocab.label(iri)


def test_recognise_longest_match_and_word_boundaries(vocab: Vocabulary) -> None:
    found = recognise("T2*-weighted and T2 and t1map and pirate", vocab)
    assert [(r.matched_label, r.span) for r in found] == [
        ("T2*-weighted", (0, 12)),
        ("T2", (17, 19)),
    ]  # "t1map" and the "rat" inside "pirate" are not words of the vocabulary
    assert recognise("strategy for separation", vocab) == []


def test_ambiguous_phrase_yields_every_concept(vocab: Vocabulary) -> None:
    found = recognise("hippocampus", vocab)
    assert {r.concept_iri for r in found} == {AMMONS_HORN, HIPPO_FORMATION}
    assert {r.span for r in found} == {(0, 11)}


def test_cross_linked_duplicates_keep_the_priority_scheme(vocab: Vocabulary) -> None:
    # "MR" is both the OBI MR image data set and the DICOM MR modality (closeMatch).
    assert [r.concept_iri for r in recognise("MR", vocab)] == [OBO + "OBI_0003328"]


def test_expand_t1_weighted_reaches_techniques(vocab: Vocabulary) -> None:
    expansion = expand("T1-weighted", vocabulary=vocab)
    direct, narrower = expansion.clauses
    assert direct == ConceptClause(label="T1-weighted", iris=(T1,), boost=2.0, direct=True)
    assert narrower.direct is False and narrower.boost == 1.0
    assert {MPRAGE, SPGR} <= set(narrower.iris)
    assert T1 not in narrower.iris
    assert expansion.residual_text == ""


def test_expand_rodent_and_hippocampus(vocab: Vocabulary) -> None:
    expansion = expand("rodent hippocampus", vocabulary=vocab)
    rodent = [c for c in expansion.clauses if c.label == "rodents"]
    assert {RAT, MOUSE, WISTAR} <= set(rodent[1].iris)
    hippo = [c for c in expansion.clauses if "Ammon's horn" in c.label]
    assert set(hippo[0].iris) == {AMMONS_HORN, HIPPO_FORMATION}
    assert {CA1, DENTATE} <= set(hippo[1].iris)  # part-of followed for anatomy


def test_exact_mode_gives_only_the_concept(vocab: Vocabulary) -> None:
    expansion = expand("T1-weighted rat", exact=True, vocabulary=vocab)
    assert expansion.clauses == [
        ConceptClause(label="T1-weighted", iris=(T1,), boost=2.0, direct=True),
        ConceptClause(label="rat", iris=(RAT,), boost=2.0, direct=True),
    ]


def test_residual_text_keeps_unrecognised_words(vocab: Vocabulary) -> None:
    expansion = expand("  Wistar  resting state  dataset from Grenoble ", vocabulary=vocab)
    assert expansion.residual_text == "dataset from Grenoble"
    assert [c.label for c in expansion.clauses if c.direct] == ["Wistar", "resting-state fMRI"]
    assert expand("FAIR data", vocabulary=vocab).clauses == []


def test_explain_says_which_concept_rule_and_field(vocab: Vocabulary) -> None:
    mprage = Term(
        iri=MPRAGE,
        label="MPRAGE",
        scheme="mri",
        rule="sequence_name:mprage",
        confidence=0.9,
        evidence={"series_description": "t1_mprage_sag"},
    )
    rat = Term(iri=RAT, label="rat", scheme="species", rule="species:iri:rat")
    rejected = Term(
        iri=CA1, label="CA1", scheme="anatomy", rule="anatomy_text:title", status="rejected"
    )
    clauses = expand("T1-weighted rat hippocampus", vocabulary=vocab).clauses
    lines = explain([mprage, rat, rejected], clauses)
    assert lines[0]["concept"] == "rat" and lines[0]["match"] == "direct"
    assert lines[1] == {
        "concept": "T1-weighted",
        "match": "narrower",
        "iri": MPRAGE,
        "term": "MPRAGE",
        "scheme": "mri",
        "rule": "sequence_name:mprage",
        "fields": "series_description",
        "evidence": "series_description=t1_mprage_sag",
        "status": "proposed",
    }
    assert len(lines) == 2  # the rejected CA1 term never explains a hit
    assert all(isinstance(v, str) for line in lines for v in line.values())


def test_ascii_fast_matching_finds_exactly_what_the_case_folding_regex_finds(
    vocab: Vocabulary,
) -> None:
    """ASCII text is matched lower-cased by a case-sensitive copy of the label regex;
    on every label, in every casing and with neighbours, it must agree with IGNORECASE."""
    from ontologies.matcher import RECOGNISED_SCHEMES, LabelMatcher

    matcher = LabelMatcher.for_vocabulary(vocab, RECOGNISED_SCHEMES)
    assert matcher._ascii_regex is not None  # the shipped labels are ASCII
    labels = sorted(
        {s for entries in matcher._entries.values() for e in entries for s in e.surfaces}
    )
    texts = []
    for label in labels:
        texts += [
            label,
            label.upper(),
            label.title(),
            f"x{label} {label}y",
            f"({label}), 7 {label}-map",
        ]
    texts += ["T1w BOLD in RAT brain", "sub-01_T1w", "rat-brain_hippocampus 9.4T", "T2*-weighted"]
    for text in texts:
        assert text.isascii()
        fast = [(m.span(), m.group(0)) for m in matcher._ascii_regex.finditer(text.lower())]
        folded = [(m.span(), m.group(0).lower()) for m in matcher._regex.finditer(text)]
        assert fast == folded, text
    hits = list(matcher.find("Resting-State fMRI of the RAT Hippocampus"))
    assert {h.text for h in hits} >= {"Resting-State fMRI", "RAT", "Hippocampus"} or hits
    non_ascii = list(matcher.find("cerveau du rat \u00e9tudi\u00e9 en IRM"))
    assert any(h.text == "rat" for h in non_ascii)  # the IGNORECASE path for other text

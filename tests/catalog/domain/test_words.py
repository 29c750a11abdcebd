"""Ages, durations, relation types and annotation origins as people read them."""

from __future__ import annotations

import pytest

from catalog.domain.words import duration_words, field_words, relation_words, term_origin


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("P84D", "84 days"),
        ("P29Y", "29 years"),
        ("P1Y6M", "1 year 6 months"),
        ("P2W", "2 weeks"),
        ("PT1H30M", "1 hour 30 minutes"),
        ("PT90S", "90 seconds"),
        ("043Y", "43 years"),  # DICOM Age String
        ("001D", "1 day"),
        ("012W", "12 weeks"),
        ("P0.5Y", "0.5 years"),
    ],
)
def test_ages_and_durations_in_words(code: str, words: str) -> None:
    assert duration_words(code) == words


@pytest.mark.parametrize("text", ["adult", "12 weeks", "P", "PT", "", "45 Y"])
def test_other_text_is_left_as_the_source_wrote_it(text: str) -> None:
    assert duration_words(text) == text


def test_relation_types_in_words() -> None:
    assert relation_words("IsDerivedFrom") == "is derived from"
    assert relation_words("HasPart") == "has part"
    assert relation_words("References") == "references"


def test_term_origin_names_the_evidence_not_the_rule() -> None:
    origin = term_origin("te_tr:t1", {"modality": "MR", "tr_ms": "10", "te_ms": "3.7"})
    quoted = "modality \u201cMR\u201d, TR (ms) \u201c10\u201d, TE (ms) \u201c3.7\u201d"
    assert origin == f"assigned automatically from {quoted}"
    assert "te_tr" not in origin
    assert term_origin("manual", {}) == "added by a curator"
    species = term_origin("species:iri:rat", {"species": "http://purl.obolibrary.org/x"})
    assert species == "assigned automatically from species"  # no IRI in the words
    assert field_words("SeriesDescription") == "series description"

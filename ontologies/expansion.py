"""Query side of ontology-aware search: recognise concepts in a query and expand them.

`expand("T1-weighted rat hippocampus")` recognises three phrases. For each it returns a
direct `ConceptClause` (the concept itself, boost 2.0) and, unless `exact`, a narrower
clause (is-a descendants, plus part-of for anatomy; boost 1.0), so a record annotated
"MPRAGE" or "Wistar" or "CA1" still matches, ranked below direct hits. Clauses that share a
`label` come from one phrase and are alternatives; different phrases are separate
constraints. Text not recognised is returned as `residual_text` for full-text search.
`explain` turns a hit's terms and the clauses into "matched because" lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from catalog.domain.records import Term
from catalog.domain.search import ConceptClause
from ontologies.graph import Vocabulary
from ontologies.matcher import RECOGNISED_SCHEMES, LabelHit, LabelMatcher

DIRECT_BOOST = 2.0
NARROWER_BOOST = 1.0


@dataclass(frozen=True)
class Recognised:
    """A concept named in the query: character span, concept IRI, its label, the label hit."""

    span: tuple[int, int]
    concept_iri: str
    label: str
    matched_label: str
    scheme: str = ""


@dataclass
class Expansion:
    """Concept clauses for the search backend plus the unrecognised rest of the query."""

    clauses: list[ConceptClause] = field(default_factory=list)
    residual_text: str = ""
    recognised: list[Recognised] = field(default_factory=list)


def _vocabulary(vocabulary: Vocabulary | None) -> Vocabulary:
    return vocabulary if vocabulary is not None else Vocabulary.load()


def recognise(
    text: str,
    vocabulary: Vocabulary | None = None,
    schemes: Iterable[str] = RECOGNISED_SCHEMES,
) -> list[Recognised]:
    """Concepts whose labels, synonyms or abbreviations occur in `text`.

    Case-insensitive, longest match first, on word boundaries. A phrase naming several
    concepts (e.g. "hippocampus") gives one `Recognised` per concept, with the same span.
    """
    vocab = _vocabulary(vocabulary)
    matcher = LabelMatcher.for_vocabulary(vocab, schemes)
    return [_recognised(hit) for hit in matcher.find(text)]


def _recognised(hit: LabelHit) -> Recognised:
    return Recognised(
        span=(hit.start, hit.end),
        concept_iri=hit.concept.iri,
        label=hit.concept.label,
        matched_label=hit.matched_label,
        scheme=hit.concept.scheme,
    )


def expand(
    text: str,
    exact: bool = False,
    vocabulary: Vocabulary | None = None,
    schemes: Iterable[str] = RECOGNISED_SCHEMES,
) -> Expansion:
    """Recognise concepts in `text` and turn them into search clauses (see module doc).

    Calls with the shipped vocabulary are memoised: a search asks for the same expansion
    twice (clauses for the backend, concepts for the page), and users repeat queries.
    The result is shared, so callers must not mutate it.
    """
    vocab = _vocabulary(vocabulary)
    schemes = tuple(schemes)
    return vocab.memo("expansions", 2048).get(
        (text, exact, schemes), lambda: _expand(text, exact, vocab, schemes)
    )


@dataclass(frozen=True)
class Phrase:
    """A recognised phrase: its character span in the text and its concept clauses
    (direct first, then narrower), for one conjunct of a search."""

    start: int
    end: int
    clauses: tuple[ConceptClause, ...]


def phrases(text: str, exact: bool = False, vocabulary: Vocabulary | None = None) -> list[Phrase]:
    """The concepts named in `text`, one `Phrase` per span (longest match first)."""
    vocab = _vocabulary(vocabulary)
    return vocab.memo("phrases", 2048).get((text, exact), lambda: _phrases(text, exact, vocab))


def _phrases(text: str, exact: bool, vocab: Vocabulary) -> list[Phrase]:
    found = recognise(text, vocab)
    return [
        Phrase(span[0], span[1], tuple(_clauses_for(text[span[0] : span[1]], group, vocab, exact)))
        for span, group in _by_span(found)
    ]


def _expand(text: str, exact: bool, vocab: Vocabulary, schemes: Iterable[str]) -> Expansion:
    found = recognise(text, vocab, schemes)
    clauses: list[ConceptClause] = []
    for span, group in _by_span(found):
        clauses.extend(_clauses_for(text[span[0] : span[1]], group, vocab, exact))
    return Expansion(clauses=clauses, residual_text=_residual(text, found), recognised=found)


def _by_span(found: Sequence[Recognised]) -> list[tuple[tuple[int, int], list[Recognised]]]:
    groups: dict[tuple[int, int], list[Recognised]] = {}
    for item in found:
        groups.setdefault(item.span, []).append(item)
    return list(groups.items())


def _clauses_for(
    phrase: str, group: list[Recognised], vocab: Vocabulary, exact: bool
) -> list[ConceptClause]:
    """Clauses for one recognised phrase; memoised per concept group in the vocabulary,
    since new queries keep naming the same concepts ("brain" in "brain scan 17")."""
    key = (tuple((r.concept_iri, r.label) for r in group), exact)
    memo = vocab.memo("expansion_clauses", 4096)
    return list(memo.get(key, lambda: tuple(_build_clauses(group, vocab, exact))))


def _build_clauses(group: list[Recognised], vocab: Vocabulary, exact: bool) -> list[ConceptClause]:
    direct = tuple(dict.fromkeys(r.concept_iri for r in group))
    label = " / ".join(dict.fromkeys(r.label for r in group)) if len(group) > 1 else group[0].label
    clauses = [ConceptClause(label=label, iris=direct, boost=DIRECT_BOOST, direct=True)]
    if exact:
        return clauses
    narrower: set[str] = set()
    for iri in direct:
        with_part_of = vocab.scheme_uses_part_of(vocab.scheme_of(iri))
        narrower |= vocab.narrower_closure(iri, include_part_of=with_part_of)
    narrower -= set(direct)
    if narrower:
        clauses.append(
            ConceptClause(
                label=label, iris=tuple(sorted(narrower)), boost=NARROWER_BOOST, direct=False
            )
        )
    return clauses


def _residual(text: str, found: Sequence[Recognised]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted({r.span for r in found}):
        pieces.append(text[cursor:start])
        cursor = max(cursor, end)
    pieces.append(text[cursor:])
    return re.sub(r"\s+", " ", " ".join(pieces)).strip()


def explain(record_terms: Sequence[Term], clauses: Sequence[ConceptClause]) -> list[dict[str, str]]:
    """Why a record matched: one entry per (term, clause) hit, direct hits first.

    Each entry says which query concept matched, through which of the record's terms,
    whether directly or via a narrower concept, and which rule and header fields produced
    that term. Rejected terms never explain a match.
    """
    lines: list[dict[str, str]] = []
    for clause in sorted(clauses, key=lambda c: not c.direct):
        wanted = set(clause.iris)
        for term in record_terms:
            if term.status == "rejected" or term.iri not in wanted:
                continue
            lines.append(_explanation(term, clause))
    return lines


def _explanation(term: Term, clause: ConceptClause) -> dict[str, str]:
    evidence = "; ".join(f"{k}={v}" for k, v in sorted(term.evidence.items()))
    return {
        "concept": clause.label,
        "match": "direct" if clause.direct else "narrower",
        "iri": term.iri,
        "term": term.label,
        "scheme": term.scheme,
        "rule": term.rule,
        "fields": ", ".join(sorted(term.evidence)),
        "evidence": evidence,
        "status": term.status,
    }

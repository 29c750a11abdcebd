"""Ontology terms as users meet them: autocomplete, term pages, facet trees, explanations.

`TermService` answers from the loaded vocabularies (no database): ranked suggestions for
a search box, one concept's details, the concepts recognised in a query and the clauses
a concept filter expands to. `SearchOntology` is what `RecordService.search` calls after
the backend has answered: it explains each hit from the record's stored terms (rule and
header fields, which the index does not keep) and builds the contrast / species /
anatomy facet trees.

Facet tree counts come from the index, in the same aggregation pass as the other facets:
each document carries the closure of its terms (the terms and every broader concept), so
counting documents per closure IRI counts each record once under every tree node it
reaches, exactly, however many records match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.records import FacetNode, QueryConcept, RecordPage, Term
from catalog.domain.search import ConceptClause, SearchQuery
from catalog.store.repository import StoredRecord, UnitOfWork

if TYPE_CHECKING:
    from ontologies.graph import Concept, Vocabulary

#: Facet tree name -> vocabulary scheme, in display order.
TREE_SCHEMES: dict[str, str] = {"contrast": "mri", "species": "species", "anatomy": "anatomy"}
TREE_LABELS: dict[str, str] = {"contrast": "Contrast", "species": "Species", "anatomy": "Anatomy"}
#: Most matching records whose terms are loaded to count the facet trees.
MAX_SUGGESTIONS = 50
NARROWER_LABELS_SHOWN = 5
DIRECT_BOOST = 2.0
NARROWER_BOOST = 1.0
_WORDS = re.compile(r"[\s\-_/(),.:;]+")


class TermSuggestion(BaseModel):
    """One autocomplete suggestion: the concept and the label the text matched."""

    iri: str
    label: str
    scheme: str
    matched: str
    alt_labels: list[str] = Field(default_factory=list)
    count: int | None = Field(
        None, description="Records the caller may see with this concept or a narrower one"
    )


class ConceptLink(BaseModel):
    iri: str
    label: str


class TermDetail(BaseModel):
    """A concept with its neighbours, for `/api/terms/{iri}` and the term page."""

    iri: str
    label: str
    scheme: str
    scheme_title: str
    definition: str | None = None
    alt_labels: list[str] = Field(default_factory=list)
    notations: list[str] = Field(default_factory=list)
    broader: list[ConceptLink] = Field(default_factory=list)
    narrower: list[ConceptLink] = Field(default_factory=list)
    part_of: list[ConceptLink] = Field(default_factory=list)
    has_part: list[ConceptLink] = Field(default_factory=list)
    narrower_total: int = Field(0, description="All concepts a search for this one includes")
    exact_match: list[str] = Field(default_factory=list)
    close_match: list[str] = Field(default_factory=list)


class TermStatusUpdate(BaseModel):
    """A curator's decision on one proposed term (`PATCH /api/records/{id}/terms?iri=`)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "rejected", "proposed"]


class TermService:
    """Read-only access to the vocabularies (loaded on first use, about a second)."""

    def __init__(self, vocabulary: Callable[[], Vocabulary] | None = None) -> None:
        self._load = vocabulary

    @property
    def vocabulary(self) -> Vocabulary:
        if self._load is not None:
            return self._load()
        from ontologies.graph import Vocabulary

        return Vocabulary.load()

    def suggest(
        self,
        text: str,
        scheme: str | None = None,
        limit: int = 10,
        counts: dict[str, int] | None = None,
    ) -> list[TermSuggestion]:
        """Concepts whose label (first) or synonyms start with, contain a word starting
        with, or contain `text`; ranked by that, then scheme priority, then label length.

        Given `counts` (records per concept, narrower ones included), each suggestion
        shows its count and concepts without records are left out."""
        if not 1 <= limit <= MAX_SUGGESTIONS:
            raise QuerySyntaxError(f"limit must be between 1 and {MAX_SUGGESTIONS}", field="limit")
        wanted = text.strip().casefold()
        if not wanted:
            return []
        vocab = self.vocabulary
        schemes = _schemes(vocab, scheme)
        ranked = []
        for rank, name in enumerate(schemes):
            for concept in vocab.concepts(name):
                if counts is not None and not counts.get(concept.iri):
                    continue
                hit = _best_label(concept, wanted)
                if hit is not None:
                    tier, label = hit
                    ranked.append(((tier, rank, len(concept.label), concept.label), concept, label))
        ranked.sort(key=lambda item: item[0])
        found = [_suggestion(concept, label) for _, concept, label in ranked[:limit]]
        if counts is not None:
            for suggestion in found:
                suggestion.count = counts.get(suggestion.iri, 0)
        return found

    def labels(self) -> tuple[str, ...]:
        """Every label and synonym of the recognised schemes ("did you mean" candidates),
        memoised per vocabulary."""
        from ontologies.matcher import RECOGNISED_SCHEMES

        vocab = self.vocabulary

        def build() -> tuple[str, ...]:
            found: set[str] = set()
            for name in RECOGNISED_SCHEMES:
                for concept in vocab.concepts(name):
                    found.update(
                        label for label in (concept.label, *concept.alt_labels) if label.isascii()
                    )
            return tuple(sorted(found))

        return vocab.memo("suggestion_labels", 1).get("all", build)

    def broader(self, iri: str) -> list[tuple[str, str]]:
        """The concept's direct broader concepts as (iri, label), then (for anatomy) the
        structures it is part of: the hippocampus is searched within the brain. None
        when the concept is unknown."""
        vocab = self.vocabulary
        concept = vocab.get(iri)
        if concept is None:
            return []
        parents = dict.fromkeys([*concept.broader, *concept.part_of])
        return [(b, vocab.label(b)) for b in parents]

    def label(self, iri: str) -> str:
        """The preferred label (the IRI's last segment when unknown)."""
        return self.vocabulary.label(iri)

    def detail(self, iri: str) -> TermDetail:
        """The concept (404 `UnknownConceptError` when no vocabulary defines it)."""
        vocab = self.vocabulary
        concept = vocab.concept(iri)
        children = [c for c in vocab.concepts() if iri in c.broader]
        parts = [c for c in vocab.concepts() if iri in c.part_of]
        with_part_of = vocab.scheme_uses_part_of(concept.scheme)
        return TermDetail(
            iri=concept.iri,
            label=concept.label,
            scheme=concept.scheme,
            scheme_title=vocab.scheme(concept.scheme).title,
            definition=concept.definition,
            alt_labels=list(concept.alt_labels),
            notations=list(concept.notations),
            broader=_links(vocab, concept.broader),
            narrower=_links(vocab, (c.iri for c in children)),
            part_of=_links(vocab, concept.part_of),
            has_part=_links(vocab, (c.iri for c in parts)),
            narrower_total=len(vocab.narrower_closure(iri, include_part_of=with_part_of)),
            exact_match=list(concept.exact_match),
            close_match=list(concept.close_match),
        )

    def recognised(self, text: str, exact: bool) -> list[QueryConcept]:
        """The concepts the search recognised in `text`, with how far each was expanded."""
        if not text.strip():
            return []
        vocab = self.vocabulary  # memoised per vocabulary, as every search asks
        found = vocab.memo("query_concepts_of_text", 2048).get(
            (text, exact), lambda: tuple(_recognised(text, exact, vocab))
        )
        return list(found)  # frozen models: safe to share

    def concept_clauses(self, iri: str) -> list[ConceptClause]:
        """A concept filter: the concept itself and its narrower concepts (part-of too in
        anatomy). An unknown IRI is a 400 that says where to find IRIs."""
        vocab = self.vocabulary
        concept = vocab.get(iri)
        if concept is None:
            raise QuerySyntaxError(
                f"unknown concept {iri!r}; look concepts up with GET /api/terms?q=...",
                field="concept",
            )
        with_part_of = vocab.scheme_uses_part_of(concept.scheme)
        clauses = [ConceptClause(concept.label, (iri,), DIRECT_BOOST, True)]
        below = vocab.narrower_closure(iri, include_part_of=with_part_of)
        if below:
            clauses.append(
                ConceptClause(concept.label, tuple(sorted(below)), NARROWER_BOOST, False)
            )
        return clauses

    def explain(
        self, terms: Sequence[Term], clauses: Sequence[ConceptClause]
    ) -> list[dict[str, str]]:
        from ontologies.expansion import explain

        return explain(terms, clauses)

    def facet_trees_from_counts(self, counts: dict[str, int]) -> dict[str, list[FacetNode]]:
        """Trees per TREE_SCHEMES from the index's counts per concept, broader concepts
        included (each record counted once per node: exact, however many records match)."""
        from ontologies.facets import facet_tree

        vocab = self.vocabulary
        trees: dict[str, list[FacetNode]] = {}
        for name, scheme in TREE_SCHEMES.items():
            rolled = {
                iri: n
                for iri, n in counts.items()
                if (concept := vocab.get(iri)) is not None and concept.scheme == scheme
            }
            if rolled:
                nodes = facet_tree(rolled, scheme, vocab)  # the shape; counts set below
                trees[name] = _recount(
                    [FacetNode.model_validate(n.to_dict()) for n in nodes], rolled
                )
        return trees


class SearchOntology:
    """What `RecordService.search` asks of the ontology layer (see the module docstring)."""

    def __init__(
        self,
        terms: TermService,
        uow_factory: Callable[[], UnitOfWork],
    ) -> None:
        self.terms = terms
        self.uow_factory = uow_factory

    def concept_clauses(self, iri: str) -> list[ConceptClause]:
        return self.terms.concept_clauses(iri)

    def enrich(
        self,
        page: RecordPage,
        query: SearchQuery,
        extra: Sequence[ConceptClause] = (),
        *,
        exact: bool = False,
        term_counts: dict[str, int] | None = None,
    ) -> None:
        """Add recognised concepts, full explanations and (given the index's per-concept
        counts) the facet trees."""
        if query.text.strip():
            page.concepts = self.terms.recognised(query.text, exact)
        if extra and page.hits:
            # concept= filters are not scored clauses: the index explained nothing for them
            self._explain(page, [*query.concepts, *extra])
        if term_counts is not None:
            page.facet_trees = self.terms.facet_trees_from_counts(term_counts)

    def _explain(self, page: RecordPage, clauses: Sequence[ConceptClause]) -> None:
        with self.uow_factory() as uow:
            found = record_terms(uow, [hit.id for hit in page.hits])
        for hit in page.hits:
            lines = self.terms.explain(found.get(hit.id, []), clauses)
            if lines:
                hit.explanation = lines


def record_terms(uow: UnitOfWork, ids: Sequence[str]) -> dict[str, list[Term]]:
    """Each record's searchable terms, as the index sees them: its own plus those of its
    subject-level ancestors, rejected ones left out. One query per hierarchy level."""
    records = uow.records.get_many(list(ids))
    known: dict[str, StoredRecord] = dict(records)
    for _ in range(16):  # hierarchies are a few levels deep
        missing = {r.parent_id for r in known.values() if r.parent_id and r.parent_id not in known}
        if not missing:
            break
        known.update(uow.records.get_many(sorted(missing)))
    return {rid: _visible_terms(record, known) for rid, record in records.items()}


def _visible_terms(record: StoredRecord, known: dict[str, StoredRecord]) -> list[Term]:
    raw = list(record.body.get("terms") or [])
    seen = {record.id}
    parent_id = record.parent_id
    while parent_id and parent_id in known and parent_id not in seen:
        parent = known[parent_id]
        seen.add(parent_id)
        if parent.level == "subject":
            raw.extend(parent.body.get("terms") or [])
        parent_id = parent.parent_id
    terms = [Term.model_validate(t) for t in raw if t.get("status") != "rejected"]
    return list({t.iri: t for t in reversed(terms)}.values())[::-1]


def _schemes(vocab: Vocabulary, scheme: str | None) -> list[str]:
    if scheme:
        vocab.scheme(scheme)  # 404 naming the known schemes
        return [scheme]
    from ontologies.matcher import RECOGNISED_SCHEMES

    return list(RECOGNISED_SCHEMES)


def _best_label(concept: Concept, wanted: str) -> tuple[int, str] | None:
    """(tier, label): 0/1 label/synonym prefix, 2/3 word prefix, 4/5 substring."""
    from ontologies.matcher import normalise

    key = normalise(wanted)
    synonyms = (*concept.alt_labels, *concept.hidden_labels, *concept.notations)
    tests: list[Callable[[str], bool]] = [
        lambda label: label.casefold().startswith(wanted) or normalise(label).startswith(key),
        lambda label: any(w.startswith(wanted) for w in _WORDS.split(label.casefold()) if w),
        lambda label: bool(key) and key in normalise(label),
    ]
    for step, test in enumerate(tests):
        if test(concept.label):
            return 2 * step, concept.label
        for label in synonyms:
            if test(label):
                return 2 * step + 1, label
    return None


def _suggestion(concept: Concept, matched: str) -> TermSuggestion:
    return TermSuggestion(
        iri=concept.iri,
        label=concept.label,
        scheme=concept.scheme,
        matched=matched,
        alt_labels=list(concept.alt_labels),
    )


def _links(vocab: Vocabulary, iris: Iterable[str]) -> list[ConceptLink]:
    links = [ConceptLink(iri=i, label=vocab.label(i)) for i in dict.fromkeys(iris)]
    return sorted(links, key=lambda link: link.label.casefold())


def _recount(nodes: list[FacetNode], rolled: dict[str, int]) -> list[FacetNode]:
    for node in nodes:
        node.count = rolled.get(node.iri, node.count)
        node.children = _recount(node.children, rolled)
    return sorted(nodes, key=lambda n: (-n.count, n.label.casefold()))


def _recognised(text: str, exact: bool, vocab: Vocabulary) -> list[QueryConcept]:
    from ontologies.expansion import expand

    # expansions are memoised by the vocabulary (the search just made this one)
    expansion = expand(text, exact=exact, vocabulary=vocab)
    narrower = {c.label: c.iris for c in expansion.clauses if not c.direct}
    # the same concepts come back in query after query ("brain" in "brain scan 17"):
    # each is built once per (clause, words typed) and shared (QueryConcept is frozen)
    memo = vocab.memo("query_concepts", 10_000)
    found: list[QueryConcept] = []
    for clause in (c for c in expansion.clauses if c.direct):
        match = next(r for r in expansion.recognised if r.concept_iri == clause.iris[0])
        below_iris = narrower.get(clause.label, ())
        matched = text[match.span[0] : match.span[1]]
        key = (clause, below_iris, match.scheme, matched)
        found.append(
            memo.get(
                key,
                lambda c=clause, b=below_iris, m=match, t=matched: _query_concept(
                    vocab, c, b, m, t
                ),
            )
        )
    return found


def _query_concept(vocab, clause, below_iris, match, matched) -> QueryConcept:  # type: ignore[no-untyped-def]
    below = _sorted_by_label(vocab, below_iris)
    return QueryConcept(
        label=clause.label,
        iri=clause.iris[0],
        scheme=match.scheme,
        matched=matched,
        narrower=len(below),
        narrower_labels=[vocab.label(i) for i in below[:NARROWER_LABELS_SHOWN]],
    )


def _sorted_by_label(vocab: Vocabulary, iris: Iterable[str]) -> list[str]:
    """IRIs in label order, memoised per vocabulary (the same expansions recur)."""
    key = tuple(iris)
    return vocab.memo("iris_by_label").get(
        key, lambda: sorted(key, key=lambda i: vocab.label(i).casefold())
    )

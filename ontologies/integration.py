"""The ontology layer as the catalogue core sees it: an annotator and a query expander.

`catalog.services.container.Catalog` asks for these two callables; both load the
vocabularies lazily on first use (about a second), so commands that never annotate or
search pay nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import orjson

from catalog.domain.memo import Memo
from catalog.domain.records import RecordCreate, Term
from catalog.domain.search import ConceptClause

if TYPE_CHECKING:
    from ontologies.graph import Vocabulary


def query_expander() -> Callable[[str, bool], list[ConceptClause]]:
    """(query text, exact) -> concept clauses for the search backend."""

    def expand_query(text: str, exact: bool) -> list[ConceptClause]:
        from ontologies.expansion import expand

        return list(expand(text, exact=exact).clauses)

    return expand_query


def phrase_finder() -> Callable[[str, bool], list]:
    """(text, exact) -> the concepts named in it, one phrase (span + clauses) each."""

    def find(text: str, exact: bool) -> list:
        from ontologies.expansion import phrases

        return phrases(text, exact=exact)

    return find


def species_finder() -> Callable[[str], tuple[str, ...]]:
    """A species name ("rat", "Rattus norvegicus", an NCBITaxon IRI) -> the IRIs a
    species filter accepts: the species and its narrower concepts (strains)."""

    def find(name: str) -> tuple[str, ...]:
        from ontologies.expansion import expand

        expansion = expand(name, schemes=("species",))
        whole = [r for r in expansion.recognised if r.span == (0, len(name.strip()))]
        if not whole:
            return ()
        return tuple(iri for clause in expansion.clauses for iri in clause.iris)

    return find


def record_annotator() -> Callable[[RecordCreate, list[Term]], list[Term]]:
    """(record, previous terms) -> the record's terms, keeping curators' decisions.

    Terms a harvester set itself (e.g. the species a BIDS participants.tsv names) are
    kept beside the annotator's proposals unless a curator already decided on that IRI.
    """
    state: dict[str, object] = {}
    memo = AnnotationMemo()

    def annotate(record: RecordCreate, previous: list[Term]) -> list[Term]:
        annotator = state.get("annotator")
        if annotator is None:
            from ontologies.annotator import Annotator

            annotator = state["annotator"] = Annotator()
        key = memo.key(record, previous)
        found = memo.get(key)
        if found is not None:
            return found
        terms = annotator.annotate(record, previous)  # type: ignore[attr-defined]
        known = {t.iri for t in terms}
        rejected = {t.iri for t in previous if t.status == "rejected"}
        extra = [t for t in record.terms if t.iri not in known and t.iri not in rejected]
        memo.put(key, [*terms, *extra])
        return [*terms, *extra]

    return annotate


class AnnotationMemo:
    """Annotations of recently seen inputs, owned by one annotator (whose vocabulary is
    fixed for its lifetime, so no generation is needed), at most `size` entries.

    Why: a harvest annotates thousands of acquisitions of a few protocols, and the
    annotator's result depends only on the record's rule facts (`record_facts`), the
    previous terms and the harvester's own terms -- the key -- so repeats cost a lookup
    instead of a pass over every rule (~2 ms). Results are copied out: callers own them.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.hits = 0
        self._entries: OrderedDict[str, list[Term]] = OrderedDict()
        self._lock = threading.Lock()  # web threads annotate too

    @staticmethod
    def key(record: RecordCreate, previous: list[Term]) -> str:
        from ontologies.rules import record_facts

        parts = [
            record_facts(record),
            [t.model_dump(mode="json") for t in previous],
            [t.model_dump(mode="json") for t in record.terms],
        ]
        # orjson: the key is built for every annotated record, the standard encoder cost
        # a third of a harvest's annotation time
        options = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        return orjson.dumps(parts, option=options, default=str).decode()

    def get(self, key: str) -> list[Term] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return [_copy_term(t) for t in found]

    def put(self, key: str, terms: list[Term]) -> None:
        copies = [_copy_term(t) for t in terms]
        with self._lock:
            self._entries[key] = copies
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _copy_term(term: Term) -> Term:
    """A copy of a validated term that its receiver may change (its evidence too).

    Why not `model_construct` or `model_copy`: a harvest takes ~15 terms per record from
    the memo, and those cost 9 and 6 us a term against 3.5 us for this copy of the
    field values, which are validated already (the memo only holds validated terms)."""
    copy = Term.__new__(Term)
    object.__setattr__(copy, "__dict__", {**term.__dict__, "evidence": dict(term.evidence)})
    object.__setattr__(copy, "__pydantic_fields_set__", set(term.__pydantic_fields_set__))
    object.__setattr__(copy, "__pydantic_extra__", term.__pydantic_extra__)
    object.__setattr__(copy, "__pydantic_private__", term.__pydantic_private__)
    return copy


def term_closure() -> Callable[[Iterable[str]], set[str]]:
    """Term IRIs -> those IRIs plus their broader concepts (part-of too where the scheme
    uses it), for the index: facet trees then count each record once per node."""

    memo: Memo[frozenset[str]] = Memo(4096, "term closure")

    def close(iris: Iterable[str]) -> set[str]:
        from ontologies.graph import Vocabulary

        vocab = Vocabulary.load()
        wanted = frozenset(iris)
        # a catalogue repeats a few term sets (one per protocol): indexing thousands of
        # scans asks for the same closure again and again
        return set(memo.get(wanted, lambda: _closure(vocab, wanted), generation=vocab.version))

    return close


def _closure(vocab: Vocabulary, iris: frozenset[str]) -> frozenset[str]:
    found: set[str] = set()
    for iri in iris:
        found.add(iri)
        concept = vocab.get(iri)
        if concept is None:
            continue
        with_part_of = vocab.scheme_uses_part_of(concept.scheme)
        found.update(vocab.broader_closure(iri, include_part_of=with_part_of))
    return frozenset(found)

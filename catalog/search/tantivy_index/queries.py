"""Conjuncts, filters and visibility -> tantivy query objects.

Queries are built programmatically (never through tantivy's query-string parser), so user
text cannot raise a parser error. Speed notes (10^6 records, see the bench):

- a word is ONE term in the combined ``all`` field; a title match adds an optional
  ``title`` clause boosted by `TITLE_BOOST`, so title matches rank first;
- a two-word phrase is one term of ``pairs``; a longer one checks positions only where
  all its pairs occur;
- visibility excludes the few restricted records (``MustNot restricted``) instead of
  intersecting with the dense set of public ones; the withdrawn filter and concept IRIs
  are left out while no indexed document carries them;
- queries are flat boolean queries (nesting costs time in every pass), except that each
  word of a several-word search pairs its ``all`` and title forms;
- query objects are memoised per index generation in a bounded `Memo`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import tantivy

from catalog.domain.memo import Memo
from catalog.domain.search import (
    FACET_FIELDS,
    ConceptClause,
    Conjunct,
    FieldAtom,
    RangeAtom,
    SearchQuery,
    TextAtom,
)
from catalog.search.query import TextClause, concept_weight
from catalog.search.syntax import parse_query
from catalog.search.tantivy_index.documents import word_pairs
from catalog.search.tantivy_index.schema import (
    ALL_FIELD,
    PAIRS_FIELD,
    PUBLIC_KEY,
    TITLE_BOOST,
    filter_field,
    number_field,
)

Clause = tuple[tantivy.Occur, Any]
#: Filters on at most this many values are a union of term queries, beyond a term set.
TERM_UNION_MAX = 16
#: The memo's pseudo-field for a title clause with the title boost applied.
TITLE_BOOSTED = "title^"
#: ... and for a clause's scored form: required in ``all``, optional boosted title.
SCORED = "scored"
#: Score of a matching fact (field value, range): below a title word, like a text match.
FACT_WEIGHT = 1.0


@dataclass(frozen=True)
class View:
    """A searcher of one index generation and what its queries may skip."""

    searcher: tantivy.Searcher
    has_withdrawn: bool
    generation: int


def conjuncts_of(query: SearchQuery) -> tuple[Conjunct, ...]:
    """The query's conjuncts; without the service's interpretation, the text by syntax
    alone plus one conjunct of the given concepts (any of them)."""
    if query.conjuncts is not None:
        return query.conjuncts
    found = list(parse_query(query.text)) if query.text.strip() else []
    if query.concepts:
        found.append(Conjunct(atoms=tuple(query.concepts)))
    return tuple(found)


class QueryBuilder:
    """Builds and memoises query objects for one schema and analyzer."""

    def __init__(
        self, schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, memo_size: int = 20_000
    ) -> None:
        self.schema = schema
        self.analyzer = analyzer
        self._memo: Memo[Any] = Memo(memo_size, "tantivy queries")

    # -- text -------------------------------------------------------------------------

    def clause(self, atom: TextAtom) -> TextClause | None:
        """A text atom as the index's tokens: word, phrase or prefix (None: no tokens)."""
        tokens = tuple(self.analyzer.analyze(atom.text))
        if not tokens:
            return None
        if atom.kind == "prefix":
            return TextClause("prefix", tokens)
        return TextClause("phrase" if len(tokens) > 1 else "term", tokens)

    def core(self, conjuncts: Sequence[Conjunct], view: View, *, scored: bool) -> list[Clause]:
        """One boolean clause per conjunct (Must, or MustNot when negated)."""
        clauses: list[Clause] = []
        single = len(conjuncts) == 1
        for conjunct in conjuncts:
            subs = [self._atom(a, view, scored=scored, alone=single) for a in conjunct.atoms]
            found = [q for q in subs if q is not None]
            if conjunct.negated:
                if found:
                    clauses.append((tantivy.Occur.MustNot, _any(found)))
                continue
            if not found:  # e.g. concepts no record carries: the conjunct matches nothing
                return [(tantivy.Occur.Must, tantivy.Query.empty_query())]
            clauses.append((tantivy.Occur.Must, _any(found)))
        return clauses

    def _atom(self, atom: Any, view: View, *, scored: bool, alone: bool) -> Any:
        if isinstance(atom, TextAtom):
            clause = self.clause(atom)
            if clause is None:
                return None
            if not scored:
                return self.field_query(ALL_FIELD, clause)
            return self.field_query("either" if alone else SCORED, clause)
        if isinstance(atom, FieldAtom):
            return self.memo(("field", atom), lambda: self._field_atom(atom))
        if isinstance(atom, RangeAtom):
            return self.memo(("range", atom), lambda: self._range_atom(atom))
        if isinstance(atom, ConceptClause):
            return self._concept(atom, view)
        raise TypeError(f"unknown atom {atom!r}")

    def _field_atom(self, atom: FieldAtom) -> tantivy.Query:
        values = sorted({v.strip().lower() for v in atom.values if v.strip()})
        return _const(self.any_of(filter_field(atom.field), values), FACT_WEIGHT)

    def _range_atom(self, atom: RangeAtom) -> tantivy.Query:
        query = tantivy.Query.range_query(
            self.schema,
            number_field(atom.field),
            tantivy.FieldType.Float,
            atom.low,
            atom.high,
        )
        return _const(query, FACT_WEIGHT)

    def _concept(self, concept: ConceptClause, view: View) -> tantivy.Query | None:
        """The concept's IRIs that the index holds; None when it holds none of them."""
        held = self.memo(
            ("held", concept.iris),
            lambda: tuple(
                [i for i in concept.iris if i and view.searcher.doc_freq(name, i) > 0]
                for name in ("terms", "rollup_terms")
            ),
            generation=view.generation,
        )
        weight = concept_weight(concept.direct, concept.boost)
        found = [
            self.any_of(name, iris)
            for name, iris in zip(("terms", "rollup_terms"), held, strict=True)
            if iris
        ]
        return _const(_any(found), weight) if found else None

    def memo(self, key: Hashable, build: Any, generation: int | None = None) -> Any:
        """Query objects hold no index state: kept across generations unless they read
        the index (held IRIs), which pass the generation."""
        return self._memo.get((generation, key), build, None)

    def field_query(self, name: str, clause: TextClause) -> tantivy.Query:
        return self.memo((name, clause), lambda: self._build_field_query(name, clause))

    def _build_field_query(self, name: str, clause: TextClause) -> tantivy.Query:
        words = list(clause.tokens)
        if name == TITLE_BOOSTED:
            return tantivy.Query.boost_query(self.field_query("title", clause), TITLE_BOOST)
        if name == SCORED:
            required = (tantivy.Occur.Must, self.field_query(ALL_FIELD, clause))
            optional = (tantivy.Occur.Should, self.field_query(TITLE_BOOSTED, clause))
            return tantivy.Query.boolean_query([required, optional])
        if name == "either":
            # one clause ranks fastest as a union of its ``all`` and ``title`` forms (the
            # same documents, as ``all`` holds the title)
            either = [
                (tantivy.Occur.Should, self.field_query(ALL_FIELD, clause)),
                (tantivy.Occur.Should, self.field_query(TITLE_BOOSTED, clause)),
            ]
            return tantivy.Query.boolean_query(either)
        if clause.kind == "prefix" and len(words) == 1:
            # Tokens hold only letters and digits, so they are safe inside a regex.
            return tantivy.Query.regex_query(self.schema, name, f"{words[0]}.*")
        if clause.kind == "prefix":
            return tantivy.Query.phrase_prefix_query(self.schema, name, words)
        if clause.kind == "phrase" and name == ALL_FIELD:
            return self._phrase_in_all(words)
        if clause.kind == "phrase":
            return tantivy.Query.phrase_query(self.schema, name, words)
        return tantivy.Query.term_query(self.schema, name, words[0])

    def _phrase_in_all(self, words: list[str]) -> tantivy.Query:
        """A two-word phrase is one indexed word pair; a longer one is checked on positions
        only where all its pairs occur (word pairs never span two text fields)."""
        pairs = [
            tantivy.Query.term_query(self.schema, PAIRS_FIELD, pair) for pair in word_pairs(words)
        ]
        if len(pairs) == 1:
            return pairs[0]
        phrase = tantivy.Query.phrase_query(self.schema, ALL_FIELD, words)
        return all_of([phrase, *(unscored(pair) for pair in pairs)])

    # -- filters ----------------------------------------------------------------------

    def filters(
        self, filters: dict[str, list[str]], query: SearchQuery, view: View
    ) -> list[Clause]:
        """Facet, parent, visibility and withdrawn filters (none of them scored); memoised
        per distinct set, since most searches share a few (anonymous, one facet or none)."""
        key = (
            "filters",
            tuple((name, tuple(values)) for name, values in sorted(filters.items())),
            query.parent_id,
            None if query.reader_keys is None else tuple(query.reader_keys),
            query.include_withdrawn or not view.has_withdrawn,
        )
        return list(self.memo(key, lambda: self._build_filters(filters, query, view)))

    def _build_filters(
        self, filters: dict[str, list[str]], query: SearchQuery, view: View
    ) -> list[Clause]:
        subs = [
            (tantivy.Occur.Must, unscored(self.any_of(name, values)))
            for name, values in _filter_terms(filters, query).items()
        ]
        subs.extend(self._visibility(query.reader_keys))
        if not query.include_withdrawn and view.has_withdrawn:
            withdrawn = tantivy.Query.term_query(self.schema, "status", "withdrawn")
            subs.append((tantivy.Occur.MustNot, withdrawn))
        return subs

    def any_of(self, name: str, values: list[str]) -> tantivy.Query:
        """Documents with any of `values` in field `name` (none for an empty list)."""
        if not values:
            return tantivy.Query.empty_query()
        if len(values) == 1:
            return tantivy.Query.term_query(self.schema, name, values[0])
        if len(values) <= TERM_UNION_MAX:
            terms = [tantivy.Query.term_query(self.schema, name, value) for value in values]
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])
        return tantivy.Query.term_set_query(self.schema, name, values)

    def _visibility(self, reader_keys: list[str] | None) -> list[Clause]:
        """Clauses that keep the records these keys may read (None: no restriction).

        Most records are public, so a reader holding the public key gets the few
        restricted records excluded instead of an intersection with all public ones.
        """
        if reader_keys is None:
            return []
        keys = [key for key in reader_keys if key]
        if PUBLIC_KEY not in keys:
            return [(tantivy.Occur.Must, unscored(self.any_of("readers", keys)))]
        hidden = tantivy.Query.term_query(self.schema, "restricted", "1")
        others = [key for key in keys if key != PUBLIC_KEY]
        if others:
            readable = self.any_of("readers", others)
            hidden = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, hidden), (tantivy.Occur.MustNot, readable)]
            )
        return [(tantivy.Occur.MustNot, hidden)]


def final(core: list[Clause], narrowing: list[Clause]) -> tantivy.Query:
    """One flat boolean query (a nested boolean costs time for every matching document)."""
    subs = core + narrowing
    if not any(occur == tantivy.Occur.Must for occur, _ in subs):
        subs.insert(0, (tantivy.Occur.Must, tantivy.Query.all_query()))
    if len(subs) == 1:
        return subs[0][1]
    return tantivy.Query.boolean_query(subs)


def _filter_terms(filters: dict[str, list[str]], query: SearchQuery) -> dict[str, list[str]]:
    """Index field -> accepted values; an empty list matches nothing. Facets match their
    lower-cased values, labels and aliases."""
    terms = {
        (filter_field(k) if k in FACET_FIELDS else k): (
            sorted({v.strip().lower() for v in vs}) if k in FACET_FIELDS else vs
        )
        for k, vs in filters.items()
    }
    if query.parent_id is not None:
        terms["parent_id"] = [query.parent_id]
    return terms


def _any(queries: list[Any]) -> Any:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _const(query: tantivy.Query, weight: float) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, weight)


def unscored(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)


def all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])

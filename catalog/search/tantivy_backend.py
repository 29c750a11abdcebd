"""The embedded default search backend, built on tantivy (a Rust BM25 search library).

The index is a directory (``settings.index_dir``) that any process can read; one process
at a time may write. The IndexWriter is opened lazily on the first write and released at
`commit`/`close`, so another process can take the writer lock later. Queries are built
programmatically from `catalog.search.query` clauses (never through tantivy's query-string
parser), so user text cannot raise a parser error.

Facets: every facet value is stored twice, once as an exact indexed term (filters) and
once as a fast ``value<US>label`` column that a single terms-aggregation request counts,
so one request returns exact counts for all nine facets together with their labels.

Speed (10^6 records in 2 cores, see ``benchmarks/search_bench.py``):

- a word is ONE term in the combined ``all`` field (title, description, text and concept
  labels, as separate values) instead of a four-field disjunction; a title match adds
  an optional ``title`` clause boosted by `TITLE_BOOST`, so title matches rank first
  (description and text now weigh the same);
- a two-word phrase is one term of ``pairs`` (the adjacent word pairs of each field), a
  longer one checks positions only where all its pairs occur;
- visibility excludes the few restricted records (``MustNot restricted``) instead of
  intersecting with the dense set of public ones; the withdrawn filter and concept IRIs
  are left out while no indexed document carries them;
- the total is the sum of the ``level`` facet (every document has a level), so a search
  is one scoring pass for the page and one unscored counting pass for total and facets,
  run side by side on two threads (tantivy releases the GIL);
- a search matching a handful of records (`SMALL_RESULT_FACETS`) skips the aggregation:
  the ranking pass already holds every match, and their facets are counted from the
  facet keys stored with each document (the aggregation has a fixed cost of ~0.1 ms,
  more than a narrow search itself);
- queries are flat boolean queries (nesting costs time in every pass), except that each
  word of a several-word search pairs its ``all`` and title forms (see `_text_parts`);
- query objects are memoised: a word, a filter set, a concept's held IRIs are built
  once, not per search.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import tantivy

from catalog.domain.errors import ConflictError
from catalog.domain.records import FacetValue, RecordSummary
from catalog.domain.search import (
    FACET_FIELDS,
    ConceptClause,
    IndexDocument,
    SearchQuery,
    SearchResult,
)
from catalog.search.base import SearchBackend
from catalog.search.key_order import KeyOrder, first_in_order
from catalog.search.query import (
    FACET_KEY_SEP,
    TEXT_FIELDS,
    TextClause,
    check_filters,
    check_paging,
    concept_explanation,
    concept_weight,
    facet_key,
    has_content,
    merge_facet_buckets,
    parse_text,
    summary_fields,
    title_key,
    title_sort_key,
    updated_sort_value,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "imagora-tantivy-9"
CLOSURE_FIELD = "closure"
#: At most this many concept counts per search (the vocabularies hold fewer concepts).
TERM_COUNT_SIZE = 5000
UPDATED_FIELD = "n_updated"
TOKENIZER = "imagora"
#: Ties in relevance are ordered by id when the tie group ends within this many hits.
TIE_WINDOW = 256
#: Facet values returned per facet; counts stay exact below this per segment.
FACET_SIZE = 200
#: The facet column value of a document without that facet (never shown).
NO_VALUE = FACET_KEY_SEP
FACET_SEGMENT_SIZE = 10_000
_EXACT_FIELDS = (
    "id",
    "parent_id",
    "collection_id",
    "ancestors",
    "readers",
    "status",
    "terms",
    "restricted",
)
#: The combined full-text field: every text field of `TEXT_FIELDS`, as separate values.
ALL_FIELD = "all"
#: Adjacent word pairs of each text field ("resting_state"): a two-word phrase is one term.
PAIRS_FIELD = "pairs"
PAIR_JOINER = "_"
TITLE_BOOST = TEXT_FIELDS["title"]
PUBLIC_KEY = "public"
#: Below this many documents, ranking and counting run one after the other: in-thread is
#: cheaper per core; above it, overlapping them on two threads keeps p95 latency down.
PARALLEL_COUNT_MIN_DOCS = 200_000
#: Filters on at most this many values are a union of term queries, beyond a term set.
_TERM_UNION_MAX = 16
#: At most this many matches: facets are counted from their stored keys, not aggregated
#: (a stored document reads in ~3 us; an aggregation costs ~100 us before its first doc).
SMALL_RESULT_FACETS = 24
FACET_KEYS_FIELD = "facet_keys"
#: Query objects kept for reuse (clauses and filter sets), at most.
_QUERY_MEMO_MAX = 20_000
#: Title order and id order (the order of unranked searches), from u64 chunk columns.
TITLE_ORDER = KeyOrder(
    "o_title",
    4,
    "k_title",
    lambda doc: title_key(orjson.loads(doc["summary"][0])["title"], doc["id"][0]),
)
ID_ORDER = KeyOrder("o_id", 3, "id", lambda doc: doc["id"][0])
#: The memo's pseudo-field for a title clause with the title boost applied.
TITLE_BOOSTED = "title^"
#: ... and for a clause's scored form: required in ``all``, optional boosted title.
SCORED = "scored"


def _analyzer() -> tantivy.TextAnalyzer:
    """Word split, long-word drop, lower case, accent folding: used at index and query time."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ALL_FIELD, tokenizer_name=TOKENIZER)
    builder.add_text_field("title", tokenizer_name=TOKENIZER)
    builder.add_text_field(PAIRS_FIELD, tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    for name in _EXACT_FIELDS[1:]:
        builder.add_text_field(name, stored=name == "terms", tokenizer_name="raw")
    for name in FACET_FIELDS:
        builder.add_text_field(f"f_{name}", tokenizer_name="raw")
        builder.add_text_field(f"fk_{name}", fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("k_title", fast=True, tokenizer_name="raw", index_option="basic")
    for name in (*TITLE_ORDER.fields(), *ID_ORDER.fields()):  # see catalog.search.key_order
        builder.add_unsigned_field(name, fast=True, indexed=True)
    # a number, not a string: tantivy orders string fast fields in time linear in the offset
    builder.add_unsigned_field(UPDATED_FIELD, fast=True)
    builder.add_bytes_field("summary", stored=True)
    builder.add_bytes_field("term_info", stored=True)
    builder.add_bytes_field(FACET_KEYS_FIELD, stored=True)
    builder.add_text_field(CLOSURE_FIELD, fast=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


class TantivyBackend(SearchBackend):
    """BM25 search with field boosts, phrases, prefixes and one-request facet counts.

    `path` None keeps the index in memory (tests, benchmarks). `needs_rebuild` is True
    when the index was created empty or recreated for a new schema version, so the caller
    knows to reindex from the store.

    One writer thread by default: each thread writes segments of its own, and every
    search pays per segment (a narrow search ran ~40% slower on 2 segments than on 1),
    while indexing here is bound by building the documents in Python (a 10^4 rebuild
    took the same time with 1 or 2 threads). 0 lets tantivy pick (one per core).
    """

    name = "tantivy"

    def __init__(
        self, path: Path | None = None, *, writer_heap_mb: int = 128, writer_threads: int = 1
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.needs_rebuild = False
        self._heap = writer_heap_mb * 1_000_000
        self._threads = writer_threads
        self._schema = _build_schema()
        self._analyzer = _analyzer()
        self._index = self._open_index()
        self._index.register_tokenizer(TOKENIZER, self._analyzer)
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._generation = 0  # bumped on every reload: what searchers see has changed
        self._df_memo: tuple[int, dict[tuple[str, ...], list[str]]] = (-1, {})
        self._query_memo: dict[Hashable, Any] = {}
        self._view: tuple[int, _View | None] = (-1, None)
        self._pool_pid = 0

    # -- opening ------------------------------------------------------------------------

    def _open_index(self) -> tantivy.Index:
        if self.path is None:
            self.needs_rebuild = True
            return tantivy.Index(self._schema)
        marker = self.path / "imagora-schema"
        current = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
        if current != SCHEMA_VERSION:
            # The index is derived data: an old or foreign layout is dropped and rebuilt.
            if self.path.exists():
                shutil.rmtree(self.path)
            self.needs_rebuild = True
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except ValueError as exc:
            # A damaged segment (truncated .store, garbage meta.json) used to stop the
            # server at start-up; the index is derived data, so start it again empty.
            log.error(
                "the search index at %s is damaged (%s); rebuilding it from the store",
                self.path,
                exc,
            )
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
            self.needs_rebuild = True
        marker.write_text(SCHEMA_VERSION + "\n", encoding="utf-8")
        return index

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(self._heap, self._threads)
            except ValueError as exc:
                raise ConflictError(
                    "the search index is being written by another process; retry when "
                    f"that write has finished ({exc})"
                ) from exc
        return self._writer

    # -- writing ------------------------------------------------------------------------

    def index(self, docs: Sequence[IndexDocument]) -> None:
        with self._lock:
            writer = self._get_writer()
            for doc in docs:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(self._to_tantivy(doc))

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            writer = self._get_writer()
            for record_id in ids:
                writer.delete_documents_by_term("id", record_id)

    def commit(self) -> None:
        with self._lock:
            if self._writer is None:
                return
            writer, self._writer = self._writer, None
            writer.commit()
            # Finishing merges also drops the writer, which releases the writer lock.
            writer.wait_merging_threads()
            self._index.reload()
            self._generation += 1

    def clear(self) -> None:
        """Drop every document and commit at once (rebuilds start from an empty index)."""
        with self._lock:
            self._get_writer().delete_all_documents()
            self.commit()

    def refresh(self) -> None:
        self._index.reload()
        self._generation += 1

    def close(self) -> None:
        """Release the writer (writes not committed are discarded) and the search thread."""
        with self._lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer = None
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _to_tantivy(self, doc: IndexDocument) -> tantivy.Document:
        texts = [t for t in (doc.title, doc.description, doc.text, doc.term_text) if t]
        fields: dict[str, Any] = {
            "id": doc.id,
            ALL_FIELD: texts,
            PAIRS_FIELD: [_pairs_text(self._analyzer.analyze(t)) for t in texts],
            "title": doc.title,
            "ancestors": list(doc.ancestors),
            "readers": list(doc.readers),
            "status": doc.status,
            "terms": list(doc.terms),
            "k_title": title_sort_key(doc),
            **TITLE_ORDER.columns(title_sort_key(doc)),
            **ID_ORDER.columns(doc.id),
            UPDATED_FIELD: updated_sort_value(doc),
            "summary": orjson.dumps(summary_fields(doc)),
            "term_info": orjson.dumps(doc.term_details),
            CLOSURE_FIELD: list(doc.term_closure),
            "f_level": doc.level,
            "fk_level": facet_key("level", doc.level, doc.facet_labels),
        }
        if PUBLIC_KEY not in doc.readers:
            fields["restricted"] = "1"
        for name in ("parent_id", "collection_id"):
            if getattr(doc, name):
                fields[name] = getattr(doc, name)
        keys = {"level": fields["fk_level"]}
        for name, value in doc.facets.items():
            if name in FACET_FIELDS and name != "level" and value:
                fields[f"f_{name}"] = value
                fields[f"fk_{name}"] = keys[name] = facet_key(name, value, doc.facet_labels)
        for name in FACET_FIELDS:
            # every document has every facet column (NO_VALUE where it has none): tantivy
            # aggregates a column that some documents lack ~6x slower
            fields.setdefault(f"fk_{name}", NO_VALUE)
        fields[FACET_KEYS_FIELD] = orjson.dumps(keys)
        return tantivy.Document.from_dict(fields, self._schema)

    # -- searching ----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        offset, size = check_paging(query)
        filters = check_filters(query.filters)
        clauses = parse_text(query.text, self._analyzer.analyze)
        if not clauses and not query.concepts and has_content(query.text):
            return _empty_result(query)  # e.g. a lone `"` or `*`: nothing to look for
        view = self._current_view()
        narrowing = self._filter_clauses(filters, query, view)
        core = self._core_parts(clauses, query, view.searcher, scored=True)
        ranking = self._final(core, narrowing)
        page = _PageRequest(query, offset, size, ranked=bool(core))
        if not query.with_facets:
            total, hits, _ = self._page(view.searcher, ranking, page, count=True)
            return SearchResult(total=total, hits=hits, facets={})
        if view.searcher.num_docs < PARALLEL_COUNT_MIN_DOCS:
            # small index: a thread hand-off costs more CPU than counting takes
            small = SMALL_RESULT_FACETS if not query.with_term_counts else 0
            # no count: tantivy then skips non-competitive blocks (block-max WAND); a
            # complete top list tells the total by itself
            total, hits, every = self._page(view.searcher, ranking, page, count=False, every=small)
            if every is not None:
                return SearchResult(total=total, hits=hits, facets=_facets_of(every))
            matching = self._matching(clauses, query, view, narrowing)
            total, facets, terms = self._facets(view.searcher, matching, query.with_term_counts)
            return SearchResult(total=total, hits=hits, facets=facets, term_counts=terms)
        matching = self._matching(clauses, query, view, narrowing)
        counting = self._count_in_background(view.searcher, matching, query.with_term_counts)
        hits = self._page(view.searcher, ranking, page, count=False)[1] if size else []
        total, facets, terms = counting.result()
        return SearchResult(total=total, hits=hits, facets=facets, term_counts=terms)

    def _matching(
        self,
        clauses: list[TextClause],
        query: SearchQuery,
        view: _View,
        narrowing: list[tuple[tantivy.Occur, Any]],
    ) -> tantivy.Query:
        """The unscored form of the search, for counting (the same documents)."""
        return self._final(self._core_parts(clauses, query, view.searcher, scored=False), narrowing)

    def _current_view(self) -> _View:
        """The searcher of the current generation and what its queries may skip.

        Kept until the next `refresh`/`commit` (IndexSync refreshes readers when any
        process commits), so the view and the memos keyed on the generation describe the
        same snapshot, even though tantivy's reader also reloads by itself.
        """
        generation, view = self._view
        if view is None or generation != self._generation:
            searcher = self._index.searcher()
            view = _View(searcher, searcher.doc_freq("status", "withdrawn") > 0)
            self._view = (self._generation, view)
        return view

    def _count_in_background(
        self, searcher: tantivy.Searcher, matching: tantivy.Query, with_terms: bool
    ) -> Future[tuple[int, dict[str, list[FacetValue]], dict[str, int]]]:
        """Total and facet counts on a second thread while this one ranks the page."""
        with self._lock:
            # A forked child inherits the pool but not its threads: it needs its own.
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="imagora-facets")
                self._pool_pid = os.getpid()
            pool = self._pool
        return pool.submit(self._facets, searcher, matching, with_terms)

    def _core_parts(
        self,
        clauses: list[TextClause],
        query: SearchQuery,
        searcher: tantivy.Searcher,
        *,
        scored: bool,
    ) -> list[tuple[tantivy.Occur, Any]]:
        """The text clauses (all must match) OR any concept, as boolean sub-clauses.

        The scored form adds the title boost; the unscored form (for counting) matches
        the same documents, since ``all`` holds the title too.
        """
        words = self._text_parts(clauses, scored=scored)
        wanted = [concept for concept in query.concepts if any(concept.iris)]
        concepts = [self._concept_query(concept, searcher) for concept in wanted]
        concepts = [concept for concept in concepts if concept is not None]
        if not concepts:
            # Concepts that no indexed record carries match nothing: words alone decide.
            if words or not wanted:
                return words
            return [(tantivy.Occur.Must, tantivy.Query.empty_query())]
        if words:
            concepts.insert(0, tantivy.Query.boolean_query(words))
        union = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in concepts])
        return [(tantivy.Occur.Must, union)]

    def _text_parts(
        self, clauses: list[TextClause], *, scored: bool
    ) -> list[tuple[tantivy.Occur, Any]]:
        """Each clause must match ``all``; when scored, a title match adds the title boost.

        One clause ranks fastest as a union of its ``all`` and ``title`` forms (the same
        documents, as ``all`` holds the title); several as one required sub-query per
        clause, ``all`` required and ``title`` optional. Optional title clauses side by
        side would be merged into one union, which scores whole 4,096-document windows of
        every dense title word for each candidate (measured ~20% slower for a narrow
        three-word search, no faster for broad ones).
        """
        musts = [(tantivy.Occur.Must, self._field_query(ALL_FIELD, c)) for c in clauses]
        if not scored or not clauses:
            return musts
        if len(clauses) == 1:
            either = [
                (tantivy.Occur.Should, musts[0][1]),
                (tantivy.Occur.Should, self._field_query(TITLE_BOOSTED, clauses[0])),
            ]
            return [(tantivy.Occur.Must, tantivy.Query.boolean_query(either))]
        return [(tantivy.Occur.Must, self._field_query(SCORED, c)) for c in clauses]

    def _concept_query(
        self, concept: ConceptClause, searcher: tantivy.Searcher
    ) -> tantivy.Query | None:
        """The concept's IRIs that the index holds; None when it holds none of them."""
        iris = self._held(searcher, tuple(concept.iris))
        if not iris:
            return None
        weight = concept_weight(concept.direct, concept.boost)
        return tantivy.Query.const_score_query(self._any_of("terms", iris), weight)

    def _held(self, searcher: tantivy.Searcher, iris: tuple[str, ...]) -> list[str]:
        """Those of `iris` that some record carries. Memoised until the index next
        changes: concept expansions name dozens of IRIs, and the same concepts come back
        query after query."""
        generation, known = self._df_memo
        if generation != self._generation:
            known = {}
            self._df_memo = (self._generation, known)
        held = known.get(iris)
        if held is None:
            held = [iri for iri in iris if iri and searcher.doc_freq("terms", iri) > 0]
            if len(known) > 10_000:  # a bound, against a stream of distinct expansions
                known.clear()
            known[iris] = held
        return held

    def _field_query(self, name: str, clause: TextClause) -> tantivy.Query:
        """The query for one clause in one field; memoised, as the same words come back
        search after search (a query object is immutable and holds no index state)."""
        key = (name, clause)
        query = self._query_memo.get(key)
        if query is None:
            query = self._build_field_query(name, clause)
            self._remember(key, query)
        return query

    def _remember(self, key: Hashable, value: Any) -> None:
        if len(self._query_memo) >= _QUERY_MEMO_MAX:
            self._query_memo.clear()  # a bound, against a stream of distinct words
        self._query_memo[key] = value

    def _build_field_query(self, name: str, clause: TextClause) -> tantivy.Query:
        words = list(clause.tokens)
        if name == TITLE_BOOSTED:
            return tantivy.Query.boost_query(self._field_query("title", clause), TITLE_BOOST)
        if name == SCORED:
            required = (tantivy.Occur.Must, self._field_query(ALL_FIELD, clause))
            optional = (tantivy.Occur.Should, self._field_query(TITLE_BOOSTED, clause))
            return tantivy.Query.boolean_query([required, optional])
        if clause.kind == "prefix" and len(words) == 1:
            # Tokens hold only letters and digits, so they are safe inside a regex.
            return tantivy.Query.regex_query(self._schema, name, f"{words[0]}.*")
        if clause.kind == "prefix":
            return tantivy.Query.phrase_prefix_query(self._schema, name, words)
        if clause.kind == "phrase" and name == ALL_FIELD:
            return self._phrase_in_all(words)
        if clause.kind == "phrase":
            return tantivy.Query.phrase_query(self._schema, name, words)
        return tantivy.Query.term_query(self._schema, name, words[0])

    def _phrase_in_all(self, words: list[str]) -> tantivy.Query:
        """A two-word phrase is one indexed word pair; a longer one is checked on positions
        only where all its pairs occur (word pairs never span two text fields)."""
        pairs = [
            tantivy.Query.term_query(self._schema, PAIRS_FIELD, pair) for pair in _word_pairs(words)
        ]
        if len(pairs) == 1:
            return pairs[0]
        phrase = tantivy.Query.phrase_query(self._schema, ALL_FIELD, words)
        return _all_of([phrase, *(_unscored(pair) for pair in pairs)])

    def _filter_clauses(
        self, filters: dict[str, list[str]], query: SearchQuery, view: _View
    ) -> list[tuple[tantivy.Occur, Any]]:
        """Facet, parent, visibility and withdrawn filters (none of them scored); memoised
        per distinct set, since most searches share a few (anonymous, one facet or none)."""
        key = (
            "filters",
            tuple((name, tuple(values)) for name, values in sorted(filters.items())),
            query.parent_id,
            None if query.reader_keys is None else tuple(query.reader_keys),
            query.include_withdrawn or not view.has_withdrawn,
        )
        subs = self._query_memo.get(key)
        if subs is None:
            subs = self._build_filter_clauses(filters, query, view)
            self._remember(key, subs)
        return list(subs)

    def _build_filter_clauses(
        self, filters: dict[str, list[str]], query: SearchQuery, view: _View
    ) -> list[tuple[tantivy.Occur, Any]]:
        subs = [
            (tantivy.Occur.Must, _unscored(self._any_of(name, values)))
            for name, values in self._filter_terms(filters, query).items()
        ]
        subs.extend(self._visibility(query.reader_keys))
        if not query.include_withdrawn and view.has_withdrawn:
            withdrawn = tantivy.Query.term_query(self._schema, "status", "withdrawn")
            subs.append((tantivy.Occur.MustNot, withdrawn))
        return subs

    @staticmethod
    def _final(
        core: list[tuple[tantivy.Occur, Any]], narrowing: list[tuple[tantivy.Occur, Any]]
    ) -> tantivy.Query:
        """One flat boolean query (a nested boolean costs time for every matching document)."""
        subs = core + narrowing
        if not any(occur == tantivy.Occur.Must for occur, _ in subs):
            subs.insert(0, (tantivy.Occur.Must, tantivy.Query.all_query()))
        if len(subs) == 1:
            return subs[0][1]
        return tantivy.Query.boolean_query(subs)

    def _any_of(self, name: str, values: list[str]) -> tantivy.Query:
        """Documents with any of `values` in field `name` (none for an empty list)."""
        if not values:
            return tantivy.Query.empty_query()
        if len(values) == 1:
            return tantivy.Query.term_query(self._schema, name, values[0])
        if len(values) <= _TERM_UNION_MAX:
            terms = [tantivy.Query.term_query(self._schema, name, value) for value in values]
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])
        return tantivy.Query.term_set_query(self._schema, name, values)

    def _visibility(self, reader_keys: list[str] | None) -> list[tuple[tantivy.Occur, Any]]:
        """Clauses that keep the records these keys may read (None: no restriction).

        Most records are public, so a reader holding the public key gets the few
        restricted records excluded instead of an intersection with all public ones.
        """
        if reader_keys is None:
            return []
        keys = [key for key in reader_keys if key]
        if PUBLIC_KEY not in keys:
            return [(tantivy.Occur.Must, _unscored(self._any_of("readers", keys)))]
        hidden = tantivy.Query.term_query(self._schema, "restricted", "1")
        others = [key for key in keys if key != PUBLIC_KEY]
        if others:
            readable = self._any_of("readers", others)
            hidden = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, hidden), (tantivy.Occur.MustNot, readable)]
            )
        return [(tantivy.Occur.MustNot, hidden)]

    @staticmethod
    def _filter_terms(filters: dict[str, list[str]], query: SearchQuery) -> dict[str, list[str]]:
        """Index field -> accepted values; an empty list matches nothing."""
        terms = {(f"f_{k}" if k in FACET_FIELDS else k): v for k, v in filters.items()}
        if query.parent_id is not None:
            terms["parent_id"] = [query.parent_id]
        return terms

    def _page(
        self,
        searcher: tantivy.Searcher,
        final: tantivy.Query,
        page: _PageRequest,
        *,
        count: bool,
        every: int = 0,
    ) -> tuple[int, list[RecordSummary], list[tantivy.Document] | None]:
        """(total when `count`, else 0; the hits of the page; every matching document when
        there are at most `every` of them and this pass saw them all, else None)."""
        query, offset, size = page.query, page.offset, page.size
        if query.sort == "relevance" and page.ranked:
            return self._relevance_page(searcher, final, page, count=count, every=every)
        if query.sort == "updated":
            return self._relevance_page(
                searcher, final, page, count=count, every=every, field=UPDATED_FIELD
            )
        order = TITLE_ORDER if query.sort == "title" else ID_ORDER
        total, addresses = first_in_order(
            searcher, self._schema, final, offset + size, order, count=count
        )
        docs = [searcher.doc(address) for address in addresses[offset:]]
        hits = [self._summary(doc, 0.0, query) for doc in docs]
        # fewer than asked for: these are all the matches
        seen_all = size > 0 and offset == 0 and len(addresses) < size and len(docs) <= every
        return (len(docs) if seen_all else total), hits, docs if seen_all else None

    def _relevance_page(
        self,
        searcher: tantivy.Searcher,
        final: tantivy.Query,
        page: _PageRequest,
        *,
        count: bool,
        every: int = 0,
        field: str | None = None,
    ) -> tuple[int, list[RecordSummary], list[tantivy.Document] | None]:
        """Score order (or ascending `field` order) with ties ordered by id, consistently
        for every page.

        tantivy breaks score ties by internal address. A tie group that ends within
        `TIE_WINDOW` hits is re-sorted by id; a larger one keeps tantivy's order. Both
        rules depend only on the group, so pages never overlap or skip hits.
        """
        offset = page.offset
        need = offset + page.size
        # One pass that sees past the tie window: a second pass costs a full evaluation,
        # a longer top list costs next to nothing.
        limit = max(need, TIE_WINDOW) + 1
        if field is None:
            result = searcher.search(final, limit, count=count)
        else:
            result = searcher.search(
                final, limit, count=count, order_by_field=field, order=tantivy.Order.Asc
            )
        hits = result.hits
        complete = len(hits) < limit
        docs: dict[int, tantivy.Document] = {}
        ordered = self._order_ties(searcher, hits, offset, need, complete, docs)
        summaries = []
        for position in ordered[offset:need]:
            score, address = hits[position]
            doc = docs.get(position)
            if doc is None:
                doc = docs[position] = searcher.doc(address)
            summaries.append(self._summary(doc, 0.0 if field else float(score), page.query))
        if not (complete and len(hits) <= every):
            return result.count or 0, summaries, None
        for position, (_, address) in enumerate(hits):
            if position not in docs:
                docs[position] = searcher.doc(address)
        return len(hits), summaries, list(docs.values())

    @staticmethod
    def _order_ties(
        searcher: tantivy.Searcher,
        hits: list[tuple[Any, Any]],
        offset: int,
        need: int,
        complete: bool,
        docs: dict[int, tantivy.Document],
    ) -> list[int]:
        """Hit positions in final order, id-sorting the tie groups that touch the page."""
        order = list(range(len(hits)))
        start = 0
        while start < min(need, len(hits)):
            end = start
            while end < len(hits) and hits[end][0] == hits[start][0]:
                end += 1
            known_end = end < len(hits) or complete
            if end > offset and end - start > 1 and known_end and end <= TIE_WINDOW:
                for position in range(start, end):
                    docs[position] = searcher.doc(hits[position][1])
                order[start:end] = sorted(range(start, end), key=lambda p: docs[p]["id"][0])
            start = end
        return order

    def _summary(self, doc: tantivy.Document, score: float, query: SearchQuery) -> RecordSummary:
        stored = orjson.loads(doc["summary"][0])
        explanation = []
        terms = doc["terms"] if query.concepts else None
        if terms:  # a record without terms matched no concept
            details = orjson.loads(doc["term_info"][0]) if doc.get_first("term_info") else {}
            explanation = concept_explanation(terms, query, details)
        return RecordSummary(**stored, score=score, explanation=explanation)

    @staticmethod
    def _facets(
        searcher: tantivy.Searcher, final: tantivy.Query, with_terms: bool = False
    ) -> tuple[int, dict[str, list[FacetValue]], dict[str, int]]:
        """(total, facets, concept counts) from one aggregation pass; every document has
        a level, so the level counts add up to the total."""
        answer = searcher.aggregate(
            final, _FACET_AND_TERM_REQUEST if with_terms else _FACET_REQUEST
        )
        terms = {
            str(b["key"]): int(b["doc_count"])
            for b in answer.get(CLOSURE_FIELD, {}).get("buckets", [])
        }
        facets = {
            name: merge_facet_buckets(
                (bucket["key"], int(bucket["doc_count"]))
                for bucket in answer.get(name, {}).get("buckets", [])
                if bucket["key"] != NO_VALUE
            )[:FACET_SIZE]
            for name in FACET_FIELDS
        }
        level = answer.get("level", {})
        total = sum(int(b["doc_count"]) for b in level.get("buckets", []))
        return total + int(level.get("sum_other_doc_count", 0)), facets, terms


@dataclass(frozen=True)
class _View:
    """A searcher and whether its index holds withdrawn records at all."""

    searcher: tantivy.Searcher
    has_withdrawn: bool


@dataclass(frozen=True)
class _PageRequest:
    query: SearchQuery
    offset: int
    size: int
    ranked: bool


_FACET_REQUEST: dict[str, Any] = {
    name: {
        # one more than shown: NO_VALUE may take a place
        "terms": {"field": f"fk_{name}", "size": FACET_SIZE + 1, "segment_size": FACET_SEGMENT_SIZE}
    }
    for name in FACET_FIELDS
}


def _facets_of(docs: Sequence[tantivy.Document]) -> dict[str, list[FacetValue]]:
    """Facet counts of a few documents from their stored keys: the same values, labels
    and order as the aggregation gives (`merge_facet_buckets` sorts them)."""
    counts: dict[str, dict[str, int]] = {}
    for doc in docs:
        for name, key in orjson.loads(doc[FACET_KEYS_FIELD][0]).items():
            per_facet = counts.setdefault(name, {})
            per_facet[key] = per_facet.get(key, 0) + 1
    facets: dict[str, list[FacetValue]] = {}
    for name in FACET_FIELDS:
        keys = counts.get(name)
        if not keys:
            facets[name] = []
        elif len(keys) == 1:  # the usual case for a handful of hits: nothing to merge
            ((key, count),) = keys.items()
            facets[name] = [_facet_value(key, count)]
        else:
            ranked = sorted(keys.items(), key=lambda item: (-item[1], item[0]))
            facets[name] = merge_facet_buckets(ranked)
    return facets


@functools.lru_cache(maxsize=4096)
def _facet_value(key: str, count: int) -> FacetValue:
    """One facet value from its stored key; shared (FacetValue is frozen), since the same
    few values and small counts come back in search after search."""
    value, _, label = key.partition(FACET_KEY_SEP)
    return FacetValue(value=value, label=label or value, count=count)


def _unscored(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)


def _all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _word_pairs(tokens: Sequence[str]) -> list[str]:
    """Adjacent token pairs, as indexed in ``pairs`` (tokens never contain the joiner)."""
    return list(map(PAIR_JOINER.join, itertools.pairwise(tokens)))


def _pairs_text(tokens: Sequence[str]) -> str:
    """The ``pairs`` value of one text field: its word pairs, space separated."""
    return " ".join(map(PAIR_JOINER.join, itertools.pairwise(tokens)))


def _empty_result(query: SearchQuery) -> SearchResult:
    facets = {name: [] for name in FACET_FIELDS} if query.with_facets else {}
    return SearchResult(total=0, hits=[], facets=facets)


def temporary_backend() -> tuple[TantivyBackend, Path]:
    """A backend on a fresh temporary directory (benchmarks, multi-process tests)."""
    directory = Path(tempfile.mkdtemp(prefix="imagora-index-"))
    return TantivyBackend(directory / "index"), directory


_FACET_AND_TERM_REQUEST: dict[str, Any] = {
    **_FACET_REQUEST,
    CLOSURE_FIELD: {
        "terms": {"field": CLOSURE_FIELD, "size": TERM_COUNT_SIZE, "segment_size": TERM_COUNT_SIZE}
    },
}

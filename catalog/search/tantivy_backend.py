"""The embedded default search backend, built on tantivy (a Rust BM25 search library).

The index is a directory (``settings.index_dir``) that any process can read; one process
at a time may write. The IndexWriter is opened lazily on the first write and released at
`commit`/`close`, so another process can take the writer lock later.

This module wires the parts in `catalog.search.tantivy_index`: the schema, the document
mapping, the query builder, the facet counting and the execution plans (see each
module's docstring for the speed notes behind them).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import tantivy

from catalog.domain.errors import ConflictError
from catalog.domain.records import RecordSummary
from catalog.domain.search import FACET_FIELDS, IndexDocument, SearchQuery, SearchResult
from catalog.search.base import SearchBackend
from catalog.search.query import (
    check_filters,
    check_paging,
    concept_explanation,
    has_content,
)
from catalog.search.tantivy_index import facets as facet_counts
from catalog.search.tantivy_index.documents import to_tantivy
from catalog.search.tantivy_index.plans import TIE_WINDOW, Job, PageRequest, PlanChooser
from catalog.search.tantivy_index.queries import QueryBuilder, View, conjuncts_of, final
from catalog.search.tantivy_index.schema import (
    ALL_FIELD,
    SCHEMA_VERSION,
    TITLE_ORDER,
    TOKENIZER,
    analyzer,
    build_schema,
)

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "SMALL_RESULT_FACETS",
    "TIE_WINDOW",
    "TITLE_ORDER",
    "TantivyBackend",
    "temporary_backend",
]
#: The default plan thresholds (see `catalog.search.tantivy_index.plans`).
SMALL_RESULT_FACETS = 24
PARALLEL_COUNT_MIN_DOCS = 200_000
#: Index words read per first letter when looking for "did you mean" candidates.
SUGGEST_TERMS_MAX = 5000


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
        self,
        path: Path | None = None,
        *,
        writer_heap_mb: int = 128,
        writer_threads: int = 1,
        plans: PlanChooser | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.needs_rebuild = False
        self._heap = writer_heap_mb * 1_000_000
        self._threads = writer_threads
        self._schema = build_schema()
        self._analyzer = analyzer()
        self._index = self._open_index()
        self._index.register_tokenizer(TOKENIZER, self._analyzer)
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.RLock()
        self.plans = plans or PlanChooser(PARALLEL_COUNT_MIN_DOCS, SMALL_RESULT_FACETS)
        self._queries = QueryBuilder(self._schema, self._analyzer)
        self._generation = 0  # bumped on every reload: what searchers see has changed
        self._view: View | None = None

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
                writer.add_document(to_tantivy(doc, self._schema, self._analyzer))

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
            self.plans.close()

    # -- searching ----------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Bumped whenever what searchers see may have changed (memo keys use it)."""
        return self._generation

    def search(self, query: SearchQuery) -> SearchResult:
        offset, size = check_paging(query)
        filters = check_filters(query.filters)
        conjuncts = conjuncts_of(query)
        if not conjuncts and has_content(query.text) and query.conjuncts is None:
            return _empty_result(query)  # e.g. a lone `;`: nothing to look for
        view = self._current_view()
        narrowing = self._queries.filters(filters, query, view)
        core = self._queries.core(conjuncts, view, scored=True)
        ranking = final(core, narrowing)
        ranked = any(not c.negated for c in conjuncts)
        job = Job(
            searcher=view.searcher,
            schema=self._schema,
            ranking=ranking,
            matching=lambda: final(self._queries.core(conjuncts, view, scored=False), narrowing),
            page=PageRequest(query, offset, size, ranked=ranked),
            summarise=self._summary,
        )
        answer = self.plans.choose(query, view.searcher.num_docs).run(job)
        counts = answer.counts
        if query.with_facets and query.disjunctive_facets:
            self._disjunctive(counts, filters, query, view, conjuncts)
        return SearchResult(
            total=counts.total,
            hits=answer.hits,
            facets=counts.facets if query.with_facets else {},
            term_counts=counts.terms,
            missing=counts.missing if query.with_facets else {},
        )

    def _disjunctive(
        self,
        counts: facet_counts.Counts,
        filters: dict[str, list[str]],
        query: SearchQuery,
        view: View,
        conjuncts: Sequence,
    ) -> None:
        """A filtered facet counted with its own filter off, so its other values stay
        visible with the records each would add (several values of a facet are ORed)."""
        for name in filters:
            if name not in FACET_FIELDS:
                continue
            others = {k: v for k, v in filters.items() if k != name}
            narrowing = self._queries.filters(others, query, view)
            matching = final(self._queries.core(conjuncts, view, scored=False), narrowing)
            values, missing = facet_counts.aggregate_one(view.searcher, matching, name)
            counts.facets[name] = values
            counts.missing[name] = missing

    def suggest_terms(self, words: Sequence[str], reader_keys: list[str] | None) -> dict[str, int]:
        """Index words that share a word's first letter, with how many visible records
        hold each (the candidates of "did you mean")."""
        view = self._current_view()
        visible = final([], self._queries.filters({}, SearchQuery(reader_keys=reader_keys), view))
        found: dict[str, int] = {}
        for word in words:
            tokens = self._analyzer.analyze(word)
            if not tokens:
                continue
            for term, count in view.searcher.terms_with_prefix(
                ALL_FIELD, tokens[0][:1], filter_query=visible, limit=SUGGEST_TERMS_MAX
            ):
                if count:
                    found[term] = count
        return found

    def _current_view(self) -> View:
        """The searcher of the current generation and what its queries may skip.

        Kept until the next `refresh`/`commit` (IndexSync refreshes readers when any
        process commits), so the view and the memos keyed on the generation describe the
        same snapshot, even though tantivy's reader also reloads by itself.
        """
        view = self._view
        if view is None or view.generation != self._generation:
            searcher = self._index.searcher()
            has_withdrawn = searcher.doc_freq("status", "withdrawn") > 0
            view = self._view = View(searcher, has_withdrawn, self._generation)
        return view

    def _summary(self, doc: tantivy.Document, score: float, query: SearchQuery) -> RecordSummary:
        stored = orjson.loads(doc["summary"][0])
        explanation = []
        terms = doc["terms"] if query.concepts else None
        if terms:  # a record without terms matched no concept
            details = orjson.loads(doc["term_info"][0]) if doc.get_first("term_info") else {}
            explanation = concept_explanation(terms, query, details)
        return RecordSummary(**stored, score=score, explanation=explanation)


def _empty_result(query: SearchQuery) -> SearchResult:
    empty = facet_counts.empty_counts()
    if not query.with_facets:
        return SearchResult(total=0, hits=[], facets={})
    return SearchResult(total=0, hits=[], facets=empty.facets, missing=empty.missing)


def temporary_backend() -> tuple[TantivyBackend, Path]:
    """A backend on a fresh temporary directory (benchmarks, multi-process tests)."""
    directory = Path(tempfile.mkdtemp(prefix="imagora-index-"))
    return TantivyBackend(directory / "index"), directory

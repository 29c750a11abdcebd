"""The embedded default search backend, built on tantivy (a Rust BM25 search library).

The index is a directory (``settings.index_dir``) that any process can read; one process
at a time may write. The IndexWriter is opened lazily on the first write and released at
`commit`/`close`, so another process can take the writer lock later. Queries are built
programmatically from `catalog.search.query` clauses (never through tantivy's query-string
parser), so user text cannot raise a parser error.

Facets: every facet value is stored twice, once as an exact indexed term (filters) and
once as a fast ``value<US>label`` column that a single terms-aggregation request counts,
so one request returns exact counts for all nine facets together with their labels.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import tantivy

from catalog.domain.errors import ConflictError
from catalog.domain.records import FacetValue, RecordSummary
from catalog.domain.search import FACET_FIELDS, IndexDocument, SearchQuery, SearchResult
from catalog.search.base import SearchBackend
from catalog.search.query import (
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
    title_sort_key,
    updated_sort_key,
)

SCHEMA_VERSION = "imagora-tantivy-1"
TOKENIZER = "imagora"
#: Ties in relevance are ordered by id when the tie group ends within this many hits.
TIE_WINDOW = 256
#: Facet values returned per facet; counts stay exact below this per segment.
FACET_SIZE = 200
FACET_SEGMENT_SIZE = 10_000
_EXACT_FIELDS = ("id", "parent_id", "collection_id", "ancestors", "readers", "status", "terms")
_DISMAX_TIE_BREAKER = 0.2


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
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name=TOKENIZER)
    builder.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    for name in _EXACT_FIELDS[1:]:
        builder.add_text_field(name, stored=name == "terms", tokenizer_name="raw")
    for name in FACET_FIELDS:
        builder.add_text_field(f"f_{name}", tokenizer_name="raw")
        builder.add_text_field(f"fk_{name}", fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("k_title", fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("k_updated", fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field("summary", stored=True)
    return builder.build()


class TantivyBackend(SearchBackend):
    """BM25 search with field boosts, phrases, prefixes and one-request facet counts.

    `path` None keeps the index in memory (tests, benchmarks). `needs_rebuild` is True
    when the index was created empty or recreated for a new schema version, so the caller
    knows to reindex from the store.
    """

    name = "tantivy"

    def __init__(
        self, path: Path | None = None, *, writer_heap_mb: int = 128, writer_threads: int = 0
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
        index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
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

    def clear(self) -> None:
        """Drop every document and commit at once (rebuilds start from an empty index)."""
        with self._lock:
            self._get_writer().delete_all_documents()
            self.commit()

    def refresh(self) -> None:
        self._index.reload()

    def close(self) -> None:
        """Release the writer; writes not committed are discarded."""
        with self._lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer = None

    def _to_tantivy(self, doc: IndexDocument) -> tantivy.Document:
        fields: dict[str, Any] = {
            "id": doc.id,
            "title": doc.title,
            "description": doc.description,
            "text": doc.text,
            "term_text": doc.term_text,
            "ancestors": list(doc.ancestors),
            "readers": list(doc.readers),
            "status": doc.status,
            "terms": list(doc.terms),
            "k_title": title_sort_key(doc),
            "k_updated": updated_sort_key(doc),
            "summary": orjson.dumps(summary_fields(doc)),
            "f_level": doc.level,
            "fk_level": facet_key("level", doc.level, doc.facet_labels),
        }
        for name in ("parent_id", "collection_id"):
            if getattr(doc, name):
                fields[name] = getattr(doc, name)
        for name, value in doc.facets.items():
            if name in FACET_FIELDS and name != "level" and value:
                fields[f"f_{name}"] = value
                fields[f"fk_{name}"] = facet_key(name, value, doc.facet_labels)
        return tantivy.Document.from_dict(fields, self._schema)

    # -- searching ----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        offset, size = check_paging(query)
        filters = check_filters(query.filters)
        clauses = parse_text(query.text, self._analyzer.analyze)
        if not clauses and not query.concepts and has_content(query.text):
            return _empty_result(query)  # e.g. a lone `"` or `*`: nothing to look for
        scored = self._scored_query(clauses, query)
        final = self._with_filters(scored, filters, query)
        searcher = self._index.searcher()
        total, hits = self._page(searcher, final, query, offset, size, ranked=scored is not None)
        facets = self._facets(searcher, final) if query.with_facets else {}
        return SearchResult(total=total, hits=hits, facets=facets)

    def _scored_query(self, clauses: list[TextClause], query: SearchQuery) -> tantivy.Query | None:
        """Text clauses (all must match) OR any concept clause; None when neither is given."""
        parts: list[tantivy.Query] = []
        if clauses:
            musts = [(tantivy.Occur.Must, self._clause_query(c)) for c in clauses]
            parts.append(tantivy.Query.boolean_query(musts))
        for concept in query.concepts:
            iris = [iri for iri in concept.iris if iri]
            if iris:
                matcher = tantivy.Query.term_set_query(self._schema, "terms", iris)
                weight = concept_weight(concept.direct, concept.boost)
                parts.append(tantivy.Query.const_score_query(matcher, weight))
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, p) for p in parts])

    def _clause_query(self, clause: TextClause) -> tantivy.Query:
        per_field = [
            tantivy.Query.boost_query(self._field_query(name, clause), boost)
            for name, boost in TEXT_FIELDS.items()
        ]
        return tantivy.Query.disjunction_max_query(per_field, _DISMAX_TIE_BREAKER)

    def _field_query(self, name: str, clause: TextClause) -> tantivy.Query:
        words = list(clause.tokens)
        if clause.kind == "prefix" and len(words) == 1:
            # Tokens hold only letters and digits, so they are safe inside a regex.
            return tantivy.Query.regex_query(self._schema, name, f"{words[0]}.*")
        if clause.kind == "prefix":
            return tantivy.Query.phrase_prefix_query(self._schema, name, words)
        if clause.kind == "phrase":
            return tantivy.Query.phrase_query(self._schema, name, words)
        return tantivy.Query.term_query(self._schema, name, words[0])

    def _with_filters(
        self, scored: tantivy.Query | None, filters: dict[str, list[str]], query: SearchQuery
    ) -> tantivy.Query:
        subs = [(tantivy.Occur.Must, scored if scored is not None else tantivy.Query.all_query())]
        for name, values in self._filter_terms(filters, query).items():
            matcher = (
                tantivy.Query.term_set_query(self._schema, name, values)
                if values
                else tantivy.Query.empty_query()
            )
            subs.append((tantivy.Occur.Must, tantivy.Query.const_score_query(matcher, 0.0)))
        if not query.include_withdrawn:
            withdrawn = tantivy.Query.term_query(self._schema, "status", "withdrawn")
            subs.append((tantivy.Occur.MustNot, withdrawn))
        return tantivy.Query.boolean_query(subs)

    @staticmethod
    def _filter_terms(filters: dict[str, list[str]], query: SearchQuery) -> dict[str, list[str]]:
        """Index field -> accepted values; an empty list matches nothing."""
        terms = {(f"f_{k}" if k in FACET_FIELDS else k): v for k, v in filters.items()}
        if query.parent_id is not None:
            terms["parent_id"] = [query.parent_id]
        if query.reader_keys is not None:
            terms["readers"] = [key for key in query.reader_keys if key]
        return terms

    def _page(
        self,
        searcher: tantivy.Searcher,
        final: tantivy.Query,
        query: SearchQuery,
        offset: int,
        size: int,
        *,
        ranked: bool,
    ) -> tuple[int, list[RecordSummary]]:
        if query.sort == "relevance" and ranked:
            return self._relevance_page(searcher, final, query, offset, size)
        field = {"relevance": "id", "title": "k_title", "updated": "k_updated"}[query.sort]
        result = searcher.search(
            final,
            max(size, 1),
            count=True,
            order_by_field=field,
            offset=offset,
            order=tantivy.Order.Asc,
        )
        hits = [
            self._summary(searcher.doc(address), 0.0, query) for _, address in result.hits[:size]
        ]
        return result.count, hits

    def _relevance_page(
        self,
        searcher: tantivy.Searcher,
        final: tantivy.Query,
        query: SearchQuery,
        offset: int,
        size: int,
    ) -> tuple[int, list[RecordSummary]]:
        """Score order with ties ordered by id, consistently for every page.

        tantivy breaks score ties by internal address. A tie group that ends within
        `TIE_WINDOW` hits is re-sorted by id; a larger one keeps tantivy's order. Both
        rules depend only on the group, so pages never overlap or skip hits.
        """
        need = offset + size
        limit = need + 1
        while True:
            result = searcher.search(final, limit, count=True)
            hits = result.hits
            complete = len(hits) < limit
            if complete or _group_start(hits, len(hits) - 1) >= need or limit > TIE_WINDOW:
                break
            limit = min(limit * 4, TIE_WINDOW + 1)
        docs: dict[int, tantivy.Document] = {}
        ordered = self._order_ties(searcher, hits, offset, need, complete, docs)
        page = []
        for position in ordered[offset:need]:
            score, address = hits[position]
            doc = docs[position] if position in docs else searcher.doc(address)
            page.append(self._summary(doc, float(score), query))
        return result.count, page

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
        explanation = concept_explanation(doc["terms"], query) if query.concepts else []
        return RecordSummary(**stored, score=score, explanation=explanation)

    def _facets(
        self, searcher: tantivy.Searcher, final: tantivy.Query
    ) -> dict[str, list[FacetValue]]:
        request = {
            name: {
                "terms": {
                    "field": f"fk_{name}",
                    "size": FACET_SIZE,
                    "segment_size": FACET_SEGMENT_SIZE,
                }
            }
            for name in FACET_FIELDS
        }
        answer = searcher.aggregate(final, request)
        return {
            name: merge_facet_buckets(
                (bucket["key"], int(bucket["doc_count"]))
                for bucket in answer.get(name, {}).get("buckets", [])
            )
            for name in FACET_FIELDS
        }


def _group_start(hits: list[tuple[Any, Any]], position: int) -> int:
    """First position of the run of equal scores that contains `position`."""
    score = hits[position][0]
    while position > 0 and hits[position - 1][0] == score:
        position -= 1
    return position


def _empty_result(query: SearchQuery) -> SearchResult:
    facets = {name: [] for name in FACET_FIELDS} if query.with_facets else {}
    return SearchResult(total=0, hits=[], facets=facets)


def temporary_backend() -> tuple[TantivyBackend, Path]:
    """A backend on a fresh temporary directory (benchmarks, multi-process tests)."""
    directory = Path(tempfile.mkdtemp(prefix="imagora-index-"))
    return TantivyBackend(directory / "index"), directory

"""The execution strategies of a search, each a named plan with its thresholds as
constructor parameters (so the conformance suite runs every plan at small sizes and
asserts identical answers).

- `CountingPlan` (no facets wanted): one ranking pass that also counts.
- `InlinePlan`: the page first without counting (tantivy then skips non-competitive
  blocks, block-max WAND); when at most `small_result_facets` documents match, the
  ranking pass holds them all and their facets are counted from stored keys (an
  aggregation costs ~0.1 ms before its first document); otherwise one aggregation pass.
- `ParallelPlan`: ranking and counting side by side on two threads (tantivy releases the
  GIL); worth it from `PlanChooser.parallel_min_docs` documents, where it keeps p95 down.

Every plan computes the total the same way: from a complete top list, or from the
aggregation's level counts (every document has a level), or from tantivy's count.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import tantivy

from catalog.domain.records import RecordSummary
from catalog.domain.search import SearchQuery
from catalog.search.key_order import first_in_order
from catalog.search.tantivy_index import facets as facet_counts
from catalog.search.tantivy_index.facets import Counts
from catalog.search.tantivy_index.schema import ID_ORDER, TITLE_ORDER, UPDATED_FIELD

#: Ties in relevance are ordered by id when the tie group ends within this many hits.
TIE_WINDOW = 256

Summarise = Callable[[tantivy.Document, float, SearchQuery], RecordSummary]


@dataclass(frozen=True)
class PageRequest:
    query: SearchQuery
    offset: int
    size: int
    ranked: bool


@dataclass
class Job:
    """Everything a plan needs: the searcher, the ranking query, how to build the
    unscored counting query, the page and how to turn a stored document into a hit."""

    searcher: tantivy.Searcher
    schema: tantivy.Schema
    ranking: tantivy.Query
    matching: Callable[[], tantivy.Query]
    page: PageRequest
    summarise: Summarise


@dataclass
class Answer:
    hits: list[RecordSummary]
    counts: Counts


class CountingPlan:
    """No facets: one ranking pass that counts."""

    name = "counting"

    def run(self, job: Job) -> Answer:
        total, hits, _ = page_of(job, count=True)
        return Answer(hits, Counts(total, {}))


class InlinePlan:
    """Ranking then counting on this thread; stored-key facets for few matches."""

    name = "inline"

    def __init__(self, small_result_facets: int = 24) -> None:
        self.small_result_facets = small_result_facets

    def run(self, job: Job) -> Answer:
        query = job.page.query
        small = self.small_result_facets if not query.with_term_counts else 0
        total, hits, every = page_of(job, count=False, every=small)
        if every is not None:
            counts = facet_counts.from_stored(every)
            counts.total = total
            return Answer(hits, counts)
        return Answer(
            hits, facet_counts.aggregate(job.searcher, job.matching(), query.with_term_counts)
        )


class ParallelPlan:
    """Counting on a second thread while this one ranks the page."""

    name = "parallel"

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def run(self, job: Job) -> Answer:
        with self._lock:
            # A forked child inherits the pool but not its threads: it needs its own.
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="imagora-facets")
                self._pid = os.getpid()
            pool = self._pool
        with_terms = job.page.query.with_term_counts
        counting = pool.submit(facet_counts.aggregate, job.searcher, job.matching(), with_terms)
        hits = page_of(job, count=False)[1] if job.page.size else []
        return Answer(hits, counting.result())

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


class PlanChooser:
    """Picks the plan of a search; thresholds are parameters (tests force each plan)."""

    def __init__(self, parallel_min_docs: int = 200_000, small_result_facets: int = 24) -> None:
        self.parallel_min_docs = parallel_min_docs
        self.counting = CountingPlan()
        self.inline = InlinePlan(small_result_facets)
        self.parallel = ParallelPlan()

    def choose(self, query: SearchQuery, num_docs: int) -> CountingPlan | InlinePlan | ParallelPlan:
        if not query.with_facets:
            return self.counting
        if num_docs < self.parallel_min_docs:
            return self.inline
        return self.parallel

    def close(self) -> None:
        self.parallel.close()


def page_of(
    job: Job, *, count: bool, every: int = 0
) -> tuple[int, list[RecordSummary], list[tantivy.Document] | None]:
    """(total when `count` or seen whole, else 0; the page's hits; every matching
    document when there are at most `every` and this pass saw them all, else None)."""
    page = job.page
    query, offset, size = page.query, page.offset, page.size
    if query.sort == "relevance" and page.ranked:
        return _relevance_page(job, count=count, every=every)
    if query.sort == "updated":
        return _relevance_page(job, count=count, every=every, field=UPDATED_FIELD)
    order = TITLE_ORDER if query.sort == "title" else ID_ORDER
    total, addresses = first_in_order(
        job.searcher, job.schema, job.ranking, offset + size, order, count=count
    )
    docs = [job.searcher.doc(address) for address in addresses[offset:]]
    hits = [job.summarise(doc, 0.0, query) for doc in docs]
    # fewer than asked for: these are all the matches
    seen_all = size > 0 and offset == 0 and len(addresses) < size and len(docs) <= every
    return (len(docs) if seen_all else total), hits, docs if seen_all else None


def _relevance_page(
    job: Job, *, count: bool, every: int = 0, field: str | None = None
) -> tuple[int, list[RecordSummary], list[tantivy.Document] | None]:
    """Score order (or ascending `field` order) with ties ordered by id, consistently
    for every page.

    tantivy breaks score ties by internal address. A tie group that ends within
    `TIE_WINDOW` hits is re-sorted by id; a larger one keeps tantivy's order. Both rules
    depend only on the group, so pages never overlap or skip hits.
    """
    searcher, page = job.searcher, job.page
    offset = page.offset
    need = offset + page.size
    # One pass that sees past the tie window: a second pass costs a full evaluation, a
    # longer top list costs next to nothing.
    limit = max(need, TIE_WINDOW) + 1
    if field is None:
        result = searcher.search(job.ranking, limit, count=count)
    else:
        result = searcher.search(
            job.ranking, limit, count=count, order_by_field=field, order=tantivy.Order.Asc
        )
    hits = result.hits
    complete = len(hits) < limit
    docs: dict[int, tantivy.Document] = {}
    ordered = _order_ties(searcher, hits, offset, need, complete, docs)
    summaries = []
    for position in ordered[offset:need]:
        score, address = hits[position]
        doc = docs.get(position)
        if doc is None:
            doc = docs[position] = searcher.doc(address)
        summaries.append(job.summarise(doc, 0.0 if field else float(score), page.query))
    if not (complete and len(hits) <= every):
        total = result.count or 0
        return (len(hits) if complete and not count else total), summaries, None
    for position, (_, address) in enumerate(hits):
        if position not in docs:
            docs[position] = searcher.doc(address)
    return len(hits), summaries, list(docs.values())


def _order_ties(
    searcher: tantivy.Searcher,
    hits: list[tuple[Any, Any]],
    offset: int,
    need: int,
    complete: bool,
    docs: dict[int, tantivy.Document],
) -> list[int]:
    """Hit positions in final order, id-sorting the tie groups that touch the page.

    The ids are compared through their order columns (`ID_ORDER`, read per address from
    the fast fields) rather than the stored documents: a stored document costs a block
    decompression, and a tie group can be `TIE_WINDOW` long while the page needs a few.
    Only members still tied after the last column are read whole (`docs` keeps them)."""
    order = list(range(len(hits)))
    start = 0
    while start < min(need, len(hits)):
        end = start
        while end < len(hits) and hits[end][0] == hits[start][0]:
            end += 1
        known_end = end < len(hits) or complete
        if end > offset and end - start > 1 and known_end and end <= TIE_WINDOW:
            keys = _id_keys(searcher, [hits[p][1] for p in range(start, end)], start, docs)
            order[start:end] = sorted(range(start, end), key=lambda p: keys[p - start])
        start = end
    return order


def _id_keys(
    searcher: tantivy.Searcher, addresses: list[Any], first: int, docs: dict[int, tantivy.Document]
) -> list[tuple[tuple[int, ...], str]]:
    """Sort keys of documents by id: the id's order columns (big-endian chunks of its
    UTF-8 bytes, so their order is the string's), then the id itself where two documents
    agree on every column (ids longer than the columns)."""
    columns = [searcher.fast_field_values(name, addresses) for name in ID_ORDER.fields()]
    columns = [[v or 0 for v in column] if None in column else column for column in columns]
    chunks = list(zip(*columns, strict=True))
    repeated = Counter(chunks)
    keys = []
    for position, (chunk, address) in enumerate(zip(chunks, addresses, strict=True)):
        exact = ""
        if repeated[chunk] > 1:
            doc = docs[first + position] = searcher.doc(address)
            exact = doc["id"][0]
        keys.append((chunk, exact))
    return keys

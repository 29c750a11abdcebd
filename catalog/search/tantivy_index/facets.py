"""Facet counting: one aggregation request for the total and every facet, or the stored
keys of a handful of matches; counts of records without a value; disjunctive counts.

Every facet value is stored twice: once lower-cased in an exact field (filters, with
labels and aliases) and once as a fast ``value<US>label`` column that one
terms-aggregation request counts, so one request returns exact counts for all facets
with their labels. Every document has every column (`NO_VALUE` where it has none), so
the `NO_VALUE` bucket is the number of matching records without a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import tantivy

from catalog.domain.records import FacetValue
from catalog.domain.search import FACET_FIELDS
from catalog.search.query import FACET_KEY_SEP, merge_facet_buckets
from catalog.search.tantivy_index.schema import (
    CLOSURE_FIELD,
    FACET_KEYS_FIELD,
    NO_VALUE,
    key_field,
)

#: Facet values returned per facet; counts stay exact below this per segment.
FACET_SIZE = 200
FACET_SEGMENT_SIZE = 10_000
#: At most this many concept counts per search (the vocabularies hold fewer concepts).
TERM_COUNT_SIZE = 5000


@dataclass
class Counts:
    """What a counting pass returns."""

    total: int
    facets: dict[str, list[FacetValue]]
    terms: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


def _request(names: Sequence[str]) -> dict[str, Any]:
    return {
        name: {
            # one more than shown: NO_VALUE may take a place
            "terms": {
                "field": key_field(name),
                "size": FACET_SIZE + 1,
                "segment_size": FACET_SEGMENT_SIZE,
            }
        }
        for name in names
    }


FACET_REQUEST: dict[str, Any] = _request(list(FACET_FIELDS))
FACET_AND_TERM_REQUEST: dict[str, Any] = {
    **FACET_REQUEST,
    CLOSURE_FIELD: {
        "terms": {"field": CLOSURE_FIELD, "size": TERM_COUNT_SIZE, "segment_size": TERM_COUNT_SIZE}
    },
}


def aggregate(searcher: tantivy.Searcher, query: tantivy.Query, with_terms: bool) -> Counts:
    """Total, facets, concept counts and missing counts from one aggregation pass;
    every document has a level, so the level counts add up to the total."""
    answer = searcher.aggregate(query, FACET_AND_TERM_REQUEST if with_terms else FACET_REQUEST)
    terms = {
        str(b["key"]): int(b["doc_count"]) for b in answer.get(CLOSURE_FIELD, {}).get("buckets", [])
    }
    facets, missing = _parse(answer, FACET_FIELDS)
    level = answer.get("level", {})
    total = sum(int(b["doc_count"]) for b in level.get("buckets", []))
    total += int(level.get("sum_other_doc_count", 0))
    return Counts(total, facets, terms, missing)


def aggregate_one(
    searcher: tantivy.Searcher, query: tantivy.Query, name: str
) -> tuple[list[FacetValue], int]:
    """One facet's values and missing count (a disjunctive count: its own filter off)."""
    facets, missing = _parse(searcher.aggregate(query, _request([name])), [name])
    return facets[name], missing.get(name, 0)


def _parse(
    answer: dict[str, Any], names: Sequence[str]
) -> tuple[dict[str, list[FacetValue]], dict[str, int]]:
    facets: dict[str, list[FacetValue]] = {}
    missing: dict[str, int] = {}
    for name in names:
        buckets = answer.get(name, {}).get("buckets", [])
        facets[name] = merge_facet_buckets(
            (b["key"], int(b["doc_count"])) for b in buckets if b["key"] != NO_VALUE
        )[:FACET_SIZE]
        missing[name] = sum(int(b["doc_count"]) for b in buckets if b["key"] == NO_VALUE)
    return facets, missing


def from_stored(docs: Sequence[tantivy.Document]) -> Counts:
    """Facet counts of a few documents from their stored keys: the same values, labels
    and order as the aggregation gives (`merge_facet_buckets` sorts them)."""
    counts: dict[str, dict[str, int]] = {}
    for doc in docs:
        for name, key in orjson.loads(doc[FACET_KEYS_FIELD][0]).items():
            per_facet = counts.setdefault(name, {})
            per_facet[key] = per_facet.get(key, 0) + 1
    facets: dict[str, list[FacetValue]] = {}
    missing: dict[str, int] = {}
    for name in FACET_FIELDS:
        keys = counts.get(name, {})
        missing[name] = len(docs) - sum(keys.values())
        if not keys:
            facets[name] = []
        elif len(keys) == 1:  # the usual case for a handful of hits: nothing to merge
            ((key, count),) = keys.items()
            facets[name] = [facet_value(key, count)]
        else:
            ranked = sorted(keys.items(), key=lambda item: (-item[1], item[0]))
            facets[name] = merge_facet_buckets(ranked)
    return Counts(len(docs), facets, {}, missing)


def facet_value(key: str, count: int) -> FacetValue:
    """One facet value from its stored key."""
    value, _, label = key.partition(FACET_KEY_SEP)
    return FacetValue(value=value, label=label or value, count=count)


def empty_counts() -> Counts:
    return Counts(0, {name: [] for name in FACET_FIELDS}, {}, {name: 0 for name in FACET_FIELDS})

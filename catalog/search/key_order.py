"""Exact string-key order for tantivy from numeric columns (title and id sorts).

Why: tantivy-py orders by a string fast field at ~80 us per returned hit (it turns each
hit's term ordinal back into its string), so page 50 of a title-sorted list took ~60 ms
and the result window's far end seconds. Numeric columns order in microseconds.

How: a sort key (UTF-8 bytes) is cut into 8-byte chunks, each stored as a big-endian u64
column (``<prefix>0``, ``<prefix>1``, ...). Ordering by chunk 0 orders by the first 8
bytes; documents that tie there are ordered by the next chunks:

- a tie group wholly inside the first `need` hits is sorted in Python from the chunk
  columns (`fast_field_values`, O(1) per document) and, if still tied after the last
  chunk, from the exact key rebuilt from the stored document;
- the tie group at the cut may go on past it, so it is searched again, restricted to its
  chunk value, one level down (at the last level, by the string column itself, which is
  then only asked for the few hits still needed).

Zero padding keeps byte order: a key sorts before every longer key it starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tantivy

CHUNK_BYTES = 8


@dataclass(frozen=True)
class KeyOrder:
    """One sort key: its chunk columns, the string column, the exact key of a document."""

    prefix: str
    levels: int
    string_field: str
    exact_key: Callable[[tantivy.Document], str]

    def field(self, level: int) -> str:
        return f"{self.prefix}{level}"

    def fields(self) -> list[str]:
        return [self.field(level) for level in range(self.levels)]

    def columns(self, key: str) -> dict[str, int]:
        """The chunk column values of a document with this key."""
        return dict(zip(self.fields(), chunk_values(key, self.levels), strict=True))


def chunk_values(key: str, levels: int) -> list[int]:
    """The key's first `levels` 8-byte chunks as big-endian integers (zero padded)."""
    raw = key.encode("utf-8")
    return [
        int.from_bytes(raw[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES].ljust(CHUNK_BYTES, b"\0"))
        for i in range(levels)
    ]


def first_in_order(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    need: int,
    order: KeyOrder,
    *,
    count: bool = False,
) -> tuple[int, list[Any]]:
    """(the number of matches when `count`, else 0; the addresses of the first `need`
    matching documents in ascending key order)."""
    return _ordered(searcher, schema, query, need, order, 0, count=count)


def _ordered(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    need: int,
    order: KeyOrder,
    level: int,
    *,
    count: bool = False,
) -> tuple[int, list[Any]]:
    if level == order.levels:  # equal on every chunk: the string column, for a few hits
        result = searcher.search(
            query, need, count=count, order_by_field=order.string_field, order=tantivy.Order.Asc
        )
        return result.count or 0, [address for _, address in result.hits]
    result = searcher.search(
        query, max(need, 1), count=count, order_by_field=order.field(level), order=tantivy.Order.Asc
    )
    hits = result.hits[:need]
    complete = len(result.hits) < max(need, 1)
    groups: list[list[Any]] = []  # runs of equal chunk values, in order
    for value, address in hits:
        if groups and groups[-1][0] == value:
            groups[-1][1].append(address)
        else:
            groups.append([value, [address]])
    cut = groups.pop() if groups and not complete else None  # may go on past the hits
    tied = [
        (value, address) for value, members in groups if len(members) > 1 for address in members
    ]
    ranks = _ranks(searcher, tied, order, level + 1)
    ordered: list[Any] = []
    for _, members in groups:
        ordered.extend(
            sorted(members, key=lambda a: ranks[_where(a)]) if len(members) > 1 else members
        )
    if cut is not None:
        narrowed = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.term_query(schema, order.field(level), cut[0])),
            ]
        )
        rest = need - len(ordered)
        ordered.extend(_ordered(searcher, schema, narrowed, rest, order, level + 1)[1])
    return result.count or 0, ordered[:need]


def _ranks(
    searcher: tantivy.Searcher, tied: list[tuple[int, Any]], order: KeyOrder, level: int
) -> dict[tuple[int, int], tuple[tuple[int, ...], str]]:
    """Sort keys of the documents of tie groups, given as (group value, address): their
    remaining chunks (one column read per level for all groups), then the exact key for
    those still tied with a member of their group after the last chunk."""
    if not tied:
        return {}
    addresses = [address for _, address in tied]
    columns = [
        [value or 0 for value in searcher.fast_field_values(order.field(n), addresses)]
        for n in range(level, order.levels)
    ]
    chunks = list(zip(*columns, strict=True)) if columns else [()] * len(addresses)
    counts = Counter((value, chunk) for (value, _), chunk in zip(tied, chunks, strict=True))
    return {
        _where(address): (
            chunk,
            order.exact_key(searcher.doc(address)) if counts[value, chunk] > 1 else "",
        )
        for (value, address), chunk in zip(tied, chunks, strict=True)
    }


def _where(address: Any) -> tuple[int, int]:
    """A hashable form of a DocAddress."""
    return address.segment_ord, address.doc

"""Title and id order from u64 chunk columns (`catalog.search.key_order`) must equal the
exact string order on every page, whatever the keys share."""

from __future__ import annotations

import random

import pytest
from search_conformance import ids, make_doc

from catalog.domain.search import SearchQuery
from catalog.search.key_order import CHUNK_BYTES, chunk_values
from catalog.search.query import title_key
from catalog.search.tantivy_backend import TITLE_ORDER, TantivyBackend

LONG = "Resting-state functional MRI of the adult rat hippocampus, session "  # > 32 bytes


def _titles() -> list[tuple[str, str]]:
    """(id, title) pairs built to tie on whole chunks and beyond every chunk."""
    rng = random.Random(7)
    pairs = []
    for n in range(60):
        pairs.append((f"long{n:03d}", f"{LONG}{rng.randint(0, 9)}"))  # ties past 4 chunks
    for n in range(40):
        pairs.append((f"r{n}", f"RARE brain scan {rng.randint(0, 999)}"))  # 2nd-chunk ties
    for n, title in enumerate(["a", "ab", "abc", "ab c", "Ab", "zeta", "Ärger", "ärger", "é", "e"]):
        pairs.append((f"p{n}", title))  # prefixes of each other, case and accents
    for n in range(12):
        pairs.append((f"{'x' * (n % 9)}dup{n}", "Same title"))  # equal titles: id decides
    rng.shuffle(pairs)
    return pairs


@pytest.fixture(scope="module")
def backend():
    backend = TantivyBackend(None, writer_heap_mb=15, writer_threads=1)
    pairs = _titles()
    docs = [
        make_doc(record_id, title=title, facets={"modality": "MR" if i % 3 else "CT"})
        for i, (record_id, title) in enumerate(pairs)
    ]
    # several segments, as incremental indexing leaves them
    for start in range(0, len(docs), 37):
        backend.index(docs[start : start + 37])
        backend.commit()
    yield backend, pairs, docs
    backend.close()


def test_chunks_keep_byte_order() -> None:
    keys = ["", "a", "a\x00", "ab", "abcdefgh", "abcdefghi", "abcdefgh\x01", "\u00e9", "z"]
    assert sorted(keys, key=lambda k: k.encode()) == sorted(
        keys, key=lambda k: (chunk_values(k, 3), k.encode())
    )
    assert chunk_values("abcdefghij", 2) == [
        int.from_bytes(b"abcdefgh"),
        int.from_bytes(b"ij".ljust(CHUNK_BYTES, b"\0")),
    ]


@pytest.mark.parametrize("size", [1, 7, 20, 100])
def test_title_order_equals_the_exact_string_order_on_every_page(backend, size) -> None:
    index, pairs, _ = backend
    expected = [rid for rid, title in sorted(pairs, key=lambda p: title_key(p[1], p[0]).encode())]
    seen = []
    for page in range(1, len(pairs) // size + 2):
        result = index.search(SearchQuery(sort="title", page=page, size=size))
        assert result.total == len(pairs)
        seen += ids(result)
    assert seen == expected


@pytest.mark.parametrize("size", [3, 20])
def test_unranked_order_is_id_order_with_filters_too(backend, size) -> None:
    index, _, docs = backend
    wanted = sorted((d.id for d in docs if d.facets["modality"] == "MR"), key=str.encode)
    seen = []
    for page in range(1, len(wanted) // size + 2):
        result = index.search(SearchQuery(filters={"modality": ["MR"]}, page=page, size=size))
        assert result.total == len(wanted)
        seen += ids(result)
    assert seen == wanted


def test_long_shared_prefixes_fall_back_to_the_string_column(backend) -> None:
    index, pairs, _ = backend
    longs = sorted((title_key(t, rid), rid) for rid, t in pairs if t.startswith(LONG))
    assert len(LONG.encode()) > TITLE_ORDER.levels * CHUNK_BYTES
    result = index.search(SearchQuery(text="hippocampus", sort="title", page=2, size=9))
    assert ids(result) == [rid for _, rid in longs][9:18]


@pytest.mark.parametrize("sort", ["title", "relevance"])
def test_counting_only_pages_give_the_total_without_hits(backend, sort) -> None:
    index, pairs, _ = backend
    result = index.search(SearchQuery(sort=sort, size=0))
    assert result.total == len(pairs) and result.hits == []
    few = index.search(SearchQuery(text="zeta", sort=sort, size=0))
    assert few.total == 1 and few.hits == []

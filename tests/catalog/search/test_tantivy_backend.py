"""The conformance suite run against tantivy, plus tantivy-specific behaviour."""

from __future__ import annotations

import pytest
from search_conformance import BackendConformance, ids, make_doc

from catalog.domain.errors import ConflictError
from catalog.domain.search import SearchQuery
from catalog.search.tantivy_backend import TIE_WINDOW, TantivyBackend


class TestTantivyConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        backend = TantivyBackend(None, writer_heap_mb=15, writer_threads=1)
        yield backend
        backend.close()


def _small(path):
    return TantivyBackend(path, writer_heap_mb=15, writer_threads=1)


def test_index_persists_and_writer_lock_is_released(tmp_path):
    first = _small(tmp_path / "index")
    assert first.needs_rebuild
    first.index([make_doc("a", title="brain")])
    first.commit()
    second = _small(tmp_path / "index")
    assert not second.needs_rebuild
    assert ids(second.search(SearchQuery(text="brain"))) == ["a"]
    second.index([make_doc("b", title="brain")])  # possible only if `first` let go
    second.commit()
    first.refresh()
    assert ids(first.search(SearchQuery(text="brain"))) == ["a", "b"]


def test_second_writer_gets_a_conflict_error(tmp_path):
    first = _small(tmp_path / "index")
    first.index([make_doc("a")])
    second = _small(tmp_path / "index")
    with pytest.raises(ConflictError, match="being written by another process"):
        second.index([make_doc("b")])
    first.close()
    second.index([make_doc("b")])
    second.commit()
    assert ids(second.search(SearchQuery())) == ["b"]


def test_other_schema_version_is_rebuilt(tmp_path):
    path = tmp_path / "index"
    backend = _small(path)
    backend.index([make_doc("a")])
    backend.commit()
    (path / "imagora-schema").write_text("imagora-tantivy-0\n", encoding="utf-8")
    reopened = _small(path)
    assert reopened.needs_rebuild
    assert reopened.search(SearchQuery()).total == 0


def test_huge_tie_groups_page_without_overlap():
    backend = TantivyBackend(None, writer_heap_mb=50, writer_threads=1)
    count = TIE_WINDOW + 150
    backend.index([make_doc(f"r{i:05d}", title="same words") for i in reversed(range(count))])
    backend.commit()
    seen = []
    for page in range(1, 14):
        seen.extend(ids(backend.search(SearchQuery(text="same", page=page, size=100))))
    assert len(seen) == len(set(seen)) == count
    window = backend.search(SearchQuery(text="same", size=100))
    assert window.total == count

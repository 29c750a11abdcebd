"""The conformance suite run against tantivy, plus tantivy-specific behaviour."""

from __future__ import annotations

import dataclasses
import os
import signal

import pytest
from search_conformance import BackendConformance, ids, make_doc

from catalog.domain.errors import ConflictError
from catalog.domain.search import ConceptClause, Conjunct, SearchQuery, TextAtom
from catalog.search.tantivy_backend import SMALL_RESULT_FACETS, TIE_WINDOW, TantivyBackend
from catalog.search.tantivy_index.plans import PlanChooser

#: Every execution plan, forced at small sizes by its thresholds: the suite must give the
#: same answers whichever plan runs (the parallel one normally starts at 200k documents).
PLANS = {
    "default": lambda: PlanChooser(),
    "inline-aggregating": lambda: PlanChooser(small_result_facets=0),
    "inline-stored-keys": lambda: PlanChooser(small_result_facets=10_000),
    "parallel": lambda: PlanChooser(parallel_min_docs=0),
}


class TestTantivyConformance(BackendConformance):
    @pytest.fixture(params=sorted(PLANS))
    def backend(self, request):
        backend = TantivyBackend(
            None, writer_heap_mb=15, writer_threads=1, plans=PLANS[request.param]()
        )
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


def _loaded(*docs):
    backend = TantivyBackend(None, writer_heap_mb=15, writer_threads=1)
    backend.index(list(docs))
    backend.commit()
    return backend


def test_phrase_does_not_span_two_text_fields():
    # Title and description share the combined `all` field, as separate values.
    backend = _loaded(
        make_doc("split", title="Cortex", description="hippocampus atlas"),
        make_doc("joined", title="Cortex hippocampus atlas"),
    )
    assert ids(backend.search(SearchQuery(text='"cortex hippocampus"'))) == ["joined"]
    assert set(ids(backend.search(SearchQuery(text="cortex hippocampus")))) == {"split", "joined"}


def test_keys_without_public_see_only_their_records():
    backend = _loaded(
        make_doc("open", title="brain"),
        make_doc("alice", title="brain", readers=["user:alice"]),
        make_doc("bob", title="brain", readers=["user:bob", "group:lab"]),
    )
    assert ids(backend.search(SearchQuery(text="brain", reader_keys=["user:alice"]))) == ["alice"]
    lab = backend.search(SearchQuery(text="brain", reader_keys=["public", "group:lab"]))
    assert set(ids(lab)) == {"bob", "open"}
    assert lab.total == 2 and sum(v.count for v in lab.facets["level"]) == 2


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(text="brain"),
        SearchQuery(text="brain", reader_keys=None, include_withdrawn=True),
        SearchQuery(text="brain", reader_keys=["public", "user:alice"], sort="title"),
        SearchQuery(filters={"modality": ["CT", "MR"]}, reader_keys=["user:alice"]),
        SearchQuery(text="bra*", size=0),
    ],
)
def test_total_from_facets_equals_the_counted_total(query):
    # With facets the total is the sum of the level counts; without, a counting collector.
    backend = _loaded(
        make_doc("a", title="brain"),
        make_doc("b", title="brain", readers=["user:alice"], facets={"modality": "CT"}),
        make_doc("c", title="brain", status="withdrawn", level="session"),
        make_doc("d", title="heart"),
    )
    with_facets = backend.search(query)
    query.with_facets = False
    counted = backend.search(query)
    assert with_facets.total == counted.total > 0
    assert ids(with_facets) == ids(counted)


def test_withdrawn_filter_applies_once_the_index_holds_one():
    backend = _loaded(make_doc("a", title="brain"))
    assert backend.search(SearchQuery(text="brain")).total == 1
    backend.index([make_doc("a", title="brain", status="withdrawn")])
    backend.commit()
    assert backend.search(SearchQuery(text="brain")).total == 0
    assert backend.search(SearchQuery(text="brain", include_withdrawn=True)).total == 1


def test_concepts_no_record_carries_match_nothing():
    backend = _loaded(
        make_doc("annotated", title="Structural", terms=["urn:t:held"]),
        make_doc("worded", title="brain anatomy"),
    )
    absent = ConceptClause("absent", ("urn:t:absent",))
    assert backend.search(SearchQuery(concepts=[absent])).total == 0
    assert ids(backend.search(SearchQuery(text="brain", concepts=[absent]))) == []
    either = Conjunct(atoms=(TextAtom("word", "brain"), absent))
    assert ids(backend.search(SearchQuery(text="brain", conjuncts=(either,)))) == ["worded"]
    mixed = ConceptClause("mixed", ("urn:t:absent", "urn:t:held"))
    inside = Conjunct(atoms=(TextAtom("word", "brain"), absent, mixed))
    result = backend.search(SearchQuery(text="brain", conjuncts=(inside,)))
    assert set(ids(result)) == {"annotated", "worded"} and result.total == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_search_works_in_a_forked_child():
    backend = _loaded(make_doc("a", title="brain"))
    assert backend.search(SearchQuery(text="brain")).total == 1  # starts the facet thread
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        signal.alarm(10)  # a child waiting on its parent's threads would hang: fail it
        ok = backend.search(SearchQuery(text="brain")).total == 1
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_long_phrase_needs_the_words_in_a_row_not_just_its_pairs():
    backend = _loaded(
        make_doc("row", title="Spin echo planar imaging"),
        make_doc("pairs", title="spin echo then echo planar"),
    )
    assert ids(backend.search(SearchQuery(text='"spin echo planar"'))) == ["row"]
    assert set(ids(backend.search(SearchQuery(text='"echo planar"')))) == {"row", "pairs"}


@pytest.mark.parametrize("sort", ["relevance", "title", "updated"])
def test_few_matches_count_facets_exactly_like_the_aggregation(sort):
    """Searches with at most SMALL_RESULT_FACETS matches count facets from stored keys;
    the aggregation (forced here by asking for concept counts too) must agree exactly."""
    sizes = (1, 5, SMALL_RESULT_FACETS, SMALL_RESULT_FACETS + 1, 40)
    makers = ["Siemens", "GE", "Bruker", "Philips"]
    docs = [
        make_doc(
            f"d{i:02d}",
            title=" ".join(["scan"] + [f"upto{m}" for m in sizes if i < m]),
            facets={
                "modality": ["MR", "PT", "CT"][i % 3],
                "manufacturer": makers[(i * 7) % 4],
                "field_strength": ["3", "7", "9.4"][i % 3],
                "sequence": None if i % 4 == 0 else "T2w",
            },
            facet_labels={"manufacturer": "Siemens Healthineers"} if i % 5 == 0 else {},
        )
        for i in range(40)
    ]
    backend = TantivyBackend(None, writer_heap_mb=15, writer_threads=1)
    backend.index(docs)
    backend.commit()
    for text in [
        "upto1",
        "upto5",
        f"upto{SMALL_RESULT_FACETS}",
        f"upto{SMALL_RESULT_FACETS + 1}",
        "nothing",
    ]:
        for page, size in ((1, 20), (2, 3), (1, 1)):
            query = SearchQuery(text=text, sort=sort, page=page, size=size)
            fast = backend.search(query)
            aggregated = backend.search(dataclasses.replace(query, with_term_counts=True))
            assert fast.total == aggregated.total, (text, page, size)
            assert ids(fast) == ids(aggregated), (text, page, size)
            assert fast.facets == aggregated.facets, (text, page, size)
    assert backend.search(SearchQuery(text="upto5")).total == 5
    backend.close()

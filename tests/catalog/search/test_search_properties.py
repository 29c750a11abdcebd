"""Property tests at the backend: hypothesis generates whole catalogues and word pairs;
the conjunct identities hold exactly for every plan."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_conformance import make_doc

from catalog.domain.search import SearchQuery
from catalog.search.tantivy_backend import TantivyBackend
from catalog.search.tantivy_index.plans import PlanChooser

WORDS = ["rat", "mouse", "brain", "spine", "bold", "t2w", "pilot", "resting", "state"]
MAKERS = ["Siemens", "GE", "Bruker"]
TERMS = [
    "pilot",
    "rat",
    "brain",
    "spin*",
    '"resting state"',
    "manufacturer:Bruker",
    "tr_ms:[1000 TO 3000]",
    "zzz",
]

documents = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
        st.sampled_from(MAKERS),
        st.sampled_from([500.0, 2000.0, 3000.0]),
    ),
    min_size=1,
    max_size=25,
)


def _backend(rows, plans: PlanChooser) -> TantivyBackend:
    backend = TantivyBackend(None, writer_heap_mb=15, writer_threads=1, plans=plans)
    backend.index(
        [
            make_doc(
                f"d{i:02d}",
                title=" ".join(words),
                facets={"manufacturer": maker},
                numbers={"tr_ms": [tr]},
            )
            for i, (words, maker, tr) in enumerate(rows)
        ]
    )
    backend.commit()
    return backend


def _hits(backend: TantivyBackend, text: str) -> set[str]:
    return {h.id for h in backend.search(SearchQuery(text=text, size=100)).hits}


@pytest.mark.parametrize("plans", [PlanChooser, lambda: PlanChooser(parallel_min_docs=0)])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=documents, a=st.sampled_from(TERMS), b=st.sampled_from(TERMS))
def test_conjunct_identities_on_generated_catalogues(plans, rows, a, b):
    backend = _backend(rows, plans())
    try:
        ha, hb = _hits(backend, a), _hits(backend, b)
        assert _hits(backend, f"{a} {b}") == ha & hb
        assert _hits(backend, f"{a} OR {b}") == ha | hb
        assert _hits(backend, f"{a} NOT {b}") == ha - hb == _hits(backend, f"{a} -{b}")
        total = backend.search(SearchQuery(text=f"{a} {b}", size=0)).total
        assert total == len(ha & hb)
    finally:
        backend.close()

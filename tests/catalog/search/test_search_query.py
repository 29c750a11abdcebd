"""User text -> clauses, shared helpers, and the search backend registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from search_conformance import make_doc

from catalog.domain.errors import NotFoundError
from catalog.search.query import (
    TextClause,
    facet_label,
    merge_facet_buckets,
    parse_text,
    updated_sort_key,
)
from catalog.search.registry import open_search_backend, search_backends
from catalog.settings import Settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Brain MRI", [TextClause("term", ("brain",)), TextClause("term", ("mri",))]),
        (
            '"spin  echo" epi',
            [TextClause("phrase", ("spin", "echo")), TextClause("term", ("epi",))],
        ),
        ("card*", [TextClause("prefix", ("card",))]),
        ("T1-weighted", [TextClause("phrase", ("t1", "weighted"))]),
        ('"unclosed phrase', [TextClause("term", ("unclosed",)), TextClause("term", ("phrase",))]),
        (
            "NEAR( x) AND",
            [
                TextClause("term", ("near",)),
                TextClause("term", ("x",)),
                TextClause("term", ("and",)),
            ],
        ),
        ("brain brain", [TextClause("term", ("brain",))]),
        ("Cérébrale", [TextClause("term", ("cerebrale",))]),
        ('* " ( ]', []),
        ("a\udcffb\x00c", [TextClause("phrase", ("a", "b")), TextClause("term", ("c",))]),
    ],
)
def test_parse_text(text, expected):
    assert parse_text(text) == expected


def test_facet_helpers():
    assert facet_label("field_strength", "7", {}) == "7 T"
    assert facet_label("species", "iri", {"species": "mouse"}) == "mouse"
    merged = merge_facet_buckets([("b\x1fB", 2), ("a\x1fA", 2), ("c\x1fC1", 1), ("c\x1fC2", 4)])
    assert [(v.value, v.label, v.count) for v in merged] == [
        ("c", "C2", 5),
        ("a", "A", 2),
        ("b", "B", 2),
    ]


def test_updated_sort_key_orders_newest_first():
    old = make_doc("a", updated=datetime(2020, 1, 1, tzinfo=UTC))
    new = make_doc("b", updated=datetime(2024, 1, 1))
    undated = make_doc("c", updated=None)
    keys = sorted([updated_sort_key(d) for d in (old, undated, new)])
    assert [k.rsplit("\x00", 1)[1] for k in keys] == ["b", "a", "c"]


def test_registry_picks_backend_from_settings(tmp_path):
    registry = search_backends()
    assert registry.names() == ["elasticsearch", "tantivy"]
    with pytest.raises(NotFoundError, match="unknown search backend 'solr'"):
        registry.get("solr")
    local = open_search_backend(Settings(data_dir=tmp_path))
    assert local.name == "tantivy" and local.path == tmp_path / "index"
    remote = open_search_backend(Settings(data_dir=tmp_path, search_url="http://es:9200"))
    assert remote.name == "elasticsearch"

"""The conformance suite every search backend must pass.

Subclass `BackendConformance` and provide a `backend` fixture that yields an empty
backend; see `test_tantivy_backend.py`. Each test builds its own small corpus with
`make_doc` and asserts exact ids, totals and counts.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.search import (
    FACET_FIELDS,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    ConceptClause,
    Conjunct,
    IndexDocument,
    SearchQuery,
    TextAtom,
)
from catalog.search.base import SearchBackend

ADMIN = None  # reader_keys None: curators and admins see everything
ANON = ["public"]

T1W = "http://purl.obolibrary.org/obo/T1W"
T1W_NARROWER = "http://purl.obolibrary.org/obo/MPRAGE"

HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "'; DROP TABLE records; --",
    '"unclosed phrase',
    "((()))[]{}^~:!",
    "AND OR NOT",
    "title:x AND",
    "\ud800\udfff lone surrogates \udcff",
    "\x00\x01\x07\x1b[31m",
    "\u200b\ufeff",
    "é" * 50,
    "-",
    "a" * 41,
]


def make_doc(record_id: str, **overrides) -> IndexDocument:
    """An acquisition with every facet set; `overrides` replace fields or facet values."""
    facets = {
        "level": overrides.get("level", "acquisition"),
        "modality": "MR",
        "field_strength": "3",
        "manufacturer": "Siemens",
        "species": "http://purl.obolibrary.org/obo/NCBITaxon_9606",
        "sequence": "T1w",
        "license": "CC-BY-4.0",
        "access": "open",
        "source": "bids",
    }
    facets.update(overrides.pop("facets", {}))
    labels = {"species": "Homo sapiens"}
    labels.update(overrides.pop("facet_labels", {}))
    fields = {
        "id": record_id,
        "level": "acquisition",
        "title": f"Scan {record_id}",
        "facets": {k: v for k, v in facets.items() if v is not None},
        "facet_labels": labels,
        "updated": datetime(2024, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return IndexDocument(**fields)


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]


def counts(result, facet: str) -> dict[str, int]:
    return {value.value: value.count for value in result.facets[facet]}


class BackendConformance:
    """Behaviour shared by all `SearchBackend`s. Subclasses supply the `backend` fixture."""

    @pytest.fixture
    def backend(self) -> SearchBackend:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def load(backend: SearchBackend, *docs: IndexDocument) -> None:
        backend.index(list(docs))
        backend.commit()

    # -- ranking and query syntax -----------------------------------------------------

    def test_title_matches_rank_first(self, backend):
        self.load(
            backend,
            make_doc("desc", title="Cortex volume", description="hippocampus segmentation"),
            make_doc("text", title="Cortex thickness", text="hippocampus hippocampus"),
            make_doc("title", title="Hippocampus subfields", description="cortex"),
            make_doc("none", title="Cortex", description="amygdala"),
        )
        result = backend.search(SearchQuery(text="hippocampus"))
        assert result.total == 3
        assert ids(result)[0] == "title"
        assert set(ids(result)) == {"desc", "text", "title"}
        assert result.hits[0].score > result.hits[1].score > 0

    def test_all_words_must_match(self, backend):
        self.load(
            backend,
            make_doc("both", title="mouse brain"),
            make_doc("one", title="mouse heart"),
        )
        assert ids(backend.search(SearchQuery(text="mouse brain"))) == ["both"]

    def test_phrase_query_needs_word_order(self, backend):
        self.load(
            backend,
            make_doc("ordered", title="Spin echo EPI"),
            make_doc("reversed", title="Echo of a spin"),
        )
        assert ids(backend.search(SearchQuery(text='"spin echo"'))) == ["ordered"]
        assert set(ids(backend.search(SearchQuery(text="spin echo")))) == {"ordered", "reversed"}

    def test_split_word_is_a_phrase(self, backend):
        self.load(
            backend,
            make_doc("a", title="sub-01 T1-weighted"),
            make_doc("b", title="01 sub weighted T1"),
        )
        assert ids(backend.search(SearchQuery(text="T1-weighted"))) == ["a"]

    def test_prefix_query(self, backend):
        self.load(
            backend,
            make_doc("hippo", title="Hippocampus atlas"),
            make_doc("hipp", title="Hippo the river horse"),
            make_doc("other", title="Cortex atlas"),
        )
        assert set(ids(backend.search(SearchQuery(text="hippoc*")))) == {"hippo"}
        assert set(ids(backend.search(SearchQuery(text="hipp*")))) == {"hippo", "hipp"}
        assert ids(backend.search(SearchQuery(text="hippoc"))) == []

    def test_accents_and_case_are_folded(self, backend):
        self.load(backend, make_doc("fr", title="Imagerie cérébrale du Rongeur"))
        assert ids(backend.search(SearchQuery(text="CEREBRALE rongeur"))) == ["fr"]

    @pytest.mark.parametrize("text", HOSTILE)
    def test_hostile_text_gives_400_or_no_hits(self, backend, text):
        self.load(backend, make_doc("a", title="brain scan"), make_doc("b", title="heart"))
        try:
            result = backend.search(SearchQuery(text=text, reader_keys=ADMIN))
        except QuerySyntaxError as exc:
            assert exc.status == 400 and exc.message
        else:
            assert result.total == 0 and result.hits == []
            assert all(result.facets[name] == [] for name in FACET_FIELDS)

    def test_control_characters_are_separators(self, backend):
        self.load(backend, make_doc("a", title="brain scan"), make_doc("b", title="heart"))
        result = backend.search(SearchQuery(text="\x00brain\x07\ud800"))
        assert ids(result) == ["a"]

    def test_overlong_text_is_a_400_naming_the_limit(self, backend):
        with pytest.raises(QuerySyntaxError) as caught:
            backend.search(SearchQuery(text="brain " * 2000))
        assert caught.value.status == 400
        assert str(MAX_QUERY_LENGTH) in caught.value.message

    def test_hostile_filter_values_match_nothing(self, backend):
        self.load(backend, make_doc("a"))
        for value in ['"', "*", "\ud800", "'; DROP", "x" * 10_000]:
            result = backend.search(SearchQuery(filters={"modality": [value]}))
            assert result.total == 0

    def test_unknown_filter_field_is_a_400(self, backend):
        with pytest.raises(QuerySyntaxError, match="cannot filter on 'colour'"):
            backend.search(SearchQuery(filters={"colour": ["red"]}))

    def test_page_limits_are_400s(self, backend):
        with pytest.raises(QuerySyntaxError, match=f"0 to {MAX_PAGE_SIZE}"):
            backend.search(SearchQuery(size=MAX_PAGE_SIZE + 1))
        with pytest.raises(QuerySyntaxError, match="deepest a search can page"):
            backend.search(SearchQuery(page=10_000, size=100))
        with pytest.raises(QuerySyntaxError, match="pages start at 1"):
            backend.search(SearchQuery(page=0))

    # -- facets, filters and visibility -----------------------------------------------

    def _facet_corpus(self, backend) -> list[IndexDocument]:
        modalities = ["MR", "MR", "PT", "CT", "MR", "PT"]
        makers = ["Siemens", "GE", "Bruker", "Siemens", "Philips", "GE"]
        docs = [
            make_doc(
                f"d{i}",
                title=f"brain study {i}" if i % 3 else f"heart study {i}",
                facets={
                    "modality": modalities[i % 6],
                    "manufacturer": makers[(i * 5) % 6],
                    "field_strength": ["3", "7", "1.5", "9.4"][i % 4],
                    "access": ["open", "restricted"][i % 2],
                    "source": ["bids", "dicom", "xnat"][i % 3],
                    "sequence": None if i % 5 == 0 else "T2w",
                },
            )
            for i in range(30)
        ]
        self.load(backend, *docs)
        return docs

    def test_facet_counts_equal_matching_records(self, backend):
        docs = self._facet_corpus(backend)
        result = backend.search(SearchQuery(text="brain", size=5))
        matching = [d for d in docs if "brain" in d.title]
        assert result.total == len(matching) == 20
        for name in FACET_FIELDS:
            expected = Counter(d.facets[name] for d in matching if name in d.facets)
            assert counts(result, name) == dict(expected), name
            without = sum(1 for d in matching if name not in d.facets)
            assert result.missing[name] == without, name
        assert result.missing["sequence"] == 4
        values = [v.value for v in result.facets["manufacturer"]]
        ranked = sorted(values, key=lambda v: (-counts(result, "manufacturer")[v], v))
        assert values == ranked

    def test_facet_labels(self, backend):
        self.load(
            backend,
            make_doc("a", facets={"field_strength": "9.4", "manufacturer": "GE"}),
            make_doc("b", facet_labels={"manufacturer": "Siemens Healthineers"}),
        )
        result = backend.search(SearchQuery())
        labels = {(n, v.value): v.label for n, vs in result.facets.items() for v in vs}
        assert labels[("field_strength", "9.4")] == "9.4 T"
        assert labels[("field_strength", "3")] == "3 T"
        assert labels[("species", "http://purl.obolibrary.org/obo/NCBITaxon_9606")] == (
            "Homo sapiens"
        )
        assert labels[("manufacturer", "Siemens")] == "Siemens Healthineers"

    def test_filters_and_across_fields_or_within(self, backend):
        docs = self._facet_corpus(backend)
        filters = {"modality": ["MR", "PT"], "field_strength": ["3", "7"]}
        result = backend.search(SearchQuery(filters=filters, size=100))
        expected = {
            d.id
            for d in docs
            if d.facets["modality"] in {"MR", "PT"} and d.facets["field_strength"] in {"3", "7"}
        }
        assert set(ids(result)) == expected and result.total == len(expected)
        # a filtered facet is counted without its own filter: the siblings stay, each
        # with the records it would add; the other facets count the matches
        strength_ok = [d for d in docs if d.facets["field_strength"] in {"3", "7"}]
        assert counts(result, "modality") == dict(
            Counter(d.facets["modality"] for d in strength_ok)
        )
        modality_ok = [d for d in docs if d.facets["modality"] in {"MR", "PT"}]
        assert counts(result, "field_strength") == dict(
            Counter(d.facets["field_strength"] for d in modality_ok)
        )
        matched = [d for d in docs if d.id in expected]
        assert counts(result, "manufacturer") == dict(
            Counter(d.facets["manufacturer"] for d in matched)
        )
        plain = backend.search(SearchQuery(filters=filters, size=0, disjunctive_facets=False))
        assert set(counts(plain, "modality")) == {"MR", "PT"}
        text_and_filter = backend.search(SearchQuery(text="heart", filters=filters, size=100))
        heart = {d.id for d in docs if "heart" in d.title}
        assert set(ids(text_and_filter)) == expected & heart

    def test_level_filter(self, backend):
        self.load(
            backend,
            make_doc("c", level="collection", title="brain project"),
            make_doc("s", level="session", title="brain session"),
            make_doc("a", title="brain scan"),
        )
        result = backend.search(SearchQuery(text="brain", filters={"level": ["collection"]}))
        assert ids(result) == ["c"]
        assert counts(result, "level") == {"collection": 1, "session": 1, "acquisition": 1}
        both = backend.search(SearchQuery(filters={"level": ["collection", "session"]}))
        assert set(ids(both)) == {"c", "s"}

    def test_parent_and_collection_filters(self, backend):
        self.load(
            backend,
            make_doc("p1c1", parent_id="p1", collection_id="col", ancestors=["col", "p1"]),
            make_doc("p1c2", parent_id="p1", collection_id="col", ancestors=["col", "p1"]),
            make_doc("p2c1", parent_id="p2", collection_id="col", ancestors=["col", "p2"]),
        )
        assert ids(backend.search(SearchQuery(parent_id="p1"))) == ["p1c1", "p1c2"]
        assert ids(backend.search(SearchQuery(parent_id="nope"))) == []
        by_ancestor = backend.search(SearchQuery(filters={"ancestors": ["p2"]}))
        assert ids(by_ancestor) == ["p2c1"]
        assert backend.search(SearchQuery(filters={"collection_id": ["col"]})).total == 3

    def test_restricted_record_is_invisible_to_anonymous(self, backend):
        self.load(
            backend,
            make_doc("open", title="mouse brain", facets={"modality": "MR"}),
            make_doc(
                "secret",
                title="mouse brain zebrafinch",
                readers=["user:alice"],
                facets={"modality": "CT", "manufacturer": "Hidden Corp"},
            ),
        )
        for text in ["", "mouse brain", "zebrafinch", "zebra*"]:
            result = backend.search(SearchQuery(text=text, reader_keys=ANON))
            assert "secret" not in ids(result)
            assert result.total == (0 if "zebra" in text else 1)
            assert "CT" not in counts(result, "modality")
            assert "Hidden Corp" not in counts(result, "manufacturer")
            assert sum(counts(result, "level").values()) == result.total
        filtered = backend.search(SearchQuery(filters={"modality": ["CT"]}, reader_keys=ANON))
        assert filtered.total == 0 and filtered.hits == []
        alice = backend.search(SearchQuery(text="zebrafinch", reader_keys=["public", "user:alice"]))
        assert ids(alice) == ["secret"]
        admin = backend.search(SearchQuery(text="mouse", reader_keys=ADMIN))
        assert admin.total == 2 and counts(admin, "modality") == {"MR": 1, "CT": 1}
        nobody = backend.search(SearchQuery(text="mouse", reader_keys=[]))
        assert nobody.total == 0

    def test_withdrawn_excluded_unless_asked(self, backend):
        self.load(
            backend,
            make_doc("live", title="brain"),
            make_doc("gone", title="brain", status="withdrawn"),
        )
        result = backend.search(SearchQuery(text="brain"))
        assert ids(result) == ["live"] and counts(result, "level") == {"acquisition": 1}
        with_withdrawn = backend.search(SearchQuery(text="brain", include_withdrawn=True))
        assert set(ids(with_withdrawn)) == {"live", "gone"}

    def test_without_facets(self, backend):
        self.load(backend, make_doc("a"))
        result = backend.search(SearchQuery(with_facets=False))
        assert result.total == 1 and result.facets == {}

    # -- concepts ---------------------------------------------------------------------

    def test_concepts_match_terms_direct_above_expanded(self, backend):
        self.load(
            backend,
            make_doc("expanded", title="Structural scan A", terms=[T1W_NARROWER]),
            make_doc("direct", title="Structural scan B", terms=[T1W]),
            make_doc("neither", title="Structural scan C", terms=["http://x/other"]),
        )
        query = SearchQuery(
            concepts=[
                ConceptClause("T1-weighted", (T1W,), direct=True),
                ConceptClause("T1-weighted", (T1W_NARROWER,), boost=1.0, direct=False),
            ]
        )
        result = backend.search(query)
        assert ids(result) == ["direct", "expanded"]
        assert result.hits[0].score > result.hits[1].score
        assert result.hits[0].explanation[0]["iri"] == T1W
        assert result.hits[1].explanation[0]["match"] == "expanded"

    def test_concepts_or_text(self, backend):
        self.load(
            backend,
            make_doc("annotated", title="Structural", terms=[T1W]),
            make_doc("worded", title="T1-weighted anatomy"),
            make_doc("other", title="Diffusion"),
        )
        concept = ConceptClause("T1-weighted", (T1W,))
        inside = Conjunct(atoms=(TextAtom("word", "T1-weighted"), concept))
        query = SearchQuery(text="T1-weighted", conjuncts=(inside,), concepts=[concept])
        assert set(ids(backend.search(query))) == {"annotated", "worded"}
        # without the service, text and concepts are separate conjuncts: both must hold
        both = SearchQuery(text="T1-weighted", concepts=[concept])
        assert ids(backend.search(both)) == []

    def test_conjuncts_or_and_not(self, backend):
        self.load(
            backend,
            make_doc("rb", title="rat brain"),
            make_doc("rs", title="rat spine"),
            make_doc("mb", title="mouse brain"),
            make_doc("hb", title="human brain", facets={"manufacturer": "Bruker"}),
        )

        def found(text: str) -> set[str]:
            return set(ids(backend.search(SearchQuery(text=text, size=50))))

        assert found("rat brain") == {"rb"} == found("rat AND brain")
        assert found("rat OR mouse") == {"rb", "rs", "mb"}
        assert found("(rat OR mouse) brain") == {"rb", "mb"}
        assert found("brain NOT rat") == {"mb", "hb"} == found("brain -rat")
        assert found("NOT (rat OR mouse)") == {"hb"}
        assert found("manufacturer:bruker") == {"hb"} == found("manufacturer:Bruker")
        assert found("brain -manufacturer:Bruker") == {"rb", "mb"}

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("a AND (", "'(' is not closed"),
            ("(", "'(' is not closed"),
            ("*", "'*' needs letters"),
            ("rat AND", "'AND' needs a term"),
            ("OR rat", "'OR' needs a term"),
            ("rat NOT", "'NOT' needs a term"),
            ("rat)", "')' has no matching '('"),
            ('"spin echo', "quote is not closed"),
            ("(rat brain)", "join terms with OR"),
            ("colour:red", "unknown field 'colour'"),
            ("tr_ms:[1000 TO]", "malformed range"),
            ("tr_ms:[abc TO 3]", "'abc' is not a number"),
            ("modality:[a TO b]", "'modality' has no ranges"),
            ("acquired:[2020-13 TO *]", "not a date"),
        ],
    )
    def test_malformed_syntax_is_a_400_that_says_what_is_wrong(self, backend, text, says):
        with pytest.raises(QuerySyntaxError) as caught:
            backend.search(SearchQuery(text=text))
        assert caught.value.status == 400
        assert says in caught.value.message

    def test_unknown_field_names_the_fields_that_exist(self, backend):
        with pytest.raises(QuerySyntaxError) as caught:
            backend.search(SearchQuery(text="colour:red"))
        assert "modality" in caught.value.message and "tr_ms" in caught.value.message

    def test_numeric_ranges(self, backend):
        self.load(
            backend,
            make_doc("fast", numbers={"tr_ms": [500.0], "field_strength": [3.0]}),
            make_doc("mid", numbers={"tr_ms": [2000.0], "field_strength": [7.0]}),
            make_doc("slow", numbers={"tr_ms": [3000.0, 8000.0]}),
            make_doc("none"),
        )

        def found(text: str) -> set[str]:
            return set(ids(backend.search(SearchQuery(text=text, size=50))))

        assert found("tr_ms:[1000 TO 3000]") == {"mid", "slow"}
        assert found("tr_ms:[* TO 1000]") == {"fast"}
        assert found("tr_ms:[5000 TO *]") == {"slow"}
        assert found("tr_ms:2000") == {"mid"}
        assert found("field_strength:[2 TO 8]") == {"fast", "mid"}
        assert found("tr_ms:[1 TO 100]") == set()

    # -- paging and sorting -----------------------------------------------------------

    @pytest.mark.parametrize("sort", ["relevance", "title", "updated"])
    @pytest.mark.parametrize("text", ["", "identical"])
    def test_pagination_is_stable(self, backend, sort, text):
        ids_in = [f"r{n:02d}" for n in (7, 3, 22, 0, 15, 9, 1, 18, 11, 4, 20, 13, 6, 2, 17, 5)]
        self.load(backend, *[make_doc(i, title="Identical scan") for i in ids_in])
        seen = []
        for page in range(1, 8):
            result = backend.search(SearchQuery(text=text, page=page, size=3, sort=sort))
            assert result.total == len(ids_in)
            seen.extend(ids(result))
        assert seen == sorted(ids_in)

    def test_relevance_ties_sorted_by_id_within_score(self, backend):
        docs = [make_doc(f"x{i:02d}", title="tumour") for i in range(12)]
        docs += [make_doc(f"a{i:02d}", title="tumour tumour glioma extra words") for i in range(5)]
        self.load(backend, *reversed(docs))
        seen = []
        for page in range(1, 5):
            seen.extend(ids(backend.search(SearchQuery(text="tumour", page=page, size=5))))
        assert seen == sorted(d.id for d in docs if d.id.startswith("x")) + [
            f"a{i:02d}" for i in range(5)
        ]

    def test_relevance_ties_sorted_by_long_ids_and_non_ascii(self, backend):
        """Ids that agree on their first 24 bytes (tantivy orders ties by the id's order
        columns, then by the id itself), and ids with non-ASCII letters."""
        stem = "collection-" + "x" * 20
        names = [f"{stem}{n}" for n in ("b", "a", "c", "aa")]
        names += ["é1", "z9", "e2", "Z0", "ü", "a"]
        self.load(backend, *[make_doc(n, title="tumour") for n in reversed(names)])
        seen = []
        for page in range(1, 5):
            seen.extend(ids(backend.search(SearchQuery(text="tumour", page=page, size=3))))
        assert seen == sorted(names)

    def test_sort_by_title_and_updated(self, backend):
        base = datetime(2024, 5, 1, tzinfo=UTC)
        self.load(
            backend,
            make_doc("b", title="beta", updated=base),
            make_doc("a", title="Alpha", updated=base - timedelta(days=3)),
            make_doc("c", title="gamma", updated=base + timedelta(days=1)),
        )
        assert ids(backend.search(SearchQuery(sort="title"))) == ["a", "b", "c"]
        assert ids(backend.search(SearchQuery(sort="updated"))) == ["c", "b", "a"]

    def test_summary_fields(self, backend):
        long = "word " * 200
        self.load(
            backend,
            make_doc(
                "a",
                description=long,
                parent_id="p",
                collection_id="col",
                field_strength_t=3.0,
                facet_labels={"sequence": "T1-weighted"},
            ),
        )
        hit = backend.search(SearchQuery()).hits[0]
        assert hit.level == "acquisition" and hit.title == "Scan a"
        assert len(hit.description) <= 300 and hit.description.startswith("word word")
        assert (hit.parent_id, hit.collection_id) == ("p", "col")
        assert (hit.modality, hit.field_strength_t, hit.manufacturer) == ("MR", 3.0, "Siemens")
        assert (hit.species, hit.sequence, hit.license) == (
            "Homo sapiens",
            "T1-weighted",
            "CC-BY-4.0",
        )
        assert (hit.access, hit.source) == ("open", "bids")

    # -- writes -----------------------------------------------------------------------

    def test_reindex_replaces_by_id(self, backend):
        self.load(backend, make_doc("a", title="old title"))
        self.load(backend, make_doc("a", title="new title", facets={"modality": "CT"}))
        assert ids(backend.search(SearchQuery(text="old"))) == []
        result = backend.search(SearchQuery(text="title"))
        assert ids(result) == ["a"] and result.hits[0].title == "new title"
        assert counts(result, "modality") == {"CT": 1}

    def test_same_id_twice_in_one_batch_keeps_the_last(self, backend):
        self.load(backend, make_doc("a", title="first"), make_doc("a", title="second"))
        result = backend.search(SearchQuery())
        assert result.total == 1 and result.hits[0].title == "second"

    def test_delete(self, backend):
        self.load(backend, make_doc("a", title="brain"), make_doc("b", title="brain"))
        backend.delete(["a", "unknown-id"])
        backend.commit()
        result = backend.search(SearchQuery(text="brain"))
        assert ids(result) == ["b"] and counts(result, "level") == {"acquisition": 1}

    def test_uncommitted_writes_are_invisible(self, backend):
        self.load(backend, make_doc("a"))
        backend.index([make_doc("b")])
        assert ids(backend.search(SearchQuery())) == ["a"]
        backend.commit()
        assert ids(backend.search(SearchQuery())) == ["a", "b"]

    def test_clear(self, backend):
        self.load(backend, make_doc("a"), make_doc("b"))
        backend.clear()
        result = backend.search(SearchQuery())
        assert result.total == 0 and result.hits == []
        self.load(backend, make_doc("c"))
        assert ids(backend.search(SearchQuery())) == ["c"]

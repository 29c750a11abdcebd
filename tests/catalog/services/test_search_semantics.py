"""Query semantics through the service: conjuncts, concepts inside their own conjunct,
imaging facts typed as words, typed field values, ranges, and how a query was read.

The property tests draw word pairs (and, at the backend, whole catalogues) with
hypothesis and assert the identities exactly:
hits("a b") == hits(a) & hits(b), hits("a OR b") == hits(a) | hits(b),
hits("a NOT b") == hits("a -b") == hits(a) - hits(b).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.domain.errors import QuerySyntaxError, ValidationError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import Concept, Imaging, RecordCreate, SourceInfo, SubjectInfo
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings

RAT = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10116", label="Rattus norvegicus")
MOUSE = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10090", label="Mus musculus")
HUMAN = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_9606", label="Homo sapiens")
SPECIES = [RAT, MOUSE, HUMAN]
TITLE_WORDS = ["brain", "spine", "heart", "cortex", "hippocampus", "scan", "pilot", "baseline"]
SERIES = ["t1_mprage_sag", "t2_tse_tra", "ep2d_bold_rest", "dwi_64dir", "flair_ax"]
VENDORS = [("SIEMENS", 2.89), ("Bruker BioSpin MRI GmbH", 7.05), ("G.E. Medical Systems", 1.5)]
#: Words the property tests pair: plain words, concept words, imaging facts, prefixes.
POOL = [
    "brain",
    "spine",
    "rat",
    "mouse",
    "rodent",
    "human",
    "hippocampus",
    "T2",
    "T1-weighted",
    "BOLD",
    "3T",
    "7T",
    "MRI",
    "pilot",
    "scan",
    "cort*",
    '"resting state"',
    "manufacturer:Bruker",
    "tr_ms:[1000 TO 3000]",
    "nothingmatchesthis",
]


def _catalogue(cat: Catalog, seed: int, size: int) -> None:
    """A small random catalogue: collections of subjects (species) and acquisitions."""
    rng = random.Random(seed)
    for c in range(2):
        col = cat.records.create(
            SYSTEM, RecordCreate(level="collection", title=f"Study {c} {rng.choice(TITLE_WORDS)}")
        )
        for _ in range(size):
            species = rng.choice(SPECIES)
            subject = cat.records.create(
                SYSTEM,
                RecordCreate(
                    level="subject",
                    title=f"Animal {rng.choice(TITLE_WORDS)}",
                    parent_id=col.id,
                    subject=SubjectInfo(species=species),
                ),
            )
            vendor, tesla = rng.choice(VENDORS)
            series = rng.choice(SERIES)
            cat.records.create(
                SYSTEM,
                RecordCreate(
                    level="acquisition",
                    title=f"{series} {rng.choice(TITLE_WORDS)}",
                    description=rng.choice(["resting state run", "structural", ""]),
                    parent_id=subject.id,
                    imaging=Imaging(
                        modality="MR",
                        series_description=series,
                        manufacturer=vendor,
                        field_strength_t=tesla,
                        tr_ms=rng.choice([800.0, 2000.0, 3000.0, 6000.0]),
                    ),
                    source=SourceInfo(type="dicom"),
                ),
            )


@pytest.fixture(scope="module")
def semantic_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    path: Path = tmp_path_factory.mktemp("semantics")
    cat = Catalog.open(Settings.load(data_dir=path / "data"))
    _catalogue(cat, seed=8, size=12)
    try:
        yield cat
    finally:
        cat.close()


def hits(cat: Catalog, text: str, level: str | None = None) -> set[str]:
    page = cat.records.search(ANONYMOUS, SearchRequest(text=text, size=100, level=level))
    assert page.total <= 100, "the corpus is small enough for one page"
    return {hit.id for hit in page.hits}


def _is_one_label(cat: Catalog, a: str, b: str) -> bool:
    """True when 'a b' together name one concept (then they are one conjunct)."""
    read = cat.records.reader.read(f"{a} {b}")
    return len(read.conjuncts) < 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=st.sampled_from(POOL), b=st.sampled_from(POOL))
def test_words_are_conjuncts_or_unions_and_not_excludes(semantic_catalog, a, b):
    cat = semantic_catalog
    if _is_one_label(cat, a, b):
        return
    ha, hb = hits(cat, a), hits(cat, b)
    assert hits(cat, f"{a} {b}") == ha & hb
    assert hits(cat, f"{a} AND {b}") == ha & hb
    assert hits(cat, f"{a} OR {b}") == ha | hb
    assert hits(cat, f"{a} NOT {b}") == ha - hb
    assert hits(cat, f"{a} -{b}") == ha - hb


def test_the_catalogue_is_not_trivial(semantic_catalog):
    """The identities above mean something: the words do find different records."""
    cat = semantic_catalog
    assert 0 < len(hits(cat, "rat")) < len(hits(cat, "MRI"))
    assert hits(cat, "rat") != hits(cat, "mouse")
    assert hits(cat, "rat brain") < hits(cat, "rat") or not hits(cat, "rat brain")


def test_a_concept_expands_inside_its_own_conjunct(semantic_catalog):
    cat = semantic_catalog
    rodent = hits(cat, "rodent")
    assert hits(cat, "rat") | hits(cat, "mouse") <= rodent  # narrower concepts
    page = cat.records.search(ANONYMOUS, SearchRequest(text="rat brain", size=100))
    assert page.understood.startswith("rat (concept, with ")
    assert " AND brain (concept, with " in page.understood
    assert "http" not in page.understood  # labels, never IRIs
    assert {h.species for h in page.hits if h.species} <= {"Rattus norvegicus"}


def test_field_strength_words_mean_the_nominal_strength(semantic_catalog):
    cat = semantic_catalog
    three = hits(cat, "3T")
    assert three and three == hits(cat, "3 T") == hits(cat, "field_strength:3")
    assert hits(cat, "7T") == hits(cat, "7 tesla") == hits(cat, "field_strength:7T")
    # scans are one or the other; datasets (roll-ups) may hold both
    assert not hits(cat, "3T", "acquisition") & hits(cat, "7T", "acquisition")
    page = cat.records.search(ANONYMOUS, SearchRequest(text="3T", size=100, level="acquisition"))
    assert {h.field_strength_t for h in page.hits} == {2.89}
    assert page.understood == "field strength 3 T (2.8\u20133.2 T)"
    assert "9.4T" not in page.understood
    assert hits(cat, "9.4T") == set()


def test_vendor_normalised_at_write_time_raw_kept(semantic_catalog):
    cat = semantic_catalog
    ge = cat.records.search(
        ANONYMOUS, SearchRequest(text="manufacturer:GE", size=100, level="acquisition")
    )
    assert ge.total > 0 and {h.manufacturer for h in ge.hits} == {"GE"}
    record = cat.records.get(ANONYMOUS, ge.hits[0].id)
    assert record.imaging.manufacturer == "GE"
    assert record.source.raw["manufacturer"] == "G.E. Medical Systems"
    assert record.imaging.field_strength_nominal_t == 1.5
    assert hits(cat, "manufacturer:bruker") == hits(cat, "manufacturer:Bruker")
    ge_text = hits(cat, 'manufacturer:"G.E. Medical Systems"', "acquisition")
    assert ge_text == {h.id for h in ge.hits}
    assert {v.value for v in ge.facets["manufacturer"]} == {"GE"}
    filtered = cat.records.search(
        ANONYMOUS,
        SearchRequest(
            filters={"manufacturer": ["G.E. Medical Systems"]}, size=100, level="acquisition"
        ),
    )
    assert {h.id for h in filtered.hits} == {h.id for h in ge.hits}
    facet = {v.value for v in filtered.facets["manufacturer"]}
    assert facet == {"Siemens", "Bruker", "GE"}  # one name per vendor, siblings kept


def test_ranges_in_the_query_and_as_parameters(semantic_catalog):
    cat = semantic_catalog
    in_range = hits(cat, "tr_ms:[1000 TO 3000]")
    assert in_range and in_range == hits(cat, "tr_ms:[1000 TO 2000]") | hits(cat, "tr_ms:3000")
    as_param = cat.records.search(
        ANONYMOUS, SearchRequest(filters={"tr_ms.min": ["1000"], "tr_ms.max": ["3000"]}, size=100)
    )
    assert {h.id for h in as_param.hits} == in_range
    assert as_param.understood == "TR 1000 ms\u20133000 ms"
    bracket = cat.records.search(
        ANONYMOUS, SearchRequest(filters={"tr_ms": ["[1000 TO 3000]"]}, size=100)
    )
    assert {h.id for h in bracket.hits} == in_range


def test_species_field_takes_a_name(semantic_catalog):
    cat = semantic_catalog
    assert hits(cat, "species:rat") == hits(cat, 'species:"Rattus norvegicus"') != set()
    assert hits(cat, "species:rodent") == hits(cat, "species:rat") | hits(cat, "species:mouse")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a AND (", "'(' is not closed"),
        ("*", "'*' needs letters before it"),
        ("(", "'(' is not closed"),
        ("colour:red", "unknown field 'colour'"),
        ("tr_ms:[1000 3000]", "malformed range"),
    ],
)
def test_malformed_queries_are_400s(semantic_catalog, text, says):
    with pytest.raises(QuerySyntaxError) as caught:
        semantic_catalog.records.search(ANONYMOUS, SearchRequest(text=text))
    assert caught.value.status == 400 and says in caught.value.message
    if "unknown field" in says:
        assert "manufacturer" in caught.value.message and "tr_ms" in caught.value.message


def test_a_number_field_given_words_is_a_422(semantic_catalog):
    with pytest.raises(ValidationError) as caught:
        semantic_catalog.records.search(
            ANONYMOUS, SearchRequest(filters={"field_strength": ["abc"]})
        )
    assert caught.value.status == 422 and "'abc' is not a number" in caught.value.message


def test_typos_get_did_you_mean_with_counts(semantic_catalog):
    cat = semantic_catalog
    page = cat.records.search(ANONYMOUS, SearchRequest(text="hipocampus"))
    assert page.total == 0
    first = page.suggestions[0]
    assert first.text == "hippocampus" and first.count == len(hits(cat, "hippocampus")) > 0
    assert first.reason == '"hipocampus" looks like "hippocampus"'
    rodnet = cat.records.search(ANONYMOUS, SearchRequest(text="rat rodnet"))
    assert [s.text for s in rodnet.suggestions][:1] == ["rat rodent"]
    assert rodnet.suggestions[0].count == len(hits(cat, "rat rodent"))


def test_a_concept_without_records_suggests_its_broader_concept(semantic_catalog):
    cat = semantic_catalog
    page = cat.records.search(ANONYMOUS, SearchRequest(text="Wistar"))
    assert page.total == 0
    assert page.suggestions and page.suggestions[0].text == "rat"
    assert "broader concept is rat" in page.suggestions[0].reason
    assert page.suggestions[0].count == len(hits(cat, "rat"))


def test_no_suggestions_when_something_matches(semantic_catalog):
    assert semantic_catalog.records.search(ANONYMOUS, SearchRequest(text="rat")).suggestions == []


def test_grouped_without_a_query_lists_the_newest_datasets_first(semantic_catalog):
    cat = semantic_catalog
    page = cat.records.search(ANONYMOUS, SearchRequest(group="collection"))
    titles = [g.collection.title for g in page.groups or []]
    assert [t.split()[1] for t in titles] == ["1", "0"]  # Study 1 was created last
    assert page.group_total == 2 and page.total > 2
    newest = page.groups[0]
    assert newest.collection.rollup.subjects == 12
    assert newest.collection.rollup.acquisitions == 12
    assert newest.matches == 24 and len(newest.hits) == 3  # subjects and scans, collapsed


def test_a_dataset_matches_what_its_records_hold(semantic_catalog):
    """`rat 3T pilot`: no single record need hold all three; the dataset does."""
    cat = semantic_catalog
    datasets = hits(cat, "rat 3T", "collection")
    assert datasets and datasets <= hits(cat, "rat", "collection") & hits(cat, "3T", "collection")
    grouped = cat.records.search(ANONYMOUS, SearchRequest(text="rat 3T", group="collection"))
    assert {g.collection.id for g in grouped.groups or []} == datasets
    for group in grouped.groups or []:
        assert all(h.collection_id == group.collection.id for h in group.hits)


def test_text_of_separators_only_matches_nothing(semantic_catalog):
    page = semantic_catalog.records.search(ANONYMOUS, SearchRequest(text="; --"))
    assert page.total == 0 and page.understood == "nothing to look for"


def test_a_structure_without_records_suggests_what_it_is_part_of(semantic_catalog):
    """Anatomy climbs part-of as well as is-a: the dentate gyrus has no records of its own,
    the hippocampal formation it is part of has."""
    cat = semantic_catalog
    page = cat.records.search(ANONYMOUS, SearchRequest(text="dentate gyrus"))
    assert page.total == 0
    first = page.suggestions[0]
    assert "no records for dentate gyrus" in first.reason and "broader concept is" in first.reason
    assert first.count == len(hits(cat, first.text)) > 0

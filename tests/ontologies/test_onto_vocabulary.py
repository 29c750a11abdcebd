"""The shipped vocabulary files, their metadata, IRIs, labels and closures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import SKOS

from ontologies.errors import UnknownConceptError, VocabularyError
from ontologies.graph import DATA_DIR, Vocabulary

OBO = "http://purl.obolibrary.org/obo/"
T1 = OBO + "OBI_0003341"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
SPGR = "https://w3id.org/imagora/vocab/mr-technique/spgr"
RAT, MOUSE, RODENTIA = OBO + "NCBITaxon_10116", OBO + "NCBITaxon_10090", OBO + "NCBITaxon_9989"
WISTAR = "https://identifiers.org/RRID:RGD_13508588"
AMMONS_HORN, HIPPO_FORMATION = OBO + "UBERON_0001954", OBO + "UBERON_0002421"
CA1, CA3, DENTATE = OBO + "UBERON_0003881", OBO + "UBERON_0003883", OBO + "UBERON_0001885"
BRAIN = OBO + "UBERON_0000955"
ONL = "http://neurolog.unice.fr/ontoneurolog/v3.0/"

TTL_FILES = sorted(DATA_DIR.glob("*.ttl"))


def test_expected_files_are_shipped() -> None:
    names = {p.name for p in TTL_FILES}
    assert names == {
        "anaesthetics.ttl",
        "anatomy.ttl",
        "bids.ttl",
        "licenses.ttl",
        "modality.ttl",
        "mri.ttl",
        "onl.ttl",
        "species.ttl",
        "strains.ttl",
    }


@pytest.mark.parametrize("path", TTL_FILES, ids=lambda p: p.name)
def test_every_file_parses_and_every_concept_has_one_pref_label(path: Path) -> None:
    graph = Graph().parse(path, format="turtle")
    concepts = set(graph.subjects(predicate=None, object=SKOS.Concept))
    assert concepts, f"{path.name} declares no concepts"
    for concept in concepts:
        labels = list(graph.objects(concept, SKOS.prefLabel))
        assert len(labels) == 1, f"{concept} in {path.name} has {len(labels)} prefLabels"
        assert str(labels[0]).strip()


@pytest.mark.parametrize("path", TTL_FILES, ids=lambda p: p.name)
def test_every_file_is_listed_in_the_data_readme(path: Path) -> None:
    assert f"`{path.name}`" in (DATA_DIR / "README.md").read_text(encoding="utf-8")


def test_every_scheme_records_source_version_and_licence(vocab: Vocabulary) -> None:
    schemes = {s.name: s for s in vocab.schemes()}
    assert set(schemes) == {
        "anaesthesia",
        "anatomy",
        "bids",
        "license",
        "modality",
        "mri",
        "onl",
        "species",
        "strain",
    }
    for info in schemes.values():
        assert info.source.startswith("http"), info
        assert info.version, info
        assert info.license.startswith("http://spdx.org/licenses/"), info
    assert schemes["mri"].license == "http://spdx.org/licenses/CC-BY-4.0"
    assert schemes["bids"].version.startswith("BIDS 1.11.2")
    assert schemes["species"].license == "http://spdx.org/licenses/CC0-1.0"


@pytest.mark.parametrize(
    ("iri", "label", "scheme"),
    [
        (OBO + "OBI_0003328", "MR image data set", "mri"),
        (T1, "T1-weighted", "mri"),
        (OBO + "OBI_0003348", "T2-weighted", "mri"),
        (OBO + "OBI_0003349", "FLAIR", "mri"),
        (OBO + "OBI_0003335", "diffusion-weighted", "mri"),
        (OBO + "OBI_0003336", "functional MRI", "mri"),
        (OBO + "OBI_0003339", "perfusion-weighted", "mri"),
        (OBO + "OBI_0003340", "proton density weighted", "mri"),
        (MPRAGE, "MPRAGE", "mri"),
        (ONL + "dataset.owl#MR-dataset", "MR dataset", "onl"),
        (ONL + "study-examination-subject.owl#subject", "subject", "onl"),
        (
            ONL + "ontoneurolog-dataset-processing.owl#dataset-processing",
            "dataset processing",
            "onl",
        ),
        (ONL + "ontoneurolog-preclinical.owl#rodent", "rodent", "onl"),
        (ONL + "ontoneurolog-preclinical.owl#anesthetic-action", "anesthetic action", "onl"),
        (RAT, "rat", "species"),
        (OBO + "NCBITaxon_9606", "human", "species"),
        (OBO + "NCBITaxon_9544", "rhesus macaque", "species"),
        (WISTAR, "Wistar", "strain"),
        ("https://identifiers.org/RRID:IMSR_JAX:000664", "C57BL/6J", "strain"),
        (OBO + "CHEBI_6015", "isoflurane", "anaesthesia"),
        (OBO + "CHEBI_6121", "ketamine", "anaesthesia"),
        (BRAIN, "brain", "anatomy"),
        (CA1, "CA1 field of hippocampus", "anatomy"),
        (AMMONS_HORN, "Ammon's horn", "anatomy"),
        (
            "http://dicom.nema.org/resources/ontology/DCM/PT",
            "Positron emission tomography",
            "modality",
        ),
        ("http://spdx.org/licenses/CC0-1.0", "Creative Commons Zero v1.0 Universal", "license"),
        (
            "https://bids-specification.readthedocs.io/en/stable/glossary.html#t1w-suffixes",
            "T1-weighted image",
            "bids",
        ),
    ],
)
def test_iris_labels_and_schemes(vocab: Vocabulary, iri: str, label: str, scheme: str) -> None:
    assert vocab.label(iri) == label
    assert vocab.scheme_of(iri) == scheme
    assert vocab.concept(iri).label == label


def test_mri_cross_links_and_synonyms(vocab: Vocabulary) -> None:
    t1 = vocab.concept(T1)
    assert "http://purl.org/nidash/nidm#T1Weighted" in t1.exact_match
    assert "T1w" in t1.alt_labels
    mprage = vocab.concept(MPRAGE)
    assert "MP-RAGE" in mprage.alt_labels
    assert mprage.broader == (T1,)
    assert vocab.matches(ONL + "dataset.owl#MR-dataset") == {OBO + "OBI_0003328"}


def test_t1_weighted_narrower_includes_techniques(vocab: Vocabulary) -> None:
    narrower = vocab.narrower_closure(T1)
    assert {MPRAGE, SPGR} <= narrower
    assert T1 not in narrower
    assert OBO + "OBI_0003348" not in narrower


def test_rodent_narrower_includes_rat_mouse_and_wistar(vocab: Vocabulary) -> None:
    narrower = vocab.narrower_closure(RODENTIA)
    assert {RAT, MOUSE, WISTAR} <= narrower
    assert OBO + "NCBITaxon_9606" not in narrower


def test_hippocampus_part_of_closure(vocab: Vocabulary) -> None:
    assert vocab.narrower_closure(AMMONS_HORN) == set()  # no is-a children
    assert {CA1, CA3} <= vocab.narrower_closure(AMMONS_HORN, include_part_of=True)
    formation = vocab.narrower_closure(HIPPO_FORMATION, include_part_of=True)
    assert {AMMONS_HORN, CA1, CA3, DENTATE} <= formation
    assert {CA1, DENTATE} <= vocab.narrower_closure(BRAIN, include_part_of=True)


def test_broader_closure_is_nearest_first(vocab: Vocabulary) -> None:
    assert vocab.broader_closure(WISTAR) == [
        RAT,
        OBO + "NCBITaxon_10066",
        RODENTIA,
        OBO + "NCBITaxon_40674",
        OBO + "NCBITaxon_7742",
    ]
    assert vocab.broader_closure(CA1) == []
    assert vocab.broader_closure(CA1, include_part_of=True)[:2] == [AMMONS_HORN, HIPPO_FORMATION]


def test_unknown_iri_raises_a_clear_error(vocab: Vocabulary) -> None:
    with pytest.raises(UnknownConceptError, match="no loaded vocabulary defines"):
        vocab.concept("http://example.org/nothing")
    assert vocab.label("http://example.org/things#thing") == "thing"


def test_load_is_cached_and_version_hashes_files(tmp_path: Path) -> None:
    assert Vocabulary.load() is Vocabulary.load()
    for name in ("species.ttl", "strains.ttl"):
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    first = Vocabulary.from_files(tmp_path.glob("*.ttl"))
    assert first.version.startswith("sha256:")
    assert len(first) == len(first.concepts("species")) + len(first.concepts("strain"))
    with (tmp_path / "species.ttl").open("a", encoding="utf-8") as handle:
        handle.write("\n# a comment changes the version\n")
    assert Vocabulary.from_files(tmp_path.glob("*.ttl")).version != first.version


def test_broken_files_give_vocabulary_errors(tmp_path: Path) -> None:
    prefixes = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle", encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"bad\.ttl is not valid Turtle"):
        Vocabulary.from_files([bad])
    bad.write_text(prefixes + "<http://ex.org/s> a skos:ConceptScheme .\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="lacks skos:notation, dct:source"):
        Vocabulary.from_files([bad])
    with pytest.raises(VocabularyError, match="no vocabulary files"):
        Vocabulary.from_files([])


def test_importing_the_package_does_no_work() -> None:
    code = (
        "import ontologies.graph as g, ontologies.expansion, ontologies.annotator, "
        "ontologies.facets, ontologies.jsonld\n"
        "assert g.Vocabulary._shelf.default is None and not g.Vocabulary._shelf._loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_clear_cache_forgets_every_memo_derived_from_a_vocabulary():
    from ontologies.expansion import expand
    from ontologies.graph import Vocabulary

    first = Vocabulary.load()
    expansion = expand("rat brain")
    assert expand("rat brain") is expansion  # memoised by the vocabulary
    Vocabulary.clear_cache()
    second = Vocabulary.load()
    assert second is not first
    assert expand("rat brain") is not expansion

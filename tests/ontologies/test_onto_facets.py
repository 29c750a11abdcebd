"""Hierarchical facets rolled up along broader (and, for anatomy, part-of) links."""

from __future__ import annotations

import pytest

from ontologies.errors import UnknownConceptError
from ontologies.facets import facet_tree
from ontologies.graph import Vocabulary

OBO = "http://purl.obolibrary.org/obo/"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
SPGR = "https://w3id.org/imagora/vocab/mr-technique/spgr"


def test_contrast_counts_roll_up(vocab: Vocabulary) -> None:
    counts = {MPRAGE: 3, SPGR: 2, OBO + "OBI_0003341": 1, OBO + "OBI_0003348": 4, "urn:x": 9}
    (root,) = facet_tree(counts, "mri", vocab)
    assert (root.label, root.count) == ("MR image data set", 10)
    assert [(c.label, c.count) for c in root.children] == [("T1-weighted", 6), ("T2-weighted", 4)]
    t1 = root.children[0]
    assert [(c.label, c.count) for c in t1.children] == [("MPRAGE", 3), ("SPGR", 2)]
    assert t1.to_dict()["children"][0] == {
        "iri": MPRAGE,
        "label": "MPRAGE",
        "count": 3,
        "children": [],
    }


def test_species_tree_from_rat_and_mouse(vocab: Vocabulary) -> None:
    counts = {OBO + "NCBITaxon_10116": 5, OBO + "NCBITaxon_10090": 2, OBO + "NCBITaxon_9606": 1}
    (root,) = facet_tree(counts, "species", vocab)
    assert (root.label, root.count) == ("vertebrates", 8)
    (mammals,) = root.children
    assert [(c.label, c.count) for c in mammals.children] == [("rodents", 7), ("primates", 1)]


def test_anatomy_follows_part_of(vocab: Vocabulary) -> None:
    counts = {OBO + "UBERON_0003881": 2, OBO + "UBERON_0001885": 1}
    roots = facet_tree(counts, "anatomy", vocab)
    assert [(r.label, r.count) for r in roots] == [("head", 3)]
    brain = roots[0].children[0]
    assert (brain.label, brain.count) == ("brain", 3)


def test_unknown_scheme_is_an_error(vocab: Vocabulary) -> None:
    with pytest.raises(UnknownConceptError, match="unknown concept scheme 'nope'"):
        facet_tree({}, "nope", vocab)
    assert facet_tree({}, "mri", vocab) == []

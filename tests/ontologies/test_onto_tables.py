"""The one species and licence table, and its former owners reading from it.

The expectations below are the tables the harvesters, the BIDS normaliser and the
exporters used to keep themselves: every spelling they accepted still gives the same
answer, now read from `ontologies/data/species.ttl` and `licenses.ttl`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exporters import facts
from exporters.publishers.zenodo_metadata import zenodo_license
from harvesters.bids import normalize
from harvesters.species import human, lookup_species, require_species
from ontologies.graph import DATA_DIR, Vocabulary
from ontologies.tables import NCBITAXON, ReferenceTables, licence_key

#: The harvesters' former table: accepted name -> taxon id.
FORMER_SPECIES = {
    "human": "9606", "humans": "9606", "homo sapiens": "9606", "h. sapiens": "9606",
    "man": "9606", "rat": "10116", "rats": "10116", "rattus norvegicus": "10116",
    "r. norvegicus": "10116", "mouse": "10090", "mice": "10090", "mus musculus": "10090",
    "m. musculus": "10090", "macaque": "9544", "rhesus": "9544", "rhesus macaque": "9544",
    "rhesus monkey": "9544", "macaca mulatta": "9544", "m. mulatta": "9544",
    "cynomolgus": "9541", "cynomolgus macaque": "9541", "macaca fascicularis": "9541",
    "marmoset": "9483", "common marmoset": "9483", "callithrix jacchus": "9483",
    "pig": "9823", "swine": "9823", "sus scrofa": "9823", "sheep": "9940",
    "ovis aries": "9940", "rabbit": "9986", "oryctolagus cuniculus": "9986",
    "zebrafish": "7955", "danio rerio": "7955",
}  # fmt: skip
#: Moved on purpose: the table knows the domestic pig (NCBITaxon_9825) itself.
DOMESTIC_PIG = ("minipig", "sus scrofa domesticus")

#: The BIDS normaliser's former table (keys after its cleaning) -> SPDX id.
FORMER_SPDX = {
    "CC0": "CC0-1.0", "CC0-1.0": "CC0-1.0", "CC0-1": "CC0-1.0", "CC-ZERO": "CC0-1.0",
    "PUBLIC-DOMAIN-DEDICATION": "CC0-1.0",
    "PDDL": "PDDL-1.0", "PDDL-1.0": "PDDL-1.0", "ODC-PDDL": "PDDL-1.0",
    "ODBL": "ODbL-1.0", "ODBL-1.0": "ODbL-1.0", "ODC-BY": "ODC-By-1.0", "ODC-BY-1.0": "ODC-By-1.0",
    "CC-BY": "CC-BY-4.0", "CC-BY-4.0": "CC-BY-4.0", "CC-BY-3.0": "CC-BY-3.0",
    "CC-BY-SA": "CC-BY-SA-4.0", "CC-BY-SA-4.0": "CC-BY-SA-4.0",
    "CC-BY-NC": "CC-BY-NC-4.0", "CC-BY-NC-4.0": "CC-BY-NC-4.0",
    "CC-BY-NC-SA": "CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0": "CC-BY-NC-SA-4.0",
    "CC-BY-NC-ND": "CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0": "CC-BY-NC-ND-4.0",
    "CC-BY-ND": "CC-BY-ND-4.0", "CC-BY-ND-4.0": "CC-BY-ND-4.0",
    "PD": "LicenseRef-PublicDomain", "PUBLIC-DOMAIN": "LicenseRef-PublicDomain",
    "MIT": "MIT", "APACHE-2.0": "Apache-2.0", "BSD-3-CLAUSE": "BSD-3-Clause",
}  # fmt: skip

#: The exporters' former titles.
FORMER_TITLES = {
    "CC0-1.0": "Creative Commons Zero v1.0 Universal",
    "CC-BY-4.0": "Creative Commons Attribution 4.0 International",
    "CC-BY-SA-4.0": "Creative Commons Attribution Share Alike 4.0 International",
    "CC-BY-NC-4.0": "Creative Commons Attribution Non Commercial 4.0 International",
    "CC-BY-NC-SA-4.0": "Creative Commons Attribution Non Commercial Share Alike 4.0 International",
    "CC-BY-ND-4.0": "Creative Commons Attribution No Derivatives 4.0 International",
    "PDDL-1.0": "Open Data Commons Public Domain Dedication & License 1.0",
    "ODbL-1.0": "Open Data Commons Open Database License v1.0",
    "ODC-By-1.0": "Open Data Commons Attribution License v1.0",
    "MIT": "MIT License",
    "Apache-2.0": "Apache License 2.0",
}

BINOMIALS = {
    "9606": "Homo sapiens", "10116": "Rattus norvegicus", "10090": "Mus musculus",
    "9544": "Macaca mulatta", "9541": "Macaca fascicularis", "9483": "Callithrix jacchus",
    "9823": "Sus scrofa", "9825": "Sus scrofa domesticus", "9940": "Ovis aries",
    "9986": "Oryctolagus cuniculus", "7955": "Danio rerio",
}  # fmt: skip


@pytest.mark.parametrize(("name", "taxon"), sorted(FORMER_SPECIES.items()))
def test_harvesters_read_every_former_species_name_from_the_table(name: str, taxon: str) -> None:
    table = ReferenceTables.of().species
    expected = table.lookup(NCBITAXON + taxon)
    assert expected is not None and expected.label == BINOMIALS[taxon]
    for spelling in (name, name.upper(), f"  {name.title()} "):
        assert lookup_species(spelling) == expected
        assert normalize.species_concept(spelling) == expected
        assert require_species(spelling) == expected


def test_the_domestic_pig_is_its_own_species_now() -> None:
    for name in DOMESTIC_PIG:
        concept = lookup_species(name)
        assert concept is not None
        assert (concept.iri, concept.label) == (NCBITAXON + "9825", "Sus scrofa domesticus")


def test_species_ids_curies_and_iris() -> None:
    rat = lookup_species("rat")
    for value in ("10116", "NCBITaxon:10116", "ncbitaxon_10116", NCBITAXON + "10116"):
        assert lookup_species(value) == rat
    rodents = lookup_species("NCBITaxon:9989")
    assert rodents is not None and rodents.label == "rodents"  # known higher taxon
    other = lookup_species("NCBITaxon:9685")
    assert other is not None and (other.iri, other.label) == (
        NCBITAXON + "9685",
        "NCBITaxon:9685",
    )
    assert human() == lookup_species("human")


def test_unknown_species_and_higher_taxa_by_name_are_not_species() -> None:
    assert lookup_species("yeti") is None
    assert lookup_species("rodent") is None  # a taxon above species rank
    assert lookup_species("") is None and lookup_species(None) is None
    with pytest.raises(ValueError, match=r"unknown species 'yeti': use one of .*\brat\b"):
        require_species("yeti")


def test_every_species_of_the_table_is_a_vocabulary_concept_with_its_binomial() -> None:
    vocab = Vocabulary.load()
    table = ReferenceTables.of(vocab).species
    assert {s.taxon: s.scientific_name for s in table.species} == BINOMIALS
    for species in table.species:
        assert vocab.scheme_of(species.iri) == "species"
        assert lookup_species(species.common_name) == species.concept()


@pytest.mark.parametrize(("key", "spdx"), sorted(FORMER_SPDX.items()))
def test_bids_licences_read_every_former_spelling_from_the_table(key: str, spdx: str) -> None:
    assert normalize.spdx_license(key) == spdx
    assert normalize.spdx_license(key.lower().replace("-", " ")) == spdx


def test_free_text_licences() -> None:
    assert normalize.spdx_license("Creative Commons Attribution 4.0 International") == "CC-BY-4.0"
    assert normalize.spdx_license("CC BY-NC-SA 4") == "CC-BY-NC-SA-4.0"
    assert normalize.spdx_license("Creative Commons Zero v1.0 Universal") == "CC0-1.0"
    assert normalize.spdx_license("all rights reserved") is None
    assert normalize.spdx_license("") is None and normalize.spdx_license(None) is None


def test_exporters_titles_come_from_the_table() -> None:
    table = ReferenceTables.of().licences
    for spdx, title in FORMER_TITLES.items():
        assert facts.license_title(spdx) == title == table.title(spdx)
    assert facts.license_title("LicenseRef-Own") == "LicenseRef-Own"
    assert facts.license_title(None) is None
    for licence in table.licences:
        assert facts.license_title(licence.spdx_id) == licence.title
        assert normalize.spdx_license(licence.spdx_id) == licence.spdx_id


def test_zenodo_licences_are_the_spdx_listed_ones_of_the_table() -> None:
    for licence in ReferenceTables.of().licences.licences:
        if licence.listed_by_spdx:
            assert zenodo_license(licence.spdx_id) == licence.spdx_id.lower()
    with pytest.raises(Exception, match="licence 'LicenseRef-PublicDomain' has no Zenodo"):
        zenodo_license("LicenseRef-PublicDomain")


def test_licence_keys_fold_spellings() -> None:
    assert licence_key("cc by 4") == "CC-BY-4.0"
    assert licence_key("Creative_Commons/Attribution-ShareAlike 4.0") == "CC-BY-SA-4.0"


def test_tables_follow_the_vocabulary_version(tmp_path: Path) -> None:
    """An edited data file is a new vocabulary version: the tables are rebuilt from it."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    first = ReferenceTables.of(Vocabulary.from_files(data.glob("*.ttl")))
    assert first.species.lookup("rhesus") is not None
    species = data / "species.ttl"
    species.write_text(species.read_text().replace('"rhesus" ,', ""))
    edited = Vocabulary.from_files(data.glob("*.ttl"))
    second = ReferenceTables.of(edited)
    assert second.version != first.version and second.species.lookup("rhesus") is None
    assert ReferenceTables.of(edited) is second  # built once per vocabulary

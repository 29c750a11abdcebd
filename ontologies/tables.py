"""The catalogue's species and licence tables, read from the shipped vocabularies.

Harvesters (species names in BIDS, DICOM options, XNAT, Shanoir, CKAN, Bruker mapping
files), the BIDS licence normaliser and the exporters (licence titles, Zenodo licence
ids) used to keep tables of their own, which drifted apart. The data now lives once, in
`ontologies/data/species.ttl` and `ontologies/data/licenses.ttl`:

- a species is a concept of the `species` scheme that carries `rdfs:label` (its
  scientific name, as NCBITaxon labels it); every label, notation and `imv:sourceName`
  (spellings sources write that search queries must not match, such as "man") names it;
- a licence is a concept of the `license` scheme; its `skos:notation` is the SPDX id,
  its preferred label the SPDX name, and its labels and `imv:sourceName`s are the
  spellings a source may write ("CC BY 4.0", "CC Zero").

`ReferenceTables.of(vocabulary)` builds both once per vocabulary and keeps them in the
vocabulary's own memo, so they follow its version (`Vocabulary.clear_cache` drops them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from catalog.domain.records import Concept as RecordConcept
from ontologies.graph import Concept, Vocabulary
from ontologies.iris import IMAGORA_VOCAB, OBO

NCBITAXON = OBO + "NCBITaxon_"
HUMAN_TAXON = "9606"
SOURCE_NAME = IMAGORA_VOCAB + "sourceName"
"""Spellings written by sources, read from source metadata only (never query labels)."""

_TAXON_ID = re.compile(r"(?:.*ncbitaxon[_:/ ])?(\d+)")

# Licence spellings are compared after the same cleaning: upper case, separators as "-",
# the words of "Creative Commons Attribution ..." as their short forms, a bare version
# number as "N.0" ("CC BY 4" is CC-BY-4.0).
_LICENSE_WORDS = (
    ("CREATIVE-COMMONS-ZERO", "CC0"), ("CREATIVE-COMMONS-ATTRIBUTION", "CC-BY"),
    ("CREATIVE-COMMONS", "CC"), ("ATTRIBUTION", "BY"), ("NONCOMMERCIAL", "NC"),
    ("NON-COMMERCIAL", "NC"), ("SHAREALIKE", "SA"), ("SHARE-ALIKE", "SA"),
    ("NODERIVATIVES", "ND"), ("NO-DERIVATIVES", "ND"), ("INTERNATIONAL", ""),
    ("UNIVERSAL", ""), ("LICENSE", ""), ("LICENCE", ""), ("-V", "-"),
)  # fmt: skip


def licence_key(value: str) -> str:
    """A licence spelling in the one form the table compares ("cc by 4" -> "CC-BY-4.0")."""
    text = re.sub(r"[\s_/]+", "-", value.strip().upper()).strip("-.")
    for word, short in _LICENSE_WORDS:
        text = text.replace(word, short)
    text = re.sub(r"-+", "-", text).strip("-")
    return re.sub(r"-(\d)$", r"-\1.0", text)


def _name_key(value: str) -> str:
    return " ".join(value.strip().casefold().replace("_", " ").split())


def _literals(vocabulary: Vocabulary, iri: str, predicate: str) -> list[str]:
    objects = vocabulary.graph.objects(URIRef(iri), URIRef(predicate))
    return sorted(str(value) for value in objects if isinstance(value, Literal))


@dataclass(frozen=True)
class Species:
    """One species of the table: NCBITaxon id, scientific name, every accepted name."""

    taxon: str
    iri: str
    scientific_name: str
    common_name: str
    names: tuple[str, ...]

    def concept(self) -> RecordConcept:
        """The record's `subject.species` value (IRI and scientific name)."""
        return RecordConcept(iri=self.iri, label=self.scientific_name)


class SpeciesTable:
    """Species names, binomials, taxon ids, CURIEs and IRIs -> one NCBITaxon concept."""

    def __init__(self, species: Iterable[Species], vocabulary: Vocabulary) -> None:
        self.species = tuple(sorted(species, key=lambda s: s.common_name))
        self._by_taxon = {s.taxon: s for s in self.species}
        self._by_name = {_name_key(n): s for s in self.species for n in s.names}
        self._vocabulary = vocabulary

    @classmethod
    def build(cls, vocabulary: Vocabulary) -> SpeciesTable:
        found = []
        for concept in vocabulary.concepts("species"):
            scientific = _literals(vocabulary, concept.iri, str(RDFS.label))
            if not scientific or not concept.iri.startswith(NCBITAXON):
                continue  # a higher taxon (rodents, primates): not a subject's species
            written = _literals(vocabulary, concept.iri, SOURCE_NAME)
            names = (*scientific, *concept.all_labels, *written)
            taxon = concept.iri.removeprefix(NCBITAXON)
            found.append(Species(taxon, concept.iri, scientific[0], concept.label, names))
        return cls(found, vocabulary)

    def lookup(self, value: str | None) -> RecordConcept | None:
        """The concept for a name, alias, taxon id, CURIE or IRI; None when unknown/empty."""
        if not value:
            return None
        text = _name_key(value)
        match = _TAXON_ID.fullmatch(text)
        if match is None:
            species = self._by_name.get(text)
            return species.concept() if species else None
        taxon = match.group(1)
        if taxon in self._by_taxon:
            return self._by_taxon[taxon].concept()
        known = self._vocabulary.get(NCBITAXON + taxon)
        label = known.label if known else f"NCBITaxon:{taxon}"
        return RecordConcept(iri=NCBITAXON + taxon, label=label)

    def require(self, value: str) -> RecordConcept:
        """Like `lookup`, but an unknown name is a ValueError listing the known ones."""
        concept = self.lookup(value)
        if concept is None:
            names = ", ".join(s.common_name for s in self.species)
            raise ValueError(f"unknown species {value!r}: use one of {names} or an NCBITaxon IRI")
        return concept

    def human(self) -> RecordConcept:
        return self._by_taxon[HUMAN_TAXON].concept()


@dataclass(frozen=True)
class Licence:
    """One licence of the table: SPDX id, SPDX name, IRI and accepted spellings."""

    spdx_id: str
    title: str
    iri: str
    spellings: tuple[str, ...]

    @property
    def listed_by_spdx(self) -> bool:
        """False for `LicenseRef-` ids, which are local to a document, not SPDX's list."""
        return not self.spdx_id.startswith("LicenseRef-")


class LicenceTable:
    """Free-text licence statements -> SPDX ids; SPDX ids -> names."""

    def __init__(self, licences: Iterable[Licence]) -> None:
        self.licences = tuple(sorted(licences, key=lambda lic: lic.spdx_id))
        self._by_id = {lic.spdx_id: lic for lic in self.licences}
        self._by_key = {licence_key(s): lic for lic in self.licences for s in lic.spellings}

    @classmethod
    def build(cls, vocabulary: Vocabulary) -> LicenceTable:
        return cls(_licence(vocabulary, c) for c in vocabulary.concepts("license") if c.notations)

    def spdx_id(self, value: str | None) -> str | None:
        """The SPDX id of a licence statement ("CC0", "CC BY 4.0", "PDDL"); None if unknown."""
        if not value or not isinstance(value, str):
            return None
        key = licence_key(value)
        found = self._by_key.get(key) or self._by_key.get(key.removesuffix(".0"))
        return found.spdx_id if found else None

    def get(self, spdx_id: str) -> Licence | None:
        return self._by_id.get(spdx_id)

    def title(self, spdx_id: str | None) -> str | None:
        """The SPDX name of a licence id; an id not in the table is shown as it is."""
        if not spdx_id:
            return None
        found = self._by_id.get(spdx_id)
        return found.title if found else spdx_id


def _licence(vocabulary: Vocabulary, concept: Concept) -> Licence:
    written = _literals(vocabulary, concept.iri, SOURCE_NAME)
    spellings = (*concept.all_labels, *written)
    return Licence(concept.notations[0], concept.label, concept.iri, spellings)


@dataclass(frozen=True)
class ReferenceTables:
    """The species and licence tables of one vocabulary version."""

    species: SpeciesTable
    licences: LicenceTable
    version: str

    @classmethod
    def of(cls, vocabulary: Vocabulary | None = None) -> ReferenceTables:
        """The tables of `vocabulary` (default: the shipped one), built once per version."""
        vocab = vocabulary if vocabulary is not None else Vocabulary.load()
        memo = vocab.memo("reference-tables", 1)
        return memo.get("tables", lambda: cls.build(vocab), vocab.version)

    @classmethod
    def build(cls, vocabulary: Vocabulary) -> ReferenceTables:
        return cls(
            SpeciesTable.build(vocabulary), LicenceTable.build(vocabulary), vocabulary.version
        )

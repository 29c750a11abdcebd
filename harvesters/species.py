"""Species names -> NCBITaxon concepts, one table for every harvester.

Sources name species many ways (BIDS `participants.tsv`, a harvest option, DICOM's
PatientSpeciesDescription); this maps common names, binomials, abbreviations, taxon ids,
CURIEs and IRIs onto one NCBITaxon concept so facets and ontology search agree.
"""

from __future__ import annotations

import re

from catalog.domain.records import Concept

NCBITAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"

#: taxon id -> (binomial label, accepted lower-case names)
TAXA: dict[str, tuple[str, tuple[str, ...]]] = {
    "9606": ("Homo sapiens", ("human", "humans", "homo sapiens", "h. sapiens", "man")),
    "10116": ("Rattus norvegicus", ("rat", "rats", "rattus norvegicus", "r. norvegicus")),
    "10090": ("Mus musculus", ("mouse", "mice", "mus musculus", "m. musculus")),
    "9544": ("Macaca mulatta", ("macaque", "rhesus", "rhesus macaque", "rhesus monkey",
                                "macaca mulatta", "m. mulatta")),
    "9541": ("Macaca fascicularis", ("cynomolgus", "cynomolgus macaque",
                                     "macaca fascicularis")),
    "9483": ("Callithrix jacchus", ("marmoset", "common marmoset", "callithrix jacchus")),
    "9823": ("Sus scrofa", ("pig", "swine", "minipig", "sus scrofa",
                            "sus scrofa domesticus")),
    "9940": ("Ovis aries", ("sheep", "ovis aries")),
    "9986": ("Oryctolagus cuniculus", ("rabbit", "oryctolagus cuniculus")),
    "7955": ("Danio rerio", ("zebrafish", "danio rerio")),
}  # fmt: skip

_ALIASES: dict[str, str] = {name: taxon for taxon, (_, names) in TAXA.items() for name in names}
_ID = re.compile(r"(?:.*ncbitaxon[_:/ ])?(\d+)")


def lookup_species(value: str | None) -> Concept | None:
    """The concept for a name, alias, taxon id, CURIE or IRI; None when unknown or empty."""
    if not value:
        return None
    text = " ".join(value.strip().lower().replace("_", " ").split())
    match = _ID.fullmatch(text)
    taxon = match.group(1) if match else _ALIASES.get(text)
    if taxon is None:
        return None
    label = TAXA[taxon][0] if taxon in TAXA else f"NCBITaxon:{taxon}"
    return Concept(iri=NCBITAXON + taxon, label=label)


def require_species(value: str) -> Concept:
    """Like `lookup_species`, but an unknown name is a ValueError listing the known ones."""
    concept = lookup_species(value)
    if concept is None:
        names = ", ".join(sorted(names[0] for _, names in TAXA.values()))
        raise ValueError(f"unknown species {value!r}: use one of {names} or an NCBITaxon IRI")
    return concept


def human() -> Concept:
    return Concept(iri=NCBITAXON + "9606", label="Homo sapiens")

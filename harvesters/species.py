"""Species names -> NCBITaxon concepts for every harvester, read from the species table.

Sources name species many ways (BIDS `participants.tsv`, a harvest option, DICOM's
PatientSpeciesDescription, XNAT and Shanoir fields, CKAN extras); each maps common names,
binomials, abbreviations, taxon ids, CURIEs and IRIs onto one NCBITaxon concept so facets
and ontology search agree. The names live once, in `ontologies/data/species.ttl`
(`ontologies.tables.SpeciesTable`); these functions are the harvesters' door to it.
"""

from __future__ import annotations

from catalog.domain.records import Concept
from ontologies.tables import NCBITAXON as NCBITAXON
from ontologies.tables import ReferenceTables


def lookup_species(value: str | None) -> Concept | None:
    """The concept for a name, alias, taxon id, CURIE or IRI; None when unknown or empty."""
    if not value:
        return None
    return ReferenceTables.of().species.lookup(value)


def require_species(value: str) -> Concept:
    """Like `lookup_species`, but an unknown name is a ValueError listing the known ones."""
    return ReferenceTables.of().species.require(value)


def human() -> Concept:
    """Homo sapiens: BIDS' default when participants.tsv names no species."""
    return ReferenceTables.of().species.human()

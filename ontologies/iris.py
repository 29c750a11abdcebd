"""IRI namespaces and IRI builders shared by the vocabularies, the annotator and the BIDS build.

Kept in one place so that data files, rules and tests cannot drift apart on a spelling.
"""

from __future__ import annotations

SKOS = "http://www.w3.org/2004/02/skos/core#"
OBO = "http://purl.obolibrary.org/obo/"
IMAGORA_VOCAB = "https://w3id.org/imagora/vocab/"
ONL3 = "http://neurolog.unice.fr/ontoneurolog/v3.0/"
DCM = "http://dicom.nema.org/resources/ontology/DCM/"
SPDX = "http://spdx.org/licenses/"
NIDM = "http://purl.org/nidash/nidm#"
RRID = "https://identifiers.org/RRID:"
BIDS_GLOSSARY = "https://bids-specification.readthedocs.io/en/stable/glossary.html#"

#: OBO Relation Ontology "part of"; anatomy uses it beside is-a.
PART_OF = OBO + "BFO_0000050"
#: Imagora annotation property holding DICOM Acquisition Contrast (0008,9209) values.
DICOM_ACQUISITION_CONTRAST = IMAGORA_VOCAB + "dicomAcquisitionContrast"

#: BIDS schema object kinds rendered as concepts, and their glossary anchor suffix.
BIDS_KINDS = ("modalities", "datatypes", "suffixes", "entities", "metadata")


def obo(local_id: str) -> str:
    """`obo("OBI_0003341")` -> the OBO PURL."""
    return OBO + local_id


def onl(module: str, local_name: str) -> str:
    """An OntoNeuroLOG v3.0 IRI, e.g. `onl("dataset", "MR-dataset")`."""
    return f"{ONL3}{module}.owl#{local_name}"


def imagora(path: str) -> str:
    """An Imagora vocabulary IRI for concepts with no public IRI, e.g. `mr-technique/mprage`."""
    return IMAGORA_VOCAB + path


def bids_term(name: str, kind: str) -> str:
    """The BIDS glossary IRI of a schema object: `bids_term("T1w", "suffixes")`.

    The glossary anchors are the lower-cased object key followed by the object kind.
    """
    if kind not in BIDS_KINDS:
        raise ValueError(f"unknown BIDS object kind {kind!r}; expected one of {BIDS_KINDS}")
    return f"{BIDS_GLOSSARY}{name.lower()}-{kind}"

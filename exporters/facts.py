"""Facts every export format derives the same way from a record.

URLs, licence IRIs, DOIs, file access, modality names and the padded description are
computed here once, so that schema.org, DCAT-AP, DataCite and BibTeX never disagree on
what a record's licence or persistent identifier is.
"""

from __future__ import annotations

import mimetypes
from datetime import date
from urllib.parse import quote

from catalog.domain.records import FileEntry, Identifier, RecordPublic
from exporters.base import ExportContext
from ontologies.tables import ReferenceTables

SPDX_URL = "https://spdx.org/licenses/"  # what Google and people follow
SPDX_IRI = "http://spdx.org/licenses/"  # the SPDX RDF identifiers (DCAT-AP, ontologies)
DOI_RESOLVER = "https://doi.org/"
MIN_DESCRIPTION = 50
MAX_DESCRIPTION = 5000

MODALITY_NAMES: dict[str, str] = {
    "MR": "Magnetic resonance imaging",
    "PT": "Positron emission tomography",
    "CT": "Computed tomography",
    "NM": "Nuclear medicine imaging",
    "US": "Ultrasound imaging",
    "OT": "Other imaging",
}

_FORMATS_BY_SUFFIX = {
    ".dcm": "application/dicom",
    ".nii": "application/x-nifti",
    ".nii.gz": "application/x-nifti-gz",
    ".json": "application/json",
    ".tsv": "text/tab-separated-values",
    ".zip": "application/zip",
}


def record_url(context: ExportContext, record_id: str) -> str:
    """The landing page of a record."""
    return f"{context.base_url}/records/{quote(record_id, safe='')}"


def doi_of(identifier: Identifier) -> str | None:
    """The bare DOI (10.x/...) of a DOI identifier, else None."""
    value = identifier.identifier.strip()
    lowered = value.lower()
    if identifier.scheme.lower() != "doi" and not lowered.startswith(("doi:", DOI_RESOLVER)):
        return None
    for prefix in ("doi:", DOI_RESOLVER, "http://doi.org/", "https://dx.doi.org/"):
        if lowered.startswith(prefix):
            value = value[len(prefix) :]
            break
    return value if value.startswith("10.") else None


def dois(record: RecordPublic) -> list[str]:
    return [doi for doi in (doi_of(i) for i in record.identifiers) if doi]


def identifier_url(identifier: Identifier) -> str | None:
    """A resolvable URL for an identifier (DOI via doi.org, URLs as they are)."""
    doi = doi_of(identifier)
    if doi:
        return DOI_RESOLVER + doi
    value = identifier.identifier.strip()
    if value.startswith(("http://", "https://")):
        return value
    if identifier.scheme.lower() in ("handle", "hdl"):
        return f"https://hdl.handle.net/{value}"
    return None


def related_url(identifier: str, scheme: str) -> str | None:
    return identifier_url(Identifier(identifier=identifier, scheme=scheme))


def license_url(record: RecordPublic) -> str | None:
    """The licence as an https SPDX page URL (or the URL given)."""
    value = (record.license or "").strip()
    if not value:
        return None
    if value.startswith(("http://", "https://")):
        return value
    return SPDX_URL + quote(value)


def license_iri(record: RecordPublic) -> str | None:
    """The licence as an SPDX RDF IRI (http://spdx.org/licenses/ID), or the URL given."""
    value = (record.license or "").strip()
    if not value:
        return None
    if value.startswith(("http://", "https://")):
        return value
    return SPDX_IRI + quote(value)


def license_title(license_id: str | None) -> str | None:
    """The SPDX name of a licence id from the licence table; other ids shown as they are."""
    return ReferenceTables.of().licences.title(license_id)


def files_access(record: RecordPublic, today: date | None = None) -> str:
    """open, restricted or embargoed; an embargo whose end date has passed is open."""
    access = record.access
    ended = access.embargo_until and access.embargo_until <= (today or date.today())
    if access.files == "embargoed" and ended:
        return "open"
    return str(access.files)


def files_open(record: RecordPublic) -> bool:
    return files_access(record) == "open"


def access_conditions(record: RecordPublic) -> str | None:
    """A sentence on file access for restricted or embargoed files, else None."""
    state = files_access(record)
    if state == "embargoed":
        until = record.access.embargo_until
        return f"Files are under embargo until {until.isoformat()}." if until else None
    if state == "restricted":
        return (
            "Files are restricted: access is granted on request by the data owner; "
            "the metadata is public."
        )
    return None


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def file_media_type(entry: FileEntry) -> str:
    """The file's media type: its declared format, else a guess from the name."""
    if entry.format and "/" in entry.format:
        return entry.format
    path = entry.path.lower()
    for suffix, media in sorted(_FORMATS_BY_SUFFIX.items(), key=lambda kv: -len(kv[0])):
        if path.endswith(suffix):
            return media
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def downloadable_files(record: RecordPublic) -> list[FileEntry]:
    """Files with an absolute URL, when the caller may download them (files open)."""
    if not files_open(record):
        return []
    return [entry for entry in record.files if is_url(entry.path)]


def modality_name(record: RecordPublic) -> str | None:
    code = record.imaging.modality
    if not code:
        return None
    return MODALITY_NAMES.get(code.upper(), code)


def measurement_techniques(record: RecordPublic) -> list[str]:
    """E.g. ["Magnetic resonance imaging", "RARE"]: the modality, then the sequence."""
    techniques = []
    name = modality_name(record)
    if name:
        techniques.append(name)
    sequence = record.imaging.sequence or record.bids.suffix
    if sequence and sequence not in techniques:
        techniques.append(sequence)
    return techniques


def keywords(record: RecordPublic) -> list[str]:
    """The record's keywords plus modality, sequence, species and accepted term labels."""
    words: list[str] = list(record.keywords)
    words += measurement_techniques(record)
    if record.imaging.modality:
        words.append(record.imaging.modality)
    if record.subject.species:
        words.append(record.subject.species.label)
    words += [t.label for t in record.terms if t.status != "rejected"]
    seen: set[str] = set()
    unique = []
    for word in words:
        key = word.strip().lower()
        if key and key not in seen:
            seen.add(key)
            unique.append(word.strip())
    return unique


def _fact_phrases(record: RecordPublic) -> list[str]:
    """E.g. ["Magnetic resonance imaging at 9.4 T on a Bruker scanner", "sequence RARE"]."""
    imaging = record.imaging
    what = [modality_name(record) or "Imaging"]
    if imaging.field_strength_t:
        what.append(f"at {imaging.field_strength_t:g} T")
    if imaging.manufacturer:
        what.append(f"on a {imaging.manufacturer} scanner")
    phrases = [" ".join(what)] if len(what) > 1 or imaging.modality else []
    if imaging.sequence:
        phrases.append(f"sequence {imaging.sequence}")
    if record.subject.species:
        phrases.append(f"species {record.subject.species.label}")
    return phrases


def description(record: RecordPublic, context: ExportContext) -> str:
    """The record's description, padded with facts to at least 50 characters."""
    text = (record.description or "").strip()
    if len(text) >= MIN_DESCRIPTION:
        return text[:MAX_DESCRIPTION]
    parts = [text] if text else []
    parts.append(f"{record.level.value.capitalize()} record '{record.title}'")
    facts = _fact_phrases(record)
    if facts:
        parts.append(", ".join(facts))
    if record.parents:
        parts.append(f"Part of '{record.parents[-1].title}'")
    padded = ". ".join(parts) + f". Catalogued in {context.catalog_title}."
    if len(padded) < MIN_DESCRIPTION:
        padded += " Imaging metadata record of the FAIR imaging catalogue."
    return padded[:MAX_DESCRIPTION]


def person_like(name: str, orcid: str | None) -> bool:
    """Creators are people unless the name reads like an organisation."""
    if orcid:
        return True
    lowered = name.lower()
    markers = ("university", "institut", "laboratory", "lab ", "center", "centre", "consortium")
    more = ("hospital", "foundation", "inria", "inserm", "cnrs", "group", "team")
    return not any(marker in lowered for marker in (*markers, *more))


def orcid_url(orcid: str) -> str:
    return orcid if orcid.startswith("http") else f"https://orcid.org/{orcid}"


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of a person's name written "Family, Given" or "Given Family"."""
    text = " ".join(name.split())
    if "," in text:
        family, _, given = text.partition(",")
        return family.strip(), given.strip()
    given, _, family = text.rpartition(" ")
    return (family, given) if family else (text, "")


def publication_year(record: RecordPublic) -> int:
    """The year a citation shows: a publication's own year, else the record's creation."""
    if record.publication and record.publication.year:
        return record.publication.year
    return record.created.year


def pmid(record: RecordPublic) -> str | None:
    """The PubMed id among the record's identifiers, if any."""
    for identifier in record.identifiers:
        if identifier.scheme.lower() in ("pmid", "pubmed"):
            return identifier.identifier.strip()
    return None


def cite_as(record: RecordPublic, context: ExportContext) -> str:
    """The one persistent URL to cite: the DOI via doi.org, else the landing page."""
    found = dois(record)
    return DOI_RESOLVER + found[0] if found else record_url(context, record.id)

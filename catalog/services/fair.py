"""A local FAIR self-assessment of one record, on the F-UJI metric list (metrics v0.5).

F-UJI itself cannot run here (not on PyPI, needs network services), so each metric is
computed from what this catalogue knows it offers for the record: identifiers, the
metadata formats it serves (schema.org JSON-LD, DCAT-AP, DataCite), Signposting, OAI-PMH,
access rights, licence, provenance, file formats. The maximum points per metric follow
F-UJI v0.5 (24 in all). Each metric that scores below its maximum says what would raise
it, so a curator knows the next step (often: publish for a DOI, add a licence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import ExportContext

#: File formats of the imaging community (DICOM, NIfTI, BIDS sidecars and tables).
COMMUNITY_FORMATS = frozenset(
    {
        "application/dicom",
        "application/x-nifti",
        "application/x-nifti-gz",
        "application/json",
        "text/tab-separated-values",
    }
)
PERSISTENT_SCHEMES = frozenset({"doi", "handle", "hdl", "ark", "purl"})


@dataclass(frozen=True)
class FairMetric:
    """One F-UJI metric: its id and name, the points earned and the advice if short."""

    id: str
    name: str
    score: int
    max_score: int
    advice: str | None = None

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass(frozen=True)
class FairReport:
    metrics: list[FairMetric]

    @property
    def score(self) -> int:
        return sum(m.score for m in self.metrics)

    @property
    def max_score(self) -> int:
        return sum(m.max_score for m in self.metrics)

    @property
    def percent(self) -> int:
        return round(100 * self.score / self.max_score) if self.max_score else 0

    @property
    def advice(self) -> list[FairMetric]:
        return [m for m in self.metrics if not m.passed]


@dataclass(frozen=True)
class Offer:
    """What the catalogue serves for the record besides the landing page."""

    formats: frozenset[str]  # exporter names offered on the landing page
    oai: bool = True  # the record can be harvested over OAI-PMH (public records)


Check = Callable[[RecordPublic, ExportContext, Offer], FairMetric]


def _metric(metric_id: str, name: str, score: int, max_score: int, advice: str) -> FairMetric:
    return FairMetric(metric_id, name, score, max_score, None if score >= max_score else advice)


def f1_unique(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    # the landing page URL is a globally unique, resolvable identifier of every record
    return _metric("FsF-F1-01D", "Globally unique identifier", 1, 1, "")


def f1_persistent(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    persistent = any(i.scheme.lower() in PERSISTENT_SCHEMES for i in record.identifiers)
    return _metric(
        "FsF-F1-02D",
        "Persistent identifier",
        1 if persistent or facts.dois(record) else 0,
        1,
        "Publish the record to get a DOI: `imagora publish ID --to zenodo` (or datacite).",
    )


def f2_core(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    citation = [bool(record.creators), bool(record.title), True, True]  # publisher, date
    extra = [bool((record.description or "").strip()), bool(facts.keywords(record))]
    score = 2 if all(citation) and all(extra) else (1 if all(citation) else 0)
    missing = [
        name
        for name, ok in (
            ("creators", citation[0]),
            ("a description", extra[0]),
            ("keywords", extra[1]),
        )
        if not ok
    ]
    return _metric(
        "FsF-F2-01M", "Descriptive core metadata", score, 2, "Add " + " and ".join(missing) + "."
    )


def f3_data_identifier(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    listed = any(facts.is_url(entry.path) for entry in record.files) or bool(context.children)
    return _metric(
        "FsF-F3-01M",
        "Metadata includes the data identifier",
        1 if listed else 0,
        1,
        "List the data files with their download URLs (or the records they belong to).",
    )


def f4_indexed(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    public = record.access.record.value == "public" and record.status.value == "active"
    score = (1 if public else 0) + (1 if public and "jsonld" in offer.formats else 0)
    return _metric(
        "FsF-F4-01M",
        "Metadata can be found and indexed",
        score,
        2,
        "Make the record's metadata public so search engines and aggregators index it.",
    )


def a1_access(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    stated = facts.files_access(record) == "open" or bool(facts.access_conditions(record))
    return _metric(
        "FsF-A1-01M",
        "Access level and conditions",
        1 if stated else 0,
        1,
        "Give the embargo end date so the access conditions are complete.",
    )


def a1_metadata_protocol(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    return _metric("FsF-A1-02M", "Metadata over a standard protocol", 1, 1, "")


def a1_data_protocol(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    reachable = bool(facts.downloadable_files(record))
    return _metric(
        "FsF-A1-03D",
        "Data over a standard protocol",
        1 if reachable else 0,
        1,
        "Offer the files over HTTP(S) (open access) or state how to request them.",
    )


def i1_representation(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    score = len({"jsonld", "turtle"} & offer.formats)
    return _metric("FsF-I1-01M", "Formal knowledge representation", score, 2, "Serve RDF.")


def i2_vocabularies(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    semantic = any(t.status != "rejected" for t in record.terms) or bool(record.subject.species)
    return _metric(
        "FsF-I2-01M",
        "Semantic resources (ontologies)",
        1 if semantic else 0,
        1,
        "Annotate the record with ontology terms (`imagora annotate` or the terms API).",
    )


def i3_links(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    linked = bool(record.related or context.links or record.parents or context.children)
    return _metric(
        "FsF-I3-01M",
        "Links to related entities",
        1 if linked else 0,
        1,
        "Link the publications, pipelines or datasets it relates to (POST /api/links).",
    )


def r1_content(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    imaging = record.imaging.model_dump(exclude_none=True)
    parts = {
        "resource type": True,
        "file sizes": any(entry.size for entry in record.files),
        "file formats": any(entry.format or "." in entry.path for entry in record.files),
        "measured variables (imaging facts)": bool(imaging),
    }
    missing = [name for name, ok in parts.items() if not ok]
    return _metric(
        "FsF-R1-01MD",
        "Content description",
        sum(parts.values()),
        4,
        "Describe the content: " + ", ".join(missing) + ".",
    )


def r11_license(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    licence = (record.license or "").strip()
    score = 0 if not licence else (1 if facts.is_url(licence) else 2)
    advice = "Set a licence as an SPDX identifier (e.g. CC-BY-4.0)."
    return _metric("FsF-R1.1-01M", "Licence", score, 2, advice)


def r12_provenance(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    source = record.source
    origin = bool(source.type and (source.location or source.harvested_at or record.created))
    derived = bool(record.parents or source.harvester_version) or any(
        r.relation.value in ("IsDerivedFrom", "IsCompiledBy") for r in record.related
    )
    return _metric(
        "FsF-R1.2-01M",
        "Provenance",
        int(origin) + int(derived),
        2,
        "Record where the data came from (source, harvester version, IsDerivedFrom links).",
    )


def r13_standard(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    standard = bool({"datacite-xml", "turtle"} & offer.formats)
    return _metric("FsF-R1.3-01M", "Community metadata standard", int(standard), 1, "")


def r13_file_format(record: RecordPublic, context: ExportContext, offer: Offer) -> FairMetric:
    formats = {facts.file_media_type(entry) for entry in record.files}
    community = bool(formats & COMMUNITY_FORMATS) or record.source.type in ("dicom", "bids")
    return _metric(
        "FsF-R1.3-02D",
        "Community file format",
        int(community),
        1,
        "Share the data as DICOM, NIfTI or BIDS (with JSON sidecars).",
    )


CHECKS: tuple[Check, ...] = (
    f1_unique,
    f1_persistent,
    f2_core,
    f3_data_identifier,
    f4_indexed,
    a1_access,
    a1_metadata_protocol,
    a1_data_protocol,
    i1_representation,
    i2_vocabularies,
    i3_links,
    r1_content,
    r11_license,
    r12_provenance,
    r13_standard,
    r13_file_format,
)


def assess(record: RecordPublic, context: ExportContext, offer: Offer) -> FairReport:
    """The record scored on the 16 F-UJI v0.5 metrics, with advice where it falls short."""
    return FairReport([check(record, context, offer) for check in CHECKS])

"""The record model: what a catalogued thing is, at every level, on every boundary.

`RecordCreate` is what harvesters and depositors hand in, `RecordUpdate` a partial change,
`RecordPublic` what callers get back and `RecordPage` a page of search hits with facets.
Normalized fields (`imaging`, `subject`, `bids`, `terms`, `related`) sit beside the raw
source metadata (`source.raw`) so curators can always see what a value was derived from.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from catalog.domain.clean import check_depth, clean_text
from catalog.domain.enums import FileAccess, Level, RecordStatus, RelationType, Visibility
from catalog.domain.rollup import Rollup

_MAX_TEXT = 20_000

# List caps, enforced at validation (422 beyond them) so that no record carries a list its
# readers cannot render in bounded time (300k keywords kept package_search busy 9 minutes).
MAX_KEYWORDS = 1_000
MAX_KEYWORD_CHARS = 200
MAX_CREATORS = 1_000
MAX_IDENTIFIERS = 200
MAX_RELATED = 2_000
MAX_TERMS = 2_000
MAX_FILES = 100_000

Keyword = Annotated[str, StringConstraints(max_length=MAX_KEYWORD_CHARS)]


class _Model(BaseModel):
    """Strict-ish base: unknown keys are refused so typos surface as 422s."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Imaging(_Model):
    """Normalized acquisition facts; every field optional because sources differ."""

    modality: str | None = Field(None, description="DICOM modality code: MR, PT, CT, ...")
    field_strength_t: float | None = Field(None, description="Measured, as the scanner wrote it")
    field_strength_nominal_t: float | None = Field(
        None, description="Magnet class set at write time: 2.89 measured is 3, 7.05 is 7"
    )
    manufacturer: str | None = Field(
        None, description="Normalised vendor (Siemens, GE, ...); the raw name in source.raw"
    )
    model: str | None = None
    sequence: str | None = Field(None, description="Sequence / method name")
    sequence_variant: str | None = None
    scanning_sequence: str | None = None
    series_description: str | None = None
    image_type: list[str] | None = None
    contrast: str | None = Field(None, description="Acquisition contrast (0008,9209) or derived")
    tr_ms: float | None = None
    te_ms: float | None = None
    ti_ms: float | None = None
    flip_angle_deg: float | None = None
    voxel_size_mm: list[float] | None = None
    matrix: list[int] | None = None
    fov_mm: list[float] | None = None
    slice_thickness_mm: float | None = None
    num_instances: int | None = None
    num_frames: int | None = None
    body_part: str | None = None
    nucleus: str | None = None
    averages: float | None = None
    repetitions: int | None = None
    station: str | None = None
    institution: str | None = None
    software_version: str | None = None
    radiopharmaceutical: str | None = None
    injected_dose_bq: float | None = None
    units: str | None = None
    acquisition_date: date | None = None


class Concept(_Model):
    """An ontology concept reference (IRI + label)."""

    iri: str
    label: str


class SubjectInfo(_Model):
    """Non-identifying subject facts; `pseudonym` is a keyed HMAC, never a real id."""

    pseudonym: str | None = None
    species: Concept | None = None
    strain: str | None = None
    sex: Literal["male", "female", "other", "unknown"] | None = None
    age: str | None = Field(None, description="Age at scan, ISO 8601 duration or DICOM AS")
    weight_kg: float | None = None


class BidsInfo(_Model):
    datatype: str | None = None
    suffix: str | None = None
    entities: dict[str, str] = Field(default_factory=dict)
    rule: str | None = Field(None, description="Which guessing rule produced datatype/suffix")


class Term(_Model):
    """An ontology annotation, with the rule and evidence that produced it."""

    iri: str
    label: str
    scheme: str
    rule: str = "manual"
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    evidence: dict[str, str] = Field(default_factory=dict)
    status: Literal["proposed", "accepted", "rejected"] = "proposed"


class Related(_Model):
    """A typed link to another resource (DataCite relatedIdentifier)."""

    identifier: str
    scheme: str = Field("URL", description="DOI, URL, ARK, PMID, imagora, ...")
    relation: RelationType
    resource_type: str | None = Field(None, description="DataCite resourceTypeGeneral")


class PublicationInfo(_Model):
    """Bibliographic facts of a `publication` record (what a citation needs beyond the
    title, authors and DOI/PMID identifiers)."""

    year: int | None = Field(None, ge=1000, le=9999)
    venue: str | None = Field(None, max_length=1000, description="Journal, book or conference")
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    kind: str = Field("article-journal", description="CSL item type: article-journal, ...")


#: An ORCID iD, bare or as its https://orcid.org/ URL (the last character may be X).
ORCID_RE = re.compile(r"^(?:https?://orcid\.org/)?\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def is_orcid(value: str) -> bool:
    return ORCID_RE.match(value.strip()) is not None


class Creator(_Model):
    name: str
    orcid: str | None = Field(
        None, description="ORCID iD: 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097"
    )
    affiliation: str | None = None

    @field_validator("orcid")
    @classmethod
    def _orcid(cls, value: str | None) -> str | None:
        """Exports turn it into a URI (Turtle, DataCite, Signposting): refuse anything
        that is not an ORCID iD rather than store a value no exporter can write."""
        if value is None or not value.strip():
            return None
        if not is_orcid(value):
            raise ValueError(f"'{value[:60]}' is not an ORCID iD (e.g. 0000-0002-1825-0097)")
        return value.strip()


class Identifier(_Model):
    identifier: str
    scheme: str = Field(..., description="doi, handle, ark, url, xnat, shanoir, ...")


class Access(_Model):
    """Record visibility and file access; `grants` names users who may see a restricted record."""

    record: Visibility = Visibility.public
    files: FileAccess = FileAccess.open
    embargo_until: date | None = None
    grants: list[str] = Field(default_factory=list)
    inherited: bool = Field(False, description="True when taken from the parent")


class AccessUpdate(_Model):
    record: Visibility | None = None
    files: FileAccess | None = None
    embargo_until: date | None = None
    grants: list[str] | None = None


class FileEntry(_Model):
    path: str
    size: int | None = None
    checksum: str | None = Field(None, description="algorithm:hexdigest, e.g. sha256:...")
    format: str | None = None


class SourceInfo(_Model):
    """Provenance of a harvested record; `raw` keeps the source metadata as found."""

    type: str = Field(..., description="dicom, bids, bruker, xnat, shanoir, ckan, deposit, compute")
    name: str | None = Field(
        None,
        description="What the public sees of the source: a registered source's name or the "
        "harvested folder's (pseudonymised) name; `location` is for curators and admins",
    )
    location: str | None = None
    external_id: str | None = None
    harvested_at: datetime | None = None
    harvester_version: str | None = None
    checksums: dict[str, str] = Field(default_factory=dict)
    raw: Annotated[dict[str, Any], AfterValidator(check_depth)] = Field(default_factory=dict)


class ParentRef(_Model):
    id: str
    level: Level
    title: str


class RecordCreate(_Model):
    """Input of `RecordService.create` and of harvesters' upserts."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    level: Level
    title: str = Field(..., min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=_MAX_TEXT)
    creators: list[Creator] = Field(default_factory=list, max_length=MAX_CREATORS)
    license: str | None = Field(None, description="SPDX identifier")
    keywords: list[Keyword] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    parent_id: str | None = None
    access: Access | None = Field(None, description="None: inherit from the parent")
    identifiers: list[Identifier] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)
    imaging: Imaging = Field(default_factory=Imaging)
    subject: SubjectInfo = Field(default_factory=SubjectInfo)
    bids: BidsInfo = Field(default_factory=BidsInfo)
    terms: list[Term] = Field(default_factory=list, max_length=MAX_TERMS)
    related: list[Related] = Field(default_factory=list, max_length=MAX_RELATED)
    publication: PublicationInfo | None = Field(None, description="Level publication only")
    files: list[FileEntry] = Field(default_factory=list, max_length=MAX_FILES)
    source: SourceInfo = Field(default_factory=lambda: SourceInfo(type="deposit"))
    quality: Annotated[dict[str, Any], AfterValidator(check_depth)] = Field(
        default_factory=dict, description="e.g. validator issues"
    )

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        return _title(value)


def _title(value: str) -> str:
    value = clean_text(value).strip()
    if not value:
        raise ValueError("title must not be blank")
    return value


def _empty_values() -> dict[str, Any]:
    """What `null` means for each field of a PATCH that a record cannot hold as null."""
    return {
        "creators": [],
        "keywords": [],
        "identifiers": [],
        "imaging": Imaging(),
        "subject": SubjectInfo(),
        "bids": BidsInfo(),
        "terms": [],
        "related": [],
        "files": [],
    }


class RecordUpdate(_Model):
    """A partial update (PATCH): only the fields given change.

    `null` clears a field: list fields become empty, `imaging` / `subject` / `bids`
    become empty objects, `description` / `license` become null; a `null` title is refused
    (a record always has one) and a `null` access changes nothing.
    """

    title: str | None = Field(None, min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=_MAX_TEXT)
    creators: list[Creator] | None = Field(None, max_length=MAX_CREATORS)
    license: str | None = None
    keywords: list[Keyword] | None = Field(None, max_length=MAX_KEYWORDS)
    access: AccessUpdate | None = None
    identifiers: list[Identifier] | None = Field(None, max_length=MAX_IDENTIFIERS)
    imaging: Imaging | None = None
    subject: SubjectInfo | None = None
    bids: BidsInfo | None = None
    terms: list[Term] | None = Field(None, max_length=MAX_TERMS)
    related: list[Related] | None = Field(None, max_length=MAX_RELATED)
    publication: PublicationInfo | None = None
    files: list[FileEntry] | None = Field(None, max_length=MAX_FILES)

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("a record's title cannot be cleared; give a new title")
        return _title(value)

    @model_validator(mode="after")
    def _nulls_clear(self) -> Self:
        """An explicit null becomes the field's valid empty value (never a stored null
        that readers cannot render)."""
        empty = _empty_values()
        for name in self.model_fields_set:
            if name in empty and getattr(self, name) is None:
                setattr(self, name, empty[name])
        return self


class CurationView(_Model):
    """Curators' overrides beside the harvested values they replace (curators and admins
    only): a re-harvest never undoes `curated`; `harvested` is the source's latest value."""

    curated: dict[str, Any] = Field(default_factory=dict)
    harvested: dict[str, Any] = Field(default_factory=dict)


class RecordPublic(RecordCreate):
    """What callers see: the record plus identity, hierarchy and lifecycle fields."""

    id: str
    access: Access = Field(default_factory=Access)
    version: int = 1
    published_versions: list[int] = Field(default_factory=list)
    license_inherited: bool = Field(False, description="True when `license` is an ancestor's")
    status: RecordStatus = RecordStatus.active
    withdrawn_at: datetime | None = None
    parents: list[ParentRef] = Field(default_factory=list, description="Root first")
    children_count: int = 0
    rollup: Rollup | None = Field(
        None, description="Collections, subjects, sessions: what their descendants hold"
    )
    created: datetime
    updated: datetime
    curation: CurationView | None = Field(
        None, description="Curators and admins only: curated overrides vs harvested values"
    )


class RecordSummary(_Model):
    """One search hit: enough to render a result line without loading the record."""

    id: str
    level: Level
    title: str
    description: str | None = None
    parent_id: str | None = None
    collection_id: str | None = None
    modality: str | None = None
    field_strength_t: float | None = None
    manufacturer: str | None = None
    species: str | None = None
    sequence: str | None = None
    bids_suffix: str | None = None
    license: str | None = None
    access: str | None = None
    source: str | None = None
    rollup: Rollup | None = Field(None, description="Containers: what their descendants hold")
    score: float = 0.0
    explanation: list[dict[str, str]] = Field(default_factory=list)


class FacetValue(_Model):
    """One facet value with its count. Frozen: searches share equal instances."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    value: str
    label: str
    count: int


class QueryConcept(_Model):
    """A concept recognised in the query text and how far the search expanded it.

    Frozen: searches share the memoised instances of a query text instead of copying them.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    label: str
    iri: str
    scheme: str = ""
    matched: str = Field("", description="The words of the query that named it")
    narrower: int = Field(0, description="How many narrower concepts the search also matches")
    narrower_labels: list[str] = Field(default_factory=list, description="The first few")


class FacetNode(_Model):
    """One node of a hierarchical facet: records annotated with it or a narrower concept."""

    iri: str
    label: str
    count: int
    children: list[FacetNode] = Field(default_factory=list)


class Suggestion(_Model):
    """A "did you mean" for a search without hits: another query and what it finds."""

    text: str = Field(..., description="The query to try instead")
    reason: str = Field(..., description="Why, in plain words")
    count: int | None = Field(None, description="How many records it finds, when counted")


class HitGroup(_Model):
    """One dataset in the grouped view: the collection (with its roll-up) and the first
    few of its records that match, with how many match in all."""

    collection: RecordSummary
    hits: list[RecordSummary] = Field(default_factory=list)
    matches: int = Field(0, description="Matching records in this collection (besides it)")


class RecordPage(_Model):
    total: int
    page: int
    size: int
    hits: list[RecordSummary]
    understood: str = Field(
        "", description="How the query was read, in plain words (concept labels, not IRIs)"
    )
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)
    facet_missing: dict[str, int] = Field(
        default_factory=dict, description="Per facet: matching records without a value"
    )
    suggestions: list[Suggestion] = Field(
        default_factory=list, description="When nothing matched: did you mean ..."
    )
    groups: list[HitGroup] | None = Field(
        None, description="group=collection: one entry per matching collection, paged"
    )
    group_total: int | None = Field(None, description="group=collection: matching collections")
    links: dict[str, str] = Field(default_factory=dict)
    concepts: list[QueryConcept] = Field(default_factory=list)
    facet_trees: dict[str, list[FacetNode]] = Field(
        default_factory=dict, description="contrast / species / anatomy trees, when asked for"
    )

"""Publishing: which DOI services a record can go to, and what callers get back.

`PublicationPublic` is one record version's DOI on one service; `PublishOutcome` is what
`PublishService.publish` answers (the publication, whether this call minted it or found
it already done, and what the de-identification gate did to the files).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PublishTarget(StrEnum):
    """The built-in DOI services (names of the `Publisher` plugins). Third-party
    publishers join the registry by entry point, so targets are plain names elsewhere."""

    zenodo = "zenodo"
    datacite = "datacite"


class PublicationState(StrEnum):
    """`started`: some remote steps done (a retry resumes); `published`: the DOI is live."""

    started = "started"
    published = "published"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicationPublic(_Model):
    """One record version deposited on one service."""

    record_id: str
    target: str = Field(..., description="Publisher name: zenodo, datacite, ...")
    version: int
    state: PublicationState
    doi: str | None = None
    concept_doi: str | None = Field(None, description="The DOI that resolves to every version")
    url: str | None = Field(None, description="The record's page on the service")
    published_at: datetime | None = None


class GateSummary(_Model):
    """What the de-identification gate did to the package."""

    files: int = 0
    bytes: int = 0
    dicom_cleaned: int = 0
    removed_private_tags: int = 0
    remapped_uids: int = 0
    notes: list[str] = Field(default_factory=list)


class PublishOutcome(_Model):
    """The answer of a publish call."""

    publication: PublicationPublic
    created: bool = Field(..., description="False when this version was already published")
    gate: GateSummary | None = None

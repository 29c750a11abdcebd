"""Typed links between records (publications, collections, pipelines, derived data).

A link is stored once, read from `source` to `target` with a DataCite relationType; the
other end shows the inverse relation (IsSupplementTo <-> IsSupplementedBy, ...), so a
paper and its dataset point at each other without two rows that could disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.domain.enums import Level, RelationType

#: Record levels that links may join.
LINKABLE_LEVELS = (Level.publication, Level.collection, Level.pipeline, Level.derived)

_PAIRS = (
    ("IsCitedBy", "Cites"),
    ("IsSupplementTo", "IsSupplementedBy"),
    ("IsContinuedBy", "Continues"),
    ("IsDescribedBy", "Describes"),
    ("HasMetadata", "IsMetadataFor"),
    ("HasVersion", "IsVersionOf"),
    ("IsNewVersionOf", "IsPreviousVersionOf"),
    ("IsPartOf", "HasPart"),
    ("IsReferencedBy", "References"),
    ("IsDocumentedBy", "Documents"),
    ("IsCompiledBy", "Compiles"),
    ("IsVariantFormOf", "IsOriginalFormOf"),
    ("IsIdenticalTo", "IsIdenticalTo"),
    ("IsReviewedBy", "Reviews"),
    ("IsDerivedFrom", "IsSourceOf"),
    ("IsRequiredBy", "Requires"),
    ("IsObsoletedBy", "Obsoletes"),
    ("IsCollectedBy", "Collects"),
    ("IsTranslationOf", "HasTranslation"),
)
INVERSE: dict[RelationType, RelationType] = {}
for _a, _b in _PAIRS:
    INVERSE[RelationType(_a)] = RelationType(_b)
    INVERSE[RelationType(_b)] = RelationType(_a)


def inverse(relation: RelationType) -> RelationType | None:
    """The relation read the other way, None when DataCite has no inverse (IsPublishedIn)."""
    return INVERSE.get(relation)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkCreate(_Model):
    """`source` <relation> `target`, e.g. a collection IsSupplementTo a publication."""

    source: str = Field(..., description="Record id the relation is read from")
    relation: RelationType
    target: str = Field(..., description="Record id the relation points at")


class LinkedRecord(_Model):
    """The other end of a link, as a landing page lists it."""

    id: str
    level: Level
    title: str
    doi: str | None = None


class LinkView(_Model):
    """One link seen from a record: `relation` is read from that record to `other`."""

    relation: RelationType | str
    direction: Literal["outgoing", "incoming"]
    other: LinkedRecord
    created: datetime

"""Enumerations of the record model; values are the wire format of the API."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Where a record sits in the hierarchy (or which side record it is)."""

    collection = "collection"
    subject = "subject"
    session = "session"
    acquisition = "acquisition"
    derived = "derived"
    publication = "publication"
    pipeline = "pipeline"


class Visibility(StrEnum):
    """Who may see a record's metadata at all."""

    public = "public"
    restricted = "restricted"


class FileAccess(StrEnum):
    """Who may download a record's files (metadata may still be public)."""

    open = "open"
    restricted = "restricted"
    embargoed = "embargoed"


class Role(StrEnum):
    """Roles carried by bearer tokens; ordered from most to least powerful."""

    admin = "admin"
    curator = "curator"
    viewer = "viewer"


class RecordStatus(StrEnum):
    """Lifecycle: withdrawn records stay as tombstones, never silently deleted."""

    active = "active"
    withdrawn = "withdrawn"


class RelationType(StrEnum):
    """DataCite 4.x relationType vocabulary (the subset that matters is all of it)."""

    IsCitedBy = "IsCitedBy"
    Cites = "Cites"
    IsSupplementTo = "IsSupplementTo"
    IsSupplementedBy = "IsSupplementedBy"
    IsContinuedBy = "IsContinuedBy"
    Continues = "Continues"
    IsDescribedBy = "IsDescribedBy"
    Describes = "Describes"
    HasMetadata = "HasMetadata"
    IsMetadataFor = "IsMetadataFor"
    HasVersion = "HasVersion"
    IsVersionOf = "IsVersionOf"
    IsNewVersionOf = "IsNewVersionOf"
    IsPreviousVersionOf = "IsPreviousVersionOf"
    IsPartOf = "IsPartOf"
    HasPart = "HasPart"
    IsPublishedIn = "IsPublishedIn"
    IsReferencedBy = "IsReferencedBy"
    References = "References"
    IsDocumentedBy = "IsDocumentedBy"
    Documents = "Documents"
    IsCompiledBy = "IsCompiledBy"
    Compiles = "Compiles"
    IsVariantFormOf = "IsVariantFormOf"
    IsOriginalFormOf = "IsOriginalFormOf"
    IsIdenticalTo = "IsIdenticalTo"
    IsReviewedBy = "IsReviewedBy"
    Reviews = "Reviews"
    IsDerivedFrom = "IsDerivedFrom"
    IsSourceOf = "IsSourceOf"
    IsRequiredBy = "IsRequiredBy"
    Requires = "Requires"
    IsObsoletedBy = "IsObsoletedBy"
    Obsoletes = "Obsoletes"
    IsCollectedBy = "IsCollectedBy"
    Collects = "Collects"
    IsTranslationOf = "IsTranslationOf"
    HasTranslation = "HasTranslation"

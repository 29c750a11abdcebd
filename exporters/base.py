"""The exporter interface: one record in, one serialised document out.

Every metadata format Imagora publishes (schema.org JSON-LD, DCAT-AP Turtle, DataCite XML,
BibTeX) is an `Exporter` subclass registered by short name in `exporters.registry`. The
web layer (content negotiation, suffix URLs), the CLI (`imagora show --format`) and the
catalogue-level documents all go through the same classes, so a record reads the same
through every door.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from catalog.domain.records import RecordPublic, RecordSummary

if TYPE_CHECKING:
    from catalog.settings import Settings

#: How many children a record's export lists (hasPart); the rest are one search away.
MAX_LISTED_CHILDREN = 50
DEFAULT_CATALOG_TITLE = "Imagora"


@dataclass(frozen=True)
class LinkedResource:
    """A typed link from the exported record to another record of the catalogue, already
    read from the record's side (DataCite relationType) and resolved to a PID or URL."""

    relation: str
    identifier: str
    identifier_type: str  # DOI or URL
    resource_type: str  # DataCite resourceTypeGeneral


@dataclass(frozen=True)
class ExportContext:
    """What an exporter needs beyond the record itself.

    `children` are the record's children as the caller may see them (at most
    MAX_LISTED_CHILDREN), `links` its typed links to records the caller may see;
    exporters never fetch anything themselves.
    """

    base_url: str
    catalog_title: str = DEFAULT_CATALOG_TITLE
    publisher: str = DEFAULT_CATALOG_TITLE
    children: Sequence[RecordSummary] = field(default_factory=tuple)
    links: Sequence[LinkedResource] = field(default_factory=tuple)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        children: Sequence[RecordSummary] = (),
        links: Sequence[LinkedResource] = (),
    ) -> ExportContext:
        return cls(
            base_url=settings.base_url.rstrip("/"), children=tuple(children), links=tuple(links)
        )


class Exporter(ABC):
    """One metadata format. Subclasses set the three class attributes and `render`."""

    name: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]
    #: Profile URI advertised in Signposting `describedby` links, when the format has one.
    profile: ClassVar[str | None] = None

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    @abstractmethod
    def render(self, record: RecordPublic, context: ExportContext) -> str | bytes:
        """The record serialised in this format."""

    def export(self, record: RecordPublic) -> str | bytes:
        """`render` with a context built from the settings given at construction."""
        if self.settings is None:
            raise TypeError(f"{type(self).__name__}.export needs settings; use render()")
        return self.render(record, ExportContext.from_settings(self.settings))

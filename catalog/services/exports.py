"""ExportService: the one door from the web pages, the API, the CLI, the CKAN API and
OAI-PMH to `exporters/`.

Exporters only turn a record into bytes; this service decides *which* record and *what
context*: it reads the record with the caller's identity (a record the caller may not
see is a 404, as everywhere), lists the children the caller may see, and applies the
catalogue's settings (base URL, publisher). Content negotiation, format URLs, Signposting
links and the landing page's JSON-LD are answered here too, from the exporter registry,
so every door agrees on what a record's formats, URL, licence and PID are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.domain.enums import Level
from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import ANONYMOUS, Identity
from catalog.domain.links import LinkView
from catalog.domain.records import RecordPublic, RecordSummary
from catalog.domain.search import MAX_PAGE_SIZE, MAX_RESULT_WINDOW
from catalog.services.fair import FairReport, Offer, assess
from catalog.services.links import LinkService, linked_resources
from catalog.services.records import RecordService, SearchRequest
from catalog.settings import Settings
from exporters import ckan, dcat, facts, schemaorg, signposting
from exporters.base import MAX_LISTED_CHILDREN, ExportContext, Exporter
from exporters.negotiation import negotiate
from exporters.registry import RECORD_FORMATS, exporters

LINKSET_MEDIA_TYPE = signposting.LINKSET_MEDIA_TYPE
#: Catalogue-wide DCAT-AP documents: name -> (media type, serialiser).
CATALOG_DOCUMENTS = {"turtle": "text/turtle", "jsonld": "application/ld+json"}


@dataclass(frozen=True)
class Rendered:
    """One record serialised in one format."""

    format: str
    media_type: str
    body: str | bytes

    @property
    def content_type(self) -> str:
        """The Content-Type header: UTF-8 declared except for XML (it declares itself)."""
        if self.media_type.endswith("xml"):
            return self.media_type
        return self.media_type + "; charset=utf-8"


@dataclass(frozen=True)
class Landing:
    """What a landing page shows beyond the record: links, citation URL, JSON-LD."""

    record: RecordPublic
    links: list[signposting.Link]
    cite_as: str
    license_url: str | None
    json_ld: str
    fair: FairReport

    @property
    def link_header(self) -> str:
        return signposting.link_header(self.links)


class ExportService:
    """Records in metadata formats, for a caller: render, negotiate, signpost."""

    def __init__(
        self, records: RecordService, settings: Settings, links: LinkService | None = None
    ) -> None:
        self.records = records
        self.settings = settings
        self.links = links

    # ----- formats ---------------------------------------------------------------------
    def formats(self) -> list[type[Exporter]]:
        """The formats a record is offered in (landing pages, Signposting), in order."""
        return [exporters.get(name) for name in RECORD_FORMATS]

    def format_named(self, name: str) -> type[Exporter]:
        if name not in exporters.names():
            known = ", ".join(sorted(exporters.names()))
            raise ValidationError(f"unknown format '{name}'; use one of: {known}", field="format")
        return exporters.get(name)

    def format_for_extension(self, extension: str) -> str:
        for cls in self.formats():
            if cls.extension == extension:
                return cls.name
        known = ", ".join(f".{cls.extension}" for cls in self.formats())
        raise NotFoundError(f"no record format with the extension .{extension}; use {known}")

    def negotiate(self, accept: str | None) -> str | None:
        """The format an `Accept` header asks for, or None for the HTML page."""
        by_media = {cls.media_type: cls.name for cls in self.formats()}
        media = negotiate(accept, list(by_media))
        return by_media[media] if media else None

    # ----- one record ------------------------------------------------------------------
    def context(
        self, identity: Identity, record: RecordPublic, views: list[LinkView] | None = None
    ) -> ExportContext:
        """Base URL and publisher from the settings, and the children and linked records
        `identity` sees (`views`: the record's links when the caller has read them)."""
        children: list[RecordSummary] = []
        if record.children_count:
            try:
                page = self.records.children(identity, record.id, size=MAX_LISTED_CHILDREN)
                children = list(page.hits)
            except NotFoundError:  # the record is visible, its children to this caller not
                children = []
        base = ExportContext.from_settings(self.settings, children)
        if self.links is None:
            return base
        if views is None:
            views = self.links.views(identity, record.id)
        return ExportContext.from_settings(self.settings, children, linked_resources(views, base))

    def render(self, identity: Identity, record_id: str, format: str) -> Rendered:
        """The record `record_id`, as `identity` may see it, in the named format."""
        cls = self.format_named(format)
        record = self.records.get(identity, record_id)
        return self._render(cls, record, self.context(identity, record))

    def render_record(self, identity: Identity, record: RecordPublic, format: str) -> Rendered:
        """Like `render` for a record the caller has already read (with `identity`)."""
        cls = self.format_named(format)
        return self._render(cls, record, self.context(identity, record))

    def render_many(
        self, identity: Identity, records: Sequence[RecordPublic], format: str
    ) -> list[Rendered]:
        """`render_record` for a page of records, their links read in one batch."""
        cls = self.format_named(format)
        views = self.links.views_many(identity, [r.id for r in records]) if self.links else {}
        return [
            self._render(cls, record, self.context(identity, record, views.get(record.id)))
            for record in records
        ]

    def _render(
        self, cls: type[Exporter], record: RecordPublic, context: ExportContext
    ) -> Rendered:
        return Rendered(cls.name, cls.media_type, cls(self.settings).render(record, context))

    # ----- landing pages ---------------------------------------------------------------
    def landing(self, identity: Identity, record: RecordPublic) -> Landing:
        """Signposting links, citation URL and schema.org JSON-LD of a landing page."""
        context = self.context(identity, record)
        return Landing(
            record=record,
            links=signposting.links(record, context, self.formats()),
            cite_as=facts.cite_as(record, context),
            license_url=facts.license_url(record),
            json_ld=schemaorg.script_tag(record, context),
            fair=assess(record, context, Offer(frozenset(c.name for c in self.formats()))),
        )

    def linkset(self, identity: Identity, record_id: str) -> dict[str, Any]:
        """The FAIR Signposting level 2 linkset (RFC 9264 JSON) of a record."""
        record = self.records.get(identity, record_id)
        context = ExportContext.from_settings(self.settings)
        found = signposting.links(record, context, self.formats())
        return signposting.linkset(record, context, found)

    # ----- many records ----------------------------------------------------------------
    def ckan_packages(self, identity: Identity, record_ids: Sequence[str]) -> list[dict[str, Any]]:
        """CKAN package dicts of the visible records among `record_ids` (one batch read)."""
        context = ExportContext.from_settings(self.settings)
        return [ckan.package(r, context) for r in self.records.get_many(identity, list(record_ids))]

    def ckan_package(self, identity: Identity, record_id: str) -> dict[str, Any]:
        record = self.records.get(identity, record_id)
        return ckan.package(record, ExportContext.from_settings(self.settings))

    def catalog_document(self, kind: str) -> tuple[str, str]:
        """(media type, body) of the public DCAT-AP catalogue, as Turtle or JSON-LD."""
        if kind not in CATALOG_DOCUMENTS:
            raise ValidationError(f"unknown catalogue format '{kind}'", field="format")
        context = ExportContext.from_settings(self.settings)
        graph = dcat.catalog_graph(self.public_collections(), context)
        body = dcat.to_turtle(graph) if kind == "turtle" else dcat.to_jsonld(graph)
        return CATALOG_DOCUMENTS[kind], body

    def public_collections(self) -> list[RecordPublic]:
        """Every public collection, read in batches of a search page."""
        hits = iter_hits(self.records, SearchRequest(level=Level.collection.value, sort="title"))
        found: list[RecordPublic] = []
        batch: list[str] = []
        for hit in hits:
            batch.append(hit.id)
            if len(batch) == MAX_PAGE_SIZE:
                found += self.records.get_many(ANONYMOUS, batch)
                batch = []
        return found + self.records.get_many(ANONYMOUS, batch)


def record_extensions() -> list[str]:
    """The extensions of `/records/{id}.EXT` URLs, one per offered format (for routing)."""
    return [exporters.get(name).extension for name in RECORD_FORMATS]


def iter_hits(records: RecordService, request: SearchRequest) -> Iterator[RecordSummary]:
    """Every public hit of a search, page by page (up to the backend's result window)."""
    page_number = 0
    while True:
        page_number += 1
        request.page, request.size = page_number, MAX_PAGE_SIZE
        page = records.search(ANONYMOUS, request)
        yield from page.hits
        if not page.hits or page_number * MAX_PAGE_SIZE >= min(page.total, MAX_RESULT_WINDOW):
            return

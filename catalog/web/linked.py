"""Linked-data doors: content negotiation, JSON-LD in landing pages, Signposting links,
per-format record URLs, the DCAT-AP catalogue and the sitemap.

`install(app)` plugs the exporters into the landing page's extension points
(`app.state.record_renderers`, `landing_head`, `landing_links`); `router` adds
`/records/{id}.{jsonld,ttl,xml,bib}`, `/catalog.ttl`, `/catalog.jsonld` and
`/sitemap.xml`. Every document is built from what the caller may see: the catalogue and
sitemap from the anonymous view, so restricted records never appear in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from catalog.domain.enums import Level
from catalog.domain.errors import NotFoundError
from catalog.domain.identity import ANONYMOUS, Identity
from catalog.domain.records import RecordPublic, RecordSummary
from catalog.domain.search import MAX_PAGE_SIZE, MAX_RESULT_WINDOW
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings
from catalog.web.cache import stamp_generation
from catalog.web.deps import CatalogDep, IdentityDep
from catalog.web.sitemap import SitemapCache
from exporters import dcat, schemaorg
from exporters.base import MAX_LISTED_CHILDREN, ExportContext, Exporter
from exporters.registry import RECORD_FORMATS, by_extension, by_media_type, exporters


# ----- shared helpers -----------------------------------------------------------------
def export_context(catalog: Catalog, identity: Identity, record: RecordPublic) -> ExportContext:
    """The context for one record's exports: base URL and the children the caller sees."""
    children: list[RecordSummary] = []
    if record.children_count:
        try:
            page = catalog.records.children(identity, record.id, size=MAX_LISTED_CHILDREN)
            children = list(page.hits)
        except NotFoundError:  # the record is visible, its children to this caller are not
            children = []
    return ExportContext.from_settings(catalog.settings, children)


def render_response(exporter: Exporter, record: RecordPublic, context: ExportContext) -> Response:
    body = exporter.render(record, context)
    media = exporter.media_type
    charset = "" if media.endswith("xml") else "; charset=utf-8"
    return Response(body, media_type=media + charset if charset else media)


def describedby_links(record: RecordPublic, settings: Settings) -> list[str]:
    """Signposting `describedby` links to each metadata format of the record."""
    base = f"{settings.base_url}/records/{quote(record.id, safe='')}"
    links = []
    for name in RECORD_FORMATS:
        cls = exporters.get(name)
        link = f'<{base}.{cls.extension}> ; rel="describedby" ; type="{cls.media_type}"'
        if cls.profile:
            link += f' ; profile="{cls.profile}"'
        links.append(link)
    return links


# ----- landing page hooks -------------------------------------------------------------
def install(app: FastAPI) -> None:
    """Register renderers (content negotiation), the JSON-LD head hook and Link hooks."""

    def catalog() -> Catalog:
        return app.state.catalog

    def renderer(cls: type[Exporter]):  # type: ignore[no-untyped-def]
        def render(record: RecordPublic, settings: Settings) -> Response:
            # the landing page passes no identity: list children as the public sees them
            context = export_context(catalog(), ANONYMOUS, record)
            return render_response(cls(settings), record, context)

        return render

    def json_ld_head(record: RecordPublic, settings: Settings) -> str:
        return schemaorg.script_tag(record, export_context(catalog(), ANONYMOUS, record))

    renderers = getattr(app.state, "record_renderers", None)
    if renderers is None:
        app.state.record_renderers = renderers = {}
    for media, cls in by_media_type().items():
        renderers[media] = renderer(cls)
    for name, hook in (("landing_head", json_ld_head), ("landing_links", describedby_links)):
        hooks = getattr(app.state, name, None)
        if hooks is None:
            hooks = []
            setattr(app.state, name, hooks)
        hooks.append(hook)


# ----- catalogue-wide documents -------------------------------------------------------
def iter_hits(catalog: Catalog, request: SearchRequest) -> Iterator[RecordSummary]:
    """Every hit of a search, page by page (up to the backend's result window)."""
    page_number = 0
    while True:
        page_number += 1
        request.page, request.size = page_number, MAX_PAGE_SIZE
        page = catalog.records.search(ANONYMOUS, request)
        yield from page.hits
        if not page.hits or page_number * MAX_PAGE_SIZE >= min(page.total, MAX_RESULT_WINDOW):
            return


def public_collections(catalog: Catalog) -> list[RecordPublic]:
    hits = iter_hits(catalog, SearchRequest(level=Level.collection.value, sort="title"))
    return [catalog.records.get(ANONYMOUS, hit.id) for hit in hits]


def _catalog_graph(catalog: Catalog) -> Any:
    context = ExportContext.from_settings(catalog.settings)
    return dcat.catalog_graph(public_collections(catalog), context)


# ----- routes -------------------------------------------------------------------------
def record_in_format(
    catalog: CatalogDep, identity: IdentityDep, record_id: str, extension: str
) -> Response:
    cls = by_extension()[extension]
    record = catalog.records.get(identity, record_id)
    return render_response(cls(catalog.settings), record, export_context(catalog, identity, record))


def _format_route(extension: str):  # type: ignore[no-untyped-def]
    def route(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
        return record_in_format(catalog, identity, record_id, extension)

    route.__name__ = f"record_as_{extension}"
    return route


def catalog_turtle(catalog: CatalogDep) -> Response:
    body = dcat.to_turtle(_catalog_graph(catalog))
    return Response(body, media_type="text/turtle; charset=utf-8")


def catalog_jsonld(catalog: CatalogDep) -> Response:
    body = dcat.to_jsonld(_catalog_graph(catalog))
    return Response(body, media_type="application/ld+json")


def sitemaps(request: Request) -> SitemapCache:
    """The app's sitemap cache (made on first use: the catalogue may attach late)."""
    cache = getattr(request.app.state, "sitemaps", None)
    if cache is None:
        catalog: Catalog = request.app.state.catalog
        stamp = catalog.index_sync.lock_path.with_suffix(".stamp")
        cache = SitemapCache(catalog.records, catalog.settings.base_url, stamp_generation(stamp))
        request.app.state.sitemaps = cache
    return cache


def sitemap(request: Request) -> Response:
    return Response(sitemaps(request).document(0), media_type="application/xml")


def sitemap_part(request: Request, number: int) -> Response:
    return Response(sitemaps(request).document(number), media_type="application/xml")


def build_router() -> APIRouter:
    router = APIRouter(tags=["linked data"])
    for extension in ("jsonld", "ttl", "xml", "bib"):
        router.add_api_route(
            f"/records/{{record_id}}.{extension}",
            _format_route(extension),
            methods=["GET"],
            response_class=Response,
            summary=f"One record as .{extension} (see the exporter registry)",
        )
    router.add_api_route("/catalog.ttl", catalog_turtle, methods=["GET"], response_class=Response)
    router.add_api_route(
        "/catalog.jsonld", catalog_jsonld, methods=["GET"], response_class=Response
    )
    router.add_api_route("/sitemap.xml", sitemap, methods=["GET"], response_class=Response)
    router.add_api_route(
        "/sitemap-{number}.xml",
        sitemap_part,
        methods=["GET"],
        response_class=Response,
        summary="One file of a sitemap split at 50,000 URLs (listed by /sitemap.xml)",
    )
    return router


router = build_router()

"""Linked-data doors: per-format record URLs, the Signposting linkset, the DCAT-AP
catalogue and the sitemap.

`router` adds `/records/{id}.EXT` for every registered record format (`.jsonld`, `.ttl`,
`.xml`, `.bib`, `.csl.json`, `.ris`), `/records/{id}/linkset`, `/catalog.ttl`,
`/catalog.jsonld` and `/sitemap.xml`. Documents come from `catalog.exports` (the
ExportService) with the caller's identity; the catalogue and sitemap from the anonymous
view, so restricted records never appear in them.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from catalog.domain.enums import Level
from catalog.domain.identity import ANONYMOUS
from catalog.domain.records import RecordSummary
from catalog.services.container import Catalog
from catalog.services.exports import LINKSET_MEDIA_TYPE, iter_hits, record_extensions
from catalog.services.records import SearchRequest
from catalog.web.deps import CatalogDep, IdentityDep, call_store

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org protocol)
SITEMAP_LEVELS = (Level.collection, Level.subject, Level.session, Level.acquisition, Level.derived)


def _lastmod(catalog: Catalog, hit: RecordSummary) -> datetime:
    updated = getattr(hit, "updated", None)  # search hits may carry it; else read the record
    return (
        updated if isinstance(updated, datetime) else catalog.records.get(ANONYMOUS, hit.id).updated
    )


def sitemap_xml(catalog: Catalog) -> str:
    """The public, active records' landing pages with their last modification dates."""
    base = catalog.settings.base_url
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
    lines.append(f"  <url><loc>{escape(base + '/')}</loc></url>")
    count = 0
    for level in SITEMAP_LEVELS:
        for hit in iter_hits(catalog.records, SearchRequest(level=level.value, sort="title")):
            if count >= SITEMAP_LIMIT:
                break
            loc = escape(f"{base}/records/{quote(hit.id, safe='')}")
            lastmod = _lastmod(catalog, hit).date().isoformat()
            lines.append(f"  <url><loc>{loc}</loc><lastmod>{lastmod}</lastmod></url>")
            count += 1
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


# ----- routes -------------------------------------------------------------------------
def record_in_format(
    catalog: CatalogDep, identity: IdentityDep, record_id: str, extension: str
) -> Response:
    exports = catalog.exports
    rendered = exports.render(identity, record_id, exports.format_for_extension(extension))
    return Response(rendered.body, headers={"content-type": rendered.content_type})


def _format_route(extension: str):  # type: ignore[no-untyped-def]
    async def route(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
        return await call_store(catalog, record_in_format, catalog, identity, record_id, extension)

    route.__name__ = "record_as_" + extension.replace(".", "_")
    return route


async def record_linkset(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    """FAIR Signposting level 2: the landing page's typed links as an RFC 9264 linkset."""
    body = await call_store(catalog, catalog.exports.linkset, identity, record_id)
    return JSONResponse(body, media_type=LINKSET_MEDIA_TYPE)


def catalog_turtle(catalog: CatalogDep) -> Response:
    media, body = catalog.exports.catalog_document("turtle")
    return Response(body, media_type=media + "; charset=utf-8")


def catalog_jsonld(catalog: CatalogDep) -> Response:
    media, body = catalog.exports.catalog_document("jsonld")
    return Response(body, media_type=media)


def sitemap(catalog: CatalogDep) -> Response:
    return Response(sitemap_xml(catalog), media_type="application/xml")


def build_router() -> APIRouter:
    router = APIRouter(tags=["linked data"])
    for extension in record_extensions():
        router.add_api_route(
            f"/records/{{record_id}}.{extension}",
            _format_route(extension),
            methods=["GET"],
            response_class=Response,
            summary=f"One record as .{extension} (see the exporter registry)",
        )
    router.add_api_route(
        "/records/{record_id}/linkset",
        record_linkset,
        methods=["GET"],
        response_class=Response,
        summary="FAIR Signposting linkset (application/linkset+json)",
    )
    router.add_api_route("/catalog.ttl", catalog_turtle, methods=["GET"], response_class=Response)
    router.add_api_route(
        "/catalog.jsonld", catalog_jsonld, methods=["GET"], response_class=Response
    )
    router.add_api_route("/sitemap.xml", sitemap, methods=["GET"], response_class=Response)
    return router


router = build_router()

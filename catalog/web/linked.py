"""Linked-data doors: per-format record URLs, the Signposting linkset, the DCAT-AP
catalogue and the sitemap.

`router` adds `/records/{id}.EXT` for every registered record format (`.jsonld`, `.ttl`,
`.xml`, `.bib`, `.csl.json`, `.ris`), `/records/{id}/linkset`, `/catalog.ttl`,
`/catalog.jsonld`, `/sitemap.xml` and its parts. Documents come from `catalog.exports`
(the ExportService) with the caller's identity; the catalogue and sitemap from the
anonymous view, so restricted records never appear in them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from catalog.services.container import Catalog
from catalog.services.exports import LINKSET_MEDIA_TYPE, record_extensions
from catalog.web.cache import stamp_generation
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from catalog.web.sitemap import SitemapCache


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
    router.add_api_route(
        "/sitemap-{number}.xml",
        sitemap_part,
        methods=["GET"],
        response_class=Response,
        summary="One file of a sitemap split at 50,000 URLs (listed by /sitemap.xml)",
    )
    return router


router = build_router()

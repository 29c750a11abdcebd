"""Landing-page extras: dataset summary, citation and export menu, preview thumbnails,
and the offline API docs.

Routes (thin: one service call each):
- `GET /records/{id}/preview.png`: the harvest-time thumbnail; 404 when the record is
  invisible, its files are restricted or embargoed, or it has none.
- `GET /api/records/{id}/summary`: the `DatasetSummary` the collection page shows.
- `GET /docs`: Swagger UI with its JavaScript and CSS served by Imagora from the
  `fastapi-offline` package (no CDN), so the API docs work offline.

`landing_context` builds the view model the record template needs for these parts.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from catalog.domain.identity import Identity
from catalog.domain.records import RecordPublic
from catalog.domain.summary import DatasetSummary
from catalog.domain.words import duration_words, relation_words, term_origin
from catalog.services.container import Catalog
from catalog.services.previews import shows_preview
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from exporters.citation import citation

router = APIRouter()
DOCS_ASSETS = "/docs-assets"
#: Levels whose page opens with a summary of what they hold.
SUMMARY_LEVELS = frozenset({"collection", "subject", "session"})


@dataclass(frozen=True)
class FormatLink:
    label: str
    href: str
    media_type: str


def export_links(record_id: str) -> list[FormatLink]:
    """The citation export menu: BibTeX, CSL-JSON, DataCite XML, RIS (CSL-JSON and RIS
    come from the export service's `csl-json` and `ris` formats)."""
    base = f"/records/{quote(record_id, safe='')}"
    return [
        FormatLink("BibTeX", f"{base}.bib", "application/x-bibtex"),
        FormatLink("CSL-JSON", f"{base}.csl.json", "application/vnd.citationstyles.csl+json"),
        FormatLink("DataCite XML", f"{base}.xml", DATACITE_XML),
        FormatLink("RIS", f"{base}.ris", "application/x-research-info-systems"),
    ]


DATACITE_XML = "application/vnd.datacite.datacite+xml"


def machine_links(record_id: str) -> list[FormatLink]:
    """The machine-readable forms of the record, linked visibly on the page."""
    quoted = quote(record_id, safe="")
    return [
        FormatLink("JSON (API)", f"/api/records/{quoted}", "application/json"),
        FormatLink("JSON-LD (schema.org)", f"/records/{quoted}.jsonld", "application/ld+json"),
        FormatLink("Turtle (DCAT-AP)", f"/records/{quoted}.ttl", "text/turtle"),
        FormatLink("DataCite XML", f"/records/{quoted}.xml", DATACITE_XML),
    ]


def landing_context(catalog: Catalog, identity: Identity, record: RecordPublic) -> dict:
    """What record.html needs for the summary, citation, exports, preview and words."""
    summary: DatasetSummary | None = None
    if record.level.value in SUMMARY_LEVELS and record.children_count:
        summary = catalog.summaries.dataset_summary(identity, record.id)
    preview = None
    if shows_preview(record) and catalog.previews.store.has(record.id):
        preview = f"/records/{quote(record.id, safe='')}/preview.png"
    return {
        "summary": summary,
        "citation": citation(record, catalog.settings.base_url),
        "export_links": export_links(record.id),
        "machine_links": machine_links(record.id),
        "preview_url": preview,
        "age_words": duration_words(record.subject.age),
        "relation_words": relation_words,
        "term_origin": term_origin,
        "related_titles": related_titles(catalog, identity, record),
    }


def related_titles(catalog: Catalog, identity: Identity, record: RecordPublic) -> dict[str, str]:
    """Titles of the catalogue records this one relates to, for link text (a bare id
    says nothing to a reader). Only records the caller may see are named: one batch read."""
    ids = [r.identifier for r in record.related if r.scheme == "imagora"]
    if not ids:
        return {}
    return {found.id: found.title for found in catalog.records.get_many(identity, ids)}


@router.get("/records/{record_id}/preview.png", include_in_schema=False)
async def preview_png(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    data = await call_store(catalog, catalog.previews.png, identity, record_id)
    return Response(data, media_type="image/png", headers={"Cache-Control": "max-age=300"})


@router.get("/api/records/{record_id}/summary", response_model=DatasetSummary, tags=["records"])
async def record_summary(
    record_id: str, catalog: CatalogDep, identity: IdentityDep
) -> DatasetSummary:
    """What a collection, subject or session holds: species, field strengths, sequences,
    counts, dates, total size and a subject x session x modality grid (visible records
    only)."""
    return await call_store(catalog, catalog.summaries.dataset_summary, identity, record_id)


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the packaged assets (the app is built with docs_url=None).

    The assets come from the `fastapi-offline` package (Swagger UI 5, which renders the
    OpenAPI 3.1 documents FastAPI writes; Swagger UI 4 cannot)."""
    assets = Path(str(importlib.resources.files("fastapi_offline") / "static"))
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)

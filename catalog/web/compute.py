"""Compute bridge routes: pipelines, jobs, provenance, and the job page.

Thin: parse, call one ComputeService method, render. Jobs are visible to their owner
(and curators / admins), so every job route needs a bearer token; the service says so
with a 401 otherwise. Provenance follows the record's own visibility.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Request
from markupsafe import Markup
from starlette.responses import FileResponse, HTMLResponse, Response

from catalog.domain.compute import JobPublic, JobRequest, PipelineList
from catalog.domain.identity import ANONYMOUS, Identity
from catalog.domain.records import RecordPublic
from catalog.services.compute import Lineage
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from catalog.web.responses import json_response

router = APIRouter(tags=["compute"])

_ERRORS = {
    401: {"description": "No bearer token (jobs belong to their owner)"},
    403: {"description": "An input's files are restricted for the caller"},
    404: {"description": "No such job / record, or one the caller may not see"},
    409: {"description": "The job already ended"},
    422: {"description": "Invalid parameter or input (message names the field)"},
    501: {"description": "Pipeline or executor unavailable (missing dependency)"},
}
TURTLE = "text/turtle"


@router.get("/api/pipelines", response_model=PipelineList, summary="Registered pipelines")
async def list_pipelines(catalog: CatalogDep, identity: IdentityDep) -> Response:
    return json_response(catalog.compute.pipelines(identity))


@router.post(
    "/api/jobs",
    status_code=201,
    response_model=JobPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Run a pipeline on selected records",
)
def submit_job(
    data: Annotated[JobRequest, Body()], catalog: CatalogDep, identity: IdentityDep
) -> Response:
    job = catalog.compute.submit(identity, data)
    return json_response(job, status=201, headers={"Location": f"/api/jobs/{job.id}"})


@router.get(
    "/api/jobs/{job_id}",
    response_model=JobPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="A job's state, log tail and resource use",
)
def get_job(job_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    return json_response(catalog.compute.get(identity, job_id))


@router.post(
    "/api/jobs/{job_id}/cancel",
    response_model=JobPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Cancel a queued or running job",
)
def cancel_job(job_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    return json_response(catalog.compute.cancel(identity, job_id))


@router.post(
    "/api/jobs/{job_id}/rerun",
    status_code=201,
    response_model=JobPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Run a job again (same pipeline, inputs, parameters, executor)",
)
def rerun_job(job_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    return json_response(catalog.compute.rerun(identity, job_id), status=201)


@router.get(
    "/api/records/{record_id}/provenance",
    responses={
        **_ERRORS,  # type: ignore[dict-item]
        200: {
            "description": "W3C PROV: PROV-JSON, or PROV-O Turtle with Accept: text/turtle",
            "content": {"application/json": {}, TURTLE: {}},
        },
    },
    summary="W3C PROV of a derived record",
)
async def provenance(
    record_id: str, request: Request, catalog: CatalogDep, identity: IdentityDep
) -> Response:
    body = await call_store(catalog, catalog.compute.provenance, identity, record_id)
    if TURTLE in request.headers.get("accept", ""):
        from compute_bridge.provenance import from_json, to_turtle

        return Response(to_turtle(from_json(body)), media_type=TURTLE)
    return Response(body, media_type="application/json")


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job_page(job_id: str, request: Request, catalog: CatalogDep, identity: IdentityDep) -> Response:
    job = catalog.compute.get(identity, job_id)
    return request.app.state.templates.TemplateResponse(request, "job.html", {"job": job})


@router.get("/api/records/{record_id}/preview.png", responses=_ERRORS, summary="Map preview")  # type: ignore[arg-type]
def preview(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    path = catalog.compute.preview_file(identity, record_id)
    return FileResponse(path, media_type="image/png")


def install(app: FastAPI) -> None:
    """The landing page of a derived record gets its preview and provenance graph."""
    sections = getattr(app.state, "landing_sections", None)
    if sections is None:
        app.state.landing_sections = sections = []
    sections.append(_lineage_section)


def _lineage_section(request: Request, record: RecordPublic) -> Markup:
    catalog = request.app.state.catalog
    lineage = catalog.compute.lineage(_caller(request), record)
    if lineage is None:
        return Markup("")
    return Markup(lineage_html(record.id, lineage))


def _caller(request: Request) -> Identity:
    """The page's caller (the page route already rejected a malformed header)."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ANONYMOUS
    return request.app.state.catalog.tokens.authenticate(token.strip())


def lineage_html(record_id: str, lineage: Lineage) -> str:
    """A panel: the preview image, the PROV graph as inline SVG (inputs -> job ->
    outputs, with the pipeline agent), links to PROV-JSON / Turtle, the re-run command."""
    quoted = escape(record_id)
    image = (
        f'<img src="/api/records/{quoted}/preview.png" alt="Preview: map, amplitude, fit R2" '
        'class="preview">'
        if lineage.preview
        else ""
    )
    return (
        '<section class="panel" aria-labelledby="prov-heading">'
        '<h2 id="prov-heading">Provenance</h2>'
        f"{image}{prov_svg(lineage)}"
        f'<p>Job <span class="mono">{escape(lineage.job_id)}</span>: '
        f"{escape(lineage.pipeline)} on {escape(lineage.executor)}"
        f"{' (' + escape(lineage.device) + ')' if lineage.device else ''}. "
        f'W3C PROV: <a href="/api/records/{quoted}/provenance">PROV-JSON</a> '
        "(PROV-O Turtle with <code>Accept: text/turtle</code>).</p>"
        f'<p>Re-run:</p><pre class="mono small">{escape(lineage.rerun_command)}</pre>'
        "</section>"
    )


def prov_svg(lineage: Lineage) -> str:
    """Inputs (left) used by the job (middle, with its pipeline agent) that generated
    the outputs (right). Plain SVG, no script."""
    rows = max(len(lineage.inputs), len(lineage.outputs), 1)
    row_h, width = 22, 720
    height = rows * row_h + 40
    mid_y = height // 2
    parts = [
        f'<svg class="prov-graph" role="img" aria-label="Provenance graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        'font-size="11" font-family="sans-serif">',
        f'<rect x="270" y="{mid_y - 30}" width="180" height="36" rx="4" fill="#dde8f5" '
        'stroke="#456"/>',
        f'<text x="360" y="{mid_y - 8}" text-anchor="middle">job {escape(lineage.job_id)}</text>',
        f'<text x="360" y="{mid_y + 24}" text-anchor="middle" fill="#555">'
        f"agent: {escape(lineage.pipeline)}</text>",
    ]
    for side, items, x_text, x_line in (
        ("in", lineage.inputs, 10, 250),
        ("out", lineage.outputs, 470, 470),
    ):
        for index, (rid, title) in enumerate(items):
            y = 20 + index * row_h + (rows - len(items)) * row_h // 2
            label = escape(title if len(title) <= 40 else title[:39] + "…")
            link = f'<a href="/records/{escape(rid)}">'
            parts.append(f'{link}<text x="{x_text}" y="{y + 4}">{label}</text></a>')
            start = (x_line, y) if side == "in" else (450, mid_y - 12)
            end = (270, mid_y - 12) if side == "in" else (x_line + 5, y)
            parts.append(
                f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" stroke="#789"/>'
            )
    parts.append("</svg>")
    return "".join(parts)

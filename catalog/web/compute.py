"""Compute bridge routes: pipelines, jobs, provenance, and the job page.

Thin: parse, call one ComputeService method, render. Jobs are visible to their owner
(and curators / admins), so every job route needs a bearer token; the service says so
with a 401 otherwise. Provenance follows the record's own visibility.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from catalog.domain.compute import JobPublic, JobRequest, PipelineList
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

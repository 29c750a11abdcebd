"""`imagora compute ...`: run pipelines on catalogued records and follow the jobs.

The local command line has the data dir, so it acts as the local administrator unless
`--token` names a user (then that user's access rules apply to every input).
"""

from __future__ import annotations

import time

import click
from rich.table import Table

from catalog.cli.context import EXIT_ERROR, EXIT_USAGE, CliError, CliState
from catalog.cli.render import echo_json, err, out
from catalog.domain.compute import JobPublic, JobRequest, ResourceRequest
from catalog.domain.identity import SYSTEM, Identity

token_option = click.option("--token", help="Act as this bearer token's user.")


def _identity(state: CliState, token: str | None) -> Identity:
    return state.catalog.tokens.authenticate(token) if token else SYSTEM


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param needs NAME=VALUE, got '{pair}'", EXIT_USAGE)
        params[name.strip()] = value.strip()
    return params


@click.group("compute")
def compute() -> None:
    """Run pipelines on records (local workers or Slurm) and follow their jobs."""


@compute.command("run")
@click.argument("pipeline")
@click.option("--records", "records", multiple=True, help="An input record id (repeatable).")
@click.option("--query", help="Or: every record this search finds (at most 100).")
@click.option(
    "--level", default="acquisition", show_default=True, help="Record level --query selects."
)
@click.option("--executor", default="local", show_default=True, help="local or slurm.")
@click.option("--param", "params", multiple=True, help="NAME=VALUE (repeatable).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--partition", help="Slurm partition.")
@click.option("--time-limit", "time_limit", type=click.IntRange(1), help="Seconds.")
@click.option("--wait", is_flag=True, help="Wait for the job to end; exit 1 if it failed.")
@token_option
@click.pass_obj
def run(
    state: CliState,
    pipeline: str,
    records: tuple[str, ...],
    query: str | None,
    level: str,
    executor: str,
    params: tuple[str, ...],
    device: str,
    partition: str | None,
    time_limit: int | None,
    wait: bool,
    token: str | None,
) -> None:
    """Submit PIPELINE on the selected records; prints the job id."""
    request = JobRequest(
        pipeline=pipeline,
        records=list(records),
        query=query,
        level=level,
        executor=executor,
        params=_params(params),
        device=device,  # type: ignore[arg-type]
        partition=partition,
        resources=ResourceRequest(time_limit_s=time_limit),
    )
    identity = _identity(state, token)
    job = state.catalog.compute.submit(identity, request)
    click.echo(job.id)
    if wait:
        job = _wait(state, identity, job.id)
        err().print(f"job {job.id}: {job.state.value}: {job.message or ''}", highlight=False)
        if job.state.value != "succeeded":
            raise CliError(f"job {job.id} {job.state.value}: {job.message}", EXIT_ERROR)


def _wait(state: CliState, identity: Identity, job_id: str) -> JobPublic:
    while True:
        job = state.catalog.compute.get(identity, job_id)
        if job.state.terminal:
            return job
        time.sleep(0.5)


@compute.command("status")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@token_option
@click.pass_obj
def status(state: CliState, job_id: str, as_json: bool, token: str | None) -> None:
    """A job's state, message, outputs and log tail."""
    job = state.catalog.compute.get(_identity(state, token), job_id)
    if as_json:
        echo_json(job.model_dump(mode="json"))
        return
    console = out()
    console.print(
        f"{job.id}  {job.pipeline} {job.pipeline_version}  {job.state.value}", highlight=False
    )
    if job.message:
        console.print(job.message, highlight=False)
    for record_id in job.outputs:
        console.print(f"output: {record_id}", highlight=False)
    if job.log_tail and job.state.value == "failed":
        console.print(job.log_tail, highlight=False, markup=False)


@compute.command("cancel")
@click.argument("job_id")
@token_option
@click.pass_obj
def cancel(state: CliState, job_id: str, token: str | None) -> None:
    """Stop a queued or running job."""
    job = state.catalog.compute.cancel(_identity(state, token), job_id)
    click.echo(f"{job.id} {job.state.value}")


@compute.command("rerun")
@click.argument("job_id")
@token_option
@click.pass_obj
def rerun(state: CliState, job_id: str, token: str | None) -> None:
    """Run a job again (same pipeline, inputs, parameters, executor); prints the new id."""
    click.echo(state.catalog.compute.rerun(_identity(state, token), job_id).id)


@compute.command("pipelines")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_pipelines(state: CliState, as_json: bool) -> None:
    """Registered pipelines and their parameters."""
    listed = state.catalog.compute.pipelines(SYSTEM)
    if as_json:
        echo_json(listed.model_dump(mode="json"))
        return
    table = Table("pipeline", "version", "parameters")
    for item in listed.pipelines:
        table.add_row(item.name, item.version, ", ".join(p.id for p in item.parameters))
    out().print(table)

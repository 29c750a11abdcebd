"""`imagora sources`: register harvest sources and run them by name or when due.

`imagora sources run --due` is what a systemd timer or cron entry calls (see
deploy/imagora-harvest.timer).
"""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from catalog.cli.context import CliState
from catalog.cli.harvest import SourceTypesCommand, parse_pairs, render_report, source_options
from catalog.cli.render import echo_json, out, progress_bars
from catalog.domain.identity import SYSTEM
from catalog.domain.results import HarvestReport


@click.group("sources")
def sources() -> None:
    """Register harvest sources and harvest them again, by name or on a schedule."""


@sources.command("add", cls=SourceTypesCommand)
@click.argument("name")
@click.argument("kind", metavar="TYPE")
@click.argument("location")
@click.option("--every", help="Harvest every 30m, 6h, 1d ... (omit: only when asked).")
@source_options
@click.pass_obj
def add(
    state: CliState,
    name: str,
    kind: str,
    location: str,
    every: str | None,
    extra: tuple[str, ...],
    **given: Any,
) -> None:
    """Register (or replace) source NAME: harvest LOCATION with the TYPE harvester.

    Passwords and tokens are never stored: give remote sources a secrets file, e.g.
    `imagora sources add lab-xnat xnat https://xnat.example.org --project PRJ1
    -o secrets_file=/etc/imagora/xnat.toml --every 6h`; `--full` (or -o full=true)
    makes every run of the source a full re-read.
    """
    info = state.catalog.sources.add(
        SYSTEM, name, kind, location, {**given, **parse_pairs(extra)}, every
    )
    when = f"every {info.interval_minutes} min" if info.interval_minutes else "on demand"
    out().print(f"source {escape(info.name)}: {info.kind} {escape(info.location)} ({when})")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_sources(state: CliState, as_json: bool) -> None:
    """Registered sources with their schedule and last run."""
    found = state.catalog.sources.list(SYSTEM)
    if as_json:
        echo_json([s.model_dump(mode="json") for s in found])
        return
    table = Table("name", "type", "location", "every (min)", "last run", "last result")
    for s in found:
        last = s.last_report or {}
        result = (
            (
                f"{last.get('created', 0)} created, {last.get('updated', 0)} updated, "
                f"{last.get('failed', 0)} failed"
            )
            if last
            else ""
        )
        table.add_row(
            s.name,
            s.kind,
            s.location,
            str(s.interval_minutes or "-"),
            s.last_run.isoformat(timespec="minutes") if s.last_run else "never",
            result,
        )
    out().print(table)


@sources.command("remove")
@click.argument("name")
@click.pass_obj
def remove(state: CliState, name: str) -> None:
    """Forget source NAME (its records stay in the catalogue)."""
    state.catalog.sources.remove(SYSTEM, name)
    out().print(f"source {escape(name)} removed")


@sources.command("run")
@click.argument("name", required=False)
@click.option("--due", is_flag=True, help="Run every scheduled source whose time has come.")
@click.option(
    "--full",
    is_flag=True,
    help="With NAME: re-read every item this time, whatever its fingerprint "
    "(e.g. a weekly cron entry for a Shanoir-NG source).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON (last line).")
@click.pass_obj
def run(state: CliState, name: str | None, due: bool, full: bool, as_json: bool) -> None:
    """Harvest source NAME now, or with --due every source that is due."""
    if bool(name) == due:
        raise click.UsageError("give a source NAME or --due (not both)")
    if full and due:
        raise click.UsageError("--full re-reads one source: give its NAME, not --due")
    with progress_bars() as progress:
        if name:
            report = state.catalog.sources.run(SYSTEM, name, progress, full=full)
            runs = [{"name": name, "report": report.model_dump(mode="json"), "error": None}]
        else:
            runs = [
                r.model_dump(mode="json")
                for r in state.catalog.sources.run_due(SYSTEM, progress=progress)
            ]
    if as_json:
        echo_json(runs)
        return
    _render_runs(runs)


def _render_runs(runs: list[dict[str, Any]]) -> None:
    if not runs:
        out().print("no source is due")
    for item in runs:
        if item["error"]:
            out().print(f"[red]{escape(item['name'])}[/]: {escape(item['error'])}")
        else:
            render_report(HarvestReport.model_validate(item["report"]))

"""`imagora harvest` and `imagora demo`: run harvesters and render their reports.

Source options are turned into the harvester's own typed `Options` model here; an
option the harvester does not declare is refused with the list of those it does take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.markup import escape

from catalog.cli.context import EXIT_USAGE, CliError, CliState
from catalog.cli.render import echo_json, err, out, progress_bars
from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import SYSTEM
from catalog.domain.results import HarvestReport
from catalog.services.demo import DemoReport, run_demo
from catalog.services.harvest import HarvestService
from harvesters.base import HarvestOptions


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--option needs NAME=VALUE, got '{pair}'", EXIT_USAGE)
        values[name.strip().replace("-", "_")] = value
    return values


def build_options(service: HarvestService, kind: str, given: dict[str, Any]) -> HarvestOptions:
    """The harvester's `Options` from the command line; an unknown TYPE or option is a
    usage error (exit status 2) naming what the harvester does take."""
    try:
        return service.parse_options(kind, given, spell=_flag)
    except (NotFoundError, ValidationError) as exc:
        raise CliError(exc.message, EXIT_USAGE) from None


_SOURCE_OPTIONS = (
    click.option("--species", help="Species of the subjects when the source does not say."),
    click.option(
        "--title",
        "--collection-title",
        "collection_title",
        help="Title of the collection record (kept by later harvests that omit it).",
    ),
    click.option("--description", help="Description of the collection record (kept likewise)."),
    click.option("--license", help="Licence of the collection, an SPDX id such as CC-BY-4.0."),
    click.option("--user", help="User name on a remote source (xnat, shanoir)."),
    click.option(
        "--password",
        help="Password for --user (xnat, shanoir); `sources add` takes a secrets file instead.",
    ),
    click.option(
        "--token",
        help="xnat: alias token ALIAS:SECRET; shanoir: an access token; ckan: an API key.",
    ),
    click.option("--project", help="Harvest only this XNAT project id (xnat)."),
    click.option("--study", help="Harvest only this Shanoir-NG study id (shanoir)."),
    click.option(
        "--workers",
        type=int,
        help="Processes reading files at once (dicom; default: every CPU, 1: this process).",
    ),
    click.option(
        "--full",
        is_flag=True,
        default=None,
        help="Re-read every item, not only those whose fingerprint changed (run it now and "
        "then: Shanoir-NG has no update dates, so a protocol changed alone is missed).",
    ),
    click.option(
        "--option",
        "-o",
        "extra",
        multiple=True,
        metavar="NAME=VALUE",
        help="Other option of the harvester, e.g. -o organization=NAME (ckan), "
        "-o secrets_file=PATH (xnat, shanoir, ckan); an unknown NAME lists those it takes.",
    ),
)


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The source options `harvest` and `sources add` share (validated by the harvester)."""
    for option in reversed(_SOURCE_OPTIONS):
        command = option(command)
    return command


def render_report(report: HarvestReport) -> None:
    console = out()
    console.print(
        f"[bold]{escape(report.source)}[/]{' (full re-read)' if report.full else ''}: "
        f"{report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.withdrawn} withdrawn, {report.failed} failed "
        f"({report.files_read} items read, {report.files_cached} unchanged items skipped"
        + (f", {report.requests} requests" if report.requests else "")
        + f", {report.duration_s:g} s)",
        highlight=False,
    )
    for item in report.errors:
        console.print(f"  [red]error[/] {escape(item.item)}: {escape(item.error)}", highlight=False)
    for conflict in report.conflicts:
        console.print(
            f"  [yellow]conflict[/] record {escape(conflict.record)}, {escape(conflict.field)}: "
            f"{escape(conflict.message)}",
            highlight=False,
        )


class HarvestCommand(click.Command):
    """`harvest --help` lists the TYPEs people harvest, each with what LOCATION is and
    an example; both come from the harvester classes (`summary`, `example`)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for info in HarvestService.user_kinds():
            example = f" Example: {info.example}" if info.example else ""
            rows.append((info.name, f"{info.summary}.{example}"))
        with formatter.section("Types"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


class SourceTypesCommand(click.Command):
    """`sources add --help` lists the same TYPEs, with what LOCATION is for each."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Types"):
            formatter.write_dl([(i.name, i.summary) for i in HarvestService.user_kinds()])
        super().format_epilog(ctx, formatter)


@click.command("harvest", cls=HarvestCommand)
@click.argument("kind", metavar="TYPE")
@click.argument("location")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (last line).")
@source_options
@click.pass_obj
def harvest(
    state: CliState, kind: str, location: str, as_json: bool, extra: tuple[str, ...], **given: Any
) -> None:
    """Harvest LOCATION with the TYPE harvester.

    LOCATION must be that kind of source: a DICOM folder given to `bids` (or a BIDS
    dataset given to `bruker`) is refused with exit status 2 and nothing is created.
    Run it again to pick up changes; only items whose fingerprint changed (size and
    mtime, last_modified, listing row) are read. `--full` re-reads every item: run it
    now and then, for Shanoir-NG in particular, whose datasets carry no update date.
    """
    options = build_options(state.catalog.harvest, kind, {**given, **parse_pairs(extra)})
    with progress_bars() as progress:
        report = state.catalog.harvest.run(SYSTEM, kind, location, options, progress)
    if as_json:
        echo_json(report.model_dump(mode="json"))
    else:
        render_report(report)


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON (last line).")
@click.pass_obj
def demo(state: CliState, as_json: bool) -> None:
    """Catalogue the bundled sample data (DICOM, BIDS, Bruker); safe to run again."""
    with progress_bars() as progress:
        result = run_demo(state.catalog, progress)
    if as_json:
        echo_json(result.model_dump(mode="json"))
        return
    render_demo(result, state)


def render_demo(result: DemoReport, state: CliState) -> None:
    for report in result.harvests:
        render_report(report)
    for note in result.notes:
        err().print(f"[yellow]note[/] {escape(note)}", highlight=False)
    out().print(
        f"Samples are in {state.settings.data_dir / 'samples'}; "
        "browse them with `imagora serve` or `imagora search ''`.",
        highlight=False,
    )

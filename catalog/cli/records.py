"""`imagora search`, `imagora show` and `imagora access`: reading and curating records.

Reads act as the anonymous public by default, so the output shows what the public sees;
`--token` acts as that token's user and `--all` as the local administrator.
"""

from __future__ import annotations

from datetime import date, datetime

import click
from rich.markup import escape
from rich.table import Table

from catalog.cli.context import EXIT_USAGE, CliError, CliState
from catalog.cli.render import echo_json, out
from catalog.cli.show import SUMMARY_LEVELS, render_record
from catalog.domain.enums import FileAccess, Level, Visibility
from catalog.domain.identity import SYSTEM, Identity
from catalog.domain.records import AccessUpdate, RecordPage, RecordPublic
from catalog.domain.search import FACET_FIELDS, MAX_PAGE_SIZE
from catalog.services.records import SearchRequest

EXPORT_FORMATS = ("text", "json", "jsonld", "turtle", "datacite-xml", "bibtex", "csl-json", "ris")

token_option = click.option("--token", help="Act as this bearer token's user.")
all_option = click.option(
    "--all", "see_all", is_flag=True, help="Act as the local administrator (see everything)."
)


def _filters(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fields = ", ".join(FACET_FIELDS)
            raise CliError(f"--filter needs FIELD=VALUE (fields: {fields}), got '{pair}'", 2)
        filters.setdefault(name.strip(), []).append(value)
    return filters


@click.command("search")
@click.argument("query", default="", required=False)
@click.option("--filter", "-f", "filters", multiple=True, metavar="FIELD=VALUE")
@click.option("--level", type=click.Choice([level.value for level in Level]))
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, MAX_PAGE_SIZE), default=20, show_default=True)
@click.option("--exact", is_flag=True, help="Match the words only (no ontology expansion).")
@click.option("--json", "as_json", is_flag=True, help="Print the result page as JSON.")
@token_option
@all_option
@click.pass_obj
def search(
    state: CliState,
    query: str,
    filters: tuple[str, ...],
    level: str | None,
    page: int,
    size: int,
    exact: bool,
    as_json: bool,
    token: str | None,
    see_all: bool,
) -> None:
    """Search the catalogue (QUERY may be empty: everything)."""
    identity = state.reader(token, see_all)
    request = SearchRequest(
        text=query, filters=_filters(filters), level=level, page=page, size=size, exact=exact
    )
    result = state.catalog.records.search(identity, request)
    if as_json:
        echo_json(result.model_dump(mode="json", exclude={"links"}))
    else:
        render_page(result)


def render_page(page: RecordPage) -> None:
    console = out()
    if page.understood:
        console.print(f"Understood as: {escape(page.understood)}", highlight=False)
    table = Table(title=f"{page.total} records (page {page.page})", title_justify="left")
    table.add_column("id", no_wrap=True)
    for column in ("level", "title", "modality", "species", "access"):
        table.add_column(column, overflow="fold")
    for hit in page.hits:
        table.add_row(
            hit.id,
            hit.level.value,
            escape(hit.title),
            hit.modality or "",
            escape(hit.species or ""),
            hit.access or "",
        )
    console.print(table)
    for suggestion in page.suggestions:
        console.print(
            f"Did you mean: {escape(suggestion.text)} ({suggestion.count or 'no'} records; "
            f"{escape(suggestion.reason)})",
            highlight=False,
        )
    for name, values in page.facets.items():
        if values:
            shown = ", ".join(f"{escape(v.label)} ({v.count})" for v in values[:8])
            console.print(f"[bold]{FACET_FIELDS.get(name, name)}[/]: {shown}", highlight=False)


@click.command("show")
@click.argument("record_id", metavar="ID")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="text",
    show_default=True,
    help="text: a readable summary; json: the record as the API returns it; or a metadata format.",
)
@token_option
@all_option
@click.pass_obj
def show(state: CliState, record_id: str, fmt: str, token: str | None, see_all: bool) -> None:
    """Print one record (a readable summary by default)."""
    identity = state.reader(token, see_all)
    record = state.catalog.records.get(identity, record_id)
    if fmt == "text":
        summary = None
        if record.children_count and record.level.value in SUMMARY_LEVELS:
            summary = state.catalog.summaries.dataset_summary(identity, record.id)
        render_record(record, summary, state.settings.base_url)
        return
    if fmt == "json":
        click.echo(record.model_dump_json(indent=2))
        return
    click.echo(_export(state, identity, record, fmt))


def _export(state: CliState, identity: Identity, record: RecordPublic, fmt: str) -> str:
    """Serialise through the ExportService, as the web pages do (children included)."""
    output = state.catalog.exports.render_record(identity, record, fmt).body
    return output.decode("utf-8") if isinstance(output, bytes) else str(output)


def _until(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CliError(f"--until must be a date as YYYY-MM-DD, got '{value}'", EXIT_USAGE) from None


@click.command("access")
@click.argument("record_id", metavar="ID")
@click.option("--record", "visibility", type=click.Choice([v.value for v in Visibility]))
@click.option("--files", type=click.Choice([f.value for f in FileAccess]))
@click.option("--until", help="End of the file embargo (YYYY-MM-DD).")
@click.pass_obj
def access(
    state: CliState,
    record_id: str,
    visibility: str | None,
    files: str | None,
    until: str | None,
) -> None:
    """Change a record's access policy (its children inherit it unless set)."""
    changes: dict[str, object] = {}
    if visibility:
        changes["record"] = visibility
    if files:
        changes["files"] = files
    if until:
        changes["embargo_until"] = _until(until)
    if not changes:
        raise CliError("give at least one of --record, --files, --until", EXIT_USAGE)
    record = state.catalog.records.set_access(SYSTEM, record_id, AccessUpdate(**changes))
    policy = record.access
    embargo = f" until {policy.embargo_until}" if policy.embargo_until else ""
    out().print(
        f"{record.id}: record {policy.record.value}, files {policy.files.value}{embargo}",
        highlight=False,
    )

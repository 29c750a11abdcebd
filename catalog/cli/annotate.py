"""`imagora annotate --all` and `imagora terms SEARCH`: the ontology layer from the terminal.

Re-annotation runs after a vocabulary update (the report names the vocabulary version)
and keeps curators' decisions; a second run right after the first changes nothing.
`terms` is the search box's autocomplete, for finding concept IRIs.
"""

from __future__ import annotations

import click
from rich.table import Table

from catalog.cli.context import CliError, CliState
from catalog.cli.render import echo_json, out, progress_bars
from catalog.domain.identity import SYSTEM
from catalog.services.annotation import AnnotateReport


@click.command("annotate")
@click.option("--all", "everything", is_flag=True, help="Re-annotate every record.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
@click.pass_obj
def annotate(state: CliState, everything: bool, as_json: bool) -> None:
    """Run the ontology annotator again over the catalogue (curated terms are kept)."""
    if not everything:
        raise CliError("say which records to re-annotate: --all", exit_code=2)
    with progress_bars() as progress:
        report = state.catalog.annotation.reannotate_all(
            SYSTEM, lambda done, total: progress("annotate", done, total)
        )
    if as_json:
        echo_json(report.model_dump(mode="json"))
        return
    _print_report(report)


def _print_report(report: AnnotateReport) -> None:
    console = out()
    console.print(f"vocabulary version {report.vocabulary_version}", highlight=False)
    console.print(
        f"records scanned {report.records}, changed {report.changed_records}; "
        f"terms added {report.added}, removed {report.removed}, changed {report.changed}",
        highlight=False,
    )


@click.command("terms")
@click.argument("text")
@click.option("--scheme", help="Only this scheme (mri, species, anatomy, ...).")
@click.option("--limit", type=click.IntRange(1, 50), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def terms(state: CliState, text: str, scheme: str | None, limit: int, as_json: bool) -> None:
    """Find ontology concepts by label, synonym or abbreviation (as the search box does)."""
    found = state.catalog.terms.suggest(text, scheme, limit)
    if as_json:
        echo_json([s.model_dump() for s in found])
        return
    if not found:
        out().print(f"no concept matches {text!r}", highlight=False)
        return
    table = Table("label", "matched", "scheme", "iri")
    for s in found:
        table.add_row(s.label, s.matched if s.matched != s.label else "", s.scheme, s.iri)
    out().print(table)

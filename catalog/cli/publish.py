"""`imagora publish ID --to zenodo|datacite`: mint (or find) the DOI of a record's version.

Prints the DOI on stdout (the only line there, for scripts; `--json` prints the whole
outcome instead) and what happened on stderr. Acts as the local administrator unless
`--token` names a user, whose role must then allow publishing. A refusal by the
de-identification gate or by the DOI service lists every problem, one per line.
"""

from __future__ import annotations

import click

from catalog.cli.context import CliError, CliState
from catalog.cli.render import echo_json, err
from catalog.domain.errors import DeidentificationError, PublishRemoteError
from catalog.domain.identity import SYSTEM
from catalog.domain.publishing import PublishOutcome, PublishTarget


def _problem_lines(exc: DeidentificationError | PublishRemoteError) -> str:
    return "".join(f"\n  {where}: {why}" if where else f"\n  {why}" for where, why in exc.problems)


@click.command("publish")
@click.argument("record_id", metavar="ID")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="SERVICE",
    help="The DOI service: " + ", ".join(t.value for t in PublishTarget) + " (or a plugin's name).",
)
@click.option("--token", help="Act as this bearer token's user (curator or admin).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
def publish(state: CliState, record_id: str, target: str, token: str | None, as_json: bool) -> None:
    """Publish a record version with a DOI; run again to resume after a failure."""
    identity = state.catalog.tokens.authenticate(token) if token else SYSTEM
    try:
        outcome = state.catalog.publish.publish(identity, record_id, target)
    except (DeidentificationError, PublishRemoteError) as exc:
        raise CliError(exc.message + _problem_lines(exc)) from exc
    if as_json:
        echo_json(outcome.model_dump(mode="json"))
        return
    _report(outcome)
    click.echo(outcome.publication.doi)


def _report(outcome: PublishOutcome) -> None:
    item = outcome.publication
    verb = "published" if outcome.created else "was already published"
    concept = f" (all versions: {item.concept_doi})" if item.concept_doi else ""
    err().print(
        f"{item.record_id} version {item.version} {verb} on {item.target}{concept}",
        highlight=False,
    )
    if outcome.gate is not None:
        gate = outcome.gate
        err().print(
            f"de-identification gate: {gate.files} files, {gate.dicom_cleaned} DICOM cleaned, "
            f"{gate.removed_private_tags} private attributes removed, "
            f"{gate.remapped_uids} UIDs remapped",
            highlight=False,
        )
        for note in gate.notes:
            err().print(f"  {note}", highlight=False)

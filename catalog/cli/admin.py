"""`imagora index ...` and `imagora tokens ...`: administration of the local installation.

The local command line has the data dir, so it acts as the administrator (SYSTEM).
"""

from __future__ import annotations

import click
from rich.table import Table

from catalog.cli.context import CliError, CliState
from catalog.cli.render import echo_json, err, out, progress_bars
from catalog.domain.enums import Role
from catalog.domain.identity import SYSTEM


@click.group("index")
def index() -> None:
    """Manage the search index (derived from the store)."""


@index.command("rebuild")
@click.pass_obj
def rebuild(state: CliState) -> None:
    """Recreate the search index from the store."""
    with progress_bars() as progress:
        count = state.catalog.index_sync.rebuild(lambda done, total: progress("index", done, total))
    out().print(f"indexed {count} records", highlight=False)


@click.group("tokens")
def tokens() -> None:
    """Create, list and revoke API bearer tokens."""


@tokens.command("create")
@click.option("--user", required=True, help="Who the token belongs to.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.pass_obj
def create_token(state: CliState, user: str, role: str) -> None:
    """Print a new bearer token (shown once: only its hash is kept)."""
    token = state.catalog.tokens.create(SYSTEM, user, role)
    click.echo(token)
    err().print(f"token for {user} ({role}); it is shown only this once", highlight=False)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_tokens(state: CliState, as_json: bool) -> None:
    """List tokens (ids, users, roles; never the secrets)."""
    found = state.catalog.tokens.list(SYSTEM)
    rows = [
        {
            "id": t.id,
            "user": t.user,
            "role": t.role,
            "revoked": t.revoked,
            "created": t.created.isoformat(),
        }
        for t in found
    ]
    if as_json:
        echo_json(rows)
        return
    table = Table("id", "user", "role", "revoked", "created")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("id", "user", "role", "revoked", "created")))
    out().print(table)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
@click.pass_obj
def revoke_token(state: CliState, token_id: str) -> None:
    """Revoke a token by its id (see `imagora tokens list`)."""
    if not state.catalog.tokens.revoke(SYSTEM, token_id):
        raise CliError(f"no token with id '{token_id}'; see `imagora tokens list`")
    out().print(f"revoked token {token_id}", highlight=False)

"""The `imagora` command: a click group whose subcommands live in sibling modules.

`main()` is the console-script entry point (`imagora = "catalog.cli.main:main"`). Each
command parses its arguments, calls one service method and renders the result; expected
errors become a message on stderr with exit status 1 (2 for an unusable harvest location
or a usage error), never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from catalog import __version__
from catalog.cli.admin import index, tokens
from catalog.cli.annotate import annotate, terms
from catalog.cli.compute import compute
from catalog.cli.context import CliState, ImagoraGroup
from catalog.cli.harvest import demo, harvest
from catalog.cli.plugins import plugins
from catalog.cli.publish import publish
from catalog.cli.records import access, search, show
from catalog.cli.sources import sources
from catalog.services.container import Catalog


@click.group(cls=ImagoraGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imagora")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (overrides IMAGORA_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Imagora: a FAIR data catalogue for in-vivo imaging."""
    state = CliState(data_dir=data_dir)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Server processes; one per core to use. They share the store and the index, and "
    "each sees the others' writes (the index stamp tells them to reload).",
)
@click.pass_obj
def serve(state: CliState, host: str, port: int, workers: int) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    if state.data_dir is not None:
        # The app factory reads its settings itself; hand the override on through them.
        os.environ["IMAGORA_DATA_DIR"] = str(state.data_dir)
    if workers > 1:
        # Migrate the store and bring the index up to date once, here, so that the
        # workers do not race to do it when they start together (e.g. after an upgrade).
        Catalog.open(state.settings).close()
    uvicorn.run(
        "catalog.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="catalog.web.protocol:JsonErrorsHttpToolsProtocol",  # JSON even for bad HTTP
    )


for command in (
    demo,
    harvest,
    sources,
    search,
    show,
    access,
    index,
    tokens,
    plugins,
    annotate,
    terms,
    compute,
    publish,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="imagora")


if __name__ == "__main__":
    main()

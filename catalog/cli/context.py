"""What every command shares: the data dir override, the lazily opened catalogue, errors.

Commands stay thin: they get `CliState` through `click.pass_obj`, ask it for the
`Catalog` (opened on first use, closed when the command ends) and let `ImagoraGroup`
turn expected errors into a one-line message on stderr and an exit status, never a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from catalog.cli.logs import LogRouting, log_to_file
from catalog.domain.errors import HarvestRunningError, ImagoraError, SourceUnusableError
from catalog.domain.identity import ANONYMOUS, SYSTEM, Identity
from catalog.services.container import Catalog
from catalog.settings import Settings

#: Exit status for errors in what the user asked for (click uses 2 for usage errors too).
EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(click.ClickException):
    """A message for stderr with a chosen exit status (1 by default)."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(error: ImagoraError) -> int:
    usage = isinstance(error, SourceUnusableError | HarvestRunningError)
    return EXIT_USAGE if usage else EXIT_ERROR


class ImagoraGroup(click.Group):
    """A click group that reports `ImagoraError`s as messages with exit status 1 or 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImagoraError as exc:
            raise CliError(exc.message, exit_code_for(exc)) from exc


@dataclass
class CliState:
    """Per-invocation state: settings overrides and the catalogue, opened on demand."""

    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    _logs: LogRouting | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {"data_dir": self.data_dir} if self.data_dir is not None else {}
            self._settings = Settings.load(**overrides)
        return self._settings

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._logs = log_to_file(self.settings.data_dir)  # library warnings: log file
            self._catalog = Catalog.open(self.settings)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._logs is not None:
            self._logs.restore()
            self._logs = None

    def reader(self, token: str | None, see_all: bool) -> Identity:
        """Who a read command acts as: the public by default, so output shows what they see."""
        if token and see_all:
            raise CliError("use either --token or --all, not both", EXIT_USAGE)
        if see_all:
            return SYSTEM
        if token:
            return self.catalog.tokens.authenticate(token)
        return ANONYMOUS

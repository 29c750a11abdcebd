"""Output helpers: results go to stdout, messages and progress bars to stderr.

Consoles are made per call (no module-level state), so they follow whatever stdout and
stderr are at that moment (click's test runner swaps them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def out() -> Console:
    return Console(soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def echo_json(data: Any) -> None:
    """One JSON document on one line of stdout (the last line, for scripts)."""
    click.echo(orjson.dumps(data).decode("utf-8"))


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int | None], None]]:
    """A `progress(stage, done, total)` callback that draws one bar per stage on stderr."""
    console = err()
    bars = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update

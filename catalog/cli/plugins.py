"""`imagora plugins`: every registry's plugins, available or not and why.

Registries are found lazily: the built-in ones, plus any `Registry` that an optional
package (exporters, compute bridge) exposes, so a package that is not installed simply
does not appear.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from catalog.cli.render import echo_json, out
from catalog.registry import Registry

#: Modules that may define registries (module-level `Registry` objects, or functions
#: taking no arguments that return one).
REGISTRY_MODULES = (
    "harvesters.registry",
    "catalog.search.registry",
    "exporters.registry",
    "exporters.publishers.registry",
    "compute_bridge.registry",
    "compute_bridge.executors",
    "compute_bridge.pipelines",
)


def _registries_in(module: Any) -> list[Registry[Any]]:
    found: list[Registry[Any]] = []
    for _name, value in inspect.getmembers(module):
        if isinstance(value, Registry):
            found.append(value)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            returns = str(value.__annotations__.get("return", ""))
            takes_nothing = all(
                p.default is not p.empty for p in inspect.signature(value).parameters.values()
            )
            if returns.startswith("Registry") and takes_nothing:
                found.append(value())
    return found


def find_registries() -> list[Registry[Any]]:
    """Every plugin registry of the installed packages, each once."""
    found: dict[str, Registry[Any]] = {}
    for name in REGISTRY_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for registry in _registries_in(module):
            found.setdefault(registry.group, registry)
    return list(found.values())


def summary_of(cls: type) -> str:
    """What a plugin does in one line: its `summary` when it declares one (harvesters),
    else the first line of its docstring, else its module's first sentence (executors
    and pipelines document themselves there); "" when there is none."""
    declared = getattr(cls, "summary", None)
    if isinstance(declared, str) and declared:
        return declared
    doc = (cls.__doc__ or "").strip()
    if doc:
        return doc.splitlines()[0].rstrip(".")
    module = inspect.getmodule(cls)
    return _first_sentence((module.__doc__ if module else None) or "")


def _first_sentence(doc: str) -> str:
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return paragraph.split(". ", 1)[0].rstrip(".")


def describe(registry: Registry[Any]) -> list[dict[str, str]]:
    """One row per plugin: kind, name, status, what it does, and the class or the reason
    it is missing."""
    rows = []
    for name in registry.names():
        summary = ""
        try:
            cls = registry.get(name)
            status, detail = "available", f"{cls.__module__}:{cls.__qualname__}"
            summary = summary_of(cls)
        except Exception as exc:  # a broken plugin must not hide the others
            status, detail = "unavailable", getattr(exc, "message", None) or str(exc)
        rows.append(
            {
                "kind": registry.kind,
                "name": name,
                "status": status,
                "summary": summary,
                "detail": detail,
            }
        )
    return rows


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json: bool) -> None:
    """List plugins (harvesters, search backends, ...) and the dependencies they miss."""
    rows = [row for registry in find_registries() for row in describe(registry)]
    if as_json:
        echo_json(rows)
        return
    table = Table("kind", "name", "status")
    table.add_column("does", overflow="fold")
    table.add_column("detail", overflow="fold")
    for row in rows:
        colour = "green" if row["status"] == "available" else "yellow"
        table.add_row(
            row["kind"],
            row["name"],
            f"[{colour}]{row['status']}[/]",
            escape(row["summary"]),
            escape(row["detail"]),
        )
    out().print(table)

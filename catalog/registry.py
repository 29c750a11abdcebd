"""Plugin registries: short name -> class, imported lazily, extensible by entry points.

One `Registry` per plugin kind (harvester, search backend, exporter, executor, pipeline).
Built-in plugins are declared as "module:Class" strings so that a missing optional
dependency only matters when that plugin is used; `available()` / `unavailable()` tell the
`imagora plugins` command which is which and why.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from catalog.domain.errors import NotFoundError, PluginUnavailableError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps plugin names to lazily imported classes."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self._targets: dict[str, str] = dict(builtins)
        self._loaded: dict[str, type[T]] = {}
        self._entry_points_read = False

    def register(self, name: str, target: str | type[T]) -> None:
        """Add a plugin by "module:Class" string or by class (tests, embedding apps)."""
        if isinstance(target, str):
            self._targets[name] = target
        else:
            self._loaded[name] = target
            self._targets[name] = f"{target.__module__}:{target.__qualname__}"

    def names(self) -> list[str]:
        self._read_entry_points()
        return sorted(self._targets)

    def get(self, name: str) -> type[T]:
        """Import and return the plugin class, with a message that says what is missing."""
        self._read_entry_points()
        if name in self._loaded:
            return self._loaded[name]
        target = self._targets.get(name)
        if target is None:
            known = ", ".join(self.names()) or "none"
            raise NotFoundError(f"unknown {self.kind} '{name}'; known {self.kind}s: {known}")
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or str(exc)
            raise PluginUnavailableError(
                f"the {self.kind} '{name}' is unavailable because its dependency "
                f"'{missing}' is missing; install it (e.g. pip install 'imagora[...]')"
            ) from exc
        cls = getattr(module, attr)
        self._loaded[name] = cls
        return cls

    def available(self) -> dict[str, type[T]]:
        found: dict[str, type[T]] = {}
        for name in self.names():
            try:
                found[name] = self.get(name)
            except PluginUnavailableError:
                continue
        return found

    def unavailable(self) -> dict[str, str]:
        """Plugin name -> the reason it cannot load."""
        reasons: dict[str, str] = {}
        for name in self.names():
            try:
                self.get(name)
            except PluginUnavailableError as exc:
                reasons[name] = exc.message
        return reasons

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in entry_points(group=self.group):
            self._targets.setdefault(ep.name, ep.value)

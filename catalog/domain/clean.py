"""Write-time hygiene for record text and JSON values: what the store accepts, every reader
can render.

Why: a NUL, ESC, BEL or VT byte in a harvested description or a PATCH made the DataCite
XML export fail (XML 1.0 forbids them) and went raw into Turtle and BibTeX; an integer
beyond 64 bits or a value nested thousands deep could be stored but not serialised again
(orjson refuses both), so every reader of that record failed. Cleaning happens once, when
a record is written, not in each exporter.

How: `clean_text` drops the characters XML 1.0 cannot carry (C0 controls except tab, line
feed and carriage return; DEL; lone surrogates; U+FFFE/U+FFFF). `clean_json` walks a JSON
value without recursion, cleaning strings and keys, and refuses integers outside the
signed 64-bit range and nesting deeper than `MAX_DEPTH` with a `ValidationError` naming
the field.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.domain.errors import ValidationError

__all__ = ["INT64_MAX", "INT64_MIN", "MAX_DEPTH", "clean_json", "clean_text"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: Deepest nesting a stored JSON value may have (orjson itself stops at 255).
MAX_DEPTH = 64

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """`value` without the characters XML 1.0 (and so every export) cannot carry."""
    if _UNSAFE.search(value) is None:  # the common case: one C-level scan, no copy
        return value
    return _UNSAFE.sub("", value)


def clean_json(value: Any, where: str = "body") -> Any:
    """A cleaned copy of a JSON-compatible value (see the module docstring).

    `where` names the value in error messages (e.g. `body.source.raw`).
    """
    root: list[Any] = [None]
    # (container to fill, key or index in it, value to clean, path, depth)
    stack: list[tuple[Any, Any, Any, str, int]] = [(root, 0, value, where, 0)]
    while stack:
        target, slot, item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError(
                f"{path}: nested more than {MAX_DEPTH} levels deep", field=_field(path)
            )
        if isinstance(item, dict):
            copy: dict[str, Any] = {}
            target[slot] = copy
            for key, child in item.items():
                name = clean_text(str(key))
                copy[name] = None
                stack.append((copy, name, child, f"{path}.{name}", depth + 1))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            target[slot] = items
            for index, child in enumerate(item):
                stack.append((items, index, child, f"{path}[{index}]", depth + 1))
        else:
            target[slot] = _clean_scalar(item, path)
    return root[0]


def _clean_scalar(item: Any, path: str) -> Any:
    if isinstance(item, str):
        return clean_text(item)
    if isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
        raise ValidationError(
            f"{path}: an integer of {item.bit_length()} bits does not fit in 64 bits "
            f"(the range is {INT64_MIN} to {INT64_MAX})",
            field=_field(path),
        )
    return item


def _field(path: str) -> str:
    """The top-level field a path points into (`body.imaging.matrix[0]` -> `imaging`)."""
    parts = path.replace("[", ".").split(".")
    return parts[1] if len(parts) > 1 else parts[0]

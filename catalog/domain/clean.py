"""Write-time hygiene for record text and JSON values: what the store accepts, every reader
can render.

Why: a NUL, ESC, BEL or VT byte in a harvested description or a PATCH made the DataCite
XML export fail (XML 1.0 forbids them) and went raw into Turtle and BibTeX; an integer
beyond 64 bits or a value nested thousands deep could be stored but not serialised again
(orjson refuses both), so every reader of that record failed. Cleaning happens once, when
a record is written, not in each exporter.

How: `clean_text` drops the characters XML 1.0 cannot carry (C0 controls except tab, line
feed and carriage return; DEL; lone surrogates; U+FFFE/U+FFFF). `clean_json` first
serialises the value with orjson (~0.1 ms for a large harvested record): when that works
and the bytes hold no such character, the value is returned as it is. Otherwise a walk
without recursion (~5 us per node: only for values that need it) cleans strings and keys
and refuses, with a `ValidationError` naming the field, integers outside the 64-bit range
(signed or unsigned, as orjson writes them) and containers nested `MAX_DEPTH` deep: what
orjson, and so every reader, refuses.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from catalog.domain.errors import ValidationError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_VALUE_DEPTH",
    "check_depth",
    "clean_json",
    "clean_text",
]

#: The integers orjson writes: signed or unsigned 64-bit.
INT64_MIN = -(2**63)
INT64_MAX = 2**64 - 1
#: Containers nested this deep are refused: orjson writes at most 254 levels.
MAX_DEPTH = 254
#: Free-form values (`quality`, `source.raw`) may nest this deep: checked when a record is
#: validated, so a too-deep one is a 422 naming the field, before serialisers meet it.
MAX_VALUE_DEPTH = 64

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: The same characters as orjson writes them: escaped (this pattern; its literal first
#: byte lets the regex engine skip ahead fast), or raw (DEL; U+FFFE and U+FFFF, the
#: `_NONCHARACTERS`). An escaped backslash before `b`/`f`/`u00` also matches, which only
#: costs the slow path.
_UNSAFE_ESCAPE = re.compile(rb"\\(?:u00(?:0[0-8bBeEfF]|1[0-9a-fA-F])|[bf])")
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _clean_bytes(encoded: bytes) -> bool:
    """Whether orjson's output holds none of the characters `clean_text` drops."""
    if b"\x7f" in encoded:  # single bytes: memchr-fast; longer needles are 40x slower
        return False
    if b"\xef" in encoded and any(raw in encoded for raw in _NONCHARACTERS):
        return False
    return b"\\" not in encoded or _UNSAFE_ESCAPE.search(encoded) is None


def check_depth(value: Any, limit: int = MAX_VALUE_DEPTH) -> Any:
    """`value` when its containers nest at most `limit` deep; else a ValueError (pydantic
    validators turn it into a 422 naming the field). Only containers are visited."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"nested more than {limit} levels deep")
        children = item.values() if isinstance(item, dict) else item
        if _SCALARS.issuperset(map(type, children)):  # a flat row: one C-level pass
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


#: JSON scalars: a container holding only these has nothing below it to visit
_SCALARS = frozenset({str, int, float, bool, type(None)})


def clean_text(value: str) -> str:
    """`value` without the characters XML 1.0 (and so every export) cannot carry."""
    if _UNSAFE.search(value) is None:  # the common case: one C-level scan, no copy
        return value
    return _UNSAFE.sub("", value)


def clean_json(value: Any, where: str = "body") -> Any:
    """A cleaned copy of a JSON-compatible value (see the module docstring).

    `where` names the value in error messages (e.g. `body.source.raw`).
    """
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):  # huge integers, depth, surrogates, keys
        return _walk(value, where)
    return value if _clean_bytes(encoded) else _walk(value, where)


def _walk(value: Any, where: str) -> Any:
    """The reference path: a cleaned copy, walked without recursion."""
    root: list[Any] = [None]
    # (container to fill, key or index in it, value to clean, path, depth)
    stack: list[tuple[Any, Any, Any, str, int]] = [(root, 0, value, where, 0)]
    while stack:
        target, slot, item, path, depth = stack.pop()
        if depth >= MAX_DEPTH and isinstance(item, dict | list | tuple):
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
            f"{path}: the integer is outside the 64-bit range ({INT64_MIN} to {INT64_MAX})",
            field=_field(path),
        )
    return item


def _field(path: str) -> str:
    """The top-level field a path points into (`body.imaging.matrix[0]` -> `imaging`)."""
    parts = path.replace("[", ".").split(".")
    return parts[1] if len(parts) > 1 else parts[0]

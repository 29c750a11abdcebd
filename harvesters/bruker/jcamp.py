"""A JCAMP-DX reader for Bruker ParaVision parameter files (acqp, method, visu_pars, ...).

ParaVision writes its parameters as JCAMP-DX 4.24 "Parameter Values" with Bruker
extensions: `##$NAME=value` scalars, `##$NAME=( dims )` arrays whose values follow on the
next lines, `<strings>` that may contain parentheses and commas, struct tuples
`(a, b, <c>)`, PV360 run-length encoding `@N*(value)` and `$$` comment lines (the header
comments hold the file's date and path before PV360). Values wrap at about 80 characters,
so an entry runs until the next line that starts with `##` or `$$`.

No maintained permissively licensed parser covers all of this *and* reports where a file
is broken (brukerapi's regex parser raises without line numbers; brkraw is GPL-3), so this
module is written from the format description. A broken value raises `JcampError`
naming the file, the parameter and the line, so a harvest can report the bad item.
With `strict=False` (what the harvester uses) a value that cannot be parsed, e.g. a
PV360 struct written in a shape this reader does not know, keeps its raw text and adds
a warning instead: one odd parameter never costs the whole file.

Hostile files are bounded: a run-length count is checked against the declared size
before anything is expanded (`@200000000*(0)` in a 20-byte line used to allocate
gigabytes), declared sizes are capped at `MAX_VALUES`, dimensions at `MAX_DIMS` and
struct nesting at `MAX_NESTING` (so 50,000 nested `(` never reach Python's recursion
limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any

from catalog.domain.errors import ImagoraError

__all__ = ["JcampDamageError", "JcampError", "JcampFile", "parse_jcamp", "read_jcamp"]

_DIMS = re.compile(r"^\(\s*\d+(?:\s*,\s*\d+)*\s*\)$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_WORD = re.compile(r"[\w.+\-:/]+")
_RLE = re.compile(r"@(\d+)\*\(")

#: Most values one parameter may declare (ParaVision's largest arrays hold ~10^5).
MAX_VALUES = 1_000_000
#: Most dimensions one parameter may declare.
MAX_DIMS = 8
#: Deepest struct nesting `( ( ... ) )` read.
MAX_NESTING = 32
#: Raw text kept for a value that cannot be parsed (non-strict mode).
RAW_CHARS = 2_000


class JcampError(ImagoraError, ValueError):
    """A ParaVision parameter file that cannot be parsed; says where and why."""

    status = 422
    code = "invalid_jcamp"

    def __init__(self, source: str, parameter: str | None, line: int, reason: str) -> None:
        where = f"parameter {parameter}" if parameter else "header"
        super().__init__(f"{source}: line {line}: {where}: {reason}")
        self.source = source
        self.parameter = parameter
        self.line = line
        self.reason = reason


class JcampDamageError(JcampError):
    """The file contradicts itself (more or fewer values than declared): it is damaged,
    not merely written in a shape this reader does not know, so even a lenient parse
    refuses it."""


@dataclass
class JcampFile:
    """A parsed parameter file.

    `header` holds the plain `##KEY` entries (TITLE, JCAMPDX, DATATYPE, ORIGIN, OWNER),
    `params` the `##$KEY` parameters (without the `$`), `comments` every `$$` line (text
    after `$$`, stripped) in file order, `header_comments` those before the first parameter.
    """

    source: str
    header: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    header_comments: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        return self.header.get("TITLE")

    def get(self, key: str, default: Any = None) -> Any:
        """A parameter's value, `default` when the file does not have it."""
        return self.params.get(key, default)


@dataclass
class _Entry:
    key: str
    line: int
    first: str
    rest: list[str] = field(default_factory=list)


def read_jcamp(path: Path | str, *, require_end: bool = True, strict: bool = True) -> JcampFile:
    """Parse the parameter file at `path` (latin-1, as ParaVision writes it)."""
    text = Path(path).read_bytes().decode("latin-1")
    return parse_jcamp(text, str(path), require_end=require_end, strict=strict)


def parse_jcamp(
    text: str, source: str = "<string>", *, require_end: bool = True, strict: bool = True
) -> JcampFile:
    """Parse JCAMP-DX `text`; `source` names the file in error messages.

    With `require_end` a file without `##END=` (a truncated copy) is an error. Without
    `strict`, a parameter value that cannot be parsed keeps its raw text (at most
    `RAW_CHARS`) and its error becomes one of `warnings`.
    """
    result = JcampFile(source=source)
    entries, ended = _split_entries(text, result)
    for entry in entries:
        if entry.key.startswith("$"):
            result.params[entry.key[1:]] = _parse_or_keep(entry, source, strict, result)
        elif entry.key != "END":
            result.header[entry.key] = " ".join([entry.first, *entry.rest]).strip()
    if require_end and not ended:
        last = entries[-1] if entries else None
        name = last.key.lstrip("$") if last and last.key.startswith("$") else None
        line = text.count("\n") + 1
        raise JcampError(source, name, line, "file ends without ##END= (truncated?)")
    return result


def _split_entries(text: str, result: JcampFile) -> tuple[list[_Entry], bool]:
    """Group lines into `##KEY=` entries, collecting `$$` comments on the way."""
    entries: list[_Entry] = []
    current: _Entry | None = None
    in_header = True
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if line.startswith("$$"):
            comment = line[2:].strip()
            result.comments.append(comment)
            if in_header:
                result.header_comments.append(comment)
            current = None
        elif line.startswith("##"):
            key, sep, value = line[2:].partition("=")
            if not sep:
                raise JcampError(result.source, None, number, f"no '=' in {line[:40]!r}")
            current = _Entry(key.strip(), number, value)
            in_header = in_header and not current.key.startswith("$")
            if current.key == "END":
                return entries, True
            entries.append(current)
        elif current is not None:
            current.rest.append(line)
        elif line.strip():
            raise JcampError(result.source, None, number, f"text outside any entry: {line[:40]!r}")
    return entries, False


def _parse_or_keep(entry: _Entry, source: str, strict: bool, result: JcampFile) -> Any:
    try:
        return _parse_entry(entry, source)
    except JcampError as exc:
        if strict or isinstance(exc, JcampDamageError):
            raise
        # the file's own name (acqp, method, ...) only: its folders may name a subject
        where = source.replace("\\", "/").rsplit("/", 1)[-1]
        result.warnings.append(
            f"{where}: line {exc.line}: parameter {exc.parameter}: {exc.reason}; kept its raw text"
        )
        return " ".join(" ".join([entry.first, *entry.rest]).split())[:RAW_CHARS]


def _parse_entry(entry: _Entry, source: str) -> Any:
    name = entry.key[1:]
    first = entry.first.strip()
    body = "\n".join(entry.rest).strip()
    if _DIMS.match(first) and (body or first.startswith("( ")):
        dims = _declared(first, source, name, entry.line)
        scanner = _Scanner(body, source, name, entry.line + 1, limit=prod(dims))
        return _parse_array(scanner, dims)
    text = "\n".join([first, *entry.rest]).strip()
    scanner = _Scanner(text, source, name, entry.line, limit=1)
    return _parse_scalar(scanner, text)


def _declared(first: str, source: str, name: str, line: int) -> list[int]:
    """The declared dimensions, refused when they would declare more than MAX_VALUES."""
    parts = first[1:-1].split(",")
    if len(parts) > MAX_DIMS or any(len(p.strip()) > 9 for p in parts):
        raise JcampError(source, name, line, f"declared size {first} is beyond the limits")
    dims = [int(d) for d in parts]
    if prod(dims) > MAX_VALUES:
        raise JcampError(source, name, line, f"declared size {first} exceeds {MAX_VALUES} values")
    return dims


def _parse_scalar(scanner: _Scanner, text: str) -> Any:
    items = scanner.items()
    if len(items) == 1:
        return items[0]
    if not items:
        return ""
    # Several bare words without declared dims (rare): keep the text as written.
    return " ".join(text.split())


def _parse_array(scanner: _Scanner, dims: list[int]) -> Any:
    items = scanner.items()
    total = prod(dims)
    if items and all(isinstance(i, str) and s for i, s in zip(items, scanner.quoted, strict=True)):
        # Strings: the last dimension is the maximum length, not a count.
        count = prod(dims[:-1])
        if len(items) == count:
            return items[0] if len(dims) == 1 else _reshape(items, dims[:-1])
    if len(items) != total:
        shape = ", ".join(map(str, dims))
        scanner.fail(
            f"declared ( {shape} ) = {total} values, found {len(items)}", end=True, damage=True
        )
    return _reshape(items, dims)


def _reshape(items: list[Any], dims: list[int]) -> list[Any]:
    """Row-major reshape of a flat list into nested lists."""
    if len(dims) <= 1:
        return list(items)
    step = prod(dims[1:])
    return [_reshape(items[i * step : (i + 1) * step], dims[1:]) for i in range(dims[0])]


def _convert(word: str) -> int | float | str:
    if _INT.match(word):
        return int(word)
    if _FLOAT.match(word):
        return float(word)
    return word


class _Scanner:
    """Tokenises one entry's value text; knows its file/parameter/line for errors."""

    def __init__(self, text: str, source: str, name: str, line: int, limit: int) -> None:
        self.text = text
        self.pos = 0
        self.source = source
        self.name = name
        self.line = line
        self.limit = limit  # the declared number of values: bounds run-length expansion
        self.depth = 0
        self.quoted: list[bool] = []

    def fail(self, reason: str, *, end: bool = False, damage: bool = False) -> None:
        pos = len(self.text) if end else self.pos
        line = self.line + self.text.count("\n", 0, pos)
        raise (JcampDamageError if damage else JcampError)(self.source, self.name, line, reason)

    def _skip(self, chars: str = " \t\n\r") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def items(self) -> list[Any]:
        """All whitespace-separated top-level values (RLE expanded)."""
        out: list[Any] = []
        self._skip()
        while self.pos < len(self.text):
            rle = _RLE.match(self.text, self.pos)
            if rle:
                count = self._repeat_count(rle.group(1), len(out))
                self.pos = rle.end() - 1
                quoted = self.text[self.pos + 1 :].lstrip().startswith("<")
                value = self._tuple_or_single()
                out.extend([value] * count)
                self.quoted.extend([quoted] * count)
            else:
                quoted = self.text[self.pos] == "<"
                out.append(self.value())
                self.quoted.append(quoted)
            self._skip()
        return out

    def _repeat_count(self, digits: str, have: int) -> int:
        """`N` of `@N*(...)`, checked against the declared size before expanding."""
        room = self.limit - have
        if len(digits) > len(str(self.limit)) or int(digits) > room:
            shown = digits if len(digits) <= 12 else digits[:12] + "..."
            self.fail(
                f"run-length @{shown}* exceeds the declared size ({self.limit} values)",
                damage=True,
            )
        return int(digits)

    def _tuple_or_single(self) -> Any:
        """`(value)` after `@N*`: a single value, or a struct when it has commas."""
        items = self.tuple()
        return items[0] if len(items) == 1 else items

    def value(self) -> Any:
        char = self.text[self.pos]
        if char == "<":
            return self.string()
        if char == "(":
            return self.tuple()
        match = _WORD.match(self.text, self.pos)
        if not match:
            self.fail(f"unexpected character {char!r}")
        self.pos = match.end()
        return _convert(match.group())

    def string(self) -> str:
        end = self.text.find(">", self.pos + 1)
        if end < 0:
            self.fail("unterminated <string")
        # A string that wraps continues on the next line without a separator.
        value = self.text[self.pos + 1 : end].replace("\n", "")
        self.pos = end + 1
        return value

    def tuple(self) -> list[Any]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.fail(f"structs nested more than {MAX_NESTING} deep")
        self.pos += 1  # "("
        out: list[Any] = []
        while True:
            self._skip()
            if self.pos >= len(self.text):
                self.fail("unterminated ( struct")
            if self.text[self.pos] in ",)":
                self.fail(f"empty struct member before {self.text[self.pos]!r}")
            out.append(self.value())
            self._skip()
            if self.pos >= len(self.text):
                self.fail("unterminated ( struct")
            char = self.text[self.pos]
            self.pos += 1
            if char == ")":
                self.depth -= 1
                return out
            if char != ",":
                self.pos -= 1
                self.fail(f"expected ',' or ')' in struct, found {char!r}")

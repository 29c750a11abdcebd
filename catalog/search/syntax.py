"""The query language of the search box, parsed into conjuncts (the one parser).

Semantics, documented on the search page and in the API docs:

- every word or ``"quoted phrase"`` is a conjunct: ``rat brain`` finds what ``rat``
  finds AND what ``brain`` finds (``AND`` may be written, it changes nothing);
- ``a OR b`` makes one conjunct of both; ``(a OR b OR c)`` groups alternatives;
- ``NOT term`` and ``-term`` exclude (``NOT (a OR b)`` excludes both);
- ``card*`` is a prefix;
- ``field:value``, ``field:"two words"`` and ``field:[a TO b]`` (``*`` for an open end)
  filter on a facet or a numeric field.

Malformed syntax is a `QuerySyntaxError` (HTTP 400) that says what is wrong and how to
write it instead: an unclosed ``(`` or ``"``, a lone ``*``, an operator without a term,
an unknown field (the message lists the fields that exist), a malformed range. Words
that hold no letters or digits (``;``, ``--``) are separators, as before.

The parser knows syntax only. Recognising concepts and imaging facts (``3T``, ``MRI``)
inside the conjuncts is the service's job (`catalog.services.understanding`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.search import (
    DATE_FIELDS,
    FACET_FIELDS,
    MAX_QUERY_LENGTH,
    NUMERIC_FIELDS,
    Atom,
    Conjunct,
    FieldAtom,
    RangeAtom,
    TextAtom,
)

_TOKEN_RE = re.compile(
    r"""
      (?P<quote>"[^"]*"?)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<field>[A-Za-z_][A-Za-z0-9_]*:(?:\[[^\]]*\]?|"[^"]*"?|[^\s()"]*))
    | (?P<neg>-(?=[^\s\-()]))
    | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)
_RANGE_RE = re.compile(r"^\[\s*(\S+)\s+TO\s+(\S+)\s*\]$", re.IGNORECASE)
_HAS_WORD = re.compile(r"\w", re.UNICODE)
OPERATORS = frozenset({"AND", "OR", "NOT"})
RANGE_HELP = "write a range as field:[low TO high], with * for an open end"


def searchable_fields() -> list[str]:
    """Every field a query may name, facets first."""
    return [*FACET_FIELDS, *(name for name in NUMERIC_FIELDS if name not in FACET_FIELDS)]


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def tokens_of(text: str) -> list[_Token]:
    """The query's tokens; quoted phrases, fields and brackets kept whole."""
    found = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "word"
        value = match.group(0)
        if kind == "word" and value in OPERATORS:
            kind = value
        found.append(_Token(kind, value))
    return found


def parse_query(text: str) -> list[Conjunct]:
    """User text -> conjuncts in the order typed; raises `QuerySyntaxError` (400)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"the search text is {len(text)} characters long; the limit is "
            f"{MAX_QUERY_LENGTH} characters, shorten the query",
            field="q",
        )
    return _Parser(tokens_of(_clean(text))).conjuncts()


def _clean(text: str) -> str:
    from catalog.search.query import clean_text

    return clean_text(text)


class _Parser:
    """Recursive descent over the tokens (see the module docstring for the grammar)."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def conjuncts(self) -> list[Conjunct]:
        found: list[Conjunct] = []
        while self.peek() is not None:
            token = self.peek()
            assert token is not None
            if token.kind == "AND":
                self.take()
                if not found or self.peek() is None or self.peek().kind in {"AND", "OR"}:  # type: ignore[union-attr]
                    raise _missing("AND", "both sides", "rat AND brain")
                continue
            if token.kind == "OR":
                raise _missing("OR", "both sides", "rat OR mouse")
            conjunct = self.conjunct()
            if conjunct is not None:
                found.append(conjunct)
        return found

    def conjunct(self) -> Conjunct | None:
        negated = False
        token = self.peek()
        if token is not None and token.kind in {"NOT", "neg"}:
            self.take()
            negated = True
            if self.peek() is None or self.peek().kind in OPERATORS | {"close"}:  # type: ignore[union-attr]
                raise _missing("NOT" if token.kind == "NOT" else "-", "after it", "rat NOT brain")
        atoms = list(self.primary())
        while self.peek() is not None and self.peek().kind == "OR":  # type: ignore[union-attr]
            self.take()
            following = self.peek()
            if following is None or following.kind in OPERATORS | {"close", "neg"}:
                raise _missing("OR", "both sides", "rat OR mouse")
            atoms.extend(self.primary())
        if not atoms:
            if negated:
                raise _missing("NOT", "after it with letters or digits", "rat NOT brain")
            return None
        return Conjunct(atoms=tuple(dict.fromkeys(atoms)), negated=negated)

    def primary(self) -> list[Atom]:
        token = self.take()
        if token.kind == "open":
            return self.group()
        if token.kind == "close":
            raise QuerySyntaxError(
                "a ')' has no matching '('; group alternatives as (a OR b)", field="q"
            )
        return [atom for atom in [_atom(token)] if atom is not None]

    def group(self) -> list[Atom]:
        atoms: list[Atom] = []
        expect_term = True
        while True:
            token = self.peek()
            if token is None:
                raise QuerySyntaxError(
                    "a '(' is not closed; close it with ')', e.g. rat (brain OR spine)",
                    field="q",
                )
            if token.kind == "close":
                self.take()
                if expect_term:
                    raise QuerySyntaxError(
                        "parentheses need terms joined by OR inside, e.g. (brain OR spine)",
                        field="q",
                    )
                return atoms
            if expect_term:
                if token.kind in OPERATORS | {"neg"}:
                    raise QuerySyntaxError(
                        f"'{token.text}' cannot stand there: inside parentheses write "
                        "terms joined by OR, e.g. (brain OR spine)",
                        field="q",
                    )
                atoms.extend(self.primary())
                expect_term = False
            elif token.kind == "OR":
                self.take()
                expect_term = True
            else:
                raise QuerySyntaxError(
                    "inside parentheses join terms with OR, e.g. (brain OR spine); "
                    "terms outside parentheses must all match",
                    field="q",
                )


def _missing(operator: str, where: str, example: str) -> QuerySyntaxError:
    return QuerySyntaxError(f"'{operator}' needs a term {where}, e.g. {example}", field="q")


def _atom(token: _Token) -> Atom | None:
    if token.kind == "quote":
        if len(token.text) < 2 or not token.text.endswith('"'):
            raise QuerySyntaxError(
                'a quote is not closed; close the phrase with ", e.g. "spin echo"', field="q"
            )
        inner = token.text[1:-1].strip()
        return TextAtom("phrase", inner) if _HAS_WORD.search(inner) else None
    if token.kind == "field":
        return field_atom(token.text)
    word = token.text
    if word.endswith("*"):
        stem = word.rstrip("*")
        if not _HAS_WORD.search(stem):
            raise QuerySyntaxError(
                "'*' needs letters before it: it ends a prefix, e.g. card*", field="q"
            )
        return TextAtom("prefix", stem)
    return TextAtom("word", word) if _HAS_WORD.search(word) else None


def field_atom(text: str) -> Atom:
    """`field:value`, `field:"two words"` or `field:[a TO b]` as an atom."""
    name, _, value = text.partition(":")
    name = name.lower()
    if name not in FACET_FIELDS and name not in NUMERIC_FIELDS:
        raise QuerySyntaxError(
            f"unknown field '{name}' in '{text}'; fields you can search: "
            + ", ".join(searchable_fields()),
            field=name,
        )
    if value.startswith("["):
        return range_atom(name, value)
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise QuerySyntaxError(f'the quote after {name}: is not closed, e.g. {name}:"a b"')
        value = value[1:-1]
    value = value.strip()
    if not value or not _HAS_WORD.search(value):
        raise QuerySyntaxError(f"'{name}:' needs a value, e.g. {_example(name)}", field=name)
    if name in NUMERIC_FIELDS and name not in FACET_FIELDS:
        low, high = bounds_of(name, value, value)
        return RangeAtom(name, low, high)
    return FieldAtom(name, (value,))


def range_atom(name: str, value: str) -> RangeAtom:
    if name not in NUMERIC_FIELDS:
        numeric = ", ".join(NUMERIC_FIELDS)
        raise QuerySyntaxError(f"'{name}' has no ranges; fields with ranges: {numeric}", field=name)
    match = _RANGE_RE.match(value)
    if not match:
        raise QuerySyntaxError(
            f"malformed range '{name}:{value}'; {RANGE_HELP}, e.g. {_example(name)}", field=name
        )
    low, _ = bounds_of(name, match.group(1), None) if match.group(1) != "*" else (None, None)
    _, high = bounds_of(name, None, match.group(2)) if match.group(2) != "*" else (None, None)
    if low is None and high is None:
        raise QuerySyntaxError(f"the range of '{name}' is open at both ends; {RANGE_HELP}")
    if low is not None and high is not None and low > high:
        raise QuerySyntaxError(
            f"the range of '{name}' starts above its end; write [low TO high]", field=name
        )
    return RangeAtom(name, low, high)


def bounds_of(name: str, low: str | None, high: str | None) -> tuple[float | None, float | None]:
    """Numeric bounds of a value (a date's first and last day for date fields)."""
    if name in DATE_FIELDS:
        return (
            _date_bound(name, low, first=True) if low is not None else None,
            _date_bound(name, high, first=False) if high is not None else None,
        )
    return (
        _number(name, low) if low is not None else None,
        _number(name, high) if high is not None else None,
    )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise QuerySyntaxError(
            f"'{text}' is not a number; '{name}' takes numbers, e.g. {_example(name)}",
            field=name,
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise QuerySyntaxError(f"'{text}' is not a finite number ('{name}')", field=name)
    return value


def _date_bound(name: str, text: str, *, first: bool) -> float:
    """YYYY, YYYY-MM or YYYY-MM-DD -> ordinal day of the period's first or last day."""
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            day = date(numbers[0], 1, 1) if first else date(numbers[0], 12, 31)
        elif len(numbers) == 2:
            last = calendar.monthrange(numbers[0], numbers[1])[1]
            day = date(numbers[0], numbers[1], 1 if first else last)
        elif len(numbers) == 3:
            day = date(*numbers)
        else:
            raise ValueError(text)
    except ValueError:
        raise QuerySyntaxError(
            f"'{text}' is not a date; '{name}' takes YYYY, YYYY-MM or YYYY-MM-DD, "
            f"e.g. {_example(name)}",
            field=name,
        ) from None
    return float(day.toordinal())


_EXAMPLES = {
    "acquired": "acquired:[2020-01 TO 2021-06]",
    "field_strength": "field_strength:[1.5 TO 3]",
    "tr_ms": "tr_ms:[1000 TO 3000]",
    "modality": "modality:MR",
    "manufacturer": "manufacturer:Bruker",
    "species": "species:rat",
}


def _example(name: str) -> str:
    if name in _EXAMPLES:
        return _EXAMPLES[name]
    if name in NUMERIC_FIELDS:
        return f"{name}:[1 TO 10]"
    return f"{name}:value"

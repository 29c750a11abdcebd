"""Search parameters, validated in one place (the API, the pages and the CLI all pass
through `RecordService.search`, which calls this; backends re-check only what a direct
caller could get wrong, with the same functions and messages).

Filters: every facet (`modality=MR`, repeatable: values of one facet are ORed, facets
ANDed), `level`, and every numeric field as a range: `tr_ms=[1000 TO 3000]`,
`tr_ms=2000`, or `tr_ms.min=1000` / `tr_ms.max=3000` (either end may be left out).
A filter on an unknown field is a 400 naming the fields that exist; a value that cannot
be a number where a number is needed is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.domain.enums import Level
from catalog.domain.errors import QuerySyntaxError, ValidationError
from catalog.domain.imaging import strength_in_words, strength_value
from catalog.domain.search import (
    DATE_FIELDS,
    FACET_FIELDS,
    MAX_QUERY_LENGTH,
    NUMERIC_FIELDS,
    RangeAtom,
)
from catalog.search.query import clean_text
from catalog.search.syntax import bounds_of, range_atom, searchable_fields

MAX_FILTER_VALUE = 500
_BOUNDS = {"min": 0, "max": 1}


@dataclass
class CheckedFilters:
    """Facet filters (field -> accepted values) and numeric ranges."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    ranges: list[RangeAtom] = field(default_factory=list)


def check_text(text: str) -> None:
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"the search text is {len(text)} characters long; the limit is "
            f"{MAX_QUERY_LENGTH} characters, shorten the query",
            field="q",
        )
    if "\x00" in text:
        raise QuerySyntaxError("the search text contains a NUL character", field="q")


def check_request(
    text: str, filters: Mapping[str, list[str]], level: str | None = None
) -> CheckedFilters:
    """The validated filters of a search request (see the module docstring)."""
    check_text(text)
    checked = CheckedFilters()
    bounds: dict[str, list[float | None]] = {}
    for name, values in filters.items():
        kept = [clean_text(str(v)) for v in values]
        kept = [v for v in kept if v]
        base, _, end = name.rpartition(".")
        if base in NUMERIC_FIELDS and end in _BOUNDS:
            for value in kept:
                bounds.setdefault(base, [None, None])[_BOUNDS[end]] = _bound(name, value)
            continue
        if name == "collection_id":  # one dataset's records (the grouped view's links)
            checked.filters.setdefault(name, []).extend(kept)
            continue
        _check_name(name)
        if any(len(v) > MAX_FILTER_VALUE for v in kept):
            raise QuerySyntaxError(
                f"a filter value for '{name}' is longer than {MAX_FILTER_VALUE} characters",
                field=name,
            )
        for value in kept:
            _add(checked, name, value)
    for name, (low, high) in bounds.items():
        if low is not None or high is not None:
            checked.ranges.append(RangeAtom(name, low, high))
    if level:
        checked.filters.setdefault("level", []).append(_level(level))
    return checked


def _check_name(name: str) -> None:
    if name not in FACET_FIELDS and name not in NUMERIC_FIELDS:
        raise QuerySyntaxError(
            f"cannot filter on '{clean_text(name)[:60]}' (unknown field); fields you can "
            "filter on: "
            + ", ".join(searchable_fields())
            + " (numeric ones also as FIELD=[low TO high], FIELD.min=, FIELD.max=)",
            field=name,
        )


def _add(checked: CheckedFilters, name: str, value: str) -> None:
    if value.startswith("[") and name in NUMERIC_FIELDS:
        checked.ranges.append(range_atom(name, value))
    elif name == "level":
        checked.filters.setdefault(name, []).append(_level(value))
    elif name == "field_strength":
        strength = strength_in_words(value.split(), 0) or _plain_strength(value)
        checked.filters.setdefault(name, []).append(strength_value(strength[0]))
    elif name in FACET_FIELDS:
        checked.filters.setdefault(name, []).append(value)
    else:
        number = _number(name, value)
        checked.ranges.append(RangeAtom(name, number, number))


def _bound(name: str, value: str) -> float:
    """One end of a `FIELD.min` / `FIELD.max` range (dates: the day's ordinal)."""
    base, _, end = name.rpartition(".")
    if base in DATE_FIELDS:
        low, high = bounds_of(base, value, value)
        return (low if end == "min" else high) or 0.0
    return _number(name, value)


def _plain_strength(value: str) -> tuple[float, int]:
    from catalog.domain.imaging import nominal_field_strength

    number = _number("field_strength", value.removesuffix("T").strip())
    return (nominal_field_strength(number) or number), 1


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(
            f"query.{name}: '{value[:50]}' is not a number; '{name.partition('.')[0]}' "
            "takes numbers, e.g. 3 or [1 TO 10]",
            field=name,
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(f"query.{name}: '{value[:50]}' is not a finite number", field=name)
    return number


def _level(value: str) -> str:
    try:
        return Level(value).value
    except ValueError:
        allowed = ", ".join(level.value for level in Level)
        raise QuerySyntaxError(
            f"unknown level '{clean_text(value)[:60]}'; use one of: {allowed}", field="level"
        ) from None

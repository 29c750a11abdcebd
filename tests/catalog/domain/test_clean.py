"""`catalog.domain.clean`: the orjson fast path agrees with the reference walk on every
character that matters, and the bounds are the ones orjson (every reader) has."""

from __future__ import annotations

import pytest

from catalog.domain.clean import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    _walk,
    check_depth,
    clean_json,
    clean_text,
)
from catalog.domain.errors import ValidationError

DROPPED = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]
DROPPED += ["\ufffe", "\uffff", "\ud800", "\udfff"]
KEPT = ["\t", "\n", "\r", " ", "é", "中", "\uf000", "\u00a0", "\\", '"', "\\b", "\\u0000"]


@pytest.mark.parametrize("char", DROPPED)
def test_dropped_characters(char: str) -> None:
    value = {"title": f"a{char}b", f"k{char}": [f"x{char}"], "n": 1}
    assert clean_json(value) == _walk(value, "body") == {"title": "ab", "k": ["x"], "n": 1}
    assert clean_text(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", KEPT)
def test_kept_characters(char: str) -> None:
    value = {"title": f"a{char}b", "list": [f"x{char}", 2.5, None, True]}
    assert clean_json(value) == _walk(value, "body") == value
    assert clean_text(f"a{char}b") == f"a{char}b"


def test_clean_values_are_returned_as_they_are() -> None:
    value = {"a": ["text\nwith lines", {"b": 1}]}
    assert clean_json(value) is value  # the fast path copies nothing


@pytest.mark.parametrize("number", [INT64_MIN, INT64_MAX, 0, -1, 2**63])
def test_64_bit_integers_are_kept(number: int) -> None:
    assert clean_json({"n": [number]}) == {"n": [number]}


@pytest.mark.parametrize("number", [INT64_MIN - 1, INT64_MAX + 1, 10**400])
def test_wider_integers_are_refused_naming_the_field(number: int) -> None:
    with pytest.raises(ValidationError) as info:
        clean_json({"imaging": {"matrix": [1, number]}})
    assert info.value.message.startswith("body.imaging.matrix[1]: the integer is outside")
    assert info.value.field == "imaging"


def test_depth_bounds_match_orjson() -> None:
    value: object = "x"
    for _ in range(MAX_DEPTH):
        value = [value]
    assert clean_json({"q": value[0]}) == {"q": value[0]}  # type: ignore[index]
    with pytest.raises(ValidationError, match=f"nested more than {MAX_DEPTH} levels"):
        clean_json({"q": value})


def test_check_depth() -> None:
    value: object = 1
    for _ in range(64):
        value = {"a": value}
    assert check_depth(value) is value
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        check_depth([value])
    deep: object = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError):  # no recursion, however deep
        check_depth(deep)


def test_check_depth_visits_containers_beside_scalars_and_subclasses() -> None:
    """Flat containers are skipped in one pass; a deep one among scalars is still found,
    as is one inside a dict subclass (not a JSON scalar type)."""
    from collections import OrderedDict

    deep: object = "leaf"
    for _ in range(63):  # 64 levels deep under a dict
        deep = [deep]
    row = {f"col{i}": str(i) for i in range(40)} | {"n": 1.5, "none": None, "flag": True}
    assert check_depth(row) is row and check_depth({"row": row, "deep": deep})
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        check_depth({**row, "deep": [deep]})
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        check_depth(OrderedDict(row=row, deep=[deep]))

"""Imaging facts (nominal field strength, vendors, ages) and the bounded memo."""

from __future__ import annotations

import pytest

from catalog.domain.imaging import (
    age_in_days,
    describe_strength,
    nominal_field_strength,
    normalise_imaging,
    normalise_vendor,
    strength_in_words,
)
from catalog.domain.memo import Memo


@pytest.mark.parametrize(
    ("measured", "nominal"),
    [(2.89, 3.0), (3.0, 3.0), (7.05, 7.0), (9.39, 9.4), (1.494, 1.5), (0.3, 0.3), (6.0, 6.0)],
)
def test_nominal_field_strength(measured, nominal):
    assert nominal_field_strength(measured) == nominal


def test_strength_words_and_description():
    assert strength_in_words(["3T"], 0) == (3.0, 1)
    assert strength_in_words(["9.4t"], 0) == (9.4, 1)
    assert strength_in_words(["rat", "7", "tesla"], 1) == (7.0, 2)
    assert strength_in_words(["3", "T"], 0) == (3.0, 2)
    assert strength_in_words(["3"], 0) is None and strength_in_words(["T2"], 0) is None
    assert describe_strength(3.0) == "field strength 3 T (2.8\u20133.2 T)"


@pytest.mark.parametrize(
    ("raw", "vendor"),
    [
        ("SIEMENS", "Siemens"),
        ("G.E. Medical Systems", "GE"),
        ("GE MEDICAL SYSTEMS", "GE"),
        ("Philips Healthcare", "Philips"),
        ("TOSHIBA_MEC", "Canon"),
        ("Canon Medical Systems", "Canon"),
        ("Bruker BioSpin MRI GmbH", "Bruker"),
        ("UIH", "United Imaging"),
        ("United Imaging Healthcare", "United Imaging"),
        ("Acme Scanners", "Acme Scanners"),
    ],
)
def test_vendor_names(raw, vendor):
    assert normalise_vendor(raw) == vendor


def test_write_time_normalisation_keeps_the_raw_value():
    body = {"imaging": {"manufacturer": "G.E. Medical Systems", "field_strength_t": 2.89}}
    out = normalise_imaging(body)
    assert out["imaging"] == {
        "manufacturer": "GE",
        "field_strength_t": 2.89,
        "field_strength_nominal_t": 3.0,
    }
    assert out["source"]["raw"]["manufacturer"] == "G.E. Medical Systems"
    assert body["imaging"]["manufacturer"] == "G.E. Medical Systems"  # input untouched
    assert normalise_imaging(out) == out  # idempotent: re-harvests hash the same


def test_ages():
    assert age_in_days("084D") == 84.0
    assert age_in_days("P12W") == 84.0
    assert age_in_days("029Y") == round(29 * 365.25, 1)
    assert age_in_days("old") is None


def test_memo_is_bounded_and_forgets_old_generations():
    memo: Memo[int] = Memo(2)
    calls: list[str] = []

    def build(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert memo.get("a", lambda: build("a"), generation=1) == 1
    assert memo.get("a", lambda: build("a"), generation=1) == 1
    memo.get("b", lambda: build("b"), generation=1)
    memo.get("c", lambda: build("c"), generation=1)  # evicts "a", least recently used
    assert len(memo) == 2
    memo.get("a", lambda: build("a"), generation=1)
    assert calls == ["a", "b", "c", "a"]
    memo.get("a", lambda: build("a"), generation=2)  # a new generation starts empty
    assert calls[-1] == "a" and len(memo) == 1
    with pytest.raises(ValueError):
        Memo(0)

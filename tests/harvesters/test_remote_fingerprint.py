"""Row fingerprints: orjson's fast path gives exactly the standard encoder's fingerprint,
so items fingerprinted by earlier runs are still recognised as unchanged."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import pytest

from harvesters.remote import row_fingerprint


def reference(row: dict[str, Any]) -> str:
    """The fingerprint as earlier runs stored it (the standard encoder)."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return "row:" + hashlib.sha256(text.encode()).hexdigest()[:32]


ROWS = [
    {"ID": "XNAT_E00001", "label": "s1", "date": "2024-01-01", "xnat:mrscandata/fieldstrength": ""},
    {"id": 12, "studyId": 1, "repetitionTime": [{"repetitionTimeValue": 2300.0}], "x": None},
    {"z": {"b": 1, "a": [True, False, 0.1, -3.25, 1e15, 1e16, 0.0001]}},
    {"name": "B\u00e9b\u00e9", "tags": ["\u00b5T", "ok"]},
    {"small": 1e-05, "text": "1e-5 in words"},
    {"huge": 2**70},
    {1: "int key", 2: "another"},
    {"when": datetime.datetime(2024, 1, 2, 3, 4, 5), "day": datetime.date(2024, 1, 2)},
    {},
]


@pytest.mark.parametrize("row", ROWS, ids=range(len(ROWS)))
def test_fingerprint_equals_the_standard_encoders(row: dict[str, Any]) -> None:
    assert row_fingerprint(row) == reference(row)


def test_any_column_change_changes_it() -> None:
    base = {"id": "1", "label": "s1", "values": [1, 2]}
    assert row_fingerprint(base) != row_fingerprint({**base, "label": "s2"})
    assert row_fingerprint(base) != row_fingerprint({**base, "values": [2, 1]})
    assert row_fingerprint(base) == row_fingerprint(dict(reversed(list(base.items()))))

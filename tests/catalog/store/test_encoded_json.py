"""`EncodedJSON`: text `dump_json` wrote already is stored as it is, not encoded again."""

from __future__ import annotations

from catalog.store.database import EncodedJSON, dump_json, load_json


def test_encoded_text_passes_through_and_reads_back() -> None:
    facts = [{"path": "a/b.dcm", "data": {"tr_ms": 2300.0, "nan": float("nan")}}]
    text = dump_json(facts)
    assert dump_json(EncodedJSON(text)) == text  # not a JSON string holding the text
    assert load_json(dump_json(EncodedJSON(text))) == load_json(text)
    assert load_json(text)[0]["data"]["nan"] is None  # the store's own form: NaN is null

"""JSON columns go through orjson, and still read what the standard library wrote before."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import text

from catalog.store.database import dump_json, json_copy, load_json, make_engine, migrate
from catalog.store.repository import StoredRecord, UnitOfWork, session_factory


def test_values_orjson_refuses_are_written_by_the_standard_library() -> None:
    huge = {"count": 2**70, "1": "non-string keys become strings"}
    assert json.loads(dump_json(huge)) == {"count": 2**70, "1": "non-string keys become strings"}
    assert json.loads(dump_json({1: "a"})) == {"1": "a"}


def test_not_a_number_written_before_still_reads_back() -> None:
    assert math.isnan(load_json('{"tr": NaN}')["tr"])
    assert load_json(b'{"tr": 2300.0}') == {"tr": 2300.0}


def test_a_copy_equals_what_the_store_returns() -> None:
    # NaN is stored as null (PostgreSQL's JSON refuses NaN): the copy says so too
    value = {"a": (1, 2), "b": float("nan"), "c": [{"d": 1.5}]}
    assert json_copy(value) == {"a": [1, 2], "b": None, "c": [{"d": 1.5}]}


def test_records_round_trip_through_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    body = {"imaging": {"tr_ms": 2300.0, "matrix": [256, 256]}, "title": "na\u00efve \u2013 \u00fc"}
    with UnitOfWork(sessions) as uow:
        uow.records.save(
            StoredRecord(id="r1", level="acquisition", title="T1w", body=body, access={})
        )
        uow.commit()
    with engine.connect() as connection:  # an older row, written by json.dumps with NaN
        connection.execute(
            text("UPDATE records SET curation = :c WHERE id = 'r1'"),
            {"c": json.dumps({"harvested": {"te_ms": float("nan")}})},
        )
        connection.commit()
    with UnitOfWork(sessions) as uow:
        stored = uow.records.get_many(["r1"])["r1"]
        assert stored.body == body
        assert math.isnan(stored.curation["harvested"]["te_ms"])  # type: ignore[index]
    engine.dispose()

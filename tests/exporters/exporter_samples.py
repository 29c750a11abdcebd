"""Sample records for the exporter tests, built directly as `RecordPublic` (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog.domain.records import RecordPublic, RecordSummary

BASE = "https://imagora.example.org"
SHAPES = Path(__file__).resolve().parents[1] / "data" / "dcat-ap" / "dcat-ap-SHACL.ttl"
RAT = {"iri": "http://purl.obolibrary.org/obo/NCBITaxon_10116", "label": "Rattus norvegicus"}
WHEN = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def make_record(**fields: Any) -> RecordPublic:
    data: dict[str, Any] = {
        "id": "rec-1",
        "level": "collection",
        "title": "Rat brain MRI at 9.4 T",
        "created": WHEN,
        "updated": WHEN,
    }
    data.update(fields)
    return RecordPublic.model_validate(data)


def child(record_id: str, title: str) -> RecordSummary:
    return RecordSummary(id=record_id, level="subject", title=title)

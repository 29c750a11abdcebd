"""The local FAIR self-assessment on the F-UJI v0.5 metric list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from catalog.domain.records import RecordPublic
from catalog.services.fair import Offer, assess
from exporters.base import ExportContext, LinkedResource
from exporters.registry import RECORD_FORMATS

WHEN = datetime(2025, 3, 4, tzinfo=UTC)
CONTEXT = ExportContext(base_url="https://cat.example.org")
OFFER = Offer(frozenset(RECORD_FORMATS))
METRICS = [
    "FsF-F1-01D", "FsF-F1-02D", "FsF-F2-01M", "FsF-F3-01M", "FsF-F4-01M", "FsF-A1-01M",
    "FsF-A1-02M", "FsF-A1-03D", "FsF-I1-01M", "FsF-I2-01M", "FsF-I3-01M", "FsF-R1-01MD",
    "FsF-R1.1-01M", "FsF-R1.2-01M", "FsF-R1.3-01M", "FsF-R1.3-02D",
]  # fmt: skip


def record(**fields: Any) -> RecordPublic:
    data = {"id": "r1", "level": "collection", "title": "A study", "created": WHEN}
    return RecordPublic.model_validate({**data, "updated": WHEN, **fields})


def scores(report) -> dict[str, int]:
    return {m.id: m.score for m in report.metrics}


def test_all_sixteen_metrics_with_f_uji_maxima() -> None:
    report = assess(record(), CONTEXT, OFFER)
    assert [m.id for m in report.metrics] == METRICS
    assert report.max_score == 24


def test_a_bare_record_gets_advice() -> None:
    report = assess(record(), CONTEXT, OFFER)
    got = scores(report)
    assert got["FsF-F1-02D"] == 0 and got["FsF-R1.1-01M"] == 0 and got["FsF-F2-01M"] == 0
    advice = {m.id: m.advice for m in report.advice}
    assert "imagora publish ID --to zenodo" in advice["FsF-F1-02D"]
    assert advice["FsF-R1.1-01M"] == "Set a licence as an SPDX identifier (e.g. CC-BY-4.0)."
    assert advice["FsF-F2-01M"] == "Add creators and a description and keywords."
    assert "FsF-I1-01M" not in advice  # JSON-LD and Turtle are served for every record
    assert report.percent < 60


def test_a_rich_record_scores_higher() -> None:
    rich = record(
        description="Structural MRI of adult rat brains at 9.4 T, with BIDS sidecars.",
        creators=[{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097"}],
        keywords=["rat"],
        license="CC-BY-4.0",
        identifiers=[{"identifier": "10.5281/zenodo.123", "scheme": "doi"}],
        imaging={"modality": "MR"},
        subject={
            "species": {"iri": "http://purl.obolibrary.org/obo/NCBITaxon_10116", "label": "rat"}
        },
        files=[
            {
                "path": "https://data.example.org/a.nii.gz",
                "size": 10,
                "format": "application/x-nifti-gz",
            }
        ],
        source={"type": "bids", "location": "/data/ds", "harvester_version": "1.0"},
    )
    linked = ExportContext(
        base_url=CONTEXT.base_url,
        links=[LinkedResource("IsSupplementTo", "10.1000/p", "DOI", "Text")],
    )
    report = assess(rich, linked, OFFER)
    assert report.score == report.max_score, [(m.id, m.advice) for m in report.advice]
    assert report.percent == 100
    with_url_licence = assess(rich.model_copy(update={"license": "https://x.org/l"}), linked, OFFER)
    assert scores(with_url_licence)["FsF-R1.1-01M"] == 1


def test_restricted_and_embargoed_records() -> None:
    hidden = assess(record(access={"record": "restricted"}), CONTEXT, OFFER)
    assert scores(hidden)["FsF-F4-01M"] == 0
    embargoed = record(access={"files": "embargoed", "embargo_until": "2999-01-01"})
    assert scores(assess(embargoed, CONTEXT, OFFER))["FsF-A1-01M"] == 1

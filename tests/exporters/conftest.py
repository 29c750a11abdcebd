"""Fixtures for the exporter tests: sample records and the DCAT-AP shapes (parsed once)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from rdflib import Graph

from catalog.domain.records import RecordPublic
from exporters.base import ExportContext

sys.path.insert(0, str(Path(__file__).parent))
from exporter_samples import BASE, RAT, SHAPES, make_record


@pytest.fixture
def context() -> ExportContext:
    return ExportContext(base_url=BASE)


@pytest.fixture
def collection() -> RecordPublic:
    return make_record(
        id="rat-study",
        description="Structural and functional MRI of adult rat brains, acquired at 9.4 T.",
        creators=[
            {"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Inria"},
            {"name": "Imaging Core Laboratory"},
        ],
        license="CC-BY-4.0",
        keywords=["rat", "brain"],
        identifiers=[{"identifier": "10.5281/zenodo.123", "scheme": "doi"}],
        related=[
            {"identifier": "10.1000/paper", "scheme": "DOI", "relation": "IsCitedBy"},
            {"identifier": "https://other.example.org/ds/9", "relation": "IsIdenticalTo"},
        ],
        terms=[
            {
                "iri": "http://purl.obolibrary.org/obo/UBERON_0000955",
                "label": "brain",
                "scheme": "uberon",
                "status": "accepted",
            }
        ],
        children_count=2,
    )


@pytest.fixture
def acquisition() -> RecordPublic:
    return make_record(
        id="rat-01-t2",
        level="acquisition",
        title="T2 RARE",
        license="CC-BY-4.0",
        imaging={
            "modality": "MR",
            "field_strength_t": 9.4,
            "manufacturer": "Bruker",
            "sequence": "RARE",
            "tr_ms": 2500.0,
            "te_ms": 33.0,
            "voxel_size_mm": [0.1, 0.1, 0.5],
        },
        subject={"species": RAT},
        bids={"datatype": "anat", "suffix": "T2w"},
        files=[
            {"path": "sub-01/anat/sub-01_T2w.nii.gz", "size": 10},
            {"path": "https://data.example.org/rat/T2w.nii.gz", "size": 123456},
        ],
        parents=[
            {"id": "rat-study", "level": "collection", "title": "Rat brain MRI at 9.4 T"},
            {"id": "rat-01-ses-1", "level": "session", "title": "Session 1"},
        ],
        parent_id="rat-01-ses-1",
    )


@pytest.fixture
def embargoed(acquisition: RecordPublic) -> RecordPublic:
    data = acquisition.model_dump()
    data["access"].update(files="embargoed", embargo_until=date(2999, 1, 1))
    return RecordPublic.model_validate(data)


@pytest.fixture(scope="session")
def dcat_shapes() -> Graph:
    """The DCAT-AP 3.0.0 SHACL shapes, parsed once per test session."""
    return Graph().parse(SHAPES)

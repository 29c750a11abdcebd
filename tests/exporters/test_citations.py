"""CSL-JSON and RIS: what reference managers import, checked field by field."""

from __future__ import annotations

import json

from exporter_samples import make_record

from exporters.csl import CslJsonExporter
from exporters.ris import RisExporter


def _publication():
    return make_record(
        id="pub-1",
        level="publication",
        title="Mapping the rat brain at 9.4 T",
        creators=[{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097"}, {"name": "John Smith"}],
        identifiers=[
            {"identifier": "https://doi.org/10.1000/paper", "scheme": "doi"},
            {"identifier": "12345678", "scheme": "pmid"},
        ],
        publication={"year": 2024, "venue": "NeuroImage", "volume": "280", "pages": "120-131"},
    )


def test_csl_json_of_a_dataset(collection, context):
    items = json.loads(CslJsonExporter().render(collection, context))
    assert len(items) == 1
    item = items[0]
    assert item["type"] == "dataset"
    assert item["title"] == "Rat brain MRI at 9.4 T"
    assert item["author"][0] == {
        "family": "Doe",
        "given": "Jane",
        "ORCID": "https://orcid.org/0000-0002-1825-0097",
    }
    assert item["author"][1] == {"literal": "Imaging Core Laboratory"}
    assert item["DOI"] == "10.5281/zenodo.123"
    assert item["URL"] == "https://doi.org/10.5281/zenodo.123"
    assert item["issued"] == {"date-parts": [[2025]]}
    assert item["publisher"] == "Imagora"


def test_csl_json_of_a_publication(context):
    item = json.loads(CslJsonExporter().render(_publication(), context))[0]
    assert item["type"] == "article-journal"
    assert item["container-title"] == "NeuroImage"
    assert item["issued"] == {"date-parts": [[2024]]}
    assert item["DOI"] == "10.1000/paper"
    assert item["PMID"] == "12345678"
    assert item["author"][1] == {"family": "Smith", "given": "John"}
    assert "publisher" not in item


def test_ris_of_a_dataset(collection, context):
    text = RisExporter().render(collection, context)
    lines = text.split("\r\n")
    assert lines[0] == "TY  - DATA"
    assert "AU  - Doe, Jane" in lines
    assert "AU  - Imaging Core Laboratory" in lines
    assert "TI  - Rat brain MRI at 9.4 T" in lines
    assert "PY  - 2025" in lines
    assert "DO  - 10.5281/zenodo.123" in lines
    assert "UR  - https://doi.org/10.5281/zenodo.123" in lines
    assert "KW  - rat" in lines
    assert lines[-2:] == ["ER  - ", ""]


def test_ris_of_a_publication_and_one_line_values(context):
    record = _publication().model_copy(update={"description": "Line one.\nLine two."})
    lines = RisExporter().render(record, context).split("\r\n")
    assert lines[0] == "TY  - JOUR"
    assert "JO  - NeuroImage" in lines
    assert "SP  - 120" in lines
    assert "EP  - 131" in lines
    assert "AN  - PMID:12345678" in lines
    assert "AB  - Line one. Line two." in lines

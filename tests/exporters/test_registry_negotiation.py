"""The exporter registry (as the CLI uses it) and Accept-header negotiation."""

from __future__ import annotations

import json

import pytest

from catalog.domain.errors import NotFoundError
from catalog.settings import Settings
from exporters.negotiation import negotiate
from exporters.registry import RECORD_FORMATS, by_extension, by_media_type, exporters


def test_registry_names_and_classes():
    assert set(RECORD_FORMATS) <= set(exporters.names())
    assert {name: exporters.get(name).media_type for name in RECORD_FORMATS} == {
        "jsonld": "application/ld+json",
        "turtle": "text/turtle",
        "datacite-xml": "application/vnd.datacite.datacite+xml",
        "bibtex": "application/x-bibtex",
        "csl-json": "application/vnd.citationstyles.csl+json",
        "ris": "application/x-research-info-systems",
    }
    assert sorted(by_extension()) == ["bib", "csl.json", "jsonld", "ris", "ttl", "xml"]
    assert exporters.unavailable() == {}
    with pytest.raises(NotFoundError, match="unknown exporter 'pdf'; known exporters: bibtex"):
        exporters.get("pdf")


def test_export_with_settings_as_the_cli_calls_it(collection, tmp_path):
    settings = Settings.load(data_dir=tmp_path, base_url="https://cat.example.org/")
    text = exporters.get("jsonld")(settings).export(collection)
    assert json.loads(text)["url"] == "https://cat.example.org/records/rat-study"
    with pytest.raises(TypeError, match="needs settings"):
        exporters.get("bibtex")().export(collection)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("application/ld+json", "application/ld+json"),
        ("text/turtle", "text/turtle"),
        ("application/vnd.datacite.datacite+xml", "application/vnd.datacite.datacite+xml"),
        ("application/x-bibtex", "application/x-bibtex"),
        ("text/x-bibtex", "application/x-bibtex"),
        ("application/vnd.citationstyles.csl+json", "application/vnd.citationstyles.csl+json"),
        ("application/citeproc+json", "application/vnd.citationstyles.csl+json"),
        ("application/x-research-info-systems", "application/x-research-info-systems"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None),
        ("*/*", None),
        ("", None),
        ("image/png", None),
        ("text/html;q=0.5, text/turtle", "text/turtle"),
        ("application/ld+json;q=0.9, text/turtle", "text/turtle"),
        ("text/turtle;q=0, application/ld+json;q=0.1", "application/ld+json"),
        ("application/ld+json, text/turtle", "application/ld+json"),
        ("text/turtle;q=abc, text/html", None),
    ],
)
def test_negotiate(accept, chosen):
    assert negotiate(accept) == chosen


def test_media_types_map_to_exporters():
    assert by_media_type()["text/turtle"].name == "turtle"

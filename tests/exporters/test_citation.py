"""The formatted data citation shown on landing pages (DataCite's recommended form)."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.records import Creator, Identifier, RecordPublic
from exporters.citation import MAX_AUTHORS, citation, citation_text

CREATED = datetime(2024, 3, 5, tzinfo=UTC)


def record(**fields: object) -> RecordPublic:
    values: dict[str, object] = {
        "id": "rat-study",
        "level": "collection",
        "title": "Rat brain MRI at 9.4 T",
        "created": CREATED,
        "updated": CREATED,
    }
    values.update(fields)
    return RecordPublic.model_validate(values)


def test_citation_with_people_a_doi_and_a_version() -> None:
    cited = record(
        creators=[
            Creator(name="Jane Doe", orcid="0000-0002-1825-0097"),
            Creator(name="Smith, John Paul"),
            Creator(name="Ana-Maria Silva"),
        ],
        identifiers=[Identifier(identifier="10.5281/zenodo.123", scheme="doi")],
        version=2,
    )
    assert citation_text(cited, "https://imagora.example.org") == (
        "Doe, J., Smith, J. P., & Silva, A. M. (2024). Rat brain MRI at 9.4 T (Version 2) "
        "[Data set]. Imagora. https://doi.org/10.5281/zenodo.123"
    )


def test_without_a_doi_the_landing_page_is_the_identifier() -> None:
    parts = citation(record(), "https://imagora.example.org/")
    assert parts.identifier == "https://imagora.example.org/records/rat-study"
    assert parts.authors == "Imagora"  # no creators: the publisher stands as author
    assert parts.year == 2024 and parts.version == "Version 1"


def test_organisations_are_not_turned_into_initials() -> None:
    cited = record(creators=[Creator(name="Neuroimaging Laboratory of Nice")])
    assert citation_text(cited).startswith("Neuroimaging Laboratory of Nice (2024). ")


def test_long_author_lists_end_with_et_al() -> None:
    many = [Creator(name=f"Author{i} Person", orcid=f"0000-0000-0000-{i:04d}") for i in range(25)]
    authors = citation(record(creators=many)).authors
    assert authors.endswith("Person, A., et al.") and authors.count(", A.") == MAX_AUTHORS


def test_blank_or_odd_creator_names_never_break_the_citation() -> None:
    cited = record(creators=[Creator(name="   "), Creator(name="Plato"), Creator(name=", X")])
    assert citation(cited).authors == "Plato, & X"
    assert citation(record(creators=[Creator(name=" ")])).authors == "Imagora"

"""RIS, the tagged citation format EndNote, Zotero, Mendeley and RefWorks import.

Each line is `TAG  - value` (two spaces, a hyphen, a space); an entry starts with `TY`
and ends with `ER`. Datasets are `DATA`, publications `JOUR`, pipelines `COMP`. Line
breaks inside values would start a new tag, so values are flattened to one line.
"""

from __future__ import annotations

from catalog.domain.enums import Level
from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import ExportContext, Exporter

RIS_TYPES = {Level.publication: "JOUR", Level.pipeline: "COMP"}
EOL = "\r\n"  # the RIS specification's line ending


def _line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(value.split())}"


def _authors(record: RecordPublic, context: ExportContext) -> list[str]:
    names = []
    for creator in record.creators:
        if facts.person_like(creator.name, creator.orcid):
            family, given = facts.split_name(creator.name)
            names.append(f"{family}, {given}" if given else family)
        else:
            names.append(creator.name)
    return names or [context.publisher]


def _venue_lines(record: RecordPublic, context: ExportContext) -> list[tuple[str, str]]:
    info = record.publication
    if info is None:
        return [("PB", context.publisher), ("ET", str(record.version))]
    pairs = [("JO", info.venue), ("VL", info.volume), ("IS", info.issue)]
    if info.pages:
        first, _, last = info.pages.partition("-")
        pairs += [("SP", first), ("EP", last)]
    return [(tag, value) for tag, value in pairs if value]


def entry(record: RecordPublic, context: ExportContext) -> str:
    """The RIS entry of a record."""
    pairs: list[tuple[str, str]] = [("TY", RIS_TYPES.get(record.level, "DATA"))]
    pairs += [("AU", name) for name in _authors(record, context)]
    pairs += [("TI", record.title), ("PY", str(facts.publication_year(record)))]
    pairs += _venue_lines(record, context)
    found = facts.dois(record)
    if found:
        pairs.append(("DO", found[0]))
    pubmed = facts.pmid(record)
    if pubmed:
        pairs.append(("AN", f"PMID:{pubmed}"))
    pairs.append(("UR", facts.cite_as(record, context)))
    if record.description:
        pairs.append(("AB", record.description))
    pairs += [("KW", word) for word in facts.keywords(record)]
    if record.license:
        pairs.append(("N1", f"Licence: {record.license}"))
    lines = [_line(tag, value) for tag, value in pairs]
    return EOL.join([*lines, "ER  - ", ""])


class RisExporter(Exporter):
    """A RIS entry."""

    name = "ris"
    media_type = "application/x-research-info-systems"
    extension = "ris"

    def render(self, record: RecordPublic, context: ExportContext) -> str:
        return entry(record, context)

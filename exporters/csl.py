"""CSL-JSON (Citation Style Language data), the input of citeproc, Zotero and Pandoc.

One record becomes a one-item array (the form reference managers import). Datasets are
`dataset` items published by the catalogue; `publication` records use their own CSL type
and venue (`container-title`), so a paper linked to a dataset cites like a paper.
"""

from __future__ import annotations

import json
from typing import Any

from catalog.domain.enums import Level
from catalog.domain.records import Creator, RecordPublic
from exporters import facts
from exporters.base import ExportContext, Exporter

CSL_TYPES = {Level.publication: "article-journal", Level.pipeline: "software"}


def author(creator: Creator) -> dict[str, str]:
    """A CSL name: family/given for people, `literal` for organisations."""
    if not facts.person_like(creator.name, creator.orcid):
        return {"literal": creator.name}
    family, given = facts.split_name(creator.name)
    name = {"family": family, "given": given} if given else {"literal": family}
    if creator.orcid:
        name["ORCID"] = facts.orcid_url(creator.orcid)
    return name


def _publication_fields(record: RecordPublic) -> dict[str, Any]:
    info = record.publication
    if info is None:
        return {}
    fields: dict[str, Any] = {"type": info.kind}
    for key, value in (
        ("container-title", info.venue),
        ("volume", info.volume),
        ("issue", info.issue),
        ("page", info.pages),
    ):
        if value:
            fields[key] = value
    return fields


def item(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    """The CSL-JSON item of a record."""
    data: dict[str, Any] = {
        "id": record.id,
        "type": CSL_TYPES.get(record.level, "dataset"),
        "title": record.title,
        "author": [author(c) for c in record.creators] or [{"literal": context.publisher}],
        "issued": {"date-parts": [[facts.publication_year(record)]]},
        "URL": facts.cite_as(record, context),
    }
    if record.level != Level.publication:
        data.update(publisher=context.publisher, version=str(record.version))
    data.update(_publication_fields(record))
    found = facts.dois(record)
    if found:
        data["DOI"] = found[0]
    pubmed = facts.pmid(record)
    if pubmed:
        data["PMID"] = pubmed
    if record.description:
        data["abstract"] = record.description
    words = facts.keywords(record)
    if words:
        data["keyword"] = ", ".join(words)
    return data


class CslJsonExporter(Exporter):
    """A one-item CSL-JSON array."""

    name = "csl-json"
    media_type = "application/vnd.citationstyles.csl+json"
    extension = "csl.json"

    def render(self, record: RecordPublic, context: ExportContext) -> str:
        return json.dumps([item(record, context)], ensure_ascii=False, indent=2) + "\n"

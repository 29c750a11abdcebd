"""FAIR Signposting (signposting.org/FAIR) links of a landing page, in both levels.

Level 1 is the HTTP `Link` header of the landing page; level 2 is the same set of links
as an RFC 9264 linkset (`application/linkset+json`) at `/records/{id}/linkset`. Both are
built from one list of `Link`s so they never disagree. `cite-as` is the record's DOI when
it has one, else its landing page; `describedby` points at every registered metadata
format; `item` only at files the public may download.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from catalog.domain.enums import Level
from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import ExportContext, Exporter

LINKSET_MEDIA_TYPE = "application/linkset+json"
SCHEMA_TYPES = {Level.publication: "ScholarlyArticle", Level.pipeline: "SoftwareSourceCode"}


@dataclass(frozen=True)
class Link:
    """One typed link from the landing page."""

    href: str
    rel: str
    type: str | None = None
    profile: str | None = None

    def header(self) -> str:
        """The link as one value of an HTTP `Link` header (RFC 8288)."""
        text = f'<{self.href}> ; rel="{self.rel}"'
        if self.type:
            text += f' ; type="{self.type}"'
        if self.profile:
            text += f' ; profile="{self.profile}"'
        return text


def linkset_url(context: ExportContext, record_id: str) -> str:
    return facts.record_url(context, record_id) + "/linkset"


def format_url(context: ExportContext, record_id: str, exporter: type[Exporter]) -> str:
    return f"{facts.record_url(context, record_id)}.{exporter.extension}"


def links(
    record: RecordPublic, context: ExportContext, formats: Sequence[type[Exporter]]
) -> list[Link]:
    """Every Signposting link of the record's landing page, in a stable order."""
    kind = SCHEMA_TYPES.get(record.level, "Dataset")
    found = [
        Link(facts.cite_as(record, context), "cite-as"),
        Link("https://schema.org/AboutPage", "type"),
        Link(f"https://schema.org/{kind}", "type"),
    ]
    found += [Link(facts.orcid_url(c.orcid), "author") for c in record.creators if c.orcid]
    licence = facts.license_url(record)
    if licence:
        found.append(Link(licence, "license"))
    for exporter in formats:
        url = format_url(context, record.id, exporter)
        found.append(Link(url, "describedby", exporter.media_type, exporter.profile))
    api = f"{context.base_url}/api/records/{quote(record.id, safe='')}"
    found.append(Link(api, "describedby", "application/json"))
    for entry in facts.downloadable_files(record):
        href = quote(entry.path, safe=":/?&=%#~")
        found.append(Link(href, "item", facts.file_media_type(entry)))
    found.append(Link(linkset_url(context, record.id), "linkset", LINKSET_MEDIA_TYPE))
    return found


def link_header(found: Sequence[Link]) -> str:
    return ", ".join(link.header() for link in found)


def linkset(record: RecordPublic, context: ExportContext, found: Sequence[Link]) -> dict[str, Any]:
    """The RFC 9264 JSON linkset: the landing page as anchor, links grouped by relation."""
    anchor: dict[str, Any] = {"anchor": facts.record_url(context, record.id)}
    for link in found:
        if link.rel == "linkset":
            continue
        target: dict[str, str] = {"href": link.href}
        if link.type:
            target["type"] = link.type
        if link.profile:
            target["profile"] = link.profile
        anchor.setdefault(link.rel, []).append(target)
    return {"linkset": [anchor]}

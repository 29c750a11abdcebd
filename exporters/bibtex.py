"""BibTeX `@misc` entries, so a dataset can be cited from LaTeX as easily as a paper."""

from __future__ import annotations

import re

from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import ExportContext, Exporter

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(char) for char in _SPECIAL))


def escape(text: str) -> str:
    """LaTeX-escape a field value (URLs go in \\url{} / url fields unescaped)."""
    return _SPECIAL_RE.sub(lambda match: _SPECIAL[match.group(0)], " ".join(text.split()))


def citation_key(record: RecordPublic) -> str:
    return "imagora_" + re.sub(r"[^A-Za-z0-9_-]", "_", record.id)


def _author(record: RecordPublic, context: ExportContext) -> str:
    names = []
    for creator in record.creators:
        person = facts.person_like(creator.name, creator.orcid)
        # organisations go in braces so BibTeX does not split them into first/last names
        names.append(escape(creator.name) if person else "{" + escape(creator.name) + "}")
    return " and ".join(names) or "{" + escape(context.publisher) + "}"


def entry(record: RecordPublic, context: ExportContext) -> str:
    url = facts.record_url(context, record.id)
    found = facts.dois(record)
    fields: list[tuple[str, str]] = [
        ("author", _author(record, context)),
        ("title", "{" + escape(record.title) + "}"),
        ("year", str(record.created.year)),
        ("publisher", escape(context.publisher)),
        ("howpublished", "\\url{" + url + "}"),
        ("url", url),
    ]
    if found:
        fields.append(("doi", found[0]))
    if record.license:
        fields.append(("note", escape(f"Licence: {record.license}; version {record.version}")))
    if record.keywords:
        fields.append(("keywords", escape(", ".join(record.keywords))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{citation_key(record)},\n{body}\n}}\n"


class BibtexExporter(Exporter):
    """A BibTeX `@misc` entry."""

    name = "bibtex"
    media_type = "application/x-bibtex"
    extension = "bib"

    def render(self, record: RecordPublic, context: ExportContext) -> str:
        return entry(record, context)

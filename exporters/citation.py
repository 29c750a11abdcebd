"""A human-readable data citation, as landing pages show it above the export menu.

DataCite's recommended citation form for data is "Creator (PublicationYear). Title.
Version. Publisher. Identifier"; the text below follows it (APA-like punctuation, the
"[Data set]" marker). The parts stay available as a `Citation` so a page can link the
identifier; `citation_text` joins them into the plain string people paste.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import DEFAULT_CATALOG_TITLE

#: More authors than this are cut to the first ones and "et al." (APA 7 lists up to 20).
MAX_AUTHORS = 20


@dataclass(frozen=True)
class Citation:
    authors: str
    year: int
    title: str
    version: str
    publisher: str
    identifier: str

    def text(self) -> str:
        head = f"{self.authors} ({self.year}). " if self.authors else ""
        title = self.title.rstrip(".")
        title = f"{title} ({self.version}) [Data set]." if self.version else f"{title} [Data set]."
        return f"{head}{title} {self.publisher}. {self.identifier}"


def _author(name: str, orcid: str | None) -> str:
    """'Jane Doe' -> 'Doe, J.'; 'Doe, Jane' -> 'Doe, J.'; organisations unchanged."""
    words = name.split()
    if not words or not facts.person_like(name, orcid):
        return name.strip()
    if "," in name:
        family, _, given = name.partition(",")
        if not family.strip():
            return name.strip(" ,")
    else:
        family, given = words[-1], " ".join(words[:-1])
    initials = " ".join(f"{part[0]}." for part in given.replace("-", " ").split() if part)
    return f"{family.strip()}, {initials}".rstrip(", ") if initials else family.strip()


def authors_text(record: RecordPublic, publisher: str) -> str:
    names = [n for n in (_author(c.name, c.orcid) for c in record.creators) if n]
    if not names:
        return publisher
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", et al."
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", & " + names[-1]


def identifier_url(record: RecordPublic, base_url: str) -> str:
    """The DOI as a resolver URL when the record has one, else its landing page."""
    found = facts.dois(record)
    if found:
        return f"https://doi.org/{found[0]}"
    return f"{base_url.rstrip('/')}/records/{record.id}"


def citation(
    record: RecordPublic,
    base_url: str = "http://127.0.0.1:8000",
    publisher: str = DEFAULT_CATALOG_TITLE,
) -> Citation:
    """The citation's parts. The year is when the record entered the catalogue (the
    DataCite PublicationYear of an Imagora record), the version its current version."""
    return Citation(
        authors=authors_text(record, publisher),
        year=record.created.year,
        title=record.title,
        version=f"Version {record.version}",
        publisher=publisher,
        identifier=identifier_url(record, base_url),
    )


def citation_text(
    record: RecordPublic,
    base_url: str = "http://127.0.0.1:8000",
    publisher: str = DEFAULT_CATALOG_TITLE,
) -> str:
    """'Doe, J., & Roe, R. (2024). Title (Version 2) [Data set]. Imagora.
    https://doi.org/10.1234/x'"""
    return citation(record, base_url, publisher).text()

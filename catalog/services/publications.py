"""Publications as records: typed in by hand, pasted as BibTeX or CSL-JSON, or taken
from a dataset's references (BIDS `ReferencesAndLinks` end up in `related`).

A publication's record id derives from its DOI (else its PMID), so pasting the same
paper twice, or two datasets citing it, finds one record instead of making two. Parsing
errors name the entry and the field. Nothing is fetched from the network: a reference
known only by its DOI becomes a record titled by that DOI, for a curator to complete.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog.domain.enums import Level, RelationType
from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.links import LinkCreate, LinkView
from catalog.domain.records import (
    Creator,
    Identifier,
    PublicationInfo,
    RecordCreate,
    RecordPublic,
    SourceInfo,
)
from catalog.services.access import require_writer
from catalog.services.links import LinkService
from catalog.services.records import RecordService

_DOI = re.compile(r"(10\.\d{4,9}/\S+)", re.IGNORECASE)
_ENTRY = re.compile(r"@(\w+)\s*[{(]", re.ASCII)
_LATEX = re.compile(r"\\[a-zA-Z]+\s*|\\['\"`^=.]|[{}]")  # commands, accents, braces
_LATEX_SPACE = re.compile(r"\\[,;: ]|~")  # thin spaces, non-breaking spaces
#: Relations of a dataset's `related` entries that point at literature.
REFERENCE_RELATIONS = {
    RelationType.References,
    RelationType.IsSupplementTo,
    RelationType.IsCitedBy,
    RelationType.IsReferencedBy,
    RelationType.IsDescribedBy,
    RelationType.IsDocumentedBy,
    RelationType.Cites,
}
BIBTEX_TO_CSL = {"article": "article-journal", "inproceedings": "paper-conference"}


class PublicationInput(BaseModel):
    """One of: `bibtex` text, `csl_json` (an item or a list), or `record` fields; plus
    optional links from each new publication to existing records."""

    model_config = ConfigDict(extra="forbid")

    bibtex: str | None = Field(None, max_length=200_000)
    csl_json: dict[str, Any] | list[dict[str, Any]] | None = None
    record: RecordCreate | None = None
    links: list[PublicationLink] = Field(default_factory=list)


class PublicationLink(BaseModel):
    """`publication <relation> record`, e.g. IsSupplementedBy a collection."""

    model_config = ConfigDict(extra="forbid")

    relation: RelationType
    record: str


PublicationInput.model_rebuild()


def normalize_doi(value: str | None) -> str | None:
    match = _DOI.search(value or "")
    return match.group(1).rstrip(".,;").lower() if match else None


def publication_id(doi: str | None, pmid: str | None) -> str | None:
    """A stable record id for a paper: the same DOI (or PMID) gives the same id."""
    key = f"doi:{doi}" if doi else (f"pmid:{pmid}" if pmid else None)
    if key is None:
        return None
    return "pub-" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def draft(
    title: str,
    authors: list[str],
    *,
    doi: str | None = None,
    pmid: str | None = None,
    info: PublicationInfo | None = None,
    abstract: str | None = None,
    source: str = "deposit",
    raw: dict[str, Any] | None = None,
) -> RecordCreate:
    """A publication record from bibliographic facts."""
    identifiers = []
    if doi:
        identifiers.append(Identifier(identifier=doi, scheme="doi"))
    if pmid:
        identifiers.append(Identifier(identifier=pmid, scheme="pmid"))
    return RecordCreate(
        id=publication_id(doi, pmid),
        level=Level.publication,
        title=title,
        description=abstract,
        creators=[Creator(name=name) for name in authors if name.strip()],
        identifiers=identifiers,
        publication=info or PublicationInfo(),
        source=SourceInfo(type=source, raw=raw or {}),
    )


# ----- BibTeX -----------------------------------------------------------------------------
def _braced(text: str, start: int) -> tuple[str, int]:
    """The text inside balanced braces starting at text[start] == '{', and the end."""
    depth = 0
    for position in range(start, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : position], position + 1
    raise ValueError("unbalanced braces")


def _value(body: str, position: int) -> tuple[str, int]:
    if body[position] == "{":
        return _braced(body, position)
    if body[position] == '"':
        end = body.index('"', position + 1)
        return body[position + 1 : end], end + 1
    match = re.compile(r"[\w.-]+").match(body, position)
    if match is None:
        raise ValueError(f"unreadable value at '{body[position : position + 20]}'")
    return match.group(0), match.end()


def _fields(body: str) -> dict[str, str]:
    """`name = value` pairs of one entry body (after the citation key)."""
    fields: dict[str, str] = {}
    pattern = re.compile(r"\s*,?\s*([A-Za-z][\w-]*)\s*=\s*")
    position = 0
    while True:
        match = pattern.match(body, position)
        if match is None:
            return fields
        value, position = _value(body, match.end())
        value = _LATEX.sub("", _LATEX_SPACE.sub(" ", value))
        fields[match.group(1).lower()] = " ".join(value.split())


def _entries(text: str) -> list[tuple[str, dict[str, str]]]:
    entries = []
    for match in _ENTRY.finditer(text):
        kind = match.group(1).lower()
        if kind in ("comment", "preamble", "string"):
            continue
        inner, _ = _braced(text, match.end() - 1) if text[match.end() - 1] == "{" else ("", 0)
        _, _, body = inner.partition(",")
        entries.append((kind, _fields(body)))
    return entries


def _bibtex_authors(value: str) -> list[str]:
    return [" ".join(name.split()) for name in re.split(r"\s+and\s+", value) if name.strip()]


def parse_bibtex(text: str) -> list[RecordCreate]:
    """Publication records from pasted BibTeX (one per entry)."""
    try:
        entries = _entries(text)
    except ValueError as exc:
        raise ValidationError(f"cannot read the BibTeX: {exc}", field="bibtex") from None
    if not entries:
        raise ValidationError("no BibTeX entry (@article{...}) found", field="bibtex")
    drafts = []
    for number, (kind, fields) in enumerate(entries, start=1):
        if not fields.get("title"):
            raise ValidationError(f"BibTeX entry {number} has no title", field="bibtex")
        year = fields.get("year", "")
        info = PublicationInfo(
            year=int(year) if year.isdigit() and len(year) == 4 else None,
            venue=fields.get("journal") or fields.get("booktitle"),
            volume=fields.get("volume"),
            issue=fields.get("number"),
            pages=fields.get("pages", "").replace("--", "-") or None,
            kind=BIBTEX_TO_CSL.get(kind, "article-journal"),
        )
        drafts.append(
            draft(
                fields["title"],
                _bibtex_authors(fields.get("author", "")),
                doi=normalize_doi(fields.get("doi")),
                pmid=fields.get("pmid"),
                info=info,
                abstract=fields.get("abstract"),
                source="bibtex",
                raw={"entry_type": kind, **fields},
            )
        )
    return drafts


# ----- CSL-JSON ---------------------------------------------------------------------------
def _csl_name(name: Any) -> str:
    if not isinstance(name, dict):
        return str(name)
    if name.get("literal"):
        return str(name["literal"])
    family, given = name.get("family", ""), name.get("given", "")
    return f"{family}, {given}" if given else str(family)


def _csl_year(item: dict[str, Any]) -> int | None:
    try:
        year = item["issued"]["date-parts"][0][0]
        return int(year)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def parse_csl(data: dict[str, Any] | list[dict[str, Any]]) -> list[RecordCreate]:
    """Publication records from CSL-JSON (one item or a list of items)."""
    items = data if isinstance(data, list) else [data]
    drafts = []
    for number, item in enumerate(items, start=1):
        title = item.get("title") if isinstance(item, dict) else None
        if not title or not isinstance(title, str):
            raise ValidationError(f"CSL-JSON item {number} has no title", field="csl_json")
        info = PublicationInfo(
            year=_csl_year(item),
            venue=item.get("container-title"),
            volume=_text(item.get("volume")),
            issue=_text(item.get("issue")),
            pages=_text(item.get("page")),
            kind=str(item.get("type") or "article-journal"),
        )
        drafts.append(
            draft(
                title,
                [_csl_name(n) for n in item.get("author") or []],
                doi=normalize_doi(item.get("DOI")),
                pmid=_text(item.get("PMID")),
                info=info,
                abstract=item.get("abstract"),
                source="csl-json",
                raw=item,
            )
        )
    return drafts


def _scheme(record: RecordCreate, scheme: str) -> str | None:
    """The record's first identifier of a scheme (doi, pmid), if any."""
    return next((i.identifier for i in record.identifiers if i.scheme.lower() == scheme), None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ----- the service ------------------------------------------------------------------------
class PublicationService:
    """Create publication records (deduplicated by DOI/PMID) and link them."""

    def __init__(self, records: RecordService, links: LinkService) -> None:
        self.records = records
        self.links = links

    def create(self, identity: Identity, data: PublicationInput) -> list[RecordPublic]:
        require_writer(identity, "adding publications")
        drafts = self._drafts(data)
        created = [self._ensure(identity, d) for d in drafts]
        for publication in created:
            for link in data.links:
                self.links.add(
                    identity,
                    LinkCreate(source=publication.id, relation=link.relation, target=link.record),
                )
        return created

    def _drafts(self, data: PublicationInput) -> list[RecordCreate]:
        given = [data.bibtex is not None, data.csl_json is not None, data.record is not None]
        if sum(given) != 1:
            raise ValidationError("give exactly one of: bibtex, csl_json, record", field="body")
        if data.bibtex is not None:
            return parse_bibtex(data.bibtex)
        if data.csl_json is not None:
            return parse_csl(data.csl_json)
        record = data.record
        assert record is not None
        if record.level != Level.publication:
            raise ValidationError("record.level must be 'publication'", field="record.level")
        doi = normalize_doi(_scheme(record, "doi"))
        return [
            record.model_copy(
                update={"id": record.id or publication_id(doi, _scheme(record, "pmid"))}
            )
        ]

    def _ensure(self, identity: Identity, data: RecordCreate) -> RecordPublic:
        """The existing record with this id (same DOI/PMID), else a new one."""
        if data.id:
            try:
                return self.records.get(identity, data.id)
            except NotFoundError:
                pass
        return self.records.create(identity, data)

    def from_references(self, identity: Identity, record_id: str) -> list[LinkView]:
        """Publication records for the DOIs / PMIDs among a record's `related` entries
        (e.g. BIDS `ReferencesAndLinks`), linked from the record with its relation."""
        require_writer(identity, "adding publications")
        record = self.records.get(identity, record_id)
        for related in record.related:
            if related.relation not in REFERENCE_RELATIONS:
                continue
            scheme = related.scheme.lower()
            doi = normalize_doi(related.identifier) if scheme in ("doi", "url") else None
            pmid = related.identifier if scheme == "pmid" else None
            if not doi and not pmid:
                continue
            title = f"Publication doi:{doi}" if doi else f"Publication PMID {pmid}"
            raw = {"from_record": record_id, "identifier": related.identifier}
            publication = self._ensure(
                identity, draft(title, [], doi=doi, pmid=pmid, source="reference", raw=raw)
            )
            link = LinkCreate(source=record_id, relation=related.relation, target=publication.id)
            self.links.add(identity, link)
        return self.links.for_record(identity, record_id)

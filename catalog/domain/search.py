"""Search-side value types shared by the services and every search backend.

The index holds `IndexDocument`s derived from records (the store stays the truth). A
`SearchQuery` carries the caller's visibility as `reader_keys` so that every backend
filters restricted records *inside* the query: hits, totals and facet counts alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from catalog.domain.records import FacetValue, RecordSummary

#: Facet fields in display order, with their human labels.
FACET_FIELDS: dict[str, str] = {
    "level": "Level",
    "modality": "Modality",
    "field_strength": "Field strength",
    "manufacturer": "Manufacturer",
    "species": "Species",
    "sequence": "Sequence / BIDS suffix",
    "license": "Licence",
    "access": "File access",
    "source": "Source",
}

MAX_QUERY_LENGTH = 2_000
MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000

SortOrder = Literal["relevance", "title", "updated"]


@dataclass(frozen=True)
class ConceptClause:
    """An ontology concept recognised in the query, expanded to IRIs to match in `terms`.

    `direct` marks the recognised concept itself; expanded (narrower) IRIs get a lower
    boost so direct matches rank first.
    """

    label: str
    iris: tuple[str, ...]
    boost: float = 1.0
    direct: bool = True


@dataclass
class SearchQuery:
    """One search request, already validated by the service layer."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    page: int = 1
    size: int = 20
    sort: SortOrder = "relevance"
    reader_keys: list[str] | None = field(default_factory=lambda: ["public"])
    with_facets: bool = True
    concepts: list[ConceptClause] = field(default_factory=list)
    include_withdrawn: bool = False
    with_term_counts: bool = False
    """Also count matching records per concept, broader concepts included (facet trees)."""
    parent_id: str | None = None


@dataclass
class IndexDocument:
    """The flattened, denormalised form of one record in the search index."""

    id: str
    level: str
    title: str
    description: str = ""
    text: str = ""
    parent_id: str | None = None
    collection_id: str | None = None
    ancestors: list[str] = field(default_factory=list)
    facets: dict[str, str] = field(default_factory=dict)
    facet_labels: dict[str, str] = field(default_factory=dict)
    readers: list[str] = field(default_factory=lambda: ["public"])
    status: str = "active"
    terms: list[str] = field(default_factory=list)
    term_text: str = ""
    term_details: dict[str, dict[str, str]] = field(default_factory=dict)
    term_closure: list[str] = field(default_factory=list)
    """The terms plus every broader (and, for anatomy, containing) concept: counting
    records per closure IRI counts each record once per facet-tree node."""
    """Per term IRI: label, scheme, rule and evidence, so hits can explain themselves."""
    field_strength_t: float | None = None
    updated: datetime | None = None


@dataclass
class SearchResult:
    total: int
    hits: list[RecordSummary]
    facets: dict[str, list[FacetValue]]
    term_counts: dict[str, int] = field(default_factory=dict)

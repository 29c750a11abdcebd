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

#: Numeric fields a query may compare or range over: name -> (plain-words label, unit).
#: `field_strength` is the nominal strength (3 for a Siemens 2.89 T); `acquired` is a
#: date (days since 0001-01-01 in the index); the counts are roll-ups of containers.
NUMERIC_FIELDS: dict[str, tuple[str, str]] = {
    "field_strength": ("field strength", "T"),
    "tr_ms": ("TR", "ms"),
    "te_ms": ("TE", "ms"),
    "ti_ms": ("TI", "ms"),
    "flip_angle_deg": ("flip angle", "°"),
    "slice_thickness_mm": ("slice thickness", "mm"),
    "acquired": ("acquisition date", ""),
    "age_days": ("subject age", "days"),
    "subjects": ("subject count", ""),
    "sessions": ("session count", ""),
    "acquisitions": ("acquisition count", ""),
}
#: Numeric fields whose values are dates (YYYY, YYYY-MM or YYYY-MM-DD in queries).
DATE_FIELDS = frozenset({"acquired"})

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


@dataclass(frozen=True)
class TextAtom:
    """Words the user typed: one word, a quoted phrase, or a `prefix*`."""

    kind: Literal["word", "phrase", "prefix"]
    text: str


@dataclass(frozen=True)
class FieldAtom:
    """A facet equal to one of `values` (case-insensitive; value or label)."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class RangeAtom:
    """A numeric field between `low` and `high` inclusive (None: unbounded)."""

    field: str
    low: float | None
    high: float | None


Atom = TextAtom | FieldAtom | RangeAtom | ConceptClause


@dataclass(frozen=True)
class Conjunct:
    """One constraint of a search: a record matches when any atom matches (or, when
    `negated`, when none does). A search's conjuncts all hold at once.

    `understood` says in plain words what the conjunct asks for (concept labels, never
    IRIs or rule ids), for the "understood as" line of the page and the API.
    """

    atoms: tuple[Atom, ...]
    negated: bool = False
    understood: str = ""
    typed: str = ""
    """The query-language text it came from (for "did you mean" rewrites)."""


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
    conjuncts: tuple[Conjunct, ...] | None = None
    """The interpreted query (the service sets it). None: the backend reads `text` by
    syntax alone, and `concepts` (when given) form one more conjunct."""
    facet_missing: bool = False
    """Also count, per facet, the matching records without a value."""
    disjunctive_facets: bool = True
    """Count each filtered facet without its own filter, so selected values keep their
    siblings (with the counts they would add)."""


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
    numbers: dict[str, list[float]] = field(default_factory=dict)
    """Values of `NUMERIC_FIELDS` (dates as ordinal days); a container holds those of
    its descendants too, so a range matches a dataset when any of its scans is in it."""
    extra_facets: dict[str, list[str]] = field(default_factory=dict)
    """More values per facet from the roll-up of a container's descendants: they match
    filters and `field:value` but are not counted in the facets."""
    rollup_terms: list[str] = field(default_factory=list)
    """Concepts of a container's descendants: query concepts match them, the `terms`
    filter (records annotated with a concept) does not."""
    rollup: dict | None = None
    """The container's roll-up, as the hit shows it (see `catalog.domain.rollup`)."""


@dataclass
class SearchResult:
    total: int
    hits: list[RecordSummary]
    facets: dict[str, list[FacetValue]]
    term_counts: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    """Per facet: matching records without a value (when asked for)."""

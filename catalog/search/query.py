"""User text -> query clauses, plus the helpers every search backend shares.

Search boxes receive arbitrary strings. Rather than handing them to a backend's own
query-string parser (which raises on `"`, `(`, `NEAR(` ...), user text is cleaned and
split here into three clause kinds that every backend builds natively:

- a bare word (``brain``): must match in title, description, text or concept labels; a
  word the tokenizer splits (``sub-01``, ``T1-weighted``) becomes a phrase, as in Lucene;
- a quoted phrase (``"spin echo"``): the words in that order;
- a trailing star (``card*``): a prefix.

Everything else (operators, brackets, quotes left open, control characters, lone
surrogates) is treated as a separator, so user text can only fail with a deliberate
`QuerySyntaxError` (length, paging) and never with a parser error.

The module also holds the document-side helpers shared by the tantivy and
Elasticsearch backends (stored summary, sort keys, facet key encoding, facet merging)
so both backends return the same answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.records import FacetValue, RecordSummary
from catalog.domain.search import (
    FACET_FIELDS,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    MAX_RESULT_WINDOW,
    IndexDocument,
    SearchQuery,
)

#: Full-text fields and their boosts (title matches rank first).
TEXT_FIELDS: dict[str, float] = {"title": 3.0, "description": 1.5, "text": 1.0, "term_text": 1.0}
#: Filter keys a query may use besides the facets (all matched exactly).
EXTRA_FILTERS: tuple[str, ...] = ("id", "collection_id", "ancestors", "terms")
#: Boost of a concept clause relative to its own `boost`; expanded IRIs rank below direct.
DIRECT_CONCEPT_WEIGHT = 2.0
EXPANDED_CONCEPT_WEIGHT = 1.0
#: Words longer than this are dropped by the tokenizer (same as tantivy's RemoveLong(40)).
MAX_TOKEN_CHARS = 40
#: Joins a facet value and its label in the aggregated facet key.
FACET_KEY_SEP = "\x1f"
DESCRIPTION_SUMMARY_CHARS = 300
SORT_KEY_TITLE_CHARS = 200
_MAX_TIMESTAMP_US = 10**17

ClauseKind = Literal["term", "phrase", "prefix"]
Tokenizer = Callable[[str], list[str]]

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_QUOTED_RE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class TextClause:
    """One unit of user text: tokens already lower-cased as the index stores them."""

    kind: ClauseKind
    tokens: tuple[str, ...]


def clean_text(text: str) -> str:
    """Drop what no backend can take: lone surrogates, control and format characters."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():  # the common case, without a per-char pass
        return text.strip()
    safe = text.encode("utf-8", "replace").decode("utf-8")
    safe = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in safe)
    return safe.strip()


def tokenize(text: str) -> list[str]:
    """Split like tantivy's simple tokenizer + remove_long + lowercase + ascii_fold."""
    tokens = []
    for match in _WORD_RE.finditer(text):
        word = match.group(0).replace("_", " ")
        for part in word.split():
            if len(part) <= MAX_TOKEN_CHARS:
                tokens.append(_fold(part.lower()))
    return [tok for tok in tokens if tok]


def _fold(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return folded if folded.isascii() else token


def parse_text(text: str, tokenizer: Tokenizer = tokenize) -> list[TextClause]:
    """Translate user text into clauses; raise `QuerySyntaxError` only for overlong text.

    `tokenizer` must split text exactly as the backend's index does (tantivy passes its
    own analyzer; the pure-Python `tokenize` mirrors it for other backends).
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"the search text is {len(text)} characters long; the limit is "
            f"{MAX_QUERY_LENGTH} characters, shorten the query",
            field="q",
        )
    cleaned = clean_text(text)
    clauses: list[TextClause] = []
    position = 0
    for match in _QUOTED_RE.finditer(cleaned):
        clauses.extend(_word_clauses(cleaned[position : match.start()], tokenizer))
        tokens = tuple(tokenizer(match.group(1)))
        if tokens:
            clauses.append(TextClause("phrase" if len(tokens) > 1 else "term", tokens))
        position = match.end()
    clauses.extend(_word_clauses(cleaned[position:], tokenizer))
    return _dedupe(clauses)


def _word_clauses(chunk: str, tokenizer: Tokenizer) -> list[TextClause]:
    clauses = []
    for word in chunk.replace('"', " ").split():
        tokens = tuple(tokenizer(word))
        if not tokens:
            continue
        if word.endswith("*"):
            clauses.append(TextClause("prefix", tokens))
        elif len(tokens) > 1:
            clauses.append(TextClause("phrase", tokens))
        else:
            clauses.append(TextClause("term", tokens))
    return clauses


def _dedupe(clauses: list[TextClause]) -> list[TextClause]:
    seen: set[TextClause] = set()
    unique = []
    for clause in clauses:
        if clause not in seen:
            seen.add(clause)
            unique.append(clause)
    return unique


def has_content(text: str) -> bool:
    """True when the user typed anything but spaces (then no clause means no match)."""
    return bool(text.strip())


def check_paging(query: SearchQuery, minimum_size: int = 0) -> tuple[int, int]:
    """(offset, size) of the requested page, or a 400 that says which limit was hit.
    Callers outside the service may ask for 0 hits (counts only); the API asks for 1+."""
    if query.size < minimum_size or query.size > MAX_PAGE_SIZE:
        raise QuerySyntaxError(
            f"size must be between {minimum_size} and {MAX_PAGE_SIZE} (page size "
            f"{query.size} is out of range; use {minimum_size} to {MAX_PAGE_SIZE})",
            field="size",
        )
    if query.page < 1:
        raise QuerySyntaxError(f"page {query.page} is out of range; pages start at 1", field="page")
    offset = (query.page - 1) * query.size
    if offset + query.size > MAX_RESULT_WINDOW:
        raise QuerySyntaxError(
            f"page {query.page} of size {query.size} goes past result {MAX_RESULT_WINDOW}, the "
            "deepest a search can page; narrow the query with filters instead",
            field="page",
        )
    return offset, query.size


def check_filters(filters: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Known filter fields with their cleaned, non-empty value lists."""
    checked: dict[str, list[str]] = {}
    for name, values in filters.items():
        if name not in FACET_FIELDS and name not in EXTRA_FILTERS:
            known = ", ".join([*FACET_FIELDS, *EXTRA_FILTERS])
            raise QuerySyntaxError(
                f"cannot filter on '{clean_text(str(name))[:60]}' (unknown field); fields "
                f"you can filter on: {known}",
                field=str(name),
            )
        cleaned = [clean_text(str(value)) for value in values]
        cleaned = [value for value in cleaned if value]
        if cleaned:
            checked[name] = cleaned
    return checked


# ---------------------------------------------------------------------------------------
# Document-side helpers shared by the backends


def facet_label(name: str, value: str, labels: Mapping[str, str]) -> str:
    """The display label of a facet value (explicit label, else a readable default)."""
    label = labels.get(name)
    if label:
        return label
    if name == "field_strength":
        return f"{value} T"
    return value


def facet_key(name: str, value: str, labels: Mapping[str, str]) -> str:
    """The aggregated form of a facet value: value and label in one exact key."""
    return f"{value}{FACET_KEY_SEP}{facet_label(name, value, labels)}"


def merge_facet_buckets(buckets: Iterable[tuple[str, int]]) -> list[FacetValue]:
    """Facet keys with counts -> values sorted by count desc then value (labels merged)."""
    counts: dict[str, int] = {}
    best_label: dict[str, tuple[int, str]] = {}
    for key, count in buckets:
        value, _, label = key.partition(FACET_KEY_SEP)
        counts[value] = counts.get(value, 0) + count
        if count > best_label.get(value, (-1, ""))[0]:
            best_label[value] = (count, label or value)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [FacetValue(value=v, label=best_label[v][1], count=c) for v, c in ordered]


def summary_fields(doc: IndexDocument) -> dict[str, Any]:
    """What a hit shows (RecordSummary without score), stored alongside the document."""
    facets, labels = doc.facets, doc.facet_labels
    description = doc.description or None
    if description and len(description) > DESCRIPTION_SUMMARY_CHARS:
        description = description[: DESCRIPTION_SUMMARY_CHARS - 1].rstrip() + "…"
    return {
        "id": doc.id,
        "level": doc.level,
        "title": doc.title,
        "description": description,
        "parent_id": doc.parent_id,
        "collection_id": doc.collection_id,
        "modality": facets.get("modality"),
        "field_strength_t": doc.field_strength_t,
        "manufacturer": _label_or_none(facets, labels, "manufacturer"),
        "species": _label_or_none(facets, labels, "species"),
        "sequence": _label_or_none(facets, labels, "sequence"),
        "bids_suffix": labels.get("bids_suffix") or facets.get("bids_suffix"),
        "license": facets.get("license"),
        "access": facets.get("access"),
        "source": facets.get("source"),
        "rollup": doc.rollup,
    }


def _label_or_none(facets: Mapping[str, str], labels: Mapping[str, str], name: str) -> str | None:
    value = facets.get(name)
    return facet_label(name, value, labels) if value else None


def make_summary(stored: Mapping[str, Any], score: float, explanation: list) -> RecordSummary:
    return RecordSummary(**stored, score=score, explanation=explanation)


def concept_explanation(
    doc_terms: Iterable[str],
    query: SearchQuery,
    details: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, str]]:
    """Which recognised concepts a hit matched, for the 'why this result' line.

    With the document's term `details` each line also names the record's term, the rule
    that produced it and the header fields it read, without a trip to the store.
    """
    found = set(doc_terms)
    lines = []
    for clause in query.concepts:
        matched = [iri for iri in clause.iris if iri in found]
        if matched:
            kind = "direct" if clause.direct else "expanded"
            line = {"concept": clause.label, "iri": matched[0], "match": kind}
            line.update((details or {}).get(matched[0], {}))
            lines.append(line)
    return lines


def concept_weight(direct: bool, boost: float) -> float:
    return boost * (DIRECT_CONCEPT_WEIGHT if direct else EXPANDED_CONCEPT_WEIGHT)


def title_sort_key(doc: IndexDocument) -> str:
    """Title order, ties broken by id (so title paging is a stable total order)."""
    return title_key(doc.title, doc.id)


def title_key(title: str, record_id: str) -> str:
    """`title_sort_key` from a title and an id (e.g. those of a stored hit summary)."""
    return f"{title.casefold()[:SORT_KEY_TITLE_CHARS]}\x00{record_id}"


def updated_sort_value(doc: IndexDocument) -> int:
    """Ascending order of this number = newest first; undated last (ties: see callers)."""
    updated = doc.updated
    if updated is None:
        return _MAX_TIMESTAMP_US
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    micros = int((updated - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
    return _MAX_TIMESTAMP_US - max(micros, 0)


def updated_sort_key(doc: IndexDocument) -> str:
    """Ascending order of this key = newest first, ties broken by id; undated last."""
    return f"{updated_sort_value(doc):018d}\x00{doc.id}"

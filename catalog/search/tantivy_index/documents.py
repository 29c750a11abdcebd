"""IndexDocument -> tantivy document: text fields, word pairs, facets, numbers, orders."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import orjson
import tantivy

from catalog.domain.search import FACET_FIELDS, NUMERIC_FIELDS, IndexDocument
from catalog.search.key_order import chunk_values
from catalog.search.query import (
    facet_key,
    facet_label,
    summary_fields,
    title_sort_key,
    updated_sort_value,
)
from catalog.search.tantivy_index.schema import (
    ALL_FIELD,
    CLOSURE_FIELD,
    FACET_KEYS_FIELD,
    ID_ORDER,
    NO_VALUE,
    PAIR_JOINER,
    PAIRS_FIELD,
    PUBLIC_KEY,
    TITLE_ORDER,
    UPDATED_FIELD,
    filter_field,
    key_field,
    number_field,
)

#: Facet name -> (filter field, key column): computed once, not per document.
_FACET_COLUMNS = tuple((name, filter_field(name), key_field(name)) for name in FACET_FIELDS)
_ORDER_COLUMNS = tuple(TITLE_ORDER.fields())
_ID_COLUMNS = tuple(ID_ORDER.fields())


def to_tantivy(
    doc: IndexDocument, schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer
) -> tantivy.Document:
    """One document in one `from_dict` call (a rebuild makes one per record, so the
    column names are precomputed and facets without values skip the filter work)."""
    texts = [t for t in (doc.title, doc.description, doc.text, doc.term_text) if t]
    title_key = title_sort_key(doc)
    fields: dict[str, Any] = {
        "id": doc.id,
        ALL_FIELD: texts,
        PAIRS_FIELD: [pairs_text(analyzer.analyze(t)) for t in texts],
        "title": doc.title,
        "ancestors": list(doc.ancestors),
        "readers": list(doc.readers),
        "status": doc.status,
        "terms": list(doc.terms),
        "rollup_terms": list(doc.rollup_terms),
        "k_title": title_key,
        **dict(zip(_ORDER_COLUMNS, chunk_values(title_key, len(_ORDER_COLUMNS)), strict=True)),
        **dict(zip(_ID_COLUMNS, chunk_values(doc.id, len(_ID_COLUMNS)), strict=True)),
        UPDATED_FIELD: updated_sort_value(doc),
        "summary": orjson.dumps(summary_fields(doc)),
        "term_info": orjson.dumps(doc.term_details),
        CLOSURE_FIELD: list(doc.term_closure),
    }
    if PUBLIC_KEY not in doc.readers:
        fields["restricted"] = "1"
    if doc.parent_id:
        fields["parent_id"] = doc.parent_id
    if doc.collection_id:
        fields["collection_id"] = doc.collection_id
    facets, labels, extra = doc.facets, doc.facet_labels, doc.extra_facets
    keys: dict[str, str] = {}
    for name, filtered, keyed in _FACET_COLUMNS:
        value = facets.get(name, doc.level) if name == "level" else facets.get(name)
        if value or name in extra:
            lookups = filter_values(doc, name, value)
            if lookups:
                fields[filtered] = lookups
        # every document has every facet column (NO_VALUE where it has none): tantivy
        # aggregates a column that some documents lack ~6x slower
        if value:
            fields[keyed] = keys[name] = facet_key(name, value, labels)
        else:
            fields[keyed] = NO_VALUE
    for name, values in doc.numbers.items():
        if name in NUMERIC_FIELDS and values:
            fields[number_field(name)] = [float(v) for v in values]
    fields[FACET_KEYS_FIELD] = orjson.dumps(keys)
    return tantivy.Document.from_dict(fields, schema)


def filter_values(doc: IndexDocument, name: str, value: str | None) -> list[str]:
    """What a filter on facet `name` matches, lower-cased: the value, its label, the
    aliases and (for containers) the values rolled up from descendants."""
    found = [value, facet_label(name, value, doc.facet_labels)] if value else []
    found += doc.extra_facets.get(name, ())
    lowered = {v.strip().lower() for v in found if v}
    lowered.discard("")
    return sorted(lowered)


def word_pairs(tokens: Sequence[str]) -> list[str]:
    """Adjacent token pairs, as indexed in ``pairs`` (tokens never contain the joiner)."""
    return list(map(PAIR_JOINER.join, itertools.pairwise(tokens)))


def pairs_text(tokens: Sequence[str]) -> str:
    """The ``pairs`` value of one text field: its word pairs, space separated."""
    return " ".join(map(PAIR_JOINER.join, itertools.pairwise(tokens)))

"""The tantivy schema: which fields exist, how text is analysed, the layout version.

Bump `SCHEMA_VERSION` whenever a field changes: an index of another version is dropped
and rebuilt from the store (it is derived data).
"""

from __future__ import annotations

import orjson
import tantivy

from catalog.domain.search import FACET_FIELDS, NUMERIC_FIELDS
from catalog.search.key_order import KeyOrder
from catalog.search.query import FACET_KEY_SEP, TEXT_FIELDS, title_key

SCHEMA_VERSION = "imagora-tantivy-11"
TOKENIZER = "imagora"
CLOSURE_FIELD = "closure"
UPDATED_FIELD = "n_updated"
FACET_KEYS_FIELD = "facet_keys"
#: The combined full-text field: every text field of `TEXT_FIELDS`, as separate values.
ALL_FIELD = "all"
#: Adjacent word pairs of each text field ("resting_state"): a two-word phrase is one term.
PAIRS_FIELD = "pairs"
PAIR_JOINER = "_"
TITLE_BOOST = TEXT_FIELDS["title"]
PUBLIC_KEY = "public"
#: The facet column value of a document without that facet (never shown; counted as
#: "no value").
NO_VALUE = FACET_KEY_SEP
EXACT_FIELDS = (
    "id",
    "parent_id",
    "collection_id",
    "ancestors",
    "readers",
    "status",
    "terms",
    "restricted",
    "rollup_terms",
)
#: Title order and id order (the order of unranked searches), from u64 chunk columns.
TITLE_ORDER = KeyOrder(
    "o_title",
    4,
    "k_title",
    lambda doc: title_key(orjson.loads(doc["summary"][0])["title"], doc["id"][0]),
)
ID_ORDER = KeyOrder("o_id", 3, "id", lambda doc: doc["id"][0])


def filter_field(name: str) -> str:
    """The exact, lower-cased field a facet is filtered on (values, labels, aliases)."""
    return f"f_{name}"


def key_field(name: str) -> str:
    """The fast ``value<US>label`` column a facet is counted on."""
    return f"fk_{name}"


def number_field(name: str) -> str:
    return f"n_{name}"


def analyzer() -> tantivy.TextAnalyzer:
    """Word split, long-word drop, lower case, accent folding: at index and query time."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ALL_FIELD, tokenizer_name=TOKENIZER)
    builder.add_text_field("title", tokenizer_name=TOKENIZER)
    builder.add_text_field(PAIRS_FIELD, tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    for name in EXACT_FIELDS[1:]:
        builder.add_text_field(name, stored=name == "terms", tokenizer_name="raw")
    for name in FACET_FIELDS:
        builder.add_text_field(filter_field(name), tokenizer_name="raw")
        builder.add_text_field(
            key_field(name), fast=True, tokenizer_name="raw", index_option="basic"
        )
    for name in NUMERIC_FIELDS:
        builder.add_float_field(number_field(name), indexed=True, fast=True)
    builder.add_text_field("k_title", fast=True, tokenizer_name="raw", index_option="basic")
    for name in (*TITLE_ORDER.fields(), *ID_ORDER.fields()):  # see catalog.search.key_order
        builder.add_unsigned_field(name, fast=True, indexed=True)
    # a number, not a string: tantivy orders string fast fields in time linear in the offset
    builder.add_unsigned_field(UPDATED_FIELD, fast=True)
    builder.add_bytes_field("summary", stored=True)
    builder.add_bytes_field("term_info", stored=True)
    builder.add_bytes_field(FACET_KEYS_FIELD, stored=True)
    builder.add_text_field(CLOSURE_FIELD, fast=True, tokenizer_name="raw", index_option="basic")
    return builder.build()

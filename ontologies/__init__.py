"""Ontology vocabularies shipped offline, the annotator, and query expansion.

Modules (nothing is loaded at import time):

* `graph`: `Vocabulary.load()` - the SKOS bundle in `data/`, closures, schemes, version.
* `annotator`: `Annotator.annotate(record, existing)` -> `Term`s; `diff(old, new)`.
* `rules`: the named annotation rule table.
* `expansion`: `recognise(text)`, `expand(text, exact)`, `explain(terms, clauses)`.
* `facets`: `facet_tree(counts, scheme)` for hierarchical facets.
* `jsonld`: pyld with vendored contexts only (`expand`, `compact`, `to_rdf_graph`).
* `build_bids`: build step writing `data/bids.ttl` from `bidsschematools`.
"""

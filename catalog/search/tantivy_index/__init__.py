"""The parts of the embedded tantivy backend, one concern per module.

`schema` (fields, analyzer, schema version), `documents` (IndexDocument -> tantivy
document), `queries` (conjuncts, filters and visibility -> query objects, memoised per
index generation), `facets` (aggregation requests, counts from stored keys, missing and
disjunctive counts), `plans` (the named execution strategies, thresholds as constructor
parameters). `catalog.search.tantivy_backend.TantivyBackend` wires them together.
"""

"""Ontology vocabularies shipped offline, the annotator, and query expansion."""

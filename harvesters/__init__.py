"""Harvesters: one adapter per source type, yielding normalized records incrementally."""

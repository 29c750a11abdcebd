"""Imagora catalogue core: record model, store, search, services, web and CLI."""

__version__ = "0.1.0"

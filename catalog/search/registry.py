"""The search backend registry and the one place that picks a backend from settings.

Built-ins are named lazily ("module:Class") so that a missing optional dependency only
matters for the backend that needs it; third-party backends register through the
``imagora.search_backends`` entry-point group.
"""

from __future__ import annotations

from catalog.registry import Registry
from catalog.search.base import SearchBackend
from catalog.settings import Settings

BUILTIN_SEARCH_BACKENDS: dict[str, str] = {
    "tantivy": "catalog.search.tantivy_backend:TantivyBackend",
    "elasticsearch": "catalog.search.elasticsearch_backend:ElasticsearchBackend",
}


def search_backends() -> Registry[SearchBackend]:
    """A fresh registry of search backends (no module-level mutable state)."""
    return Registry("search backend", "imagora.search_backends", BUILTIN_SEARCH_BACKENDS)


def open_search_backend(
    settings: Settings, registry: Registry[SearchBackend] | None = None
) -> SearchBackend:
    """Elasticsearch when `IMAGORA_SEARCH_URL` is set, else the embedded tantivy index."""
    registry = registry or search_backends()
    if settings.search_url:
        return registry.get("elasticsearch")(settings.search_url)
    return registry.get("tantivy")(settings.index_dir)

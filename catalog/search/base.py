"""The search backend interface every implementation (and the conformance suite) follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from catalog.domain.search import IndexDocument, SearchQuery, SearchResult


class SearchBackend(ABC):
    """A derived, rebuildable full-text index of records.

    Writers call `index`/`delete` then `commit`; readers call `search` and see committed
    changes after `refresh` (backends may refresh on their own). Query-syntax problems in
    user text raise `QuerySyntaxError` (HTTP 400), never a generic exception.
    """

    name: str = "base"

    @abstractmethod
    def index(self, docs: Sequence[IndexDocument]) -> None:
        """Add or replace documents (by id)."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    @abstractmethod
    def commit(self) -> None:
        """Make pending writes durable and visible to new searchers."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Hits for one page plus facet counts over *all* matching visible documents."""

    @abstractmethod
    def clear(self) -> None:
        """Drop every document (used by `imagora index rebuild`)."""

    def suggest_terms(self, words: Sequence[str], reader_keys: list[str] | None) -> dict[str, int]:
        """Index words near `words` (same first letter) with how many records the reader
        may see hold each: candidates for "did you mean". Optional: none by default."""
        return {}

    def refresh(self) -> None:  # noqa: B027 - optional hook
        """Reload readers so that changes committed by another process become visible."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""

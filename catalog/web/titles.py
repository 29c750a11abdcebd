"""Page titles that tell tabs, history entries and bookmarks apart.

One title ("Search, Imagora") for every results page made the browser history useless;
the title now names the query, the active filters and the page, joined by en dashes:
"rat brain, Modality: MR, page 2 of 39, Search, Imagora".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

SITE = "Imagora"
DASH = " \u2013 "


class FilterLabel(Protocol):
    field_label: str
    value_label: str


def search_title(q: str, filters: Sequence[FilterLabel], page: int, pages: int | None) -> str:
    """The search page's <title>."""
    parts = []
    named = [q.strip()] if q.strip() else []
    named += [f"{f.field_label}: {f.value_label}" for f in filters]
    if named:
        parts.append(" \u00b7 ".join(named))
    if page > 1:  # page 1 is "the" results page; later ones say which and of how many
        parts.append(f"page {page} of {pages}" if pages else f"page {page}")
    return DASH.join([*parts, "Search", SITE])

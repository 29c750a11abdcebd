"""Pagination and query-string links shared by the API (absolute) and pages (relative)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_plus, urlencode

from catalog.domain.search import MAX_RESULT_WINDOW

Params = list[tuple[str, str]]

#: A query string made only of characters a URL may carry as they are (already encoded).
_ENCODED_QUERY = re.compile(r"[A-Za-z0-9_.~!*'(),;:@/?$%+=&-]*\Z")


def last_page(total: int, size: int) -> int:
    """The last reachable page (the backend serves at most MAX_RESULT_WINDOW hits)."""
    reachable = min(total, MAX_RESULT_WINDOW)
    return max(1, -(-reachable // max(size, 1)))


def with_param(params: Iterable[tuple[str, str]], name: str, value: str | None) -> Params:
    """`params` with every `name` replaced by one `name=value` (or removed when None)."""
    kept = [(k, v) for k, v in params if k != name]
    if value is not None:
        kept.append((name, value))
    return kept


def toggled(params: Iterable[tuple[str, str]], name: str, value: str) -> Params:
    """Add `name=value` if absent, remove it if present; back to page 1 either way."""
    items = [(k, v) for k, v in params if k != "page"]
    if (name, value) in items:
        return [(k, v) for k, v in items if (k, v) != (name, value)]
    return [*items, (name, value)]


def url(path: str, params: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(params))
    return f"{path}?{query}" if query else path


def page_links(
    prefix: str, params: Params, page: int, size: int, total: int, param: str = "page"
) -> dict[str, str]:
    """self/first/last always; prev/next only where such a page exists."""
    base = urlencode([(k, v) for k, v in params if k != param])  # encoded once, not 4 times
    return _links(f"{prefix}?{base}&" if base else f"{prefix}?", page, size, total, param)


def _links(joint: str, page: int, size: int, total: int, param: str) -> dict[str, str]:
    """self/first/last always; prev/next only where such a page exists."""
    last = last_page(total, size)

    def at(number: int) -> str:
        return f"{joint}{param}={number}"

    links = {"self": at(page), "first": at(1), "last": at(last)}
    if page > 1:
        links["prev"] = at(min(page - 1, last))
    if page < last:
        links["next"] = at(page + 1)
    return links


def query_page_links(
    prefix: str, query: str, page: int, size: int, total: int, param: str = "page"
) -> dict[str, str] | None:
    """`page_links` for a raw, already encoded query string, reusing its parts as they
    came (only `param` is replaced), which spares the search endpoint decoding and
    re-encoding every parameter. None when the string holds characters that a link must
    not carry raw (spaces, quotes, non-ASCII): build the links from the decoded params."""
    if not _ENCODED_QUERY.match(query):
        return None
    kept = [part for part in query.split("&") if part and _name(part) != param]
    return _links(f"{prefix}?{'&'.join(kept)}&" if kept else f"{prefix}?", page, size, total, param)


def _name(part: str) -> str:
    name = part.partition("=")[0]
    return unquote_plus(name) if "%" in name or "+" in name else name

"""The sitemap: every public landing page, built from one store query, cached per index
generation, split into a sitemap index beyond `limit` URLs.

Why: the sitemap used to page through searches and read the store once per URL (330 ms
for 193 records; under 4 clients it dragged record GETs from 670 to 94 req/s), and it
stopped silently at 50,000 URLs, the most one sitemap file may hold (sitemaps.org).

How: `RecordService.public_pages()` returns (id, updated) of the public, active records
in one query. `SitemapCache` renders the documents once per index generation (the
stamp `IndexSync` touches after every index commit, in any process), so repeated
requests cost a dictionary look-up. Up to `limit` URLs (the home page included) the
sitemap is one `urlset`; beyond, `/sitemap.xml` is a `sitemapindex` of
`/sitemap-1.xml`, `/sitemap-2.xml`, ... of at most `limit` URLs each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from catalog.domain.errors import NotFoundError
from catalog.services.records import RecordService

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: URLs per sitemap file (sitemaps.org protocol).
SITEMAP_LIMIT = 50_000
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


class SitemapCache:
    """Owner of the rendered sitemap documents of one index generation.

    `documents[0]` is `/sitemap.xml`; `documents[n]` is `/sitemap-n.xml` when split.
    """

    def __init__(
        self,
        records: RecordService,
        base_url: str,
        generation: Callable[[], int],
        limit: int = SITEMAP_LIMIT,
    ) -> None:
        if limit < 2:
            raise ValueError("a sitemap file must hold at least 2 URLs")
        self.records = records
        self.base_url = base_url
        self.generation = generation
        self.limit = limit
        self._lock = threading.Lock()
        self._built: tuple[int, list[str]] = (-2, [])

    def document(self, number: int = 0) -> str:
        """`/sitemap.xml` (0) or `/sitemap-<number>.xml`; NotFoundError past the last."""
        documents = self._documents()
        if not 0 <= number < len(documents):
            raise NotFoundError(f"no sitemap file number {number}; see /sitemap.xml")
        return documents[number]

    def _documents(self) -> list[str]:
        generation = self.generation()
        built_for, documents = self._built
        if built_for == generation and documents:
            return documents
        with self._lock:  # one build per generation, however many requests arrive
            if self._built[0] != generation or not self._built[1]:
                self._built = (generation, self.build())
            return self._built[1]

    def build(self) -> list[str]:
        """Every document of the current sitemap (a reference path: no caching)."""
        home = f"  <url><loc>{escape(self.base_url + '/')}</loc></url>"
        urls = [home, *(self._url(rid, updated) for rid, updated in self.records.public_pages())]
        if len(urls) <= self.limit:
            return [_urlset(urls)]
        chunks = [urls[i : i + self.limit] for i in range(0, len(urls), self.limit)]
        return [self._index(len(chunks)), *(_urlset(chunk) for chunk in chunks)]

    def _url(self, record_id: str, updated: datetime) -> str:
        loc = escape(f"{self.base_url}/records/{quote(record_id, safe='')}")
        return f"  <url><loc>{loc}</loc><lastmod>{updated.date().isoformat()}</lastmod></url>"

    def _index(self, files: int) -> str:
        entries = [
            f"  <sitemap><loc>{escape(f'{self.base_url}/sitemap-{n}.xml')}</loc></sitemap>"
            for n in range(1, files + 1)
        ]
        lines = [_HEAD, f'<sitemapindex xmlns="{SITEMAP_NS}">', *entries, "</sitemapindex>"]
        return "\n".join(lines) + "\n"


def _urlset(urls: list[str]) -> str:
    return "\n".join([_HEAD, f'<urlset xmlns="{SITEMAP_NS}">', *urls, "</urlset>"]) + "\n"

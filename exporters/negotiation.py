"""HTTP content negotiation for record URLs: which exporter an `Accept` header asks for.

HTML wins whenever the client lists it (or `*/*`) at least as highly as a metadata type,
so browsers always get the landing page; machine clients that ask for a metadata type get
that document. Media-type aliases seen in the wild map to the canonical types.
"""

from __future__ import annotations

from exporters.registry import by_media_type

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "*/*", "text/*"})
ALIASES = {
    "application/json+ld": "application/ld+json",
    "application/x-turtle": "text/turtle",
    "application/x-datacite+xml": "application/vnd.datacite.datacite+xml",
    "text/x-bibtex": "application/x-bibtex",
    "application/citeproc+json": "application/vnd.citationstyles.csl+json",
    "application/x-ris": "application/x-research-info-systems",
}


def media_ranges(accept: str) -> list[tuple[float, int, str]]:
    """(quality, position, media type) of each range, best first (ties keep their order)."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        if media:
            ranges.append((quality, position, ALIASES.get(media, media)))
    return sorted(ranges, key=lambda item: (-item[0], item[1]))


def negotiate(accept: str | None, offered: list[str] | None = None) -> str | None:
    """The offered media type the client prefers over HTML, or None for the HTML page."""
    available = offered if offered is not None else list(by_media_type())
    for quality, _, media in media_ranges(accept or ""):
        if quality <= 0:
            continue
        if media in HTML_TYPES:
            return None
        if media in available:
            return media
    return None

"""The CKAN Action API over records: CKAN parameters -> `SearchRequest`s, hits -> packages.

So that CKAN harvesters, `ckanapi` and portal tooling can read Imagora as if it were a
CKAN site. Choices, made for what a harvester pointed at us expects:

- **datasets are collection records** (the unit that gets a DOI): `package_list` lists
  them and `package_search` searches them, unless `fq` names another `level:`;
  `package_show` serves any record the caller may see.
- **organizations are harvest source types** (the `source` facet): `organization_list`,
  `organization:NAME` in `fq`.
- `tags` facets merge the modality, sequence and species facets, and `tags:X` in `fq`
  becomes a text clause; `res_format:X` filters on the source types of that format.

Everything goes through `RecordService` with the caller's identity, so restricted
records never appear (in results, counts or facets) to callers who may not see them;
package dicts come from the ExportService, a page of hits in one batch read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from catalog.domain.errors import (
    AuthenticationError,
    ImagoraError,
    NotFoundError,
    PermissionDeniedError,
    QuerySyntaxError,
    ValidationError,
)
from catalog.domain.identity import Identity
from catalog.domain.records import FacetValue, RecordPage
from catalog.domain.search import FACET_FIELDS, MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SortOrder
from catalog.services.exports import ExportService
from catalog.services.records import RecordService, SearchRequest
from exporters.ckan import SOURCE_FORMATS, organization, package_name

CKAN_VERSION = "2.10.4"
DEFAULT_ROWS = 10
MAX_ROWS = 1000
DEFAULT_FACET_LIMIT = 50
CATALOG_TITLE = "Imagora"

SORTS: dict[str, SortOrder] = {
    "score desc": "relevance",
    "score desc, metadata_modified desc": "relevance",
    "title_string asc": "title",
    "name asc": "title",
    "metadata_modified desc": "updated",
}
#: CKAN field names with a direct equivalent among our facets.
FIELD_ALIASES = {"license_id": "license", "organization": "source"}
TAG_FACETS = ("modality", "sequence", "species")
_CLAUSE_RE = re.compile(r'\s*(?:AND\s+)?([\w.+-]+):(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*')


# ----- errors -------------------------------------------------------------------------
class UnknownAction(ImagoraError):
    """An action name this API does not offer (CKAN answers 400 Bad Request)."""

    status = 400
    code = "unknown_action"

    def __init__(self, action: str) -> None:
        super().__init__(f"Bad request - Action name not known: {action}")
        self.action = action


@dataclass(frozen=True)
class CkanFailure:
    """The HTTP status and the CKAN `error` object for a failed action."""

    status: int
    error: dict[str, Any]


def failure(exc: ImagoraError) -> CkanFailure:
    """CKAN's error shape for one of our errors (what `ckanapi` turns back into exceptions)."""
    if isinstance(exc, UnknownAction):
        return CkanFailure(400, {"__type": "Bad Request", "message": exc.message})
    if isinstance(exc, NotFoundError):
        return CkanFailure(404, {"__type": "Not Found Error", "message": f"Not found: {exc}"})
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return CkanFailure(
            403, {"__type": "Authorization Error", "message": f"Access denied: {exc}"}
        )
    if isinstance(exc, QuerySyntaxError):
        return CkanFailure(
            409, {"__type": "Search Query Error", "message": f"Search Query is invalid: {exc}"}
        )
    if isinstance(exc, ValidationError):
        error: dict[str, Any] = {"__type": "Validation Error", "message": exc.message}
        if exc.field:
            error[exc.field] = [exc.message]
        return CkanFailure(409, error)
    return CkanFailure(exc.status, {"__type": "Internal Error", "message": exc.message})


# ----- parameters ---------------------------------------------------------------------
def _int(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be an integer, got {raw!r}", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", field=name)
    return value


def _list(params: dict[str, Any], *names: str) -> list[str]:
    """A list parameter given as a JSON list, a JSON string or repeated values."""
    for name in names:
        raw = params.get(name)
        if raw is None:
            continue
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = [raw]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ValidationError(f"{name} must be a list of field names", field=name)
        return raw
    return []


def parse_fq(fq: str) -> list[tuple[str, str]]:
    """Solr-style `field:value` / `field:"value"` clauses joined by spaces or AND."""
    clauses: list[tuple[str, str]] = []
    position = 0
    text = fq.strip()
    while position < len(text):
        match = _CLAUSE_RE.match(text, position)
        if match is None or match.end() == position:
            raise QuerySyntaxError(
                f"cannot parse fq at {text[position : position + 40]!r}; "
                'use field:value or field:"quoted value" clauses joined by AND'
            )
        quoted, bare = match.group(2), match.group(3)
        value = quoted.replace('\\"', '"') if quoted is not None else bare
        clauses.append((match.group(1), value))
        position = match.end()
    return clauses


@dataclass
class SearchPlan:
    """A package_search translated into one of our searches."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    level: str | None = "collection"
    sort: SortOrder = "relevance"


def _add_clause(plan: SearchPlan, name: str, value: str) -> None:
    if name in ("type", "dataset_type", "state", "private", "capacity"):
        return  # every package is a public, active dataset
    if name == "level":
        plan.level = None
        plan.filters.setdefault("level", []).append(value)
    elif name == "tags":
        plan.text = f'{plan.text} "{value}"'.strip()
    elif name == "res_format":
        sources = [s for s, fmt in SOURCE_FORMATS.items() if fmt.lower() == value.lower()]
        if value.upper() != "HTML":  # every package has an HTML landing page resource
            plan.filters.setdefault("source", []).extend(sources or ["\x1fnone"])
    elif name in FIELD_ALIASES or name in FACET_FIELDS:
        plan.filters.setdefault(FIELD_ALIASES.get(name, name), []).append(value)
    else:
        known = ", ".join(["tags", "res_format", *FIELD_ALIASES, *FACET_FIELDS])
        raise QuerySyntaxError(f"cannot filter on '{name}' in fq; known fields: {known}")


def search_plan(params: dict[str, Any]) -> SearchPlan:
    q = str(params.get("q") or "").strip()
    plan = SearchPlan(text="" if q in ("*:*", "*") else q)
    for name, value in parse_fq(str(params.get("fq") or "")):
        _add_clause(plan, name, value)
    sort = str(params.get("sort") or "score desc").strip().lower()
    sort = " ".join(sort.split())
    if sort not in SORTS:
        raise ValidationError(
            f"unsupported sort '{sort}'; use one of: {', '.join(SORTS)}", field="sort"
        )
    plan.sort = SORTS[sort]
    return plan


# ----- facets -------------------------------------------------------------------------
def _counts(values: list[FacetValue]) -> dict[str, tuple[str, int]]:
    return {v.value: (v.label, v.count) for v in values}


def ckan_facet(name: str, page: RecordPage, total: int) -> dict[str, tuple[str, int]]:
    """name -> (display name, count) of one CKAN facet field, from our facets."""
    facets = page.facets
    if name == "tags":
        merged: dict[str, tuple[str, int]] = {}
        for source in TAG_FACETS:
            for value in facets.get(source, []):
                merged[value.label] = (value.label, value.count)
        return merged
    if name == "res_format":
        counts: dict[str, tuple[str, int]] = {"HTML": ("HTML", total)} if total else {}
        for value in facets.get("source", []):
            fmt = SOURCE_FORMATS.get(value.value)
            if fmt:
                counts[fmt] = (fmt, counts.get(fmt, (fmt, 0))[1] + value.count)
        return counts
    if name == "organization":
        return {
            v.value: ((organization(v.value) or {})["title"], v.count)
            for v in facets.get("source", [])
        }
    ours = FIELD_ALIASES.get(name, name)
    if ours not in FACET_FIELDS:
        known = ", ".join(["tags", "res_format", *FIELD_ALIASES, *FACET_FIELDS])
        raise ValidationError(f"unknown facet field '{name}'; known: {known}", field="facet.field")
    return _counts(facets.get(ours, []))


def facet_blocks(
    names: list[str], page: RecordPage, total: int, limit: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """CKAN's `facets` ({field: {name: count}}) and `search_facets` blocks."""
    facets: dict[str, Any] = {}
    search_facets: dict[str, Any] = {}
    for name in names:
        counts = ckan_facet(name, page, total)
        ranked = sorted(counts.items(), key=lambda item: (-item[1][1], item[0]))
        if limit >= 0:
            ranked = ranked[:limit]
        facets[name] = {value: count for value, (_, count) in ranked}
        search_facets[name] = {
            "title": name,
            "items": [
                {"name": value, "display_name": label, "count": count}
                for value, (label, count) in ranked
            ],
        }
    return facets, search_facets


# ----- actions ------------------------------------------------------------------------
class CkanActions:
    """The supported CKAN actions, each taking the caller's identity and a params dict."""

    NAMES = ("package_search", "package_show", "package_list", "organization_list", "status_show")

    def __init__(self, records: RecordService, exports: ExportService) -> None:
        self.records = records
        self.exports = exports

    def call(self, identity: Identity, action: str, params: dict[str, Any]) -> Any:
        if action not in self.NAMES:
            raise UnknownAction(action)
        return getattr(self, action)(identity, params)

    def status_show(self, identity: Identity, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "site_title": CATALOG_TITLE,
            "site_description": "FAIR catalogue of in-vivo imaging data (MRI, PET, CT)",
            "site_url": self.exports.settings.base_url,
            "ckan_version": CKAN_VERSION,
            "error_emails_to": None,
            "locale_default": "en",
            "extensions": ["imagora"],
        }

    def package_show(self, identity: Identity, params: dict[str, Any]) -> dict[str, Any]:
        record_id = str(params.get("id") or params.get("name_or_id") or "").strip()
        if not record_id:
            raise ValidationError("Missing value: id", field="id")
        return self.exports.ckan_package(identity, record_id)

    def package_list(self, identity: Identity, params: dict[str, Any]) -> list[str]:
        limit = _int(params, "limit", MAX_RESULT_WINDOW, 0, MAX_RESULT_WINDOW)
        offset = _int(params, "offset", 0, 0, MAX_RESULT_WINDOW)
        names = [package_name(hit.id) for hit in self._all(identity, "collection")]
        return sorted(names)[offset : offset + limit]

    def organization_list(self, identity: Identity, params: dict[str, Any]) -> list[Any]:
        request = SearchRequest(level="collection", size=1)
        page = self.records.search(identity, request)
        counts = {v.value: v.count for v in page.facets.get("source", [])}
        if str(params.get("all_fields", "")).lower() not in ("true", "1"):
            return sorted(counts)
        return [
            {**(organization(name) or {}), "package_count": counts[name]} for name in sorted(counts)
        ]

    def package_search(self, identity: Identity, params: dict[str, Any]) -> dict[str, Any]:
        plan = search_plan(params)
        rows = _int(params, "rows", DEFAULT_ROWS, 0, MAX_ROWS)
        start = _int(params, "start", 0, 0, MAX_RESULT_WINDOW)
        facet_names = _list(params, "facet.field", "facet_field")
        facet_limit = _int(params, "facet.limit", DEFAULT_FACET_LIMIT, -1, 10_000)
        first, hits = self._window(identity, plan, start, rows)
        results = self.exports.ckan_packages(identity, [hit.id for hit in hits])
        facets, search_facets = facet_blocks(facet_names, first, first.total, facet_limit)
        return {
            "count": first.total,
            "sort": str(params.get("sort") or "score desc"),
            "results": results,
            "facets": facets,
            "search_facets": search_facets,
        }

    # -- helpers
    def _request(self, plan: SearchPlan, page: int, size: int) -> SearchRequest:
        filters = {name: list(values) for name, values in plan.filters.items()}
        return SearchRequest(
            text=plan.text, filters=filters, level=plan.level, page=page, size=size, sort=plan.sort
        )

    def _window(
        self, identity: Identity, plan: SearchPlan, start: int, rows: int
    ) -> tuple[RecordPage, list[Any]]:
        """Hits start..start+rows, fetched in pages of MAX_PAGE_SIZE (CKAN pages by offset)."""
        end = min(start + rows, MAX_RESULT_WINDOW)
        first_page = start // MAX_PAGE_SIZE + 1
        page = self.records.search(identity, self._request(plan, first_page, MAX_PAGE_SIZE))
        first, hits = page, list(page.hits)
        number = first_page
        while (number * MAX_PAGE_SIZE) < min(end, first.total):
            number += 1
            hits += self.records.search(identity, self._request(plan, number, MAX_PAGE_SIZE)).hits
        offset = start - (first_page - 1) * MAX_PAGE_SIZE
        return first, hits[offset : offset + max(end - start, 0)]

    def _all(self, identity: Identity, level: str) -> list[Any]:
        hits: list[Any] = []
        number = 0
        while True:
            number += 1
            request = SearchRequest(level=level, page=number, size=MAX_PAGE_SIZE, sort="title")
            page = self.records.search(identity, request)
            hits += page.hits
            if not page.hits or number * MAX_PAGE_SIZE >= min(page.total, MAX_RESULT_WINDOW):
                return hits

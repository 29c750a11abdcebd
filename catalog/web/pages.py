"""Server-rendered pages: the search page, term pages and the record landing page.

Routes stay thin: they call one service method and hand a small view model to a Jinja2
template. The landing page asks `catalog.exports` (the ExportService) for everything
format-related: content negotiation on `Accept`, the FAIR Signposting `Link` header, the
citation URL, the licence URL and the schema.org JSON-LD in the page head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from catalog.domain.display import imaging_rows
from catalog.domain.errors import QuerySyntaxError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import FacetNode, FacetValue, RecordPage, RecordPublic
from catalog.domain.search import FACET_FIELDS, NUMERIC_FIELDS, SortOrder
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.services.terms import TREE_LABELS
from catalog.web.charts import glance_charts
from catalog.web.deps import (
    RESERVED_PARAMS,
    CatalogDep,
    IdentityDep,
    call_store,
    search_request_from,
)
from catalog.web.landing import landing_context
from catalog.web.lineage import lineage_html
from catalog.web.paging import Params, last_page, page_links, toggled, url
from catalog.web.titles import search_title

router = APIRouter(include_in_schema=False)

CHILDREN_PAGE_SIZE = 25
TERM_RECORDS_PAGE_SIZE = 20
#: Tree levels shown open by default (deeper ones open when they hold the selection).
TREE_OPEN_DEPTH = 3


# ----- search page --------------------------------------------------------------------
@dataclass
class FacetLink:
    label: str
    count: int
    active: bool
    href: str
    width: int = 0
    """The count's bar, in percent of the facet's largest count."""


@dataclass
class FacetGroup:
    name: str
    label: str
    values: list[FacetLink] = field(default_factory=list)
    missing: int = 0
    """Matching records without a value for this facet."""


@dataclass
class ActiveFilter:
    field_label: str
    value_label: str
    remove_href: str


def facet_groups(page: RecordPage, params: Params) -> list[FacetGroup]:
    """Facet values as toggle links, in FACET_FIELDS order. One species facet: the
    species tree when there is one (rodent > rat, mouse), not a flat list beside it,
    unless a flat species filter is already selected (so it can be removed here)."""
    groups = []
    selected = {name for name, _ in params}
    for name, label in FACET_FIELDS.items():
        values = page.facets.get(name) or []
        if not values:
            continue
        if name == "species" and page.facet_trees.get("species") and name not in selected:
            continue
        group = FacetGroup(name=name, label=label, missing=page.facet_missing.get(name, 0))
        top = max(v.count for v in values) or 1
        for value in values:
            active = (name, value.value) in params
            href = url("/search", toggled(params, name, value.value))
            width = max(2, round(100 * value.count / top))
            group.values.append(FacetLink(value.label, value.count, active, href, width))
        groups.append(group)
    return groups


#: Range filters on the page: field -> (label, unit, input type).
RANGE_FILTERS: dict[str, tuple[str, str, str]] = {
    "field_strength": ("Field strength", "T", "number"),
    "tr_ms": ("TR", "ms", "number"),
    "te_ms": ("TE", "ms", "number"),
    "acquired": ("Acquisition date", "", "date"),
    "age_days": ("Subject age", "days", "number"),
    "subjects": ("Subject count", "", "number"),
}


@dataclass
class RangeInput:
    name: str
    label: str
    unit: str
    kind: str
    low: str
    high: str


def range_inputs(params: Params) -> list[RangeInput]:
    """The range filter form: one min/max pair per numeric field, filled from the URL."""
    given = dict(params)
    return [
        RangeInput(
            name, label, unit, kind, given.get(f"{name}.min", ""), given.get(f"{name}.max", "")
        )
        for name, (label, unit, kind) in RANGE_FILTERS.items()
    ]


def group_switch(params: Params, group: str) -> dict[str, str]:
    """Links to the grouped (by dataset) and the flat view of the same search."""
    base = [(k, v) for k, v in params if k not in ("group", "page")]
    return {
        "collection": url("/search", [*base, ("group", "collection")]),
        "none": url("/search", [*base, ("group", "none")]),
        "current": group,
    }


def size_in_words(size: int) -> str:
    """1536 -> "1.5 KB" (decimal units, as file browsers show them)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def active_filters(params: Params, facets: dict[str, list[FacetValue]]) -> list[ActiveFilter]:
    """The filters in the URL, each with a link that removes it."""
    filters = []
    for name, value in params:
        if name in RESERVED_PARAMS or not value:
            continue
        labels = {v.value: v.label for v in facets.get(name, [])}
        filters.append(
            ActiveFilter(
                field_label=_filter_label(name),
                value_label=labels.get(value, value),
                remove_href=url("/search", toggled(params, name, value)),
            )
        )
    return filters


def _filter_label(name: str) -> str:
    base, _, end = name.rpartition(".")
    if base in NUMERIC_FIELDS and end in ("min", "max"):
        label = NUMERIC_FIELDS[base][0]
        return f"{label[0].upper()}{label[1:]} {'from' if end == 'min' else 'up to'}"
    if name == "collection_id":
        return "Dataset"
    return FACET_FIELDS.get(name, NUMERIC_FIELDS.get(name, (name,))[0])


@dataclass
class TreeLink:
    """A facet tree node: selecting it filters on the concept and its narrower ones."""

    iri: str
    label: str
    count: int
    active: bool
    open: bool
    href: str
    children: list[TreeLink] = field(default_factory=list)


@dataclass
class TreeGroup:
    name: str
    label: str
    nodes: list[TreeLink]


def tree_groups(page: RecordPage, params: Params, concept: str | None) -> list[TreeGroup]:
    """The contrast / species / anatomy trees as links that set (or clear) `concept`."""
    base = [(k, v) for k, v in params if k not in ("page", "concept")]
    return [
        TreeGroup(name, TREE_LABELS.get(name, name), _tree_links(nodes, base, concept, 0))
        for name, nodes in page.facet_trees.items()
        if nodes
    ]


def _tree_links(
    nodes: list[FacetNode], base: Params, concept: str | None, depth: int
) -> list[TreeLink]:
    links = []
    for node in nodes:
        active = node.iri == concept
        children = _tree_links(node.children, base, concept, depth + 1)
        href = url("/search", base if active else [*base, ("concept", node.iri)])
        is_open = bool(children) and (depth < TREE_OPEN_DEPTH - 1 or _selected(children))
        links.append(TreeLink(node.iri, node.label, node.count, active, is_open, href, children))
    return links


def _selected(links: list[TreeLink]) -> bool:
    return any(link.active or _selected(link.children) for link in links)


@dataclass
class WhyLine:
    """One "matched because" line under a hit."""

    concept: str
    term: str
    match: str
    rule: str
    evidence: list[tuple[str, str]]


def why_lines(explanation: list[dict[str, str]]) -> list[WhyLine]:
    """The hit's explanation entries (service-enriched or the backend's short form)."""
    lines = []
    for entry in explanation:
        pairs = []
        for item in (entry.get("evidence") or "").split("; "):
            name, sep, value = item.partition("=")
            if sep:
                pairs.append((name, value))
        lines.append(
            WhyLine(
                concept=entry.get("concept", ""),
                term=entry.get("term", ""),
                match=entry.get("match", ""),
                rule=entry.get("rule", ""),
                evidence=pairs,
            )
        )
    return lines


@router.get("/", response_class=Response)
@router.get("/search", response_class=Response)
async def search_page(
    request: Request,
    catalog: CatalogDep,
    identity: IdentityDep,
    q: str = "",
    page: Annotated[int, Query()] = 1,
    sort: SortOrder = "relevance",
) -> Response:
    return await call_store(catalog, _search_page, request, catalog, identity, q, page, sort)


def _search_page(
    request: Request, catalog: Catalog, identity: Identity, q: str, page: int, sort: SortOrder
) -> Response:
    params = list(request.query_params.multi_items())
    size = catalog.settings.page_size
    search = search_request_from(request.query_params, q, page, size, sort, "collection")
    search.facet_trees = True
    context: dict[str, Any] = {"q": q, "error": None, "result": None, "sort": sort}
    ranged = {f"{n}.{end}" for n in RANGE_FILTERS for end in ("min", "max")}
    context["hidden"] = [(k, v) for k, v in params if k not in RESERVED_PARAMS | ranged]
    context["range_hidden"] = [(k, v) for k, v in params if k not in ranged and k not in ("page",)]
    context.update(exact=search.exact, concept=search.concept, why=why_lines)
    context.update(ranges=range_inputs(params), switch=group_switch(params, search.group))
    context.update(size_in_words=size_in_words, group=search.group)
    status = 200
    try:
        result = catalog.records.search(identity, search)
    except (QuerySyntaxError, ValidationError) as exc:  # shown in place, query box kept
        context["error"] = exc.message
        status = exc.status
        result = None
    if result is not None:
        context["result"] = result
        context["facets"] = facet_groups(result, params)
        context["trees"] = tree_groups(result, params, search.concept)
        shown = result.group_total if result.group_total is not None else result.total
        context["links"] = page_links("/search", params, result.page, result.size, shown)
        context["suggest_href"] = lambda text: url(
            "/search", [("q", text), *((k, v) for k, v in params if k not in ("q", "page"))]
        )
    facets = result.facets if result else {}
    context["active"] = active_filters(params, facets)
    if search.concept:
        context["active"].append(_concept_filter(catalog, params, search.concept))
    context["glance_charts"] = _glance(catalog, identity, q, params, page)
    context["has_preview"] = lambda hit: catalog.previews.available(hit.id, hit.access)
    pages = last_page(result.total, result.size) if result is not None else None
    context["page_title"] = search_title(q, context["active"], page, pages)
    return request.app.state.templates.TemplateResponse(
        request, "search.html", context, status_code=status
    )


def _glance(catalog: Catalog, identity: Identity, q: str, params: Params, page: int) -> list:
    """The home page's charts: only with no query, no filter, on the first page."""
    if q.strip() or page != 1 or any(k not in ("sort",) for k, _ in params):
        return []
    return glance_charts(catalog.glance.glance(identity))


def _concept_filter(catalog: Catalog, params: Params, concept: str) -> ActiveFilter:
    remaining = [(k, v) for k, v in params if k not in ("page", "concept")]
    label = catalog.terms.label(concept)
    return ActiveFilter("Concept", f"{label} and narrower", url("/search", remaining))


# ----- term page ----------------------------------------------------------------------
@router.get("/terms", response_class=Response)
async def term_page(
    request: Request,
    catalog: CatalogDep,
    identity: IdentityDep,
    iri: Annotated[str, Query(max_length=2000)],
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """A concept, its neighbours, and the visible records annotated with it or below."""
    return await call_store(catalog, _term_page, request, catalog, identity, iri, page)


def _term_page(
    request: Request, catalog: Catalog, identity: Identity, iri: str, page: int
) -> Response:
    term = catalog.terms.detail(iri)
    search = SearchRequest(concept=iri, page=page, size=TERM_RECORDS_PAGE_SIZE)
    records = catalog.records.search(identity, search)
    params = [("iri", iri)]
    context = {
        "term": term,
        "records": records,
        "links": page_links("/terms", params, records.page, records.size, records.total),
        "search_href": url("/search", [("concept", iri)]),
        "why": why_lines,
    }
    return request.app.state.templates.TemplateResponse(request, "term.html", context)


# ----- landing page -------------------------------------------------------------------


def _lineage(catalog: Catalog, identity: Identity, record: RecordPublic) -> Markup:
    """The provenance panel of a derived record (empty for every other record)."""
    lineage = catalog.compute.lineage(identity, record)
    return Markup(lineage_html(record.id, lineage)) if lineage else Markup("")  # escaped


@router.get("/records/{record_id}", response_class=Response)
async def record_page(
    request: Request,
    record_id: str,
    catalog: CatalogDep,
    identity: IdentityDep,
    children_page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    return await call_store(
        catalog, _record_page, request, record_id, catalog, identity, children_page
    )


def _record_page(
    request: Request, record_id: str, catalog: Catalog, identity: Identity, children_page: int
) -> Response:
    record = catalog.records.get(identity, record_id)
    exports = catalog.exports
    landing = exports.landing(identity, record)
    headers = {"Link": landing.link_header, "Vary": "Accept"}
    wanted = exports.negotiate(request.headers.get("accept"))
    if wanted is not None:
        rendered = exports.render_record(identity, record, wanted)
        headers["content-type"] = rendered.content_type
        return Response(rendered.body, headers=headers)
    children = None
    if record.children_count:
        children = catalog.records.children(
            identity, record_id, page=children_page, size=CHILDREN_PAGE_SIZE
        )
    context = {
        "record": record,
        "children": children,
        "children_links": _children_links(children, record_id),
        "license_url": landing.license_url,
        "imaging": imaging_rows(record),
        "cite_as": landing.cite_as,
        "head_extra": Markup(landing.json_ld),  # built by the exporter, script-safe
        "links": catalog.links.views(identity, record_id),
        "fair": landing.fair,
        **landing_context(catalog, identity, record),
        "publications": catalog.publish.for_record(identity, record),
        "lineage": _lineage(catalog, identity, record),
    }
    return request.app.state.templates.TemplateResponse(
        request, "record.html", context, headers=headers
    )


def _children_links(children: RecordPage | None, record_id: str) -> dict[str, str]:
    if children is None:
        return {}
    prefix = f"/records/{quote(record_id)}"
    return page_links(
        prefix, [], children.page, children.size, children.total, param="children_page"
    )

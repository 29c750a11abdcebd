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

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.identity import Identity
from catalog.domain.records import FacetNode, FacetValue, RecordPage, RecordPublic
from catalog.domain.search import FACET_FIELDS, SortOrder
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.services.terms import TREE_LABELS
from catalog.web.deps import (
    RESERVED_PARAMS,
    CatalogDep,
    IdentityDep,
    call_store,
    search_request_from,
)
from catalog.web.paging import Params, page_links, toggled, url

router = APIRouter(include_in_schema=False)

CHILDREN_PAGE_SIZE = 25
TERM_RECORDS_PAGE_SIZE = 20
#: Tree levels shown open by default (deeper ones open when they hold the selection).
TREE_OPEN_DEPTH = 3
TIMES = " \u00d7 "  # multiplication sign between matrix / voxel dimensions


# ----- search page --------------------------------------------------------------------
@dataclass
class FacetLink:
    label: str
    count: int
    active: bool
    href: str


@dataclass
class FacetGroup:
    name: str
    label: str
    values: list[FacetLink] = field(default_factory=list)


@dataclass
class ActiveFilter:
    field_label: str
    value_label: str
    remove_href: str


def facet_groups(page: RecordPage, params: Params) -> list[FacetGroup]:
    """Facet values as toggle links, in FACET_FIELDS order."""
    groups = []
    for name, label in FACET_FIELDS.items():
        values = page.facets.get(name) or []
        if not values:
            continue
        group = FacetGroup(name=name, label=label)
        for value in values:
            active = (name, value.value) in params
            href = url("/search", toggled(params, name, value.value))
            group.values.append(FacetLink(value.label, value.count, active, href))
        groups.append(group)
    return groups


def active_filters(params: Params, facets: dict[str, list[FacetValue]]) -> list[ActiveFilter]:
    """The filters in the URL, each with a link that removes it."""
    filters = []
    for name, value in params:
        if name in RESERVED_PARAMS:
            continue
        labels = {v.value: v.label for v in facets.get(name, [])}
        filters.append(
            ActiveFilter(
                field_label=FACET_FIELDS.get(name, name),
                value_label=labels.get(value, value),
                remove_href=url("/search", toggled(params, name, value)),
            )
        )
    return filters


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
    search = search_request_from(request.query_params, q, page, catalog.settings.page_size, sort)
    search.facet_trees = True
    context: dict[str, Any] = {"q": q, "error": None, "result": None, "sort": sort}
    context["hidden"] = [(k, v) for k, v in params if k not in RESERVED_PARAMS]
    context.update(exact=search.exact, concept=search.concept, why=why_lines)
    status = 200
    try:
        result = catalog.records.search(identity, search)
    except QuerySyntaxError as exc:  # rendered in place, with the query box kept
        context["error"] = exc.message
        status = 400
        result = None
    if result is not None:
        context["result"] = result
        context["facets"] = facet_groups(result, params)
        context["trees"] = tree_groups(result, params, search.concept)
        context["links"] = page_links("/search", params, result.page, result.size, result.total)
    facets = result.facets if result else {}
    context["active"] = active_filters(params, facets)
    if search.concept:
        context["active"].append(_concept_filter(catalog, params, search.concept))
    return request.app.state.templates.TemplateResponse(
        request, "search.html", context, status_code=status
    )


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
#: Imaging fields shown on the landing page, in order: (field, label, unit).
IMAGING_ROWS: tuple[tuple[str, str, str], ...] = (
    ("modality", "Modality", ""),
    ("field_strength_t", "Field strength", "T"),
    ("manufacturer", "Manufacturer", ""),
    ("model", "Model", ""),
    ("sequence", "Sequence", ""),
    ("sequence_variant", "Sequence variant", ""),
    ("scanning_sequence", "Scanning sequence", ""),
    ("series_description", "Series description", ""),
    ("contrast", "Contrast", ""),
    ("tr_ms", "Repetition time (TR)", "ms"),
    ("te_ms", "Echo time (TE)", "ms"),
    ("ti_ms", "Inversion time (TI)", "ms"),
    ("flip_angle_deg", "Flip angle", "°"),
    ("voxel_size_mm", "Voxel size", "mm"),
    ("matrix", "Matrix", ""),
    ("fov_mm", "Field of view", "mm"),
    ("slice_thickness_mm", "Slice thickness", "mm"),
    ("num_instances", "Images", ""),
    ("num_frames", "Frames", ""),
    ("body_part", "Body part", ""),
    ("nucleus", "Nucleus", ""),
    ("averages", "Averages", ""),
    ("repetitions", "Repetitions", ""),
    ("radiopharmaceutical", "Radiopharmaceutical", ""),
    ("injected_dose_bq", "Injected dose", "Bq"),
    ("institution", "Institution", ""),
    ("station", "Station", ""),
    ("software_version", "Software", ""),
    ("acquisition_date", "Acquired", ""),
)


def _display(value: Any, unit: str) -> str:
    if isinstance(value, list):
        joined = TIMES.join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        return f"{joined} {unit}".strip()
    if isinstance(value, float):
        return f"{value:g} {unit}".strip()
    return f"{value} {unit}".strip()


def imaging_rows(record: RecordPublic) -> list[tuple[str, str]]:
    """(label, display value) for every known imaging fact of the record."""
    rows = []
    for name, label, unit in IMAGING_ROWS:
        value = getattr(record.imaging, name)
        if value is not None and value != []:
            rows.append((label, _display(value, unit)))
    return rows


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

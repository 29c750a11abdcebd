"""The OAI-PMH 2.0 endpoint, `GET|POST /oai`: parses the request, calls `catalog.oai`
(the OaiService) and writes the protocol's XML envelope.

Protocol errors are answered as OAI-PMH `<error>` elements with HTTP 200, as harvesters
expect; for badVerb and badArgument the `<request>` element carries no attributes
(OAI-PMH 2.0 section 3.2). Record metadata arrives already serialised by the exporters
and is placed inside `<metadata>` as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Request
from starlette.responses import Response

from catalog.services.oai import (
    GRANULARITY,
    OaiError,
    OaiHeader,
    OaiList,
    OaiRecord,
    OaiService,
    ResumptionToken,
    check_arguments,
    format_datestamp,
)
from catalog.web.deps import CatalogDep, call_store

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MEDIA_TYPE = "text/xml; charset=utf-8"
_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI}" '
    f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
_NO_ATTRIBUTES = frozenset({"badVerb", "badArgument"})

Chunks = Iterator[str | bytes]


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def header_xml(header: OaiHeader) -> str:
    status = ' status="deleted"' if header.deleted else ""
    sets = "".join(_text("setSpec", spec) for spec in header.sets)
    return (
        f"<header{status}>{_text('identifier', header.identifier)}"
        f"{_text('datestamp', header.datestamp)}{sets}</header>"
    )


def record_xml(record: OaiRecord) -> Chunks:
    yield "<record>" + header_xml(record.header)
    if record.metadata is not None:
        yield "<metadata>"
        yield record.metadata
        yield "</metadata>"
    yield "</record>\n"


def token_xml(token: ResumptionToken | None) -> str:
    if token is None:
        return ""
    attributes = f' completeListSize="{token.complete_list_size}" cursor="{token.cursor}"'
    if token.expires is not None:
        attributes += f' expirationDate="{format_datestamp(token.expires)}"'
    return f"<resumptionToken{attributes}>{escape(token.value)}</resumptionToken>\n"


# ----- verbs ----------------------------------------------------------------------------
def identify(service: OaiService, args: dict[str, str]) -> Chunks:
    info = service.identify()
    yield "<Identify>"
    yield _text("repositoryName", info.repository_name)
    yield _text("baseURL", info.base_url)
    yield _text("protocolVersion", "2.0")
    yield _text("adminEmail", info.admin_email)
    yield _text("earliestDatestamp", info.earliest_datestamp)
    yield _text("deletedRecord", "persistent")
    yield _text("granularity", GRANULARITY)
    if info.repository_identifier:
        ns = "http://www.openarchives.org/OAI/2.0/oai-identifier"
        yield (
            f'<description><oai-identifier xmlns="{ns}" '
            f'xsi:schemaLocation="{ns} {ns}.xsd">'
            f"{_text('scheme', 'oai')}{_text('repositoryIdentifier', info.repository_identifier)}"
            f"{_text('delimiter', ':')}{_text('sampleIdentifier', info.sample_identifier)}"
            "</oai-identifier></description>"
        )
    yield "</Identify>\n"


def list_metadata_formats(service: OaiService, args: dict[str, str]) -> Chunks:
    yield "<ListMetadataFormats>"
    for fmt in service.metadata_formats(args.get("identifier")):
        yield (
            f"<metadataFormat>{_text('metadataPrefix', fmt.prefix)}{_text('schema', fmt.schema)}"
            f"{_text('metadataNamespace', fmt.namespace)}</metadataFormat>"
        )
    yield "</ListMetadataFormats>\n"


def list_sets(service: OaiService, args: dict[str, str]) -> Chunks:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "the set list is complete in one response")
    yield "<ListSets>"
    for found in service.sets():
        description = (
            '<setDescription><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
            'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
            f"{_text('dc:description', found.description)}</oai_dc:dc></setDescription>"
        )
        names = _text("setSpec", found.spec) + _text("setName", found.name)
        yield f"<set>{names}{description}</set>"
    yield "</ListSets>\n"


def get_record(service: OaiService, args: dict[str, str]) -> Chunks:
    record = service.get_record(args["identifier"], args["metadataPrefix"])
    yield "<GetRecord>"
    yield from record_xml(record)
    yield "</GetRecord>\n"


def _page(service: OaiService, verb: str, args: dict[str, str]) -> OaiList:
    if "resumptionToken" in args:
        return service.list_page(service.resume(verb, args["resumptionToken"]))
    return service.list_page(service.list_request(verb, args))


def list_identifiers(service: OaiService, args: dict[str, str]) -> Chunks:
    page = _page(service, "ListIdentifiers", args)
    yield "<ListIdentifiers>"
    for record in page.records:
        yield header_xml(record.header) + "\n"
    yield token_xml(page.token)
    yield "</ListIdentifiers>\n"


def list_records(service: OaiService, args: dict[str, str]) -> Chunks:
    page = _page(service, "ListRecords", args)
    yield "<ListRecords>"
    for record in page.records:
        yield from record_xml(record)
    yield token_xml(page.token)
    yield "</ListRecords>\n"


VERBS: dict[str, Callable[[OaiService, dict[str, str]], Chunks]] = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
}


# ----- the endpoint ---------------------------------------------------------------------
def _request_xml(base_url: str, verb: str | None, args: dict[str, str]) -> str:
    attributes = "".join(
        f" {name}={quoteattr(value)}" for name, value in [("verb", verb or ""), *args.items()]
    )
    return f"<request{attributes if verb else ''}>{escape(base_url)}</request>\n"


def respond(service: OaiService, params: list[tuple[str, str]]) -> bytes:
    """The whole response document for one request (one page at most)."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    verbs = grouped.pop("verb", [])
    verb = verbs[0] if len(verbs) == 1 else None
    base_url = f"{service.settings.base_url}/oai"
    now = format_datestamp(datetime.now(UTC))
    head = _OPEN + _text("responseDate", now) + "\n"
    try:
        args = check_arguments(verb, grouped)
        body = b"".join(
            part.encode() if isinstance(part, str) else part
            for part in VERBS[verb](service, args)  # type: ignore[index]
        )
    except OaiError as exc:
        echo = {} if exc.code in _NO_ATTRIBUTES else {k: v[0] for k, v in grouped.items()}
        request = _request_xml(base_url, None if exc.code in _NO_ATTRIBUTES else verb, echo)
        error = f"<error code={quoteattr(exc.code)}>{escape(exc.message)}</error>\n"
        return (head + request + error + "</OAI-PMH>\n").encode()
    request = _request_xml(base_url, verb, args)
    return (head + request).encode() + body + b"</OAI-PMH>\n"


async def oai_endpoint(request: Request, catalog: CatalogDep) -> Response:
    """OAI-PMH 2.0: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords,
    GetRecord; formats oai_dc and oai_datacite; set openaire_data."""
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        params += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    body = await call_store(catalog, respond, catalog.oai, params)
    return Response(body, media_type=MEDIA_TYPE)


def build_router() -> APIRouter:
    router = APIRouter(tags=["OAI-PMH"])
    for method in ("GET", "POST"):  # one operation each: OpenAPI ids must be unique
        router.add_api_route(
            "/oai",
            oai_endpoint,
            methods=[method],
            response_class=Response,
            operation_id=f"oai_pmh_{method.lower()}",
            summary="OAI-PMH 2.0 data provider (oai_dc, oai_datacite; set openaire_data)",
        )
    return router


router = build_router()

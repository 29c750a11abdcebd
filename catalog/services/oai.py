"""OAI-PMH 2.0 data provider rules: verbs, arguments, protocol errors, resumption tokens.

What aggregators (OpenAIRE, BASE, DataCite's harvesters) rely on:

- **Public records only**, read as the anonymous public; a restricted record is
  `idDoesNotExist`. Withdrawn public records stay as deleted records (`persistent`).
- **Datestamps** are the records' `updated` times at second granularity; `from` and
  `until` accept `YYYY-MM-DD` and `YYYY-MM-DDThh:mm:ssZ` (both bounds inclusive).
- **Resumption tokens** are signed with the installation secret and carry the whole
  position: the verb, format, set, the window `[from, until]` frozen at the first
  request (records changed during the harvest move past `until` and are picked up by
  the next incremental harvest instead of being sent twice or shifting pages), the
  keyset `(datestamp, id)` of the last record sent, the cursor, `completeListSize` and
  an expiry. No server state, so tokens survive restarts and work across workers.
- **Sets**: `openaire_data` (public collections and derived datasets, as OpenAIRE's
  Guidelines for Data Archives harvest them with `oai_datacite`) and one set per record
  level.

The web layer (`catalog.web.oai`) parses the request and writes the XML envelope; this
service decides everything else and hands it typed results.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from catalog.domain.enums import Level
from catalog.domain.errors import ImagoraError
from catalog.domain.identity import ANONYMOUS
from catalog.services.exports import ExportService
from catalog.services.records import RecordService
from catalog.store.oai import OaiRepository, OaiRow, OaiWindow
from catalog.store.repository import UnitOfWork, utcnow
from exporters.registry import OAI_FORMATS

GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
SECONDS = "%Y-%m-%dT%H:%M:%SZ"
DAY = "%Y-%m-%d"
OPENAIRE_SET = "openaire_data"
OPENAIRE_LEVELS = (Level.collection.value, Level.derived.value)
DEFAULT_PAGE_SIZE = 100
DEFAULT_TOKEN_TTL = timedelta(hours=1)
ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
_REPOSITORY_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z][A-Za-z0-9-]*)+$")


class OaiError(ImagoraError):
    """An OAI-PMH protocol error: answered as `<error code=...>` in an HTTP 200 response,
    as the protocol requires, with a message that says what to change."""

    status = 200

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class OaiSet:
    spec: str
    name: str
    description: str


@dataclass(frozen=True)
class OaiFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class OaiHeader:
    identifier: str
    datestamp: str
    sets: list[str]
    deleted: bool


@dataclass(frozen=True)
class OaiRecord:
    header: OaiHeader
    metadata: bytes | None  # None for deleted records


@dataclass(frozen=True)
class ResumptionToken:
    """The `<resumptionToken>` element: empty `value` on the last page of a list."""

    value: str
    cursor: int
    complete_list_size: int
    expires: datetime | None


@dataclass(frozen=True)
class Identify:
    repository_name: str
    base_url: str
    admin_email: str
    earliest_datestamp: str
    repository_identifier: str | None
    sample_identifier: str


@dataclass
class OaiList:
    """One page of ListRecords / ListIdentifiers."""

    records: list[OaiRecord] = field(default_factory=list)
    token: ResumptionToken | None = None


@dataclass(frozen=True)
class ListRequest:
    """A list request, either from arguments or decoded from a resumption token."""

    verb: str
    prefix: str
    set_spec: str | None
    start: datetime | None
    end: datetime
    cursor: int = 0
    complete: int | None = None
    after: tuple[datetime, str] | None = None


def format_datestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(SECONDS)


def parse_datestamp(value: str, name: str) -> tuple[datetime, bool]:
    """(instant, is_day_granularity) of a `from`/`until` argument, or badArgument."""
    for pattern, day in ((SECONDS, False), (DAY, True)):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC), day
        except ValueError:
            continue
    raise OaiError(
        "badArgument",
        f"'{name}' must be a UTC date as YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, got '{value}'",
    )


class TokenCodec:
    """Signed, self-contained resumption tokens (base64url JSON + truncated HMAC)."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"imagora-oai-token:" + secret).digest()

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, request: ListRequest, expires: datetime) -> str:
        data = {
            "v": request.verb,
            "p": request.prefix,
            "s": request.set_spec,
            "f": request.start.isoformat() if request.start else None,
            "u": request.end.isoformat(),
            "c": request.cursor,
            "n": request.complete,
            "a": [request.after[0].isoformat(), request.after[1]] if request.after else None,
            "e": int(expires.timestamp()),
        }
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def decode(self, token: str, now: datetime) -> ListRequest:
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            raise OaiError("badResumptionToken", "the resumptionToken is not one this server made")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if now.timestamp() > data["e"]:
            raise OaiError(
                "badResumptionToken",
                "the resumptionToken has expired; restart the list without a token",
            )
        after = data["a"]
        return ListRequest(
            verb=data["v"],
            prefix=data["p"],
            set_spec=data["s"],
            start=datetime.fromisoformat(data["f"]) if data["f"] else None,
            end=datetime.fromisoformat(data["u"]),
            cursor=data["c"],
            complete=data["n"],
            after=(datetime.fromisoformat(after[0]), after[1]) if after else None,
        )


class OaiService:
    """The OAI-PMH verbs over the public part of the catalogue."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        records: RecordService,
        exports: ExportService,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        token_ttl: timedelta = DEFAULT_TOKEN_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.uow_factory = uow_factory
        self.records = records
        self.exports = exports
        self.settings = exports.settings
        self.page_size = page_size
        self.token_ttl = token_ttl
        self.clock = clock
        self.tokens = TokenCodec(self.settings.secret())
        self.host = urlparse(self.settings.base_url).hostname or "localhost"

    # ----- identifiers and sets ----------------------------------------------------------
    def identifier(self, record_id: str) -> str:
        return f"oai:{self.host}:{record_id}"

    def record_id(self, identifier: str) -> str:
        prefix = f"oai:{self.host}:"
        if not identifier.startswith(prefix) or len(identifier) == len(prefix):
            raise OaiError(
                "idDoesNotExist",
                f"'{identifier}' is not an identifier of this repository ({prefix}<record id>)",
            )
        return identifier[len(prefix) :]

    def sets(self) -> list[OaiSet]:
        found = [
            OaiSet(
                OPENAIRE_SET,
                "OpenAIRE",
                "Public datasets (collections and derived data) for OpenAIRE (oai_datacite)",
            )
        ]
        for level in Level:
            found.append(OaiSet(level.value, f"{level.value} records", f"Public {level} records"))
        return found

    def _set_levels(self, set_spec: str | None) -> list[str] | None:
        if set_spec is None:
            return None
        if set_spec == OPENAIRE_SET:
            return list(OPENAIRE_LEVELS)
        if set_spec in {level.value for level in Level}:
            return [set_spec]
        known = ", ".join(s.spec for s in self.sets())
        raise OaiError("noRecordsMatch", f"there is no set '{set_spec}'; sets: {known}")

    def _memberships(self, level: str) -> list[str]:
        return [OPENAIRE_SET, level] if level in OPENAIRE_LEVELS else [level]

    # ----- verbs -------------------------------------------------------------------------
    def identify(self) -> Identify:
        with self.uow_factory() as uow:
            earliest = OaiRepository(uow.session).earliest()
        repository = self.host if _REPOSITORY_ID.match(self.host) else None
        return Identify(
            repository_name="Imagora: FAIR catalogue of in-vivo imaging data",
            base_url=f"{self.settings.base_url}/oai",
            admin_email=self.settings.admin_email,
            earliest_datestamp=format_datestamp(earliest or self.clock()),
            repository_identifier=repository,
            sample_identifier=self.identifier("0123456789abcdef"),
        )

    def metadata_formats(self, identifier: str | None = None) -> list[OaiFormat]:
        if identifier is not None:
            self._row(identifier)  # idDoesNotExist for unknown or restricted records
        found = []
        for name in OAI_FORMATS:
            cls = self.exports.format_named(name)
            found.append(OaiFormat(name, cls.schema, cls.namespace))  # type: ignore[attr-defined]
        return found

    def get_record(self, identifier: str, prefix: str) -> OaiRecord:
        self._check_prefix(prefix)
        row = self._row(identifier)
        records = self._records([row], prefix, with_metadata=True)
        if not records:  # hidden between the two reads
            raise OaiError("idDoesNotExist", f"no public record '{identifier}'")
        return records[0]

    def list_request(self, verb: str, args: dict[str, str]) -> ListRequest:
        """A first-page request from arguments (token requests use `resume`)."""
        prefix = args["metadataPrefix"]
        self._check_prefix(prefix)
        start, end = self._window(args.get("from"), args.get("until"))
        set_spec = args.get("set")
        self._set_levels(set_spec)
        return ListRequest(verb=verb, prefix=prefix, set_spec=set_spec, start=start, end=end)

    def resume(self, verb: str, token: str) -> ListRequest:
        try:
            request = self.tokens.decode(token, self.clock())
        except (ValueError, KeyError, TypeError):
            raise OaiError("badResumptionToken", "the resumptionToken is malformed") from None
        if request.verb != verb:
            raise OaiError(
                "badResumptionToken", f"this resumptionToken continues {request.verb}, not {verb}"
            )
        return request

    def list_page(self, request: ListRequest) -> OaiList:
        """One page of headers (ListIdentifiers) or records (ListRecords)."""
        window = OaiWindow(
            end=request.end,
            start=request.start,
            levels=self._set_levels(request.set_spec),
            after=request.after,
        )
        with self.uow_factory() as uow:
            repository = OaiRepository(uow.session)
            complete = request.complete
            if complete is None:
                complete = repository.count(window)
            rows = repository.page(window, self.page_size + 1)
        if not rows and request.cursor == 0:
            raise OaiError("noRecordsMatch", "no records match the given from, until and set")
        page, more = rows[: self.page_size], len(rows) > self.page_size
        records = self._records(page, request.prefix, with_metadata=request.verb == "ListRecords")
        return OaiList(records, self._token(request, page, more, complete))

    # ----- helpers -----------------------------------------------------------------------
    def _check_prefix(self, prefix: str) -> None:
        if prefix not in OAI_FORMATS:
            raise OaiError(
                "cannotDisseminateFormat",
                f"the metadata format '{prefix}' is not offered; use one of: "
                + ", ".join(OAI_FORMATS),
            )

    def _window(self, since: str | None, until: str | None) -> tuple[datetime | None, datetime]:
        start = end = None
        granularities = set()
        if since is not None:
            start, day = parse_datestamp(since, "from")
            granularities.add(day)
        if until is not None:
            until_at, day = parse_datestamp(until, "until")
            granularities.add(day)
            end = until_at + (timedelta(days=1) if day else timedelta(seconds=1))
        if len(granularities) > 1:
            raise OaiError("badArgument", "'from' and 'until' must have the same granularity")
        if start is not None and end is not None and start >= end:
            raise OaiError("badArgument", f"'from' ({since}) is later than 'until' ({until})")
        return start, end or self.clock()

    def _row(self, identifier: str) -> OaiRow:
        record_id = self.record_id(identifier)
        with self.uow_factory() as uow:
            row = OaiRepository(uow.session).one(record_id)
        if row is None:
            raise OaiError("idDoesNotExist", f"no public record '{identifier}'")
        return row

    def _header(self, row: OaiRow) -> OaiHeader:
        return OaiHeader(
            identifier=self.identifier(row.id),
            datestamp=format_datestamp(row.updated),
            sets=self._memberships(row.level),
            deleted=row.deleted,
        )

    def _records(self, rows: list[OaiRow], prefix: str, *, with_metadata: bool) -> list[OaiRecord]:
        """Headers, and metadata for live records read and rendered in batches."""
        wanted = [row.id for row in rows if not row.deleted] if with_metadata else []
        found = self.records.get_many(ANONYMOUS, wanted)
        rendered = self.exports.render_many(ANONYMOUS, found, prefix)
        metadata = {r.id: out.body for r, out in zip(found, rendered, strict=True)}
        records = []
        for row in rows:
            if with_metadata and not row.deleted and row.id not in metadata:
                continue  # became invisible since the page was read
            body = metadata.get(row.id)
            records.append(OaiRecord(self._header(row), body if isinstance(body, bytes) else None))
        return records

    def _token(
        self, request: ListRequest, page: list[OaiRow], more: bool, complete: int
    ) -> ResumptionToken | None:
        if not more:
            if request.cursor == 0:
                return None  # the whole list fitted in one response
            return ResumptionToken("", request.cursor, complete, None)
        last = page[-1]
        following = ListRequest(
            verb=request.verb,
            prefix=request.prefix,
            set_spec=request.set_spec,
            start=request.start,
            end=request.end,
            cursor=request.cursor + len(page),
            complete=complete,
            after=(last.updated, last.id),
        )
        expires = self.clock() + self.token_ttl
        value = self.tokens.encode(following, expires)
        return ResumptionToken(value, request.cursor, complete, expires)


def check_arguments(verb: str | None, args: dict[str, list[str]]) -> dict[str, str]:
    """The single-valued arguments of a request, or badVerb / badArgument."""
    if verb is None or verb not in ARGUMENTS:
        shown = f"'{verb}'" if verb else "missing"
        raise OaiError("badVerb", f"the verb is {shown}; use one of: {', '.join(ARGUMENTS)}")
    repeated = sorted(name for name, values in args.items() if len(values) > 1)
    if repeated:
        raise OaiError("badArgument", f"repeated argument: {', '.join(repeated)}")
    single = {name: values[0] for name, values in args.items()}
    if "resumptionToken" in single and verb in ("ListIdentifiers", "ListRecords", "ListSets"):
        if len(single) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return single
    required, optional = ARGUMENTS[verb]
    unknown = sorted(set(single) - required - optional)
    if unknown:
        raise OaiError("badArgument", f"{verb} does not take: {', '.join(unknown)}")
    missing = sorted(required - set(single))
    if missing:
        raise OaiError("badArgument", f"{verb} needs: {', '.join(missing)}")
    return single

"""The CKAN harvester: a CKAN portal's packages, through `ckanapi.RemoteCKAN`.

Discovery pages through `package_search` (`rows` 1000, sorted by `metadata_modified`),
whose results carry whole packages, so fetching costs no request. A package's
fingerprint is its `metadata_modified`: only packages modified since the last run are
written again; packages no longer listed (deleted, made private) are withdrawn.

Mapping: organisations become collections; packages become collection records under
their organisation (title, notes, licence, author, tags and groups as keywords, the
portal URL as identifier); resources become files (URL, size, format, hash). Packages
served by another Imagora carry imaging facts in `extras` (modality, field strength,
manufacturer, sequence, species IRI); those are kept.

`RemoteCKAN` speaks through `ClientSession`, an adapter onto the shared `RemoteClient`,
so timeouts, retries, the concurrency limit and secret redaction apply here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotAuthorized, ServerIncompatibleError

from catalog.domain.errors import SourceUnusableError
from catalog.domain.results import ItemState
from harvesters.base import Fetched, FileFacts, HarvestedRecord, ItemError, ItemHarvester, ItemRef
from harvesters.ckan.mapping import build_records
from harvesters.http import (
    CredentialsRejectedError,
    RemoteClient,
    RemoteSourceError,
    strip_userinfo,
)
from harvesters.remote import RemoteOptions, credentials

PAGE_ROWS = 1000


class CkanOptions(RemoteOptions):
    organization: str | None = None
    """Harvest only this organisation's packages."""


class _Answer:
    """What `RemoteCKAN` reads from a requests response: status and text."""

    def __init__(self, status_code: int, text: str) -> None:
        self.status_code, self.text = status_code, text


class ClientSession:
    """The slice of `requests.Session` that `RemoteCKAN` uses, over `RemoteClient`.

    CKAN reports action errors with 4xx statuses and a JSON body that ckanapi turns
    into its exceptions, so those statuses are passed through; 5xx, 429 and connection
    trouble are retried by the client.
    """

    PASS = (400, 403, 404, 409)

    def __init__(self, client: RemoteClient) -> None:
        self.client = client

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> _Answer:
        response = self.client.request("GET", url, params=params, headers=headers, ok=self.PASS)
        return _Answer(response.status_code, response.text)

    def post(self, url: str, data: Any = None, headers: Any = None, **_: Any) -> _Answer:
        response = self.client.request("POST", url, content=data, headers=headers, ok=self.PASS)
        return _Answer(response.status_code, response.text)

    def close(self) -> None:
        self.client.close()


@dataclass
class CkanSite:
    base_url: str
    ckan: RemoteCKAN
    client: RemoteClient
    organization: str | None

    def action(self, name: str, **params: Any) -> Any:
        try:
            return self.ckan.call_action(name, params)
        except NotAuthorized:
            raise CredentialsRejectedError(
                f"{self.base_url}: the portal refused {name} (not authorised); check the API token"
            ) from None
        except (CKANAPIError, ServerIncompatibleError) as exc:
            detail = self.client.redact(str(exc))[:300]
            raise RemoteSourceError(f"{self.base_url}: {name} failed: {detail}") from None


class CkanHarvester(ItemHarvester[CkanSite]):
    """Harvests a CKAN portal's packages over its Action API; see the module docstring."""

    name = "ckan"
    version = "1.0.0"
    summary = (
        "a CKAN portal by URL (public packages; --token API key for private ones, "
        "-o organization=NAME for one organisation)"
    )
    example = "imagora harvest ckan https://ckan.example.org -o organization=imaging-lab"
    Options = CkanOptions
    options: CkanOptions

    def open(self, location: str) -> CkanSite:
        if not location.startswith(("http://", "https://")):
            raise SourceUnusableError(f"{location}: a CKAN location is an http(s):// URL")
        creds = credentials(self.options)
        base = strip_userinfo(location.rstrip("/"))
        client = RemoteClient(base, self.options.policy(), secrets=creds.secrets)
        ckan = RemoteCKAN(base, apikey=creds.token, get_only=True, session=ClientSession(client))
        site = CkanSite(base, ckan, client, self.options.organization)
        self._site = site
        try:
            site.action("status_show")
        except RemoteSourceError:
            self.close()
            raise
        return site

    def close(self) -> None:
        site = getattr(self, "_site", None)
        if site is not None:
            site.client.close()
            self._site = None

    def requests_made(self) -> int:
        site = getattr(self, "_site", None)
        return site.client.requests_made if site is not None else 0

    def source_id(self, location: CkanSite) -> str:
        scope = f"/organization/{location.organization}" if location.organization else ""
        return f"ckan:{location.base_url}{scope}"

    def discover_items(self, location: CkanSite) -> Iterator[ItemRef | ItemError]:
        organizations: dict[str, dict[str, Any]] = {}
        for package in self._packages(location):
            if not isinstance(package, dict) or not package.get("id"):
                yield ItemError(str(package)[:80], "a package without an id")
                continue
            if package.get("state", "active") != "active":
                continue  # deleted upstream: withdrawn here like an unlisted package
            org = package.get("organization")
            if isinstance(org, dict) and org.get("name"):
                organizations[str(org["name"])] = org
            stamp = str(package.get("metadata_modified") or package.get("metadata_created") or "")
            yield ItemRef(f"package:{package['id']}", stamp, {"package": package})
        for name, org in sorted(organizations.items()):
            stamp = str(org.get("created") or org.get("title") or name)
            yield ItemRef(f"organization:{name}", stamp, {"organization": org})

    def _packages(self, site: CkanSite) -> Iterator[Any]:
        start = 0
        fq = f"organization:{site.organization}" if site.organization else ""
        while True:
            page = site.action(
                "package_search", q="", fq=fq, rows=PAGE_ROWS, start=start,
                sort="metadata_modified desc",
            )  # fmt: skip
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise RemoteSourceError(f"{site.base_url}: package_search answered no results")
            yield from results
            start += len(results)
            if not results or start >= int(page.get("count") or 0):
                return

    def fetch(
        self, location: CkanSite, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        """Listings carried the whole package: nothing to ask for."""
        for ref, _old in changed:
            kind = ref.key.split(":", 1)[0]
            fact = {"path": ref.key, "kind": f"ckan-{kind}", "data": dict(ref.data or {})}
            yield Fetched(ref.key, ref.fingerprint, facts=[fact])

    def assemble(
        self, location: CkanSite, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        return build_records(location.base_url, self.name, self.version, facts)

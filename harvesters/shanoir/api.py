"""Shanoir-NG access: Keycloak tokens and the microservices' lists and pages.

Keycloak (realm `shanoir-ng`) hands out access tokens for 900 s to the public client
`shanoir-uploader` (configurable) by password grant; the harvest renews a token with its
refresh token shortly before it expires, and on a 401 refreshes (or logs in again) and
retries once. Lists answer 204 with no body when empty; pages (`content, number,
numberOfElements, totalElements, totalPages, size`, no `last`) answer 204 past the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harvesters.http import CredentialsRejectedError, RemoteClient, RemoteSourceError
from harvesters.remote import Credentials

TOKEN_PATH = "/auth/realms/shanoir-ng/protocol/openid-connect/token"
API = "/shanoir-ng"
RENEW_MARGIN_S = 60.0


class ShanoirApi:
    def __init__(
        self,
        client: RemoteClient,
        credentials: Credentials,
        client_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.client_id = client_id
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at = 0.0

    # ----- tokens -------------------------------------------------------------------------
    def login(self) -> None:
        creds = self.credentials
        if creds.token:  # an access token given as is (no refresh possible)
            self._store({"access_token": creds.token, "expires_in": 10**9})
            return
        if not (creds.user and creds.password):
            raise CredentialsRejectedError(
                "Shanoir-NG needs --user and --password (or a secrets file) for its "
                "Keycloak password grant"
            )
        form = {
            "grant_type": "password",
            "client_id": self.client_id,
            "username": creds.user,
            "password": creds.password,
            "scope": "offline_access",
        }
        self._store(self._grant(form))

    def _grant(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self.client.request("POST", TOKEN_PATH, data=form)
        except CredentialsRejectedError:
            raise CredentialsRejectedError(
                f"{self.client.base_url}: Keycloak refused the {form['grant_type']} grant for "
                f"client '{self.client_id}'; check the user, password and client id"
            ) from None
        body = self.client.decode(response)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise RemoteSourceError(f"{self.client.base_url}{TOKEN_PATH}: no access_token")
        return body

    def _store(self, body: dict[str, Any]) -> None:
        self._access = str(body["access_token"])
        self._refresh = body.get("refresh_token") or self._refresh
        self._expires_at = self._clock() + float(body.get("expires_in") or 300)
        self.client.add_secret(self._access)
        self.client.add_secret(self._refresh)

    def renew(self) -> None:
        """Refresh the access token (a failed refresh falls back to a new login)."""
        with self._lock:
            if self._refresh:
                form = {
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "refresh_token": self._refresh,
                }
                try:
                    self._store(self._grant(form))
                    return
                except CredentialsRejectedError:
                    self._refresh = None
            self.login()

    def _headers(self) -> dict[str, str]:
        if self._clock() > self._expires_at - RENEW_MARGIN_S:
            self.renew()
        return {"Authorization": f"Bearer {self._access}"}

    # ----- reads --------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET JSON under /shanoir-ng; None for 204; one retry after a 401."""
        url = API + path
        try:
            response = self.client.request("GET", url, params=params, headers=self._headers())
        except CredentialsRejectedError:
            self.renew()
            response = self.client.request("GET", url, params=params, headers=self._headers())
        return self.client.decode(response)

    def post(self, path: str, body: Any) -> Any:
        """POST a JSON body under /shanoir-ng (a read with a body, such as
        `/datasets/datasetacquisition/byDatasetIds`); None for 204; one retry after a 401."""
        url = API + path
        try:
            response = self.client.request("POST", url, json=body, headers=self._headers())
        except CredentialsRejectedError:
            self.renew()
            response = self.client.request("POST", url, json=body, headers=self._headers())
        return self.client.decode(response)

    def download(self, path: str, target: Path, max_bytes: int) -> int:
        """A dataset archive (`?format=dcm`) streamed to `target`; one retry after a 401."""
        url, params = API + path, {"format": "dcm"}
        try:
            return self.client.download(
                url, target, max_bytes, params=params, headers=self._headers()
            )
        except CredentialsRejectedError:
            self.renew()
            return self.client.download(
                url, target, max_bytes, params=params, headers=self._headers()
            )

    def items(
        self, path: str, params: dict[str, Any] | None = None, *, body: Any = None
    ) -> list[Any]:
        """A list endpoint (GET, or POST when a `body` is given): 204 (empty) is [];
        anything but a list is a clear error."""
        found = self.get(path, params) if body is None else self.post(path, body)
        if found is None:
            return []
        if not isinstance(found, list):
            raise RemoteSourceError(f"{self.client.base_url}{API}{path}: expected a JSON list")
        return found

    def pages(self, path: str, size: int = 100) -> Iterator[dict[str, Any]]:
        """Every element of a paged endpoint, following `number` / `totalPages` (Spring
        caps `size` at 2000 by default).

        Why the pages after the first are asked for together: a listing of 10^4 datasets
        is ten pages whose server time and transfer would otherwise add up one after the
        other; the first page says how many there are, the rest are fetched by up to the
        source's concurrency and handed on in order. A page past the end (204) or an
        empty one ends the listing as before; a listing that grew meanwhile (a later
        page's `totalPages` is larger) goes on page by page."""
        body = self._page(path, 0, size)
        page = 0
        while body is not None and body["content"]:
            yield from body["content"]
            total = int(body.get("totalPages") or 0)
            page = int(body.get("number", page)) + 1
            if page >= total:
                return
            for body in self._pages_ahead(path, range(page, total), size):
                if body is None or not body["content"]:
                    return
                yield from body["content"]
            page = total
            body = (
                self._page(path, page, size) if int(body.get("totalPages") or 0) > total else None
            )

    def _page(self, path: str, page: int, size: int) -> dict[str, Any] | None:
        """One page; None for 204 (empty, or past the end); a clear error for a body
        that is not a page."""
        body = self.get(path, {"page": page, "size": size})
        if body is None:
            return None
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, list):
            raise RemoteSourceError(f"{self.client.base_url}{API}{path}: not a page")
        return body

    def _pages_ahead(self, path: str, numbers: range, size: int) -> Iterator[dict[str, Any] | None]:
        """These pages fetched concurrently, yielded in order; the first failure is
        raised when its page is reached, and the pages not yet started are dropped."""
        workers = max(1, min(self.client.policy.concurrency, len(numbers)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._page, path, n, size) for n in numbers]
            try:
                for future in futures:
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()

"""XNAT REST access: one JSESSION per harvest, listings as rows of strings.

XNAT's wiki warns that basic auth on every call opens a server session each time, so the
harvest logs in once (`POST /data/JSESSION` with basic auth: a user, or an alias token as
`alias:secret`), sends the `JSESSIONID` cookie afterwards, logs in again once if the
session expires mid-harvest, and ends it (`DELETE /data/JSESSION`) at the end.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from harvesters.http import CredentialsRejectedError, RemoteClient, RemoteSourceError
from harvesters.remote import Credentials


class XnatApi:
    """Listings and records of one XNAT site, through the shared `RemoteClient`."""

    def __init__(self, client: RemoteClient, credentials: Credentials) -> None:
        self.client = client
        self.credentials = credentials
        self._login_lock = threading.Lock()
        self._session: str | None = None

    def _basic(self) -> tuple[str, str] | None:
        creds = self.credentials
        if creds.token:
            alias, sep, secret = creds.token.partition(":")
            if not sep:
                raise CredentialsRejectedError(
                    "an XNAT alias token is given as ALIAS:SECRET (from "
                    "/data/services/tokens/issue or the 'Manage Alias Tokens' page)"
                )
            self.client.add_secret(secret)
            return alias, secret
        if creds.user and creds.password:
            return creds.user, creds.password
        if creds.user:  # else the harvest would silently run as an anonymous guest
            raise CredentialsRejectedError(
                f"{self.client.base_url}: --user {creds.user} needs a password (--password, "
                "or -o secrets_file=PATH); give neither for a public XNAT site"
            )
        return None

    def login(self) -> None:
        """Open a JSESSION (anonymous sites: nothing to open)."""
        basic = self._basic()
        if basic is None:
            return
        with self._login_lock:
            response = self.client.request("POST", "/data/JSESSION", auth=basic)
            session = response.text.strip()
            if not session or "<" in session:
                raise RemoteSourceError(
                    f"{self.client.base_url}/data/JSESSION answered no session id; "
                    "is this an XNAT server?"
                )
            self.client.add_secret(session)
            self.client.cookies.set("JSESSIONID", session)
            self._session = session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def logout(self) -> None:
        if self._session is None:
            return
        with contextlib.suppress(RemoteSourceError):  # else it times out on its own
            self.client.request("DELETE", "/data/JSESSION")
        self._session = None

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET as JSON; a session that expired mid-harvest is renewed once."""
        query = {"format": "json", **(params or {})}
        try:
            return self.client.get_json(path, query)
        except CredentialsRejectedError:
            if self._session is None:
                raise
            self.login()
            return self.client.get_json(path, query)

    def rows(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, str]]:
        """The `ResultSet.Result` rows of a listing; anything else is a clear error."""
        body = self.get(path, params)
        try:
            rows = body["ResultSet"]["Result"]
        except (TypeError, KeyError):
            raise RemoteSourceError(
                f"{self.client.base_url}{path}: not an XNAT listing (no ResultSet.Result)"
            ) from None
        if not isinstance(rows, list):
            raise RemoteSourceError(f"{self.client.base_url}{path}: ResultSet.Result is not a list")
        return [r for r in rows if isinstance(r, dict)]

    def record(self, path: str) -> dict[str, Any]:
        """A single record (`{"items": [{"meta", "data_fields", "children"}]}`)."""
        body = self.get(path)
        try:
            item = body["items"][0]
        except (TypeError, KeyError, IndexError):
            raise RemoteSourceError(
                f"{self.client.base_url}{path}: not an XNAT record (no items)"
            ) from None
        return item if isinstance(item, dict) else {}

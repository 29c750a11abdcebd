"""Zenodo: the documented deposition flow, resumable at every step.

First version: `POST /api/deposit/depositions` (201, pre-reserved DOI), `PUT` each file
to `links.bucket` (streamed), `PUT` the metadata, `POST .../actions/publish` (202 with
`doi`, `record_id`, `state: done`). A later version: `POST .../actions/newversion` on
the latest published deposition, which answers with that *old* deposition; the new draft
is `links.latest_draft`. Zenodo keeps at most one unpublished draft per concept, so an
existing one is found there and reused.

Resuming: the deposition id is checkpointed as soon as it is known; a retry reads the
deposition back and skips what is done (files whose MD5 the bucket already has, a
publish that already happened). A create whose answer was lost is recognised among the
account's drafts by the landing-page marker (`zenodo_metadata.is_ours`), and a lost
`newversion` answer by the old deposition's `latest_draft`, so one record version never
gets two depositions.

Why httpx and not `zenodo-client`: zenodo-client hard-codes zenodo.org and the sandbox as
hosts (so `IMAGORA_ZENODO_URL` could not point at a test server), reads its token from
pystow's configuration in the user's home and `ensure()` writes deposition ids back
there; a server must not keep state in its user's home.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from catalog.domain.errors import ConfigurationError, PublishRemoteError
from exporters.publishers.base import (
    Checkpoint,
    Deposit,
    PackageFile,
    Publisher,
    PublishResult,
    SaveCheckpoint,
)
from exporters.publishers.http import RemoteClient, RetryPolicy
from exporters.publishers.zenodo_metadata import is_ours, zenodo_metadata

if TYPE_CHECKING:
    from catalog.settings import Settings

DEPOSITIONS = "/api/deposit/depositions"
CHUNK = 1024 * 1024


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _errors(response: httpx.Response) -> tuple[str, list[tuple[str, str]]]:
    """Zenodo's message and its field errors (`errors[].field/message`)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase, []
    if not isinstance(body, dict):
        return str(body)[:300], []
    problems = []
    for item in body.get("errors") or []:
        message = item.get("message") or "; ".join(item.get("messages") or [])
        problems.append((str(item.get("field", "")), str(message)))
    return str(body.get("message") or response.reason_phrase), problems


def _id_from_url(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class ZenodoPublisher(Publisher):
    """Deposits on Zenodo (or the sandbox, or any server at `IMAGORA_ZENODO_URL`)."""

    name = "zenodo"
    uploads_files = True

    def __init__(
        self,
        base_url: str,
        token: str,
        communities: tuple[str, ...] = (),
        policy: RetryPolicy | None = None,
    ) -> None:
        self.communities = communities
        self.client = RemoteClient(
            "Zenodo",
            base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            policy=policy,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ZenodoPublisher:
        if not settings.zenodo_token:
            raise ConfigurationError(
                "publishing to Zenodo needs IMAGORA_ZENODO_TOKEN (a personal access token "
                "with the deposit:write and deposit:actions scopes)"
            )
        communities = tuple(c.strip() for c in settings.zenodo_communities.split(",") if c.strip())
        return cls(settings.zenodo_url, settings.zenodo_token, communities)

    # ----- the flow -------------------------------------------------------------------
    def publish(
        self, deposit: Deposit, checkpoint: Checkpoint, save: SaveCheckpoint
    ) -> PublishResult:
        try:
            draft = self._draft(deposit, checkpoint, save)
            if not draft.get("submitted"):
                self._upload(draft, deposit)
                self._put_metadata(draft, deposit)
                draft = self._publish(draft)
            return self._result(draft)
        finally:
            self.client.close()

    def _draft(self, deposit: Deposit, checkpoint: Checkpoint, save: SaveCheckpoint) -> dict:
        """The deposition of this version: the checkpointed one, else found or created."""
        if checkpoint.remote_id:
            return self._get(checkpoint.remote_id, "reading the deposition back")
        if deposit.previous is None:
            draft = self._adopt_lost_create(deposit) or self._create(deposit)
        else:
            draft = self._new_version(deposit)
        checkpoint.remote_id = str(draft["id"])
        checkpoint.bucket = (draft.get("links") or {}).get("bucket")
        reserved = ((draft.get("metadata") or {}).get("prereserve_doi") or {}).get("doi")
        checkpoint.doi = reserved
        checkpoint.concept_id = str(draft.get("conceptrecid") or "") or None
        checkpoint.step = "draft"
        save(checkpoint)
        return draft

    def _create(self, deposit: Deposit) -> dict:
        body = {"metadata": {**zenodo_metadata(deposit, self.communities), "prereserve_doi": True}}
        response = self.client.request("POST", DEPOSITIONS, "creating the deposition", json=body)
        return self._expect(response, {201}, "creating the deposition")

    def _adopt_lost_create(self, deposit: Deposit) -> dict | None:
        """A draft this version already created (its 201 answer was lost), if any."""
        response = self.client.request(
            "GET",
            DEPOSITIONS,
            "looking for an unfinished draft",
            params={"status": "draft", "sort": "mostrecent", "size": 100},
        )
        drafts = self._expect(response, {200}, "looking for an unfinished draft")
        for draft in drafts if isinstance(drafts, list) else []:
            if not draft.get("submitted") and is_ours(draft, deposit.landing_url, deposit.version):
                return self._get(str(draft["id"]), "reading the unfinished draft")
        return None

    def _new_version(self, deposit: Deposit) -> dict:
        """The new-version draft: Zenodo's single open draft of the concept, else a new one."""
        previous = deposit.previous
        assert previous is not None and previous.remote_id
        existing = self._open_draft_of(previous.remote_id)
        if existing is not None:
            return existing
        step = "creating a new version"
        response = self.client.request(
            "POST", f"{DEPOSITIONS}/{previous.remote_id}/actions/newversion", step
        )
        if response.status_code == 400:  # e.g. a draft appeared meanwhile: reuse it
            existing = self._open_draft_of(previous.remote_id)
            if existing is not None:
                return existing
        old = self._expect(response, {201}, step)
        latest = (old.get("links") or {}).get("latest_draft")
        if not latest:
            raise PublishRemoteError("Zenodo's newversion answer has no links.latest_draft")
        return self._get(_id_from_url(latest), "reading the new version's draft")

    def _open_draft_of(self, published_id: str) -> dict | None:
        old = self._get(published_id, "reading the latest published version")
        latest = (old.get("links") or {}).get("latest_draft")
        if not latest or _id_from_url(latest) == str(published_id):
            return None
        draft = self._get(_id_from_url(latest), "reading the open draft")
        return None if draft.get("submitted") else draft

    def _upload(self, draft: dict, deposit: Deposit) -> None:
        """Stream each package file to the bucket; skip those already there, drop stale."""
        bucket = (draft.get("links") or {}).get("bucket")
        if not bucket:
            raise PublishRemoteError(f"Zenodo deposition {draft.get('id')} has no links.bucket")
        present = self._bucket_contents(bucket)
        wanted = {f.name for f in deposit.package.files}
        for key in sorted(set(present) - wanted):  # files a new version inherited
            step = f"removing the old file '{key}'"
            response = self.client.request("DELETE", f"{bucket}/{quote(key)}", step)
            self._expect(response, {204, 200, 404}, step)
        for item in deposit.package.files:
            if present.get(item.name) != f"md5:{item.md5}":
                self._put_file(bucket, item)

    def _bucket_contents(self, bucket: str) -> dict[str, str]:
        response = self.client.request("GET", bucket, "listing the uploaded files")
        body = self._expect(response, {200}, "listing the uploaded files")
        return {c["key"]: c.get("checksum", "") for c in body.get("contents") or []}

    def _put_file(self, bucket: str, item: PackageFile) -> None:
        step = f"uploading '{item.name}'"
        response = self.client.request(
            "PUT",
            f"{bucket}/{quote(item.name)}",
            step,
            content=lambda: _file_chunks(item.path),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(item.size),
            },
        )
        body = self._expect(response, {200, 201}, step)
        if body.get("checksum") and body["checksum"] != f"md5:{item.md5}":
            raise PublishRemoteError(
                f"Zenodo stored '{item.name}' with checksum {body['checksum']}, expected "
                f"md5:{item.md5}; the upload was corrupted, run the command again"
            )

    def _put_metadata(self, draft: dict, deposit: Deposit) -> None:
        step = "setting the metadata"
        body = {"metadata": zenodo_metadata(deposit, self.communities)}
        response = self.client.request("PUT", f"{DEPOSITIONS}/{draft['id']}", step, json=body)
        self._expect(response, {200}, step)

    def _publish(self, draft: dict) -> dict:
        step = "publishing"
        url = f"{DEPOSITIONS}/{draft['id']}/actions/publish"
        return self._expect(self.client.request("POST", url, step), {202}, step)

    # ----- helpers --------------------------------------------------------------------
    def _get(self, deposition_id: str, step: str) -> dict:
        response = self.client.request("GET", f"{DEPOSITIONS}/{deposition_id}", step)
        return self._expect(response, {200}, step)

    @staticmethod
    def _expect(response: httpx.Response, ok: set[int], step: str) -> Any:
        if response.status_code in ok:
            return response.json() if response.content else {}
        message, problems = _errors(response)
        detail = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
        raise PublishRemoteError(
            f"Zenodo refused {step} (HTTP {response.status_code}): {message}"
            + (f" — {detail}" if detail else ""),
            problems=problems,
        )

    @staticmethod
    def _result(deposition: dict) -> PublishResult:
        if deposition.get("state") != "done" or not deposition.get("doi"):
            raise PublishRemoteError(
                f"Zenodo deposition {deposition.get('id')} is not published yet "
                f"(state {deposition.get('state')!r}); run the command again to resume"
            )
        links = deposition.get("links") or {}
        return PublishResult(
            doi=str(deposition["doi"]),
            concept_doi=deposition.get("conceptdoi"),
            remote_id=str(deposition["id"]),
            url=links.get("record_html") or links.get("html") or deposition.get("record_url"),
        )

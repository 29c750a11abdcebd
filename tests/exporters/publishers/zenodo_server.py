"""A loopback Zenodo following the documented legacy deposit API (developers.zenodo.org).

Implemented as documented, quirks included: create answers 201 with a pre-reserved DOI
in `metadata.prereserve_doi`; files go to `links.bucket` with `PUT` (answer: key, size,
`md5:` checksum) and are listed by `GET` on the bucket; publish answers **202** with
`doi`, `conceptdoi`, `record_id`, `state: done`, `submitted: true`, and refuses with
400 and `errors[].field/message` when the metadata is incomplete; a published bucket is
locked (403). `actions/newversion` on the latest published version answers 201 with the
*old* deposition, whose `links.latest_draft` names the new draft (files copied over);
only one unpublished draft may exist per concept (a second newversion is a 400).
Bodies must be JSON (`415` otherwise) and a bearer token is required (`401`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import unquote

from loopback import App, Reply, Request

ACCESS_RIGHTS = {"open", "embargoed", "restricted", "closed"}
UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video", "software"}
DEP = re.compile(r"^/api/deposit/depositions/(\d+)$")
ACTION = re.compile(r"^/api/deposit/depositions/(\d+)/actions/(publish|newversion|edit|discard)$")
BUCKET = re.compile(r"^/api/files/([0-9a-f-]+)$")
OBJECT = re.compile(r"^/api/files/([0-9a-f-]+)/(.+)$")


@dataclass
class Deposition:
    id: int
    concept: int
    bucket: str
    metadata: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    submitted: bool = False
    doi: str | None = None


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Reply:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return Reply(status, body)


def _md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data, usedforsecurity=False).hexdigest()


class ZenodoServer(App):
    """State: depositions by id, grouped into concepts (all versions of one record)."""

    prefix = "10.5072"

    def __init__(self, token: str = "zenodo-test-token") -> None:
        super().__init__()
        self.token = token
        self.depositions: dict[int, Deposition] = {}
        self.buckets: dict[str, int] = {}
        self._next = 1000

    # ----- helpers for tests ----------------------------------------------------------
    def concepts(self) -> dict[int, list[Deposition]]:
        out: dict[int, list[Deposition]] = {}
        for dep in self.depositions.values():
            out.setdefault(dep.concept, []).append(dep)
        return out

    def published(self) -> list[Deposition]:
        return [d for d in self.depositions.values() if d.submitted]

    # ----- representation -------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _latest_draft(self, dep: Deposition) -> int:
        versions = sorted(
            (d for d in self.depositions.values() if d.concept == dep.concept), key=lambda d: d.id
        )
        drafts = [d for d in versions if not d.submitted]
        return (drafts or versions)[-1].id

    def render(self, dep: Deposition) -> dict[str, Any]:
        me = f"/api/deposit/depositions/{dep.id}"
        body: dict[str, Any] = {
            "id": dep.id,
            "record_id": dep.id,
            "conceptrecid": str(dep.concept),
            "state": "done" if dep.submitted else "unsubmitted",
            "submitted": dep.submitted,
            "metadata": dep.metadata,
            "files": [
                {"filename": k, "filesize": len(v), "checksum": _md5(v)[4:]}
                for k, v in sorted(dep.files.items())
            ],
            "links": {
                "self": self._url(me),
                "bucket": self._url(f"/api/files/{dep.bucket}"),
                "publish": self._url(f"{me}/actions/publish"),
                "newversion": self._url(f"{me}/actions/newversion"),
                "html": self._url(f"/deposit/{dep.id}"),
                "latest_draft": self._url(f"/api/deposit/depositions/{self._latest_draft(dep)}"),
            },
        }
        if dep.submitted:
            body["doi"] = dep.doi
            body["doi_url"] = f"https://doi.org/{dep.doi}"
            body["conceptdoi"] = f"{self.prefix}/zenodo.{dep.concept}"
            body["links"]["record_html"] = self._url(f"/records/{dep.id}")
        return body

    # ----- dispatch -------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "The server could not verify that you are authorized.")
        is_json = "application/json" in request.headers.get("content-type", "")
        deposit_write = request.method in ("POST", "PUT") and request.path.startswith(
            "/api/deposit"
        )
        if deposit_write and request.body and not is_json:
            return _error(415, "Unsupported media type: send application/json")
        for pattern, method, handler in self._routes():
            match = pattern.match(request.path)
            if match and request.method == method:
                return handler(request, *match.groups())
        return _error(404, "The requested URL was not found on the server.")

    def _routes(self) -> list[tuple[re.Pattern[str], str, Any]]:
        return [
            (re.compile(r"^/api/deposit/depositions$"), "POST", self.create),
            (re.compile(r"^/api/deposit/depositions$"), "GET", self.list),
            (DEP, "GET", self.get),
            (DEP, "PUT", self.put_metadata),
            (ACTION, "POST", self.action),
            (BUCKET, "GET", self.list_bucket),
            (OBJECT, "PUT", self.put_object),
            (OBJECT, "DELETE", self.delete_object),
        ]

    def _new(self, concept: int | None, metadata: dict[str, Any]) -> Deposition:
        self._next += 1
        dep_id = self._next
        if concept is None:
            self._next += 1
            concept, dep_id = dep_id, self._next
        bucket = str(uuid.uuid4())
        metadata = {k: v for k, v in metadata.items() if k not in ("doi", "prereserve_doi")}
        metadata["prereserve_doi"] = {"doi": f"{self.prefix}/zenodo.{dep_id}", "recid": dep_id}
        dep = Deposition(dep_id, concept, bucket, metadata)
        self.depositions[dep_id] = dep
        self.buckets[bucket] = dep_id
        return dep

    def create(self, request: Request) -> Reply:
        body = request.json() or {}
        dep = self._new(None, dict(body.get("metadata") or {}))
        return Reply(201, self.render(dep))

    def list(self, request: Request) -> Reply:
        status = (request.query.get("status") or [""])[0]
        found = sorted(self.depositions.values(), key=lambda d: -d.id)
        if status == "draft":
            found = [d for d in found if not d.submitted]
        elif status == "published":
            found = [d for d in found if d.submitted]
        return Reply(200, [self.render(d) for d in found])

    def get(self, _request: Request, dep_id: str) -> Reply:
        dep = self.depositions.get(int(dep_id))
        return Reply(200, self.render(dep)) if dep else _error(404, "PID does not exist.")

    def put_metadata(self, request: Request, dep_id: str) -> Reply:
        dep = self.depositions.get(int(dep_id))
        if dep is None:
            return _error(404, "PID does not exist.")
        if dep.submitted:
            return _error(400, "Deposition is published: use the edit action first.")
        metadata = dict((request.json() or {}).get("metadata") or {})
        if metadata.get("access_right") not in (None, *ACCESS_RIGHTS):
            return _error(
                400,
                "Validation error.",
                [{"field": "metadata.access_right", "message": "Not a valid choice."}],
            )
        metadata["prereserve_doi"] = dep.metadata["prereserve_doi"]
        dep.metadata = metadata
        return Reply(200, self.render(dep))

    def action(self, _request: Request, dep_id: str, name: str) -> Reply:
        dep = self.depositions.get(int(dep_id))
        if dep is None:
            return _error(404, "PID does not exist.")
        if name == "publish":
            return self.publish(dep)
        if name == "newversion":
            return self.new_version(dep)
        return _error(400, f"action {name} is not supported by this test server")

    def validate(self, dep: Deposition) -> list[dict[str, str]]:
        """Zenodo's publish-time checks, with its field names and messages."""
        m = dep.metadata
        errors = _required_fields(m) + _access_errors(m)
        if not dep.files:
            errors.append({"field": "files", "message": "Minimum one file must be provided."})
        return errors

    def publish(self, dep: Deposition) -> Reply:
        if dep.submitted:
            return _error(403, "Deposition is already published.")
        errors = self.validate(dep)
        if errors:
            return _error(400, "Validation error.", errors)
        dep.submitted = True
        dep.doi = dep.metadata["prereserve_doi"]["doi"]
        return Reply(202, self.render(dep))

    def new_version(self, dep: Deposition) -> Reply:
        if not dep.submitted:
            return _error(400, "The deposition must be published to create a new version.")
        versions = [d for d in self.depositions.values() if d.concept == dep.concept]
        if any(not d.submitted for d in versions):
            return _error(400, "Please publish or discard the existing new version draft first.")
        if max(d.id for d in versions) != dep.id:
            return _error(400, "New versions can only be made from the latest version.")
        draft = self._new(dep.concept, dict(dep.metadata))
        draft.files = dict(dep.files)
        return Reply(201, self.render(dep))

    def list_bucket(self, _request: Request, bucket: str) -> Reply:
        dep = self.depositions.get(self.buckets.get(bucket, -1))
        if dep is None:
            return _error(404, "Bucket does not exist.")
        contents = [
            {"key": k, "size": len(v), "checksum": _md5(v)} for k, v in sorted(dep.files.items())
        ]
        return Reply(200, {"id": bucket, "contents": contents})

    def put_object(self, request: Request, bucket: str, key: str) -> Reply:
        dep = self.depositions.get(self.buckets.get(bucket, -1))
        if dep is None:
            return _error(404, "Bucket does not exist.")
        if dep.submitted:
            return _error(403, "Bucket is locked: the deposition is published.")
        dep.files[unquote(key)] = request.body
        return Reply(
            201,
            {
                "key": key,
                "size": len(request.body),
                "checksum": _md5(request.body),
                "mimetype": "application/octet-stream",
            },
        )

    def delete_object(self, _request: Request, bucket: str, key: str) -> Reply:
        dep = self.depositions.get(self.buckets.get(bucket, -1))
        key = unquote(key)
        if dep is None or key not in dep.files:
            return _error(404, "Object does not exist.")
        if dep.submitted:
            return _error(403, "Bucket is locked: the deposition is published.")
        del dep.files[key]
        return Reply(204)


def _required_fields(m: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    if m.get("upload_type") not in UPLOAD_TYPES:
        errors.append({"field": "metadata.upload_type", "message": "Not a valid choice."})
    for name in ("title", "description"):
        if not m.get(name):
            errors.append({"field": f"metadata.{name}", "message": "Field may not be null."})
    if not m.get("creators"):
        errors.append({"field": "metadata.creators", "message": "Shorter than minimum length 1."})
    for i, creator in enumerate(m.get("creators") or []):
        if not creator.get("name"):
            errors.append({"field": f"metadata.creators.{i}.name", "message": "Name is required."})
    return errors


def _access_errors(m: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    access = m.get("access_right", "open")
    if access not in ACCESS_RIGHTS:
        errors.append({"field": "metadata.access_right", "message": "Not a valid choice."})
    if access in ("open", "embargoed") and not m.get("license"):
        errors.append({"field": "metadata.license", "message": "Field is required."})
    when = m.get("embargo_date")
    if access == "embargoed" and (not when or date.fromisoformat(when) <= date.today()):
        errors.append(
            {"field": "metadata.embargo_date", "message": "Embargo date must be in the future."}
        )
    return errors

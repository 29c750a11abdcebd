"""A loopback DataCite REST API (support.datacite.org/docs/api-create-dois), JSON:API.

`POST /dois` with `application/vnd.api+json` and HTTP Basic auth (repository id and
password) creates a DOI: without `event` it is a draft; `event: publish` makes it
findable, `register` registered, and those need the mandatory properties (creators,
titles, publisher, publicationYear, types.resourceTypeGeneral, url), else 422 with
`errors[].source/title`. A DOI that exists answers 422 "This DOI has already been
taken"; a prefix the repository does not own is a 403. `PUT /dois/{doi}` updates (and
takes events), `GET /dois/{doi}` reads (404 when unknown).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from loopback import App, Reply, Request

JSON_API = "application/vnd.api+json"
GENERAL_TYPES = {
    "Audiovisual",
    "Award",
    "Book",
    "BookChapter",
    "Collection",
    "ComputationalNotebook",
    "ConferencePaper",
    "ConferenceProceeding",
    "DataPaper",
    "Dataset",
    "Dissertation",
    "Event",
    "Image",
    "Instrument",
    "InteractiveResource",
    "Journal",
    "JournalArticle",
    "Model",
    "OutputManagementPlan",
    "PeerReview",
    "PhysicalObject",
    "Preprint",
    "Project",
    "Report",
    "Service",
    "Software",
    "Sound",
    "Standard",
    "StudyRegistration",
    "Text",
    "Workflow",
    "Other",
}
MANDATORY = ("creators", "titles", "publisher", "publicationYear", "types", "url")
DOI_PATH = re.compile(r"^/dois/(10\.[^/]+/.+)$")


def _errors(status: int, *items: tuple[str, str]) -> Reply:
    body = {"errors": [{"status": str(status), "source": s, "title": t} for s, t in items]}
    return Reply(status, body, content_type=JSON_API)


class DataCiteServer(App):
    """DOIs by (lower-case) name with their attributes and state."""

    def __init__(
        self, user: str = "TEST.IMAGORA", password: str = "secret", prefix: str = "10.80000"
    ) -> None:
        super().__init__()
        self.credentials = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.prefix = prefix
        self.dois: dict[str, dict[str, Any]] = {}

    def handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != self.credentials:
            return _errors(401, ("", "Bad credentials."))
        if request.method in ("POST", "PUT") and JSON_API not in request.headers.get(
            "content-type", ""
        ):
            return _errors(415, ("", "The content type is not recognized."))
        match = DOI_PATH.match(request.path)
        if request.path == "/dois" and request.method == "POST":
            return self.create(request)
        if match and request.method == "GET":
            return self.show(match.group(1))
        if match and request.method == "PUT":
            return self.update(request, match.group(1))
        return _errors(404, ("", "The resource you are looking for doesn't exist."))

    def _render(self, doi: str) -> Reply:
        item = self.dois[doi.lower()]
        return Reply(
            200,
            {"data": {"id": doi.lower(), "type": "dois", "attributes": item}},
            content_type=JSON_API,
        )

    def show(self, doi: str) -> Reply:
        if doi.lower() not in self.dois:
            return _errors(404, ("", "The resource you are looking for doesn't exist."))
        return self._render(doi)

    def create(self, request: Request) -> Reply:
        attrs = dict(((request.json() or {}).get("data") or {}).get("attributes") or {})
        doi = str(attrs.get("doi") or "").lower()
        if not doi.startswith(self.prefix + "/"):
            return _errors(403, ("doi", f"You are not authorized to use prefix of {doi!r}."))
        if doi in self.dois:
            return _errors(422, ("doi", "This DOI has already been taken"))
        problems = self.validate(attrs)
        if problems:
            return _errors(422, *problems)
        attrs["state"] = self._state(attrs, "draft")
        self.dois[doi] = attrs
        reply = self._render(doi)
        return Reply(201, reply.body, content_type=JSON_API)

    def update(self, request: Request, doi: str) -> Reply:
        if doi.lower() not in self.dois:
            return _errors(404, ("", "The resource you are looking for doesn't exist."))
        attrs = dict(((request.json() or {}).get("data") or {}).get("attributes") or {})
        current = self.dois[doi.lower()]
        merged = {**current, **attrs}
        problems = self.validate(merged)
        if problems:
            return _errors(422, *problems)
        merged["state"] = self._state(merged, current["state"])
        self.dois[doi.lower()] = merged
        return self._render(doi)

    @staticmethod
    def _state(attrs: dict[str, Any], current: str) -> str:
        event = attrs.pop("event", None)
        return {"publish": "findable", "register": "registered", "hide": "registered"}.get(
            event or "", current
        )

    @staticmethod
    def validate(attrs: dict[str, Any]) -> list[tuple[str, str]]:
        """Mandatory properties when the DOI is (to be) registered or findable."""
        if attrs.get("event") not in ("publish", "register") and attrs.get("state") in (
            None,
            "draft",
        ):
            return []
        problems = [(name, "Can't be blank") for name in MANDATORY if not attrs.get(name)]
        general = (attrs.get("types") or {}).get("resourceTypeGeneral")
        if attrs.get("types") and general not in GENERAL_TYPES:
            problems.append(("types", f"resourceTypeGeneral {general!r} is not valid"))
        if attrs.get("schemaVersion") not in (None, "http://datacite.org/schema/kernel-4"):
            problems.append(("schemaVersion", "is not a kernel-4 schema"))
        return problems

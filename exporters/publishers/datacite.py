"""DataCite: mint DOIs under the institution's own prefix through the REST (JSON:API) API.

Each record version gets `<prefix>/imagora.<record id>.v<N>` (IsVersionOf the concept
DOI `<prefix>/imagora.<record id>`, which HasVersion every version). Choosing the DOI
ourselves makes every step repeatable: `POST /dois` as a draft (no event) answers 422
"already been taken" when a lost answer had in fact created it, and the flow goes on;
`PUT /dois/{doi}` with `event: publish` makes it findable. Before anything is sent, the
same record is rendered as kernel-4.6 XML (`exporters.datacite`) and validated against
the vendored XSD, so the service never receives a document the schema refuses.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from catalog.domain.enums import RelationType
from catalog.domain.errors import ConfigurationError, PublishRemoteError, ValidationError
from catalog.domain.records import Identifier, RecordPublic, Related
from exporters import datacite as datacite_xml
from exporters import facts
from exporters.base import ExportContext
from exporters.publishers.base import Checkpoint, Deposit, Publisher, PublishResult, SaveCheckpoint
from exporters.publishers.http import RemoteClient, RetryPolicy

if TYPE_CHECKING:
    from catalog.settings import Settings

XSD = Path(__file__).resolve().parents[1] / "schemas" / "datacite-4.6" / "metadata.xsd"
JSON_API = "application/vnd.api+json"
SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"


def with_doi(record: RecordPublic, doi: str, related: list[Related]) -> RecordPublic:
    """The record as registered under `doi`, with the version relations added."""
    identifiers = [Identifier(identifier=doi, scheme="doi")] + [
        i for i in record.identifiers if facts.doi_of(i) is None
    ]
    return record.model_copy(
        update={"identifiers": identifiers, "related": record.related + related}
    )


def _creators(record: RecordPublic) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in record.creators:
        item: dict[str, Any] = {
            "name": c.name,
            "nameType": "Personal" if facts.person_like(c.name, c.orcid) else "Organizational",
        }
        if c.orcid:
            item["nameIdentifiers"] = [
                {
                    "nameIdentifier": facts.orcid_url(c.orcid),
                    "nameIdentifierScheme": "ORCID",
                    "schemeUri": "https://orcid.org",
                }
            ]
        if c.affiliation:
            item["affiliation"] = [{"name": c.affiliation}]
        out.append(item)
    return out or [{"name": datacite_xml.UNAVAILABLE}]


def _related(record: RecordPublic) -> list[dict[str, str]]:
    out = []
    for rel in record.related:
        typed = datacite_xml._related_type(rel.identifier, rel.scheme)
        if typed:
            out.append(
                {
                    "relatedIdentifier": typed[0],
                    "relatedIdentifierType": typed[1],
                    "relationType": rel.relation.value,
                }
            )
    return out


def _rights(record: RecordPublic) -> list[dict[str, str]]:
    rights = []
    if record.license and not facts.is_url(record.license):
        rights.append(
            {
                "rights": facts.license_title(record.license) or record.license,
                "rightsUri": facts.license_url(record) or "",
                "rightsIdentifier": record.license.lower(),
                "rightsIdentifierScheme": "SPDX",
                "schemeUri": facts.SPDX_URL,
            }
        )
    access = facts.files_access(record)
    rights.append({"rights": f"{access} access", "rightsUri": datacite_xml._ACCESS_RIGHTS[access]})
    return rights


def _funding(record: RecordPublic) -> list[dict[str, str]]:
    """Grant identifiers `<funder DOI>::<award>` (scheme `grant`) as fundingReferences."""
    out = []
    for ident in record.identifiers:
        if ident.scheme.lower() != "grant":
            continue
        funder, _, award = ident.identifier.partition("::")
        item = {
            "funderName": funder,
            "funderIdentifier": f"https://doi.org/{funder}" if funder.startswith("10.") else funder,
            "funderIdentifierType": "Crossref Funder ID" if funder.startswith("10.") else "Other",
        }
        if award:
            item["awardNumber"] = award
        out.append(item)
    return out


def attributes(record: RecordPublic, deposit: Deposit, context: ExportContext) -> dict[str, Any]:
    """DataCite 4.6 JSON attributes of a record (already carrying its DOI)."""
    subjects = [
        {"subject": t.label, "subjectScheme": t.scheme, "valueUri": t.iri}
        for t in record.terms
        if t.status != "rejected"
    ] + [{"subject": word} for word in record.keywords]
    dates = [{"date": deposit.publication_date, "dateType": "Issued"}]
    if record.access.embargo_until and facts.files_access(record) == "embargoed":
        dates.append({"date": record.access.embargo_until.isoformat(), "dateType": "Available"})
    return {
        "creators": _creators(record),
        "titles": [{"title": record.title}],
        "publisher": {"name": context.publisher},
        "publicationYear": int(deposit.publication_date[:4]),
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": f"Imaging {record.level}"},
        "subjects": subjects,
        "relatedIdentifiers": _related(record),
        "rightsList": _rights(record),
        "descriptions": [
            {"description": facts.description(record, context), "descriptionType": "Abstract"}
        ],
        "fundingReferences": _funding(record),
        "dates": dates,
        "version": str(deposit.version),
        "url": deposit.landing_url,
        "schemaVersion": SCHEMA_VERSION,
    }


def _problems(response: httpx.Response) -> list[tuple[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return [("", response.text[:300] or response.reason_phrase)]
    errors = body.get("errors") if isinstance(body, dict) else None
    return [(str(e.get("source", "")), str(e.get("title", ""))) for e in errors or []]


class DataCitePublisher(Publisher):
    """Registers DOIs with DataCite (`IMAGORA_DATACITE_*`)."""

    name = "datacite"
    uploads_files = False

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        prefix: str,
        policy: RetryPolicy | None = None,
        xsd: Path = XSD,
    ) -> None:
        self.prefix = prefix
        self.xsd_path = xsd
        self.client = RemoteClient(
            "DataCite",
            base_url,
            headers={"Content-Type": JSON_API, "Accept": JSON_API},
            auth=(user, password),
            policy=policy,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DataCitePublisher:
        missing = [
            name
            for name, value in (
                ("IMAGORA_DATACITE_USER", settings.datacite_user),
                ("IMAGORA_DATACITE_PASSWORD", settings.datacite_password),
                ("IMAGORA_DATACITE_PREFIX", settings.datacite_prefix),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "publishing to DataCite needs "
                + ", ".join(missing)
                + " (the repository id, its password and the DOI prefix)"
            )
        return cls(
            settings.datacite_url,
            settings.datacite_user,
            settings.datacite_password,
            settings.datacite_prefix,
        )

    @cached_property
    def schema(self) -> etree.XMLSchema:
        return etree.XMLSchema(etree.parse(str(self.xsd_path)))

    def publish(
        self, deposit: Deposit, checkpoint: Checkpoint, save: SaveCheckpoint
    ) -> PublishResult:
        base = deposit.landing_url.rsplit("/records/", 1)[0]
        context = ExportContext(base_url=base, publisher=deposit.publisher_name)
        concept = f"{self.prefix}/imagora.{deposit.record.id.lower()}"
        doi = f"{concept}.v{deposit.version}"
        version_record = with_doi(
            deposit.record,
            doi,
            [Related(identifier=concept, scheme="DOI", relation=RelationType.IsVersionOf)],
        )
        concept_record = with_doi(
            deposit.record,
            concept,
            [
                Related(
                    identifier=f"{concept}.v{n}", scheme="DOI", relation=RelationType.HasVersion
                )
                for n in range(1, deposit.version + 1)
            ],
        )
        version_attrs = self._validated(version_record, deposit, context)
        concept_attrs = self._validated(concept_record, deposit, context)
        try:
            self._steps(doi, concept, version_attrs, concept_attrs, checkpoint, save)
        finally:
            self.client.close()
        return PublishResult(doi=doi, concept_doi=concept, remote_id=doi, url=None)

    def _steps(
        self,
        doi: str,
        concept: str,
        version_attrs: dict[str, Any],
        concept_attrs: dict[str, Any],
        checkpoint: Checkpoint,
        save: SaveCheckpoint,
    ) -> None:
        if checkpoint.step == "new":
            self._draft(doi, version_attrs)
            checkpoint.step, checkpoint.doi, checkpoint.concept_doi = "draft", doi, concept
            save(checkpoint)
        if checkpoint.step == "draft":
            self._put(doi, {**version_attrs, "event": "publish"}, "publishing the version DOI")
            checkpoint.step = "findable"
            save(checkpoint)
        if checkpoint.step == "findable":
            self._upsert_concept(concept, concept_attrs)
            checkpoint.step = "done"
            save(checkpoint)

    def _validated(
        self, record: RecordPublic, deposit: Deposit, context: ExportContext
    ) -> dict[str, Any]:
        """The JSON attributes, after the same record's XML passed the 4.6 XSD."""
        document = datacite_xml.resource(record, context)
        if not self.schema.validate(document):
            errors = "; ".join(str(e.message) for e in self.schema.error_log)  # type: ignore[attr-defined]
            raise ValidationError(
                f"record {record.id}: its DataCite 4.6 XML does not validate: {errors}"
            )
        return attributes(record, deposit, context)

    def _draft(self, doi: str, attrs: dict[str, Any]) -> None:
        step = "creating the draft DOI"
        response = self.client.request("POST", "/dois", step, json=_body(doi, attrs))
        if response.status_code == 422 and any(
            "already been taken" in m for _, m in _problems(response)
        ):
            return  # created by an earlier attempt whose answer was lost
        self._expect(response, {201}, step)

    def _put(self, doi: str, attrs: dict[str, Any], step: str) -> None:
        response = self.client.request("PUT", f"/dois/{doi}", step, json=_body(doi, attrs))
        self._expect(response, {200, 201}, step)

    def _upsert_concept(self, concept: str, attrs: dict[str, Any]) -> None:
        step = "registering the concept DOI"
        response = self.client.request("GET", f"/dois/{concept}", step)
        if response.status_code == 404:
            response = self.client.request(
                "POST", "/dois", step, json=_body(concept, {**attrs, "event": "publish"})
            )
            if response.status_code == 422 and any(
                "already been taken" in m for _, m in _problems(response)
            ):
                self._put(concept, {**attrs, "event": "publish"}, step)
                return
            self._expect(response, {201}, step)
            return
        self._expect(response, {200}, step)
        self._put(concept, {**attrs, "event": "publish"}, "updating the concept DOI")

    @staticmethod
    def _expect(response: httpx.Response, ok: set[int], step: str) -> None:
        if response.status_code in ok:
            return
        problems = _problems(response)
        detail = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
        raise PublishRemoteError(
            f"DataCite refused {step} (HTTP {response.status_code})"
            + (f": {detail}" if detail else ""),
            problems=problems,
        )


def _body(doi: str, attrs: dict[str, Any]) -> dict[str, Any]:
    prefix = doi.split("/", 1)[0]
    return {"data": {"type": "dois", "attributes": {"doi": doi, "prefix": prefix, **attrs}}}

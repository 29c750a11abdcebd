"""The Shanoir-NG harvester: studies -> subjects (clinical and preclinical) ->
examinations -> dataset acquisitions (with their datasets).

Items: studies and subjects are fingerprinted by their listing row, examinations by
their `ExaminationDTO` row (Shanoir has no "modified since"; ids that disappear are
deletions). Discovery avoids the two traps that lose data: subjects are listed with
`preclinical=false` *and* `preclinical=true` (without it only clinical subjects come
back), and examinations from `/examinations` *and* `/examinations/preclinical/true`
(the first leaves preclinical ones out).

Fetching a changed examination asks for its acquisitions, then per acquisition for the
acquisition (its protocol holds `magneticFieldStrength`) and its datasets (MR datasets
hold the TR/TE/TI/flip lists); examinations are fetched on the client's thread budget.
A changed preclinical subject adds one request for its species, strain and biotype.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from catalog.domain.errors import SourceUnusableError
from catalog.domain.results import ItemState
from harvesters.base import Fetched, FileFacts, HarvestedRecord, ItemError, ItemHarvester, ItemRef
from harvesters.http import RemoteClient, RemoteSourceError, SourceDownError, strip_userinfo
from harvesters.privacy import pseudonym
from harvesters.remote import RemoteOptions, credentials, row_fingerprint
from harvesters.shanoir.api import ShanoirApi
from harvesters.shanoir.mapping import build_records

#: Fields of a subject or examination that name a person; never kept, even in state.
IDENTIFYING = ("name", "identifier", "birthDate", "comment", "note", "studyInstanceUID")


class ShanoirOptions(RemoteOptions):
    study: str | None = None
    """Harvest only this study id (its records form a source of their own)."""
    client_id: str = "shanoir-uploader"
    """Keycloak client for the password grant (public, direct access grants on)."""


@dataclass
class ShanoirSite:
    base_url: str
    api: ShanoirApi
    study: str | None
    studies: list[dict[str, Any]]

    @property
    def client(self) -> RemoteClient:
        return self.api.client


class ShanoirHarvester(ItemHarvester[ShanoirSite]):
    name = "shanoir"
    version = "1.0.0"
    Options = ShanoirOptions
    options: ShanoirOptions

    def open(self, location: str) -> ShanoirSite:
        if not location.startswith(("http://", "https://")):
            raise SourceUnusableError(f"{location}: a Shanoir-NG location is an http(s):// URL")
        creds = credentials(self.options)
        client = RemoteClient(location, self.options.policy(), secrets=creds.secrets)
        api = ShanoirApi(client, creds, self.options.client_id)
        self._client = client
        try:
            api.login()
            studies = [s for s in api.items("/studies/studies") if isinstance(s, dict)]
        except RemoteSourceError:
            self.close()
            raise
        if self.options.study:
            studies = [s for s in studies if str(s.get("id")) == self.options.study]
            if not studies:
                self.close()
                raise SourceUnusableError(
                    f"{strip_userinfo(location)}: no study {self.options.study} "
                    "is visible to this user"
                )
        return ShanoirSite(strip_userinfo(location.rstrip("/")), api, self.options.study, studies)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None

    def requests_made(self) -> int:
        client = getattr(self, "_client", None)
        return client.requests_made if client is not None else 0

    def source_id(self, location: ShanoirSite) -> str:
        scope = f"/studies/{location.study}" if location.study else ""
        return f"shanoir:{location.base_url}{scope}"

    # ----- discovery ----------------------------------------------------------------------
    def discover_items(self, location: ShanoirSite) -> Iterator[ItemRef | ItemError]:
        api = location.api
        wanted = {s["id"] for s in location.studies}
        for study in location.studies:
            yield ItemRef(f"study:{study['id']}", row_fingerprint(study), {"row": study})
            for flag in ("false", "true"):  # without preclinical=, clinical only (a trap)
                path = f"/studies/subjects/{study['id']}/allSubjects"
                for row in api.items(path, {"preclinical": flag}):
                    row = {**_public(row), "studyId": study["id"]}
                    yield ItemRef(f"subject:{row['id']}", row_fingerprint(row), {"row": row})
        for path in ("/datasets/examinations", "/datasets/examinations/preclinical/true"):
            for exam in api.pages(path):
                if exam.get("studyId") in wanted:
                    row = _public(exam)
                    yield ItemRef(f"exam:{exam['id']}", row_fingerprint(row), {"row": row})

    # ----- fetching -----------------------------------------------------------------------
    def fetch(
        self, location: ShanoirSite, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        refs = [ref for ref, _old in changed]
        workers = max(1, self.options.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda ref: self._fetch_one(location, ref), refs)

    def _fetch_one(self, site: ShanoirSite, ref: ItemRef) -> Fetched:
        row = dict((ref.data or {}).get("row") or {})
        kind = ref.key.split(":", 1)[0]
        try:
            if kind == "subject":
                row = self._subject(site, row)
            elif kind == "exam":
                row["acquisitions"] = self._acquisitions(site, row["id"])
        except SourceDownError:
            raise  # the source went away: stop the run rather than record half of it
        except RemoteSourceError as exc:  # e.g. a 404 for an item deleted meanwhile
            return Fetched(ref.key, ref.fingerprint, error=exc.message)
        fact = {"path": ref.key, "kind": f"shanoir-{kind}", "data": {"row": row}}
        return Fetched(ref.key, ref.fingerprint, facts=[fact])

    def _subject(self, site: ShanoirSite, row: dict[str, Any]) -> dict[str, Any]:
        row["pseudonym"] = pseudonym(self.options.secret, "shanoir", site.base_url, str(row["id"]))
        if row.get("preclinical"):
            animal = site.api.get(f"/preclinical/subject/{row['id']}") or {}
            row["animal"] = {
                key: (animal.get(key) or {}).get("value")
                for key in ("specie", "strain", "biotype")
                if isinstance(animal.get(key), dict)
            }
            row["animal"]["pathologies"] = [
                str((p.get("pathology") or {}).get("name"))
                for p in animal.get("subjectPathologies") or []
                if isinstance(p, dict) and (p.get("pathology") or {}).get("name")
            ]
        return row

    def _acquisitions(self, site: ShanoirSite, exam_id: Any) -> list[dict[str, Any]]:
        api = site.api
        found = []
        for listed in api.items(f"/datasets/datasetacquisition/examination/{exam_id}"):
            acq_id = listed["id"]
            detail = api.get(f"/datasets/datasetacquisition/{acq_id}") or {}
            datasets = api.items(f"/datasets/datasets/acquisition/{acq_id}")
            found.append(
                {
                    **listed,
                    "protocol": detail.get("protocol") or {},
                    "softwareRelease": detail.get("softwareRelease"),
                    "datasets": datasets,
                }
            )
        return found

    def assemble(
        self, location: ShanoirSite, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        return build_records(location.base_url, self.name, self.version, facts)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A listing row without what names a person (subject names like DUPONT^JEAN, exam
    comments, birth dates); nested subject refs keep only their id."""
    clean = {k: v for k, v in row.items() if k not in IDENTIFYING}
    if isinstance(clean.get("subject"), dict):
        clean["subject"] = {"id": clean["subject"].get("id")}
    return clean

"""The Shanoir-NG harvester: studies -> subjects (clinical and preclinical) ->
examinations -> dataset acquisitions (with their datasets).

Items: studies, subjects and examinations are fingerprinted by their listing row (Shanoir
has no "modified since" and no update date; ids that disappear are deletions). Datasets
are listed too, from the paged `/datasets/datasets`, and grouped into one item per
subject (`datasets:<subject id>`, fingerprinted by all its dataset rows), because an
examination's row does not change when a dataset is added to it, changed or deleted:
each of those changes the subject's dataset item, whose datasets are then fetched again,
and the acquisition records are rebuilt from the datasets' facts (stored and fresh). One
item per subject rather than per dataset keeps the item state small (an unchanged
re-harvest loads and compares it all). The paged listing is also where MR datasets carry
their TR/TE/TI/flip lists (`MrDatasetDTO`); the per-acquisition list
(`/datasets/acquisition/{id}`) maps to the plain `DatasetDTO` without them.

Discovery avoids the two traps that lose data: subjects are listed with
`preclinical=false` *and* `preclinical=true` (without it only clinical subjects come
back), and examinations from `/examinations` *and* `/examinations/preclinical/true`
(the first leaves preclinical ones out).

Fetching: changed datasets are resolved to their acquisitions (protocol with
`magneticFieldStrength`, type, software release, examination) in batches with
`POST /datasets/datasetacquisition/byDatasetIds` (a JSON list of dataset ids; it answers
the acquisitions with all their datasets), on the client's thread budget; examination
and study rows are all there is to know; a changed preclinical subject adds one request
for its species, strain and biotype. A change to an acquisition's protocol alone (no
dataset row changed) is not seen until one of its datasets changes, or until a full
re-read (`imagora harvest shanoir URL --full`), which operators run now and then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.domain.errors import SourceUnusableError
from catalog.domain.results import ItemState
from harvesters.base import Fetched, FileFacts, HarvestedRecord, ItemError, ItemHarvester, ItemRef
from harvesters.http import RemoteClient, RemoteSourceError, SourceDownError, strip_userinfo
from harvesters.privacy import pseudonym
from harvesters.remote import RemoteOptions, credentials, row_fingerprint
from harvesters.shanoir.api import ShanoirApi
from harvesters.shanoir.mapping import build_records
from harvesters.staging import StageLimits, StageRequest, extract_zip

#: Fields of a subject or examination that name a person; never kept, even in state.
IDENTIFYING = ("name", "identifier", "birthDate", "comment", "note", "studyInstanceUID")
DATASET_PAGE = 1000
"""Datasets per page of `/datasets/datasets` (Spring's default cap is 2000)."""
DATASET_BATCH = 200
"""Dataset ids per `byDatasetIds` request."""
ACQUISITION_FIELDS = ("id", "type", "rank", "sortingIndex", "softwareRelease", "protocol")


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
    """Harvests a Shanoir-NG server over its REST API; see the module docstring."""

    name = "shanoir"
    version = "1.1.0"
    summary = (
        "a Shanoir-NG server by URL (Keycloak user and password; run with --full now and "
        "then: protocol changes alone are not seen incrementally)"
    )
    example = (
        "imagora harvest shanoir https://shanoir.example.org --user alice"
        ' --password "$SHANOIR_PASSWORD" --study 12'
    )
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

    # ----- staging (compute jobs) ---------------------------------------------------------
    stages_files = True

    def stage(self, request: StageRequest, dest: Path, limits: StageLimits) -> list[Path]:
        """Each dataset of the acquisition as Shanoir-NG's DICOM zip
        (`GET /shanoir-ng/datasets/datasets/download/{id}?format=dcm`), unpacked side by
        side (a multi-echo acquisition may be one dataset per echo)."""
        ids = [
            str(f["path"]).split("/", 1)[1]
            for f in request.files
            if str(f.get("path", "")).startswith("datasets/")
        ]
        if not ids:
            raise RemoteSourceError(f"{request.where}: the acquisition lists no dataset")
        creds = credentials(self.options)
        client = RemoteClient(request.location, self.options.policy(), secrets=creds.secrets)
        api = ShanoirApi(client, creds, self.options.client_id)
        found: list[Path] = []
        try:
            api.login()
            for dataset in ids:
                found += _stage_dataset(api, dataset, dest / dataset, limits, request.where)
        finally:
            client.close()
        return sorted(found)

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
        yield from _dataset_items(api, wanted)

    # ----- fetching -----------------------------------------------------------------------
    def fetch(
        self, location: ShanoirSite, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        refs = [ref for ref, _old in changed if not ref.key.startswith("datasets:")]
        batches = _batches([ref for ref, _old in changed if ref.key.startswith("datasets:")])
        workers = max(1, self.options.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda ref: self._fetch_one(location, ref), refs)
            for fetched in pool.map(lambda batch: _fetch_datasets(location, batch), batches):
                yield from fetched

    def _fetch_one(self, site: ShanoirSite, ref: ItemRef) -> Fetched:
        row = dict((ref.data or {}).get("row") or {})
        kind = ref.key.split(":", 1)[0]
        try:
            if kind == "subject":
                row = self._subject(site, row)
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

    def assemble(
        self, location: ShanoirSite, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        return build_records(location.base_url, self.name, self.version, facts)


def _stage_dataset(
    api: ShanoirApi, dataset: str, dest: Path, limits: StageLimits, where: str
) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / ".download.zip"
    try:
        api.download(f"/datasets/datasets/download/{dataset}", archive, limits.max_bytes)
        return extract_zip(archive, dest, limits, where)
    finally:
        archive.unlink(missing_ok=True)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A listing row without what names a person (subject names like DUPONT^JEAN, exam
    comments, birth dates); nested subject refs keep only their id."""
    clean = {k: v for k, v in row.items() if k not in IDENTIFYING}
    if isinstance(clean.get("subject"), dict):
        clean["subject"] = {"id": clean["subject"].get("id")}
    return clean


def _dataset_items(api: ShanoirApi, wanted: set[Any]) -> Iterator[ItemRef]:
    """One item per subject with its datasets (rows of the paged dataset listing)."""
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for dataset in api.pages("/datasets/datasets", DATASET_PAGE):
        if isinstance(dataset, dict) and dataset.get("studyId") in wanted:
            by_subject.setdefault(str(dataset.get("subjectId")), []).append(dataset)
    for subject, rows in by_subject.items():
        rows.sort(key=lambda row: int(row["id"]))
        yield ItemRef(f"datasets:{subject}", row_fingerprint({"datasets": rows}), {"rows": rows})


def _batches(refs: list[ItemRef]) -> list[list[ItemRef]]:
    """Dataset items in groups of about `DATASET_BATCH` datasets (items stay whole)."""
    batches: list[list[ItemRef]] = []
    size = DATASET_BATCH
    for ref in refs:
        count = len((ref.data or {}).get("rows") or [])
        if size + count > DATASET_BATCH and size:
            batches.append([])
            size = 0
        batches[-1].append(ref)
        size += count
    return batches


def _fetch_datasets(site: ShanoirSite, refs: list[ItemRef]) -> list[Fetched]:
    """Changed dataset items with each dataset's acquisition, in one request per batch."""
    ids = [int(row["id"]) for ref in refs for row in (ref.data or {}).get("rows") or []]
    try:
        acquisitions = site.api.items("/datasets/datasetacquisition/byDatasetIds", body=ids)
    except SourceDownError:
        raise
    except RemoteSourceError as exc:  # e.g. a 403 for datasets the user cannot see
        return [Fetched(ref.key, ref.fingerprint, error=exc.message) for ref in refs]
    owner = _owners(acquisitions)
    return [_dataset_facts(ref, owner) for ref in refs]


def _owners(acquisitions: list[Any]) -> dict[int, dict[str, Any]]:
    """Dataset id -> a summary of the acquisition holding it."""
    owner: dict[int, dict[str, Any]] = {}
    for acq in acquisitions:
        if not isinstance(acq, dict):
            continue
        summary = {k: acq.get(k) for k in ACQUISITION_FIELDS}
        summary["examinationId"] = (acq.get("examination") or {}).get("id")
        for dataset in acq.get("datasets") or []:
            if isinstance(dataset, dict) and dataset.get("id") is not None:
                owner[int(dataset["id"])] = summary
    return owner


def _dataset_facts(ref: ItemRef, owner: dict[int, dict[str, Any]]) -> Fetched:
    rows = (ref.data or {}).get("rows") or []
    lost = [str(row["id"]) for row in rows if int(row["id"]) not in owner]
    if lost:
        return Fetched(
            ref.key,
            ref.fingerprint,
            error=f"dataset(s) {', '.join(lost)} vanished during the harvest",
        )
    facts = [
        {
            "path": f"dataset:{row['id']}",
            "kind": "shanoir-dataset",
            "data": {"row": row, "acquisition": owner[int(row["id"])]},
        }
        for row in rows
    ]
    return Fetched(ref.key, ref.fingerprint, facts=facts)

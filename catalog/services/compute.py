"""ComputeService: jobs that run pipelines on catalogued data, and their outputs.

The rules, in one place:
- a job needs an authenticated caller who can see every input record and read its files
  (restricted / embargoed files need a grant or the curator / admin role);
- parameters are typed and bounded by the pipeline's Boutiques descriptor, and the
  pipeline checks the inputs' metadata before anything is submitted;
- a job moves queued -> running -> succeeded | failed | cancelled (`TRANSITIONS`); state
  is refreshed from the executor whenever a job is read, so no daemon is needed;
- outputs come back only through the harvest service (the `compute` harvester of the
  job's `output/` folder), and only from a job whose runner reported success: failed,
  killed or timed-out jobs keep their log tail and are never catalogued;
- each output record is as restricted as its most restricted input, links `IsDerivedFrom`
  its inputs and `IsCompiledBy` the pipeline's own record, and has a W3C PROV document
  (kept with the job) that includes the command to re-run it.
"""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.domain.compute import JobPublic, JobRequest, PipelineList, PipelinePublic
from catalog.domain.enums import Level, RelationType
from catalog.domain.errors import (
    AuthenticationError,
    ConflictError,
    ImagoraError,
    NotFoundError,
    PermissionDeniedError,
    PluginUnavailableError,
    ValidationError,
)
from catalog.domain.identity import SYSTEM, Identity
from catalog.domain.records import (
    Access,
    Creator,
    RecordCreate,
    RecordPublic,
    Related,
    SourceInfo,
)
from catalog.services.access import can_see
from catalog.services.harvest import HarvestService
from catalog.services.publish_files import FileLocator
from catalog.services.records import RecordService, SearchRequest, origin_record_id
from catalog.services.remote_inputs import PendingInput, RemoteInputs
from catalog.services.remote_inputs import digest as _digest
from catalog.store.jobs import StoredJob
from catalog.store.repository import StoredRecord, UnitOfWork, utcnow
from compute_bridge.base import (
    TRANSITIONS,
    Executor,
    ExecutorSettings,
    InputMeta,
    JobSpec,
    JobState,
    Resources,
    RunOutcome,
    StagedInput,
)
from compute_bridge.descriptors import Descriptor
from compute_bridge.registry import executors, pipelines
from compute_bridge.workdir import METADATA_FILE, OUTPUT_DIR, log_tail, read_outcome, write_spec

MAX_QUERY_INPUTS = 100


@dataclass
class Lineage:
    """A derived record's job as the landing page shows it."""

    job_id: str
    pipeline: str
    executor: str
    device: str
    inputs: list[tuple[str, str]]
    outputs: list[tuple[str, str]]
    rerun_command: str
    preview: bool


_IMAGE_SUFFIXES = (".nii", ".nii.gz")
_ROI_SUFFIXES = {"dseg", "mask", "probseg"}


class ComputeService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        records: RecordService,
        harvest: HarvestService,
        data_dir: Path,
        base_url: str,
        executor_settings: Mapping[str, ExecutorSettings] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.records = records
        self.harvest = harvest
        self.jobs_dir = data_dir.resolve() / "compute" / "jobs"
        self.base_url = base_url
        #: executor name -> its settings (from the installation's; e.g. Slurm partition)
        self.executor_settings = dict(executor_settings or {})
        #: downloads the files of inputs from remote sources (XNAT, Shanoir-NG)
        self.remote = RemoteInputs(harvest)

    def executor(self, name: str) -> Executor:
        """An executor with the installation's settings for it (defaults otherwise)."""
        cls = executors.get(name)
        given = self.executor_settings.get(name)
        return cls(cls.Settings.model_validate(given.model_dump()) if given else None)

    # ----- pipelines -------------------------------------------------------------------
    def pipelines(self, identity: Identity) -> PipelineList:
        """Every registered pipeline that loads (with its descriptor), and those that
        do not, with the reason."""
        listed = []
        for name in pipelines.names():
            try:
                listed.append(self._pipeline_public(pipelines.descriptor(name)))
            except ImagoraError:
                continue
        return PipelineList(pipelines=listed, unavailable=pipelines.unavailable())

    @staticmethod
    def _pipeline_public(descriptor: Descriptor) -> PipelinePublic:
        return PipelinePublic(
            name=descriptor.name,
            version=descriptor.version,
            description=descriptor.description,
            parameters=descriptor.parameters,
            outputs=descriptor.outputs,
            container_image=descriptor.container_image,
            descriptor_sha256=descriptor.sha256,
            resources=descriptor.resources.model_dump(),
            record_id=pipeline_record_id(descriptor),
        )

    # ----- submitting ------------------------------------------------------------------
    def submit(
        self, identity: Identity, request: JobRequest, rerun_of: str | None = None
    ) -> JobPublic:
        if identity.is_anonymous:
            raise AuthenticationError("running a pipeline needs a bearer token")
        descriptor = pipelines.descriptor(request.pipeline)
        params = descriptor.resolve(request.params)
        executor = self.executor(request.executor)
        inputs, pending = self._stage(identity, self._input_ids(identity, request))
        pipelines.get(request.pipeline)().check(params, inputs)
        job_id = secrets.token_hex(6)
        staging_failed = self.remote.fetch(pending, inputs, self.jobs_dir / job_id)
        spec = JobSpec(
            job_id=job_id,
            pipeline=descriptor.name,
            pipeline_version=descriptor.version,
            params=params,
            inputs=inputs,
            work_dir=str(self.jobs_dir / job_id),
            resources=_resources(descriptor.resources, request),
            device=request.device,
            executor=request.executor,
            partition=request.partition,
        )
        write_spec(spec)
        job = StoredJob(
            id=job_id,
            owner=identity.user or "",
            pipeline=spec.pipeline,
            pipeline_version=spec.pipeline_version,
            executor=spec.executor,
            state=JobState.queued.value,
            spec=spec.model_dump(mode="json"),
            request=request.model_dump(mode="json"),
            created=utcnow(),
            rerun_of=rerun_of,
        )
        self._save(job)
        if staging_failed:
            self._finish(job, JobState.failed, staging_failed)
            self._save(job)
            return self._public(job)
        try:
            job.external_id = executor.submit(spec)
        except (ImagoraError, OSError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            self._finish(
                job, JobState.failed, f"the {spec.executor} executor refused the job: {reason}"
            )
        self._save(job)
        return self._public(job)

    def rerun(self, identity: Identity, job_id: str) -> JobPublic:
        """The same pipeline, version, inputs, parameters and executor, as a new job."""
        job = self._load(identity, job_id)
        current = pipelines.descriptor(job.pipeline).version
        if current != job.pipeline_version:
            raise ConflictError(
                f"job {job_id} ran {job.pipeline} {job.pipeline_version}; this installation has "
                f"version {current}, so it cannot be re-run as it was (run it anew instead)"
            )
        request = JobRequest.model_validate(job.request)
        request = request.model_copy(
            update={"records": [i["record_id"] for i in job.spec["inputs"]], "query": None}
        )
        return self.submit(identity, request, rerun_of=job.id)

    def _input_ids(self, identity: Identity, request: JobRequest) -> list[str]:
        if request.records and request.query:
            raise ValidationError("give either records or a query, not both", field="records")
        if request.records:
            return list(dict.fromkeys(request.records))
        if not request.query:
            raise ValidationError("select the inputs: records or a query", field="records")
        search = SearchRequest(text=request.query, size=MAX_QUERY_INPUTS, level=request.level)
        page = self.records.search(identity, search)
        if page.total == 0:
            raise ValidationError(f"the query '{request.query}' finds no records", field="query")
        if page.total > MAX_QUERY_INPUTS:
            raise ValidationError(
                f"the query '{request.query}' finds {page.total} records; at most "
                f"{MAX_QUERY_INPUTS} can be one job's inputs (narrow it down)",
                field="query",
            )
        return [hit.id for hit in page.hits]

    def _stage(
        self, identity: Identity, record_ids: list[str]
    ) -> tuple[list[StagedInput], list[PendingInput]]:
        """Local inputs as they are; remote ones as placeholders (their metadata) plus
        what to download once the job has a folder (`RemoteInputs.fetch`)."""
        with self.uow_factory() as uow:
            found = uow.records.get_many(record_ids)
            locator = FileLocator(uow)
            staged: list[StagedInput] = []
            pending: list[PendingInput] = []
            for record_id in record_ids:
                stored = found.get(record_id)
                if stored is None or not can_see(identity, stored):
                    raise NotFoundError(f"no record with id '{record_id}'")
                _require_file_access(identity, stored)
                if self.remote.handles((stored.body.get("source") or {}).get("type")):
                    pending.append(self.remote.pending(len(staged), stored))
                    staged.append(_remote_placeholder(stored))
                else:
                    staged.append(_staged(stored, locator))
        return staged, pending

    # ----- reading and refreshing -------------------------------------------------------
    def get(self, identity: Identity, job_id: str) -> JobPublic:
        job = self._load(identity, job_id)
        if not JobState(job.state).terminal:
            job = self._refresh(job)
        return self._public(job)

    def list(self, identity: Identity, limit: int = 50) -> list[JobPublic]:
        owner = None if identity.sees_everything else identity.user
        if identity.is_anonymous:
            raise AuthenticationError("listing jobs needs a bearer token")
        with self.uow_factory() as uow:
            jobs = uow.jobs.list(owner=owner, limit=limit)
        return [self._public(job) for job in jobs]

    def cancel(self, identity: Identity, job_id: str) -> JobPublic:
        job = self._load(identity, job_id)
        if JobState(job.state).terminal:
            raise ConflictError(f"job {job_id} already ended ({job.state}); nothing to cancel")
        if job.external_id:
            self.executor(job.executor).cancel(self._spec(job), job.external_id)
        self._finish(job, JobState.cancelled, "cancelled by " + (identity.user or "?"))
        self._save(job)
        return self._public(job)

    def _refresh(self, job: StoredJob) -> StoredJob:
        if job.external_id is None:
            return job
        spec = self._spec(job)
        status = self.executor(job.executor).status(spec, job.external_id)
        if status.state == JobState(job.state):
            return job
        if status.state == JobState.running:
            self._advance(job, JobState.running)
        elif status.state == JobState.succeeded:
            self._succeed(job, spec)
        elif status.state.terminal:
            self._finish(job, status.state, status.message or status.state.value)
        self._save(job)
        return job

    def _succeed(self, job: StoredJob, spec: JobSpec) -> None:
        outcome = read_outcome(spec.path)
        try:
            outputs = self._ingest(job, spec)
        except (ImagoraError, OSError) as exc:
            self._finish(
                job, JobState.failed, f"the outputs could not be catalogued: {exc.message}"
            )
            return
        job.outputs = outputs
        message = f"{len(outputs)} derived record(s) catalogued"
        if outcome is not None and outcome.device_note:
            message += f"; {outcome.device_note}"
        self._finish(job, JobState.succeeded, message)
        job.provenance = json.loads(self._provenance_json(job, spec, outcome))

    def _advance(self, job: StoredJob, state: JobState) -> None:
        current = JobState(job.state)
        if state not in TRANSITIONS[current]:
            raise ConflictError(f"job {job.id} cannot go from {current} to {state}")
        if state == JobState.running or job.started is None:
            job.started = job.started or utcnow()
        job.state = state.value

    def _finish(self, job: StoredJob, state: JobState, message: str) -> None:
        self._advance(job, state)
        job.finished = utcnow()
        job.message = message
        work = Path(job.spec["work_dir"])
        job.log_tail = log_tail(work)
        outcome = read_outcome(work)
        job.outcome = outcome.model_dump(mode="json") if outcome else None

    # ----- outputs ---------------------------------------------------------------------
    def _ingest(self, job: StoredJob, spec: JobSpec) -> list[str]:
        """Harvest the output folder; returns the derived record ids."""
        from compute_bridge.harvester import JobOutputOptions

        pipeline_id = self._ensure_pipeline_record(pipelines.descriptor(job.pipeline))
        options = JobOutputOptions(
            job_id=job.id,
            access=self._output_access(job, spec),
            keywords=[f"job {job.id}", *self._lineage(spec)],
            creators=[Creator(name=job.owner)] if job.owner else [],
        )
        folder = spec.path / OUTPUT_DIR
        report = self.harvest.run(SYSTEM, "compute", str(folder), options)
        if report.errors:
            first = report.errors[0]
            raise ValidationError(f"{first.item}: {first.error}")
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        source = f"compute:{folder.resolve()}"
        ids = [origin_record_id(f"{source}#{o['key']}") for o in metadata["outputs"]]
        self._link_pipeline(ids, pipeline_id)
        return ids

    def _output_access(self, job: StoredJob, spec: JobSpec) -> Access | None:
        """As restricted as the most restricted input: a derived map of a restricted
        scan must not be public. Readers: those granted every restricted input, and the
        job's owner."""
        with self.uow_factory() as uow:
            found = uow.records.get_many([i.record_id for i in spec.inputs])
        accesses = [found[i].access for i in found]
        restricted = [a for a in accesses if a.get("record") == "restricted"]
        closed = [a for a in accesses if a.get("files", "open") != "open"]
        if not restricted and not closed:
            return None
        grants: set[str] = (
            set.intersection(*(set(a.get("grants") or []) for a in restricted))
            if restricted
            else set()
        )
        if job.owner:
            grants.add(job.owner)
        return Access(
            record="restricted" if restricted else "public",
            files="restricted" if closed else "open",
            grants=sorted(grants),
        )

    def _lineage(self, spec: JobSpec) -> list[str]:
        """Search phrases that find outputs by what they came from ("derived from <id>",
        a phrase: `field:value` words are search syntax): every ancestor
        (collection, subject, session) of every input."""
        words: set[str] = set()
        with self.uow_factory() as uow:
            for item in spec.inputs:
                stored = uow.records.get(item.record_id)
                if stored is None:
                    continue
                words.add(f"derived from {stored.id}")
                words.update(f"derived from {a.id}" for a in uow.records.ancestors(stored))
        return sorted(words)

    def _ensure_pipeline_record(self, descriptor: Descriptor) -> str:
        """Pipelines are records too (level `pipeline`), one per version."""
        record_id = pipeline_record_id(descriptor)
        with self.uow_factory() as uow:
            exists = uow.records.get(record_id) is not None
        if not exists:
            self.records.create(SYSTEM, _pipeline_record(descriptor, record_id))
        return record_id

    def _link_pipeline(self, ids: list[str], pipeline_id: str) -> None:
        """`IsCompiledBy` the pipeline record (the harvester knows only the job folder)."""
        link = Related(
            identifier=pipeline_id,
            scheme="imagora",
            relation=RelationType.IsCompiledBy,
            resource_type="Software",
        )
        with self.uow_factory() as uow:
            changed = []
            for record_id in ids:
                stored = uow.records.get(record_id)
                related = list(stored.body.get("related") or []) if stored else []
                if stored is None or any(r.get("identifier") == pipeline_id for r in related):
                    continue
                stored.body = {**stored.body, "related": [*related, link.model_dump(mode="json")]}
                uow.records.save(stored, snapshot=False)
                changed.append(record_id)
            uow.commit()
        if changed:
            self.records.index_sync.try_apply()

    # ----- provenance ------------------------------------------------------------------
    def provenance(self, identity: Identity, record_id: str) -> str:
        """PROV-JSON of the job that produced a visible derived record."""
        record = self.records.get(identity, record_id)
        job_id = record.source.raw.get("job_id") if record.source.type == "compute" else None
        if not job_id:
            raise NotFoundError(
                f"record '{record_id}' was not produced by a pipeline, so it has no job provenance"
            )
        with self.uow_factory() as uow:
            job = uow.jobs.get(str(job_id))
        if job is None or job.provenance is None:
            raise NotFoundError(f"the provenance of record '{record_id}' is missing")
        return json.dumps(job.provenance)

    def lineage(self, identity: Identity, record: RecordPublic) -> Lineage | None:
        """What the landing page draws for a derived record: its job's inputs, pipeline
        and outputs (only those the caller may see), the re-run command, the preview."""
        job_id = record.source.raw.get("job_id") if record.source.type == "compute" else None
        if not job_id:
            return None
        with self.uow_factory() as uow:
            job = uow.jobs.get(str(job_id))
            if job is None:
                return None
            ids = [i["record_id"] for i in job.spec["inputs"]] + list(job.outputs)
            found = uow.records.get_many(ids)
        visible = {i: r.title for i, r in found.items() if can_see(identity, r)}
        outcome = RunOutcome.model_validate(job.outcome) if job.outcome else None
        return Lineage(
            job_id=job.id,
            pipeline=f"{job.pipeline} {job.pipeline_version}",
            executor=job.executor,
            device=outcome.device if outcome else "",
            inputs=[(i, visible[i]) for i in ids[: len(job.spec["inputs"])] if i in visible],
            outputs=[(i, visible[i]) for i in job.outputs if i in visible],
            rerun_command=rerun_command(job),
            preview=any(f.path.endswith("_preview.png") for f in record.files),
        )

    def preview_file(self, identity: Identity, record_id: str) -> Path:
        """The PNG preview of a derived record, for a caller who may read its files.
        (The path comes from the stored record: public views hide server paths.)"""
        self.records.get(identity, record_id)  # visibility, with its 404
        with self.uow_factory() as uow:
            stored = uow.records.get(record_id)
        if stored is None:
            raise NotFoundError(f"no record with id '{record_id}'")
        _require_file_access(identity, stored)
        location = (stored.body.get("source") or {}).get("location") or ""
        for item in stored.body.get("files") or []:
            path = Path(location) / item["path"]
            if item["path"].endswith("_preview.png") and path.is_file():
                return path
        raise NotFoundError(f"record '{record_id}' has no preview image")

    def _provenance_json(self, job: StoredJob, spec: JobSpec, outcome: RunOutcome | None) -> str:
        from compute_bridge.provenance import ProvFile, ProvJob, ProvRecord, build_document, to_json

        descriptor = pipelines.descriptor(job.pipeline)
        with self.uow_factory() as uow:
            made = uow.records.get_many(job.outputs)
            sources = uow.records.get_many([i.record_id for i in spec.inputs])
        outputs = [_prov_record(made[i]) for i in job.outputs if i in made]
        inputs = [
            ProvRecord(
                id=i.record_id,
                title=i.title,
                files=[ProvFile(path=Path(i.path).name, checksum=i.checksum)],
            )
            for i in spec.inputs
            if i.record_id in sources
        ]
        derivations = {
            rid: [
                r["identifier"]
                for r in made[rid].body.get("related") or []
                if r.get("relation") == "IsDerivedFrom"
            ]
            for rid in job.outputs
            if rid in made
        }
        doc = build_document(
            ProvJob(
                job_id=job.id,
                owner=job.owner,
                pipeline=job.pipeline,
                pipeline_version=job.pipeline_version,
                descriptor_sha256=descriptor.sha256,
                container_image=descriptor.container_image,
                params=spec.params,
                executor=job.executor,
                external_id=job.external_id,
                host=outcome.host if outcome else "",
                device=outcome.device if outcome else "",
                torch_version=outcome.torch_version if outcome else "",
                cuda_version=outcome.cuda_version if outcome else None,
                started=outcome.started if outcome else job.started,
                finished=outcome.finished if outcome else job.finished,
                rerun_command=rerun_command(job),
                inputs=inputs,
                outputs=outputs,
                derivations=derivations,
            ),
            self.base_url,
        )
        return to_json(doc)

    # ----- plumbing --------------------------------------------------------------------
    def _load(self, identity: Identity, job_id: str) -> StoredJob:
        if identity.is_anonymous:
            raise AuthenticationError("jobs are visible to their owner: send a bearer token")
        with self.uow_factory() as uow:
            job = uow.jobs.get(job_id)
        if job is None or not (identity.sees_everything or job.owner == identity.user):
            raise NotFoundError(f"no job with id '{job_id}'")
        return job

    def _save(self, job: StoredJob) -> None:
        with self.uow_factory() as uow:
            uow.jobs.save(job)
            uow.commit()

    @staticmethod
    def _spec(job: StoredJob) -> JobSpec:
        return JobSpec.model_validate(job.spec)

    @staticmethod
    def _public(job: StoredJob) -> JobPublic:
        outcome = RunOutcome.model_validate(job.outcome) if job.outcome else None
        return JobPublic(
            id=job.id,
            pipeline=job.pipeline,
            pipeline_version=job.pipeline_version,
            executor=job.executor,
            external_id=job.external_id,
            state=JobState(job.state),
            owner=job.owner,
            inputs=[i["record_id"] for i in job.spec["inputs"]],
            params=job.spec.get("params") or {},
            outputs=list(job.outputs),
            message=job.message,
            log_tail=job.log_tail,
            created=job.created,
            started=job.started,
            finished=job.finished,
            device=outcome.device if outcome else None,
            host=outcome.host if outcome else None,
            resources=job.spec.get("resources") or {},
            use=outcome.use if outcome else None,
            rerun_of=job.rerun_of,
            rerun_command=rerun_command(job),
        )


# ----- helpers -------------------------------------------------------------------------
def pipeline_record_id(descriptor: Descriptor) -> str:
    version = "".join(c if c.isalnum() else "-" for c in descriptor.version)
    return f"pipeline-{descriptor.name}-{version}"


def rerun_command(job: StoredJob) -> str:
    """One command that runs the same job again."""
    parts = ["imagora", "compute", "run", job.pipeline]
    for item in job.spec["inputs"]:
        parts += ["--records", item["record_id"]]
    parts += ["--executor", job.executor]
    for name, value in sorted((job.spec.get("params") or {}).items()):
        text = ",".join(f"{v:g}" for v in value) if isinstance(value, list) else str(value)
        parts += ["--param", f"{name}={text}"]
    return shlex.join(parts)


def _resources(base: Resources, request: JobRequest) -> Resources:
    given = request.resources.model_dump(exclude_none=True)
    resources = base.model_copy(update=given)
    if request.device == "cuda" and resources.gpus == 0:
        resources.gpus = 1
    return resources


def _require_file_access(identity: Identity, stored: StoredRecord) -> None:
    files = stored.access.get("files", "open")
    if files == "open" or identity.sees_everything or _embargo_over(stored.access):
        return
    if identity.user and identity.user in (stored.access.get("grants") or []):
        return
    raise PermissionDeniedError(
        f"the files of record '{stored.id}' are {files}; ask its curator for access"
    )


def _embargo_over(access: dict[str, Any]) -> bool:
    until = access.get("embargo_until")
    return (
        access.get("files") == "embargoed"
        and bool(until)
        and str(until) < utcnow().date().isoformat()
    )


def _remote_placeholder(stored: StoredRecord) -> StagedInput:
    """A remote acquisition before its download: its metadata, for the pipeline's check
    (remote sources are asked for DICOM, so the series' own values are read)."""
    if stored.level != "acquisition":
        raise ValidationError(
            f"record '{stored.id}' ({stored.title}) is a {stored.level}, not an image "
            "series: select its acquisition records (e.g. --level acquisition with --query)",
            field="records",
        )
    suffix = (stored.body.get("bids") or {}).get("suffix")
    return StagedInput(
        record_id=stored.id,
        title=stored.title,
        path="",
        role="roi" if suffix in _ROI_SUFFIXES else "data",
        meta=_meta(stored.body, suffix),
        format="dicom",
    )


def _staged(stored: StoredRecord, locator: FileLocator) -> StagedInput:
    """The record's image file(s) on this machine, and the metadata a pipeline needs."""
    body = stored.body
    source = body.get("source") or {}
    if source.get("type") not in ("bids", "dicom", "bruker", "compute", "deposit"):
        raise PluginUnavailableError(
            f"record '{stored.id}' comes from a {source.get('type')} source, whose files "
            "cannot be fetched for a job (XNAT and Shanoir-NG records can)"
        )
    suffix = (body.get("bids") or {}).get("suffix")
    base = StagedInput(
        record_id=stored.id,
        title=stored.title,
        path="",
        role="roi" if suffix in _ROI_SUFFIXES else "data",
        meta=_meta(body, suffix),
    )
    images = [f for f in body.get("files") or [] if f["path"].endswith(_IMAGE_SUFFIXES)]
    if not images and stored.level not in ("acquisition", "derived"):
        raise ValidationError(
            f"record '{stored.id}' ({stored.title}) is a {stored.level}, not an image "
            "series: select its acquisition records (e.g. --level acquisition with --query)",
            field="records",
        )
    if not images and source.get("type") == "dicom":
        return _staged_dicom(stored, locator, base)
    if not images and source.get("type") == "bruker":
        return _staged_bruker(stored, locator, base)
    if not images:
        raise ValidationError(
            f"record '{stored.id}' ({stored.title}) lists no NIfTI file, DICOM series or "
            "Bruker scan; pipelines read those",
            field="records",
        )
    path = _local_path(source.get("location") or "", images[0]["path"])
    if path is None:
        raise ValidationError(
            f"record '{stored.id}': its file {images[0]['path']} is not on this machine any "
            "more (re-harvest its source)",
            field="records",
        )
    return base.model_copy(update={"path": str(path), "checksum": images[0].get("checksum")})


def _staged_dicom(stored: StoredRecord, locator: FileLocator, base: StagedInput) -> StagedInput:
    """Every file of the series (records list 50; the harvest state knows the rest)."""
    paths = sorted({disk for _listed, disk in locator.paths(stored)})
    gone = [p for p in paths if not p.is_file()]
    if not paths or gone:
        raise ValidationError(
            f"record '{stored.id}': "
            + (f"its file {gone[0]} is not on this machine any more" if gone else "no files")
            + " (re-harvest its source)",
            field="records",
        )
    return base.model_copy(
        update={
            "path": str(paths[0]),
            "files": [str(p) for p in paths],
            "format": "dicom",
            "checksum": _digest(paths),
        }
    )


def _staged_bruker(stored: StoredRecord, locator: FileLocator, base: StagedInput) -> StagedInput:
    """The scan's reconstruction: `pdata/<n>/2dseq` beside the visu_pars the record lists."""
    visu = sorted(d for _l, d in locator.paths(stored) if d.name == "visu_pars")
    where = f"record '{stored.id}' ({stored.title})"
    if any("!" in str(d) for d in visu):
        raise ValidationError(
            f"{where} is a scan inside an archive; unpack the archive and harvest the "
            "folder to compute on it",
            field="records",
        )
    seq = next((d.with_name("2dseq") for d in visu if d.with_name("2dseq").is_file()), None)
    if seq is None:
        raise ValidationError(
            f"{where} has no reconstructed image (pdata/<n>/2dseq next to visu_pars); "
            "reconstruct it in ParaVision and re-harvest",
            field="records",
        )
    return base.model_copy(
        update={
            "path": str(seq),
            "format": "bruker",
            "checksum": _digest([seq.with_name("visu_pars"), seq]),
        }
    )


def _local_path(location: str, listed: str) -> Path | None:
    root = Path(location)
    parts = Path(listed).parts
    for start in range(min(len(parts), 4)):  # listed paths may start above the root
        candidate = root.joinpath(*parts[start:])
        if candidate.is_file():
            return candidate
    return None


def _meta(body: dict[str, Any], suffix: str | None) -> InputMeta:
    imaging = body.get("imaging") or {}
    sidecar = ((body.get("source") or {}).get("raw") or {}).get("sidecar") or {}
    return InputMeta(
        te_ms=imaging.get("te_ms"),
        ti_ms=imaging.get("ti_ms"),
        tr_ms=imaging.get("tr_ms"),
        flip_angle_deg=imaging.get("flip_angle_deg"),
        echo_times_ms=_ms_list(sidecar.get("EchoTime")),
        inversion_times_ms=_ms_list(sidecar.get("InversionTime")),
        flip_angles_deg=_number_list(sidecar.get("FlipAngle")),
        suffix=suffix,
    )


def _ms_list(value: Any) -> list[float] | None:
    numbers = _number_list(value)
    return [round(v * 1000.0, 6) for v in numbers] if numbers else None


def _number_list(value: Any) -> list[float] | None:
    if not isinstance(value, list) or len(value) < 2:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def _pipeline_record(descriptor: Descriptor, record_id: str) -> RecordCreate:
    return RecordCreate(
        id=record_id,
        level=Level.pipeline,
        title=f"{descriptor.name} {descriptor.version} (pipeline)",
        description=descriptor.description,
        keywords=["pipeline", descriptor.name, f"pipeline {descriptor.name}"],
        source=SourceInfo(
            type="compute",
            external_id=f"{descriptor.name}@{descriptor.version}",
            raw={"boutiques": descriptor.raw, "descriptor_sha256": descriptor.sha256},
        ),
    )


def _prov_record(stored: StoredRecord) -> Any:
    from compute_bridge.provenance import ProvFile, ProvRecord

    return ProvRecord(
        id=stored.id,
        title=stored.title,
        files=[
            ProvFile(path=f["path"], checksum=f.get("checksum"))
            for f in stored.body.get("files") or []
        ],
    )

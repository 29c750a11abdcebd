"""The XNAT harvester: projects -> subjects -> image sessions -> scans (-> resources).

Items and fingerprints (XNAT has no "modified since" filter for subjects or
experiments): projects and subjects are fingerprinted by their listing row, sessions by
`last_modified` (empty for never-modified rows, then `insert_date`), which XNAT bumps
when a scan of the session changes. Discovery is three listings per project; deletions
upstream show as keys that are no longer listed.

Fetching changed sessions costs one listing per (project, session type, scan type) and
per 100 sessions: `columns=` asks for the session fields, the scan fields and the scans'
resources (`<scan type>/file/label`, `/format`, `/file_count`, `/file_size`) at once, and
XNAT answers one row per scan and resource (keys of path-style columns lower-cased), so
a full harvest makes a few requests per hundred sessions whatever their size. A server
that rejects (HTTP 400) or ignores the resource columns is asked once per changed session
for its record instead (`/data/experiments/{id}?format=json`), on the client's polite
thread budget; `resources=false` skips resources altogether.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.domain.errors import SourceUnusableError
from catalog.domain.results import ItemState
from harvesters.base import (
    Fetched,
    FileFacts,
    HarvestedRecord,
    ItemError,
    ItemHarvester,
    ItemRef,
)
from harvesters.http import (
    CredentialsRejectedError,
    RemoteClient,
    RemoteSourceError,
    SourceDownError,
    strip_userinfo,
)
from harvesters.privacy import pseudonym
from harvesters.remote import RemoteOptions, credentials, row_fingerprint
from harvesters.staging import StageLimits, StageRequest, extract_zip
from harvesters.xnat.api import XnatApi
from harvesters.xnat.mapping import SiteInfo, build_records, scan_fields, session_fields
from harvesters.xnat.resources import record_resources, resource_columns, split_rows

SESSION_SCANS: dict[str, tuple[str, ...]] = {
    "xnat:mrsessiondata": ("xnat:mrScanData",),
    "xnat:petsessiondata": ("xnat:petScanData",),
    "xnat:ctsessiondata": ("xnat:ctScanData",),
    "xnat:petmrsessiondata": ("xnat:mrScanData", "xnat:petScanData"),
}
EXPERIMENT_COLUMNS = "ID,label,xsiType,subject_ID,date,insert_date,last_modified"
SUBJECT_COLUMNS = "ID,label,project,gender,group,insert_date,last_modified"
IDS_PER_LISTING = 100


class XnatOptions(RemoteOptions):
    project: str | None = None
    """Harvest only this project (its records form a source of their own)."""
    resources: bool = True
    """Harvest the scans' resources (file counts, sizes, formats) too."""


@dataclass
class XnatSite:
    base_url: str
    api: XnatApi
    project: str | None
    projects: list[dict[str, Any]] | None = None
    """The project rows read while opening (reachability check), reused by discovery."""
    resource_columns: bool | None = None
    """Whether the experiment listing answers the scans' resource columns (None: not
    asked yet); False sends each changed session's record request instead."""

    @property
    def client(self) -> RemoteClient:
        return self.api.client


class XnatHarvester(ItemHarvester[XnatSite]):
    """Harvests an XNAT 1.7-1.9 server over its REST API; see the module docstring."""

    name = "xnat"
    version = "1.0.0"
    summary = (
        "an XNAT 1.7-1.9 server by URL (user and password, or --token ALIAS:SECRET; "
        "none for a public site)"
    )
    example = (
        'imagora harvest xnat https://xnat.example.org --user alice --password "$XNAT_PASSWORD"'
        " --project PRJ1"
    )
    Options = XnatOptions
    options: XnatOptions

    def open(self, location: str) -> XnatSite:
        if not location.startswith(("http://", "https://")):
            raise SourceUnusableError(f"{location}: an XNAT location is an http(s):// URL")
        creds = credentials(self.options)
        client = RemoteClient(location, self.options.policy(), secrets=creds.secrets)
        site = XnatSite(strip_userinfo(location.rstrip("/")), XnatApi(client, creds), None)
        try:
            site.api.login()
            site.project = self.options.project
            site.projects = self._projects(site)
        except RemoteSourceError:
            self._site = site
            self.close()
            raise
        self._site = site
        return site

    def close(self) -> None:
        site = getattr(self, "_site", None)
        if site is not None:
            site.api.logout()
            site.client.close()
            self._site = None

    # ----- staging (compute jobs) ---------------------------------------------------------
    stages_files = True

    def stage(self, request: StageRequest, dest: Path, limits: StageLimits) -> list[Path]:
        """The scan's DICOM resource (else NIFTI) as XNAT's zip of its files
        (`GET /data/experiments/{e}/scans/{s}/resources/{label}/files?format=zip`)."""
        resource = _stage_resource(request)
        creds = credentials(self.options)
        client = RemoteClient(request.location, self.options.policy(), secrets=creds.secrets)
        api = XnatApi(client, creds)
        archive = dest / ".download.zip"
        try:
            api.login()
            path = f"/data/{resource}/files"
            try:
                client.download(path, archive, limits.max_bytes, params={"format": "zip"})
            except CredentialsRejectedError:
                if not api.has_session:
                    raise
                api.login()  # the session expired: once more with a new one
                client.download(path, archive, limits.max_bytes, params={"format": "zip"})
            return extract_zip(archive, dest, limits, request.where)
        finally:
            archive.unlink(missing_ok=True)
            api.logout()
            client.close()

    def source_id(self, location: XnatSite) -> str:
        scope = f"/data/projects/{location.project}" if location.project else ""
        return f"xnat:{location.base_url}{scope}"

    def requests_made(self) -> int:
        site = getattr(self, "_site", None)
        return site.client.requests_made if site is not None else 0

    # ----- discovery ----------------------------------------------------------------------
    def discover_items(self, location: XnatSite) -> Iterator[ItemRef | ItemError]:
        for project in location.projects or self._projects(location):
            pid = project["ID"]
            yield ItemRef(f"project:{pid}", row_fingerprint(project), {"row": project})
            subjects = location.api.rows(
                f"/data/projects/{pid}/subjects", {"columns": SUBJECT_COLUMNS}
            )
            for row in subjects:
                yield ItemRef(f"subject:{row['ID']}", row_fingerprint(row), {"row": row})
            yield from self._sessions(location, pid)

    def _projects(self, site: XnatSite) -> list[dict[str, Any]]:
        if site.project:
            fields = site.api.record(f"/data/projects/{site.project}").get("data_fields") or {}
            return [{"ID": site.project, **{k: v for k, v in fields.items() if k != "ID"}}]
        return [row for row in site.api.rows("/data/projects") if row.get("ID")]

    def _sessions(self, site: XnatSite, pid: str) -> Iterator[ItemRef | ItemError]:
        rows = site.api.rows(f"/data/projects/{pid}/experiments", {"columns": EXPERIMENT_COLUMNS})
        for row in rows:
            xsi = str(row.get("xsiType") or "")
            if not xsi.lower().endswith("sessiondata"):
                continue  # assessors and other experiments are not image sessions
            stamp = row.get("last_modified") or row.get("insert_date") or row_fingerprint(row)
            data = {"project": pid, "xsi": xsi, "row": row}
            yield ItemRef(f"session:{row['ID']}", f"{stamp}|{row.get('subject_ID', '')}", data)

    # ----- fetching -----------------------------------------------------------------------
    def fetch(
        self, location: XnatSite, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        sessions: dict[tuple[str, str], list[ItemRef]] = defaultdict(list)
        for ref, _old in changed:
            data = ref.data or {}
            if ref.key.startswith("session:"):
                sessions[(data["project"], data["xsi"])].append(ref)
            else:
                yield self._listed(location, ref)
        for (project, xsi), refs in sessions.items():
            for start in range(0, len(refs), IDS_PER_LISTING):
                yield from self._fetch_sessions(
                    location, project, xsi, refs[start : start + IDS_PER_LISTING]
                )

    def _listed(self, site: XnatSite, ref: ItemRef) -> Fetched:
        """Projects and subjects: the listing row is all there is to know."""
        row = dict((ref.data or {}).get("row") or {})
        kind = ref.key.split(":", 1)[0]
        if kind == "subject":
            label = str(row.pop("label", "") or row.get("ID", ""))
            row["pseudonym"] = pseudonym(self.options.secret, "xnat", site.base_url, label)
        fact = {"path": ref.key, "kind": f"xnat-{kind}", "data": {"row": row}}
        return Fetched(ref.key, ref.fingerprint, facts=[fact])

    def _fetch_sessions(
        self, site: XnatSite, project: str, xsi: str, refs: list[ItemRef]
    ) -> Iterator[Fetched]:
        ids = [ref.key.split(":", 1)[1] for ref in refs]
        by_id: dict[str, list[dict[str, str]]] = defaultdict(list)
        listed: dict[str, dict[str, Any]] = defaultdict(dict)
        for scan_xsi in SESSION_SCANS.get(xsi.lower(), ("xnat:imageScanData",)):
            rows, resources = self._scan_listing(site, project, xsi, scan_xsi, ids)
            for row in rows:
                by_id[str(row.get("ID"))].append({**row, "_scan_xsi": scan_xsi})
            for where, found in (resources or {}).items():
                eid, scan_id = where.split("/", 1)
                listed[eid][scan_id] = found
        per_session = site.resource_columns is False
        resources = self._resources(site, [i for i in ids if i in by_id]) if per_session else {}
        for ref, eid in zip(refs, ids, strict=True):
            if eid not in by_id:
                yield Fetched(
                    ref.key, ref.fingerprint, error="the session vanished during the harvest"
                )
                continue
            found = resources.get(eid) if per_session else listed.get(eid)
            if isinstance(found, str):
                yield Fetched(ref.key, ref.fingerprint, error=found)
                continue
            data = {"project": project, "xsi": xsi, "rows": by_id[eid], "resources": found or {}}
            yield Fetched(
                ref.key,
                ref.fingerprint,
                facts=[{"path": ref.key, "kind": "xnat-session", "data": data}],
            )

    def _scan_listing(
        self, site: XnatSite, project: str, xsi: str, scan_xsi: str, ids: list[str]
    ) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]] | None]:
        """One row per scan of the sessions `ids`, with their resources when the server
        lists them (`columns=<scan type>/file/...`); see `harvesters.xnat.resources`."""
        base = ["ID", "subject_ID", "date", "xsiType", *session_fields(xsi), *scan_fields(scan_xsi)]
        params = {"xsiType": xsi, "ID": ",".join(ids)}
        path = f"/data/projects/{project}/experiments"
        if self.options.resources and site.resource_columns is not False:
            columns = ",".join([*base, *resource_columns(scan_xsi)])
            try:
                rows = site.api.rows(path, {**params, "columns": columns})
            except CredentialsRejectedError:
                raise
            except RemoteSourceError as exc:  # e.g. HTTP 400 for a column it does not know
                if not _refused_columns(exc, site):
                    raise
                site.resource_columns = False
            else:
                split = split_rows(rows, scan_xsi)
                if split is not None:
                    site.resource_columns = True
                    return split
                site.resource_columns = False  # it ignored the columns
                return rows, None
        return site.api.rows(path, {**params, "columns": ",".join(base)}), None

    def _resources(self, site: XnatSite, ids: list[str]) -> dict[str, dict[str, Any] | str]:
        """Per session, from its record: scan id -> resources (or an error message)."""
        if not self.options.resources or not ids:
            return {}
        workers = max(1, self.options.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = pool.map(lambda eid: record_resources(site.api, eid), ids)
            return dict(zip(ids, found, strict=True))

    # ----- records ------------------------------------------------------------------------
    def assemble(
        self, location: XnatSite, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        info = SiteInfo(location.base_url, self.name, self.version, self.options.species)
        return build_records(info, facts)


def _stage_resource(request: StageRequest) -> str:
    """The resource path to fetch: DICOM first (pipelines read the series' own sampling
    values), else NIFTI; a clear error when the record lists neither."""
    listed = [f for f in request.files if str(f.get("path", "")).startswith("experiments/")]
    for wanted in ("DICOM", "NIFTI"):
        for entry in listed:
            label = str(entry["path"]).rsplit("/", 1)[-1].upper()
            if wanted in (label, str(entry.get("format") or "").upper()):
                return str(entry["path"])
    session = request.raw.get("session")
    if not listed and session and request.external_id:
        # harvested with resources=false: nothing listed, so ask for the usual DICOM one
        return f"experiments/{session}/scans/{request.external_id}/resources/DICOM"
    raise RemoteSourceError(
        f"{request.where}: the scan lists no DICOM or NIFTI resource on {request.location}; "
        "pipelines read those"
    )


def _refused_columns(error: RemoteSourceError, site: XnatSite) -> bool:
    """Whether a failed listing with the resource columns means "not supported": a 4xx
    answer, or a 500 (after the retries) on the first such listing of the harvest -- a
    search engine that cannot resolve a column may fail that way. Unreachable sources
    and later failures stop the run as usual."""
    if isinstance(error, SourceDownError):
        return error.answered == 500 and site.resource_columns is None
    return error.answered is not None and 400 <= error.answered < 500

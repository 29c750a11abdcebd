"""The XNAT harvester: projects -> subjects -> image sessions -> scans (-> resources).

Items and fingerprints (XNAT has no "modified since" filter for subjects or
experiments): projects and subjects are fingerprinted by their listing row, sessions by
`last_modified` (empty for never-modified rows, then `insert_date`), which XNAT bumps
when a scan of the session changes. Discovery is three listings per project; deletions
upstream show as keys that are no longer listed.

Fetching changed sessions costs one listing per (project, session type, scan type) and
per 100 sessions: `columns=` asks for the session and scan fields at once and XNAT
answers one row per scan (keys of path-style columns lower-cased). With `resources` on
(the default), one record request per changed session adds the scans' resources (file
counts, sizes, formats), on the client's polite thread budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from harvesters.http import RemoteClient, RemoteSourceError, SourceDownError, strip_userinfo
from harvesters.privacy import pseudonym
from harvesters.remote import RemoteOptions, credentials, row_fingerprint
from harvesters.xnat.api import XnatApi
from harvesters.xnat.mapping import SiteInfo, build_records, scan_fields, session_fields

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
    """Ask each changed session for its scans' resources (one request per session)."""


@dataclass
class XnatSite:
    base_url: str
    api: XnatApi
    project: str | None
    projects: list[dict[str, Any]] | None = None
    """The project rows read while opening (reachability check), reused by discovery."""

    @property
    def client(self) -> RemoteClient:
        return self.api.client


class XnatHarvester(ItemHarvester[XnatSite]):
    """Harvests an XNAT 1.7-1.9 server over its REST API; see the module docstring."""

    name = "xnat"
    version = "1.0.0"
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
        for scan_xsi in SESSION_SCANS.get(xsi.lower(), ("xnat:imageScanData",)):
            columns = ",".join(
                [
                    "ID",
                    "subject_ID",
                    "date",
                    "xsiType",
                    *session_fields(xsi),
                    *scan_fields(scan_xsi),
                ]
            )
            params = {"xsiType": xsi, "ID": ",".join(ids), "columns": columns}
            for row in site.api.rows(f"/data/projects/{project}/experiments", params):
                by_id[str(row.get("ID"))].append({**row, "_scan_xsi": scan_xsi})
        resources = self._resources(site, [i for i in ids if i in by_id])
        for ref, eid in zip(refs, ids, strict=True):
            if eid not in by_id:
                yield Fetched(
                    ref.key, ref.fingerprint, error="the session vanished during the harvest"
                )
                continue
            found = resources.get(eid)
            if isinstance(found, str):
                yield Fetched(ref.key, ref.fingerprint, error=found)
                continue
            data = {"project": project, "xsi": xsi, "rows": by_id[eid], "resources": found or {}}
            yield Fetched(
                ref.key,
                ref.fingerprint,
                facts=[{"path": ref.key, "kind": "xnat-session", "data": data}],
            )

    def _resources(self, site: XnatSite, ids: list[str]) -> dict[str, dict[str, Any] | str]:
        """Per session: scan id -> resources (or an error message for that session)."""
        if not self.options.resources or not ids:
            return {}
        workers = max(1, self.options.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(
                zip(ids, pool.map(lambda eid: _session_resources(site, eid), ids), strict=True)
            )

    # ----- records ------------------------------------------------------------------------
    def assemble(
        self, location: XnatSite, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        info = SiteInfo(location.base_url, self.name, self.version, self.options.species)
        return build_records(info, facts)


def _session_resources(site: XnatSite, eid: str) -> dict[str, Any] | str:
    try:
        record = site.api.record(f"/data/experiments/{eid}")
    except SourceDownError:
        raise  # the source went away: stop the run
    except RemoteSourceError as exc:  # e.g. deleted since the listing
        return exc.message
    found: dict[str, Any] = {}
    for child in record.get("children") or []:
        if child.get("field") != "scans/scan":
            continue
        for scan in child.get("items") or []:
            scan_id = str((scan.get("data_fields") or {}).get("ID", ""))
            found[scan_id] = [
                item.get("data_fields") or {}
                for sub in scan.get("children") or []
                if sub.get("field") == "file"
                for item in sub.get("items") or []
            ]
    return found

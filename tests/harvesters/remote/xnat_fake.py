"""A loopback XNAT (1.8 REST API) with realistic clinical and preclinical data.

Follows the documented shapes and quirks (see /work/shared/reference/specs.md §1):
listings are `{"ResultSet": {"Result": [...], "totalRecords": "N"}}` with every value a
string; `columns=` adds columns, lower-casing path-style keys
(`xnat:mrscandata/parameters/tr`) and turning an experiment listing into one row per
scan; a project-scoped experiment listing has `subject_label` but no `xsiType` unless
asked; single records with `format=json` are `{"items": [{"meta", "data_fields",
"children"}]}`; a scan's default format is HTML; `POST /data/JSESSION` with basic auth
(user or alias token) answers the session id, which then works as the `JSESSIONID`
cookie; `DELETE /data/JSESSION` ends it. Filters: `xsiType=`, `ID=a,b` (comma = or).

Scan resources in an experiment listing: `columns=<scan type>/file/label` (and `format`,
`file_count`, `file_size`) joins each scan with its resources, one row per scan and
resource (a scan without resources keeps one row with empty file columns), as XNAT's
search engine does for `xnat:imagescandata/file/label`. `file_columns` imitates servers
that do not answer them: "ignored" leaves them out of the rows, "rejected" answers 400,
"failing" answers 500.
"""

from __future__ import annotations

import base64
import io
import itertools
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

from loopback import App, Reply, Request


@dataclass
class Resource:
    label: str
    format: str
    file_count: int
    file_size: int
    files: dict[str, bytes] = field(default_factory=dict)
    """Real file contents (name -> bytes), served by `.../resources/{label}/files`."""


@dataclass
class Scan:
    id: str
    xsi: str
    type: str
    series_description: str
    quality: str = "usable"
    frames: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)


@dataclass
class Session:
    id: str
    label: str
    project: str
    subject_id: str
    xsi: str
    date: str
    insert_date: str
    last_modified: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    scans: list[Scan] = field(default_factory=list)


@dataclass
class Subject:
    id: str
    label: str
    project: str
    gender: str
    yob: str
    insert_date: str
    last_modified: str = ""


@dataclass
class Project:
    id: str
    name: str
    description: str
    pi_firstname: str
    pi_lastname: str
    keywords: str = ""


class XnatData:
    """The server's truth; tests change it to simulate upstream edits."""

    def __init__(self) -> None:
        self.projects: dict[str, Project] = {}
        self.subjects: dict[str, Subject] = {}
        self.sessions: dict[str, Session] = {}
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"XNAT_{prefix}{next(self._ids):05d}"

    def acquisitions(self) -> int:
        return sum(len(s.scans) for s in self.sessions.values())


def _mr(
    scan_id: str, kind: str, desc: str, tr: float, te: float, field_t: float, **extra: Any
) -> Scan:
    params = {"tr": tr, "te": te, "fieldStrength": field_t, "flip": extra.pop("flip", 9)}
    params.update(extra)
    return Scan(
        scan_id,
        "xnat:mrScanData",
        kind,
        desc,
        frames=extra.get("frames", 176),
        params=params,
        resources=[
            Resource("DICOM", "DICOM", 176, 45_123_456),
            Resource("NIFTI", "NIFTI", 1, 9_000_000),
        ],
    )


def realistic() -> XnatData:
    """Two projects: a clinical 3T/7T neuro study with a PET/CT session, and a
    preclinical rat study (9.4T MR, small-animal PET with FDG)."""
    data = XnatData()
    data.projects["NEURO7T"] = Project(
        "NEURO7T",
        "Neuro 3T/7T cohort",
        "Healthy ageing at two field strengths",
        "Ada",
        "Lovelace",
        "ageing mri",
    )
    data.projects["RATPET"] = Project(
        "RATPET", "Rat FDG-PET/MR", "Preclinical stroke model", "Louis", "Pasteur", "stroke rat"
    )
    s1 = Subject("XNAT_S00001", "JOHN_DOE_001", "NEURO7T", "male", "1961", "2024-01-10 10:00:00.0")
    s2 = Subject("XNAT_S00002", "sub02", "NEURO7T", "female", "1975", "2024-01-11 10:00:00.0")
    r1 = Subject("XNAT_S00003", "rat01", "RATPET", "male", "", "2024-02-01 09:00:00.0")
    for subject in (s1, s2, r1):
        data.subjects[subject.id] = subject
    data.sessions["XNAT_E00001"] = Session(
        "XNAT_E00001",
        "JOHN_DOE_001_MR1",
        "NEURO7T",
        s1.id,
        "xnat:mrSessionData",
        "2024-01-10",
        "2024-01-10 11:00:00.0",
        "",
        {"scanner": "Prisma", "scanner/manufacturer": "SIEMENS", "fieldStrength": "3.0"},
        [
            _mr("1", "localizer", "localizer", 8.6, 4.0, 3.0, frames=3),
            _mr(
                "2",
                "T1w",
                "t1_mprage_sag_p2_iso",
                2300,
                2.98,
                3.0,
                ti=900,
                **{"voxelRes/x": 1.0, "voxelRes/y": 1.0, "voxelRes/z": 1.0},
            ),
            _mr("3", "bold", "ep2d_bold_rest", 2000, 30, 3.0, flip=90, frames=300),
        ],
    )
    data.sessions["XNAT_E00002"] = Session(
        "XNAT_E00002",
        "sub02_MR7T",
        "NEURO7T",
        s2.id,
        "xnat:mrSessionData",
        "2024-01-11",
        "2024-01-11 11:00:00.0",
        "2024-03-01 08:00:00.0",
        {"scanner": "Terra", "scanner/manufacturer": "SIEMENS", "fieldStrength": "7.0"},
        [
            _mr("1", "T2w", "t2_tse_tra", 6000, 90, 7.0, flip=120),
            _mr("2", "dwi", "ep2d_diff_mddw_64", 9500, 85, 7.0, flip=90, frames=65),
        ],
    )
    data.sessions["XNAT_E00003"] = Session(
        "XNAT_E00003",
        "sub02_PETCT",
        "NEURO7T",
        s2.id,
        "xnat:petSessionData",
        "2024-01-12",
        "2024-01-12 11:00:00.0",
        "",
        {"scanner": "Biograph Vision", "scanner/manufacturer": "SIEMENS", "tracer/name": "FDG"},
        [
            Scan(
                "1",
                "xnat:petScanData",
                "PET WB",
                "PET_WholeBody_AC",
                frames=1,
                resources=[Resource("DICOM", "DICOM", 300, 80_000_000)],
            )
        ],
    )
    data.sessions["XNAT_E00004"] = Session(
        "XNAT_E00004",
        "rat01_MR",
        "RATPET",
        r1.id,
        "xnat:mrSessionData",
        "2024-02-01",
        "2024-02-01 10:00:00.0",
        "",
        {"scanner": "BioSpec 94/30", "scanner/manufacturer": "Bruker", "fieldStrength": "9.4"},
        [_mr("5", "T2w", "T2_TurboRARE", 2500, 33, 9.4, flip=90)],
    )
    data.sessions["XNAT_E00005"] = Session(
        "XNAT_E00005",
        "rat01_PET",
        "RATPET",
        r1.id,
        "xnat:petSessionData",
        "2024-02-02",
        "2024-02-02 10:00:00.0",
        "",
        {"scanner": "Inveon", "scanner/manufacturer": "Siemens", "tracer/name": "FDG"},
        [Scan("1", "xnat:petScanData", "PET dynamic", "FDG_dyn_60min", frames=24)],
    )
    data._ids = itertools.count(100)
    return data


def bulk(acquisitions: int, scans_per_session: int = 10, sessions_per_subject: int = 2) -> XnatData:
    """A big MR project for benchmarks."""
    data = XnatData()
    data.projects["BULK"] = Project("BULK", "Bulk MR", "benchmark data", "A", "B")
    sessions = max(1, acquisitions // scans_per_session)
    for n in range(sessions):
        if n % sessions_per_subject == 0:
            sid = f"XNAT_S{n:06d}"
            data.subjects[sid] = Subject(
                sid, f"b{n:06d}", "BULK", "female", "1980", "2024-01-01 00:00:00.0"
            )
        eid = f"XNAT_E{n:06d}"
        scans = [
            _mr(str(i + 1), "T1w", f"t1_{i}", 2300 + i, 3.0, 3.0) for i in range(scans_per_session)
        ]
        data.sessions[eid] = Session(
            eid,
            f"b{n:06d}_MR",
            "BULK",
            sid,
            "xnat:mrSessionData",
            "2024-01-01",
            "2024-01-01 00:00:00.0",
            "",
            {"scanner": "Prisma", "fieldStrength": "3.0"},
            scans,
        )
    return data


def _s(value: Any) -> str:
    """XNAT writes every value as a string; absent values are ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if value > 100 else str(value)
    return str(value)


def result_set(rows: list[dict[str, str]], title: str | None = None) -> Reply:
    body: dict[str, Any] = {"Result": rows, "totalRecords": str(len(rows))}
    if title:
        body["title"] = title
    return Reply.json({"ResultSet": body})


class FakeXnat(App):
    """The REST endpoints a harvester needs, with XNAT's authentication."""

    def __init__(self, data: XnatData, users: dict[str, str] | None = None) -> None:
        super().__init__()
        self.data = data
        self.users = users if users is not None else {"admin": "s3cret!"}
        self.aliases: dict[str, str] = {}
        self.sessions: set[str] = set()
        self.closed: list[str] = []
        self.file_columns = "listed"  # or "ignored", "rejected", "failing"
        self.zip_override: bytes | None = None  # a crafted archive answered for any zip

    # ----- auth -------------------------------------------------------------------------
    def issue_alias(self) -> tuple[str, str]:
        alias, secret = uuid.uuid4().hex[:12], uuid.uuid4().hex
        self.aliases[alias] = secret
        return alias, secret

    def _basic_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return self.users.get(user) == password or self.aliases.get(user) == password

    def _cookie(self, request: Request) -> str | None:
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "JSESSIONID":
                return value
        return None

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def handle(self, request: Request) -> Reply:
        if request.path == "/data/JSESSION":
            return self._jsession(request)
        if not (self._cookie(request) in self.sessions or self._basic_ok(request)):
            return Reply.text("<html>Login required</html>", 401, "text/html")
        return self._route(request)

    def _jsession(self, request: Request) -> Reply:
        if request.method == "DELETE":
            cookie = self._cookie(request)
            self.sessions.discard(cookie or "")
            self.closed.append(cookie or "")
            return Reply.text("")
        if not self._basic_ok(request):
            return Reply.text("<html>Login attempt failed</html>", 401, "text/html")
        session_id = uuid.uuid4().hex.upper()
        self.sessions.add(session_id)
        reply = Reply.text(session_id)
        reply.headers["Set-Cookie"] = f"JSESSIONID={session_id}; Path=/; HttpOnly"
        return reply

    # ----- routes -----------------------------------------------------------------------
    def _route(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["data", "projects"] and parts[:2] != ["data", "experiments"]:
            return Reply.text("not found", 404)
        if parts == ["data", "projects"]:
            return self._projects()
        if parts[1] == "experiments" and len(parts) == 3:
            return self._experiment_record(parts[2], request)
        if parts[1] == "experiments" and len(parts) == 5 and parts[3] == "scans":
            return self._scan(parts[2], parts[4], request)
        if parts[1] == "experiments" and len(parts) == 8 and parts[5::2] == ["resources", "files"]:
            return self._files(parts[2], parts[4], parts[6], request)
        project = self.data.projects.get(parts[2]) if len(parts) > 2 else None
        if project is None:
            return Reply.text("The project does not exist or you cannot see it.", 404)
        tail = parts[3:]
        if not tail:
            return self._project_record(project)
        if tail == ["subjects"]:
            return self._subjects(project.id, request)
        if tail == ["experiments"]:
            return self._experiments(project.id, request)
        return Reply.text("not found", 404)

    def _projects(self) -> Reply:
        rows = [
            {
                "ID": p.id,
                "secondary_ID": p.id,
                "name": p.name,
                "description": p.description,
                "pi_firstname": p.pi_firstname,
                "pi_lastname": p.pi_lastname,
                "URI": f"/data/projects/{p.id}",
            }
            for p in self.data.projects.values()
        ]
        return result_set(rows)

    def _project_record(self, p: Project) -> Reply:
        fields = {
            "ID": p.id,
            "name": p.name,
            "description": p.description,
            "keywords": p.keywords,
            "PI/firstname": p.pi_firstname,
            "PI/lastname": p.pi_lastname,
        }
        return Reply.json(
            {
                "items": [
                    {
                        "meta": {"xsi:type": "xnat:projectData", "isHistory": False},
                        "data_fields": fields,
                        "children": [],
                    }
                ]
            }
        )

    def _subjects(self, project: str, request: Request) -> Reply:
        asked = _columns(request)
        rows = []
        for s in self.data.subjects.values():
            if s.project != project:
                continue
            values = {
                "ID": s.id,
                "label": s.label,
                "project": s.project,
                "gender": s.gender,
                "yob": s.yob,
                "insert_date": s.insert_date,
                "insert_user": "admin",
                "last_modified": s.last_modified,
                "URI": f"/data/subjects/{s.id}",
            }
            default = ["ID", "URI", "insert_date", "insert_user", "project", "label"]
            rows.append({k: _s(values.get(k)) for k in _keep(default, asked)})
        return result_set(rows)

    def _experiments(self, project: str, request: Request) -> Reply:
        asked = _columns(request)
        if any("scandata/file/" in c.lower() for c in asked):
            if self.file_columns == "rejected":
                return Reply.text("Invalid search field: file/label", 400, "text/html")
            if self.file_columns == "failing":  # a search engine that chokes on them
                return Reply.text("<html>Internal Server Error</html>", 500, "text/html")
            if self.file_columns == "ignored":
                asked = [c for c in asked if "scandata/file/" not in c.lower()]
        xsi = request.arg("xsiType")
        ids = set((request.arg("ID") or "").split(",")) - {""}
        rows: list[dict[str, str]] = []
        for e in self.data.sessions.values():
            if e.project != project or (xsi and e.xsi != xsi) or (ids and e.id not in ids):
                continue
            rows.extend(self._experiment_rows(e, asked))
        return result_set(rows, "Matching experiments")

    def _experiment_rows(self, e: Session, asked: list[str]) -> list[dict[str, str]]:
        subject = self.data.subjects.get(e.subject_id)
        base = {
            "ID": e.id,
            "label": e.label,
            "project": e.project,
            "date": e.date,
            "xsiType": e.xsi,
            "insert_date": e.insert_date,
            "last_modified": e.last_modified,
            "subject_ID": e.subject_id,
            "subject_label": subject.label if subject else "",
            "URI": f"/data/experiments/{e.id}",
        }
        for name, value in e.fields.items():
            base[f"{e.xsi}/{name}".lower()] = value
            base[f"xnat:imagesessiondata/{name}".lower()] = value
        default = ["ID", "URI", "date", "insert_date", "label", "project", "subject_label"]
        keys = _keep(default, asked)
        scan_cols = [c for c in keys if "scandata/" in c]
        if not scan_cols:
            return [{k: _s(base.get(k)) for k in keys}]
        scan_xsis = {c.split("/", 1)[0] for c in scan_cols}
        matching = [
            s for s in e.scans if s.xsi.lower() in scan_xsis or "xnat:imagescandata" in scan_xsis
        ]
        joined = any("scandata/file/" in c for c in keys)
        rows = []
        for scan in matching or [None]:
            values = dict(base)
            if scan is not None:
                values.update(_scan_values(scan))
            resources = (scan.resources if scan is not None and joined else []) or [None]
            for resource in resources:  # the left join with the scan's resources
                if resource is not None:
                    values.update(_resource_values(scan, resource))  # type: ignore[arg-type]
                rows.append({k: _s(_scan_lookup(values, k)) for k in keys})
        return rows

    def _experiment_record(self, eid: str, request: Request) -> Reply:
        e = self.data.sessions.get(eid)
        if e is None:
            return Reply.text("not found", 404)
        scans = [
            {
                "meta": {"xsi:type": s.xsi, "isHistory": False},
                "data_fields": {
                    "ID": s.id,
                    "type": s.type,
                    "series_description": s.series_description,
                    "quality": s.quality,
                    "frames": s.frames,
                    **{f"parameters/{k}": v for k, v in s.params.items()},
                },
                "children": [
                    {
                        "field": "file",
                        "items": [
                            {
                                "meta": {"xsi:type": "xnat:resourceCatalog"},
                                "data_fields": {
                                    "label": r.label,
                                    "format": r.format,
                                    "file_count": r.file_count,
                                    "file_size": r.file_size,
                                    "content": "RAW",
                                },
                            }
                            for r in s.resources
                        ],
                    }
                ],
            }
            for s in e.scans
        ]
        fields = {"ID": e.id, "label": e.label, "project": e.project, "date": e.date, **e.fields}
        return Reply.json(
            {
                "items": [
                    {
                        "meta": {"xsi:type": e.xsi, "isHistory": False},
                        "data_fields": fields,
                        "children": [{"field": "scans/scan", "items": scans}],
                    }
                ]
            }
        )

    def _scan(self, eid: str, scan_id: str, request: Request) -> Reply:
        if request.arg("format") != "json":  # XNAT's default format for a scan is HTML
            return Reply.text("<html><body>scan page</body></html>", kind="text/html")
        e = self.data.sessions.get(eid)
        scan = next((s for s in e.scans if s.id == scan_id), None) if e else None
        if scan is None:
            return Reply.text("not found", 404)
        return Reply.json(
            {
                "items": [
                    {
                        "meta": {"xsi:type": scan.xsi},
                        "data_fields": {"ID": scan.id, "type": scan.type},
                        "children": [],
                    }
                ]
            }
        )

    def _files(self, eid: str, scan_id: str, label: str, request: Request) -> Reply:
        """A scan resource's files: a `ResultSet` listing (format=json), or one zip of
        them (format=zip) laid out as XNAT writes it,
        `{session label}/scans/{scan id}-{type}/resources/{label}/files/{name}`."""
        e = self.data.sessions.get(eid)
        scan = next((s for s in e.scans if s.id == scan_id), None) if e else None
        resource = next((r for r in scan.resources if r.label == label), None) if scan else None
        if e is None or scan is None or resource is None:
            return Reply.text("not found", 404)
        if request.arg("format") == "zip":
            if self.zip_override is not None:
                return Reply(200, self.zip_override, content_type="application/zip")
            buffer = io.BytesIO()
            folder = f"{e.label}/scans/{scan.id}-{scan.type}/resources/{label}/files"
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
                for name, content in sorted(resource.files.items()):
                    zipped.writestr(f"{folder}/{name}", content)
            return Reply(200, buffer.getvalue(), content_type="application/zip")
        uri = f"/data/experiments/{eid}/scans/{scan_id}/resources/{label}/files"
        rows = [
            {"Name": name, "Size": str(len(content)), "URI": f"{uri}/{name}",
             "collection": label, "cat_ID": "55", "digest": "", "file_content": "",
             "file_format": "", "file_tags": ""}
            for name, content in sorted(resource.files.items())
        ]  # fmt: skip
        return result_set(rows)


def _columns(request: Request) -> list[str]:
    text = request.arg("columns") or ""
    return [c.strip() for c in text.split(",") if c.strip()]


def _keep(default: list[str], asked: list[str]) -> list[str]:
    """XNAT keeps ID and URI, adds the asked columns; path-style keys come back lower-cased."""
    if not asked:
        return default
    keys = ["ID", "URI"]
    for column in asked:
        key = column.lower() if "/" in column else column
        if key not in keys:
            keys.append(key)
    return keys


def _scan_values(scan: Scan) -> dict[str, Any]:
    prefix = scan.xsi.lower()
    values: dict[str, Any] = {
        f"{prefix}/id": scan.id,
        f"{prefix}/type": scan.type,
        f"{prefix}/series_description": scan.series_description,
        f"{prefix}/quality": scan.quality,
        f"{prefix}/frames": scan.frames,
    }
    for name, value in scan.params.items():
        key = "fieldstrength" if name == "fieldStrength" else f"parameters/{name}".lower()
        values[f"{prefix}/{key}"] = value
    return values


def _resource_values(scan: Scan, resource: Resource) -> dict[str, Any]:
    prefix = scan.xsi.lower() + "/file/"
    return {
        prefix + "label": resource.label,
        prefix + "format": resource.format,
        prefix + "file_count": resource.file_count,
        prefix + "file_size": resource.file_size,
    }


def _scan_lookup(values: dict[str, Any], key: str) -> Any:
    if key in values:
        return values[key]
    if key.startswith("xnat:imagescandata/"):  # the generic parent matches any scan type
        tail = key.split("/", 1)[1]
        for name, value in values.items():
            if name.endswith("scandata/" + tail):
                return value
    return None

"""A loopback Shanoir-NG (Keycloak + studies / datasets / preclinical microservices).

Follows the shapes and quirks read from the Shanoir-NG source (specs.md §2):

- Keycloak password grant at `/auth/realms/shanoir-ng/protocol/openid-connect/token`
  for the public client `shanoir-uploader`; access tokens live 900 s (on this server's
  clock, which tests can move), refresh tokens renew them; an expired token is a 401.
- An empty list is HTTP 204 with no body, and so is a page past the end; pages carry
  `content, number, numberOfElements, totalElements, totalPages, size` (no last/first).
- `birthDate` is `[y, m, d]`, other dates `"yyyy-MM-dd"`; a dataset's `type` is the
  polymorphic tag (`Mr`, `Pet`, `Ct`); MR datasets hold TR/TE/TI/flip as lists, the
  acquisition's protocol holds `magneticFieldStrength`.
- Traps: `GET /datasets/examinations` leaves out preclinical examinations (see
  `/examinations/preclinical/true`); `/subjects/{studyId}/allSubjects` without
  `preclinical=` returns clinical subjects only.
- Datasets: the paged `GET /datasets/datasets` maps MR datasets to `MrDatasetDTO` (TR/TE/
  TI/flip lists, `originMrMetadata`), while the lists `/datasets/acquisition/{id}` and the
  acquisitions' `datasets` map every dataset to the plain `DatasetDTO` (no MR fields), as
  Shanoir's `DatasetDecorator` does; `POST /datasets/datasetacquisition/byDatasetIds`
  (a JSON list of dataset ids) answers the acquisitions holding them, each with its
  protocol, its examination and all its datasets (204 when none). An acquisition's name
  is derived from its datasets (their shared name, else their shared comment, else all
  names, else `id=N rank=R`); no DTO carries an update date.
"""

from __future__ import annotations

import io
import itertools
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loopback import App, Reply, Request

REALM = "/auth/realms/shanoir-ng/protocol/openid-connect/token"
MR_FIELDS = ("echoTime", "flipAngle", "inversionTime", "repetitionTime", "originMrMetadata")
API = "/shanoir-ng"


@dataclass
class Acq:
    id: int
    type: str  # Mr, Pet, Ct
    name: str
    field_t: float | None
    datasets: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Exam:
    id: int
    study_id: int
    subject_id: int
    date: str | list[int]
    preclinical: bool
    comment: str
    acquisitions: list[Acq] = field(default_factory=list)


@dataclass
class ShanoirData:
    studies: dict[int, dict[str, Any]] = field(default_factory=dict)
    subjects: dict[int, dict[str, Any]] = field(default_factory=dict)  # SubjectDTO + studyId
    animals: dict[int, dict[str, Any]] = field(default_factory=dict)  # AnimalSubjectDto
    exams: dict[int, Exam] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1000))

    def acquisitions(self) -> int:
        return sum(len(e.acquisitions) for e in self.exams.values())


def _ref(reftype: str, value: str) -> dict[str, Any]:
    return {"_links": [], "category": "subject", "reftype": reftype, "value": value}


def mr_dataset(
    ds_id: int, name: str, tr: list[float], te: list[float], **extra: Any
) -> dict[str, Any]:
    return {
        "id": ds_id,
        "name": name,
        "type": "Mr",
        "creationDate": "2023-05-04",
        "repetitionTime": [{"repetitionTimeValue": v} for v in tr],
        "echoTime": [{"echoTimeValue": v} for v in te],
        "flipAngle": [{"flipAngleValue": v} for v in extra.get("flip", [])],
        "inversionTime": [{"inversionTimeValue": v} for v in extra.get("ti", [])],
        "originMrMetadata": {"mrSequenceName": extra.get("sequence", "")},
    }


def realistic() -> ShanoirData:
    """A clinical epilepsy study (3T MR, PET) and a preclinical stroke study (rat, mouse)."""
    d = ShanoirData()
    d.studies[1] = {
        "id": 1,
        "name": "EPI-3T",
        "description": "Focal epilepsy cohort",
        "clinical": True,
        "studyType": "CLINICAL",
        "startDate": "2022-01-01",
        "studyStatus": "IN_PROGRESS",
        "license": "CC-BY-4.0",
    }
    d.studies[2] = {
        "id": 2,
        "name": "STROKE-RODENT",
        "description": "MCAO stroke model",
        "clinical": False,
        "studyType": "PRECLINICAL",
        "startDate": "2023-03-01",
        "studyStatus": "FINISHED",
    }
    d.subjects[11] = {
        "id": 11,
        "name": "DUPONT^JEAN",
        "identifier": "a1b2c3",
        "birthDate": [1970, 5, 2],
        "sex": "M",
        "imagedObjectCategory": "LIVING_HUMAN_BEING",
        "preclinical": False,
        "studyId": 1,
    }
    d.subjects[12] = {
        "id": 12,
        "name": "EPI-002",
        "identifier": "d4e5f6",
        "birthDate": [1988, 11, 30],
        "sex": "F",
        "imagedObjectCategory": "LIVING_HUMAN_BEING",
        "preclinical": False,
        "studyId": 1,
    }
    d.subjects[21] = {
        "id": 21,
        "name": "RAT-01",
        "identifier": "r01",
        "birthDate": [2023, 1, 5],
        "sex": "M",
        "imagedObjectCategory": "LIVING_ANIMAL",
        "preclinical": True,
        "studyId": 2,
    }
    d.subjects[22] = {
        "id": 22,
        "name": "MOUSE-01",
        "identifier": "m01",
        "birthDate": None,
        "sex": "F",
        "imagedObjectCategory": "LIVING_ANIMAL",
        "preclinical": True,
        "studyId": 2,
    }
    d.animals[21] = {
        "id": 5,
        "specie": _ref("specie", "Rat"),
        "strain": _ref("strain", "Wistar"),
        "biotype": _ref("biotype", "Wild"),
        "provider": _ref("provider", "Janvier"),
        "stabulation": _ref("stabulation", "Grenoble"),
        "subjectPathologies": [{"pathology": {"name": "Stroke"}}],
        "subjectTherapies": [],
        "subject": {"id": 21, "name": "RAT-01"},
    }
    d.animals[22] = {
        "id": 6,
        "specie": _ref("specie", "Mouse"),
        "strain": _ref("strain", "C57BL/6"),
        "biotype": _ref("biotype", "Transgenic"),
        "provider": _ref("provider", "Charles River"),
        "stabulation": _ref("stabulation", "Paris"),
        "subjectPathologies": [],
        "subjectTherapies": [],
        "subject": {"id": 22, "name": "MOUSE-01"},
    }
    d.exams[101] = Exam(
        101,
        1,
        11,
        "2023-05-04",
        False,
        "DUPONT^JEAN baseline",
        [
            Acq(
                1001,
                "Mr",
                "T1 MPRAGE",
                3.0,
                [
                    mr_dataset(
                        5001,
                        "T1 MPRAGE",
                        [2300.0],
                        [2.98],
                        flip=[9.0],
                        ti=[900.0],
                        sequence="tfl3d1",
                    )
                ],
            ),
            Acq(
                1002,
                "Mr",
                "rs-fMRI",
                3.0,
                [mr_dataset(5002, "rs-fMRI", [2000.0], [30.0], flip=[90.0], sequence="epfid2d1")],
            ),
        ],
    )
    d.exams[102] = Exam(
        102,
        1,
        12,
        "2023-06-10",
        False,
        "",
        [
            Acq(
                1003,
                "Pet",
                "FDG brain",
                None,
                [{"id": 5003, "name": "FDG brain", "type": "Pet", "creationDate": "2023-06-10"}],
            ),
            Acq(
                1004,
                "Mr",
                "FLAIR 3D",
                3.0,
                [mr_dataset(5004, "FLAIR 3D", [5000.0], [393.0, 400.0], ti=[1800.0])],
            ),
        ],
    )
    d.exams[201] = Exam(
        201,
        2,
        21,
        "2023-04-01",
        True,
        "D1 post-MCAO",
        [
            Acq(
                2001,
                "Mr",
                "T2 TurboRARE",
                9.4,
                [mr_dataset(6001, "T2 TurboRARE", [2500.0], [33.0], sequence="RARE")],
            ),
        ],
    )
    # the legacy date serializer writes [y, m, d]
    d.exams[202] = Exam(
        202,
        2,
        22,
        [2023, 4, 2],
        True,
        "",
        [
            Acq(2002, "Mr", "DTI EPI", 7.0, [mr_dataset(6002, "DTI EPI", [4000.0], [22.0, 22.0])]),
        ],
    )
    return d


def bulk_study(acquisitions: int, per_exam: int = 10) -> ShanoirData:
    d = ShanoirData()
    d.studies[1] = {"id": 1, "name": "BULK", "clinical": True, "studyType": "CLINICAL"}
    ids = itertools.count(1)
    for n in range(max(1, acquisitions // per_exam)):
        sid = 10_000 + n // 2
        d.subjects.setdefault(
            sid,
            {
                "id": sid,
                "name": f"S{sid}",
                "identifier": str(sid),
                "birthDate": [1980, 1, 1],
                "sex": "F",
                "preclinical": False,
                "studyId": 1,
            },
        )
        acqs = []
        for i in range(per_exam):
            a = next(ids)
            acqs.append(Acq(a, "Mr", f"T1 {i}", 3.0, [mr_dataset(a, f"T1 {i}", [2300.0], [3.0])]))
        d.exams[n + 1] = Exam(n + 1, 1, sid, "2024-01-01", False, "", acqs)
    return d


class FakeShanoir(App):
    def __init__(self, data: ShanoirData, users: dict[str, str] | None = None) -> None:
        super().__init__()
        self.data = data
        self.users = users if users is not None else {"alice": "pw"}
        self.client_id = "shanoir-uploader"
        self.tokens: dict[str, float] = {}  # access token -> issued at (server clock)
        self.refresh: dict[str, str] = {}  # refresh token -> user
        self.clock_offset = 0.0
        self.grants: list[str] = []
        self.files: dict[int, dict[str, bytes]] = {}  # dataset id -> its DICOM files

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    # ----- Keycloak ------------------------------------------------------------------------
    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("client_id") != self.client_id:
            return Reply.json(
                {"error": "invalid_client", "error_description": "Invalid client"}, 401
            )
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        if grant == "password":
            ok = self.users.get(form.get("username", "")) == form.get("password")
        elif grant == "refresh_token":
            ok = form.get("refresh_token", "") in self.refresh
        else:
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        if not ok:
            return Reply.json(
                {"error": "invalid_grant", "error_description": "Invalid user credentials"}, 401
            )
        access, refresh = uuid.uuid4().hex, uuid.uuid4().hex
        self.tokens[access] = self.now()
        self.refresh[refresh] = form.get("username", "")
        return Reply.json(
            {
                "access_token": access,
                "expires_in": 900,
                "refresh_expires_in": 1800,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "scope": "profile email",
            }
        )

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        issued = self.tokens.get(header.removeprefix("Bearer "))
        return issued is not None and self.now() - issued < 900

    # ----- API -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if request.path == REALM and request.method == "POST":
            return self._token(request)
        if not request.path.startswith(API + "/"):
            return Reply.text("not found", 404)
        if not self._authorised(request):
            return Reply.json({"error": "unauthorized"}, 401)
        parts = request.path[len(API) + 1 :].split("/")
        return self._route(parts, request)

    def _route(self, parts: list[str], request: Request) -> Reply:
        if parts[:2] == ["datasets", "datasets"]:
            return self._datasets(parts[2:], request)
        d = self.data
        match parts:
            case ["studies", "studies"]:
                return _list(list(d.studies.values()))
            case ["studies", "subjects", sid, "allSubjects"]:
                pre = request.arg("preclinical") == "true"  # absent: clinical only (the trap)
                return _list(
                    [
                        self._simple(s)
                        for s in d.subjects.values()
                        if s["studyId"] == int(sid) and bool(s["preclinical"]) == pre
                    ]
                )
            case ["datasets", "examinations"]:
                return _page(
                    [self._exam(e) for e in d.exams.values() if not e.preclinical], request
                )
            case ["datasets", "examinations", "preclinical", flag]:
                wanted = flag == "true"
                return _page(
                    [self._exam(e) for e in d.exams.values() if e.preclinical == wanted], request
                )
            case ["datasets", "datasetacquisition", "examination", eid]:
                exam = d.exams.get(int(eid))
                acqs = exam.acquisitions if exam else []
                return _list(
                    [
                        {
                            "id": a.id,
                            "name": acquisition_name(a),
                            "type": a.type,
                            "examinationId": int(eid),
                            "studyId": exam.study_id if exam else None,
                        }
                        for a in acqs
                    ]
                )
            case ["datasets", "datasetacquisition", "byDatasetIds"] if request.method == "POST":
                return self._by_dataset_ids(request.json() or [])
            case ["datasets", "datasetacquisition", aid]:
                found = self._acq(int(aid))
                return Reply.json(found) if found else Reply.text("", 404)
            case ["preclinical", "subject", sid]:
                animal = d.animals.get(int(sid))
                return Reply.json(animal) if animal else Reply.text("", 404)
        return Reply.text("not found", 404)

    def _datasets(self, tail: list[str], request: Request) -> Reply:
        """`/datasets/datasets` (paged, MrDatasetDTO) and `/datasets/acquisition/{id}`."""
        exams = self.data.exams.values()
        if not tail:  # a page in id order; only the page's rows are rendered
            found = sorted(
                ((ds["id"], e, a, ds) for e in exams for a in e.acquisitions for ds in a.datasets),
                key=lambda t: t[0],
            )
            return _page(found, request, lambda t: self._dataset(t[1], t[2], t[3], mr=True))
        if len(tail) == 2 and tail[0] == "download":
            return self._download(int(tail[1]), request)
        if len(tail) == 2 and tail[0] == "acquisition":
            return _list(
                [
                    self._dataset(e, a, ds, mr=False)
                    for e in exams
                    for a in e.acquisitions
                    if a.id == int(tail[1])
                    for ds in a.datasets
                ]
            )
        return Reply.text("not found", 404)

    def _download(self, dataset_id: int, request: Request) -> Reply:
        """`GET /datasets/datasets/download/{id}?format=dcm` (dcm is the default): a zip
        of the dataset's files, its name in Content-Disposition."""
        if (request.arg("format") or "dcm") != "dcm":
            return Reply.text("only dcm is served here", 400)
        files = self.files.get(dataset_id)
        if files is None:
            return Reply.text("", 404)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, content in sorted(files.items()):
                zipped.writestr(f"dataset_{dataset_id}/{name}", content)
        reply = Reply(200, buffer.getvalue(), content_type="application/zip")
        reply.headers["Content-Disposition"] = f'attachment;filename="dataset_{dataset_id}.zip"'
        return reply

    @staticmethod
    def _simple(s: dict[str, Any]) -> dict[str, Any]:
        return {
            k: s.get(k)
            for k in (
                "id",
                "name",
                "identifier",
                "birthDate",
                "sex",
                "imagedObjectCategory",
                "preclinical",
            )
        }

    def _exam(self, e: Exam) -> dict[str, Any]:
        subject = self.data.subjects.get(e.subject_id, {})
        return {
            "id": e.id,
            "centerId": 1,
            "comment": e.comment,
            "examinationDate": e.date,
            "note": None,
            "studyId": e.study_id,
            "preclinical": e.preclinical,
            "subject": {"id": e.subject_id, "name": subject.get("name")},
            "subjectWeight": None,
            "studyInstanceUID": f"1.2.250.1.{e.id}",
        }

    def _acq(self, aid: int) -> dict[str, Any] | None:
        for e in self.data.exams.values():
            for a in e.acquisitions:
                if a.id == aid:
                    return self._acquisition_dto(e, a)
        return None

    def _acquisition_dto(self, e: Exam, a: Acq) -> dict[str, Any]:
        """`DatasetAcquisitionDTO`: the protocol by type, the whole `ExaminationDTO`."""
        protocol = (
            {"magneticFieldStrength": a.field_t, "sliceThickness": 1.0} if a.type == "Mr" else {}
        )
        return {
            "id": a.id,
            "acquisitionEquipmentId": 1,
            "examination": self._exam(e),
            "rank": 1,
            "sortingIndex": 1,
            "type": a.type,
            "protocol": protocol,
            "importDate": "2023-05-05",
            "username": "importer",
            "softwareRelease": "VE11C",
        }

    def _by_dataset_ids(self, ids: list[int]) -> Reply:
        wanted = {int(i) for i in ids}
        found = [
            {
                **self._acquisition_dto(e, a),
                "datasets": [self._dataset(e, a, ds, mr=False) for ds in a.datasets],
            }
            for e in self.data.exams.values()
            for a in e.acquisitions
            if wanted & {int(ds["id"]) for ds in a.datasets}
        ]
        found.sort(key=lambda acq: acq["examination"]["studyId"])  # as Shanoir sorts them
        return _list(found)

    def _dataset(self, e: Exam, a: Acq, ds: dict[str, Any], mr: bool) -> dict[str, Any]:
        """`DatasetDTO` (or `MrDatasetDTO` with `mr`) of one dataset."""
        row = {
            "id": ds["id"],
            "name": ds.get("name"),
            "type": ds.get("type", a.type),
            "creationDate": ds.get("creationDate"),
            "studyId": e.study_id,
            "subjectId": e.subject_id,
            "centerId": 1,
            "groupOfSubjectsId": None,
            "originMetadata": {"name": ds.get("name"), "comment": ds.get("comment")},
            "updatedMetadata": None,
            "inPacs": True,
            "tags": [],
            "source": None,
            "copies": [],
        }
        if mr and row["type"] == "Mr":
            row.update({k: v for k, v in ds.items() if k in MR_FIELDS})
        return row


def acquisition_name(a: Acq) -> str:
    """Shanoir's name for an acquisition, derived from its datasets."""
    names: list[str] = []
    comments: list[str] = []
    for ds in a.datasets:
        if ds.get("type") == "Measurement":
            continue
        if ds.get("name") and ds["name"] not in names:
            names.append(ds["name"])
        if ds.get("comment") and ds["comment"] not in comments:
            comments.append(ds["comment"])
    if len(names) == 1:
        return names[0]
    if len(comments) == 1:
        return comments[0]
    return " ".join(names) if names else f"id={a.id} rank=1"


def _list(items: list[Any]) -> Reply:
    """Shanoir answers an empty list with 204 and no body."""
    return Reply(204) if not items else Reply.json(items)


def _page(
    items: list[Any], request: Request, render: Callable[[Any], Any] = lambda item: item
) -> Reply:
    page = int(request.arg("page", "0") or 0)
    size = min(int(request.arg("size", "20") or 20), 2000)  # Spring's max-page-size
    chunk = items[page * size : (page + 1) * size]
    if not chunk:
        return Reply(204)  # an empty page, or a page past the end
    total_pages = -(-len(items) // size)
    return Reply.json(
        {
            "content": [render(item) for item in chunk],
            "number": page,
            "numberOfElements": len(chunk),
            "totalElements": len(items),
            "totalPages": total_pages,
            "size": size,
        }
    )

"""The Shanoir-NG harvester through HTTP against the loopback Shanoir-NG: Keycloak
tokens (expiry, refresh, retry once), 204 lists and pages, the preclinical traps, the
TR/TE lists and the protocol's field strength, incremental runs and search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from loopback import Loopback, Reply, Request
from shanoir_fake import Acq, Exam, FakeShanoir, bulk_study, mr_dataset, realistic

from catalog.domain.errors import SourceUnusableError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.results import HarvestReport
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest

ALICE = {"user": "alice", "password": "pw"}
RAT = "http://purl.obolibrary.org/obo/NCBITaxon_10116"


@pytest.fixture
def shanoir() -> Iterator[Loopback]:
    with Loopback(FakeShanoir(realistic())) as server:
        yield server


def harvest(catalog: Catalog, server: Loopback, **options: Any) -> HarvestReport:
    opts = catalog.harvest.parse_options("shanoir", {**ALICE, "backoff_s": 0.01, **options})
    return catalog.harvest.run(SYSTEM, "shanoir", server.url, opts)


def records(catalog: Catalog) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with catalog.uow() as uow:
        for batch in uow.records.iter_all():
            for r in batch:
                key = (r.origin or "").split("#", 1)[-1]
                found[key] = {"id": r.id, "title": r.title, "status": r.status, "body": r.body}
    return found


def test_full_harvest_includes_preclinical_and_maps_lists(
    catalog: Catalog, shanoir: Loopback
) -> None:
    report = harvest(catalog, shanoir)
    # 2 studies, 4 subjects (2 preclinical), 4 examinations (2 preclinical), 6 acquisitions
    assert (report.created, report.failed) == (16, 0), report.errors
    found = records(catalog)
    assert {"subject:21", "subject:22", "exam:201", "exam:202"} <= set(found)  # the traps
    t1 = found["acquisition:1001"]["body"]["imaging"]
    assert (t1["tr_ms"], t1["te_ms"], t1["ti_ms"], t1["flip_angle_deg"]) == (
        2300.0,
        2.98,
        900.0,
        9.0,
    )
    assert t1["field_strength_t"] == 3.0 and t1["sequence"] == "tfl3d1"
    assert t1["modality"] == "MR" and t1["acquisition_date"] == "2023-05-04"
    flair = found["acquisition:1004"]["body"]["imaging"]
    assert flair["te_ms"] == 393.0  # the first of the list
    assert found["acquisition:1003"]["body"]["imaging"]["modality"] == "PT"
    assert found["exam:202"]["body"]["imaging"]["acquisition_date"] == "2023-04-02"  # [y, m, d]
    rat = found["subject:21"]["body"]
    assert rat["subject"]["species"] == {"iri": RAT, "label": "Rattus norvegicus"}
    assert rat["subject"]["strain"] == "Wistar" and rat["keywords"] == ["Wild", "Stroke"]
    assert "Wistar" in {t["label"] for t in rat["terms"]}  # the strain as an ontology term
    mouse = found["subject:22"]["body"]["subject"]
    assert mouse["species"]["label"] == "Mus musculus" and mouse["strain"] == "C57BL/6"
    human = found["subject:11"]["body"]["subject"]
    assert human["species"]["label"] == "Homo sapiens" and human["sex"] == "male"
    assert found["acquisition:2001"]["body"]["files"][0]["path"] == "datasets/6001"
    text = str(found)
    assert "DUPONT" not in text and "JEAN" not in text and "1970" not in text


def test_expired_token_is_refreshed_and_the_request_retried_once(
    catalog: Catalog, shanoir: Loopback
) -> None:
    app: FakeShanoir = shanoir.app  # type: ignore[assignment]
    original = app.handle
    moved: list[bool] = []

    def expire_midway(request):  # type: ignore[no-untyped-def]
        if request.path.endswith("/byDatasetIds") and not moved:  # a POST, mid-harvest
            moved.append(True)
            app.clock_offset += 1000  # every token issued so far is now expired
        return original(request)

    app.handle = expire_midway  # type: ignore[method-assign]
    report = harvest(catalog, shanoir, concurrency=1)
    assert (report.created, report.failed) == (16, 0), report.errors
    assert app.grants == ["password", "refresh_token"]


def test_client_id_is_configurable_and_checked(catalog: Catalog, shanoir: Loopback) -> None:
    with pytest.raises(SourceUnusableError) as caught:
        harvest(catalog, shanoir, client_id="someone-else")
    assert "Keycloak refused the password grant for client 'someone-else'" in caught.value.message
    assert caught.value.code == "credentials_rejected"
    shanoir.app.client_id = "imagora-harvester"  # type: ignore[attr-defined]
    assert harvest(catalog, shanoir, client_id="imagora-harvester").created == 16


def test_wrong_password_leaves_the_catalogue_alone(catalog: Catalog, shanoir: Loopback) -> None:
    with pytest.raises(SourceUnusableError) as caught:
        harvest(catalog, shanoir, password="not-it")
    assert "check the user, password and client id" in caught.value.message
    assert "not-it" not in caught.value.message and records(catalog) == {}


def test_incremental_and_deletion(catalog: Catalog, shanoir: Loopback) -> None:
    harvest(catalog, shanoir)
    ids = {k: v["id"] for k, v in records(catalog).items()}
    again = harvest(catalog, shanoir)
    assert (again.created, again.updated, again.files_read, again.unchanged) == (0, 0, 0, 16)
    data = shanoir.app.data  # type: ignore[attr-defined]
    data.exams[103] = Exam(
        103, 1, 12, "2024-02-02", False, "",
        [Acq(1005, "Mr", "T2 TSE", 1.5, [mr_dataset(5005, "T2w", [4000.0], [90.0])])],
    )  # fmt: skip
    data.exams[101].comment = "renamed"  # a comment is personal: not a change we keep
    data.exams[101].date = "2023-05-05"
    del data.exams[202], data.subjects[22], data.animals[22]
    report = harvest(catalog, shanoir)
    # new exam + its acquisition; exam 101's date (and its 2 acquisitions' dates) changed;
    # the mouse, its exam and its acquisition withdrawn
    assert (report.created, report.updated, report.withdrawn) == (2, 3, 3), report
    now = records(catalog)
    assert now["exam:101"]["body"]["imaging"]["acquisition_date"] == "2023-05-05"
    assert now["subject:22"]["status"] == "withdrawn"
    assert all(now[k]["id"] == v for k, v in ids.items())


def test_study_scope_and_paging_past_the_end(catalog: Catalog, shanoir: Loopback) -> None:
    report = harvest(catalog, shanoir, study="2")
    assert report.source == f"shanoir:{shanoir.url}/studies/2"
    assert (report.created, report.failed) == (1 + 2 + 2 + 2, 0)
    with pytest.raises(SourceUnusableError, match="no study 9 is visible"):
        harvest(catalog, shanoir, study="9")


def test_server_errors_are_retried(catalog: Catalog, shanoir: Loopback) -> None:
    app: FakeShanoir = shanoir.app  # type: ignore[assignment]
    app.inject(None, r"/shanoir-ng/datasets/examinations(/.*)?", "status", status=503)
    app.inject(
        None,
        r"/shanoir-ng/datasets/datasetacquisition/byDatasetIds",
        "status",
        status=429,
        headers={"Retry-After": "0"},
    )
    app.inject(None, r"/shanoir-ng/studies/subjects(/.*)?", "drop")
    report = harvest(catalog, shanoir)
    assert (report.created, report.failed) == (16, 0), report.errors


def test_search_by_species_field_strength_and_sequence(catalog: Catalog, shanoir: Loopback) -> None:
    harvest(catalog, shanoir)
    rats = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"species": [RAT]}, level="acquisition")
    )
    assert [h.title for h in rats.hits] == ["T2 TurboRARE"]
    strong = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"field_strength": ["9.4"]}, level="acquisition")
    )
    assert [h.title for h in strong.hits] == ["T2 TurboRARE"]
    epi = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"sequence": ["epfid2d1"]}, level="acquisition")
    )
    assert [h.title for h in epi.hits] == ["rs-fMRI"]


def test_datasets_added_changed_and_deleted_in_existing_examinations(
    catalog: Catalog, shanoir: Loopback
) -> None:
    """The examinations' rows do not change when their datasets do: the datasets are
    items of their own, so an incremental run converges on each kind of change."""
    harvest(catalog, shanoir)
    ids = {k: v["id"] for k, v in records(catalog).items()}
    app: FakeShanoir = shanoir.app  # type: ignore[assignment]
    data = app.data
    # added: a second dataset in acquisition 1001, and a new acquisition in exam 102
    data.exams[101].acquisitions[0].datasets.append(
        mr_dataset(5101, "T1 MPRAGE", [2300.0], [2.98], flip=[9.0], sequence="tfl3d1")
    )
    data.exams[102].acquisitions.append(
        Acq(1006, "Mr", "SWI", 3.0, [mr_dataset(5006, "SWI", [27.0], [20.0])])
    )
    # changed: the bold series' TR; deleted: the FLAIR's only dataset
    data.exams[101].acquisitions[1].datasets[0]["repetitionTime"] = [{"repetitionTimeValue": 800}]
    data.exams[102].acquisitions[1].datasets.clear()
    report = harvest(catalog, shanoir)
    # 1006 created; 1001 (a file more) and 1002 (its TR) updated; 1004 withdrawn (exam
    # 102 keeps an MR and a PET acquisition, so its record is unchanged)
    assert (report.created, report.updated, report.withdrawn) == (1, 2, 1), report
    assert report.failed == 0, report.errors
    now = records(catalog)
    files = [f["path"] for f in now["acquisition:1001"]["body"]["files"]]
    assert files == ["datasets/5001", "datasets/5101"]
    assert now["acquisition:1002"]["body"]["imaging"]["tr_ms"] == 800.0
    assert (
        now["acquisition:1006"]["title"] == "SWI" and now["acquisition:1006"]["status"] == "active"
    )
    assert now["acquisition:1004"]["status"] == "withdrawn"
    assert all(now[k]["id"] == v for k, v in ids.items())
    # only the changed datasets were resolved: one byDatasetIds request for 3 datasets
    posts = app.calls("POST", "/shanoir-ng/datasets/datasetacquisition/byDatasetIds")
    assert len(posts) == 2  # the first run, and this one
    settled = harvest(catalog, shanoir)
    assert (settled.created, settled.updated, settled.withdrawn, settled.files_read) == (0, 0, 0, 0)


def test_acquisition_lists_carry_no_mr_parameters(shanoir: Loopback) -> None:
    """Why the harvester reads TR/TE from the paged listing: the per-acquisition list maps
    datasets to the plain DatasetDTO (as Shanoir's DatasetDecorator does)."""
    import httpx

    app: FakeShanoir = shanoir.app  # type: ignore[assignment]
    token = httpx.post(
        shanoir.url + "/auth/realms/shanoir-ng/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": app.client_id,
            **{"username": "alice", "password": "pw"},
        },
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(shanoir.url + "/shanoir-ng/datasets/datasets/acquisition/1001", headers=auth)
    assert "repetitionTime" not in listed.json()[0]
    paged = httpx.get(shanoir.url + "/shanoir-ng/datasets/datasets?page=0&size=2", headers=auth)
    assert paged.json()["content"][0]["repetitionTime"] == [{"repetitionTimeValue": 2300.0}]
    assert paged.json()["totalPages"] == 3 and "last" not in paged.json()


def test_datasets_are_resolved_in_batches_of_whole_subjects(catalog: Catalog) -> None:
    """450 datasets of 23 subjects (20 each, the last 10): three byDatasetIds requests of
    at most 200 datasets, a subject's datasets never split; pages of 1000 datasets."""
    with Loopback(FakeShanoir(bulk_study(450))) as server:
        report = harvest(catalog, server)
        app: FakeShanoir = server.app  # type: ignore[assignment]
        posts = app.calls("POST", "/shanoir-ng/datasets/datasetacquisition/byDatasetIds")
        pages = app.calls("GET", "/shanoir-ng/datasets/datasets")
    assert (report.created, report.failed) == (1 + 23 + 45 + 450, 0), report.errors
    assert len(posts) == 3 and len(pages) == 1
    assert report.requests < 0.05 * 450


class _PageTwoFails(FakeShanoir):
    """A Shanoir whose dataset listing breaks at its third page (after retries too)."""

    def handle(self, request: Request) -> Reply:
        if request.path.endswith("/datasets/datasets") and request.arg("page") == "2":
            return Reply.json({"error": "Internal Server Error"}, status=500)
        return super().handle(request)


def test_pages_after_the_first_are_fetched_together_and_kept_in_order(
    catalog: Catalog,
) -> None:
    """2,500 datasets are three pages of 1000 (the last two asked for together) and 250
    examinations three pages of 100: every one is harvested, none twice."""
    with Loopback(FakeShanoir(bulk_study(2500))) as server:
        report = harvest(catalog, server)
        app: FakeShanoir = server.app  # type: ignore[assignment]
        pages = app.calls("GET", "/shanoir-ng/datasets/datasets")
    assert (report.created, report.failed) == (1 + 125 + 250 + 2500, 0), report.errors
    assert len(pages) == 3
    found = records(catalog)
    assert len(found) == 1 + 125 + 250 + 2500
    assert sum(1 for key in found if key.startswith("acquisition:")) == 2500


def test_a_page_that_fails_stops_the_run_and_leaves_the_catalogue_alone(
    catalog: Catalog,
) -> None:
    with Loopback(FakeShanoir(bulk_study(450))) as server:
        harvest(catalog, server)
    before = records(catalog)
    failing = Loopback(_PageTwoFails(bulk_study(2500)))
    with failing as server, pytest.raises(SourceUnusableError) as caught:
        harvest(catalog, server, retries=1)
    assert "HTTP 500" in caught.value.message and "/datasets/datasets" in caught.value.message
    assert records(catalog) == before

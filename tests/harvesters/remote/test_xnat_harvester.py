"""The XNAT harvester, only through HTTP against the loopback XNAT, end to end through
HarvestService: mapping, incremental runs, deletions, faults, credentials, search."""

from __future__ import annotations

from typing import Any

import pytest
from loopback import Loopback
from xnat_fake import FakeXnat, Resource, Scan, Session, Subject

from catalog.domain.errors import SourceUnusableError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.results import HarvestReport
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from harvesters.xnat.harvester import XnatOptions

ADMIN = {"user": "admin", "password": "s3cret!"}


def harvest(catalog: Catalog, server: Loopback, **options: Any) -> HarvestReport:
    opts = catalog.harvest.parse_options("xnat", {**ADMIN, "backoff_s": 0.01, **options})
    return catalog.harvest.run(SYSTEM, "xnat", server.url, opts)


def records(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """origin key -> (id, title, status, body) of every harvested record."""
    found: dict[str, dict[str, Any]] = {}
    with catalog.uow() as uow:
        for batch in uow.records.iter_all():
            for r in batch:
                key = (r.origin or "").split("#", 1)[-1]
                found[key] = {"id": r.id, "title": r.title, "status": r.status, "body": r.body}
    return found


def active(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in records(catalog).items() if v["status"] == "active"}


def test_full_harvest_maps_projects_subjects_sessions_scans(
    catalog: Catalog, xnat: Loopback
) -> None:
    report = harvest(catalog, xnat)
    assert (report.created, report.failed, report.withdrawn) == (18, 0, 0), report.errors
    assert report.source == f"xnat:{xnat.url}"
    found = active(catalog)
    t1 = found["scan:XNAT_E00001/2"]["body"]
    assert found["scan:XNAT_E00001/2"]["title"] == "t1_mprage_sag_p2_iso"
    imaging = t1["imaging"]
    assert (imaging["tr_ms"], imaging["te_ms"], imaging["ti_ms"], imaging["flip_angle_deg"]) == (
        2300.0, 2.98, 900.0, 9.0,
    )  # fmt: skip
    assert imaging["field_strength_t"] == 3.0 and imaging["voxel_size_mm"] == [1.0, 1.0, 1.0]
    assert imaging["manufacturer"] == "Siemens" and imaging["station"] == "Prisma"
    assert t1["source"]["raw"]["manufacturer"] == "SIEMENS"  # normalised, raw kept
    assert imaging["num_instances"] == 176 and t1["quality"] == {"xnat_quality": "usable"}
    assert {f["path"]: (f["size"], f["format"]) for f in t1["files"]} == {
        "experiments/XNAT_E00001/scans/2/resources/DICOM": (45123456, "DICOM"),
        "experiments/XNAT_E00001/scans/2/resources/NIFTI": (9000000, "NIFTI"),
    }
    pet = found["session:XNAT_E00003"]["body"]["imaging"]
    assert (pet["modality"], pet["radiopharmaceutical"]) == ("PT", "FDG")
    assert found["scan:XNAT_E00003/1"]["body"]["imaging"]["modality"] == "PT"
    assert found["project:NEURO7T"]["body"]["creators"] == [
        {"name": "Lovelace, Ada", "orcid": None, "affiliation": None}
    ]
    seven = found["scan:XNAT_E00002/1"]["body"]["imaging"]["field_strength_t"]
    assert seven == 7.0


def test_labels_with_names_never_reach_records(catalog: Catalog, xnat: Loopback) -> None:
    harvest(catalog, xnat)
    text = str(records(catalog))
    assert "JOHN_DOE" not in text and "sub02_MR7T" not in text
    subject = active(catalog)["subject:XNAT_S00001"]
    assert (
        subject["title"].startswith("Subject sub-") and subject["body"]["subject"]["sex"] == "male"
    )


def test_one_jsession_reused_and_closed(catalog: Catalog, xnat: Loopback) -> None:
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    report = harvest(catalog, xnat)
    assert len(app.calls("POST", "/data/JSESSION")) == 1
    assert len(app.calls("DELETE", "/data/JSESSION")) == 1 and app.sessions == set()
    # login, projects, 2 x (subjects + experiments), 4 scan listings with the scans'
    # resources (NEURO7T mr + pet, RATPET mr + pet); then the logout, after the report
    assert report.requests == len(app.log) - 1 == 1 + 1 + 4 + 4
    assert app.calls("GET", "/data/experiments/.*") == []  # no per-session request


def test_unchanged_reharvest_fetches_nothing(catalog: Catalog, xnat: Loopback) -> None:
    harvest(catalog, xnat)
    ids = {k: v["id"] for k, v in records(catalog).items()}
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    before = len(app.log)
    again = harvest(catalog, xnat)
    assert (again.created, again.updated, again.unchanged, again.files_read) == (0, 0, 18, 0)
    assert again.files_cached == 2 + 3 + 5
    assert len(app.log) - before == 1 + 1 + 4 + 1  # login, discovery listings, logout
    assert {k: v["id"] for k, v in records(catalog).items()} == ids


def test_incremental_session_added_scan_changed_subject_deleted(
    catalog: Catalog, xnat: Loopback
) -> None:
    harvest(catalog, xnat)
    ids = {k: v["id"] for k, v in records(catalog).items()}
    data = xnat.app.data  # type: ignore[attr-defined]
    # a new session upstream
    data.sessions["XNAT_E00200"] = Session(
        "XNAT_E00200", "sub02_MR2", "NEURO7T", "XNAT_S00002", "xnat:mrSessionData",
        "2024-06-01", "2024-06-01 09:00:00.0", "", {"scanner": "Prisma", "fieldStrength": "3.0"},
        [Scan("1", "xnat:mrScanData", "FLAIR", "t2_flair", params={"tr": 9000, "te": 81},
              resources=[Resource("DICOM", "DICOM", 40, 1000)])],
    )  # fmt: skip
    # a scan's quality changed: XNAT bumps the session's last_modified
    session = data.sessions["XNAT_E00002"]
    session.scans[0].quality = "questionable"
    session.last_modified = "2024-06-02 10:00:00.0"
    # the rat and its sessions were deleted
    del data.subjects["XNAT_S00003"]
    del data.sessions["XNAT_E00004"], data.sessions["XNAT_E00005"]

    report = harvest(catalog, xnat)
    assert (report.created, report.updated, report.withdrawn, report.failed) == (2, 1, 5, 0)
    assert report.files_read == 2  # the new and the changed session, nothing else
    now = records(catalog)
    assert now["scan:XNAT_E00002/1"]["body"]["quality"] == {"xnat_quality": "questionable"}
    assert now["subject:XNAT_S00003"]["status"] == "withdrawn"
    assert now["scan:XNAT_E00004/5"]["status"] == "withdrawn"
    assert all(now[k]["id"] == v for k, v in ids.items())  # ids stay stable
    assert harvest(catalog, xnat).files_read == 0  # and it settles


def test_faults_converge_on_the_true_content(
    catalog: Catalog, xnat: Loopback, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    app.inject(None, r"/data/projects/NEURO7T/experiments(/.*)?", "status", status=500)
    app.inject(
        None,
        r"/data/projects/NEURO7T/experiments(/.*)?",
        "status",
        status=429,
        headers={"Retry-After": "0"},
    )
    app.inject(None, r"/data/projects/RATPET/subjects(/.*)?", "drop")
    app.inject(None, r"/data/projects/RATPET/experiments", "status", times=2, status=502)
    report = harvest(catalog, xnat)
    assert (report.created, report.failed) == (18, 0), report.errors
    assert report.requests == 10 + 5  # every retry counted
    clean = Loopback(FakeXnat(app.data))
    from catalog.settings import Settings

    other = Catalog.open(
        Settings.load(data_dir=tmp_path_factory.mktemp("clean"), secret_key="test-secret")
    )
    with clean:
        try:
            harvest(other, clean)
            expected = _content(other)
        finally:
            other.close()
    assert _content(catalog) == expected


def _content(catalog: Catalog) -> dict[str, Any]:
    """What a record says, less pseudonyms (keyed by the site URL, i.e. the port here)."""
    return {
        k: (v["title"] if not k.startswith("subject:") else "", v["body"]["imaging"])
        for k, v in active(catalog).items()
    }


def test_listing_cut_short_stops_the_run_and_keeps_the_catalogue(
    catalog: Catalog, xnat: Loopback
) -> None:
    harvest(catalog, xnat)
    before = records(catalog)
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    app.inject(None, r"/data/projects/RATPET/experiments(/.*)?", "drop", times=10)
    with pytest.raises(SourceUnusableError) as caught:
        harvest(catalog, xnat, retries=2)
    assert "cannot reach the source after 3 attempts" in caught.value.message
    assert "/data/projects/RATPET/experiments" in caught.value.message
    assert records(catalog) == before  # nothing withdrawn for a partial listing
    assert app.sessions == set()  # the JSESSION was closed anyway


def test_rejected_credentials_are_a_clear_error_without_the_password(
    catalog: Catalog, xnat: Loopback
) -> None:
    with pytest.raises(SourceUnusableError) as caught:
        harvest(catalog, xnat, password="wrong-Pa55")
    assert caught.value.code == "credentials_rejected"
    assert "rejected the credentials (HTTP 401)" in caught.value.message
    assert "wrong-Pa55" not in caught.value.message
    assert records(catalog) == {}


def test_unreachable_source(catalog: Catalog) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    opts = catalog.harvest.parse_options("xnat", {**ADMIN, "retries": 1, "backoff_s": 0.01})
    with pytest.raises(SourceUnusableError) as caught:
        catalog.harvest.run(SYSTEM, "xnat", f"http://127.0.0.1:{port}", opts)
    assert "cannot reach the source after 2 attempts" in caught.value.message
    assert "s3cret" not in caught.value.message and records(catalog) == {}


def test_alias_token_and_project_scope(catalog: Catalog, xnat: Loopback) -> None:
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    alias, secret = app.issue_alias()
    opts = catalog.harvest.parse_options(
        "xnat", {"token": f"{alias}:{secret}", "project": "RATPET", "species": "rat"}
    )
    report = catalog.harvest.run(SYSTEM, "xnat", xnat.url, opts)
    assert report.source == f"xnat:{xnat.url}/data/projects/RATPET"
    assert (report.created, report.failed) == (1 + 1 + 2 + 2, 0)
    assert secret not in str(report.model_dump())
    rat = [v for k, v in active(catalog).items() if k.startswith("subject:")]
    assert rat[0]["body"]["subject"]["species"]["label"] == "Rattus norvegicus"


def test_session_expiring_mid_harvest_is_renewed_once(catalog: Catalog, xnat: Loopback) -> None:
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    original = app.handle

    def expire_once(request):  # type: ignore[no-untyped-def]
        if request.path == "/data/projects/RATPET/subjects" and not getattr(app, "expired", False):
            app.expired = True  # type: ignore[attr-defined]
            app.expire_sessions()
        return original(request)

    app.handle = expire_once  # type: ignore[method-assign]
    report = harvest(catalog, xnat)
    assert (report.created, report.failed) == (18, 0)
    assert len(app.calls("POST", "/data/JSESSION")) == 2


def test_search_finds_harvested_acquisitions(catalog: Catalog, xnat: Loopback) -> None:
    harvest(catalog, xnat)
    harvest(catalog, xnat, project="RATPET", species="rat")
    seven = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"field_strength": ["7"]}, level="acquisition")
    )
    assert sorted(h.title for h in seven.hits) == ["ep2d_diff_mddw_64", "t2_tse_tra"]
    rats = catalog.records.search(
        ANONYMOUS,
        SearchRequest(
            filters={"species": ["http://purl.obolibrary.org/obo/NCBITaxon_10116"]},
            level="acquisition",
        ),
    )
    assert sorted(h.title for h in rats.hits) == ["FDG_dyn_60min", "T2_TurboRARE"]
    bold = catalog.records.search(ANONYMOUS, SearchRequest(text="bold", level="acquisition"))
    assert [h.title for h in bold.hits] == ["ep2d_bold_rest"]


def test_options_hide_secrets() -> None:
    opts = XnatOptions(user="u", password="pw-123", token="a:b")
    assert "pw-123" not in repr(opts) and "pw-123" not in str(opts.model_dump(mode="json"))


def test_subject_added_upstream_between_runs(catalog: Catalog, xnat: Loopback) -> None:
    harvest(catalog, xnat)
    data = xnat.app.data  # type: ignore[attr-defined]
    data.subjects["XNAT_S00150"] = Subject(
        "XNAT_S00150", "sub03", "NEURO7T", "other", "1990", "2024-07-01 00:00:00.0"
    )
    report = harvest(catalog, xnat)
    assert (report.created, report.files_read) == (1, 1)
    assert active(catalog)["subject:XNAT_S00150"]["body"]["subject"]["sex"] == "other"


def test_session_moved_to_a_new_subject(catalog: Catalog, xnat: Loopback) -> None:
    """An existing record re-parented under a record created in the same run."""
    harvest(catalog, xnat)
    data = xnat.app.data  # type: ignore[attr-defined]
    data.subjects["XNAT_S00151"] = Subject(
        "XNAT_S00151", "sub04", "NEURO7T", "female", "1991", "2024-07-02 00:00:00.0"
    )
    session = data.sessions["XNAT_E00003"]
    session.subject_id, session.last_modified = "XNAT_S00151", "2024-07-02 01:00:00.0"
    report = harvest(catalog, xnat)
    assert (report.created, report.updated, report.failed) == (1, 1, 0), report.errors
    now = active(catalog)
    assert now["session:XNAT_E00003"]["body"]["source"]["external_id"] == "XNAT_E00003"
    with catalog.uow() as uow:
        moved = uow.records.get(now["session:XNAT_E00003"]["id"])
    assert moved is not None and moved.parent_id == now["subject:XNAT_S00151"]["id"]


def test_unchanged_items_but_new_options_or_a_withdrawn_record_rewrite(
    catalog: Catalog, xnat: Loopback
) -> None:
    """The "nothing changed" shortcut holds only while the mapping and the catalogue are
    what the last run left: new options remap, a curator's withdrawal is undone."""
    harvest(catalog, xnat, project="RATPET")
    remapped = harvest(catalog, xnat, project="RATPET", species="rat")
    assert (remapped.files_read, remapped.updated) == (0, 1)  # the rat's subject record
    settled = harvest(catalog, xnat, project="RATPET", species="rat")
    assert (settled.updated, settled.unchanged) == (0, 6)
    scan = active(catalog)["scan:XNAT_E00004/5"]
    catalog.records.withdraw(SYSTEM, scan["id"])
    restored = harvest(catalog, xnat, project="RATPET", species="rat")
    assert (restored.files_read, restored.updated, restored.unchanged) == (0, 1, 5)
    assert active(catalog)["scan:XNAT_E00004/5"]["status"] == "active"


@pytest.mark.parametrize(("answer", "refusals"), [("ignored", 0), ("rejected", 1), ("failing", 5)])
def test_server_without_resource_columns_falls_back_to_session_records(
    catalog: Catalog, xnat: Loopback, answer: str, refusals: int
) -> None:
    """A server that ignores `<scan type>/file/...` columns, rejects them (400) or fails
    on them (500, after the retries) is asked once per session for its record instead:
    the same records, more requests."""
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    app.file_columns = answer
    report = harvest(catalog, xnat)
    assert (report.created, report.failed) == (18, 0), report.errors
    t1 = active(catalog)["scan:XNAT_E00001/2"]["body"]
    assert {f["path"]: (f["size"], f["format"]) for f in t1["files"]} == {
        "experiments/XNAT_E00001/scans/2/resources/DICOM": (45123456, "DICOM"),
        "experiments/XNAT_E00001/scans/2/resources/NIFTI": (9000000, "NIFTI"),
    }
    assert t1["imaging"]["num_instances"] == 176
    assert len(app.calls("GET", "/data/experiments/XNAT_E0000[1-5]")) == 5
    # tried on the first scan listing only: "ignored" costs nothing more, "rejected" one
    # 400, "failing" a 500 and its 4 retries
    listings = app.calls("GET", "/data/projects/[A-Z0-9]+/experiments")
    assert len(listings) == 2 + 4 + refusals
    assert sum(1 for c in listings if c[2] >= 400) == refusals


def test_resource_listing_joins_scans_and_resources(catalog: Catalog, xnat: Loopback) -> None:
    """A scan with no resources, and one with three, come out of the joined rows whole."""
    data = xnat.app.data  # type: ignore[attr-defined]
    session = data.sessions["XNAT_E00004"]
    session.scans.append(Scan("6", "xnat:mrScanData", "B0", "b0_map", frames=2))
    session.scans[0].resources.append(Resource("SNAPSHOTS", "GIF", 2, 20_000))
    harvest(catalog, xnat, project="RATPET")
    found = active(catalog)
    assert found["scan:XNAT_E00004/6"]["body"]["files"] == []
    assert found["scan:XNAT_E00004/6"]["title"] == "b0_map"
    formats = sorted(f["format"] for f in found["scan:XNAT_E00004/5"]["body"]["files"])
    assert formats == ["DICOM", "GIF", "NIFTI"]


def test_a_later_server_error_still_stops_the_run(catalog: Catalog, xnat: Loopback) -> None:
    """Only the first listing with resource columns may be taken as "not supported"; a
    5xx on a later one is the source failing, and the catalogue is left alone."""
    harvest(catalog, xnat)
    before = records(catalog)
    app: FakeXnat = xnat.app  # type: ignore[assignment]
    for session in app.data.sessions.values():
        session.last_modified = "2024-09-01 00:00:00.0"  # every session changed
    listing = r"/data/projects/RATPET/experiments"
    earlier = len(app.calls("GET", listing))
    app.inject("GET", listing, "slow", delay_s=0.0)  # RATPET's discovery listing passes
    app.inject("GET", listing, "status", status=503, times=99)  # its scan listings fail
    with pytest.raises(SourceUnusableError, match="HTTP 503 after 3 attempts"):
        harvest(catalog, xnat, retries=2)
    assert records(catalog) == before
    # NEURO7T's scan listings, with the resource columns, went through first
    assert [c[2] for c in app.calls("GET", "/data/projects/NEURO7T/experiments")][-2:] == [
        200,
        200,
    ]
    assert len(app.calls("GET", listing)) - earlier == 1 + 3  # no fallback listing tried


def test_a_user_without_a_password_is_refused_not_made_anonymous(
    catalog: Catalog, xnat: Loopback
) -> None:
    opts = catalog.harvest.parse_options("xnat", {"user": "admin", "backoff_s": 0.01})
    with pytest.raises(SourceUnusableError) as caught:
        catalog.harvest.run(SYSTEM, "xnat", xnat.url, opts)
    assert caught.value.code == "credentials_rejected"
    assert "--user admin needs a password (--password, or -o secrets_file=PATH)" in (
        caught.value.message
    )
    assert records(catalog) == {}

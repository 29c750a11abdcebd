"""SummaryService and GlanceService: a dataset's contents and the catalogue at a glance,
counted over what the caller may see (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.domain.errors import NotFoundError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import (
    Access,
    AccessUpdate,
    BidsInfo,
    Concept,
    FileEntry,
    Imaging,
    RecordCreate,
    SubjectInfo,
)
from catalog.services.container import Catalog

RAT = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10116", label="Rattus norvegicus")


def _scan(parent: str, title: str, datatype: str, acquired: str, **imaging: object) -> RecordCreate:
    return RecordCreate(
        level="acquisition",
        title=title,
        parent_id=parent,
        imaging=Imaging(acquisition_date=date.fromisoformat(acquired), **imaging),
        bids=BidsInfo(datatype=datatype, suffix="T2w" if datatype == "anat" else "bold"),
        files=[FileEntry(path=f"{title}.nii.gz", size=1000), FileEntry(path=f"{title}.json")],
    )


def _study(catalog: Catalog) -> dict[str, str]:
    """Two rats, three sessions, five scans; the second rat's second session restricted."""
    create = catalog.records.create
    col = create(SYSTEM, RecordCreate(level="collection", title="Rat fMRI"))
    ids = {"col": col.id}
    for rat in (1, 2):
        sub = create(
            SYSTEM,
            RecordCreate(
                level="subject",
                title=f"rat-{rat}",
                parent_id=col.id,
                subject=SubjectInfo(species=RAT, pseudonym=f"sub-{rat}"),
            ),
        )
        ids[f"sub{rat}"] = sub.id
        for session in (1, 2) if rat == 2 else (1,):
            restricted = rat == 2 and session == 2
            ses = create(
                SYSTEM,
                RecordCreate(
                    level="session",
                    title=f"ses-{session}",
                    parent_id=sub.id,
                    access=Access(record="restricted") if restricted else None,
                ),
            )
            ids[f"ses{rat}{session}"] = ses.id
            mr = {"modality": "MR", "field_strength_t": 9.4, "sequence": "RARE"}
            create(SYSTEM, _scan(ses.id, f"T2 {rat}{session}", "anat", "2023-05-02", **mr))
            bold = {"modality": "MR", "field_strength_t": 9.4, "sequence": "EPI"}
            create(SYSTEM, _scan(ses.id, f"BOLD {rat}{session}", "func", "2024-01-10", **bold))
    return ids


def test_collection_summary_counts_what_the_public_sees(catalog: Catalog) -> None:
    ids = _study(catalog)
    summary = catalog.summaries.dataset_summary(ANONYMOUS, ids["col"])
    assert (summary.subjects, summary.sessions, summary.acquisitions) == (2, 2, 4)
    assert (summary.files, summary.total_bytes) == (8, 4000)
    assert [(c.value, c.count) for c in summary.species] == [("Rattus norvegicus", 2)]
    assert [(c.value, c.count) for c in summary.modalities] == [("MR", 4)]
    assert [(c.value, c.count) for c in summary.field_strengths] == [("9.4 T", 4)]
    assert [(c.value, c.count) for c in summary.sequences] == [("EPI", 2), ("RARE", 2)]
    assert (summary.first_date, summary.last_date) == (date(2023, 5, 2), date(2024, 1, 10))
    assert summary.columns == ["anat", "func"]
    grid = [(row.subject, row.session, row.cells) for row in summary.grid]
    assert grid == [
        ("rat-1", "ses-1", {"anat": 1, "func": 1}),
        ("rat-2", "ses-1", {"anat": 1, "func": 1}),
    ]


def test_an_administrator_sees_the_restricted_branch_too(catalog: Catalog) -> None:
    ids = _study(catalog)
    summary = catalog.summaries.dataset_summary(SYSTEM, ids["col"])
    assert (summary.sessions, summary.acquisitions, summary.files) == (3, 6, 12)
    assert [row.session for row in summary.grid] == ["ses-1", "ses-1", "ses-2"]


def test_a_session_summary_names_its_subject(catalog: Catalog) -> None:
    ids = _study(catalog)
    summary = catalog.summaries.dataset_summary(ANONYMOUS, ids["ses11"])
    assert summary.acquisitions == 2
    assert [(row.subject, row.session) for row in summary.grid] == [("rat-1", "ses-1")]


def test_an_invisible_record_has_no_summary(catalog: Catalog) -> None:
    ids = _study(catalog)
    with pytest.raises(NotFoundError, match=f"no record with id '{ids['ses22']}'"):
        catalog.summaries.dataset_summary(ANONYMOUS, ids["ses22"])


def test_withdrawn_records_are_not_counted(catalog: Catalog) -> None:
    ids = _study(catalog)
    before = catalog.summaries.dataset_summary(ANONYMOUS, ids["col"])
    assert catalog.summaries.dataset_summary(ANONYMOUS, ids["col"]) is before  # remembered
    catalog.records.withdraw(SYSTEM, ids["sub1"])  # ... until a record changes
    summary = catalog.summaries.dataset_summary(ANONYMOUS, ids["col"])
    assert (summary.subjects, summary.acquisitions) == (1, 2)
    catalog.records.set_access(SYSTEM, ids["ses21"], AccessUpdate(record="restricted"))
    assert catalog.summaries.dataset_summary(ANONYMOUS, ids["col"]).acquisitions == 0
    assert catalog.summaries.dataset_summary(SYSTEM, ids["col"]).acquisitions == 4


def test_catalogue_glance_counts_visible_acquisitions_per_year(catalog: Catalog) -> None:
    _study(catalog)
    public = catalog.glance.glance(ANONYMOUS)
    assert public.acquisitions == 4
    assert [(c.value, c.count) for c in public.years] == [("2023", 2), ("2024", 2)]
    assert [(c.value, c.count) for c in public.modalities] == [("MR", 4)]
    everything = catalog.glance.glance(SYSTEM)
    assert [(c.value, c.count) for c in everything.years] == [("2023", 3), ("2024", 3)]
    # a new record changes the store's stamp: the remembered years are recomputed
    col = catalog.records.create(SYSTEM, RecordCreate(level="collection", title="Later"))
    catalog.records.create(SYSTEM, _scan(col.id, "late", "anat", "2025-03-01", modality="CT"))
    later = catalog.glance.glance(ANONYMOUS)
    assert [(c.value, c.count) for c in later.years][-1] == ("2025", 1)

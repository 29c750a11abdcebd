"""Builds a small, realistic catalogue for the web tests (and the browser test's server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.domain.identity import SYSTEM
from catalog.domain.records import (
    Access,
    BidsInfo,
    Concept,
    Creator,
    FileEntry,
    Identifier,
    Imaging,
    RecordCreate,
    Related,
    SubjectInfo,
)
from catalog.services.container import Catalog
from catalog.settings import Settings

RAT = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10116", label="Rattus norvegicus")
MOUSE = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10090", label="Mus musculus")


@dataclass
class Ids:
    study: str
    subject: str
    session: str
    t2: str
    pet: str
    secret: str
    secret_scan: str
    gone: str


def populate(catalog: Catalog, extra_scans: int = 0) -> Ids:
    """A public rat study (collection > subject > session > scans), a restricted study,
    and a withdrawn record; `extra_scans` more acquisitions for paging."""
    create = catalog.records.create
    study = create(
        SYSTEM,
        RecordCreate(
            id="rat-study",
            level="collection",
            title="Rat brain MRI at 9.4 T",
            description="Structural and functional MRI of adult rat brains, acquired at 9.4 T.",
            creators=[Creator(name="Jane Doe", orcid="0000-0002-1825-0097", affiliation="Lab")],
            license="CC-BY-4.0",
            identifiers=[Identifier(identifier="10.5281/zenodo.123", scheme="doi")],
            keywords=["rat", "brain"],
            related=[Related(identifier="10.1000/paper", scheme="DOI", relation="IsCitedBy")],
        ),
    )
    subject = create(
        SYSTEM,
        RecordCreate(
            id="rat-01",
            level="subject",
            title="Subject rat-01",
            parent_id=study.id,
            subject=SubjectInfo(species=RAT, strain="Wistar", sex="male"),
        ),
    )
    session = create(
        SYSTEM,
        RecordCreate(id="rat-01-ses-1", level="session", title="Session 1", parent_id=subject.id),
    )
    t2 = create(
        SYSTEM,
        RecordCreate(
            id="rat-01-t2",
            level="acquisition",
            title="T2 RARE anatomical",
            parent_id=session.id,
            imaging=Imaging(
                modality="MR",
                field_strength_t=9.4,
                manufacturer="Bruker",
                sequence="RARE",
                tr_ms=2500.0,
                te_ms=33.0,
                voxel_size_mm=[0.1, 0.1, 0.5],
                matrix=[256, 256],
            ),
            subject=SubjectInfo(species=RAT),
            bids=BidsInfo(datatype="anat", suffix="T2w", entities={"sub": "01", "ses": "1"}),
            files=[
                FileEntry(path="sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz", size=123456),
                FileEntry(
                    path="https://data.example.org/rat/T2w.nii.gz", format="application/gzip"
                ),
            ],
        ),
    )
    pet = create(
        SYSTEM,
        RecordCreate(
            id="rat-01-pet",
            level="acquisition",
            title="FDG PET dynamic",
            parent_id=session.id,
            imaging=Imaging(modality="PT", manufacturer="Siemens", radiopharmaceutical="FDG"),
            subject=SubjectInfo(species=RAT),
        ),
    )
    for number in range(extra_scans):
        create(
            SYSTEM,
            RecordCreate(
                id=f"rat-01-epi-{number:03d}",
                level="acquisition",
                title=f"EPI BOLD run {number:03d}",
                parent_id=session.id,
                imaging=Imaging(modality="MR", field_strength_t=9.4, manufacturer="Bruker"),
                subject=SubjectInfo(species=RAT),
            ),
        )
    secret = create(
        SYSTEM,
        RecordCreate(
            id="secret-study",
            level="collection",
            title="Confidential mouse study",
            access=Access(record="restricted", grants=["bob"]),
        ),
    )
    secret_scan = create(
        SYSTEM,
        RecordCreate(
            id="secret-scan",
            level="acquisition",
            title="Hidden CT scan",
            parent_id=secret.id,
            imaging=Imaging(modality="CT", manufacturer="SecretCorp"),
            subject=SubjectInfo(species=MOUSE),
        ),
    )
    gone = create(SYSTEM, RecordCreate(id="gone", level="collection", title="Withdrawn study"))
    catalog.records.withdraw(SYSTEM, gone.id)
    return Ids(study.id, subject.id, session.id, t2.id, pet.id, secret.id, secret_scan.id, gone.id)


def populate_showcase(catalog: Catalog) -> Ids:
    """`populate` plus a few more studies, so pages and screenshots look like a catalogue."""
    ids = populate(catalog, extra_scans=2)
    create = catalog.records.create
    mouse = create(
        SYSTEM,
        RecordCreate(
            id="mouse-dwi",
            level="collection",
            title="Mouse diffusion MRI atlas (7 T)",
            description="Ex-vivo and in-vivo diffusion-weighted MRI of C57BL/6 mice.",
            license="CC0-1.0",
            creators=[Creator(name="Ana Silva")],
        ),
    )
    for number, sequence in enumerate(["DTI-EPI", "FLASH", "RARE"]):
        create(
            SYSTEM,
            RecordCreate(
                id=f"mouse-dwi-{number}",
                level="acquisition",
                title=f"Mouse {number + 1} {sequence}",
                parent_id=mouse.id,
                license="CC0-1.0",
                imaging=Imaging(
                    modality="MR", field_strength_t=7.0, manufacturer="Bruker", sequence=sequence
                ),
                subject=SubjectInfo(species=MOUSE, strain="C57BL/6"),
            ),
        )
    create(
        SYSTEM,
        RecordCreate(
            id="human-ct",
            level="acquisition",
            title="Low-dose chest CT (phantom)",
            description="Anthropomorphic phantom, used for dose calibration.",
            license="CC-BY-4.0",
            imaging=Imaging(modality="CT", manufacturer="GE", body_part="CHEST"),
            access=Access(files="embargoed", embargo_until="2027-01-01"),
        ),
    )
    return ids


BASE_URL = "http://testserver"


@dataclass
class Tokens:
    viewer: str
    curator: str
    admin: str
    bob: str  # a viewer named in the restricted study's grants

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings.load(
        data_dir=data_dir, database_url="", search_url="", base_url=BASE_URL, **overrides
    )

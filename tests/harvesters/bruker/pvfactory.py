"""Synthetic ParaVision studies for the Bruker harvester tests (written to tmp_path).

Builds on `harvesters.bruker.sample.StudyWriter` (the version-specific layout and syntax)
and adds the awkward cases real files contain: strings with parentheses and commas,
struct arrays, multi-dimensional arrays, wrapped lines and `$$` comments.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from harvesters.bruker.sample import ScanSpec, StudyWriter, SubjectSpec, study_dir_name
from harvesters.bruker.writer import array, string, write_jcamp

SECRET = b"test-installation-secret"
SUBJECT = SubjectSpec(
    subject_id="Wistar-Secret-4711",
    name="Doe^Ratty",
    owner="ownerperson",
    institution="Institut Secret de Recherche (IRM), Lyon",
    station="Biospec 94/20 SecretStation",
    operator="operatorperson",
)
IDENTIFYING = (
    SUBJECT.subject_id,
    "Doe^Ratty",
    "Ratty",
    SUBJECT.owner,
    "Institut Secret",
    "SecretStation",
    SUBJECT.operator,
    "20240502",
    "02 May 2024",
)


def write_study(root: Path, version: str, *, visu_pars: bool = True) -> Path:
    """One study of `version` under `root` (three scans) plus an awkward extra scan 4."""
    writer = StudyWriter(root / study_dir_name(version), version, SUBJECT, visu_pars=visu_pars)
    study = writer.write()
    write_awkward_scan(writer, study / "4")
    return study


def write_awkward_scan(writer: StudyWriter, folder: Path) -> Path:
    """An EPI BOLD scan (60 repetitions) whose method holds every syntax oddity."""
    header = writer.header("4/method")
    method = [
        ("Method", "EPI" if writer.pv5 else "<Bruker:EPI>"),
        ("PVM_RepetitionTime", "1500"),
        ("PVM_EchoTime", "15.5"),
        (
            "PVM_ExcPulse1",
            "(1, 5400, 60, Yes, 3, 4200, 0.25, 0.2, 0, 50, 0.3, 0.2,\n<$ExcPulse1Shape>)",
        ),
        ("PVM_Matrix", "( 2 )\n64\n64"),
        ("PVM_Fov", array([25.6, 19.2])),
        ("PVM_SliceThick", "1"),
        ("PVM_Nucleus1", "<1H>"),
        ("PVM_NAverages", "1"),
        ("PVM_NRepetitions", "60"),
        ("PVM_Comment", string("BOLD (forepaw, left), 9.4 T, run 1", 128)),
        ("PVM_StructArr", "( 2 )\n(3, <a (b), c>, 1e-06) (4, <>, -2.5)"),
        ("PVM_Multi", array(list(range(1, 13)), [2, 3, 2])),
        ("PVM_Wrapped", array([round(0.1 * i, 1) for i in range(40)])),
    ]
    write_jcamp(
        folder / "method",
        method,
        **header,
        trailing_comments=["@vis= PVM_RepetitionTime PVM_EchoTime", "@vis= Method"],
    )
    acqp = [(k, v) for k, v in writer.acqp(_epi_scan()) if k != "ACQ_protocol_name"]
    acqp.append(("ACQ_protocol_name", string("rsfMRI_EPI (60 reps, TR=1.5s)")))
    write_jcamp(folder / "acqp", acqp, **writer.header("4/acqp"))
    return folder


def _epi_scan() -> ScanSpec:
    return ScanSpec(
        4, "EPI", "rsfMRI_EPI", 1500.0, 15.5, 60.0, (64, 64), (25.6, 19.2), 1.0, repetitions=60
    )


def zip_study(study: Path, dest: Path) -> Path:
    """Zip a study folder (members `study_name/...`), as ParaVision exports do."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(study.rglob("*")):
            archive.write(path, path.relative_to(study.parent).as_posix())
    return dest


def bare_scan(study: Path, dest: Path, number: str = "1") -> Path:
    """A copy of one scan folder without its study (no `subject`)."""
    return Path(shutil.copytree(study / number, dest / number))

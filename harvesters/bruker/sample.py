"""Write a small, realistic synthetic ParaVision study (for `imagora demo` and tests).

No real ParaVision dataset may be redistributed with Imagora, so this writes look-alike
parameter files in the layout and syntax of each version: PV5.1 (plain `Parameter List`
title, text dates), PV6.0.1 / PV7 (versioned title, epoch-tuple dates, visu_pars in
pdata/1) and PV360 (run-length encoded arrays, `(<name>, <display>)` enum tuples). The
study is a 9.4 T rat session (BF1 400.3 MHz) with a T2 RARE, a T1 FLASH and a DtiEpi scan.
Only parameter files are written (no 2dseq/fid pixel data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harvesters.bruker.writer import array, num, rle_array, string, strings, struct, write_jcamp

VERSIONS = ("5.1", "6.0.1", "7.0.0", "360")
_TZ = timezone(timedelta(hours=2))
_STUDY_TIME = datetime(2024, 7, 25, 9, 2, 12, 259000, tzinfo=_TZ)


@dataclass(frozen=True)
class ScanSpec:
    """One scan of the sample study."""

    number: int
    method: str
    protocol: str
    tr: float
    te: float
    flip: float
    matrix: tuple[int, int]
    fov: tuple[float, float]
    thick: float
    repetitions: int = 1
    averages: int = 1
    effective_te: float | None = None
    directions: int = 0


@dataclass(frozen=True)
class SubjectSpec:
    """The animal; `subject_id`, `name`, `birth` are identifying and must never be stored."""

    subject_id: str = "RatA01"
    name: str = "Rat^A01"
    sex: str = "MALE"
    weight_kg: float = 0.35
    birth: datetime = datetime(2024, 5, 2, tzinfo=_TZ)
    owner: str = "nmrsu"
    institution: str = "Example University, (Preclinical) Imaging Centre"
    station: str = "Biospec 94/30"
    operator: str = "jdoe"


SAMPLE_SCANS: tuple[ScanSpec, ...] = (
    ScanSpec(
        1,
        "RARE",
        "T2_TurboRARE (axial, 0.5 mm)",
        2500.0,
        11.0,
        90.0,
        (256, 256),
        (32.0, 32.0),
        0.5,
        averages=2,
        effective_te=33.0,
    ),
    ScanSpec(2, "FLASH", "T1_FLASH", 350.0, 5.4, 30.0, (256, 256), (32.0, 32.0), 0.5, averages=4),
    ScanSpec(
        3, "DtiEpi", "DTI_EPI_30dir", 4000.0, 22.0, 90.0, (96, 96), (28.8, 28.8), 0.6, directions=30
    ),
)


@dataclass
class StudyWriter:
    """Writes one study folder for a given ParaVision version."""

    root: Path
    version: str = "360"
    subject: SubjectSpec = field(default_factory=SubjectSpec)
    visu_pars: bool = True
    study_uid: str = "2.16.756.5.5.100.1234567890.20092.1721890932.1"

    @property
    def pv360(self) -> bool:
        return self.version == "360"

    @property
    def pv5(self) -> bool:
        return self.version.startswith("5")

    @property
    def title(self) -> str:
        if self.pv5:
            return "Parameter List"
        return "Parameter List, ParaVision " + ("360 V3.6" if self.pv360 else self.version)

    @property
    def software(self) -> str:
        return "PV-360.3.6" if self.pv360 else f"PV {self.version}"

    def header(self, relative: str) -> dict[str, object]:
        if self.pv360:
            stamp = _STUDY_TIME.strftime("%Y-%m-%d %H:%M:%S.259 +0200")
            comments = [
                f"{stamp}  {self.subject.owner}",
                f"/opt/PV-360.3.6/data/{self.subject.owner}/{relative}",
                "Write Options: Symbolic Enums, RLE encoded arrays",
            ]
        else:
            stamp = _STUDY_TIME.strftime("%a %b %e %H:%M:%S %Y CEST (UT+2h)")
            comments = [
                f"{stamp}  {self.subject.owner}",
                f"/opt/PV{self.version}/data/{self.subject.owner}/nmr/{relative}",
            ]
        return {"title": self.title, "owner": self.subject.owner, "header_comments": comments}

    def date(self, moment: datetime) -> str:
        """A date parameter: text before PV6, an epoch tuple from PV6 on."""
        if self.pv5:
            return f"<{moment.strftime('%H:%M:%S %e %b %Y')}>"
        return struct(int(moment.timestamp()), moment.microsecond // 1000, 120)

    def enum(self, name: str, display: str | None = None) -> str:
        if self.pv360 and display:
            return f"(<{name}>, <{display}>)"
        return name

    def write(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        write_jcamp(self.root / "subject", self.subject_params(), **self.header("subject"))
        for scan in SAMPLE_SCANS:
            self.write_scan(scan)
        return self.root

    def subject_params(self) -> list[tuple[str, str]]:
        s = self.subject
        params = [
            ("SUBJECT_id", string(s.subject_id)),
            ("SUBJECT_name_string", string(s.name)),
            ("SUBJECT_study_name", string("9.4T sample protocol")),
            ("SUBJECT_study_nr", "1"),
            ("SUBJECT_type", self.enum("Quadruped", "Quadruped")),
            ("SUBJECT_sex", self.enum(s.sex, s.sex.title())),
            ("SUBJECT_weight", num(s.weight_kg * 1000)),  # grams in the subject file
            ("SUBJECT_dbirth", string(s.birth.strftime("%d %b %Y" if self.pv5 else "%Y%m%d"))),
            ("SUBJECT_date", self.date(_STUDY_TIME)),
            ("SUBJECT_study_instance_uid", string(self.study_uid)),
        ]
        if self.pv5:
            params.append(("SUBJECT_abs_date", str(int(_STUDY_TIME.timestamp()))))
        return params

    def write_scan(self, scan: ScanSpec) -> Path:
        folder = self.root / str(scan.number)
        rel = f"{self.root.name}/{scan.number}"
        write_jcamp(folder / "acqp", self.acqp(scan), **self.header(f"{rel}/acqp"))
        write_jcamp(
            folder / "method",
            self.method(scan),
            **self.header(f"{rel}/method"),
            trailing_comments=[f"@vis= Method PVM_EchoTime PVM_RepetitionTime {scan.method}"],
        )
        pdata = folder / "pdata" / "1"
        write_jcamp(pdata / "reco", self.reco(scan), **self.header(f"{rel}/pdata/1/reco"))
        if self.visu_pars and not (self.pv5 and scan.number != 1):
            write_jcamp(
                pdata / "visu_pars", self.visu(scan), **self.header(f"{rel}/pdata/1/visu_pars")
            )
        return folder

    def acqp(self, scan: ScanSpec) -> list[tuple[str, str]]:
        moment = _STUDY_TIME + timedelta(minutes=10 * scan.number)
        params = [
            ("ACQ_sw_version", string(self.software)),
            ("ACQ_method", f"<{self.method_name(scan)}>"),
            ("ACQ_protocol_name", string(scan.protocol)),
            ("ACQ_scan_name", string(f"{scan.protocol} (E{scan.number})")),
            ("ACQ_dim", "2"),
            ("ACQ_size", array([scan.matrix[0] * 2, scan.matrix[1]])),
            ("ACQ_fov", array([f / 10 for f in scan.fov])),
            ("ACQ_slice_thick", num(scan.thick)),
            ("ACQ_flip_angle", num(scan.flip)),
            ("ACQ_repetition_time", array([scan.tr])),
            ("ACQ_echo_time", array([scan.te])),
            ("BF1", "400.3"),
            ("NUCLEUS", "1H"),
            ("NA", str(scan.averages)),
            ("NR", str(scan.repetitions)),
            ("PULPROG", f"<{scan.method}.ppg>"),
            ("ACQ_institution", string(self.subject.institution)),
            ("ACQ_station", string(self.subject.station)),
            ("ACQ_operator", string(self.subject.operator)),
            (
                "ACQ_time",
                f"<{moment.strftime('%H:%M:%S %e %b %Y')}>"
                if self.pv5
                else f"<{moment.strftime('%Y-%m-%dT%H:%M:%S,259%z')}>",
            ),
            ("ACQ_abs_time", str(int(moment.timestamp()))),
        ]
        return params

    def method_name(self, scan: ScanSpec) -> str:
        return scan.method if self.pv5 else f"Bruker:{scan.method}"

    def method(self, scan: ScanSpec) -> list[tuple[str, str]]:
        method = scan.method if self.pv5 else f"<Bruker:{scan.method}>"
        params = [
            ("Method", method),
            ("PVM_RepetitionTime", num(scan.tr)),
            ("PVM_EchoTime", num(scan.te)),
            (
                "PVM_ExcPulse1",
                struct(
                    1,
                    5400,
                    scan.flip,
                    "Yes",
                    3,
                    4200,
                    0.25,
                    0.2,
                    0,
                    50,
                    0.3,
                    0.2,
                    "<$ExcPulse1Shape>",
                ),
            ),
            ("PVM_SpatDimEnum", self.enum("Dim2", "2D")),
            ("PVM_Matrix", array(list(scan.matrix))),
            ("PVM_Fov", array(list(scan.fov))),
            ("PVM_SpatResol", array([f / m for f, m in zip(scan.fov, scan.matrix, strict=True)])),
            ("PVM_SliceThick", num(scan.thick)),
            ("PVM_SPackArrNSlices", array([20])),
            ("PVM_Nucleus1", "<1H>" if not self.pv5 else "1H"),
            ("PVM_NAverages", str(scan.averages)),
            ("PVM_NRepetitions", str(scan.repetitions)),
        ]
        if scan.effective_te:
            params += [("PVM_RareFactor", "8"), ("EffectiveTE", array([scan.effective_te]))]
        if scan.directions:
            params += self.diffusion(scan)
        return params

    def diffusion(self, scan: ScanSpec) -> list[tuple[str, str]]:
        dirs = [v for i in range(scan.directions) for v in _unit(i, scan.directions)]
        return [
            ("PVM_DwNDiffDir", str(scan.directions)),
            ("PVM_DwBvalEach", array([1000])),
            ("PVM_DwDir", array(dirs, [scan.directions, 3])),
        ]

    def reco(self, scan: ScanSpec) -> list[tuple[str, str]]:
        return [
            ("RECO_size", array(list(scan.matrix))),
            ("RECO_fov", array([f / 10 for f in scan.fov])),
            ("RECO_wordtype", "_16BIT_SGN_INT"),
            ("RECO_map_mode", "ABSOLUTE_MAPPING"),
        ]

    def visu(self, scan: ScanSpec) -> list[tuple[str, str]]:
        s = self.subject
        frames = 20 * max(1, scan.directions + 1 if scan.directions else 1)
        slope = rle_array(41.818209641992354, frames) if self.pv360 else array([41.8] * frames)
        groups = [struct(20, "<FG_SLICE>", "<>", 0, 2)]
        if scan.directions:
            groups.append(struct(scan.directions + 1, "<FG_DIFFUSION>", "<diffusion>", 2, 3))
        return [
            ("VisuVersion", {"5.1": "1", "360": "8"}.get(self.version, "3")),
            ("VisuCreator", "<ParaVision>"),
            ("VisuCreatorVersion", string(self.software.replace("PV ", ""))),
            ("VisuManufacturer", string("Bruker BioSpin MRI GmbH")),
            ("VisuInstitution", string(s.institution)),
            ("VisuStation", string(s.station)),
            ("VisuStudyUid", string(self.study_uid)),
            ("VisuStudyDate", self.visu_date()),
            ("VisuStudyNumber", "1"),
            ("VisuExperimentNumber", str(scan.number)),
            ("VisuProcessingNumber", "1"),
            ("VisuSubjectId", string(s.subject_id)),
            ("VisuSubjectName", string(s.name)),
            ("VisuSubjectBirthDate", string(s.birth.strftime("%Y%m%d"))),
            ("VisuSubjectSex", s.sex),
            ("VisuSubjectWeight", num(s.weight_kg)),
            ("VisuSubjectType", "Quadruped"),
            ("VisuAcqSequenceName", string(f"Bruker:{scan.method}")),
            ("VisuAcquisitionProtocol", string(scan.protocol)),
            ("VisuAcqRepetitionTime", array([scan.tr])),
            ("VisuAcqEchoTime", array([scan.effective_te or scan.te])),
            ("VisuAcqFlipAngle", num(scan.flip)),
            ("VisuCoreDim", "2"),
            ("VisuCoreSize", array(list(scan.matrix))),
            ("VisuCoreExtent", array(list(scan.fov))),
            ("VisuCoreFrameCount", str(frames)),
            ("VisuCoreFrameThickness", array([scan.thick])),
            ("VisuCoreUnits", strings(["mm", "mm"])),
            ("VisuCoreWordType", "_16BIT_SGN_INT"),
            ("VisuCoreDataSlope", slope),
            ("VisuFGOrderDesc", f"( {len(groups)} )\n" + " ".join(groups)),
            ("VisuAcqImagedNucleus", "<1H>"),
            ("VisuAcqImagingFrequency", "400.3"),
        ]

    def visu_date(self) -> str:
        if self.pv360:
            return f"<{_STUDY_TIME.strftime('%Y-%m-%dT%H:%M:%S,259%z')}>"
        return self.date(_STUDY_TIME)


def _unit(index: int, count: int) -> list[float]:
    """Deterministic, roughly spread unit vectors (good enough for sample data)."""
    z = 1 - 2 * (index + 0.5) / count
    r = (1 - z * z) ** 0.5
    angle = index * 2.399963229728653
    return [round(r * math.cos(angle), 6), round(r * math.sin(angle), 6), round(z, 6)]


def study_dir_name(version: str = "360") -> str:
    """`YYYYMMDD_HHMMSS_<name>_<n>_<m>` like ParaVision names its study folders."""
    return f"{_STUDY_TIME.strftime('%Y%m%d_%H%M%S')}_sample_pv{version.replace('.', '')}_1_1"


def write_sample_study(dest: Path, version: str = "360") -> Path:
    """Write one sample study (rat, 9.4 T; RARE T2, FLASH T1, DtiEpi) under `dest`.

    `version` is one of "5.1", "6.0.1", "7.0.0", "360". Returns the study folder.
    """
    if version not in VERSIONS:
        raise ValueError(
            f"unknown ParaVision version {version!r}: use one of {', '.join(VERSIONS)}"
        )
    return StudyWriter(dest / study_dir_name(version), version).write()

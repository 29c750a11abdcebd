"""Normalise one ParaVision scan's parameters into the catalogue's `Imaging` and `BidsInfo`.

Precedence per field is method (PVM_*) > acqp (ACQ_*) > visu_pars (Visu*), because the
method file holds the values the operator set while visu_pars holds frame-dependent copies.
Bruker files carry no species and no field strength in tesla: the field comes from the
base frequency `BF1` and the nucleus' gyromagnetic ratio, the species from the harvest
options or a mapping file (never from `SUBJECT_type`, which is a geometry convention).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.domain.records import BidsInfo, Concept, Imaging
from harvesters.species import require_species

#: gamma / 2pi in MHz/T, to turn a base frequency into a field strength.
GAMMA_MHZ_PER_T: dict[str, float] = {
    "1H": 42.577,
    "2H": 6.536,
    "3He": 32.434,
    "13C": 10.708,
    "15N": 4.316,
    "17O": 5.772,
    "19F": 40.078,
    "23Na": 11.262,
    "31P": 17.235,
    "129Xe": 11.777,
}


def species_concept(value: str) -> Concept:
    """A species Concept from a common/binomial name, an NCBITaxon IRI or CURIE.

    Raises ValueError for a name it does not know, with the names it does.
    """
    return require_species(value)


def scalar(value: Any) -> Any:
    """The first element of a (nested) array, or the value itself."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def number(value: Any) -> float | None:
    found = scalar(value)
    if isinstance(found, bool) or not isinstance(found, int | float):
        return None
    return float(found)


def enum_name(value: Any) -> str | None:
    """An enum written as a word, `<word>` or `(<name>, <display>)` -> its name."""
    found = scalar(value)
    return str(found) if found not in (None, "") else None


def field_strength(bf1: Any, nucleus: str | None) -> float | None:
    """B0 in tesla from `BF1` (MHz), rounded to 0.1 T (400.3 MHz 1H -> 9.4 T)."""
    frequency = number(bf1)
    gamma = GAMMA_MHZ_PER_T.get(nucleus or "1H")
    if not frequency or not gamma:
        return None
    return round(frequency / gamma, 1)


@dataclass
class ScanParams:
    """The parameter subsets of one scan (empty dicts for missing files)."""

    acqp: dict[str, Any] = field(default_factory=dict)
    method: dict[str, Any] = field(default_factory=dict)
    visu: dict[str, Any] = field(default_factory=dict)

    def pick(self, *keys: str) -> Any:
        """The first present value among `keys` looked up in method, acqp, visu_pars."""
        for key in keys:
            for source in (self.method, self.acqp, self.visu):
                if key in source and source[key] not in (None, "", []):
                    return source[key]
        return None

    def num(self, *keys: str) -> float | None:
        return number(self.pick(*keys))


def method_name(params: ScanParams) -> str | None:
    """`<Bruker:RARE>` -> "RARE"; user methods keep their prefix-less name too."""
    raw = enum_name(params.pick("Method", "ACQ_method", "VisuAcqSequenceName"))
    if not raw:
        return None
    return raw.split(":", 1)[1] if ":" in raw else raw


def flip_angle(params: ScanParams) -> float | None:
    pulse = params.method.get("PVM_ExcPulse1")
    if isinstance(pulse, list) and len(pulse) > 2 and number(pulse[2]) is not None:
        return number(pulse[2])
    return params.num("PVM_ExcPulseAngle", "ACQ_flip_angle", "VisuAcqFlipAngle")


def geometry(params: ScanParams) -> tuple[list[int] | None, list[float] | None, float | None]:
    """Matrix, FOV (mm) and slice thickness (mm)."""
    matrix = params.pick("PVM_Matrix", "VisuCoreSize")
    fov = params.pick("PVM_Fov", "VisuCoreExtent")
    if fov is None and isinstance(params.acqp.get("ACQ_fov"), list):
        fov = [v * 10 for v in params.acqp["ACQ_fov"]]  # ACQ_fov is in cm
    thick = params.num("PVM_SliceThick", "VisuCoreFrameThickness", "ACQ_slice_thick")
    matrix = [int(v) for v in matrix] if _numbers(matrix) else None
    fov = [float(v) for v in fov] if _numbers(fov) else None
    return matrix, fov, thick


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(number(v) is not None for v in value)


def voxel_size(matrix: list[int] | None, fov: list[float] | None, thick: float | None) -> Any:
    """FOV/matrix per in-plane axis, plus the slice thickness for 2D scans."""
    if not matrix or not fov or len(matrix) != len(fov) or 0 in matrix:
        return None
    sizes = [round(f / m, 6) for f, m in zip(fov, matrix, strict=True)]
    if len(sizes) == 2 and thick:
        sizes.append(round(thick, 6))
    return sizes


def build_imaging(params: ScanParams, software: str | None, manufacturer: str | None) -> Imaging:
    matrix, fov, thick = geometry(params)
    nucleus = enum_name(params.pick("PVM_Nucleus1", "NUCLEUS", "VisuAcqImagedNucleus"))
    inversion = params.num("PVM_InversionTime", "ACQ_inversion_time", "VisuAcqInversionTime")
    reps = params.num("PVM_NRepetitions", "NR")
    return Imaging(
        modality="MR",
        field_strength_t=field_strength(params.acqp.get("BF1"), nucleus)
        or field_strength(params.visu.get("VisuAcqImagingFrequency"), nucleus),
        manufacturer=manufacturer,
        sequence=method_name(params),
        series_description=enum_name(
            params.pick("ACQ_protocol_name", "VisuAcquisitionProtocol", "ACQ_scan_name")
        ),
        tr_ms=params.num("PVM_RepetitionTime", "ACQ_repetition_time", "VisuAcqRepetitionTime"),
        te_ms=params.num("EffectiveTE", "PVM_EchoTime", "ACQ_echo_time", "VisuAcqEchoTime"),
        ti_ms=inversion if inversion else None,
        flip_angle_deg=flip_angle(params),
        matrix=matrix,
        fov_mm=fov,
        slice_thickness_mm=thick,
        voxel_size_mm=voxel_size(matrix, fov, thick),
        nucleus=nucleus,
        averages=params.num("PVM_NAverages", "NA", "VisuAcqNumberOfAverages"),
        repetitions=int(reps) if reps is not None else None,
        num_frames=_int(params.visu.get("VisuCoreFrameCount")),
        software_version=software,
    )


def _int(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None else None


@dataclass(frozen=True)
class BidsRule:
    """One explicit Bruker-method -> BIDS rule; `name` is stored in `bids.rule`."""

    name: str
    methods: frozenset[str]
    datatype: str | None
    suffix: str
    when: Callable[[Imaging], bool] = lambda _: True


def _te(imaging: Imaging) -> float:
    return imaging.te_ms or 0.0


def _methods(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


_RARE = _methods("RARE", "TurboRARE", "RAREVTR", "RARE_T2", "TurboRARE-T2", "RAREst")
BIDS_RULES: tuple[BidsRule, ...] = (
    BidsRule(
        "bruker:localizer", _methods("TriPilot", "TriPilot-multi", "Localizer"), None, "localizer"
    ),
    BidsRule("bruker:fieldmap", _methods("FieldMap", "B0Map"), "fmap", "fieldmap"),
    BidsRule(
        "bruker:asl",
        _methods(
            "FAIR-EPI",
            "FAIR_EPI",
            "FAIR-RARE",
            "FAIR_RARE",
            "CASL",
            "pCASL",
            "CASL-EPI",
            "pCASL-EPI",
        ),
        "perf",
        "asl",
    ),
    BidsRule("bruker:dwi", _methods("DtiEpi", "DtiStandard", "DtiSpiral", "DwiEpi"), "dwi", "dwi"),
    BidsRule(
        "bruker:EPI+repetitions>1->bold",
        _methods("EPI", "EPI_BOLD", "GE-EPI", "SE-EPI"),
        "func",
        "bold",
        lambda i: (i.repetitions or 1) > 1,
    ),
    BidsRule("bruker:RARE+TE>=30ms->T2w", _RARE, "anat", "T2w", lambda i: _te(i) >= 30),
    BidsRule(
        "bruker:RARE+TE<30ms+TR<=1500ms->T1w",
        _RARE,
        "anat",
        "T1w",
        lambda i: _te(i) < 30 and (i.tr_ms or 1e9) <= 1500,
    ),
    BidsRule("bruker:RARE+TE<30ms->PDw", _RARE, "anat", "PDw", lambda i: _te(i) < 30),
    BidsRule(
        "bruker:T1-weighted-method",
        _methods("FLASH", "FLASH3D", "IntraGateFLASH", "MDEFT", "MP2RAGE", "FLASH_T1"),
        "anat",
        "T1w",
    ),
    BidsRule("bruker:MSME->MESE", _methods("MSME", "MSME_T2"), "anat", "MESE"),
    BidsRule("bruker:MGE->MEGRE", _methods("MGE", "MGE_T2star"), "anat", "MEGRE"),
)


def guess_bids(imaging: Imaging) -> BidsInfo:
    """The first matching rule's datatype/suffix; an empty BidsInfo when none matches."""
    method = (imaging.sequence or "").lower()
    for rule in BIDS_RULES:
        if method in rule.methods and rule.when(imaging):
            return BidsInfo(datatype=rule.datatype, suffix=rule.suffix, rule=rule.name)
    return BidsInfo()

"""Turn one parsed ParaVision parameter file into the small, non-identifying facts we cache.

`FileFacts.data` is cached by the harvest service and ends up (partly) in `source.raw`, so
only the parameters the catalogue maps plus a few useful extras are kept, and the
identifying ones (subject id and name, birth date, owner, institution, station, operator)
are dropped here, at read time. The subject id survives only as a keyed pseudonym and the
birth date only as the age at scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from harvesters.bruker.jcamp import JcampFile

#: Parameters kept per file kind (everything else is dropped).
KEEP: dict[str, tuple[str, ...]] = {
    "subject": (
        "SUBJECT_sex",
        "SUBJECT_gender",
        "SUBJECT_weight",
        "SUBJECT_type",
        "SUBJECT_study_nr",
        "SUBJECT_position",
        "SUBJECT_entry",
        "SUBJECT_version_nr",
    ),
    "acqp": (
        "ACQ_method",
        "ACQ_protocol_name",
        "ACQ_scan_name",
        "ACQ_sw_version",
        "ACQ_flip_angle",
        "ACQ_repetition_time",
        "ACQ_echo_time",
        "ACQ_inversion_time",
        "ACQ_dim",
        "ACQ_size",
        "ACQ_fov",
        "ACQ_slice_thick",
        "ACQ_ns",
        "BF1",
        "NUCLEUS",
        "NA",
        "NR",
        "NI",
        "PULPROG",
    ),
    "method": (
        "Method",
        "PVM_RepetitionTime",
        "PVM_EchoTime",
        "EffectiveTE",
        "PVM_InversionTime",
        "PVM_ExcPulse1",
        "PVM_ExcPulseAngle",
        "PVM_Matrix",
        "PVM_Fov",
        "PVM_SliceThick",
        "PVM_SpatResol",
        "PVM_SpatDimEnum",
        "PVM_Nucleus1",
        "PVM_NAverages",
        "PVM_NRepetitions",
        "PVM_SPackArrNSlices",
        "PVM_DwNDiffDir",
        "PVM_DwBvalEach",
        "PVM_RareFactor",
        "PVM_NEchoImages",
        "PVM_ScanTimeStr",
    ),
    "visu_pars": (
        "VisuVersion",
        "VisuCreator",
        "VisuCreatorVersion",
        "VisuManufacturer",
        "VisuAcqSoftwareVersion",
        "VisuStudyNumber",
        "VisuExperimentNumber",
        "VisuProcessingNumber",
        "VisuSubjectSex",
        "VisuSubjectWeight",
        "VisuSubjectType",
        "VisuAcqSequenceName",
        "VisuAcquisitionProtocol",
        "VisuAcqRepetitionTime",
        "VisuAcqEchoTime",
        "VisuAcqInversionTime",
        "VisuAcqFlipAngle",
        "VisuCoreDim",
        "VisuCoreSize",
        "VisuCoreExtent",
        "VisuCoreFrameCount",
        "VisuCoreFrameThickness",
        "VisuCoreWordType",
        "VisuAcqImagedNucleus",
        "VisuAcqNumberOfAverages",
        "VisuAcqImagingFrequency",
        "VisuFGOrderDesc",
        "VisuAcqEchoSequenceType",
    ),
    "reco": ("RECO_size", "RECO_fov", "RECO_wordtype", "RECO_map_mode"),
}

_TEXT_DATES = (
    "%Y-%m-%dT%H:%M:%S,%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%H:%M:%S %d %b %Y",
    "%d %b %Y",
    "%Y%m%d",
    "%Y-%m-%d",
)
_COMMENT_OLD = re.compile(r"^\w{3} (\w{3})\s+(\d{1,2}) \d\d:\d\d:\d\d (\d{4})\b")
_COMMENT_NEW = re.compile(r"^(\d{4}-\d\d-\d\d)[ T]\d\d:\d\d")
_PV_TITLE = re.compile(r"ParaVision\s+(.+)$")

Pseudonymise = Callable[[str], str]


def to_date(value: Any) -> date | None:
    """A ParaVision date in any of its forms, or None.

    Accepts epoch seconds (`ACQ_abs_time`), epoch tuples `(sec, ms, tz-offset-min)`
    (PV6+) and the text forms `<10:21:48  2 Mar 2012>`, `<2019-05-21T12:00:00,123+0200>`,
    `<20240725>`.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC).date()
    if isinstance(value, list) and value and isinstance(value[0], int | float):
        offset = value[2] if len(value) > 2 and isinstance(value[2], int) else 0
        tz = timezone(timedelta(minutes=offset))
        return datetime.fromtimestamp(value[0], tz=tz).date()
    if isinstance(value, str):
        return _text_date(" ".join(value.split()))
    return None


def _text_date(text: str) -> date | None:
    for fmt in _TEXT_DATES:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def comment_date(comments: list[str]) -> date | None:
    """The write date from the header comments (`$$ Fri Mar  2 10:21:48 2012 ...`)."""
    for comment in comments:
        old = _COMMENT_OLD.match(comment)
        if old:
            return _text_date(f"{old.group(2)} {old.group(1)} {old.group(3)}")
        new = _COMMENT_NEW.match(comment)
        if new:
            return _text_date(new.group(1))
    return None


def pv_version(parsed: JcampFile) -> str | None:
    """ParaVision version from `##TITLE` (PV6+), else from `ACQ_sw_version` (PV5)."""
    match = _PV_TITLE.search(parsed.title or "")
    if match:
        return match.group(1).strip()
    software = parsed.get("ACQ_sw_version")
    return str(software) if software else None


def _first_date(parsed: JcampFile, keys: tuple[str, ...]) -> date | None:
    for key in keys:
        found = to_date(parsed.get(key))
        if found:
            return found
    return None


def file_facts(kind: str, parsed: JcampFile, pseudonymise: Pseudonymise) -> dict[str, Any]:
    """The cached facts of one parameter file of `kind`."""
    data: dict[str, Any] = {
        "params": {k: parsed.params[k] for k in KEEP[kind] if k in parsed.params},
        "version": pv_version(parsed),
    }
    origin = parsed.header.get("ORIGIN", "")
    if "bruker" in origin.lower():
        data["origin"] = origin  # the manufacturer; any other ORIGIN may name a site
    written = comment_date(parsed.header_comments)
    if written:
        data["written"] = written.isoformat()
    extra = _EXTRAS.get(kind)
    if extra:
        data.update(extra(parsed, pseudonymise))
    if parsed.warnings:
        data["warnings"] = parsed.warnings
    return {k: v for k, v in data.items() if v is not None}


def _subject_extras(parsed: JcampFile, pseudonymise: Pseudonymise) -> dict[str, Any]:
    studied = _first_date(parsed, ("SUBJECT_date", "SUBJECT_abs_date", "SUBJECT_study_date"))
    studied = studied or comment_date(parsed.header_comments)
    born = to_date(parsed.get("SUBJECT_dbirth"))
    subject_id = parsed.get("SUBJECT_id")
    return {
        "pseudonym": pseudonymise(str(subject_id)) if subject_id not in (None, "") else None,
        "study_date": studied.isoformat() if studied else None,
        "age": _age(born, studied),
    }


def _age(born: date | None, studied: date | None) -> str | None:
    """Age at scan as an ISO 8601 duration in days (the birth date itself is not kept)."""
    if not born or not studied or studied < born:
        return None
    return f"P{(studied - born).days}D"


def _acqp_extras(parsed: JcampFile, pseudonymise: Pseudonymise) -> dict[str, Any]:
    acquired = _first_date(parsed, ("ACQ_abs_time", "ACQ_time"))
    return {"acq_date": acquired.isoformat() if acquired else None}


def _visu_extras(parsed: JcampFile, pseudonymise: Pseudonymise) -> dict[str, Any]:
    studied = to_date(parsed.get("VisuStudyDate"))
    acquired = _first_date(parsed, ("VisuAcqDate", "VisuSeriesDate"))
    subject_id = parsed.get("VisuSubjectId")
    uid = parsed.get("VisuStudyUid")
    return {
        "pseudonym": pseudonymise(str(subject_id)) if subject_id not in (None, "") else None,
        "study_date": studied.isoformat() if studied else None,
        "acq_date": acquired.isoformat() if acquired else None,
        "study_uid": str(uid) if uid else None,
    }


_EXTRAS: dict[str, Callable[[JcampFile, Pseudonymise], dict[str, Any]]] = {
    "subject": _subject_extras,
    "acqp": _acqp_extras,
    "visu_pars": _visu_extras,
}

"""DICOM through the PS3.15 Basic Application Level Confidentiality Profile.

Per attribute (Annex E, Table E.1-1): the patient's name and id become the subject's
pseudonym (D); type-2 identifiers such as StudyID and AccessionNumber are emptied (Z);
every other identifying attribute of `harvesters.privacy.IDENTIFYING_KEYWORDS` is
removed (X); private attributes are removed unless allow-listed; instance UIDs are
remapped (U) through one `UidMap` per package, so references between files still agree;
dates are shifted by the package's offset or removed, per policy. Options applied and
announced in DeidentificationMethodCodeSequence: Retain Patient Characteristics (sex,
age, size, weight) when the policy keeps them, Retain Longitudinal Temporal Information
with Modified Dates when shifting, Clean Descriptors (descriptions keep their text with
the patient's name and id cut out).

A file flagged BurnedInAnnotation = YES, one pydicom cannot read, or one that still
holds an identifying attribute after cleaning (re-read and checked) is refused with
`Uncleanable`; the gate stops the deposit and names it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from exporters.deid.policy import DeidPolicy
from harvesters.privacy import IDENTIFYING_KEYWORDS

STANDARD_UID_ROOT = "1.2.840.10008."
PSEUDONYMISED = frozenset({"PatientName", "PatientID"})
EMPTIED = frozenset({"StudyID", "AccessionNumber", "ReferringPhysicianName", "PatientBirthDate"})
CHARACTERISTICS = frozenset({"PatientSex", "PatientAge", "PatientWeight", "PatientSize"})
DESCRIPTORS = frozenset({"StudyDescription", "SeriesDescription", "ProtocolName"})
DATE_VRS = frozenset({"DA", "DT"})
#: Dates in the identifying list that the date policy handles instead of removing.
POLICY_DATES = frozenset(
    {"StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "AcquisitionDateTime"}
)
TIMES = frozenset({"StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime"})
REMOVED = IDENTIFYING_KEYWORDS - PSEUDONYMISED - EMPTIED - CHARACTERISTICS - POLICY_DATES - TIMES

_CODES = {
    "113100": "Basic Application Confidentiality Profile",
    "113105": "Clean Descriptors Option",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
}


class Uncleanable(Exception):
    """A file the gate cannot make safe; the message says why (for the report)."""


@dataclass
class DicomStats:
    private_removed: int = 0
    attributes_removed: int = 0


class UidMap:
    """Old UID -> new UID, the same for every file of one package (salted, deterministic).

    New UIDs are `2.25.<128-bit integer>` (the UUID-derived root of PS3.5 B.2), taken from
    a salted SHA-256 of the old one: consistent within a package, unlinkable across.
    """

    def __init__(self, salt: bytes) -> None:
        self._salt = salt.hex()
        self._map: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._map)

    def get(self, uid: str) -> str:
        if not uid or uid.startswith(STANDARD_UID_ROOT):
            return uid  # SOP classes, transfer syntaxes, coding schemes: not identifying
        if uid not in self._map:
            digest = hashlib.sha256(f"{self._salt}\x1f{uid}".encode()).digest()[:16]
            self._map[uid] = "2.25." + str(int.from_bytes(digest, "big"))
        return self._map[uid]

    def is_new(self, uid: str) -> bool:
        return uid.startswith(STANDARD_UID_ROOT) or uid in self._map.values()


class _Cleaner:
    """One file's walk: applies the profile element by element."""

    def __init__(self, policy: DeidPolicy, uids: UidMap, secrets: list[str]) -> None:
        self.policy = policy
        self.uids = uids
        self.secrets = [s for s in secrets if len(s) >= 3]
        self.stats = DicomStats()

    def __call__(self, ds: Dataset, elem: DataElement) -> None:
        if elem.tag.is_private:
            if not self._private_allowed(ds, elem):
                del ds[elem.tag]
                self.stats.private_removed += 1
            return
        if elem.tag.group & 0xFF00 in (0x5000, 0x6000):  # curves and overlays (X)
            del ds[elem.tag]
            self.stats.attributes_removed += 1
            return
        self._standard(ds, elem)

    def _standard(self, ds: Dataset, elem: DataElement) -> None:
        keyword = elem.keyword
        if keyword in PSEUDONYMISED:
            elem.value = self.policy.subject
        elif keyword in EMPTIED:
            elem.value = ""
        elif keyword in REMOVED or (
            keyword in CHARACTERISTICS and not self.policy.keep_patient_characteristics
        ):
            del ds[elem.tag]
            self.stats.attributes_removed += 1
        elif keyword in DESCRIPTORS and isinstance(elem.value, str):
            elem.value = self._clean_text(elem.value)
        elif elem.VR == "UI" and elem.value:
            elem.value = self._remap(elem.value)
        elif elem.VR in DATE_VRS and elem.value:
            elem.value = self._date(elem)
        elif keyword in TIMES and self.policy.dates == "remove":
            elem.value = ""

    def _private_allowed(self, ds: Dataset, elem: DataElement) -> bool:
        if not self.policy.private_allow:
            return False
        if elem.tag.element < 0x0100:  # a private creator: kept if any of its blocks is
            return any(str(elem.value) == creator for creator, _ in self.policy.private_allow)
        creator_tag = (elem.tag.group << 16) | (elem.tag.element >> 8)
        creator = ds.get(creator_tag)
        name = str(creator.value) if creator is not None else ""
        return (name, elem.tag.element & 0xFF) in self.policy.private_allow

    def _clean_text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "")
        return text

    def _remap(self, value: Any) -> Any:
        if isinstance(value, list | pydicom.multival.MultiValue):
            return [self.uids.get(str(v)) for v in value]
        return self.uids.get(str(value))

    def _date(self, elem: DataElement) -> str:
        if self.policy.dates == "remove":
            return ""
        raw = str(elem.value).strip()
        try:
            if elem.VR == "DA":
                return self.policy.shift(datetime.strptime(raw[:8], "%Y%m%d").date()).strftime(
                    "%Y%m%d"
                )
            shifted = self.policy.shift(datetime.strptime(raw[:8], "%Y%m%d").date())
            return shifted.strftime("%Y%m%d") + raw[8:]
        except ValueError:
            return ""  # an unparseable date cannot be shifted safely: drop its value


def _secrets(ds: Dataset) -> list[str]:
    """The patient's name parts and ids, to cut out of free-text descriptors."""
    found: list[str] = []
    name = str(ds.get("PatientName", "") or "")
    found += [part for part in name.replace("^", " ").split() if part]
    found.append(str(ds.get("PatientID", "") or ""))
    return found


def _mark(ds: Dataset, policy: DeidPolicy) -> None:
    codes = ["113100", "113105"]
    if policy.dates == "shift":
        codes.append("113107")
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    if policy.keep_patient_characteristics:
        codes.append("113108")
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "PS3.15 E.1 Basic Profile (Imagora de-identification gate)"
    items = []
    for code in codes:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = _CODES[code]
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items


#: File meta attributes that name the sending station or carry private payloads.
META_REMOVED = (
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "PrivateInformationCreatorUID",
    "PrivateInformation",
)


def _clean_meta(ds: Dataset) -> None:
    """The file meta group (not walked with the dataset): station titles go, the stored
    instance UID follows the remapped SOPInstanceUID."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        return
    for keyword in META_REMOVED:
        if keyword in meta:
            delattr(meta, keyword)
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def _read(src: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(src)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError) as exc:
        raise Uncleanable(f"cannot be read as DICOM ({exc})") from exc
    if "SOPClassUID" not in ds:
        raise Uncleanable("cannot be read as DICOM (no SOP Class UID: damaged or truncated)")
    return ds


def clean_dicom(src: Path, dst: Path, policy: DeidPolicy, uids: UidMap) -> DicomStats:
    """Write the de-identified copy of `src` to `dst`; raise Uncleanable when impossible."""
    ds = _read(src)
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise Uncleanable(
            "flagged with burned-in annotation (0028,0301 = YES): the pixels may show "
            "identifying text, which this gate cannot remove"
        )
    cleaner = _Cleaner(policy, uids, _secrets(ds))
    ds.walk(cleaner)
    _mark(ds, policy)
    _clean_meta(ds)
    try:
        ds.save_as(dst)
    except (ValueError, TypeError, OSError) as exc:
        raise Uncleanable(f"cannot be written after cleaning ({exc})") from exc
    verify_clean(dst, policy, uids)
    return cleaner.stats


def leftovers(ds: Dataset, policy: DeidPolicy) -> list[str]:
    """Identifying content still present in a dataset (empty when clean)."""
    problems: list[str] = []

    def check(_ds: Dataset, elem: DataElement) -> None:
        keyword = elem.keyword
        if elem.tag.is_private and not _allowed_after(elem, policy):
            problems.append(f"private attribute {elem.tag}")
        elif keyword in REMOVED and elem.value not in (None, "", []):
            problems.append(f"{keyword} is still present")
        elif keyword in PSEUDONYMISED and str(elem.value) != policy.subject:
            problems.append(f"{keyword} is not the pseudonym")

    ds.walk(check)
    return problems


def _allowed_after(elem: DataElement, policy: DeidPolicy) -> bool:
    return bool(policy.private_allow)  # allow-listed blocks were the only ones kept


def verify_clean(path: Path, policy: DeidPolicy, uids: UidMap) -> None:
    """Re-read the written file and refuse it if anything identifying is left."""
    ds = _read(path)
    problems = leftovers(ds, policy)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = str(ds.get(keyword, "") or "")
        if value and not uids.is_new(value):
            problems.append(f"{keyword} was not remapped")
    if problems:
        raise Uncleanable("still identifying after cleaning: " + "; ".join(problems))

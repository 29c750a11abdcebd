"""Privacy rules shared by all harvesters: keyed pseudonyms and the PS3.15 basic profile.

Subject identifiers never reach the catalogue: they become HMAC-SHA256 pseudonyms keyed
with the installation secret, so the same subject maps to the same pseudonym across
harvests, but nobody without the key can reverse or re-derive it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import PurePath
from typing import Any

#: DICOM keywords from PS3.15 Annex E basic profile (identifying attributes, plus dates
#: and free text that may identify). Raw header dumps kept for curation drop these.
IDENTIFYING_KEYWORDS: frozenset[str] = frozenset(
    {
        "AccessionNumber",
        "AcquisitionComments",
        "AcquisitionDate",
        "AcquisitionDateTime",
        "AcquisitionTime",
        "AdditionalPatientHistory",
        "AdmissionID",
        "AdmittingDiagnosesDescription",
        "Allergies",
        "Arbitrary",
        "AuthorObserverSequence",
        "BranchOfService",
        "CommentsOnThePerformedProcedureStep",
        "ConsultingPhysicianName",
        "ContentCreatorName",
        "ContentDate",
        "ContentTime",
        "ContrastBolusAgent",
        "CountryOfResidence",
        "CurrentPatientLocation",
        "CurveDate",
        "CurveTime",
        "DerivationDescription",
        "DetectorID",
        "DeviceSerialNumber",
        "DeviceUID",
        "DigitalSignaturesSequence",
        "ImageComments",
        "InstanceCreationDate",
        "InstanceCreationTime",
        "InstanceCreatorUID",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionName",
        "InsurancePlanIdentification",
        "IntendedRecipientsOfResultsIdentificationSequence",
        "InterpretationApproverSequence",
        "InterpretationAuthor",
        "InterpretationRecorder",
        "InterpretationTranscriber",
        "IssuerOfAdmissionID",
        "IssuerOfPatientID",
        "MedicalAlerts",
        "MedicalRecordLocator",
        "MilitaryRank",
        "ModifiedAttributesSequence",
        "NameOfPhysiciansReadingStudy",
        "OperatorsName",
        "OrderCallbackPhoneNumber",
        "OrderEnteredBy",
        "OrderEntererLocation",
        "OriginalAttributesSequence",
        "OtherPatientIDs",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "OverlayDate",
        "OverlayTime",
        "ParticipantSequence",
        "PatientAddress",
        "PatientBirthDate",
        "PatientBirthName",
        "PatientBirthTime",
        "PatientComments",
        "PatientID",
        "PatientInsurancePlanCodeSequence",
        "PatientMotherBirthName",
        "PatientName",
        "PatientPrimaryLanguageCodeSequence",
        "PatientReligiousPreference",
        "PatientState",
        "PatientTelephoneNumbers",
        "PatientTelecomInformation",
        "PerformedLocation",
        "PerformedProcedureStepDescription",
        "PerformedProcedureStepID",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformingPhysicianIdentificationSequence",
        "PerformingPhysicianName",
        "PersonAddress",
        "PersonName",
        "PersonTelephoneNumbers",
        "PhysicianApprovingInterpretation",
        "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence",
        "PhysiciansReadingStudyIdentificationSequence",
        "PlateID",
        "PreMedication",
        "ReasonForStudy",
        "ReferencedPatientSequence",
        "ReferringPhysicianAddress",
        "ReferringPhysicianIdentificationSequence",
        "ReferringPhysicianName",
        "ReferringPhysicianTelephoneNumbers",
        "RegionOfResidence",
        "RequestAttributesSequence",
        "RequestedProcedureDescription",
        "RequestedProcedureID",
        "RequestingPhysician",
        "RequestingService",
        "ResponsibleOrganization",
        "ResponsiblePerson",
        "ResultsIDIssuer",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepDescription",
        "ScheduledProcedureStepEndDate",
        "ScheduledProcedureStepStartDate",
        "SeriesDate",
        "SeriesTime",
        "SpecialNeeds",
        "StationName",
        "StudyDate",
        "StudyID",
        "StudyTime",
        "StudyComments",
        "TextComments",
        "TextString",
        "TopicAuthor",
        "TopicKeywords",
        "TopicSubject",
        "TopicTitle",
        "VerifyingObserverName",
        "VerifyingObserverSequence",
        "VerifyingOrganization",
        "VisitComments",
        "Occupation",
        "EthnicGroup",
        "SmokingStatus",
        "PregnancyStatus",
        "LastMenstrualDate",
        "PatientSize",
        "PatientAge",
        "PatientSex",
        "PatientWeight",
    }
)
"""PatientAge/Sex/Weight are in the profile but kept *normalized* (age, sex, weight)."""


def pseudonym(secret: bytes, *parts: str) -> str:
    """Stable keyed pseudonym for a subject id (scoped by source parts such as the site).

    Returns "sub-" + 16 hex chars of HMAC-SHA256; raises ValueError without a secret so a
    misconfigured harvest cannot silently store a reversible hash.
    """
    if not secret:
        raise ValueError("no installation secret: pseudonyms need IMAGORA_SECRET_KEY or a data dir")
    message = "\x1f".join(parts).encode("utf-8")
    return "sub-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def scrub_header(header: dict[str, object]) -> dict[str, object]:
    """A raw header dump (keyword -> value) minus the identifying attributes."""
    return {k: v for k, v in header.items() if k not in IDENTIFYING_KEYWORDS}


#: What replaces an identifying value when the subject's pseudonym is not known yet.
REDACTED = "redacted"

#: Attributes whose values name the patient (split into words: any word may recur in free
#: text or folder names, `DOE^JOHN` as "John's scan" or `DOE_JOHN/`).
NAME_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
)
#: Attributes whose whole values identify the patient or the visit (MRNs, accession
#: numbers): they recur verbatim in descriptions ("Study of patient MRN55555").
ID_KEYWORDS: tuple[str, ...] = (
    "PatientID",
    "OtherPatientIDs",
    "AccessionNumber",
    "AdmissionID",
    "MedicalRecordLocator",
)
_NAME_SPLIT = re.compile(r"[\^\s=,/\\]+")
#: Letters only: a name part matches as a word, so `LI` is found in `LI^XU`, `li_xu/` and
#: "scan of Li" but never inside "SLICE"; digits around it still count as a boundary
#: (`SMITH01`).
_NOT_LETTER_BEFORE = r"(?<![^\W\d_])"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"
_NOT_ALNUM_BEFORE = r"(?<![^\W_])"
_NOT_ALNUM_AFTER = r"(?![^\W_])"
#: Ids this long are distinctive enough to find inside longer tokens (`P12345678_T1`).
_SUBSTRING_ID_LENGTH = 6


def _values(value: object) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):  # a sequence item, e.g. OtherPatientIDsSequence
            out += _values(item.get("PatientID"))
        elif item is not None and str(item).strip():
            out += [v.strip() for v in str(item).split("\\") if v.strip()]
    return out


class Scrubber:
    """Finds and replaces the identifying values one file holds in any text.

    Built from the file's own attributes (names split into parts, ids whole); matching is
    case-insensitive and at token boundaries, so short name parts (`LI^XU`) are scrubbed
    without eating ordinary words. The identifying values live only inside this object.
    """

    def __init__(self, names: list[str], ids: list[str], replacement: str) -> None:
        self.replacement = replacement
        parts = {p for name in names for p in _NAME_SPLIT.split(name) if len(p) >= 2}
        alternatives = [
            _NOT_LETTER_BEFORE + re.escape(p) + _NOT_LETTER_AFTER
            for p in sorted(parts, key=len, reverse=True)
        ]
        for value in sorted(set(ids), key=len, reverse=True):
            if len(value) >= _SUBSTRING_ID_LENGTH:
                alternatives.append(re.escape(value))
            elif len(value) >= 2:
                alternatives.append(_NOT_ALNUM_BEFORE + re.escape(value) + _NOT_ALNUM_AFTER)
        self.pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
        # The pattern's look-arounds make `re` try every alternative at every position;
        # a substring test of the lowered values first rules most texts out ~50x faster.
        # Only for ASCII (values and text), where case-insensitive equality is exactly
        # equality of `lower()`; anything else goes to the pattern alone.
        needles = {p.lower() for p in parts} | {v.lower() for v in ids if len(v) >= 2}
        self.needles = tuple(needles) if all(n.isascii() for n in needles) else None
        # "DOE^JOHN" -> "sub-1a^sub-1a" reads better as one "sub-1a"
        rep = re.escape(replacement)
        self.repeats = re.compile(f"{rep}(?:[\\^\\s_=,.-]+{rep})+") if replacement else None

    @classmethod
    def from_header(cls, values: dict[str, Any], replacement: str) -> Scrubber:
        names = [v for key in NAME_KEYWORDS for v in _values(values.get(key))]
        ids = [v for key in ID_KEYWORDS for v in _values(values.get(key))]
        ids += _values(values.get("OtherPatientIDsSequence"))
        return cls(names, ids, replacement)

    def __bool__(self) -> bool:
        return self.pattern is not None

    def mentions(self, text: str | None) -> bool:
        if not text or self.pattern is None:
            return False
        if self.needles is not None and text.isascii():
            lowered = text.lower()
            if not any(needle in lowered for needle in self.needles):
                return False
        return bool(self.pattern.search(text))

    def scrub(self, text: str) -> str:
        if not self.mentions(text):
            return text
        assert self.pattern is not None  # mentions() says so
        scrubbed = self.pattern.sub(self.replacement, text)
        if scrubbed != text and self.repeats is not None:
            scrubbed = self.repeats.sub(self.replacement, scrubbed)
        return scrubbed

    def scrub_optional(self, text: str | None) -> str | None:
        """Scrubbed text, or None when nothing but the identifying values was in it (a
        StudyDescription that is just the patient's name says nothing else)."""
        if not text or self.pattern is None:
            return text
        scrubbed = self.scrub(text)
        if scrubbed == text:
            return text
        rest = self.pattern.sub("", text)
        return scrubbed if re.search(r"[^\W_]", rest) else None


def path_aliases(path: str, scrubber: Scrubber) -> list[list[str]]:
    """[folder or file name, same with the patient's names and ids replaced].

    PACS and scanner exports often name folders after the patient (`DOE^JOHN/`,
    `12345678/`), at any depth above the file and including the harvested folder itself;
    the catalogue lists file paths and titles the collection after the harvested folder,
    so every such component is pseudonymised. The raw names stay in the harvest state
    only (to map paths), never in records.
    """
    if not scrubber.mentions(path):  # no part can mention what the whole path does not
        return []
    aliases = []
    for part in PurePath(path).parts:
        redacted = scrubber.scrub(part)
        if redacted != part:
            aliases.append([part, redacted])
    return aliases

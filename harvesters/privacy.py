"""Privacy rules shared by all harvesters: keyed pseudonyms and the PS3.15 basic profile.

Subject identifiers never reach the catalogue: they become HMAC-SHA256 pseudonyms keyed
with the installation secret, so the same subject maps to the same pseudonym across
harvests, but nobody without the key can reverse or re-derive it.
"""

from __future__ import annotations

import hashlib
import hmac

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

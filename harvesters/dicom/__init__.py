"""DICOM harvester: header extraction (fast scanner + pydicom fallback), BIDS guessing,
and assembly of the subject / session / acquisition hierarchy."""

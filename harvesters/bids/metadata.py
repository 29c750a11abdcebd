"""BIDS JSON to record fields: dataset_description to collection fields, sidecars to `Imaging`.

Pure functions over already-read JSON, shared by the raw and the derivative datasets.
Units follow the catalogue: BIDS times are seconds, `Imaging` wants milliseconds;
PET doses come with a separate unit field and are stored in becquerel.
"""

from __future__ import annotations

from typing import Any

from catalog.domain.enums import RelationType
from catalog.domain.records import Creator, Identifier, Imaging, Related, is_orcid
from harvesters.bids import normalize

MRI_DATATYPES = frozenset({"anat", "func", "dwi", "fmap", "perf", "mrs"})
_MODALITY_ALIASES = {"MR": "MR", "MRI": "MR", "PT": "PT", "PET": "PT", "CT": "CT"}


def creators(description: dict[str, Any]) -> list[Creator]:
    """BIDS `Authors` (strings, or objects with a name) to creators, order kept."""
    found: list[Creator] = []
    for author in description.get("Authors") or []:
        if isinstance(author, str) and author.strip():
            found.append(Creator(name=author.strip()))
        elif isinstance(author, dict) and str(author.get("name") or "").strip():
            orcid = author.get("orcid") or author.get("ORCID")
            orcid = orcid if isinstance(orcid, str) and is_orcid(orcid) else None
            found.append(Creator(name=str(author["name"]).strip(), orcid=orcid))
    return found


def identifiers(description: dict[str, Any]) -> list[Identifier]:
    doi = normalize.doi(description.get("DatasetDOI"))
    return [Identifier(identifier=doi, scheme="doi")] if doi else []


def references(description: dict[str, Any]) -> list[Related]:
    """ReferencesAndLinks entries that carry a DOI or a URL, as `References` links."""
    found: list[Related] = []
    for entry in _as_list(description.get("ReferencesAndLinks")):
        doi = normalize.doi(entry)
        if doi:
            found.append(Related(identifier=doi, scheme="DOI", relation=RelationType.References))
        elif normalize.is_url(entry):
            found.append(
                Related(identifier=entry.strip(), scheme="URL", relation=RelationType.References)
            )
    return found


def generated_by(description: dict[str, Any]) -> list[dict[str, Any]]:
    """GeneratedBy entries; the BIDS <1.4 `PipelineDescription` counts as one."""
    entries = [e for e in _as_list(description.get("GeneratedBy")) if isinstance(e, dict)]
    legacy = description.get("PipelineDescription")
    if not entries and isinstance(legacy, dict):
        entries = [legacy]
    return entries


def pipeline_links(description: dict[str, Any]) -> list[Related]:
    """Software that produced the dataset (GeneratedBy) as `IsCompiledBy` links."""
    found: list[Related] = []
    for entry in generated_by(description):
        url = entry.get("CodeURL")
        if normalize.is_url(url):
            identifier, scheme = url.strip(), "URL"
        elif entry.get("Name"):
            version = f"@{entry['Version']}" if entry.get("Version") else ""
            identifier, scheme = f"{entry['Name']}{version}", "bids:GeneratedBy"
        else:
            continue
        found.append(
            Related(
                identifier=identifier,
                scheme=scheme,
                relation=RelationType.IsCompiledBy,
                resource_type="Software",
            )
        )
    return found


def source_dataset_links(description: dict[str, Any]) -> list[Related]:
    """SourceDatasets entries with a DOI or an http(s) URL, as `IsDerivedFrom` links."""
    found: list[Related] = []
    for entry in _as_list(description.get("SourceDatasets")):
        if not isinstance(entry, dict):
            continue
        doi = normalize.doi(entry.get("DOI"))
        url = entry.get("URL")
        if doi:
            found.append(Related(identifier=doi, scheme="DOI", relation=RelationType.IsDerivedFrom))
        elif normalize.is_url(url):
            found.append(
                Related(identifier=url.strip(), scheme="URL", relation=RelationType.IsDerivedFrom)
            )
    return found


def keywords(description: dict[str, Any]) -> list[str]:
    return [k.strip() for k in _as_list(description.get("Keywords")) if isinstance(k, str)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def modality(metadata: dict[str, Any], datatype: str | None) -> str | None:
    declared = _MODALITY_ALIASES.get(str(metadata.get("Modality", "")).strip().upper())
    if declared:
        return declared
    if datatype == "pet":
        return "PT"
    return "MR" if datatype in MRI_DATATYPES else None


def _text(metadata: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, list):
            value = "\\".join(str(v) for v in value)
        if value not in (None, ""):
            return str(value)
    return None


def imaging(
    metadata: dict[str, Any], datatype: str | None, header: dict[str, Any] | None
) -> Imaging:
    """Normalized acquisition facts from merged sidecar metadata and the NIfTI header."""
    f = normalize.as_float
    return Imaging(
        modality=modality(metadata, datatype),
        field_strength_t=f(metadata.get("MagneticFieldStrength")),
        manufacturer=_text(metadata, "Manufacturer"),
        model=_text(metadata, "ManufacturersModelName"),
        sequence=_text(metadata, "PulseSequenceType", "SequenceName", "ScanningSequence"),
        sequence_variant=_text(metadata, "SequenceVariant"),
        scanning_sequence=_text(metadata, "ScanningSequence"),
        series_description=_text(metadata, "SeriesDescription", "ProtocolName"),
        image_type=[str(v) for v in metadata["ImageType"]]
        if isinstance(metadata.get("ImageType"), list)
        else None,
        tr_ms=normalize.seconds_to_ms(metadata.get("RepetitionTime")),
        te_ms=normalize.seconds_to_ms(metadata.get("EchoTime")),
        ti_ms=normalize.seconds_to_ms(metadata.get("InversionTime")),
        flip_angle_deg=f(metadata.get("FlipAngle")),
        slice_thickness_mm=f(metadata.get("SliceThickness")),
        software_version=_text(metadata, "SoftwareVersions"),
        body_part=_text(metadata, "BodyPart", "BodyPartExamined"),
        radiopharmaceutical=_text(metadata, "TracerName"),
        injected_dose_bq=normalize.radioactivity_bq(
            metadata.get("InjectedRadioactivity"), metadata.get("InjectedRadioactivityUnits")
        ),
        units=_text(metadata, "Units"),
        matrix=header["matrix"] if header else None,
        voxel_size_mm=header["voxel_size_mm"] if header else None,
        num_frames=header["matrix"][3] if header and len(header["matrix"]) > 3 else None,
    )

"""BIDS path grammar: entities, suffix, extension and datatype from a relative path.

The file name is the authoritative source of BIDS entities, so this parser is strict
about shape but tolerant about content: anything it cannot parse returns None and the
validator reports it, instead of stopping the harvest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DATATYPES: frozenset[str] = frozenset(
    {
        "anat", "beh", "dwi", "eeg", "emg", "fmap", "func", "ieeg", "meg", "micr",
        "motion", "mrs", "nirs", "perf", "pet", "phenotype",
    }
)  # fmt: skip
"""BIDS 1.11 datatypes (bidsschematools 2.0.1 `objects.datatypes`)."""

DATA_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".nii", ".nii.gz", ".edf", ".bdf", ".vhdr", ".set", ".fif", ".snirf", ".mefd",
        ".nwb", ".ome.tif", ".ome.btf", ".ome.zarr", ".png", ".tif", ".jpg",
    }
)  # fmt: skip
"""Extensions of primary data files: each becomes an acquisition record."""

DERIVED_EXTENSIONS: frozenset[str] = DATA_EXTENSIONS | {".gii", ".tsv", ".h5", ".mgz"}
"""In derivatives, tabular and surface outputs are results in their own right."""

NIFTI_EXTENSIONS: frozenset[str] = frozenset({".nii", ".nii.gz"})

SKIPPED_TOP_DIRS: frozenset[str] = frozenset({"sourcedata", "code", "stimuli"})
"""Top-level folders that BIDS lets hold anything: not catalogued, not validated."""


@dataclass(frozen=True)
class BidsName:
    """A parsed BIDS file name: ordered entities, suffix, extension, datatype."""

    entities: dict[str, str] = field(default_factory=dict)
    suffix: str | None = None
    extension: str = ""
    datatype: str | None = None

    @property
    def subject(self) -> str | None:
        return self.entities.get("sub")

    @property
    def session(self) -> str | None:
        return self.entities.get("ses")


def split_extension(name: str) -> tuple[str, str]:
    """("sub-01_T1w", ".nii.gz"): BIDS labels hold no dots, so the first dot starts it."""
    stem, dot, rest = name.partition(".")
    return stem, (dot + rest) if dot else ""


def parse_name(rel_path: str) -> BidsName | None:
    """Parse a POSIX path relative to its dataset root; None when it is not BIDS-shaped."""
    parts = rel_path.split("/")
    stem, extension = split_extension(parts[-1])
    if not stem:
        return None
    entities: dict[str, str] = {}
    suffix: str | None = None
    chunks = stem.split("_")
    for index, chunk in enumerate(chunks):
        key, dash, value = chunk.partition("-")
        if dash and key and value and key.isalnum():
            entities[key] = value
        elif index == len(chunks) - 1 and chunk.isalnum():
            suffix = chunk
        else:
            return None
    datatype = parts[-2] if len(parts) > 1 and parts[-2] in DATATYPES else None
    return BidsName(entities=entities, suffix=suffix, extension=extension, datatype=datatype)


def strip_extension(rel_path: str) -> str:
    """The record key body: relative path without the (multi-dot) extension."""
    head, _, name = rel_path.rpartition("/")
    stem, _ = split_extension(name)
    return f"{head}/{stem}" if head else stem


def dataset_root(rel_path: str) -> str:
    """The (possibly nested) dataset a file belongs to: "" or "derivatives/<name>[/...]"."""
    parts = rel_path.split("/")
    root_end = 0
    index = 0
    while index + 2 < len(parts):
        if parts[index] == "derivatives":
            root_end = index + 2
            index += 2
        else:
            break
    return "/".join(parts[:root_end])


def relative_to_root(rel_path: str, root: str) -> str:
    return rel_path[len(root) + 1 :] if root else rel_path

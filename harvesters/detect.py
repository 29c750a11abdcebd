"""What kind of imaging source a folder is, so `harvest TYPE DIR` can refuse a mismatch.

Given a DICOM folder to `bids`, or a BIDS dataset to `bruker`, a harvest would create an
empty or wrong collection. `kind_mismatch(path, kind)` looks at the folder cheaply (its
top for `dataset_description.json`; at most `MAX_ENTRIES` entries of a sorted walk for
DICOM files and ParaVision parameter files) and returns a message saying what it found
and which TYPE fits, or None when the folder is of the asked kind (or the kind is one
this module does not know, e.g. a remote source).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Entries looked at, at most: enough to meet a scan's files, bounded for huge trees.
MAX_ENTRIES = 5000
BRUKER_FILES = frozenset({"acqp", "method", "subject", "visu_pars", "2dseq", "fid", "reco"})
NIFTI_SUFFIXES = (".nii", ".nii.gz")
KNOWN_KINDS = frozenset({"dicom", "bids", "bruker"})
_NAMES = {
    "dicom": "DICOM files",
    "bids": "a BIDS dataset (dataset_description.json at its top)",
    "bruker": "Bruker ParaVision data (acqp / method / subject files)",
}


@dataclass
class Found:
    """Evidence of each kind: one example path (relative) per kind met."""

    examples: dict[str, str] = field(default_factory=dict)
    nifti: str | None = None

    def kinds(self) -> list[str]:
        return [kind for kind in ("bids", "dicom", "bruker") if kind in self.examples]


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".ima"):
        return True
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def _note(found: Found, root: Path, path: Path) -> None:
    rel = path.relative_to(root).as_posix() if path != root else path.name
    name = path.name
    if name in BRUKER_FILES or name.lower().endswith(".pvdatasets"):
        found.examples.setdefault("bruker", rel)
    elif name.lower().endswith(NIFTI_SUFFIXES):
        found.nifti = found.nifti or rel
    elif "dicom" not in found.examples and _is_dicom(path):
        found.examples["dicom"] = rel


def survey(root: Path, limit: int = MAX_ENTRIES, enough: str | None = None) -> Found:
    """What `root` holds, from a bounded, sorted walk (hidden entries skipped); the walk
    stops early once a file of kind `enough` is met (all a DICOM or Bruker check needs:
    BIDS is told by the top folder alone)."""
    found = Found()
    if (root / "dataset_description.json").is_file():
        found.examples["bids"] = "dataset_description.json"
    if root.is_file():
        _note(found, root.parent, root)
        return found
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            seen += 1
            _note(found, root, Path(folder) / name)
            if seen >= limit or len(found.examples) == 3 or _answered(found, enough):
                return found
    return found


def _answered(found: Found, kind: str | None) -> bool:
    """Whether `kind_mismatch(_, kind)` can no longer change: a file of that kind was met
    (and, for Bruker inside a BIDS dataset, whose message lists all it finds, never)."""
    if kind is None or kind not in found.examples:
        return False
    return not (kind == "bruker" and "bids" in found.examples)


def _describe(found: Found) -> str:
    parts = [
        _NAMES[kind] if kind == "bids" else f"{_NAMES[kind]} (e.g. {found.examples[kind]})"
        for kind in found.kinds()
    ]
    if found.nifti and "bids" not in found.examples:
        parts.append(f"NIfTI images without a BIDS dataset_description.json (e.g. {found.nifti})")
    return "; ".join(parts)


def kind_mismatch(path: Path, kind: str) -> str | None:
    """None when `path` is a `kind` source, else what was found and the TYPE that fits."""
    if kind not in KNOWN_KINDS:
        return None
    found = survey(path, enough=kind)
    kinds = found.kinds()
    if not kinds:
        # nothing recognisable (empty, or every file broken): the harvest reports each
        # bad file, and a source whose files are gone must still withdraw its records
        return None
    if kind == "bids" and "bids" in kinds:
        return None
    if kind != "bids" and kind in kinds and "bids" not in kinds:
        return None
    if kind == "dicom" and "dicom" in kinds:
        return None  # a BIDS dataset with a sourcedata/ DICOM copy is still DICOM to read
    message = f"{path} is not {_NAMES[kind]}: found {_describe(found)}"
    fits = [k for k in kinds if k != kind]
    if fits:
        message += f". Use `imagora harvest {fits[0]} {path}` instead"
    return message

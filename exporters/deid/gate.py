"""The de-identification gate: every file that leaves Imagora passes here, or nothing does.

`Gate.run(files, work_dir)` cleans each source file into a BIDS-shaped tree (the names
the caller chose), collects every refusal instead of stopping at the first, and raises
`DeidentificationError` naming each refused file when there is any: a deposit is all
clean files or no deposit. The clean tree gets `dataset_description.json` and a SHA-256
manifest, and is zipped deterministically (sorted names, fixed timestamps) so the same
record version always yields the same bytes and a resumed upload can skip it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from catalog.domain.errors import DeidentificationError
from catalog.domain.publishing import GateSummary
from exporters.deid.dicom import UidMap, Uncleanable, clean_dicom
from exporters.deid.files import (
    JCAMP_NAMES,
    TABLES_WITH_TIMES,
    clean_jcamp,
    clean_nifti,
    clean_participants,
    clean_sidecar,
    clean_times_table,
)
from exporters.deid.policy import DeidPolicy
from exporters.publishers.base import Package, PackageFile

MANIFEST = "manifest-sha256.txt"
DESCRIPTION = "dataset_description.json"
BIDS_VERSION = "1.10.0"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: Members above this size need ZIP64 headers announced before their data is written.
ZIP64_FROM = 2**31


@dataclass(frozen=True)
class SourceFile:
    """A file to publish: where it is, its name in the package, whose data it is."""

    source: Path
    name: str
    subject: str = "anonymous"


def is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".ima", ".dicom"):
        return True
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def digests(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


class Gate:
    """Cleans one package with one policy (one UID map: references stay consistent)."""

    def __init__(self, policy: DeidPolicy) -> None:
        self.policy = policy
        self.uids = UidMap(policy.salt)
        self.summary = GateSummary()

    def run(self, files: list[SourceFile], work_dir: Path, description: dict) -> Package:
        tree = work_dir / "package"
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
        problems: list[tuple[str, str]] = []
        for item in files:
            try:
                self._clean_one(item, tree)
            except Uncleanable as exc:
                problems.append((item.name, str(exc)))
        if problems:
            names = ", ".join(name for name, _ in problems[:5])
            raise DeidentificationError(
                f"the de-identification gate refused {len(problems)} file(s): {names}; "
                "nothing was sent. Remove or fix these files (or restrict the record) and "
                "publish again",
                problems=problems,
            )
        self.summary.remapped_uids = len(self.uids)
        return self._package(tree, work_dir, description)

    def _clean_one(self, item: SourceFile, tree: Path) -> None:
        if not item.source.is_file():
            raise Uncleanable(f"the file is missing from the harvested location ({item.source})")
        dst = tree / item.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        base = Path(item.name).name
        if base == "subject":  # Bruker subject file: names and ids, never packaged
            self.summary.notes.append(f"{item.name}: Bruker subject file left out")
            return
        if is_dicom(item.source):
            stats = clean_dicom(item.source, dst, self.policy.with_subject(item.subject), self.uids)
            self.summary.dicom_cleaned += 1
            self.summary.removed_private_tags += stats.private_removed
        else:
            self._clean_other(item.source, dst, base)
        self.summary.files += 1
        self.summary.bytes += dst.stat().st_size

    def _clean_other(self, src: Path, dst: Path, base: str) -> None:
        lowered = base.lower()
        if lowered.endswith(".json"):
            clean_sidecar(src, dst)
        elif lowered == "participants.tsv":
            clean_participants(src, dst)
        elif lowered in TABLES_WITH_TIMES or lowered.endswith(("_scans.tsv", "_sessions.tsv")):
            clean_times_table(src, dst, self.policy)
        elif lowered.endswith((".nii", ".nii.gz")):
            clean_nifti(src, dst)
        elif lowered in JCAMP_NAMES:
            clean_jcamp(src, dst)
        else:
            shutil.copyfile(src, dst)

    def _package(self, tree: Path, work_dir: Path, description: dict) -> Package:
        (tree / DESCRIPTION).write_text(
            json.dumps(_description(tree / DESCRIPTION, description), indent=2) + "\n",
            encoding="utf-8",
        )
        names = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
        lines = [f"{digests(tree / name)[1]}  {name}" for name in names if name != MANIFEST]
        manifest = tree / MANIFEST
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
        archive = work_dir / "dataset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name in sorted([*names, MANIFEST] if MANIFEST not in names else names):
                info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                large = (tree / name).stat().st_size > ZIP64_FROM
                with (
                    (tree / name).open("rb") as src,
                    zipped.open(info, "w", force_zip64=large) as dst,
                ):
                    shutil.copyfileobj(src, dst)
        return Package(
            files=tuple(_entry(p, p.name) for p in (archive, manifest, tree / DESCRIPTION))
        )


def _description(existing: Path, ours: dict) -> dict:
    """The dataset's own (cleaned) description when it has one, with the gate named in
    `GeneratedBy`; else ours."""
    try:
        original = json.loads(existing.read_text(encoding="utf-8")) if existing.is_file() else {}
    except (OSError, ValueError):
        original = {}
    if not isinstance(original, dict) or not original:
        return {"BIDSVersion": BIDS_VERSION, **ours}
    generated = list(original.get("GeneratedBy") or []) + list(ours.get("GeneratedBy") or [])
    return {**original, "GeneratedBy": generated}


def _entry(path: Path, name: str) -> PackageFile:
    md5, sha = digests(path)
    return PackageFile(name=name, path=path, size=path.stat().st_size, md5=md5, sha256=sha)

"""The Bruker ParaVision harvester (PV5.1, PV6, PV7, PV360): study folders, bare scan
folders, and `.zip` / `.PvDatasets` archives of either.

`discover` lists the parameter files (subject, acqp, method, pdata/*/visu_pars and reco),
species mapping files and archives; `read` parses one of them (or every member of an
archive, without extracting it) into non-identifying facts; `assemble` builds
collection -> subject -> session (study) -> acquisition (scan) records from the facts.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from harvesters.base import FileFacts, HarvestedRecord, Harvester, HarvestOptions, ItemError
from harvesters.bruker.build import RecordBuilder
from harvesters.bruker.jcamp import JcampFile, parse_jcamp
from harvesters.bruker.layout import file_kind, is_archive
from harvesters.bruker.mapping import species_concept
from harvesters.bruker.params import file_facts
from harvesters.privacy import REDACTED, Scrubber, path_aliases, pseudonym
from harvesters.walk import walk_files

#: Parameter files larger than this are not ParaVision parameter files (guards archives).
MAX_PARAMETER_FILE = 64 * 1024 * 1024


class BrukerHarvester(Harvester):
    """Harvests ParaVision data from a folder or an archive."""

    name: ClassVar[str] = "bruker"
    version: ClassVar[str] = "1.0.0"
    summary: ClassVar[str] = "ParaVision study folders, or .zip / .PvDatasets exports"
    example: ClassVar[str] = "imagora harvest bruker /data/paravision --species rat"
    Options: ClassVar[type[HarvestOptions]] = HarvestOptions

    # -- discover -------------------------------------------------------------------------

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        if location.is_file():
            if is_archive(location) or file_kind(PurePosixPath(location.as_posix())):
                yield location
            return
        yield from _walk(location)

    # -- read -----------------------------------------------------------------------------

    def read(self, path: Path) -> list[FileFacts]:
        if is_archive(path):
            return self._read_archive(path)
        kind = file_kind(PurePosixPath(path.as_posix()))
        if kind is None:
            raise ValueError(f"{path}: not a ParaVision parameter or species file")
        raw = path.read_bytes()
        return [self._facts(str(path), kind, raw)]

    def _facts(self, name: str, kind: str, raw: bytes) -> FileFacts:
        text = raw.decode("latin-1")
        if kind == "species_map":
            data = self._species_rows(text, name)
        else:
            parsed = parse_jcamp(text, name, strict=False)  # odd values: warnings
            data = file_facts(kind, parsed, self._pseudonym)
            if kind == "subject":
                data.update(_folder_alias(name, parsed.get("SUBJECT_id"), data.get("pseudonym")))
            if kind in ("subject", "visu_pars"):
                _scrub_subject(name, parsed, data)
        data["size"] = len(raw)
        return FileFacts(path=name, kind=kind, data=data)

    def _pseudonym(self, subject_id: str) -> str:
        return pseudonym(self.options.secret, "bruker", subject_id)

    def _read_archive(self, path: Path) -> list[FileFacts]:
        try:
            with zipfile.ZipFile(path) as archive:
                members = sorted(archive.infolist(), key=lambda i: i.filename)
                return [f for info in members if (f := self._read_member(path, archive, info))]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise ValueError(f"{path}: not a readable zip archive ({exc})") from exc

    def _read_member(
        self, path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo
    ) -> FileFacts | None:
        kind = file_kind(PurePosixPath(info.filename))
        if info.is_dir() or kind is None:
            return None
        name = f"{path}!/{info.filename}"
        try:
            if info.file_size > MAX_PARAMETER_FILE:
                raise ValueError(
                    f"{name}: {info.file_size} bytes is too large for a parameter file"
                )
            return self._facts(name, kind, archive.read(info))
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            return FileFacts(path=name, kind="error", data={"error": str(exc)})

    def _species_rows(self, text: str, name: str) -> dict[str, Any]:
        """participants.tsv / species.tsv -> {pseudonym: species} (ids never kept)."""
        try:
            rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
        except csv.Error as exc:  # e.g. a field over the csv module's 128 KB limit
            raise ValueError(f"{name}: not a readable TSV file ({exc})") from None
        subjects: dict[str, dict[str, Any]] = {}
        default: dict[str, Any] | None = None
        for number, row in enumerate(rows, start=2):
            entry = _species_entry(row, name, number)
            if entry is None:
                continue
            subject_id = (row.get("participant_id") or row.get("subject_id") or "").strip()
            if not subject_id:
                default = default or entry
                continue
            for candidate in {subject_id, subject_id.removeprefix("sub-")}:
                subjects[self._pseudonym(candidate)] = entry
        return {"subjects": subjects, "default": default}

    # -- assemble -------------------------------------------------------------------------

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        builder = RecordBuilder(location, self.options, self.version)
        yield from builder.build(facts)


def _species_entry(row: dict[str, str | None], name: str, number: int) -> dict[str, Any] | None:
    species = (row.get("species") or "").strip()
    if not species or species.lower() in ("n/a", "na"):
        return None
    try:
        concept = species_concept(species)
    except ValueError as exc:
        raise ValueError(f"{name}: line {number}: {exc}") from exc
    strain = (row.get("strain") or "").strip()
    return {"iri": concept.iri, "label": concept.label, "strain": strain or None}


def _walk(root: Path) -> Iterator[Path | ItemError]:
    """Parameter files and archives under `root` (see harvesters.walk for the rules)."""
    return walk_files(root, _wanted)


def _wanted(entry: os.DirEntry[str]) -> bool:
    path = Path(entry.path)
    return bool(is_archive(path) or file_kind(PurePosixPath(path.as_posix())))


#: Where ParaVision keeps the subject's name and id (subject file, reconstructions).
_NAME_PARAMS = ("SUBJECT_name_string", "SUBJECT_name", "VisuSubjectName")
_ID_PARAMS = ("SUBJECT_id", "VisuSubjectId")


def _scrub_subject(path: str, parsed: JcampFile, data: dict[str, Any]) -> None:
    """Files that hold the subject's name and id: their kept text (protocol names typed
    by the operator) and every folder above them (a study folder or the harvested folder
    named after the animal or patient) lose those values, replaced by the pseudonym."""
    names = [str(parsed.get(k)) for k in _NAME_PARAMS if parsed.get(k) not in (None, "")]
    ids = [str(parsed.get(k)) for k in _ID_PARAMS if parsed.get(k) not in (None, "")]
    scrubber = Scrubber(names, ids, str(data.get("pseudonym") or REDACTED))
    if not scrubber:
        return
    params = data.get("params") or {}
    for key, value in params.items():
        if isinstance(value, str):
            params[key] = scrubber.scrub(value)
    aliases = path_aliases(path, scrubber)
    if aliases:
        data["path_aliases"] = aliases
    folder = PurePosixPath(path).parent.name
    if data.get("pseudonym") and scrubber.scrub(folder) != folder:
        data["folder_alias"] = [folder, scrubber.scrub(folder)]


def _folder_alias(path: str, subject_id: object, alias: str | None) -> dict[str, Any]:
    """ParaVision names study folders `<date>_<time>_<SUBJECT_id>_<n>_<m>` by default, so
    the folder name would carry the subject id into record ids, file lists and keys:
    remember the folder's name with the id replaced by the pseudonym (the build step
    applies it to every path of the study)."""
    ident = str(subject_id or "").strip()
    folder = PurePosixPath(path).parent.name
    if len(ident) < 2 or not alias or ident.lower() not in folder.lower():
        return {}
    redacted = re.sub(re.escape(ident), alias, folder, flags=re.IGNORECASE)
    # folder_alias: ids and keys (build step); path_aliases: listed files (harvest service)
    return {"folder_alias": [folder, redacted], "path_aliases": [[folder, redacted]]}

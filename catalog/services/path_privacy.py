"""Folder and file names that embed a patient's name or id never reach a record.

Harvesters report such names as `path_aliases` in their file facts (`DOE^JOHN` ->
`sub-1a2b…`, ParaVision `20200101_SMITH_1_1` -> `20200101_sub-1a2b…_1_1`), at any depth,
the harvested folder itself included. `PathAliases` rewrites every produced record with
them: listed file paths and checksum keys component by component, and every other text
(the collection title taken from the folder's name, descriptions, external ids, raw
metadata, relations) wherever a raw name occurs. Only `source.location`, the server path
that curators and admins need to find the data (and that anonymous callers never see),
keeps the raw form; the raw names otherwise live in the internal harvest state only.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.domain.records import RecordCreate
from harvesters.base import FileFacts, HarvestedRecord
from harvesters.privacy import REDACTED

#: Raw names at least this long are replaced anywhere in text, shorter ones in paths only.
_WORD_LENGTH = 6


class PathAliases:
    """raw path component -> pseudonymised component, for one harvest run."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = {raw: safe for raw, safe in aliases.items() if raw and raw != safe}
        names = sorted(self.aliases, key=len, reverse=True)
        # distinctive names are replaced wherever they stand as a word of their own; short
        # ones ("42/") only as a whole path component, so "TR 4200" and UIDs stay intact
        words = [rf"(?<![^\W_]){re.escape(n)}(?![^\W_])" for n in names if len(n) >= _WORD_LENGTH]
        parts = [rf"(?:(?<=/)|^){re.escape(n)}(?=/|$)" for n in names if len(n) < _WORD_LENGTH]
        self.pattern = re.compile("|".join(words + parts)) if names else None
        # plain literals: a cheap first test (the boundaries above defeat re's prefix scan)
        self.anywhere = re.compile("|".join(re.escape(n) for n in names)) if names else None

    @classmethod
    def from_facts(cls, facts: list[FileFacts]) -> PathAliases:
        aliases: dict[str, str] = {}
        for fact in facts:
            for pair in fact.data.get("path_aliases") or []:
                if len(pair) == 2:
                    raw, safe = str(pair[0]), str(pair[1])
                    # a folder named after two patients (each file redacts only its own
                    # patient): neither form is safe, the folder becomes "redacted"
                    aliases[raw] = safe if aliases.get(raw, safe) == safe else REDACTED
        return cls(aliases)

    def __bool__(self) -> bool:
        return self.pattern is not None

    def component(self, name: str) -> str:
        """A single folder or file name, pseudonymised."""
        return self.aliases.get(name) or self.text(name)

    def path(self, path: str) -> str:
        if self.anywhere is None or self.anywhere.search(path) is None:
            return path
        return "/".join(self.aliases.get(part, part) for part in path.split("/"))

    def text(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.aliases[m.group(0)], text) if self.pattern else text

    def apply(self, produced: list[HarvestedRecord]) -> None:
        """Rewrite every produced record in place (see the module docstring)."""
        if not self:
            return
        for item in produced:
            _rewrite_files(item.record, self)
            item.record = _rewrite_text(item.record, self)


def _rewrite_files(record: RecordCreate, aliases: PathAliases) -> None:
    source = record.source
    for entry in record.files:
        public = aliases.path(entry.path)
        if public != entry.path:
            if entry.path in source.checksums:
                source.checksums[public] = source.checksums.pop(entry.path)
            entry.path = public


def _rewrite_text(record: RecordCreate, aliases: PathAliases) -> RecordCreate:
    assert aliases.anywhere is not None
    # one fast serialisation tells whether any raw name is there at all (most records of a
    # big export hold none outside their file list, which is rewritten already)
    if not aliases.anywhere.search(record.model_dump_json(exclude={"source": {"location"}})):
        return record
    data = record.model_dump(mode="json")
    location = data["source"].pop("location", None)
    rewritten = _walk(data, aliases)
    if rewritten == data:
        return record
    rewritten["source"]["location"] = location
    return RecordCreate.model_validate(rewritten)


def _walk(value: Any, aliases: PathAliases) -> Any:
    if isinstance(value, str):
        return aliases.text(value)
    if isinstance(value, dict):
        return {aliases.text(k): _walk(v, aliases) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, aliases) for v in value]
    return value

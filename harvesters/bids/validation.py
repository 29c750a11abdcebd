"""Schema-driven BIDS checks, kept as a quality report rather than a reason to refuse.

The rules come from the BIDS schema bundled in `bidsschematools` (offline): required
`dataset_description.json` fields, file-name patterns (`rules.files`), and required
sidecar fields (`rules.sidecars`).  Sidecar rules are schema expressions; this module
evaluates the simple selector forms they use (datatype/suffix/extension/modality tests,
`match`, `intersects`, `"X" in sidecar`, `sidecar.X == v`) and skips a rule whose
selectors it cannot read, so it never reports an issue the schema does not imply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harvesters.bids.paths import BidsName

Issue = dict[str, str]
Context = dict[str, Any]
Condition = Callable[[Context], bool]


def issue(code: str, severity: str, location: str, message: str) -> Issue:
    return {"code": code, "severity": severity, "location": location, "message": message}


@lru_cache(maxsize=1)
def _schema() -> Any:
    from bidsschematools.schema import load_schema

    return load_schema()


def report_header() -> dict[str, str]:
    """Validator name and versions for `RecordCreate.quality`."""
    import bidsschematools

    schema = _schema()
    return {
        "validator": f"bidsschematools {bidsschematools.__version__}",
        "schema_version": str(schema.schema_version),
        "bids_version": str(schema.bids_version),
    }


# -- dataset_description.json ---------------------------------------------------------------


def description_issues(description: dict[str, Any] | None, location: str) -> list[Issue]:
    """Missing required (error) and recommended (warning) dataset_description fields."""
    if description is None:
        return [
            issue(
                "MISSING_DATASET_DESCRIPTION",
                "error",
                location,
                "dataset_description.json is missing; BIDS requires it at the root",
            )
        ]
    fields = _schema().rules.json.dataset.dataset_description.fields
    found: list[Issue] = []
    for field_name, spec in fields.items():
        level = spec if isinstance(spec, str) else spec.get("level")
        if field_name in description or level not in ("required", "recommended"):
            continue
        severity = "error" if level == "required" else "warning"
        code = "JSON_KEY_REQUIRED" if level == "required" else "JSON_KEY_RECOMMENDED"
        found.append(
            issue(code, severity, location, f"{field_name} is {level} in dataset_description.json")
        )
    if "Authors" not in description:
        found.append(
            issue(
                "NO_AUTHORS",
                "warning",
                location,
                "no Authors in dataset_description.json: DOI registration needs creators",
            )
        )
    return found


# -- file names -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _filename_patterns() -> re.Pattern[str]:
    import bidsschematools.schema  # noqa: F401  (regexify_all needs it loaded)
    from bidsschematools.rules import regexify_all

    regexes, _ = regexify_all()
    # One alternation is much faster than trying 130 patterns one by one.
    alternatives = "|".join(
        f"(?:{_rename_groups(entry['regex'], f'r{index}_')})" for index, entry in enumerate(regexes)
    )
    return re.compile(rf"(?:{alternatives})")


def _rename_groups(regex: str, prefix: str) -> str:
    """Prefix group names so 130 patterns can share one regex (names must be unique)."""
    regex = re.sub(r"\(\?P<(\w+)>", rf"(?P<{prefix}\1>", regex)
    regex = re.sub(r"\(\?P=(\w+)\)", rf"(?P={prefix}\1)", regex)
    return re.sub(r"\(\?\((\w+)\)", rf"(?({prefix}\1)", regex)


@lru_cache(maxsize=1)
def _enum_entities() -> frozenset[str]:
    entities = _schema().objects.entities
    return frozenset(spec["name"] for spec in entities.values() if spec.get("enum"))


_LABEL = re.compile(r"(?<![0-9a-zA-Z+])([0-9a-zA-Z]+)-([0-9a-zA-Z+]+)(?=[_/.]|$)")


def _shape(path: str) -> str:
    """The path with free labels replaced by tokens of the same class and equality.

    "sub-0001/anat/sub-0001_T1w.nii.gz" and "sub-0002/..." share the shape
    "sub-0/anat/sub-0_T1w.nii.gz", so 20,000 files need only a few dozen regex matches;
    labels that the schema enumerates (part-mag, hemi-L) are kept as they are.
    """
    tokens: dict[str, str] = {}
    enums = _enum_entities()

    def token(match: re.Match[str]) -> str:
        key, value = match.groups()
        if key in enums:
            return match.group(0)
        if value not in tokens:
            tokens[value] = str(len(tokens)) if value.isdigit() else f"L{len(tokens)}"
        return f"{key}-{tokens[value]}"

    return _LABEL.sub(token, path)


@lru_cache(maxsize=4096)
def _shape_is_valid(shape: str) -> bool:
    return _filename_patterns().fullmatch(shape) is not None


def filename_issues(rel_paths: Iterable[str]) -> list[Issue]:
    """NOT_INCLUDED for each raw-dataset file whose path matches no schema file rule."""
    return [
        issue(
            "NOT_INCLUDED",
            "error",
            path,
            "file name does not follow any BIDS file rule (check entities, order, suffix)",
        )
        for path in rel_paths
        if not _shape_is_valid(_shape(path))
    ]


# -- required sidecar fields ----------------------------------------------------------------


@dataclass(frozen=True)
class _SidecarRule:
    name: str
    static: tuple[Condition, ...]
    dynamic: tuple[Condition, ...]
    required: tuple[str, ...]
    alternative: str | None = None
    """A mutually exclusive field (`!("VolumeTiming" in sidecar)`): either satisfies."""


def sidecar_issues(rel_path: str, name: BidsName, metadata: dict[str, Any]) -> list[Issue]:
    """SIDECAR_KEY_REQUIRED for each schema-required field the merged sidecars lack."""
    rules = _rules_for(name.datatype, name.suffix, name.extension, frozenset(name.entities))
    context = _context(name, metadata)
    missing: dict[str, str] = {}
    for rule in rules:
        if all(condition(context) for condition in rule.dynamic):
            for field_name in rule.required:
                if field_name in metadata:
                    continue
                label = field_name
                if rule.alternative:
                    label = " or ".join(sorted((field_name, rule.alternative)))
                missing.setdefault(label, rule.name)
    return [
        issue(
            "SIDECAR_KEY_REQUIRED",
            "error",
            rel_path,
            f"{field} is required for {name.datatype}/{name.suffix} files (schema rule {rule}) "
            "but no applicable JSON sidecar gives it",
        )
        for field, rule in sorted(missing.items())
    ]


def _context(name: BidsName, metadata: dict[str, Any]) -> Context:
    long_names = _entity_long_names()
    return {
        "datatype": name.datatype,
        "suffix": name.suffix,
        "extension": name.extension,
        "modality": _modality_of().get(name.datatype or ""),
        "entities": {long_names.get(key, key): value for key, value in name.entities.items()},
        "sidecar": metadata,
    }


@lru_cache(maxsize=512)
def _rules_for(
    datatype: str | None, suffix: str | None, extension: str, entities: frozenset[str]
) -> tuple[_SidecarRule, ...]:
    probe = _context(BidsName(dict.fromkeys(entities, "x"), suffix, extension, datatype), {})
    return tuple(rule for rule in _sidecar_rules() if all(c(probe) for c in rule.static))


@lru_cache(maxsize=1)
def _entity_long_names() -> dict[str, str]:
    return {spec["name"]: key for key, spec in _schema().objects.entities.items()}


@lru_cache(maxsize=1)
def _modality_of() -> dict[str, str]:
    modalities = _schema().rules.modalities
    return {dt: mod for mod, spec in modalities.items() for dt in spec.get("datatypes", [])}


@lru_cache(maxsize=1)
def _sidecar_rules() -> tuple[_SidecarRule, ...]:
    rules: list[_SidecarRule] = []
    for group, members in _schema().rules.sidecars.items():
        for rule_name, spec in members.items():
            rule = _compile_rule(f"{group}.{rule_name}", spec)
            if rule is not None:
                rules.append(rule)
    return tuple(rules)


def _compile_rule(name: str, spec: Any) -> _SidecarRule | None:
    if "selectors" not in spec or "fields" not in spec:
        return None
    required = tuple(
        field_name
        for field_name, level in spec["fields"].items()
        if (level if isinstance(level, str) else level.get("level")) == "required"
    )
    if not required:
        return None
    static: list[Condition] = []
    dynamic: list[Condition] = []
    alternative = None
    for selector in spec["selectors"]:
        if m := re.fullmatch(r'!\("(\w+)" in sidecar\)', selector):
            alternative = m.group(1)
        parsed = _parse_selector(selector.replace("'", '"'))
        if parsed is None:
            return None  # a selector we cannot read: never guess an issue from it
        condition, uses_sidecar = parsed
        (dynamic if uses_sidecar else static).append(condition)
    return _SidecarRule(name, tuple(static), tuple(dynamic), required, alternative)


_COMPARE = re.compile(r'^(datatype|suffix|extension|modality) (==|!=) "([^"]*)"$')
_MATCH = re.compile(r'^match\(extension, "([^"]*)"\)$')
_IN = re.compile(r'^(!?)\(?"(\w+)" in (entities|sidecar)\)?$')
_INTERSECTS = re.compile(r"^(!?)intersects\(\[?(suffix|datatype|modality)\]?, (\[.*\])\)$")
_FIELD = re.compile(r"^(sidecar|entities)\.(\w+) (==|!=) (.+)$")


def _parse_selector(text: str) -> tuple[Condition, bool] | None:
    """A condition for the simple selector forms, and whether it reads the sidecar."""
    if m := _COMPARE.match(text):
        key, op, value = m.groups()
        return (lambda c: (c[key] == value) == (op == "==")), False
    if m := _MATCH.match(text):
        regex = re.compile(m.group(1))
        return (lambda c: regex.search(c["extension"] or "") is not None), False
    if m := _IN.match(text):
        negate, field_name, where = m.groups()
        return (lambda c: (field_name in c[where]) != bool(negate)), where == "sidecar"
    if m := _INTERSECTS.match(text):
        negate, key, values_text = m.groups()
        values = set(json.loads(values_text))
        return (lambda c: (c[key] in values) != bool(negate)), False
    if m := _FIELD.match(text):
        where, field_name, op, raw = m.groups()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return (lambda c: (c[where].get(field_name) == value) == (op == "==")), where == "sidecar"
    return None


# -- participants ---------------------------------------------------------------------------


def participants_issues(listed: set[str] | None, subject_dirs: set[str]) -> list[Issue]:
    """PARTICIPANT_ID_MISMATCH when subject folders are missing from participants.tsv."""
    if listed is None:
        return []
    unlisted = sorted(subject_dirs - listed)
    if not unlisted:
        return []
    shown = ", ".join(f"sub-{label}" for label in unlisted[:10])
    return [
        issue(
            "PARTICIPANT_ID_MISMATCH",
            "error",
            "participants.tsv",
            f"subject folders not listed in participants.tsv: {shown}",
        )
    ]

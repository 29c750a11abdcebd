"""Build step: render the BIDS schema bundled in `bidsschematools` as a SKOS concept scheme.

BIDS has no official RDF rendering, so Imagora generates one from the schema that ships
offline with `bidsschematools` (`schema.json`): modalities, datatypes, suffixes, entities and
metadata fields become `skos:Concept`s with the BIDS glossary anchors as IRIs, and suffix ->
datatype -> modality become `skos:broader` links. The output is written by hand-rolled,
sorted Turtle so that regenerating gives a byte-identical file (a test checks this).

Run: `python -m ontologies.build_bids [--output ontologies/data/bids.ttl] [--check]`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ontologies.iris import BIDS_KINDS, IMAGORA_VOCAB, bids_term

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "bids.ttl"
SCHEME_IRI = IMAGORA_VOCAB + "bids"
_SPEC_URL = "https://bids-specification.readthedocs.io/en/"

_PREFIXES = """\
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def _literal(text: str) -> str:
    """A Turtle string literal (single line, escaped)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _iri(value: str) -> str:
    return f"<{value}>"


def _plain(value: Any) -> dict[str, Any]:
    """bidsschematools Namespaces -> plain dicts (recursively as needed by callers)."""
    return dict(value.items()) if hasattr(value, "items") else dict(value)


def _term_iris(objects: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """IRI per (kind, key): glossary anchors, or an Imagora IRI where anchors would collide."""
    iris: dict[tuple[str, str], str] = {}
    for kind in BIDS_KINDS:
        keys = sorted(_plain(objects[kind]))
        lowered = [k.lower() for k in keys]
        for key in keys:
            if lowered.count(key.lower()) > 1:
                iris[(kind, key)] = f"{IMAGORA_VOCAB}bids/{kind}/{key}"
            else:
                iris[(kind, key)] = bids_term(key, kind)
    return iris


def _suffix_datatypes(rules_raw: Mapping[str, Any]) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = {}
    for group in _plain(rules_raw).values():
        for rule in _plain(group).values():
            rule = _plain(rule)
            for suffix in rule.get("suffixes", []) or []:
                mapping.setdefault(suffix, set()).update(rule.get("datatypes", []) or [])
    return mapping


def _datatype_modalities(rules_modalities: Mapping[str, Any]) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = {}
    for modality, rule in _plain(rules_modalities).items():
        for datatype in _plain(rule).get("datatypes", []) or []:
            mapping.setdefault(datatype, set()).add(modality)
    return mapping


def _broader(kind: str, key: str, schema: Any) -> list[tuple[str, str]]:
    if kind == "suffixes":
        datatypes = _suffix_datatypes(schema.rules.files.raw).get(key, set())
        return [("datatypes", d) for d in sorted(datatypes)]
    if kind == "datatypes":
        modalities = _datatype_modalities(schema.rules.modalities).get(key, set())
        return [("modalities", m) for m in sorted(modalities)]
    return []


def _concept_block(kind: str, key: str, schema: Any, iris: Mapping[tuple[str, str], str]) -> str:
    obj = _plain(schema.objects[kind][key])
    label = (obj.get("display_name") or key).strip()
    lines = [
        f"{_iri(iris[(kind, key)])} a skos:Concept ;",
        f"    skos:inScheme {_iri(SCHEME_IRI)} ;",
        f"    skos:prefLabel {_literal(label)}@en ;",
        f"    skos:notation {_literal(key)} ;",
    ]
    short = obj.get("value") or obj.get("name")
    if short and short not in (label, key):
        lines.append(f"    skos:altLabel {_literal(str(short))}@en ;")
    parents = [iris[p] for p in _broader(kind, key, schema) if p in iris]
    for parent in parents:
        lines.append(f"    skos:broader {_iri(parent)} ;")
    description = (obj.get("description") or "").strip()
    if description:
        lines.append(f"    skos:definition {_literal(description)}@en ;")
    lines[-1] = lines[-1][:-2] + " ."
    return "\n".join(lines)


def _scheme_block(schema: Any, kinds_present: Iterable[str]) -> str:
    version = f"BIDS {schema.bids_version} (bidsschematools schema {schema.schema_version})"
    members = ", ".join(_iri(f"{SCHEME_IRI}/{kind}") for kind in kinds_present)
    return "\n".join(
        [
            f"{_iri(SCHEME_IRI)} a skos:ConceptScheme ;",
            '    skos:notation "bids" ;',
            '    dct:title "BIDS terms (datatypes, suffixes, entities, metadata)"@en ;',
            f"    dct:source <{_SPEC_URL}v{schema.bids_version}/> ,",
            "        <https://pypi.org/project/bidsschematools/> ;",
            f"    owl:versionInfo {_literal(version)} ;",
            "    dct:license <http://spdx.org/licenses/CC-BY-4.0> ;",
            '    dct:rights "BIDS specification: CC BY 4.0, BIDS Contributors. '
            'Generated by ontologies/build_bids.py; do not edit by hand." ;',
            f"    rdfs:seeAlso {members} .",
        ]
    )


def _collection_block(kind: str, keys: list[str], iris: Mapping[tuple[str, str], str]) -> str:
    members = " ,\n        ".join(_iri(iris[(kind, key)]) for key in keys)
    return (
        f"{_iri(f'{SCHEME_IRI}/{kind}')} a skos:Collection ;\n"
        f"    skos:prefLabel {_literal('BIDS ' + kind)}@en ;\n"
        f"    skos:member {members} ."
    )


def render(schema: Any) -> str:
    """The complete Turtle text for `schema` (a `bidsschematools` schema namespace)."""
    iris = _term_iris(schema.objects)
    header = (
        "# GENERATED by `python -m ontologies.build_bids` from the BIDS schema bundled in\n"
        f"# bidsschematools (BIDS {schema.bids_version}, schema {schema.schema_version}). "
        "Do not edit by hand.\n"
    )
    blocks = [header + _PREFIXES, _scheme_block(schema, BIDS_KINDS)]
    for kind in BIDS_KINDS:
        keys = sorted(_plain(schema.objects[kind]))
        blocks.append(f"# --- {kind} ---")
        blocks.append(_collection_block(kind, keys, iris))
        blocks.extend(_concept_block(kind, key, schema, iris) for key in keys)
    return "\n\n".join(blocks) + "\n"


def load_bids_schema() -> Any:
    """The schema bundled in the installed `bidsschematools` (offline)."""
    from bidsschematools import schema as bst  # build-time dependency only

    return bst.load_schema()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from a fresh build"
    )
    args = parser.parse_args(argv)
    text = render(load_bids_schema())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is out of date; run python -m ontologies.build_bids",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

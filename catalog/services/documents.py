"""Record -> search document: the one place that decides what the index knows.

Acquisitions inherit facets from their ancestors (species from the subject, licence from
the collection) so that filtering acquisitions by species works without joins.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import date

from catalog.domain.imaging import (
    MODALITY_LABELS,
    VENDOR_ALIASES,
    age_in_days,
    nominal_field_strength,
    normalise_vendor,
    strength_value,
)
from catalog.domain.rollup import Rollup
from catalog.domain.search import IndexDocument
from catalog.store.repository import StoredRecord


def normalize_manufacturer(value: str | None) -> str | None:
    """Collapse the many spellings scanners write into one facet value (kept for
    records stored before write-time normalisation)."""
    return normalise_vendor(value)


def field_strength_value(tesla: float | None) -> tuple[str, str] | None:
    """(facet value, label) of the nominal strength: ("3", "3 T"), ("9.4", "9.4 T")."""
    nominal = nominal_field_strength(tesla)
    if nominal is None:
        return None
    value = strength_value(nominal)
    return value, f"{value} T"


def file_access(access: dict, today: date | None = None) -> str:
    """Effective file access: an embargo that has ended is open."""
    files = str(access.get("files", "open"))
    until = access.get("embargo_until")
    if files == "embargoed" and until and date.fromisoformat(str(until)) <= (today or date.today()):
        return "open"
    return files


def readers_for(access: dict) -> list[str]:
    if access.get("record", "public") == "public":
        return ["public"]
    return [f"user:{u}" for u in access.get("grants", [])] or ["nobody"]


def _inherited(key: str, sub: str, record: StoredRecord, ancestors: list[StoredRecord]):  # type: ignore[no-untyped-def]
    for candidate in [record, *reversed(ancestors)]:
        value = (candidate.body.get(key) or {}).get(sub) if sub else candidate.body.get(key)
        if value:
            return value
    return None


def _facets(record: StoredRecord, ancestors: list[StoredRecord]) -> tuple[dict, dict]:
    body = record.body
    imaging = body.get("imaging") or {}
    bids = body.get("bids") or {}
    facets: dict[str, str] = {"level": record.level, "access": file_access(record.access)}
    labels: dict[str, str] = {}
    source = (body.get("source") or {}).get("type")
    if source:
        facets["source"] = source
    if imaging.get("modality"):
        facets["modality"] = str(imaging["modality"])
    strength = field_strength_value(
        imaging.get("field_strength_nominal_t") or imaging.get("field_strength_t")
    )
    if strength:
        facets["field_strength"], labels["field_strength"] = strength
    manufacturer = normalize_manufacturer(imaging.get("manufacturer"))
    if manufacturer:
        facets["manufacturer"] = manufacturer
    species = _inherited("subject", "species", record, ancestors)
    if species:
        facets["species"], labels["species"] = species["iri"], species["label"]
    sequence = bids.get("suffix") or imaging.get("sequence")
    if sequence:
        facets["sequence"] = str(sequence)
    license_ = _inherited("license", "", record, ancestors)
    if license_:
        facets["license"] = str(license_)
    return facets, labels


_IMAGING_NUMBERS = ("tr_ms", "te_ms", "ti_ms", "flip_angle_deg", "slice_thickness_mm")


def numbers_of(record: StoredRecord, ancestors: list[StoredRecord]) -> dict[str, list[float]]:
    """The record's own values of the numeric fields (see `NUMERIC_FIELDS`)."""
    imaging = record.body.get("imaging") or {}
    numbers: dict[str, list[float]] = {}
    nominal = imaging.get("field_strength_nominal_t") or nominal_field_strength(
        imaging.get("field_strength_t")
    )
    if nominal:
        numbers["field_strength"] = [float(nominal)]
    for name in _IMAGING_NUMBERS:
        value = imaging.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            numbers[name] = [float(value)]
    acquired = imaging.get("acquisition_date")
    if acquired:
        with contextlib.suppress(ValueError):  # a bad date is a quality issue elsewhere
            numbers["acquired"] = [float(date.fromisoformat(str(acquired)[:10]).toordinal())]
    age = age_in_days(_inherited("subject", "age", record, ancestors))
    if age is not None:
        numbers["age_days"] = [age]
    return numbers


def aliases_of(record: StoredRecord, facets: dict[str, str]) -> dict[str, list[str]]:
    """More names a facet value answers to in filters: the vendor as the scanner wrote
    it, and a vendor's other names (Toshiba is Canon)."""
    extra: dict[str, list[str]] = {}
    vendor = facets.get("manufacturer")
    if vendor:
        raw = ((record.body.get("source") or {}).get("raw") or {}).get("manufacturer")
        names = [*VENDOR_ALIASES.get(vendor, ()), *([str(raw)] if raw else [])]
        if names:
            extra["manufacturer"] = names
    modality = facets.get("modality")
    if modality and modality in MODALITY_LABELS:
        extra["modality"] = [MODALITY_LABELS[modality]]
    return extra


def _text(record: StoredRecord, ancestors: list[StoredRecord]) -> str:
    body = record.body
    imaging = body.get("imaging") or {}
    parts: list[str] = list(body.get("keywords") or [])
    for key in (
        "manufacturer",
        "model",
        "sequence",
        "series_description",
        "contrast",
        "body_part",
        "nucleus",
        "radiopharmaceutical",
        "scanning_sequence",
    ):
        if imaging.get(key):
            parts.append(str(imaging[key]))
    bids = body.get("bids") or {}
    parts += [str(bids.get(k)) for k in ("datatype", "suffix") if bids.get(k)]
    subject = body.get("subject") or {}
    if subject.get("strain"):
        parts.append(str(subject["strain"]))
    parts += [c.get("name", "") for c in body.get("creators") or []]
    parts += [a.title for a in ancestors if a.level == "collection"]
    return " ".join(p for p in parts if p)


def _term_detail(term: dict) -> dict[str, str]:
    """What an explanation line needs about one term (rule and the header fields read)."""
    evidence = term.get("evidence") or {}
    return {
        "term": str(term.get("label", "")),
        "scheme": str(term.get("scheme", "")),
        "rule": str(term.get("rule", "")),
        "fields": ", ".join(sorted(evidence)),
        "evidence": "; ".join(f"{k}={v}" for k, v in sorted(evidence.items())),
    }


#: term IRIs -> those IRIs plus their broader concepts (from the ontology layer)
Closure = Callable[[Iterable[str]], set[str]]


def to_document(
    record: StoredRecord,
    ancestors: list[StoredRecord],
    closure: Closure | None = None,
    rollup: Rollup | None = None,
) -> IndexDocument:
    """The index form of one record, given its ancestors (root first) and, for a
    container, the roll-up of its descendants."""
    doc = _own_document(record, ancestors, closure)
    if rollup is not None:
        with_rollup(doc, rollup)
    return doc


def with_rollup(doc: IndexDocument, rollup: Rollup) -> None:
    """A container matches what its descendants hold: their concepts (terms), words
    (text), facet values (filters and `field:value`) and numbers (ranges)."""
    doc.rollup_terms = sorted(set(rollup.term_iris) - set(doc.terms))
    words = [*rollup.species, *rollup.sequences, *rollup.contrasts, *rollup.anatomy]
    words += [*rollup.manufacturers, *rollup.modalities]
    doc.text = " ".join([doc.text, *words]).strip()
    extra = doc.extra_facets
    strengths = [strength_value(t) for t in rollup.field_strengths_t]
    for name, values in (
        ("modality", [*rollup.modalities, *(MODALITY_LABELS.get(m, m) for m in rollup.modalities)]),
        ("field_strength", strengths),
        ("manufacturer", rollup.manufacturers),
        ("species", [*rollup.species_iris, *rollup.species]),
        ("sequence", rollup.sequences),
    ):
        if values:
            extra[name] = sorted({*extra.get(name, []), *values})
    for name, values in rollup.numbers.items():
        doc.numbers[name] = sorted({*doc.numbers.get(name, []), *values})
    for name in ("subjects", "sessions", "acquisitions"):
        doc.numbers[name] = [float(getattr(rollup, name))]
    doc.rollup = rollup.model_dump(mode="json")


def _own_document(
    record: StoredRecord, ancestors: list[StoredRecord], closure: Closure | None
) -> IndexDocument:
    facets, labels = _facets(record, ancestors)
    own_terms = [t for t in record.body.get("terms") or [] if t.get("status") != "rejected"]
    inherited = [
        t
        for a in ancestors
        for t in a.body.get("terms") or []
        if t.get("status") != "rejected" and a.level == "subject"
    ]
    terms = own_terms + inherited
    collection = next((a.id for a in ancestors if a.level == "collection"), None)
    return IndexDocument(
        id=record.id,
        level=record.level,
        title=record.title,
        description=str(record.body.get("description") or ""),
        text=_text(record, ancestors),
        parent_id=record.parent_id,
        collection_id=collection if record.level != "collection" else record.id,
        ancestors=[a.id for a in ancestors],
        facets=facets,
        facet_labels=labels,
        readers=readers_for(record.access),
        status=record.status,
        terms=sorted({t["iri"] for t in terms}),
        term_text=" ".join(sorted({t["label"] for t in terms})),
        term_details={t["iri"]: _term_detail(t) for t in terms},
        term_closure=sorted(closure(t["iri"] for t in terms)) if closure and terms else [],
        field_strength_t=(record.body.get("imaging") or {}).get("field_strength_t"),
        updated=record.updated,
        numbers=numbers_of(record, ancestors),
        extra_facets=aliases_of(record, facets),
    )

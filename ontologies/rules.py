"""The annotation rule table: which record fields, which test, which concept, how sure.

Each `Rule` is explicit: a stable `name` (stored on every term it produces, e.g.
`sequence_name:mprage`), the `fields` it reads, a `predicate` returning the evidence (the
field values it relied on, as strings) when it fires, the resulting concept IRI and a
confidence. `TextRule`s recognise vocabulary labels in free text (anatomy mentions in a
title, keywords). Rules derived from vocabulary cross-links (BIDS suffix -> contrast, DICOM
Acquisition Contrast -> contrast, species, strains, licences) are generated from the loaded
vocabulary so data and rules cannot disagree; the rest are listed here by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.domain.records import RecordCreate
from ontologies.graph import Concept, Vocabulary
from ontologies.iris import DICOM_ACQUISITION_CONTRAST, imagora, obo, onl
from ontologies.matcher import normalise

Facts = Mapping[str, Any]
Evidence = dict[str, str]
Predicate = Callable[[Facts], Evidence | None]

# Concepts the hand-written rules point at.
MR_IMAGE = obo("OBI_0003328")
T1W = obo("OBI_0003341")
T2W = obo("OBI_0003348")
PDW = obo("OBI_0003340")
T2STAR = obo("OBI_0003353")
FLAIR = obo("OBI_0003349")
DWI = obo("OBI_0003335")
FMRI = obo("OBI_0003336")
PERFUSION = obo("OBI_0003339")
MPRAGE = imagora("mr-technique/mprage")
MP2RAGE = imagora("mr-technique/mp2rage")
SPGR = imagora("mr-technique/spgr")
TFE = imagora("mr-technique/tfe")
FLASH = imagora("mr-technique/flash")
RARE = imagora("mr-technique/rare")
TSE = imagora("mr-technique/tse")
FSE = imagora("mr-technique/fse")
DTI = imagora("mr-technique/dti")
ASL = imagora("mr-technique/asl")
PCASL = imagora("mr-technique/pcasl")
PASL = imagora("mr-technique/pasl")
SWI = imagora("mr-contrast/swi")


@dataclass(frozen=True)
class Rule:
    """A named test on record fields that, when it fires, proposes one concept."""

    name: str
    fields: tuple[str, ...]
    predicate: Predicate = field(repr=False, compare=False)
    iri: str
    confidence: float
    #: A last resort: dropped when a firmer rule already gave a concept of the same scheme
    #: other than one of this rule's ancestors (see `Annotator.propose`).
    fallback: bool = False


@dataclass(frozen=True)
class TextRule:
    """Recognise labels of `schemes` in free-text `fields`; one rule name per field."""

    name: str
    fields: tuple[str, ...]
    schemes: tuple[str, ...]
    confidence: Mapping[str, float]


AnyRule = Rule | TextRule


# -- facts ---------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list | tuple):
        return "\\".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def record_facts(record: RecordCreate) -> dict[str, Any]:
    """The record fields rules may read, flattened to short names (also the evidence keys)."""
    imaging, subject, bids = record.imaging, record.subject, record.bids
    species = subject.species
    return {
        "level": str(record.level),
        "title": record.title,
        "description": record.description,
        "keywords": list(record.keywords),
        "license": record.license,
        "modality": imaging.modality,
        "sequence": imaging.sequence,
        "series_description": imaging.series_description,
        "scanning_sequence": imaging.scanning_sequence,
        "sequence_variant": imaging.sequence_variant,
        "image_type": imaging.image_type,
        "contrast": imaging.contrast,
        "te_ms": imaging.te_ms,
        "tr_ms": imaging.tr_ms,
        "ti_ms": imaging.ti_ms,
        "body_part": imaging.body_part,
        "bids_suffix": bids.suffix,
        "bids_datatype": bids.datatype,
        "species": species.iri if species else None,
        "species_label": species.label if species else None,
        "strain": subject.strain,
    }


def _tokens(value: Any) -> set[str]:
    text = _text(value) or ""
    return {t.upper() for t in re.split(r"[\\\s,/\[\]'\"]+", text) if t}


# -- predicate builders ------------------------------------------------------------------------


def matches(fields: Iterable[str], pattern: str) -> Predicate:
    """Fires when any of `fields` matches `pattern` (case-insensitive); evidence: that field."""
    regex = re.compile(pattern, re.IGNORECASE)
    names = tuple(fields)

    def predicate(facts: Facts) -> Evidence | None:
        for name in names:
            value = _text(facts.get(name))
            if value and regex.search(value):
                return {name: value}
        return None

    return predicate


def equals(name: str, *values: str) -> Predicate:
    """Fires when field `name` equals one of `values` (case- and separator-insensitive)."""
    wanted = {normalise(v) for v in values}

    def predicate(facts: Facts) -> Evidence | None:
        value = _text(facts.get(name))
        return {name: value} if value and normalise(value) in wanted else None

    return predicate


def has_tokens(name: str, *tokens: str) -> Predicate:
    """Fires when the multi-valued DICOM field `name` holds all `tokens` (e.g. GR and IR)."""
    wanted = {t.upper() for t in tokens}

    def predicate(facts: Facts) -> Evidence | None:
        value = facts.get(name)
        return {name: _text(value) or ""} if wanted <= _tokens(value) else None

    return predicate


def all_of(*predicates: Predicate) -> Predicate:
    """Fires when every predicate fires; evidence is the union."""

    def predicate(facts: Facts) -> Evidence | None:
        evidence: Evidence = {}
        for part in predicates:
            found = part(facts)
            if found is None:
                return None
            evidence.update(found)
        return evidence

    return predicate


def numbers(test: Callable[..., bool], *names: str) -> Predicate:
    """Fires when all numeric fields are present and `test(*values)` holds."""

    def predicate(facts: Facts) -> Evidence | None:
        values = [facts.get(n) for n in names]
        if any(not isinstance(v, int | float) for v in values) or not test(*values):
            return None
        return {n: _text(v) or "" for n, v in zip(names, values, strict=True)}

    return predicate


def is_mr(facts: Facts) -> Evidence | None:
    return equals("modality", "MR")(facts)


# -- hand-written rule table ---------------------------------------------------------------------

_NAME_FIELDS = ("series_description", "sequence")
_NOT_LETTER_BEFORE, _NOT_LETTER_AFTER = r"(?<![a-z])", r"(?![a-z])"


def _word(pattern: str) -> str:
    return f"{_NOT_LETTER_BEFORE}(?:{pattern}){_NOT_LETTER_AFTER}"


#: (rule suffix, regex on series description / sequence name, concept, confidence)
SEQUENCE_NAME_PATTERNS: tuple[tuple[str, str, str, float], ...] = (
    ("mprage", r"mp-?rage|tfl3d|t1_?mpr(?![a-z])", MPRAGE, 0.9),
    ("mp2rage", r"mp2rage", MP2RAGE, 0.9),
    ("spgr", _word(r"(?:ir-?)?f?spgr|bravo"), SPGR, 0.85),
    ("tfe", _word(r"tfe"), TFE, 0.8),
    ("flash", _word(r"flash"), FLASH, 0.8),
    ("flair", r"flair|dark[-_ ]?fl|spcir|" + _word(r"tirm?"), FLAIR, 0.85),
    ("rare", r"(?<!fair[-_])" + _word(r"rare"), RARE, 0.8),
    ("tse", _word(r"tse|turbo[-_ ]?spin[-_ ]?echo"), TSE, 0.8),
    ("fse", _word(r"fse|fast[-_ ]?spin[-_ ]?echo"), FSE, 0.8),
    ("swi", _word(r"swi") + r"|suscept", SWI, 0.85),
    ("t2star", r"t2\*|t2_?star|" + _word(r"t2s|gre|megre"), T2STAR, 0.75),
    ("dti", _word(r"dti|dtiepi"), DTI, 0.85),
    ("dwi", _word(r"dwi|dmri|hardi|diff|diffusion") + r"|ep2d_diff", DWI, 0.8),
    ("pcasl", r"p-?casl", PCASL, 0.85),
    ("pasl", _word(r"pasl|fairest") + r"|fair[-_]?rare", PASL, 0.85),
    ("asl", _word(r"asl"), ASL, 0.8),
    ("bold", r"bold|fmri|" + _word(r"rest|resting") + r"|(?<![a-z])task[-_]", FMRI, 0.8),
    ("t1w", r"(?<![a-z0-9])t1(?:w|_?weighted)?(?![a-z0-9])", T1W, 0.75),
    ("t2w", r"(?<![a-z0-9])t2(?:w|_?weighted)?(?![a-z0-9*])", T2W, 0.75),
    ("pdw", r"(?<![a-z0-9])pd(?:w|_?weighted)?(?![a-z0-9])|proton[-_ ]?density", PDW, 0.75),
)


def sequence_name_rules() -> list[Rule]:
    return [
        Rule(f"sequence_name:{name}", _NAME_FIELDS, matches(_NAME_FIELDS, pattern), iri, conf)
        for name, pattern, iri, conf in SEQUENCE_NAME_PATTERNS
    ]


def dicom_header_rules() -> list[Rule]:
    """Rules on ScanningSequence / SequenceVariant / ImageType (DICOM PS3.3 defined terms)."""
    gr_ir_mp = all_of(
        has_tokens("scanning_sequence", "GR", "IR"), has_tokens("sequence_variant", "MP")
    )
    return [
        Rule(
            "scanning_sequence:GR+IR/MP",
            ("scanning_sequence", "sequence_variant"),
            gr_ir_mp,
            MPRAGE,
            0.7,
        ),
        Rule(
            "image_type:DIFFUSION", ("image_type",), has_tokens("image_type", "DIFFUSION"), DWI, 0.8
        ),
        Rule("image_type:ASL", ("image_type",), has_tokens("image_type", "ASL"), ASL, 0.8),
        Rule(
            "image_type:PERFUSION",
            ("image_type",),
            has_tokens("image_type", "PERFUSION"),
            PERFUSION,
            0.75,
        ),
        Rule("image_type:FMRI", ("image_type",), has_tokens("image_type", "FMRI"), FMRI, 0.8),
    ]


def timing_rules() -> list[Rule]:
    """Last-resort contrast from TR/TE/TI (spin-echo rules of thumb), only for MR."""

    def mr(test: Callable[..., bool], *names: str) -> Predicate:
        return all_of(is_mr, numbers(test, *names))

    return [
        Rule(
            "te_tr:t1",
            ("modality", "tr_ms", "te_ms"),
            mr(lambda tr, te: tr < 1000 and te < 30, "tr_ms", "te_ms"),
            T1W,
            0.5,
            fallback=True,
        ),
        Rule(
            "te_tr:t2",
            ("modality", "tr_ms", "te_ms"),
            mr(lambda tr, te: tr >= 2000 and te >= 80, "tr_ms", "te_ms"),
            T2W,
            0.5,
            fallback=True,
        ),
        Rule(
            "te_tr:pd",
            ("modality", "tr_ms", "te_ms"),
            mr(lambda tr, te: tr >= 2000 and te < 30, "tr_ms", "te_ms"),
            PDW,
            0.5,
            fallback=True,
        ),
        Rule(
            "te_tr_ti:flair",
            ("modality", "tr_ms", "ti_ms"),
            mr(lambda tr, ti: tr >= 6000 and ti >= 1500, "tr_ms", "ti_ms"),
            FLAIR,
            0.55,
            fallback=True,
        ),
    ]


def bids_datatype_rules() -> list[Rule]:
    table = (("dwi", DWI), ("func", FMRI), ("perf", PERFUSION))
    return [
        Rule(f"bids_datatype:{dt}", ("bids_datatype",), equals("bids_datatype", dt), iri, 0.85)
        for dt, iri in table
    ]


def level_rules() -> list[Rule]:
    """Record level -> OntoNeuroLOG class (MR variants where the modality says MR)."""
    level = "level"

    def at(value: str, *more: Predicate) -> Predicate:
        return all_of(equals(level, value), *more)

    def not_mr(facts: Facts) -> Evidence | None:
        return None if is_mr(facts) else {}

    human = equals("species", obo("NCBITaxon_9606"))

    def non_human(facts: Facts) -> Evidence | None:
        species = _text(facts.get("species"))
        if species and species != obo("NCBITaxon_9606"):
            return {"species": species}
        return None

    def no_species(facts: Facts) -> Evidence | None:
        return None if facts.get("species") else {}

    ses = "study-examination-subject"
    return [
        Rule("level:collection", (level,), at("collection"), onl(ses, "study"), 0.8),
        Rule(
            "level:subject", (level, "species"), at("subject", no_species), onl(ses, "subject"), 0.9
        ),
        Rule(
            "level:subject+human",
            (level, "species"),
            at("subject", human),
            onl(ses, "human-subject"),
            0.9,
        ),
        Rule(
            "level:subject+non-human",
            (level, "species"),
            at("subject", non_human),
            onl("ontoneurolog-preclinical", "non-human-subject"),
            0.9,
        ),
        Rule(
            "level:session+MR",
            (level, "modality"),
            at("session", is_mr),
            onl(ses, "MR-examination"),
            0.9,
        ),
        Rule(
            "level:session",
            (level, "modality"),
            at("session", not_mr),
            onl(ses, "examination"),
            0.8,
        ),
        Rule(
            "level:acquisition+MR",
            (level, "modality"),
            at("acquisition", is_mr),
            onl("dataset", "MR-dataset"),
            0.95,
        ),
        Rule(
            "level:acquisition",
            (level, "modality"),
            at("acquisition", not_mr),
            onl("dataset", "dataset"),
            0.8,
        ),
        Rule(
            "level:derived",
            (level,),
            at("derived"),
            onl("ontoneurolog-dataset-processing", "dataset-processing"),
            0.9,
        ),
    ]


# -- rules generated from the vocabulary ---------------------------------------------------------


def bids_suffix_rules(vocab: Vocabulary) -> list[Rule]:
    """`bids_suffix:<suffix>`: to the contrast concept cross-linked to the BIDS suffix.

    Suffixes with no MRI concept map to the BIDS suffix concept itself (lower confidence).
    """
    rules = []
    for suffix_concept in vocab.concepts("bids"):
        if not suffix_concept.iri.endswith("-suffixes") or not suffix_concept.notations:
            continue
        suffix = suffix_concept.notations[0]
        target, confidence = _bids_target(vocab, suffix_concept)
        rules.append(
            Rule(
                f"bids_suffix:{suffix}",
                ("bids_suffix",),
                _exact("bids_suffix", suffix),
                target,
                confidence,
            )
        )
    return rules


def _exact(name: str, value: str) -> Predicate:
    """Case-sensitive equality: BIDS suffixes differ only by case (T2star / T2starmap...)."""

    def predicate(facts: Facts) -> Evidence | None:
        return {name: value} if facts.get(name) == value else None

    return predicate


def _bids_target(vocab: Vocabulary, suffix_concept: Concept) -> tuple[str, float]:
    exact = [c for c in vocab.concepts("mri") if suffix_concept.iri in c.exact_match]
    if exact:
        return exact[0].iri, 0.95
    close = [c for c in vocab.concepts("mri") if suffix_concept.iri in c.close_match]
    if close:
        return close[0].iri, 0.9
    return suffix_concept.iri, 0.9


def dicom_contrast_rules(vocab: Vocabulary) -> list[Rule]:
    """`dicom_contrast:<VALUE>` from Acquisition Contrast (0008,9209) values in mri.ttl."""
    rules = []
    for value, iris in sorted(vocab.index_by(DICOM_ACQUISITION_CONTRAST).items()):
        upper = value.upper()
        rules.append(
            Rule(f"dicom_contrast:{upper}", ("contrast",), equals("contrast", upper), iris[0], 0.9)
        )
    return rules


def dicom_modality_rules(vocab: Vocabulary) -> list[Rule]:
    """`dicom_modality:<code>`: MR -> OBI MR image data set, others -> the DCM modality."""
    rules = [Rule("dicom_modality:MR", ("modality",), equals("modality", "MR"), MR_IMAGE, 1.0)]
    for concept in vocab.concepts("modality"):
        code = concept.notations[0] if concept.notations else ""
        if code and code != "MR":
            rules.append(
                Rule(
                    f"dicom_modality:{code}",
                    ("modality",),
                    equals("modality", code),
                    concept.iri,
                    1.0,
                )
            )
    return rules


def _curie_to_iri(value: str) -> str:
    match = re.fullmatch(r"(?i)ncbitaxon:(\d+)", value.strip())
    return obo(f"NCBITaxon_{match.group(1)}") if match else value.strip()


def species_rules(vocab: Vocabulary) -> list[Rule]:
    """`species:iri` (the harvester gave the NCBITaxon IRI) and `species:label` per species."""
    rules = []
    for concept in vocab.concepts("species"):
        rules.append(
            Rule(
                f"species:iri:{concept.label}",
                ("species",),
                _species_iri(concept.iri),
                concept.iri,
                1.0,
            )
        )
        rules.append(
            Rule(
                f"species:label:{concept.label}",
                ("species_label",),
                equals("species_label", *concept.all_labels),
                concept.iri,
                0.9,
            )
        )
    return rules


def _species_iri(iri: str) -> Predicate:
    def predicate(facts: Facts) -> Evidence | None:
        value = _text(facts.get("species"))
        return {"species": value} if value and _curie_to_iri(value) == iri else None

    return predicate


def strain_rules(vocab: Vocabulary) -> list[Rule]:
    """`strain:<name>`: the strain string names the strain or carries its RRID."""
    rules = []
    for concept in vocab.concepts("strain"):
        rrids = [n for n in concept.notations if n.upper().startswith("RRID:")]
        pattern = "|".join(re.escape(r) for r in rrids) or r"(?!x)x"
        rules.append(
            Rule(
                f"strain:{concept.label}",
                ("strain",),
                _either(equals("strain", *concept.all_labels), matches(("strain",), pattern)),
                concept.iri,
                0.9,
            )
        )
    return rules


def _either(*predicates: Predicate) -> Predicate:
    def predicate(facts: Facts) -> Evidence | None:
        for part in predicates:
            found = part(facts)
            if found is not None:
                return found
        return None

    return predicate


def license_rules(vocab: Vocabulary) -> list[Rule]:
    """`license:<SPDX id>`: SPDX id, SPDX IRI or a common spelling ("CC BY 4.0")."""
    return [
        Rule(
            f"license:{concept.notations[0] if concept.notations else concept.label}",
            ("license",),
            equals("license", concept.iri, *concept.all_labels),
            concept.iri,
            1.0,
        )
        for concept in vocab.concepts("license")
    ]


def text_rules() -> list[TextRule]:
    """Free-text mentions: anatomy and anaesthetics in titles, descriptions, keywords."""
    return [
        TextRule(
            "anatomy_text",
            ("body_part", "keywords", "title", "description"),
            ("anatomy",),
            {"body_part": 0.85, "keywords": 0.8, "title": 0.7, "description": 0.6},
        ),
        TextRule(
            "anaesthesia_text",
            ("keywords", "title", "description"),
            ("anaesthesia",),
            {"keywords": 0.8, "title": 0.7, "description": 0.6},
        ),
        TextRule(
            "keyword", ("keywords",), ("mri", "species", "strain", "modality"), {"keywords": 0.8}
        ),
    ]


def default_rules(vocab: Vocabulary) -> list[AnyRule]:
    """The full rule table, in evaluation order."""
    return [
        *bids_suffix_rules(vocab),
        *bids_datatype_rules(),
        *dicom_contrast_rules(vocab),
        *sequence_name_rules(),
        *dicom_header_rules(),
        *timing_rules(),
        *dicom_modality_rules(vocab),
        *level_rules(),
        *species_rules(vocab),
        *strain_rules(vocab),
        *license_rules(vocab),
        *text_rules(),
    ]

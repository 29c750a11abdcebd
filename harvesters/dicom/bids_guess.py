"""Guess a series' BIDS datatype and suffix from its DICOM attributes, with named rules.

The rules follow the heuristics public converters use (dcm2niix's BidsGuess, BIDScoin's
DCCN bidsmap, ezBIDS, heudiconv's ReproIn naming; see the reference notes, section 2.3),
re-expressed as data: an ordered tuple of `Rule`s, each a conjunction of simple criteria.
The first rule that matches wins and its `name` is stored in `bids.rule`, so curators
can see *why* a series was called T1w and each rule can be tested on its own.

Order, most to least authoritative: modality (PET), exclusions (localizers, derived
diffusion maps), ReproIn-style names, enhanced-MR AcquisitionContrast, ImageType flags,
series-description keywords, sequence-name patterns, then physics (ScanningSequence,
SequenceVariant, TE/TR/TI). A description beats a sequence name because an operator
chose it for this series; physics comes last because it is the weakest evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_Range = tuple[float | None, float | None]
_ANY: _Range = (None, None)


def keywords(*words: str) -> str:
    """A regex matching any of `words` not glued to a preceding letter/digit or following digit."""
    return r"(?<![a-z0-9])(?:" + "|".join(words) + r")(?![0-9])"


@dataclass(frozen=True)
class SeriesView:
    """What the rules look at, pre-normalized (lower-case text, upper-case code strings)."""

    modality: str = ""
    description: str = ""
    description_raw: str = ""
    sequence_name: str = ""
    scanning_sequence: frozenset[str] = frozenset()
    sequence_variant: frozenset[str] = frozenset()
    image_type: frozenset[str] = frozenset()
    contrast: str = ""
    te_ms: float | None = None
    tr_ms: float | None = None
    ti_ms: float | None = None


@dataclass(frozen=True)
class Rule:
    """All given criteria must hold; `datatype` None means "not a BIDS series" (excluded)."""

    name: str
    datatype: str | None
    suffix: str | None
    modality: str | None = None
    description: str | None = None
    sequence_name: str | None = None
    image_type: frozenset[str] = frozenset()
    scanning_sequence: frozenset[str] = frozenset()
    sequence_variant: frozenset[str] = frozenset()
    contrast: str | None = None
    te_ms: _Range = _ANY
    tr_ms: _Range = _ANY
    ti_ms: _Range = _ANY


@dataclass(frozen=True)
class BidsGuess:
    datatype: str | None
    suffix: str | None
    rule: str
    entities: dict[str, str] = field(default_factory=dict)


_DWI = keywords("dwi", "dti", "diff", "diffusion", "hardi", "dmri", "ep2d_diff", "resolve")
_FMAP = keywords("fieldmap", "field_map", "field_mapping", "fmap", "b0map", "gre_field_mapping")

RULES: tuple[Rule, ...] = (
    Rule("modality:PT", "pet", "pet", modality="PT"),
    Rule("series_description:localizer", None, None,
         description=keywords("localizer", "localiser", "scout", "survey", "aahead_scout",
                              "aascout", "pilot", r"3.?plane", "3pl")),
    Rule("image_type:derived_diffusion_map", None, None, image_type=frozenset({"DERIVED", "ADC"})),
    Rule("image_type:derived_diffusion_map", None, None, image_type=frozenset({"DERIVED", "FA"})),
    Rule("image_type:derived_diffusion_map", None, None,
         image_type=frozenset({"DERIVED", "TRACEW"})),
    Rule("series_description:sbref+dwi", "dwi", "sbref",
         description=r"sbref(?=.*" + _DWI + r")|" + _DWI + r".*sbref"),
    Rule("series_description:sbref", "func", "sbref", description="sbref"),
    Rule("acquisition_contrast:DIFFUSION", "dwi", "dwi", contrast="DIFFUSION"),
    Rule("acquisition_contrast:FLUID_ATTENUATED", "anat", "FLAIR", contrast="FLUID_ATTENUATED"),
    Rule("acquisition_contrast:PERFUSION", "perf", "asl", contrast="PERFUSION"),
    Rule("acquisition_contrast:T2_STAR", "anat", "T2starw", contrast="T2_STAR"),
    Rule("acquisition_contrast:PROTON_DENSITY", "anat", "PDw", contrast="PROTON_DENSITY"),
    Rule("acquisition_contrast:T1", "anat", "T1w", contrast="T1"),
    Rule("acquisition_contrast:T2", "anat", "T2w", contrast="T2"),
    Rule("image_type:DIFFUSION", "dwi", "dwi", image_type=frozenset({"DIFFUSION"})),
    Rule("image_type:ASL", "perf", "asl", image_type=frozenset({"ASL"})),
    Rule("image_type:PERFUSION", "perf", "asl", image_type=frozenset({"PERFUSION"})),
    Rule("image_type:FMRI", "func", "bold", image_type=frozenset({"FMRI"})),
    Rule("series_description:m0scan", "perf", "m0scan", description=keywords("m0scan", "m0")),
    Rule("series_description:asl", "perf", "asl",
         description=keywords("pcasl", "pasl", "casl", "asl", "fairest", "perfusion")),
    Rule("series_description:dwi", "dwi", "dwi", description=_DWI),
    Rule("series_description:fieldmap+image_type:P", "fmap", "phasediff", description=_FMAP,
         image_type=frozenset({"P"})),
    Rule("series_description:fieldmap", "fmap", "magnitude", description=_FMAP),
    Rule("series_description:se_epi", "fmap", "epi",
         description=keywords("se_epi", "sefm", "topup", "pepolar", "ep2d_se")),
    Rule("series_description:bold", "func", "bold",
         description=keywords("bold", "fmri", "rest", "resting", "rsfmri", "task", "func")),
    Rule("series_description:angio", "anat", "angio",
         description=keywords("angio", "tof", "mra", "tof3d")),
    Rule("series_description:flair", "anat", "FLAIR",
         description=keywords("flair", "dark_fluid", "darkfluid", "tirm", "spcir")),
    Rule("series_description:t2star", "anat", "T2starw",
         description=keywords("t2star", "t2starw", r"t2\*", "t2_star", "swi", "gre_me")),
    Rule("series_description:mprage", "anat", "T1w",
         description=keywords("mprage", "mp_rage", "mp-rage", "t1mpr", "tfl3d")),
    Rule("series_description:spgr", "anat", "T1w",
         description=keywords("spgr", "fspgr", "bravo", "3dt1", "t1_vibe")),
    Rule("series_description:t1", "anat", "T1w", description=keywords("t1w", "t1")),
    Rule("series_description:pd", "anat", "PDw", description=keywords("pdw", "pd", "proton")),
    Rule("series_description:t2", "anat", "T2w",
         description=keywords("t2w", "t2", "t2_spc", "t2spc", "3dt2")),
    Rule("sequence_name:ep_b", "dwi", "dwi", sequence_name=r"ep_b\d|ep2d_diff|re\d*_b\d"),
    Rule("sequence_name:epfid", "func", "bold", sequence_name=r"epfid"),
    Rule("sequence_name:tfl3d", "anat", "T1w", sequence_name=r"tfl3d|tfl_me3d|mp2rage"),
    Rule("sequence_name:t1tfe", "anat", "T1w", sequence_name=r"t1tfe|t1ffe|efgre3d"),
    Rule("sequence_name:spcir", "anat", "FLAIR", sequence_name=r"spcir|tir\d"),
    Rule("sequence_name:tse+short_TE", "anat", "PDw", sequence_name=r"tse|spc|fse",
         te_ms=(None, 50.0)),
    Rule("sequence_name:tse", "anat", "T2w", sequence_name=r"tse|spc|fse"),
    Rule("physics:IR_long_TI", "anat", "FLAIR", scanning_sequence=frozenset({"IR"}),
         ti_ms=(1500.0, None)),
    Rule("physics:GR_IR", "anat", "T1w", scanning_sequence=frozenset({"GR", "IR"})),
    Rule("physics:MP", "anat", "T1w", sequence_variant=frozenset({"MP"})),
    Rule("physics:EP_TE_20-60", "func", "bold", scanning_sequence=frozenset({"EP"}),
         te_ms=(20.0, 60.0)),
    Rule("physics:SE_long_TE", "anat", "T2w", scanning_sequence=frozenset({"SE"}),
         te_ms=(60.0, None)),
    Rule("physics:SE_short_TE_short_TR", "anat", "T1w", scanning_sequence=frozenset({"SE"}),
         te_ms=(None, 30.0), tr_ms=(None, 1000.0)),
    Rule("physics:SE_short_TE_long_TR", "anat", "PDw", scanning_sequence=frozenset({"SE"}),
         te_ms=(None, 60.0), tr_ms=(1500.0, None)),
    Rule("physics:GR_long_TE", "anat", "T2starw", scanning_sequence=frozenset({"GR"}),
         te_ms=(15.0, None)),
)  # fmt: skip

_REPROIN = re.compile(
    r"^(?:[a-z0-9]+:)?(?:wip )?(anat|func|dwi|fmap|perf|pet)-([A-Za-z0-9]+)", re.IGNORECASE
)


def in_range(value: float | None, bounds: _Range) -> bool:
    """`bounds` is [low, high): None on either side means unbounded; no value never matches."""
    low, high = bounds
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value < high)


def matches(rule: Rule, view: SeriesView) -> bool:
    """True when every criterion the rule sets holds for the series."""
    checks = (
        rule.modality is None or view.modality == rule.modality,
        rule.contrast is None or view.contrast == rule.contrast,
        rule.image_type <= view.image_type,
        rule.scanning_sequence <= view.scanning_sequence,
        rule.sequence_variant <= view.sequence_variant,
        rule.description is None or re.search(rule.description, view.description) is not None,
        rule.sequence_name is None or re.search(rule.sequence_name, view.sequence_name) is not None,
        in_range(view.te_ms, rule.te_ms),
        in_range(view.tr_ms, rule.tr_ms),
        in_range(view.ti_ms, rule.ti_ms),
    )
    return all(checks)


def guess(view: SeriesView, rules: tuple[Rule, ...] = RULES) -> BidsGuess:
    """The first matching rule's datatype/suffix; "none" when nothing matches."""
    if view.modality and view.modality not in ("MR", "PT"):
        return BidsGuess(None, None, f"modality:{view.modality}:no_bids_datatype")
    reproin = _REPROIN.match(view.description_raw.strip())
    if reproin:
        return BidsGuess(reproin.group(1).lower(), reproin.group(2), "series_description:reproin")
    for rule in rules:
        if matches(rule, view):
            return BidsGuess(rule.datatype, rule.suffix, rule.name)
    return BidsGuess(None, None, "none")


def view_from_facts(imaging: dict[str, Any], protocol_name: str | None = None) -> SeriesView:
    """Build a `SeriesView` from normalized imaging facts (see `normalize.imaging_facts`)."""
    description = imaging.get("series_description") or ""
    texts = [t for t in (description, protocol_name or "") if t]
    return SeriesView(
        modality=(imaging.get("modality") or "").upper(),
        description=" | ".join(texts).lower(),
        description_raw=description,
        sequence_name=(imaging.get("sequence") or "").lower(),
        scanning_sequence=_codes(imaging.get("scanning_sequence")),
        sequence_variant=_codes(imaging.get("sequence_variant")),
        image_type=frozenset(str(v).upper() for v in imaging.get("image_type") or []),
        contrast=(imaging.get("contrast") or "").upper(),
        te_ms=imaging.get("te_ms"),
        tr_ms=imaging.get("tr_ms"),
        ti_ms=imaging.get("ti_ms"),
    )


def _codes(value: str | None) -> frozenset[str]:
    return frozenset(part.strip().upper() for part in (value or "").split("\\") if part.strip())

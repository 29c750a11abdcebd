"""Each BIDS guessing rule on its own, and the order between them."""

# ruff: noqa: E501 - the rule table reads best one case per line

from __future__ import annotations

import pytest

from harvesters.dicom.bids_guess import RULES, SeriesView, guess, in_range, view_from_facts


def _view(**kwargs) -> SeriesView:
    kwargs.setdefault("modality", "MR")
    for key in ("scanning_sequence", "sequence_variant", "image_type"):
        if key in kwargs:
            kwargs[key] = frozenset(kwargs[key])
    if "description" in kwargs:
        kwargs["description_raw"] = kwargs["description"]
        kwargs["description"] = kwargs["description"].lower()
    return SeriesView(**kwargs)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (_view(modality="PT"), ("pet", "pet", "modality:PT")),
        (_view(modality="CT"), (None, None, "modality:CT:no_bids_datatype")),
        (_view(description="AAHead_Scout_32ch"), (None, None, "series_description:localizer")),
        (_view(description="FAST LOCALIZER"), (None, None, "series_description:localizer")),
        (_view(image_type={"DERIVED", "ADC"}), (None, None, "image_type:derived_diffusion_map")),
        (_view(description="func-bold_task-rest"), ("func", "bold", "series_description:reproin")),
        (_view(description="cmrr_mb_bold_SBRef"), ("func", "sbref", "series_description:sbref")),
        (_view(contrast="FLUID_ATTENUATED"), ("anat", "FLAIR", "acquisition_contrast:FLUID_ATTENUATED")),
        (_view(image_type={"ORIGINAL", "DIFFUSION"}), ("dwi", "dwi", "image_type:DIFFUSION")),
        (_view(description="pcasl_3d"), ("perf", "asl", "series_description:asl")),
        (_view(description="pcasl_M0"), ("perf", "m0scan", "series_description:m0scan")),
        (_view(description="CBU_DTI_64D"), ("dwi", "dwi", "series_description:dwi")),
        (_view(description="gre_field_mapping", image_type={"P"}), ("fmap", "phasediff", "series_description:fieldmap+image_type:P")),
        (_view(description="gre_field_mapping", image_type={"M"}), ("fmap", "magnitude", "series_description:fieldmap")),
        (_view(description="rest_state"), ("func", "bold", "series_description:bold")),
        (_view(description="t2_flair_tra"), ("anat", "FLAIR", "series_description:flair")),
        (_view(description="t2_swi_tra"), ("anat", "T2starw", "series_description:t2star")),
        (_view(description="t1_mprage_sag"), ("anat", "T1w", "series_description:mprage")),
        (_view(description="Sag FSPGR"), ("anat", "T1w", "series_description:spgr")),
        (_view(description="T1w_sag"), ("anat", "T1w", "series_description:t1")),
        (_view(description="t2_tse_tra"), ("anat", "T2w", "series_description:t2")),
        (_view(description="ANGIO 3D TOF"), ("anat", "angio", "series_description:angio")),
        (_view(sequence_name="ep_b1000#1"), ("dwi", "dwi", "sequence_name:ep_b")),
        (_view(sequence_name="*epfid2d1_64"), ("func", "bold", "sequence_name:epfid")),
        (_view(sequence_name="*tfl3d1_16ns"), ("anat", "T1w", "sequence_name:tfl3d")),
        (_view(sequence_name="*tse2d1_9", te_ms=12.0), ("anat", "PDw", "sequence_name:tse+short_TE")),
        (_view(sequence_name="*tse2d1_9", te_ms=96.0), ("anat", "T2w", "sequence_name:tse")),
        (_view(scanning_sequence={"IR"}, ti_ms=2500.0), ("anat", "FLAIR", "physics:IR_long_TI")),
        (_view(scanning_sequence={"GR", "IR"}, ti_ms=900.0), ("anat", "T1w", "physics:GR_IR")),
        (_view(scanning_sequence={"SE"}, te_ms=240.0, tr_ms=4000.0), ("anat", "T2w", "physics:SE_long_TE")),
        (_view(scanning_sequence={"SE"}, te_ms=15.0, tr_ms=500.0), ("anat", "T1w", "physics:SE_short_TE_short_TR")),
        (_view(scanning_sequence={"SE"}, te_ms=15.0, tr_ms=3000.0), ("anat", "PDw", "physics:SE_short_TE_long_TR")),
        (_view(scanning_sequence={"GR"}, te_ms=20.0), ("anat", "T2starw", "physics:GR_long_TE")),
        (_view(), (None, None, "none")),
    ],
)  # fmt: skip
def test_rule(view: SeriesView, expected: tuple) -> None:
    result = guess(view)
    assert (result.datatype, result.suffix, result.rule) == expected


def test_description_beats_sequence_name_and_physics() -> None:
    view = _view(description="t2_tse_tra", sequence_name="*tfl3d1", scanning_sequence={"GR", "IR"})
    assert guess(view).rule == "series_description:t2"


def test_keyword_boundaries_avoid_false_hits() -> None:
    assert guess(_view(description="ct1_extra")).rule == "none"
    assert guess(_view(description="baseline")).rule == "none"


def test_rule_names_are_unique_per_outcome() -> None:
    outcomes: dict[str, tuple] = {}
    for rule in RULES:
        outcomes.setdefault(rule.name, (rule.datatype, rule.suffix))
        assert outcomes[rule.name] == (rule.datatype, rule.suffix)


def test_in_range_is_half_open_and_needs_a_value() -> None:
    assert in_range(60.0, (60.0, None)) and not in_range(59.9, (60.0, None))
    assert not in_range(None, (None, 50.0)) and in_range(None, (None, None))


def test_view_from_facts_normalizes_case_and_codes() -> None:
    view = view_from_facts(
        {"modality": "mr", "series_description": "T1_MPRAGE", "scanning_sequence": "GR\\IR",
         "image_type": ["original", "m"], "contrast": "t1"},
        protocol_name="Proto",
    )  # fmt: skip
    assert view.description == "t1_mprage | proto" and view.description_raw == "T1_MPRAGE"
    assert view.scanning_sequence == {"GR", "IR"} and view.image_type == {"ORIGINAL", "M"}
    assert view.modality == "MR" and view.contrast == "T1"

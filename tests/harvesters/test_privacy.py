"""Scrubbing identifying values out of free text and folder names (`harvesters.privacy`)."""

from __future__ import annotations

from harvesters.privacy import Scrubber, path_aliases

SUB = "sub-0123456789abcdef"


def _scrubber(**values: object) -> Scrubber:
    return Scrubber.from_header(values, SUB)


def test_patient_id_in_free_text_is_replaced_by_the_pseudonym() -> None:
    scrub = _scrubber(PatientID="MRN55555", PatientName="SMITH^JOHN")
    assert scrub.scrub("MRN55555 follow-up") == f"{SUB} follow-up"
    assert scrub.scrub("Study of patient MRN55555") == f"Study of patient {SUB}"
    assert scrub.scrub("john smith, brain") == f"{SUB}, brain"


def test_other_ids_accession_numbers_and_sequence_ids_are_scrubbed() -> None:
    scrub = _scrubber(
        PatientID="P1",
        OtherPatientIDs=["OLD-7788", "XY99"],
        AccessionNumber="ACC2024001",
        OtherPatientIDsSequence=[{"PatientID": "SEQID42"}],
    )
    text = "OLD-7788 / XY99 / acc2024001 / SEQID42"
    assert scrub.scrub(text) == f"{SUB} / {SUB} / {SUB} / {SUB}"


def test_two_letter_name_parts_are_scrubbed_at_token_boundaries_only() -> None:
    scrub = _scrubber(PatientName="LI^XU", PatientID="42")
    assert scrub.scrub("LI^XU") == SUB
    assert scrub.scrub("li_xu_T1") == f"{SUB}_T1"
    assert scrub.scrub("scan of Xu, slice 3") == f"scan of {SUB}, slice 3"
    # ordinary words that merely contain the letters stay as they are
    assert scrub.scrub("SLICE LIMIT FLUX exudate") == "SLICE LIMIT FLUX exudate"
    # a short id matches as a whole token only: "T1_42" yes, "1420 ms" no
    assert scrub.scrub("T1_42 TR 1420 ms") == f"T1_{SUB} TR 1420 ms"


def test_long_ids_are_found_inside_longer_tokens() -> None:
    scrub = _scrubber(PatientID="12345678")
    assert scrub.scrub("P12345678_T1w") == f"P{SUB}_T1w"


def test_text_that_was_only_the_name_is_dropped_not_replaced() -> None:
    scrub = _scrubber(PatientName="DOE^JANE")
    assert scrub.scrub_optional("DOE^JANE") is None
    assert scrub.scrub_optional("Jane Doe follow-up") == f"{SUB} follow-up"
    assert scrub.scrub_optional("T1 MPRAGE") == "T1 MPRAGE"


def test_nothing_to_scrub_without_identifying_values() -> None:
    scrub = _scrubber(PatientName="", PatientID=None)
    assert not scrub
    assert scrub.scrub("anything") == "anything"
    assert path_aliases("/data/SMITH/x.dcm", scrub) == []


def test_a_patient_folder_at_any_depth_gets_an_alias() -> None:
    scrub = _scrubber(PatientName="SMITH^JOHN", PatientID="MRN55555")
    deep = "/srv/SMITH^JOHN/" + "/".join(f"d{i}" for i in range(12)) + "/MRN55555_1.dcm"
    assert path_aliases(deep, scrub) == [
        ["SMITH^JOHN", SUB],
        ["MRN55555_1.dcm", f"{SUB}_1.dcm"],
    ]

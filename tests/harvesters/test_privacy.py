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


def test_the_ascii_pre_test_never_hides_a_mention() -> None:
    """`mentions` rules texts out by a substring test before the regex; it must agree
    with the regex alone, also where case folding is not plain `lower()` (non-ASCII)."""
    scrubber = Scrubber(["KIM^MIN-JI", "Strauß^Anna"], ["MRN1234567", "AB"], "sub-x")
    texts = [
        "T1 of kim",  # ASCII, other case
        "scan KİM 2",  # dotted capital I: the regex matches it case-insensitively
        "STRAUSS anna",  # ß vs SS: the regex decides, as before
        "slice 3 of 20",  # nothing
        "SLICE",  # "LI"-like pieces inside words are not names
        "ab-12 series",  # a short id at a boundary
        "notes about mrn1234567x",  # a long id inside a token
        "",
    ]
    pattern, repeats = scrubber.pattern, scrubber.repeats
    assert pattern is not None and repeats is not None
    for text in texts:
        assert scrubber.mentions(text) == bool(text and pattern.search(text)), text
        replaced = pattern.sub("sub-x", text)  # the scrub without the pre-test
        expected = repeats.sub("sub-x", replaced) if replaced != text else text
        assert scrubber.scrub(text) == expected, text
    assert scrubber.mentions("scan KİM 2") and scrubber.scrub("T1 of kim") == "T1 of sub-x"
    assert not scrubber.mentions("slice 3 of 20")


def test_path_aliases_skip_paths_without_a_mention() -> None:
    scrubber = Scrubber(["DOE^JOHN"], ["12345678"], "sub-1")
    assert path_aliases("/data/site/series-1/IM0001.dcm", scrubber) == []
    assert path_aliases("/data/DOE_JOHN/12345678/IM1.dcm", scrubber) == [
        ["DOE_JOHN", "sub-1"],
        ["12345678", "sub-1"],
    ]

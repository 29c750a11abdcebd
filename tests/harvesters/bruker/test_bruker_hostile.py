"""Hostile and unusual JCAMP input (issues 8 and 9): bounded memory, no recursion, and a
parameter the reader cannot parse costs only that parameter (raw text + a warning)."""

from __future__ import annotations

import tracemalloc

import pytest
from bruker_support import harvest
from pvfactory import write_study

from harvesters.bruker.jcamp import MAX_NESTING, MAX_VALUES, JcampError, parse_jcamp

HEADER = "##TITLE=Parameter List\n##JCAMPDX=4.24\n##ORIGIN=Bruker BioSpin MRI GmbH\n"

# PV360's nested struct with space-separated numbers inside (a rotation matrix and an
# offset vector), exactly as the issue quotes it: a shape this reader does not parse.
SLICE_GEO = (
    "##$PVM_SliceGeo=( 1 )\n"
    "(((1 0 0 0 1 0 0 0 1), (0 0 -1.5), 20, 20, 1, <+L>), 1, 0.5, 1, <Yes>)\n"
)


def test_run_length_count_is_checked_before_expanding() -> None:
    tracemalloc.start()
    with pytest.raises(JcampError) as info:
        parse_jcamp(HEADER + "##$X=( 3 )\n@200000000*(0)\n##END=\n", "method")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "run-length @200000000* exceeds the declared size (3 values)" in str(info.value)
    assert peak < 1 << 20  # nothing was expanded (it used to allocate 4.8 GB)


def test_run_length_without_declared_size_is_bounded() -> None:
    with pytest.raises(JcampError, match=r"line 4: parameter X: run-length @200000000\*"):
        parse_jcamp(HEADER + "##$X=@200000000*(0)\n##END=\n", "acqp")
    huge = "9" * 5000  # more digits than int() converts by default
    with pytest.raises(JcampError, match=r"run-length @999999999999\.\.\.\* exceeds"):
        parse_jcamp(HEADER + f"##$X=( 4 )\n@{huge}*(0)\n##END=\n", "acqp")


def test_declared_size_is_capped() -> None:
    with pytest.raises(JcampError, match=f"exceeds {MAX_VALUES} values"):
        parse_jcamp(HEADER + "##$X=( 100000, 100000 )\n@10*(0)\n##END=\n", "acqp")


def test_fifty_thousand_nested_parentheses_do_not_recurse() -> None:
    text = HEADER + "##$Deep=" + "(" * 50_000 + "1" + ")" * 50_000 + "\n##END=\n"
    with pytest.raises(JcampError, match=f"structs nested more than {MAX_NESTING} deep"):
        parse_jcamp(text, "method")
    lenient = parse_jcamp(text, "method", strict=False)
    assert lenient.get("Deep").startswith("((((")
    assert len(lenient.get("Deep")) == 2_000
    assert lenient.warnings == [
        f"method: line 4: parameter Deep: structs nested more than {MAX_NESTING} deep; "
        "kept its raw text"
    ]


def test_pv360_slice_geo_keeps_raw_text_and_a_warning() -> None:
    text = HEADER + "##$PVM_Matrix=( 2 )\n64 64\n" + SLICE_GEO + "##$After=7\n##END=\n"
    with pytest.raises(JcampError, match="parameter PVM_SliceGeo: expected ',' or '\\)'"):
        parse_jcamp(text, "study/1/method")
    parsed = parse_jcamp(text, "study/1/method", strict=False)
    assert parsed.get("PVM_Matrix") == [64, 64]
    assert parsed.get("After") == 7
    assert parsed.get("PVM_SliceGeo") == (
        "( 1 ) (((1 0 0 0 1 0 0 0 1), (0 0 -1.5), 20, 20, 1, <+L>), 1, 0.5, 1, <Yes>)"
    )
    assert parsed.warnings == [
        "method: line 7: parameter PVM_SliceGeo: expected ',' or ')' in struct, found '0'; "
        "kept its raw text"
    ]


def test_harvest_of_a_method_with_slice_geo_goes_on(tmp_path, harvester) -> None:
    study = write_study(tmp_path, "360")
    method = study / "1" / "method"
    text = method.read_text("latin-1")
    method.write_text(text.replace("##END=", SLICE_GEO + "##END="), "latin-1")
    bomb = study / "2" / "acqp"
    text = bomb.read_text("latin-1")
    bomb.write_text(text.replace("##END=", "##$Bomb=( 2 )\n@200000000*(0)\n##END="), "latin-1")
    records, errors = harvest(harvester, tmp_path)
    # a count beyond the declared size is damage: that one file is an error, not the run
    assert [(e.item, e.error.split(": ", 2)[-1]) for e in errors] == [
        (
            str(bomb),
            "parameter Bomb: run-length @200000000* exceeds the declared size (2 values)",
        )
    ]
    scans = {r.key.rsplit("/", 1)[1]: r.record for r in records if r.key.startswith("scan:")}
    assert scans["1"].imaging.matrix  # the rest of the method was read
    assert scans["1"].quality["warnings"][0].startswith("method: line ")
    assert "parameter PVM_SliceGeo" in scans["1"].quality["warnings"][0]
    assert scans["2"].imaging.matrix  # its method and visu_pars still describe it
    assert scans["3"].quality == {}


def test_species_map_with_a_huge_field_is_one_error(tmp_path, harvester) -> None:
    write_study(tmp_path, "360")
    species = tmp_path / "participants.tsv"
    species.write_text("participant_id\tspecies\nrat-1\t" + "x" * 200_000 + "\n")
    records, errors = harvest(harvester, tmp_path)
    assert [(e.item, e.error) for e in errors] == [
        (
            str(species),
            f"{species}: not a readable TSV file (field larger than field limit (131072))",
        )
    ]
    assert any(r.key.startswith("scan:") for r in records)

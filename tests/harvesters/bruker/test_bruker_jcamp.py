"""The JCAMP-DX parser on hand-written ParaVision text (independent of the writer)."""

from __future__ import annotations

import pytest

from harvesters.bruker.jcamp import JcampError, parse_jcamp, read_jcamp

HEADER = """##TITLE=Parameter List, ParaVision 6.0.1
##JCAMPDX=4.24
##DATATYPE=Parameter Values
##ORIGIN=Bruker BioSpin MRI GmbH
##OWNER=nmrsu
$$ Tue Jul 31 13:16:20 2018 CEST (UT+2h)  nmrsu
$$ /opt/PV6.0.1/data/nmrsu/nmr/study.xx/3/method
"""


def parse(body: str, **kwargs):
    return parse_jcamp(HEADER + body + "##END=\n", "study/3/method", **kwargs)


def test_header_and_header_comments_are_kept():
    parsed = parse("##$ACQ_dim=2\n$$ @vis= ACQ_dim\n")
    assert parsed.title == "Parameter List, ParaVision 6.0.1"
    assert parsed.header["JCAMPDX"] == "4.24"
    assert parsed.header["ORIGIN"] == "Bruker BioSpin MRI GmbH"
    assert parsed.header_comments == [
        "Tue Jul 31 13:16:20 2018 CEST (UT+2h)  nmrsu",
        "/opt/PV6.0.1/data/nmrsu/nmr/study.xx/3/method",
    ]
    assert parsed.comments[-1] == "@vis= ACQ_dim"


def test_scalars_numbers_words_and_empty_string():
    parsed = parse(
        "##$ACQ_dim=2\n##$PVM_EchoTime=0.48\n##$Tiny=1e-06\n##$Neg=-3\n"
        "##$ACQ_trigger_enable=No\n##$Method=<Bruker:FLASH>\n##$Empty=<>\n"
    )
    assert parsed.params == {
        "ACQ_dim": 2,
        "PVM_EchoTime": 0.48,
        "Tiny": 1e-06,
        "Neg": -3,
        "ACQ_trigger_enable": "No",
        "Method": "Bruker:FLASH",
        "Empty": "",
    }
    assert isinstance(parsed.get("ACQ_dim"), int)


def test_arrays_with_dims_on_following_lines():
    parsed = parse("##$ACQ_size=( 2 )\n7344 1\n##$PVM_Fov=( 3 )\n25.6\n19.2 12\n")
    assert parsed.get("ACQ_size") == [7344, 1]
    assert parsed.get("PVM_Fov") == [25.6, 19.2, 12]


def test_string_with_parentheses_and_commas():
    parsed = parse("##$ACQ_scan_name=( 64 )\n<T2 (axial, 0.5 mm), run 2>\n")
    assert parsed.get("ACQ_scan_name") == "T2 (axial, 0.5 mm), run 2"


def test_string_array_two_dims_gives_list_of_strings():
    parsed = parse("##$VisuCoreUnits=( 2, 65 )\n<mm> <mm>\n##$Labels=( 2, 2, 8 )\n<a> <b> <c> <>\n")
    assert parsed.get("VisuCoreUnits") == ["mm", "mm"]
    assert parsed.get("Labels") == [["a", "b"], ["c", ""]]


def test_struct_scalar_struct_array_and_enum_tuple():
    parsed = parse(
        "##$VisuCoreSlicePacksDef=(0, 1)\n"
        "##$VisuFGOrderDesc=( 2 )\n"
        "(5, <FG_SLICE>, <>, 0, 2) (35, <FG_DIFFUSION>, <diff (b, g)>, 2, 3)\n"
        "##$SUBJECT_sex=(<MALE>, <Male>)\n"
        "##$One=( 1 )\n(5, <FG_SLICE>, <>, 0, 2)\n"
    )
    assert parsed.get("VisuCoreSlicePacksDef") == [0, 1]
    assert parsed.get("VisuFGOrderDesc") == [
        [5, "FG_SLICE", "", 0, 2],
        [35, "FG_DIFFUSION", "diff (b, g)", 2, 3],
    ]
    assert parsed.get("SUBJECT_sex") == ["MALE", "Male"]
    assert parsed.get("One") == [[5, "FG_SLICE", "", 0, 2]]


def test_multi_dimensional_array_is_reshaped_row_major():
    parsed = parse("##$Dir=( 2, 3 )\n1 2 3\n4 5 6\n##$Cube=( 2, 2, 2 )\n1 2 3 4 5 6 7 8\n")
    assert parsed.get("Dir") == [[1, 2, 3], [4, 5, 6]]
    assert parsed.get("Cube") == [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]


def test_pv360_run_length_encoding():
    parsed = parse(
        "##$VisuCoreDataSlope=( 5 )\n@3*(41.818209641992354) 2 @1*(0)\n"
        "##$Units=( 2, 65 )\n@2*(<mm>)\n"
    )
    assert parsed.get("VisuCoreDataSlope") == [41.818209641992354] * 3 + [2, 0]
    assert parsed.get("Units") == ["mm", "mm"]


def test_wrapped_values_continue_until_next_entry():
    parsed = parse(
        "##$PVM_ExcPulse1=(1, 5400, 90, Yes, 3, 4200, 0.25, 0.2, 0, 50, 0.3, 0.2,\n"
        "<$ExcPulse1Shape>)\n"
        "##$Long=( 6 )\n1 2 3\n4 5\n6\n$$ @vis= Long\n"
        "##$Wrapped=( 80 )\n<first half of a long \nstring>\n"
    )
    assert parsed.get("PVM_ExcPulse1")[2] == 90
    assert parsed.get("PVM_ExcPulse1")[-1] == "$ExcPulse1Shape"
    assert parsed.get("Long") == [1, 2, 3, 4, 5, 6]
    assert parsed.get("Wrapped") == "first half of a long string"


def test_empty_array():
    assert parse("##$None=( 0 )\n").get("None") == []


def test_too_few_values_names_file_parameter_and_line():
    with pytest.raises(JcampError) as info:
        parse("##$ACQ_dim=2\n##$PVM_Matrix=( 3 )\n64 64\n##$After=1\n")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.parameter == "PVM_Matrix"
    assert error.line == 10
    assert str(error) == (
        "study/3/method: line 10: parameter PVM_Matrix: declared ( 3 ) = 3 values, found 2"
    )


def test_unterminated_string_is_an_error():
    with pytest.raises(JcampError, match=r"line 10: parameter ACQ_scan_name: unterminated <string"):
        parse("##$ACQ_dim=2\n##$ACQ_scan_name=( 64 )\n<never closed\n")


def test_garbage_in_array_is_an_error():
    with pytest.raises(JcampError, match=r"line 9: parameter ACQ_size: unexpected character '#'"):
        parse("##$ACQ_size=( 2 )\n12 #%!\n")


def test_unterminated_struct_is_an_error():
    with pytest.raises(JcampError, match=r"parameter Pulse: unterminated \( struct"):
        parse("##$Pulse=(1, 2, <a>\n")


def test_truncated_file_without_end_is_an_error():
    text = HEADER + "##$ACQ_dim=2\n##$ACQ_size=( 2 )\n64 64\n"
    with pytest.raises(JcampError, match=r"parameter ACQ_size: file ends without ##END="):
        parse_jcamp(text, "acqp")
    assert parse_jcamp(text, "acqp", require_end=False).get("ACQ_size") == [64, 64]


def test_text_before_any_entry_is_an_error():
    with pytest.raises(JcampError, match=r"acqp: line 1: header: text outside any entry"):
        parse_jcamp("garbage\n##END=\n", "acqp")


def test_read_jcamp_reads_latin1_file(tmp_path):
    path = tmp_path / "acqp"
    path.write_bytes((HEADER + "##$ACQ_operator=( 16 )\n<M\xfcller>\n##END=\n").encode("latin-1"))
    parsed = read_jcamp(path)
    assert parsed.get("ACQ_operator") == "M\u00fcller"
    assert parsed.source == str(path)

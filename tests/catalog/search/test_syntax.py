"""The query language: conjuncts, alternatives, exclusions, fields, ranges, errors."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.search import Conjunct, FieldAtom, RangeAtom, TextAtom
from catalog.search.syntax import parse_query


def word(text: str) -> Conjunct:
    return Conjunct((TextAtom("word", text),))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rat brain", [word("rat"), word("brain")]),
        ("rat AND brain", [word("rat"), word("brain")]),
        ("rat OR mouse", [Conjunct((TextAtom("word", "rat"), TextAtom("word", "mouse")))]),
        (
            "(rat OR mouse OR pig) brain",
            [
                Conjunct(
                    (TextAtom("word", "rat"), TextAtom("word", "mouse"), TextAtom("word", "pig"))
                ),
                word("brain"),
            ],
        ),
        ("brain NOT rat", [word("brain"), Conjunct((TextAtom("word", "rat"),), negated=True)]),
        ("brain -rat", [word("brain"), Conjunct((TextAtom("word", "rat"),), negated=True)]),
        ("sub-01", [word("sub-01")]),
        (
            '"spin echo" card*',
            [
                Conjunct((TextAtom("phrase", "spin echo"),)),
                Conjunct((TextAtom("prefix", "card"),)),
            ],
        ),
        ("Manufacturer:Bruker", [Conjunct((FieldAtom("manufacturer", ("Bruker",)),))]),
        (
            'species:"Rattus norvegicus"',
            [Conjunct((FieldAtom("species", ("Rattus norvegicus",)),))],
        ),
        ("tr_ms:[1000 TO 3000]", [Conjunct((RangeAtom("tr_ms", 1000.0, 3000.0),))]),
        ("te_ms:[* TO 30]", [Conjunct((RangeAtom("te_ms", None, 30.0),))]),
        ("tr_ms:2000", [Conjunct((RangeAtom("tr_ms", 2000.0, 2000.0),))]),
        ("; -- ,", []),
        ("and or not", [word("and"), word("or"), word("not")]),  # lower case: plain words
    ],
)
def test_parse(text, expected):
    assert parse_query(text) == expected


def test_date_ranges_cover_whole_periods():
    (conjunct,) = parse_query("acquired:[2020 TO 2021-02]")
    atom = conjunct.atoms[0]
    assert isinstance(atom, RangeAtom)
    assert atom.low == date(2020, 1, 1).toordinal()
    assert atom.high == date(2021, 2, 28).toordinal()


@pytest.mark.parametrize(
    "text",
    [
        "a AND (",
        "(",
        "*",
        ")",
        "OR",
        "a OR",
        "NOT",
        '"x',
        "()",
        "(a -b)",
        "x:1",
        "tr_ms:[3 TO 1]",
        "tr_ms:[* TO *]",
        "field_strength:",
        "acquired:[2020-02-30 TO *]",
    ],
)
def test_malformed_is_a_400(text):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert caught.value.status == 400 and caught.value.message

"""Words for values that sources store as codes: ages, durations, relation types, rules.

Sources write a subject's age as an ISO 8601 duration (`P84D`, BIDS and Bruker) or a
DICOM Age String (`043Y`); DataCite relation types are CamelCase identifiers
(`IsDerivedFrom`) and annotation rules are internal names. People read "84 days",
"is derived from" and "from the series description", so the pages render these through
the pure functions below (no I/O; unknown input comes back unchanged rather than raising,
since a page must render whatever a source wrote).
"""

from __future__ import annotations

import re

_ISO = re.compile(
    r"^P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_DICOM_AGE = re.compile(r"^(?P<n>\d{1,3})(?P<unit>[DWMY])$")
_UNITS = {
    "Y": ("year", "years"),
    "M": ("month", "months"),
    "W": ("week", "weeks"),
    "D": ("day", "days"),
    "h": ("hour", "hours"),
    "m": ("minute", "minutes"),
    "s": ("second", "seconds"),
}


def _amount(number: str, unit: str) -> str:
    value = float(number)
    text = f"{value:g}"
    singular, plural = _UNITS[unit]
    return f"{text} {singular if value == 1 else plural}"


def duration_words(value: str | None) -> str:
    """'P84D' -> '84 days', 'P1Y6M' -> '1 year 6 months', '043Y' -> '43 years',
    'PT1H30M' -> '1 hour 30 minutes'; other text is returned as it is."""
    if not value:
        return ""
    text = value.strip()
    dicom = _DICOM_AGE.match(text)
    if dicom:
        return _amount(dicom["n"], dicom["unit"])
    iso = _ISO.match(text.upper())
    if iso and text not in ("P", "PT"):
        parts = [_amount(number, unit) for unit, number in iso.groupdict().items() if number]
        if parts:
            return " ".join(parts)
    return text


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def relation_words(relation: str) -> str:
    """'IsDerivedFrom' -> 'is derived from', 'HasPart' -> 'has part'."""
    return _CAMEL.sub(" ", str(relation)).lower()


#: Evidence field names that read better spelled out than split.
_FIELD_LABELS = {
    "tr_ms": "TR (ms)",
    "te_ms": "TE (ms)",
    "ti_ms": "TI (ms)",
    "bids_suffix": "BIDS suffix",
    "bids_datatype": "BIDS datatype",
}


def field_words(name: str) -> str:
    """An evidence field name as words: 'SeriesDescription' or 'series_description' ->
    'series description'."""
    if name in _FIELD_LABELS:
        return _FIELD_LABELS[name]
    spaced = _CAMEL.sub(" ", name.replace("_", " ").replace(".", " "))
    return " ".join(spaced.split()).lower()


def term_origin(rule: str, evidence: dict[str, str] | None) -> str:
    """Where an annotation came from, in words, without the internal rule name:
    'assigned automatically from modality "MR", TR (ms) "10"'."""
    if rule == "manual":
        return "added by a curator"
    parts = []
    for name, value in (evidence or {}).items():
        shown = "" if not value or value.startswith(("http://", "https://")) else value
        parts.append(f"{field_words(name)} “{shown}”" if shown else field_words(name))
    if not parts:
        return "assigned automatically"
    return "assigned automatically from " + ", ".join(parts)

"""BIDS values to catalogue values: SPDX licences, NCBITaxon species, sex, age, units, dates.

Species and licences are looked up in the one table of each (`ontologies.tables`).

BIDS leaves these as free text (`License: "CC0"`, `species: "rat"`), while the catalogue
stores identifiers that exporters and facets can rely on.  Every mapping here is a table
lookup after light cleaning; an unknown value maps to None and the raw text stays in
`source.raw`, so nothing is guessed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from catalog.domain.records import Concept
from harvesters.species import human as human  # re-exported for the BIDS modules
from harvesters.species import lookup_species
from ontologies.tables import ReferenceTables

DEFAULT_SPECIES_RULE = "bids:default-species"
"""BIDS participants.tsv `species`: "if this column is absent, homo sapiens is assumed"."""


def species_concept(value: str | None) -> Concept | None:
    """NCBITaxon concept for a BIDS species value (name, alias, taxon id or IRI)."""
    return lookup_species(value)


def spdx_license(value: str | None) -> str | None:
    """SPDX id for BIDS free-text licences ("CC0", "CC BY 4.0", "PDDL"); None if unknown.

    The spellings live in the licence table (`ontologies/data/licenses.ttl`)."""
    return ReferenceTables.of().licences.spdx_id(value)


_SEX = {
    "m": "male", "male": "male", "man": "male",
    "f": "female", "female": "female", "woman": "female",
    "o": "other", "other": "other", "n/a": None, "": None, "u": "unknown", "unknown": "unknown",
}  # fmt: skip


def sex(value: Any) -> str | None:
    """BIDS `sex` (M/F/O, male/female/other, any case) to the record's vocabulary."""
    if value is None:
        return None
    return _SEX.get(str(value).strip().lower())


_AGE_UNITS = {"year": "Y", "years": "Y", "month": "M", "months": "M", "week": "W",
              "weeks": "W", "day": "D", "days": "D"}  # fmt: skip


def age(value: Any, units: str | None = None) -> str | None:
    """ISO 8601 duration ("P29Y") from a BIDS age (default unit: years); odd text kept."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower() in ("", "n/a"):
        return None
    unit = _AGE_UNITS.get((units or "year").strip().lower())
    try:
        number = float(text)
    except ValueError:
        return text
    if unit is None or number < 0:
        return text
    shown = str(int(number)) if number.is_integer() else f"{number:g}"
    return f"P{shown}{unit}"


_BQ_PER_UNIT = {
    "bq": 1.0, "kbq": 1e3, "mbq": 1e6, "gbq": 1e9,
    "ci": 3.7e10, "mci": 3.7e7, "uci": 3.7e4, "µci": 3.7e4, "μci": 3.7e4,
}  # fmt: skip


def radioactivity_bq(value: Any, units: Any) -> float | None:
    """Injected radioactivity in Bq; BIDS gives the value and its unit separately."""
    number = as_float(value)
    if number is None:
        return None
    factor = _BQ_PER_UNIT.get(str(units or "MBq").strip().lower())
    return None if factor is None else number * factor


def as_float(value: Any) -> float | None:
    """A number from a sidecar value; lists (multi-echo) give their first element."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def seconds_to_ms(value: Any) -> float | None:
    number = as_float(value)
    return None if number is None else round(number * 1000.0, 6)


_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def doi(value: Any) -> str | None:
    """A bare DOI ("10.1234/x") from "doi:..", "https://doi.org/.." or citation text."""
    if not isinstance(value, str):
        return None
    match = _DOI.search(value)
    return match.group(1).rstrip(".,;)") if match else None


def is_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^https?://\S+$", value.strip()) is not None


_ACQ_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?"
)
ACQ_TIME_FORMAT = "YYYY-MM-DDThh:mm:ss[.000000][Z|±hh:mm]"


def acquisition_date(value: str) -> date:
    """The date of a scans.tsv `acq_time` as written (shifted years such as 1880 included).

    ValueError when it is not the BIDS datetime form or not a real date and time.
    """
    match = _ACQ_TIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not a BIDS datetime ({ACQ_TIME_FORMAT})")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"out of range (time {hour:02d}:{minute:02d}:{second:02d})")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"not a real date ({exc})") from exc

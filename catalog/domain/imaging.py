"""Imaging facts as people say them: nominal field strengths, vendors, modality words.

Pure functions, no I/O. Used at write time (a record's `imaging` gets its nominal field
strength and a normalised vendor, the raw value kept in `source.raw`) and at query time
(`3T`, `9.4 T`, `7 tesla`, `MRI` typed as words).

Why nominal: scanners write their measured field (Siemens' "3 T" says 2.89, Bruker's
"7 T" says 7.05). People ask for the class of magnet, so the facet and the query use the
nearest standard strength within `NOMINAL_TOLERANCE`; the measured value stays in
`field_strength_t`.
"""

from __future__ import annotations

import bisect
import re

#: Magnet classes in clinical and preclinical use, in tesla.
NOMINAL_FIELD_STRENGTHS: tuple[float, ...] = (
    0.2,
    0.35,
    0.5,
    1.0,
    1.5,
    2.0,
    3.0,
    4.0,
    4.7,
    7.0,
    9.4,
    10.5,
    11.7,
    14.1,
    15.2,
    17.2,
    21.1,
)
#: A measured value within this fraction of a class belongs to it (2.89 T is 3 T).
NOMINAL_TOLERANCE = 0.07

#: Canonical vendor names, keyed by the normalised spellings scanners write.
VENDORS: dict[str, str] = {
    "siemens": "Siemens",
    "siemens healthineers": "Siemens",
    "siemens healthcare": "Siemens",
    "ge": "GE",
    "g e": "GE",
    "ge medical systems": "GE",
    "ge healthcare": "GE",
    "general electric": "GE",
    "philips": "Philips",
    "philips medical systems": "Philips",
    "philips healthcare": "Philips",
    "toshiba": "Canon",
    "toshiba mec": "Canon",
    "toshiba medical systems": "Canon",
    "canon": "Canon",
    "canon medical systems": "Canon",
    "bruker": "Bruker",
    "bruker biospin": "Bruker",
    "bruker biospin mri gmbh": "Bruker",
    "hitachi": "Hitachi",
    "united imaging": "United Imaging",
    "united imaging healthcare": "United Imaging",
    "uih": "United Imaging",
    "mr solutions": "MR Solutions",
    "agilent": "Agilent",
    "varian": "Agilent",
}

_CANONICAL = frozenset(VENDORS.values())

#: Words that name a modality -> DICOM modality code.
MODALITY_WORDS: dict[str, str] = {
    "mri": "MR",
    "mr": "MR",
    "pet": "PT",
    "ct": "CT",
    "spect": "NM",
}
MODALITY_LABELS: dict[str, str] = {
    "MR": "MRI",
    "PT": "PET",
    "CT": "CT",
    "NM": "nuclear medicine",
}

_STRENGTH_RE = re.compile(r"^(\d{1,2}(?:[.,]\d{1,2})?)\s*(?:t|tesla)$", re.IGNORECASE)
_NUMBER_RE = re.compile(r"^\d{1,2}(?:[.,]\d{1,2})?$")
_UNIT_WORDS = frozenset({"t", "tesla"})


def nominal_field_strength(tesla: float | None) -> float | None:
    """The magnet class of a measured field (2.89 -> 3.0; 7.05 -> 7.0), else rounded."""
    if tesla is None or tesla <= 0:
        return None
    at = bisect.bisect_left(NOMINAL_FIELD_STRENGTHS, tesla)
    # the nearer of the two neighbours, the lower on a tie (as `min` would pick), without
    # a key function: indexing calls this for every acquisition
    low = NOMINAL_FIELD_STRENGTHS[max(at - 1, 0)]
    high = NOMINAL_FIELD_STRENGTHS[min(at, len(NOMINAL_FIELD_STRENGTHS) - 1)]
    near = high if abs(high - tesla) < abs(low - tesla) else low
    if abs(near - tesla) <= near * NOMINAL_TOLERANCE:
        return near
    return round(tesla, 1)


def nominal_range(nominal: float) -> tuple[float, float]:
    """The measured values that count as `nominal` (for "3 T (2.8-3.2 T)")."""
    return nominal * (1 - NOMINAL_TOLERANCE), nominal * (1 + NOMINAL_TOLERANCE)


def strength_value(nominal: float) -> str:
    """The facet value of a nominal strength: "3", "9.4"."""
    return f"{nominal:g}"


def describe_strength(nominal: float) -> str:
    """ "field strength 3 T (2.8-3.2 T)" """
    low, high = nominal_range(nominal)
    return f"field strength {nominal:g} T ({low:.1f}\u2013{high:.1f} T)"


def normalise_vendor(raw: str | None) -> str | None:
    """One name per vendor ("G.E. Medical Systems" -> "GE"); unknown ones kept as typed."""
    if not raw or not raw.strip():
        return None
    if raw in _CANONICAL:  # already normalised (stored bodies are, since write time)
        return raw
    key = " ".join(re.sub(r"[._,\-]+", " ", raw.lower()).split())
    compact = key.replace(" ", "")
    if key in VENDORS:
        return VENDORS[key]
    if compact.startswith("ge") and (compact == "ge" or "medical" in key or "health" in key):
        return "GE"
    for size in (3, 2, 1):
        head = " ".join(key.split(" ")[:size])
        if head in VENDORS:
            return VENDORS[head]
    return raw.strip()


def strength_in_words(words: list[str], start: int) -> tuple[float, int] | None:
    """A field strength spelled at `words[start]` ("3T", "9.4T", "3 T", "7 tesla"):
    (nominal tesla, words used), else None."""
    word = words[start].lower()
    match = _STRENGTH_RE.match(word)
    if match:
        return _nominal_of(match.group(1)), 1
    unit_follows = start + 1 < len(words) and words[start + 1].lower() in _UNIT_WORDS
    if _NUMBER_RE.match(word) and unit_follows:
        return _nominal_of(word), 2
    return None


def _nominal_of(text: str) -> float:
    value = float(text.replace(",", "."))
    return nominal_field_strength(value) or value


#: More names a canonical vendor answers to in searches and filters (lower case).
VENDOR_ALIASES: dict[str, tuple[str, ...]] = {
    "Canon": ("toshiba", "canon/toshiba"),
    "GE": ("general electric", "ge medical systems"),
    "Agilent": ("varian",),
}

_AGE_RE = re.compile(r"^P?(\d+(?:\.\d+)?)([DWMY])$", re.IGNORECASE)
_DAYS_PER = {"D": 1.0, "W": 7.0, "M": 30.44, "Y": 365.25}


def age_in_days(age: str | None) -> float | None:
    """A DICOM AS ("084D", "029Y") or simple ISO 8601 duration ("P12W") in days."""
    if not age:
        return None
    match = _AGE_RE.match(str(age).strip())
    if not match:
        return None
    return round(float(match.group(1)) * _DAYS_PER[match.group(2).upper()], 1)


def normalise_imaging(body: dict) -> dict:
    """Write-time normalisation of a record body (returned, the input left unchanged):
    nominal field strength next to the measured one, one vendor name with the raw one
    kept in `source.raw["manufacturer"]`."""
    imaging = dict(body.get("imaging") or {})
    if not imaging:
        return body
    out = dict(body)
    nominal = nominal_field_strength(imaging.get("field_strength_t"))
    if nominal is not None:
        imaging["field_strength_nominal_t"] = nominal
    raw = imaging.get("manufacturer")
    vendor = normalise_vendor(raw)
    if vendor is not None and vendor != raw:
        imaging["manufacturer"] = vendor
        source = dict(out.get("source") or {})
        source["raw"] = {**(source.get("raw") or {}), "manufacturer": raw}
        out["source"] = source
    out["imaging"] = imaging
    return out

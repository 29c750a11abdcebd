"""Roll-ups: what a collection, subject or session holds, summed over its descendants.

A researcher judges a dataset by what is inside it (rat, 7 T, T2-weighted, 12 subjects,
2019-2021, 40 GB), not by its own few fields. A `Rollup` is computed at write time (when
the index applies a change, bottom-up: a container's roll-up is its own facts plus its
children's roll-ups), stored, indexed with the container (so ``rat 7T T2`` finds the rat
collection) and shown on the record JSON (`rollup`) and on the search page's cards.

Only active, public descendants count: a roll-up never reveals a restricted record, not
even by a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Levels that carry a roll-up.
CONTAINER_LEVELS = frozenset({"collection", "subject", "session"})
#: At most this many distinct values per shown list (a roll-up is a summary) and per
#: numeric field (ranges match a container when any of these is in range).
MAX_VALUES = 50
MAX_NUMBERS = 500


class Rollup(BaseModel):
    """A container's summary of its descendants (and itself)."""

    model_config = ConfigDict(extra="ignore")

    modalities: list[str] = Field(default_factory=list, description="DICOM codes: MR, PT, CT")
    field_strengths_t: list[float] = Field(
        default_factory=list, description="Nominal field strengths (tesla)"
    )
    manufacturers: list[str] = Field(default_factory=list)
    species: list[str] = Field(default_factory=list, description="Species labels")
    sequences: list[str] = Field(default_factory=list, description="Sequences / BIDS suffixes")
    contrasts: list[str] = Field(default_factory=list, description="Contrast concepts (labels)")
    anatomy: list[str] = Field(default_factory=list, description="Anatomy concepts (labels)")
    subjects: int = 0
    sessions: int = 0
    acquisitions: int = 0
    files: int = 0
    total_bytes: int = 0
    date_from: date | None = None
    date_to: date | None = None
    # what the index needs besides the summary (not part of the record JSON)
    species_iris: list[str] = Field(default_factory=list, exclude=True)
    term_iris: list[str] = Field(default_factory=list, exclude=True)
    numbers: dict[str, list[float]] = Field(default_factory=dict, exclude=True)

    def stored(self) -> dict[str, Any]:
        """The full form, for the store (the JSON form leaves the index's parts out)."""
        data = self.model_dump(mode="json")
        data.update(species_iris=self.species_iris, term_iris=self.term_iris, numbers=self.numbers)
        return data


_LISTS = (
    "modalities",
    "field_strengths_t",
    "manufacturers",
    "species",
    "sequences",
    "contrasts",
    "anatomy",
    "species_iris",
    "term_iris",
)
_COUNTS = ("subjects", "sessions", "acquisitions", "files", "total_bytes")


@dataclass(slots=True)
class RollupPart:
    """One record's own contribution to its containers' roll-ups: the fields of a
    `Rollup` without validation (a rebuild makes one per record; a pydantic model cost
    more than the rest of the part)."""

    modalities: list[str] = field(default_factory=list)
    field_strengths_t: list[float] = field(default_factory=list)
    manufacturers: list[str] = field(default_factory=list)
    species: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    contrasts: list[str] = field(default_factory=list)
    anatomy: list[str] = field(default_factory=list)
    subjects: int = 0
    sessions: int = 0
    acquisitions: int = 0
    files: int = 0
    total_bytes: int = 0
    date_from: date | None = None
    date_to: date | None = None
    species_iris: list[str] = field(default_factory=list)
    term_iris: list[str] = field(default_factory=list)
    numbers: dict[str, list[float]] = field(default_factory=dict)


def merge(parts: Sequence[Rollup | RollupPart]) -> Rollup:
    """The roll-up of several parts: lists united (sorted, bounded), counts added, the
    date range widened."""
    lists: dict[str, set[Any]] = {name: set() for name in _LISTS}
    counts = dict.fromkeys(_COUNTS, 0)
    numbers: dict[str, set[float]] = {}
    starts: list[date] = []
    ends: list[date] = []
    for part in parts:
        for name in _LISTS:
            lists[name].update(getattr(part, name))
        for name in _COUNTS:
            counts[name] += getattr(part, name)
        for name, values in part.numbers.items():
            numbers.setdefault(name, set()).update(values)
        starts += [part.date_from] if part.date_from else []
        ends += [part.date_to] if part.date_to else []
    # every part is typed already (own parts are built from stored bodies, stored roll-ups
    # are validated when read): no second validation of up to thousands of numbers
    return Rollup.model_construct(
        **{name: _bounded(name, values) for name, values in lists.items()},
        **counts,
        numbers={name: sorted(values)[:MAX_NUMBERS] for name, values in numbers.items()},
        date_from=min(starts) if starts else None,
        date_to=max(ends) if ends else None,
    )


def _bounded(name: str, values: set[Any]) -> list[Any]:
    ordered = sorted(values)
    # IRIs decide what a container matches: never cut; labels are for reading
    return ordered if name in {"species_iris", "term_iris"} else ordered[:MAX_VALUES]

"""`DatasetSummary`: what a collection (or subject, session) holds, at a glance.

A landing page opens with it: species, field strengths, modalities and sequences with
counts, how many subjects / sessions / acquisitions / files, the acquisition date range,
the total size, and a subject x session x modality grid. It is computed from the
descendants the caller may see (`catalog/services/summary.py`), so counts never reveal
restricted records.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Count(_Model):
    """One value and how many acquisitions (or subjects, for species) have it."""

    value: str
    count: int
    label: str | None = Field(None, description="How the value reads, when not as it is")


class GridRow(_Model):
    """One (subject, session) row: acquisitions per grid column."""

    subject_id: str | None = None
    subject: str
    session_id: str | None = None
    session: str
    cells: dict[str, int] = Field(default_factory=dict)


class DatasetSummary(_Model):
    record_id: str
    subjects: int = 0
    sessions: int = 0
    acquisitions: int = 0
    derived: int = 0
    files: int = 0
    total_bytes: int = 0
    first_date: date | None = None
    last_date: date | None = None
    species: list[Count] = Field(default_factory=list)
    modalities: list[Count] = Field(default_factory=list)
    field_strengths: list[Count] = Field(default_factory=list, description="e.g. '9.4 T'")
    sequences: list[Count] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list, description="Grid columns (modality)")
    grid: list[GridRow] = Field(default_factory=list)
    grid_rows_total: int = Field(0, description="Rows before the grid was cut to its limit")


class CatalogueGlance(_Model):
    """The whole catalogue at a glance (home page charts): acquisitions the caller may
    see by modality, nominal field strength, species and year acquired."""

    acquisitions: int = 0
    modalities: list[Count] = Field(default_factory=list)
    field_strengths: list[Count] = Field(default_factory=list)
    species: list[Count] = Field(default_factory=list)
    years: list[Count] = Field(default_factory=list, description="Oldest first")

"""Registered harvest sources: validation, runs by name, scheduled runs when due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from catalog.domain.enums import Role
from catalog.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from catalog.domain.identity import SYSTEM, Identity
from catalog.services.container import Catalog
from catalog.services.sources import parse_interval
from catalog.store.repository import utcnow
from harvesters.bids.sample import write_sample_dataset
from harvesters.bruker.sample import write_sample_study


def test_interval_parsing() -> None:
    assert parse_interval("30m") == 30
    assert parse_interval("6h") == 360
    assert parse_interval("1d") == 1440
    assert parse_interval(None) is None
    with pytest.raises(ValidationError, match="not like 30m, 6h or 1d"):
        parse_interval("weekly")
    with pytest.raises(ValidationError, match="not like"):
        parse_interval("0h")


def test_add_validates_name_type_and_options(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    sources = sqlite_catalog.sources
    with pytest.raises(ValidationError, match="source name"):
        sources.add(SYSTEM, "bad name!", "bids", str(tmp_path), {})
    with pytest.raises(NotFoundError, match="unknown harvester 'nifti'"):
        sources.add(SYSTEM, "x", "nifti", str(tmp_path), {})
    with pytest.raises(ValidationError, match="does not take colour; it takes: "):
        sources.add(SYSTEM, "x", "bids", str(tmp_path), {"colour": "red"})
    with pytest.raises(PermissionDeniedError, match="admin"):
        sources.add(Identity(user="c", role=Role.curator), "x", "bids", str(tmp_path), {})
    info = sources.add(SYSTEM, "rats", "bruker", str(tmp_path), {"species": "rat"}, "6h")
    assert (info.kind, info.options, info.interval_minutes) == ("bruker", {"species": "rat"}, 360)
    assert [s.name for s in sources.list(SYSTEM)] == ["rats"]


def test_run_by_name_is_incremental_and_kept_on_the_source(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    root = write_sample_dataset(tmp_path / "bids")
    sources = sqlite_catalog.sources
    sources.add(SYSTEM, "site-a", "bids", str(root), {})
    first = sources.run(SYSTEM, "site-a")
    assert first.created > 10 and first.failed == 0
    second = sources.run(SYSTEM, "site-a")
    assert second.created == 0 and second.unchanged == first.created
    (info,) = sources.list(SYSTEM)
    assert info.last_run is not None
    assert info.last_report and info.last_report["unchanged"] == first.created
    with pytest.raises(NotFoundError, match="no harvest source named 'nope'"):
        sources.run(SYSTEM, "nope")


def test_run_due_runs_only_what_is_due_and_survives_a_broken_source(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    sources = sqlite_catalog.sources
    write_sample_study(tmp_path / "pv")
    sources.add(SYSTEM, "pv", "bruker", str(tmp_path / "pv"), {"species": "rat"}, "1h")
    sources.add(SYSTEM, "gone", "bids", str(tmp_path / "unmounted"), {}, "1h")
    sources.add(SYSTEM, "manual", "bids", str(tmp_path), {})  # never scheduled
    runs = {r.name: r for r in sources.run_due(SYSTEM)}
    assert set(runs) == {"pv", "gone"}
    assert runs["pv"].report is not None and runs["pv"].report.created == 6
    assert runs["gone"].error and "no such file or directory" in runs["gone"].error
    # pv ran a moment ago: not due again until its hour has passed
    assert [r.name for r in sources.run_due(SYSTEM) if r.report] == []
    later = utcnow() + timedelta(minutes=61)
    assert [r.name for r in sources.run_due(SYSTEM, now=later) if r.report] == ["pv"]


def test_remove(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    sqlite_catalog.sources.add(SYSTEM, "tmp", "bids", str(tmp_path), {})
    sqlite_catalog.sources.remove(SYSTEM, "tmp")
    assert sqlite_catalog.sources.list(SYSTEM) == []
    with pytest.raises(NotFoundError):
        sqlite_catalog.sources.remove(SYSTEM, "tmp")

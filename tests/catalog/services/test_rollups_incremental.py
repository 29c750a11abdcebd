"""Incremental roll-ups (what the index sync maintains batch by batch) equal a from-scratch
recompute (what `imagora index rebuild` computes), on generated catalogues written in
batches of any size, then updated, restricted, withdrawn and moved."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.domain.rollup import CONTAINER_LEVELS
from catalog.search.tantivy_backend import TantivyBackend
from catalog.services.indexing import IndexSync
from catalog.services.rollups import RollupBuilder
from catalog.store.database import make_engine, migrate
from catalog.store.repository import StoredRecord, UnitOfWork, session_factory

MODALITIES = ["MR", "PT", "CT", None]
STRENGTHS = [1.5, 2.89, 3.0, 7.05, 9.4, None]
SPECIES = [
    {"iri": "http://purl.obolibrary.org/obo/NCBITaxon_10116", "label": "Rattus norvegicus"},
    {"iri": "http://purl.obolibrary.org/obo/NCBITaxon_9606", "label": "Homo sapiens"},
    None,
]
TERMS = [
    {"iri": "http://x/T1w", "label": "T1-weighted", "scheme": "mri"},
    {"iri": "http://x/T2w", "label": "T2-weighted", "scheme": "mri", "status": "rejected"},
    {"iri": "http://x/brain", "label": "brain", "scheme": "anatomy"},
]
ACCESS = [
    {"record": "public", "files": "open"},
    {"record": "restricted", "files": "restricted", "grants": ["ada"]},
    {"record": "restricted", "files": "restricted", "grants": ["bob"]},
]


@dataclass
class Facts:
    """What one generated record says (drawn by hypothesis)."""

    modality: str | None
    strength: float | None
    species: int
    terms: list[int]
    files: int
    day: int | None
    access: int


facts = st.builds(
    Facts,
    modality=st.sampled_from(MODALITIES),
    strength=st.sampled_from(STRENGTHS),
    species=st.integers(0, len(SPECIES) - 1),
    terms=st.lists(st.integers(0, len(TERMS) - 1), max_size=3, unique=True),
    files=st.integers(0, 3),
    day=st.one_of(st.none(), st.integers(1, 28)),
    access=st.sampled_from([0, 0, 0, 1, 2]),
)
#: children per node: collections -> subjects -> sessions -> acquisitions (leaves)
shape = st.lists(
    st.lists(st.lists(st.integers(0, 3), min_size=0, max_size=3), min_size=0, max_size=3),
    min_size=1,
    max_size=3,
)
change = st.tuples(st.sampled_from(["update", "withdraw", "access", "move"]), st.integers(0), facts)


def _body(level: str, f: Facts) -> dict[str, Any]:
    imaging: dict[str, Any] = {"modality": f.modality, "field_strength_t": f.strength}
    if f.day is not None:
        imaging["acquisition_date"] = f"2024-02-{f.day:02d}"
    return {
        "imaging": imaging if level != "collection" else {},
        "subject": {"species": SPECIES[f.species]} if level == "subject" else {},
        "terms": [TERMS[i] for i in f.terms],
        "files": [{"path": f"f{k}", "size": 1000 * (k + 1)} for k in range(f.files)],
        "source": {"type": "xnat"},
    }


def _tree(layout: list[list[list[int]]], draws: Iterator[Facts]) -> list[StoredRecord]:
    records: list[StoredRecord] = []

    def add(rid: str, level: str, parent: str | None) -> None:
        f = next(draws)
        access = ACCESS[f.access]
        records.append(
            StoredRecord(
                id=rid,
                level=level,
                title=rid,
                body=_body(level, f),
                access=access,
                parent_id=parent,
            )
        )

    for c, subjects in enumerate(layout):
        add(f"c{c}", "collection", None)
        for s, sessions in enumerate(subjects):
            add(f"c{c}s{s}", "subject", f"c{c}")
            for e, scans in enumerate(sessions):
                add(f"c{c}s{s}e{e}", "session", f"c{c}s{s}")
                for a in range(scans):
                    add(f"c{c}s{s}e{e}a{a}", "acquisition", f"c{c}s{s}e{e}")
    return records


@contextmanager
def _store(batch_size: int) -> Iterator[tuple[IndexSync, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'catalog.db'}")
        migrate(engine)
        sessions = session_factory(engine)
        backend = TantivyBackend(None)
        try:
            yield (
                IndexSync(lambda: UnitOfWork(sessions), backend, Path(tmp) / "lock", batch_size),
                sessions,
            )
        finally:
            backend.close()
            engine.dispose()


def _incremental(sync: IndexSync) -> dict[str, dict[str, Any]]:
    with sync.uow_factory() as uow:
        ids = [r.id for b in uow.records.iter_all() for r in b if r.level in CONTAINER_LEVELS]
        return uow.rollups.get_many(ids)


def _from_scratch(sync: IndexSync) -> dict[str, dict[str, Any]]:
    builder = RollupBuilder()
    with sync.uow_factory() as uow:
        for batch in uow.records.iter_all():
            for record in batch:
                builder.add(record)
    return {i: r.stored() for i, r in builder.finish().items()}


def _another_parent(records: list[StoredRecord], record: StoredRecord, pick: int) -> str | None:
    levels = {r.id: r.level for r in records}
    if record.parent_id is None:
        return None
    same = [r.id for r in records if r.level == levels[record.parent_id]]
    return same[pick % len(same)]


def _write(sync: IndexSync, records: list[StoredRecord]) -> None:
    with sync.uow_factory() as uow:
        for record in records:
            uow.records.save(record)
        uow.commit()
    sync.apply_pending()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    layout=shape,
    draws=st.lists(facts, min_size=80, max_size=80),
    batch_size=st.integers(1, 40),
    changes=st.lists(change, max_size=12),
)
def test_incremental_rollups_equal_a_recompute(
    layout: list[list[list[int]]],
    draws: list[Facts],
    batch_size: int,
    changes: list[tuple[str, int, Facts]],
) -> None:
    records = _tree(layout, iter(draws * 2))
    with _store(batch_size) as (sync, _):
        _write(sync, records)
        assert _incremental(sync) == _from_scratch(sync)
        for kind, index, f in changes:
            record = records[index % len(records)]
            if kind == "update":
                record.body = _body(record.level, f)
            elif kind == "withdraw":
                record.status = "withdrawn"
            elif kind == "access":
                record.access = ACCESS[f.access]
            else:  # under another container of its parent's level (a re-harvest can)
                record.parent_id = _another_parent(records, record, f.files)
            _write(sync, [record])
        assert _incremental(sync) == _from_scratch(sync)


def test_a_scan_moved_out_of_a_count_leaves_every_ancestor_recomputed() -> None:
    """A fixed case: a restricted scan stops counting in its public session, subject and
    collection, and counts again when it is made public."""
    layout = [[[2]]]
    draw = Facts("MR", 7.05, 0, [0, 2], 1, 3, 0)
    records = _tree(layout, iter([draw] * 5))
    with _store(2) as (sync, _):
        _write(sync, records)
        collection = _incremental(sync)["c0"]
        assert (collection["acquisitions"], collection["field_strengths_t"]) == (2, [7.0])
        records[-1].access = ACCESS[1]
        _write(sync, [records[-1]])
        after = _incremental(sync)
        assert [after[i]["acquisitions"] for i in ("c0", "c0s0", "c0s0e0")] == [1, 1, 1]
        assert after == _from_scratch(sync)
        records[-1].access = ACCESS[0]
        _write(sync, [records[-1]])
        assert _incremental(sync)["c0"]["acquisitions"] == 2


def test_a_scan_moved_to_another_session_leaves_its_old_session() -> None:
    layout = [[[2, 1]]]
    draw = Facts("MR", 3.0, 0, [0], 1, 3, 0)
    records = _tree(layout, iter([draw] * 7))
    with _store(10) as (sync, _):
        _write(sync, records)
        assert _incremental(sync)["c0s0e0"]["acquisitions"] == 2
        moved = next(r for r in records if r.id == "c0s0e0a1")
        moved.parent_id = "c0s0e1"
        _write(sync, [moved])
        after = _incremental(sync)
        assert (after["c0s0e0"]["acquisitions"], after["c0s0e1"]["acquisitions"]) == (1, 2)
        assert after == _from_scratch(sync)

"""Index rebuild benchmark: `imagora index rebuild` end to end against SQLite FTS5.

    python benchmarks/index_bench.py [--records 20000] [--profile]

Builds a catalogue of about N records in a fresh data dir (collections of 500
acquisitions, a subject per 20, a session per 4; bodies shaped like harvested ones:
imaging facts, terms with evidence, files, raw source metadata), then times the real
rebuild path (`Catalog.index_sync.rebuild`, what `imagora index rebuild` calls: store read,
roll-ups, documents, tantivy writes and commit) and, in the same run, SQLite FTS5
indexing the same documents' text and facets (the documents are built before FTS5's
clock starts, so FTS5 is timed on its writes alone). Prints records/s of both and the
ratio. Not a test; keep N small on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.domain.rollup import CONTAINER_LEVELS  # noqa: E402
from catalog.domain.search import FACET_FIELDS, IndexDocument  # noqa: E402
from catalog.services.container import Catalog  # noqa: E402
from catalog.services.documents import to_document  # noqa: E402
from catalog.services.writes import content_hash  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.store.repository import StoredRecord  # noqa: E402

SEQUENCES = ["T1w", "T2w", "FLAIR", "dwi", "bold", "PD", "T2star", "MTR", "angio", "RARE"]
MAKERS = ["SIEMENS", "GE MEDICAL SYSTEMS", "Philips", "Bruker BioSpin", "Canon"]
STRENGTHS = [1.5, 2.89, 7.0, 9.4, 11.7]
SPECIES = [
    ("http://purl.obolibrary.org/obo/NCBITaxon_9606", "Homo sapiens"),
    ("http://purl.obolibrary.org/obo/NCBITaxon_10090", "Mus musculus"),
    ("http://purl.obolibrary.org/obo/NCBITaxon_10116", "Rattus norvegicus"),
]
CONTRASTS = [
    ("http://purl.org/imagora/mri#T1w", "T1-weighted", "mri"),
    ("http://purl.org/imagora/mri#T2w", "T2-weighted", "mri"),
    ("http://purl.org/imagora/mri#dwi", "diffusion-weighted", "mri"),
]
ANATOMY = [
    ("http://purl.obolibrary.org/obo/UBERON_0000955", "brain", "anatomy"),
    ("http://purl.obolibrary.org/obo/UBERON_0001954", "hippocampus", "anatomy"),
    ("http://purl.obolibrary.org/obo/UBERON_0000948", "heart", "anatomy"),
]


def _term(iri: str, label: str, scheme: str, rule: str, evidence: dict[str, Any]) -> dict:
    return {
        "iri": iri,
        "label": label,
        "scheme": scheme,
        "rule": rule,
        "confidence": 0.9,
        "evidence": evidence,
        "status": "proposed",
    }


def _body(level: str, title: str, rng: random.Random, extra: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": f"{title}: synthetic {level} for the index benchmark",
        "creators": [{"name": "Bench, Ada"}],
        "license": "CC-BY-4.0" if level == "collection" else None,
        "keywords": ["benchmark", level],
        "identifiers": [],
        "imaging": {},
        "subject": {},
        "bids": {},
        "terms": [],
        "related": [],
        "files": [],
        "source": {
            "type": "xnat",
            "name": "bench",
            "location": "http://127.0.0.1/xnat",
            "external_id": title,
            "harvested_at": "2026-01-01T00:00:00Z",
            "harvester_version": "1.0.0",
            "checksums": {},
            "raw": {"note": f"row {rng.randint(0, 10**6)}"},
        },
        "quality": {},
    }
    body.update(extra)
    return body


def _acquisition(i: int, rng: random.Random, species: tuple[str, str]) -> dict[str, Any]:
    sequence, maker = rng.choice(SEQUENCES), rng.choice(MAKERS)
    strength = rng.choice(STRENGTHS)
    day = (datetime(2018, 1, 1, tzinfo=UTC) + timedelta(days=i % 2000)).date().isoformat()
    contrast, anatomy = rng.choice(CONTRASTS), rng.choice(ANATOMY)
    files = [
        {"path": f"scan{i}/f{k}.dcm", "size": 40_000 + k, "checksum": None, "format": "dicom"}
        for k in range(3)
    ]
    return {
        "imaging": {
            "modality": "MR",
            "field_strength_t": strength,
            "manufacturer": maker,
            "model": "Scanner X",
            "sequence": sequence,
            "series_description": f"{sequence} {anatomy[1]} run {i % 5}",
            "tr_ms": float(rng.randint(500, 5000)),
            "te_ms": float(rng.randint(2, 120)),
            "flip_angle_deg": 90.0,
            "slice_thickness_mm": 1.0,
            "acquisition_date": day,
        },
        "bids": {"datatype": "anat", "suffix": sequence, "entities": {"run": str(i % 5)}},
        "terms": [
            _term(*contrast, "series:contrast", {"series_description": sequence}),
            _term(*anatomy, "series:anatomy", {"series_description": anatomy[1]}),
            _term(species[0], species[1], "species", "species:iri", {"species": species[0]}),
        ],
        "files": files,
    }


def synthetic_catalogue(n: int, seed: int = 11) -> list[StoredRecord]:
    """About n records, parents before children (deterministic for a seed)."""
    rng = random.Random(seed)
    records: list[StoredRecord] = []
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def add(rid: str, level: str, parent: str | None, extra: dict[str, Any]) -> None:
        title = f"{level} {rid}"
        body = _body(level, title, rng, extra)
        access = {"record": "public", "files": "open"}
        records.append(
            StoredRecord(
                id=rid,
                level=level,
                title=title,
                body=body,
                access=access,
                parent_id=parent,
                origin=f"bench#{rid}",
                content_hash=content_hash(level, title, parent, body),
                created=now,
                updated=now,
            )
        )

    acquisitions = max(1, int(n * 0.78))  # 1 + 1/4 + 1/20 + 1/500 records per acquisition
    for i in range(acquisitions):
        col, sub, ses = f"c{i // 500:05d}", f"s{i // 20:07d}", f"e{i // 4:07d}"
        species = SPECIES[(i // 20) % len(SPECIES)]
        if i % 500 == 0:
            add(col, "collection", None, {})
        if i % 20 == 0:
            subject = {"pseudonym": sub, "species": {"iri": species[0], "label": species[1]}}
            add(sub, "subject", col, {"subject": subject})
        if i % 4 == 0:
            add(ses, "session", sub, {"imaging": {"modality": "MR"}})
        add(f"a{i:08d}", "acquisition", ses, _acquisition(i, rng, species))
    return records


def build_catalogue(catalog: Catalog, records: list[StoredRecord]) -> None:
    with catalog.uow() as uow:
        uow.records.insert_new(records)
        uow.outbox.acknowledge(uow.outbox.max_seq())
        uow.commit()


def documents_of(records: list[StoredRecord]) -> list[IndexDocument]:
    """The same records' index documents (roll-ups left out: FTS5 gets the text)."""
    by_id = {r.id: r for r in records}
    docs = []
    for record in records:
        chain, parent = [], record.parent_id
        while parent:
            chain.append(by_id[parent])
            parent = by_id[parent].parent_id
        docs.append(to_document(record, chain[::-1]))
    return docs


def fts5_rate(docs: list[IndexDocument], directory: Path) -> float:
    """FTS5 indexing the documents: a facet row and a full-text row each, one commit."""
    db = sqlite3.connect(directory / "fts.db")
    columns = ", ".join(f"{name} TEXT" for name in FACET_FIELDS)
    db.execute(f"CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT, public INT, {columns})")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, description, text, term_text)")
    marks = ", ".join("?" for _ in FACET_FIELDS)
    began = time.perf_counter()
    for row, doc in enumerate(docs):
        facets = [doc.facets.get(name) for name in FACET_FIELDS]
        db.execute(
            f"INSERT INTO docs VALUES (?, ?, ?, {marks})",
            [row, doc.id, int("public" in doc.readers), *facets],
        )
        db.execute(
            "INSERT INTO fts (rowid, title, description, text, term_text) VALUES (?, ?, ?, ?, ?)",
            [row, doc.title, doc.description, doc.text, doc.term_text],
        )
    db.commit()
    rate = len(docs) / (time.perf_counter() - began)
    db.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    records = synthetic_catalogue(args.records)
    containers = sum(r.level in CONTAINER_LEVELS for r in records)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog.open(Settings.load(data_dir=Path(tmp) / "data", secret_key="bench"))
        try:
            build_catalogue(catalog, records)
            profile = cProfile.Profile() if args.profile else None
            began = time.perf_counter()
            if profile:
                profile.enable()
            indexed = catalog.index_sync.rebuild()
            seconds = time.perf_counter() - began
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        finally:
            catalog.close()
        fts = fts5_rate(documents_of(records), Path(tmp))
    rate = indexed / seconds
    print(
        f"index rebuild: {indexed:,} records ({containers:,} containers) in {seconds:.2f} s "
        f"= {rate:,.0f} records/s; SQLite FTS5 same documents: {fts:,.0f} records/s; "
        f"ratio rebuild/FTS5 {rate / fts:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()

"""Search benchmark: tantivy backend vs SQLite FTS5 on the same synthetic catalogue.

Generates N synthetic acquisitions (plus their collections/subjects/sessions), indexes
them in the tantivy backend and in an SQLite FTS5 table, then runs the same text queries
with counts for all nine facets on both and prints indexing rate, p50/p95 latency and the
FTS5 / tantivy ratio measured in this run. Not a test.

    python benchmarks/search_bench.py                    # 10^4 and 10^5
    python benchmarks/search_bench.py --sizes 1000000    # 10^6 (a few minutes, ~2 GB disk)
    python benchmarks/search_bench.py --service          # also RecordService.search, flat
                                                         # and grouped by collection
    python benchmarks/search_bench.py --reuse /tmp/sb    # keep both indexes for the next run

Latency is wall time on whatever else the machine runs; with `--reuse` the indexing rate
printed is the one measured when the cached index was built.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalog.domain.search import FACET_FIELDS, IndexDocument, SearchQuery
from catalog.search.tantivy_backend import SCHEMA_VERSION, TantivyBackend

#: The synthetic corpus' version: a cached index of another version is not reused.
CORPUS = 2
QUERIES = [
    ("brain", "brain"),
    ("mouse", "mouse"),
    ("t1w", "t1w"),
    ("diffusion", "diffusion"),
    ("cardiac", "cardiac"),
    ('"resting state"', '"resting state"'),
    ("hippo*", "hippo*"),
    ("siemens", "siemens"),
    ("rat brain", "rat AND brain"),
    ("tumour", "tumour"),
]
MODALITIES = ["MR"] * 8 + ["PT", "CT"]
SEQUENCES = ["T1w", "T2w", "FLAIR", "dwi", "bold", "PD", "T2star", "MTR", "angio", "FLASH", "RARE"]
MAKERS = ["Siemens", "GE", "Philips", "Bruker", "Canon", "United Imaging", "MR Solutions"]
STRENGTHS = ["1.5", "3", "7", "4.7", "9.4", "11.7", "15.2"]
SPECIES = [("NCBITaxon_9606", "human"), ("NCBITaxon_10090", "mouse"), ("NCBITaxon_10116", "rat")]
LICENSES = ["CC-BY-4.0", "CC0-1.0", "CC-BY-NC-4.0", "ODbL-1.0"]
ACCESS = ["open"] * 6 + ["restricted", "embargoed"]
SOURCES = ["dicom", "bids", "bruker", "xnat", "shanoir", "ckan"]
ORGANS = ["brain", "heart", "kidney", "liver", "hippocampus", "cortex", "spine", "knee"]
TOPICS = ["resting state", "tumour", "stroke", "ageing", "cardiac function", "diffusion tensor"]


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnoprstuvz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(size)]


def _concepts() -> dict[str, tuple[list[str], list[str]]]:
    """Label -> (terms, term closure) from the shipped vocabularies, so documents carry
    the concepts the annotator would give them and the service's expansion has work."""
    from ontologies.graph import Vocabulary

    vocab = Vocabulary.load()
    found: dict[str, tuple[list[str], list[str]]] = {}
    for scheme in ("anatomy", "species"):
        for concept in vocab.concepts(scheme):
            for label in concept.all_labels:
                closure = [concept.iri, *vocab.broader_closure(concept.iri, True)]
                found.setdefault(label.lower(), ([concept.iri], closure))
    return found


def synthetic_documents(n: int, seed: int = 7) -> Iterator[IndexDocument]:
    """n acquisition documents in collections of ~500 (deterministic for a seed), each
    collection after its acquisitions with their roll-up (concepts, words, facets)."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    concepts = _concepts()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    block: list[IndexDocument] = []
    for i in range(n):
        doc = _acquisition(i, rng, words, concepts, start)
        block.append(doc)
        yield doc
        if len(block) == 500 or i == n - 1:
            yield _collection(block)
            block = []


def _acquisition(
    i: int,
    rng: random.Random,
    words: list[str],
    concepts: dict[str, tuple[list[str], list[str]]],
    start: datetime,
) -> IndexDocument:
    collection = f"col{i // 500:05d}"
    organ, topic = rng.choice(ORGANS), rng.choice(TOPICS)
    species_iri, species = rng.choice(SPECIES)
    sequence, maker = rng.choice(SEQUENCES), rng.choice(MAKERS)
    filler = " ".join(rng.choices(words, k=rng.randint(8, 60)))
    facets = {
        "level": "acquisition",
        "modality": rng.choice(MODALITIES),
        "field_strength": rng.choice(STRENGTHS),
        "manufacturer": maker,
        "species": f"http://purl.obolibrary.org/obo/{species_iri}",
        "sequence": sequence,
        "license": rng.choice(LICENSES),
        "access": rng.choice(ACCESS),
        "source": rng.choice(SOURCES),
    }
    terms: list[str] = []
    closure: list[str] = []
    for word in (species, organ):
        own, up = concepts.get(word, ([], []))
        terms += own
        closure += up
    return IndexDocument(
        id=f"acq{i:08d}",
        level="acquisition",
        title=f"{sequence} {organ} {species} sub-{i % 97:02d} run {i % 5}",
        description=f"{topic} study of the {species} {organ}. {filler}",
        text=f"{maker} {sequence} {' '.join(rng.choices(words, k=10))}",
        parent_id=f"ses{i // 4:07d}",
        collection_id=collection,
        ancestors=[collection, f"sub{i // 20:07d}", f"ses{i // 4:07d}"],
        facets=facets,
        facet_labels={"species": species, "field_strength": f"{facets['field_strength']} T"},
        readers=["public"] if rng.random() < 0.9 else [f"user:u{i % 50}"],
        terms=terms,
        term_text=f"{species} {organ}",
        term_closure=list(dict.fromkeys(closure)),
        field_strength_t=float(facets["field_strength"]),
        updated=start + timedelta(minutes=i),
    )


def _collection(block: list[IndexDocument]) -> IndexDocument:
    """The dataset of a block: its descendants' concepts, words and facet values."""
    first = block[0]
    extra: dict[str, set[str]] = {}
    for doc in block:
        for name, value in doc.facets.items():
            if name not in ("level", "access", "license", "source"):
                extra.setdefault(name, set()).add(value)
    words = " ".join(sorted({w for doc in block for w in doc.title.split()[:3]}))
    return IndexDocument(
        id=first.collection_id or "col",
        level="collection",
        title=f"Study {first.collection_id}",
        description=f"Synthetic dataset of {len(block)} acquisitions.",
        text=words,
        facets={"level": "collection", "access": "open", "license": LICENSES[0]},
        extra_facets={name: sorted(values) for name, values in extra.items()},
        rollup_terms=sorted({t for doc in block for t in doc.term_closure}),
        readers=["public"],
        updated=first.updated,
    )


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def time_queries(
    run: Callable[[str], int], texts: list[str], repeats: int
) -> dict[str, list[float]]:
    """Milliseconds per call for each text; each text once as warm-up, then `repeats` rounds."""
    for text in texts:
        run(text)
    timings: dict[str, list[float]] = {text: [] for text in texts}
    for _ in range(repeats):
        for text in texts:
            began = time.perf_counter()
            run(text)
            timings[text].append((time.perf_counter() - began) * 1000)
    return timings


def flat(timings: dict[str, list[float]]) -> list[float]:
    return [ms for values in timings.values() for ms in values]


# -- tantivy -------------------------------------------------------------------------


def build_tantivy(n: int, directory: Path) -> tuple[TantivyBackend, float]:
    """The index of n documents in `directory` (reused when a complete one is there)."""
    rate_file = directory / "tantivy-rate.json"
    backend = TantivyBackend(directory / "index", writer_heap_mb=256, writer_threads=2)
    if not backend.needs_rebuild and rate_file.is_file():
        return backend, json.loads(rate_file.read_text())["rate"]
    backend.clear()
    began = time.perf_counter()
    batch: list[IndexDocument] = []
    for doc in synthetic_documents(n):
        batch.append(doc)
        if len(batch) == 10_000:
            backend.index(batch)
            batch = []
    backend.index(batch)
    backend.commit()
    rate = n / (time.perf_counter() - began)
    rate_file.write_text(json.dumps({"rate": rate}))
    return backend, rate


def tantivy_runner(backend: TantivyBackend) -> Callable[[str], int]:
    def run(text: str) -> int:
        result = backend.search(SearchQuery(text=text, reader_keys=["public"], size=20))
        assert len(result.facets) == len(FACET_FIELDS)
        return result.total

    return run


def service_runner(
    backend: TantivyBackend, directory: Path, group: str = "none"
) -> Callable[[str], int] | None:
    """RecordService.search over the same index (empty store), when the services exist:
    the flat list, or (`group="collection"`) datasets as results, the page's default."""
    try:
        from catalog.domain.identity import ANONYMOUS
        from catalog.services.container import Catalog
        from catalog.services.records import SearchRequest
        from catalog.settings import Settings
    except ImportError as exc:
        print(f"  service layer unavailable ({exc}); skipped")
        return None
    catalog = Catalog(Settings.load(data_dir=directory / "data"), backend=backend)

    def run(text: str) -> int:
        request = SearchRequest(text=text, group=group)  # type: ignore[arg-type]
        return catalog.records.search(ANONYMOUS, request).total

    return run


# -- SQLite FTS5 baseline ------------------------------------------------------------

FACET_COLUMNS = list(FACET_FIELDS)


def build_fts5(n: int, directory: Path) -> tuple[sqlite3.Connection, float]:
    """The FTS5 baseline of n documents in `directory` (reused when a complete one is there)."""
    rate_file = directory / "fts5-rate.json"
    if rate_file.is_file():
        return sqlite3.connect(directory / "fts.db"), json.loads(rate_file.read_text())["rate"]
    (directory / "fts.db").unlink(missing_ok=True)
    db = sqlite3.connect(directory / "fts.db")
    columns = ", ".join(f"{name} TEXT" for name in FACET_COLUMNS)
    db.execute(f"CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT, public INT, {columns})")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, description, text, term_text)")
    marks = ", ".join("?" for _ in FACET_COLUMNS)
    began = time.perf_counter()
    for row, doc in enumerate(synthetic_documents(n)):
        facets = [doc.facets.get(name) for name in FACET_COLUMNS]
        db.execute(
            f"INSERT INTO docs VALUES (?, ?, ?, {marks})",
            [row, doc.id, int("public" in doc.readers), *facets],
        )
        db.execute(
            "INSERT INTO fts (rowid, title, description, text, term_text) VALUES (?, ?, ?, ?, ?)",
            [row, doc.title, doc.description, doc.text, doc.term_text],
        )
    db.commit()
    rate = n / (time.perf_counter() - began)
    rate_file.write_text(json.dumps({"rate": rate}))
    return db, rate


def fts5_runner(db: sqlite3.Connection) -> Callable[[str], int]:
    """One FTS match into a temp table, top 20 by bm25, total, and a GROUP BY per facet."""

    def run(match: str) -> int:
        db.execute("DROP TABLE IF EXISTS temp.m")
        db.execute(
            "CREATE TEMP TABLE m AS SELECT fts.rowid AS r, bm25(fts, 3.0, 1.5, 1.0, 1.0) AS s "
            "FROM fts JOIN docs ON docs.rowid = fts.rowid WHERE fts MATCH ? AND docs.public = 1",
            [match],
        )
        db.execute(
            "SELECT docs.id FROM m JOIN docs ON docs.rowid = m.r ORDER BY m.s, docs.id LIMIT 20"
        ).fetchall()
        total = db.execute("SELECT count(*) FROM m").fetchone()[0]
        for name in FACET_COLUMNS:
            db.execute(
                f"SELECT {name}, count(*) FROM m JOIN docs ON docs.rowid = m.r "
                f"WHERE {name} IS NOT NULL GROUP BY {name}"
            ).fetchall()
        return total

    return run


# -- driver --------------------------------------------------------------------------


def bench_size(n: int, repeats: int, with_service: bool, reuse: Path | None) -> None:
    """Indexes in a temporary folder, or kept under `reuse` (FTS5 apart from the schema)."""
    base = reuse if reuse is not None else Path(tempfile.mkdtemp(prefix="imagora-bench-"))
    folders = (base / f"{n}-{SCHEMA_VERSION}-c{CORPUS}", base / f"{n}-fts5-c{CORPUS}")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        run_size(n, repeats, with_service, *folders)
    finally:
        if reuse is None:
            shutil.rmtree(base, ignore_errors=True)


def run_size(n: int, repeats: int, with_service: bool, directory: Path, fts_dir: Path) -> None:
    print(f"\n== {n:,} acquisitions ==")
    texts = [q for q, _ in QUERIES]
    backend, rate = build_tantivy(n, directory)
    print(f"tantivy indexing: {rate:,.0f} docs/s")
    totals = {text: tantivy_runner(backend)(text) for text in texts}
    columns = {"tantivy": time_queries(tantivy_runner(backend), texts, repeats)}
    if with_service:
        for label, group in (("service", "none"), ("grouped", "collection")):
            runner = service_runner(backend, directory, group)
            if runner is not None:
                columns[label] = time_queries(runner, texts, repeats)
    db, fts_rate = build_fts5(n, fts_dir)
    print(f"FTS5 indexing:    {fts_rate:,.0f} docs/s")
    fts_repeats = max(1, repeats // 4) if n >= 500_000 else repeats
    fts = time_queries(fts5_runner(db), [m for _, m in QUERIES], fts_repeats)
    columns["FTS5"] = {text: fts[match] for text, match in QUERIES}
    per_query(columns, totals)
    report("tantivy (backend)", flat(columns["tantivy"]))
    if "service" in columns:
        report("tantivy via RecordService", flat(columns["service"]))
    if "grouped" in columns:
        report("RecordService, grouped", flat(columns["grouped"]))
    report("SQLite FTS5", flat(columns["FTS5"]))
    for label in [name for name in ("tantivy", "service", "grouped") if name in columns]:
        ours, theirs = flat(columns[label]), flat(columns["FTS5"])
        p50 = statistics.median(theirs) / statistics.median(ours)
        p95 = percentile(theirs, 95) / percentile(ours, 95)
        print(f"ratio FTS5/{label}: p50 {p50:.1f}x, p95 {p95:.1f}x")
    db.close()
    backend.close()


def per_query(columns: dict[str, dict[str, list[float]]], totals: dict[str, int]) -> None:
    """Median milliseconds of each query, so the spread behind the percentiles shows."""
    print(f"{'query':18s} {'hits':>9s} " + " ".join(f"{name + ' p50':>13s}" for name in columns))
    for text, total in totals.items():
        cells = " ".join(f"{statistics.median(col[text]):13.2f}" for col in columns.values())
        print(f"{text:18s} {total:9,d} {cells}")


def report(label: str, timings: list[float]) -> None:
    print(
        f"{label:28s} text + {len(FACET_FIELDS)} facets: p50 {statistics.median(timings):8.2f} ms"
        f"  p95 {percentile(timings, 95):8.2f} ms  ({len(timings)} queries)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--repeats", type=int, default=10, help="rounds over the query set")
    parser.add_argument("--service", action="store_true", help="also time RecordService.search")
    parser.add_argument("--reuse", type=Path, help="keep (and reuse) the indexes in this folder")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        bench_size(size, args.repeats, args.service, args.reuse)


if __name__ == "__main__":
    main()

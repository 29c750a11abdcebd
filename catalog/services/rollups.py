"""Computing roll-ups (see `catalog.domain.rollup`): bottom-up, at write time.

`IndexSync` calls `refresh` with the records a batch changed: every container among them
and above them is recomputed once, deepest level first, from its own facts and its
children's (stored roll-ups for child containers, own facts for leaves). The children of
all the containers of one level are read together (one query per level and 900
parents, bodies only for leaves not already in memory), so a batch costs a few queries
per hierarchy level, not one read per container. `rebuild` recomputes every roll-up in
one pass over the store (`imagora index rebuild`); tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from catalog.domain.imaging import nominal_field_strength, normalise_vendor
from catalog.domain.rollup import CONTAINER_LEVELS, Rollup, RollupPart, merge
from catalog.store.repository import RecordRepository, RollupRepository, StoredRecord

#: term IRIs -> those IRIs plus their broader concepts (from the ontology layer)
Ancestry = Callable[[StoredRecord], list[StoredRecord]]
_LEVEL_COUNTS = {"subject": "subjects", "session": "sessions", "acquisition": "acquisitions"}


def counts_in_rollup(record: StoredRecord, container: StoredRecord | None = None) -> bool:
    """Active records count when public, or when exactly as visible as the container
    (a restricted subject's own scans): a roll-up never reveals what its reader may
    not see."""
    if record.status != "active":
        return False
    if record.visibility == "public":
        return True
    return container is not None and _readers(record) == _readers(container)


def _readers(record: StoredRecord) -> tuple[str, tuple[str, ...]]:
    access = record.access or {}
    return str(access.get("record", "public")), tuple(sorted(access.get("grants") or []))


def own_part(record: StoredRecord) -> RollupPart:
    """What one record adds to its containers' roll-ups."""
    from catalog.services.documents import numbers_of

    body = record.body
    imaging = body.get("imaging") or {}
    subject = body.get("subject") or {}
    terms = [t for t in body.get("terms") or [] if t.get("status") != "rejected"]
    nominal = imaging.get("field_strength_nominal_t") or nominal_field_strength(
        imaging.get("field_strength_t")
    )
    species = subject.get("species") or {}
    files = body.get("files") or []
    sequence = (body.get("bids") or {}).get("suffix") or imaging.get("sequence")
    acquired = _date(imaging.get("acquisition_date"))
    # built field by field from the stored body: no validation pass (a rebuild makes one
    # per record)
    part = RollupPart(
        modalities=[str(imaging["modality"])] if imaging.get("modality") else [],
        field_strengths_t=[float(nominal)] if nominal else [],
        manufacturers=[m for m in [normalise_vendor(imaging.get("manufacturer"))] if m],
        species=[str(species["label"])] if species.get("label") else [],
        species_iris=[str(species["iri"])] if species.get("iri") else [],
        sequences=[str(sequence)] if sequence else [],
        contrasts=sorted({t["label"] for t in terms if t.get("scheme") == "mri"}),
        anatomy=sorted({t["label"] for t in terms if t.get("scheme") == "anatomy"}),
        term_iris=sorted({t["iri"] for t in terms}),
        files=len(files),
        total_bytes=sum([int(f.get("size") or 0) for f in files]),
        date_from=acquired,
        date_to=acquired,
        numbers=numbers_of(record, []),
    )
    counted = _LEVEL_COUNTS.get(record.level)
    if counted:
        setattr(part, counted, 1)
    return part


def _date(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class RollupMaintainer:
    """Keeps stored roll-ups in step with the records (called by the index sync)."""

    def refresh(
        self,
        records: RecordRepository,
        rollups: RollupRepository,
        changed: list[StoredRecord],
        ancestry: Ancestry,
    ) -> dict[str, Rollup]:
        """Recompute the containers among and above `changed`; returns them by id."""
        depth: dict[str, int] = {}
        found: dict[str, StoredRecord] = {}
        for record in changed:
            chain = ancestry(record)
            for level, ancestor in enumerate(chain):
                found[ancestor.id] = ancestor
                depth[ancestor.id] = level
            if record.level in CONTAINER_LEVELS:
                found[record.id] = record
                depth[record.id] = len(chain)
        levels: dict[int, list[StoredRecord]] = {}
        for record_id, record in found.items():
            levels.setdefault(depth[record_id], []).append(record)
        known = {r.id: r for r in changed}
        done: dict[str, Rollup] = {}
        for level in sorted(levels, reverse=True):
            self._compute_level(records, rollups, levels[level], done, known)
        rollups.put_many({record_id: done[record_id].stored() for record_id in found})
        return {record_id: done[record_id] for record_id in found}

    def _compute_level(
        self,
        records: RecordRepository,
        rollups: RollupRepository,
        containers: list[StoredRecord],
        done: dict[str, Rollup],
        known: dict[str, StoredRecord],
    ) -> None:
        """The roll-ups of containers whose child containers are done or stored."""
        children = records.children_brief([c.id for c in containers])
        leaves = [c.id for c in children if c.level not in CONTAINER_LEVELS and c.id not in known]
        bodies = {**known, **records.get_many(leaves)}
        inner = [c.id for c in children if c.level in CONTAINER_LEVELS and c.id not in done]
        stored = rollups.get_many(inner)
        by_parent: dict[str, list[StoredRecord]] = {}
        for child in children:
            by_parent.setdefault(str(child.parent_id), []).append(child)
        for container in containers:
            parts: list[Rollup | RollupPart] = [own_part(container)]
            for child in by_parent.get(container.id, []):
                if not counts_in_rollup(child, container):
                    continue
                if child.level not in CONTAINER_LEVELS:
                    parts.append(own_part(bodies.get(child.id, child)))
                elif child.id in done:
                    parts.append(done[child.id])
                elif child.id in stored:
                    parts.append(Rollup.model_validate(stored[child.id]))
                else:  # not computed yet (e.g. stored before roll-ups existed)
                    parts.append(self._compute(records, rollups, child, done))
            done[container.id] = merge(parts)

    def _compute(
        self,
        records: RecordRepository,
        rollups: RollupRepository,
        container: StoredRecord,
        done: dict[str, Rollup],
    ) -> Rollup:
        """One container from its children, recursively (the plain path: containers
        with no stored roll-up, and the reference the tests compare against)."""
        children = records.get_many(records.children_ids(container.id))
        containers = [c.id for c in children.values() if c.level in CONTAINER_LEVELS]
        stored = rollups.get_many([i for i in containers if i not in done])
        parts: list[Rollup | RollupPart] = [own_part(container)]
        for child in children.values():
            if not counts_in_rollup(child, container):
                continue
            if child.level not in CONTAINER_LEVELS:
                parts.append(own_part(child))
            elif child.id in done:
                parts.append(done[child.id])
            elif child.id in stored:
                parts.append(Rollup.model_validate(stored[child.id]))
            else:
                parts.append(self._compute(records, rollups, child, done))
        done[container.id] = merge(parts)
        return done[container.id]

    def rebuild(self, records: RecordRepository, rollups: RollupRepository) -> int:
        """Every container's roll-up from scratch, in one pass over the store."""
        builder = RollupBuilder()
        for batch in records.iter_all(1000):
            for record in batch:
                builder.add(record)
        return builder.store(rollups)


class RollupBuilder:
    """Every roll-up from one pass over all records (any order): `add` each record,
    then `finish` (children's facts are summed bottom-up). Holds one small part per
    record, so the index rebuild reads the store once."""

    def __init__(self) -> None:
        self.parts: dict[str, RollupPart] = {}
        self.parent: dict[str, str | None] = {}
        self.containers: dict[str, StoredRecord] = {}
        self.uncounted: dict[str, StoredRecord] = {}  # active but not public
        self.withdrawn: set[str] = set()

    def add(self, record: StoredRecord) -> None:
        self.parent[record.id] = record.parent_id
        self.parts[record.id] = own_part(record)
        if record.level in CONTAINER_LEVELS:
            self.containers[record.id] = record
        if record.status != "active":
            self.withdrawn.add(record.id)
        elif record.visibility != "public":
            self.uncounted[record.id] = record

    def _counts(self, record_id: str, parent_id: str) -> bool:
        if record_id in self.withdrawn:
            return False
        record = self.uncounted.get(record_id)
        if record is None:
            return True
        parent = self.containers.get(parent_id)
        return parent is not None and counts_in_rollup(record, parent)

    def finish(self) -> dict[str, Rollup]:
        children: dict[str, list[str]] = {}
        self.counted = set()
        for record_id, parent_id in self.parent.items():
            if parent_id is not None and self._counts(record_id, parent_id):
                children.setdefault(parent_id, []).append(record_id)
                self.counted.add(record_id)
        # a record that does not count in its parent's roll-up (restricted, withdrawn)
        # still gets its own: it starts a tree of its own
        roots = [
            i
            for i, p in self.parent.items()
            if p is None or p not in self.parent or i not in self.counted
        ]
        total: dict[str, Rollup] = {}
        for record_id in _post_order(children, roots):
            if record_id in self.containers:
                below: list[Rollup | RollupPart] = [
                    total.get(c, self.parts[c]) for c in children.get(record_id, [])
                ]
                total[record_id] = merge([self.parts[record_id], *below])
        return total

    def store(self, rollups: RollupRepository) -> int:
        total = self.finish()
        rollups.replace_all({record_id: r.stored() for record_id, r in total.items()})
        return len(total)


def _post_order(children: dict[str, list[str]], roots: list[str]) -> list[str]:
    """Every node below `roots`, children before their parents (no recursion limit)."""
    order: list[str] = []
    stack: list[tuple[str, bool]] = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children.get(node, []))
    return order

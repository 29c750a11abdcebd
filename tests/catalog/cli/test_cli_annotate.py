"""`imagora annotate --all` (re-annotation report) and `imagora terms` (autocomplete)."""

from __future__ import annotations

import json
from collections.abc import Callable

from cli_support import Invoke, Seeded

from catalog.domain.identity import SYSTEM
from catalog.domain.records import Term
from catalog.services.container import Catalog
from ontologies.graph import Vocabulary

RARE = "https://w3id.org/imagora/vocab/mr-technique/rare"


def _strip_terms(open_catalog: Callable[[], Catalog], record_id: str) -> None:
    """Forget a record's terms behind the annotator's back (as an old vocabulary would)."""
    catalog = open_catalog()
    with catalog.uow() as uow:
        stored = uow.records.get(record_id)
        assert stored is not None
        stored.body["terms"] = []
        uow.records.save(stored)
        uow.commit()


def test_annotate_all_reports_changes_then_nothing(
    invoke: Invoke, seeded: Seeded, open_catalog: Callable[[], Catalog]
) -> None:
    _strip_terms(open_catalog, seeded.scan_id)
    first = invoke("annotate", "--all", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["vocabulary_version"] == Vocabulary.load().version
    assert report["records"] == 2
    assert report["changed_records"] == 1 and report["added"] >= 1
    (change,) = report["changes"]
    assert change["record_id"] == seeded.scan_id

    second = invoke("annotate", "--all")
    assert second.exit_code == 0, second.output
    assert f"vocabulary version {Vocabulary.load().version}" in second.stdout
    assert "records scanned 2, changed 0; terms added 0, removed 0, changed 0" in second.stdout


def test_annotate_keeps_a_curators_rejection(
    invoke: Invoke, seeded: Seeded, open_catalog: Callable[[], Catalog]
) -> None:
    catalog = open_catalog()
    term = Term(iri=RARE, label="RARE", scheme="mri")
    catalog.annotation.add_term(SYSTEM, seeded.scan_id, term)
    catalog.annotation.set_status(SYSTEM, seeded.scan_id, RARE, "rejected")
    catalog.close()
    result = invoke("annotate", "--all", "--json")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["changed_records"] == 0
    after = open_catalog().records.get(SYSTEM, seeded.scan_id)
    assert [t.status for t in after.terms if t.iri == RARE] == ["rejected"]


def test_annotate_needs_all(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("annotate")
    assert result.exit_code == 2
    assert "say which records to re-annotate: --all" in result.stderr


def test_terms_command_lists_matches(invoke: Invoke) -> None:
    result = invoke("terms", "T1", "--limit", "3", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found[0]["label"] == "T1-weighted" and len(found) == 3
    table = invoke("terms", "wistar")
    assert "Wistar" in table.stdout and "strain" in table.stdout
    none = invoke("terms", "zzzzqq")
    assert "no concept matches 'zzzzqq'" in none.stdout

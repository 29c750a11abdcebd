"""CKAN package_search reads its hits in one batch: the number of SQL statements does not
grow with the number of packages returned."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import event

from catalog.domain.identity import ANONYMOUS
from catalog.services.container import Catalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_factories import make_settings, populate


def _statements(catalog: Catalog, rows: int) -> tuple[int, int]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", count)
    try:
        params = {"fq": "level:acquisition", "rows": rows}
        result = catalog.ckan.call(ANONYMOUS, "package_search", params)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", count)
    return len(result["results"]), len(seen)


def test_package_search_reads_packages_in_one_batch(tmp_path: Path) -> None:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    try:
        populate(catalog, extra_scans=8)
        few, few_statements = _statements(catalog, 2)
        many, many_statements = _statements(catalog, 9)
        assert (few, many) == (2, 9)
        assert many_statements == few_statements
    finally:
        catalog.close()

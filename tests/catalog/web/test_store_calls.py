"""Store reads run inline with SQLite and in the thread pool with PostgreSQL; pages and
the record API answer the same either way."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from web_factories import make_settings, populate

from catalog.services.container import Catalog
from catalog.web.app import create_app


def _thread_of_a_store_call(catalog: Catalog) -> str:
    """The thread the record route's store call ran on, seen from inside the service."""
    seen: list[str] = []
    original = catalog.records.get

    def get(identity, record_id):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return original(identity, record_id)

    catalog.records.get = get  # type: ignore[method-assign]
    with TestClient(create_app(catalog=catalog)) as client:
        ids = client.get("/api/records", params={"size": 1}).json()["hits"]
        response = client.get(f"/api/records/{ids[0]['id']}")
        assert response.status_code == 200 and response.json()["id"] == ids[0]["id"]
        page = client.get(f"/records/{ids[0]['id']}")
        assert page.status_code == 200 and ids[0]["title"] in page.text
        missing = client.get("/api/records/nope")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    return seen[0]


def test_sqlite_reads_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    try:
        populate(catalog)
        assert catalog.local_store
        loop_thread = _thread_of_a_store_call(catalog)
        assert "AnyIO worker thread" not in loop_thread
    finally:
        catalog.close()


def test_postgres_reads_run_in_the_thread_pool(tmp_path: Path, pg_database: str) -> None:
    settings = make_settings(tmp_path / "data").model_copy(update={"database_url": pg_database})
    catalog = Catalog.open(settings)
    try:
        populate(catalog)
        assert not catalog.local_store
        assert "AnyIO worker thread" in _thread_of_a_store_call(catalog)
    finally:
        catalog.close()

"""Shared fixtures for the whole suite: PostgreSQL, Chromium, settings in a temp dir.

External things (a PostgreSQL server, a browser) are found or started here, once, so that
every test gets them the same way. Outside CI a missing one skips the tests that need it,
with the reason; in CI (`CI` set) it fails them, because CI installs everything and a skip
there would hide a broken setup.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pg_server
import pytest

from catalog.settings import Settings

CHROMIUM_DEFAULT = "/usr/bin/chromium"


def in_ci() -> bool:
    """True when the `CI` environment variable is set to something other than false/0."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip the test outside CI; fail it in CI, where everything must be installed."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_imagora_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop IMAGORA_* settings from the caller's shell so no test touches a real install."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"IMAGORA_{name.upper()}", raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (`postgresql+psycopg://...`) of a server's `postgres` database.

    The role behind it can create databases. From $IMAGORA_TEST_POSTGRES_URL if set;
    otherwise a private cluster started for this session (see `tests/pg_server.py`).
    """
    external = os.environ.get("IMAGORA_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    if pg_server.find_bin_dir() is None:
        unavailable(f"PostgreSQL is not installed: {pg_server.INSTALL_HINT}")
    try:
        server = pg_server.start_private_server()
    except pg_server.PgServerError as exc:
        pytest.fail(f"could not start the private PostgreSQL server: {exc}", pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database of its own for one test; dropped (WITH FORCE) afterwards.

    Yields its SQLAlchemy URL (`postgresql+psycopg://...`).
    """
    name = f"imagora_t_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(postgres_url, name)
    try:
        yield url
    finally:
        pg_server.drop_database(postgres_url, name)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium executable for Playwright's `executable_path`."""
    path = os.environ.get("IMAGORA_CHROMIUM") or CHROMIUM_DEFAULT
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        unavailable(
            f"Chromium not found at {path}: `apt-get install chromium` or set IMAGORA_CHROMIUM"
        )
    return path


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings for an installation living in `tmp_path/"data"` (SQLite, embedded index)."""
    return Settings.load(data_dir=tmp_path / "data")

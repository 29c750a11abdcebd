"""The test suite's PostgreSQL helper: a private server starts, serves, and goes away.

Everything that tests the PostgreSQL store stands on these fixtures, so they get their own
checks: a broken helper should fail here with a clear message, not as odd store failures.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pg_server
import psycopg
import pytest
import sqlalchemy as sa


def _one(url: str, query: str) -> object:
    with psycopg.connect(pg_server.libpq_url(url)) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _database_names(admin_url: str) -> set[str]:
    with psycopg.connect(pg_server.libpq_url(admin_url)) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_libpq_url_drops_the_sqlalchemy_driver() -> None:
    url = "postgresql+psycopg://u:p@127.0.0.1:5999/postgres"
    assert pg_server.libpq_url(url) == "postgresql://u:p@127.0.0.1:5999/postgres"


def test_libpq_url_rejects_other_databases() -> None:
    with pytest.raises(pg_server.PgServerError, match=r"not a PostgreSQL URL: sqlite://"):
        pg_server.libpq_url("sqlite:///x.db")


def test_database_url_swaps_only_the_database() -> None:
    url = "postgresql+psycopg://u:p@127.0.0.1:5999/postgres?sslmode=disable"
    expected = "postgresql+psycopg://u:p@127.0.0.1:5999/other?sslmode=disable"
    assert pg_server.database_url(url, "other") == expected


def test_free_port_can_be_bound() -> None:
    port = pg_server.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535


def _fake_tool(path: Path) -> None:
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_find_bin_dir_honours_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for tool in ("initdb", "pg_ctl", "postgres"):
        _fake_tool(tmp_path / tool)
    monkeypatch.setenv(pg_server.BIN_ENV, str(tmp_path))
    assert pg_server.find_bin_dir() == tmp_path


def test_missing_binaries_give_an_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_tool(tmp_path / "initdb")  # pg_ctl and postgres are missing
    monkeypatch.setenv(pg_server.BIN_ENV, str(tmp_path))
    assert pg_server.find_bin_dir() is None
    with pytest.raises(pg_server.PgServerError, match=r"apt-get install postgresql"):
        pg_server.start_private_server()


@pytest.mark.postgres
def test_private_server_lifecycle() -> None:
    if pg_server.find_bin_dir() is None:
        pytest.skip(f"PostgreSQL is not installed: {pg_server.INSTALL_HINT}")
    server = pg_server.start_private_server()
    try:
        assert server.url.startswith(f"postgresql+psycopg://{pg_server.ROLE}:")
        assert server.host == "127.0.0.1"
        assert _one(server.url, "SHOW listen_addresses") == "127.0.0.1"
        assert _one(server.url, "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")
        assert not _one(server.url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    finally:
        server.stop()
    assert not server.base_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_server.libpq_url(server.url), connect_timeout=3)


@pytest.mark.postgres
def test_wrong_password_is_refused(postgres_url: str) -> None:
    if not urlsplit(postgres_url).password:
        pytest.skip("the configured server URL has no password to get wrong")
    bad = postgres_url.replace("@", "x@", 1)
    with pytest.raises(psycopg.OperationalError, match=r"password authentication failed"):
        psycopg.connect(pg_server.libpq_url(bad), connect_timeout=5)


@pytest.mark.postgres
def test_pg_database_is_fresh_and_usable(pg_database: str) -> None:
    name = pg_database.rsplit("/", 1)[1]
    assert name.startswith("imagora_t_")
    with psycopg.connect(pg_server.libpq_url(pg_database)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO t VALUES (1, 'ümlaut ok')")
        assert conn.execute("SELECT note FROM t").fetchone() == ("ümlaut ok",)


@pytest.mark.postgres
def test_pg_database_url_works_with_sqlalchemy(pg_database: str) -> None:
    engine = sa.create_engine(pg_database)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            encoding = conn.execute(sa.text("SHOW server_encoding")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) >= 130000
    assert encoding == "UTF8"


@pytest.mark.postgres
def test_drop_database_closes_open_connections(postgres_url: str) -> None:
    name = f"imagora_t_drop_{os.getpid()}"
    url = pg_server.create_database(postgres_url, name)
    assert name in _database_names(postgres_url)
    conn = psycopg.connect(pg_server.libpq_url(url))
    try:
        pg_server.drop_database(postgres_url, name)
        assert name not in _database_names(postgres_url)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


@pytest.mark.postgres
def test_create_database_reports_the_failure(postgres_url: str, pg_database: str) -> None:
    name = pg_database.rsplit("/", 1)[1]
    with pytest.raises(pg_server.PgServerError) as info:
        pg_server.create_database(postgres_url, name)
    message = str(info.value)
    assert f"CREATE DATABASE {name} failed on postgresql" in message
    assert "already exists" in message
    password = urlsplit(postgres_url).password
    assert not password or password not in message

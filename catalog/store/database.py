"""Engine creation and migrations (SQLite with WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from catalog.domain.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"


class EncodedJSON(str):
    """JSON text `dump_json` wrote already (a harvest worker process hands facts back as
    text): a JSON column stores it as it is instead of encoding the decoded value again."""


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"IMAGORA_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=dump_json,
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            json_serializer=dump_json,
            json_deserializer=load_json,
        )
    except NoSuchModuleError as exc:
        raise ConfigurationError(
            f"no driver for {parsed.drivername}: install the 'postgres' extra "
            "(pip install 'imagora[postgres]') and use postgresql+psycopg://"
        ) from exc


def dump_json(value: Any) -> str:
    """JSON columns as the store writes them: orjson (the standard library's encoder cost
    more than the rest of a bulk insert), with the standard library for what orjson
    refuses (integers beyond 64 bits, float subclasses). orjson writes NaN and infinity
    as null, which PostgreSQL's JSON types require anyway; copies of values about to be
    stored use `json_copy`, so they equal what the store hands back. `EncodedJSON` is
    that text already and passes through."""
    if isinstance(value, EncodedJSON):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value exactly as the store will hand it back."""
    return load_json(dump_json(value))


def load_json(text: str | bytes) -> Any:
    """JSON columns as SQLite hands them back: orjson (3-5x faster than `json.loads`, which
    made every bulk read of records cost more than the rest of the read), with the
    standard library for what orjson refuses (`NaN` written by `json.dumps`, integers
    beyond 64 bits), so every value stored before still reads back."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

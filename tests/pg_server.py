"""A throwaway PostgreSQL server for the test suite, written once and used everywhere.

Tests that need PostgreSQL must not depend on a server someone set up by hand, so the
pytest session starts a private cluster: `initdb` into a temporary directory, `pg_ctl start`
listening on 127.0.0.1 only, on a free port, with a Unix socket inside that directory. A
login role with a password and CREATEDB is created; each test then creates and drops its
own database. `initdb` refuses to run as root, so when we are root the server commands run
as the `postgres` OS user (created by Debian's `postgresql` package).

`.ci/run` only installs the Debian packages; the server life cycle lives here. Run
`python tests/pg_server.py` to get a server by hand (prints its URL, stops on Ctrl-C).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BIN_ENV = "IMAGORA_PG_BIN"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
ROLE = "imagora_test"
SUPERUSER = "postgres"
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
INSTALL_HINT = "install it with `apt-get install postgresql` or point IMAGORA_PG_BIN at its bin dir"


class PgServerError(RuntimeError):
    """The private PostgreSQL server could not be found, started or used."""


def find_bin_dir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`: $IMAGORA_PG_BIN, Debian's newest, or PATH."""
    override = os.environ.get(BIN_ENV)
    if override:
        return Path(override) if _has_tools(Path(override)) else None
    for candidate in _debian_bin_dirs():
        if _has_tools(candidate):
            return candidate
    initdb = shutil.which("initdb")
    if initdb and _has_tools(Path(initdb).parent):
        return Path(initdb).parent
    return None


def _debian_bin_dirs() -> list[Path]:
    """`/usr/lib/postgresql/<major>/bin`, newest major first."""
    if not DEBIAN_ROOT.is_dir():
        return []
    majors = [p for p in DEBIAN_ROOT.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name)]
    majors.sort(key=lambda p: tuple(int(n) for n in p.name.split(".")), reverse=True)
    return [p / "bin" for p in majors]


def _has_tools(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy) to `postgresql://...` (libpq / psycopg)."""
    scheme, rest = url.split("://", 1)
    if not scheme.startswith(("postgresql", "postgres")):
        raise PgServerError(f"not a PostgreSQL URL: {scheme}://...")
    return f"postgresql://{rest}"


def database_url(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` through `admin_url`; returns its URL (same scheme as given)."""
    _execute(admin_url, "CREATE DATABASE {}", name)
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name`, closing any connection still open to it."""
    _execute(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def _execute(admin_url: str, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise PgServerError(
            f"{statement.format(name)} failed on {_redact(admin_url)}: {exc}"
        ) from exc


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@dataclass
class PostgresServer:
    """A running private cluster; `url` logs in as a CREATEDB role over TCP on 127.0.0.1."""

    bin_dir: Path
    base_dir: Path
    port: int
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    host: str = "127.0.0.1"
    role: str = ROLE
    running: bool = False

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` maintenance database, as the test role."""
        return f"postgresql+psycopg://{self.role}:{self.password}@{self.host}:{self.port}/postgres"

    def start(self) -> None:
        """initdb, pg_ctl start, create the login role."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        _hand_over(self.base_dir)
        initdb = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER]
        initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
        initdb += ["--auth-local=trust", "--auth-host=scram-sha-256"]
        _run_as_server_user(initdb, self.base_dir)
        options = f"-k {self.socket_dir} -h {self.host} -p {self.port} {SERVER_OPTIONS}"
        pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file)]
        _run_as_server_user([*pg_ctl, "-w", "-t", "60", "-o", options, "start"], self.base_dir)
        self.running = True
        self._create_role()

    def _create_role(self) -> None:
        import psycopg
        from psycopg import sql

        conninfo = {"host": str(self.socket_dir), "port": self.port, "user": SUPERUSER}
        with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
            statement = sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(self.role), sql.Literal(self.password)
            )
            conn.execute(statement)

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and delete its directory."""
        if self.running:
            pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate"]
            with contextlib.suppress(PgServerError):
                _run_as_server_user([*pg_ctl, "-w", "stop"], self.base_dir)
            self.running = False
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server log, for error messages."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_private_server(bin_dir: Path | None = None, attempts: int = 3) -> PostgresServer:
    """Start a fresh private cluster on a free loopback port; the caller must `stop()` it.

    Retries on another port if one was taken between choosing and binding it.
    """
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise PgServerError(f"no PostgreSQL server binaries (initdb, pg_ctl) found: {INSTALL_HINT}")
    last_error: PgServerError | None = None
    for _ in range(attempts):
        server = PostgresServer(bin_dir=bin_dir, base_dir=_make_base_dir(), port=free_port())
        try:
            server.start()
        except PgServerError as exc:
            last_error = PgServerError(f"{exc}\n--- server log ---\n{server.log_tail()}")
            server.stop()
            continue
        atexit.register(server.stop)
        return server
    assert last_error is not None
    raise last_error


def _make_base_dir() -> Path:
    # Root's server runs as `postgres`, which must be able to reach the directory: use /tmp.
    parent = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    return Path(tempfile.mkdtemp(prefix="imagora-pg-", dir=parent))


def _server_user() -> pwd.struct_passwd | None:
    """The OS user to run the server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PgServerError(
            "running as root, but there is no `postgres` OS user to run the server as "
            "(initdb refuses root): install the `postgresql` package or run as a normal user"
        ) from None


def _hand_over(path: Path) -> None:
    """Give the server's directory tree to the server user."""
    user = _server_user()
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, user.pw_uid, user.pw_gid)


def _run_as_server_user(command: list[str], cwd: Path) -> None:
    user = _server_user()
    if user is not None:
        if shutil.which("runuser"):
            command = ["runuser", "-u", user.pw_name, "--", *command]
        else:
            command = ["su", user.pw_name, "-s", "/bin/sh", "-c", shlex.join(command)]
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise PgServerError(f"`{shlex.join(command)}` failed ({result.returncode}): {output}")


def main() -> None:
    """Start a server for manual use and keep it until Ctrl-C."""
    import time

    server = start_private_server()
    print(f"IMAGORA_TEST_POSTGRES_URL={server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()

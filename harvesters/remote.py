"""What the remote harvesters (XNAT, Shanoir-NG, CKAN) share: options, credentials,
fingerprints of listing rows, and value parsing for servers that write everything as text.

Credentials come from the command line (`--user/--password`, `--token`) for one-off
harvests, or from a secrets file named in the source (`--option secrets_file=PATH`, a
JSON or TOML file with `user`, `password` and/or `token`) for registered sources: the
catalogue never stores them (see `SourceService.add`). Passwords and tokens are
`SecretStr`s, so they print as `**********` in reprs and option dumps.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import SecretStr

from catalog.domain.errors import SourceUnusableError, ValidationError
from harvesters.base import HarvestOptions
from harvesters.http import HttpPolicy

SECRET_OPTIONS = ("password", "token")


class RemoteOptions(HarvestOptions):
    """Options every remote harvester takes."""

    user: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    secrets_file: str | None = None
    """JSON or TOML file with `user`, `password`, `token` (never stored in the catalogue)."""
    verify_tls: bool = True
    concurrency: int = 4
    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 0.5

    def fill_from(self, found: Credentials | None) -> None:
        """Credentials from the installation's settings, for what the source left unset."""
        if found is None or self.user or self.password or self.token or self.secrets_file:
            return
        self.user = found.user
        self.password = SecretStr(found.password) if found.password else None
        self.token = SecretStr(found.token) if found.token else None

    def policy(self) -> HttpPolicy:
        return HttpPolicy(
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_s=self.backoff_s,
            concurrency=max(1, self.concurrency),
            verify_tls=self.verify_tls,
        )


@dataclass(frozen=True)
class Credentials:
    user: str | None = None
    password: str | None = None
    token: str | None = None

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.token) if s]


def credentials(options: RemoteOptions) -> Credentials:
    """Options first, then the secrets file for what the options leave out."""
    from_file: dict[str, Any] = _read_secrets(options.secrets_file) if options.secrets_file else {}
    password = options.password.get_secret_value() if options.password else None
    token = options.token.get_secret_value() if options.token else None
    return Credentials(
        user=options.user or _text(from_file.get("user")),
        password=password or _text(from_file.get("password")),
        token=token or _text(from_file.get("token")),
    )


def _read_secrets(name: str) -> dict[str, Any]:
    path = Path(name).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceUnusableError(
            f"cannot read the secrets file {path}: {exc.strerror or exc}"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SourceUnusableError(
            f"the secrets file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}"
            f" ({exc.__class__.__name__}); it holds user, password and/or token"
        ) from None
    if not isinstance(data, dict):
        raise SourceUnusableError(f"the secrets file {path} must hold a table/object")
    return data


def site_credentials(path: Path, location: str) -> Credentials | None:
    """The table for the location's `host:port` (or `host`) in the settings' credentials
    file (`IMAGORA_HARVEST_CREDENTIALS`), if any."""
    parts = urlsplit(location)
    host = (parts.hostname or "").lower()
    data = _read_secrets(str(path))
    for name in (f"{host}:{parts.port}" if parts.port else None, host):
        table = data.get(name) if name else None
        if isinstance(table, dict):
            return Credentials(
                user=_text(table.get("user")),
                password=_text(table.get("password")),
                token=_text(table.get("token")),
            )
    return None


def refuse_stored_secrets(values: dict[str, Any]) -> None:
    """Registered sources never keep a password or token in the catalogue."""
    given = [name for name in SECRET_OPTIONS if values.get(name)]
    if given:
        raise ValidationError(
            f"a registered source does not store {' or '.join('--' + g for g in given)}: "
            "put the credentials in a secrets file (JSON or TOML with user, password, token; "
            "readable only by the harvesting account) and pass --option secrets_file=PATH",
            field=given[0],
        )


def row_fingerprint(row: dict[str, Any]) -> str:
    """A stable fingerprint of a listing row: any change of any column changes it.

    Why orjson first: an unchanged re-harvest fingerprints every row of every listing
    (10^4 for Shanoir's datasets), and the standard encoder took a fifth of that run.
    Its output is the standard encoder's (sorted keys, no spaces) for the rows listings
    hold; rows it would write differently (non-ASCII text, which the standard encoder
    escapes; 1e-05, which it writes 1e-5) or cannot write (huge integers, other key
    types) take the standard encoder, so fingerprints stored by earlier runs still
    match. NaN (only in bodies the standard decoder read) is written `null`: such a row
    is fetched once more after the upgrade, then fingerprinted alike again."""
    try:
        encoded = orjson.dumps(row, option=_FINGERPRINT_OPTIONS, default=str)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        encoded = b""
    if not encoded or not encoded.isascii() or _SMALL_EXPONENT.search(encoded):
        encoded = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "row:" + hashlib.sha256(encoded).hexdigest()[:32]


_SMALL_EXPONENT = re.compile(rb"\de-")
#: datetimes go through `default=str` as the standard encoder's did (not RFC 3339)
_FINGERPRINT_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def as_float(value: Any) -> float | None:
    """XNAT and friends write numbers as strings, often empty: "" -> None, "3.0" -> 3.0."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no value


def as_int(value: Any) -> int | None:
    number = as_float(value)
    return int(number) if number is not None else None


def first_number(value: Any) -> float | None:
    """A number, or the first of a list of numbers (Shanoir's TR/TE lists)."""
    if isinstance(value, list):
        return next((n for n in (as_float(v) for v in value) if n is not None), None)
    return as_float(value)

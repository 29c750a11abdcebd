"""Settings from the environment (IMAGORA_*) and `imagora.toml` in the data dir.

Validated once at start-up (`Settings.load()`), then passed explicitly: nothing reads the
environment at import time.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.domain.errors import ConfigurationError


class Settings(BaseSettings):
    """Every knob of an Imagora installation; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="IMAGORA_", extra="ignore")

    data_dir: Path = Field(Path("./imagora-data"))
    database_url: str = ""
    search_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field("", description="HMAC key for subject pseudonyms; generated if empty")
    zenodo_url: str = "https://zenodo.org"
    zenodo_token: str = ""
    zenodo_communities: str = Field("", description="Comma-separated Zenodo community ids")
    publisher_name: str = Field("Imagora", description="Publisher named in DOI metadata")
    deid_dates: Literal["shift", "remove"] = Field(
        "shift", description="De-identification: shift dates per package, or remove them"
    )
    deid_private_allow: str = Field(
        "", description="Private DICOM attributes kept: 'CREATOR:xx;...' (element byte, hex)"
    )
    datacite_url: str = "https://api.datacite.org"
    datacite_user: str = ""
    datacite_password: str = ""
    datacite_prefix: str = ""
    admin_email: str = Field(
        "admin@example.org", description="Contact address shown by OAI-PMH Identify"
    )
    oai_page_size: int = Field(100, ge=1, le=1000, description="Records per OAI-PMH response")
    max_upload_bytes: int = 10 * 1024 * 1024
    page_size: int = 20
    harvest_credentials: Path | None = Field(
        None,
        description="TOML file of remote-source credentials, one table per host[:port] "
        "with user, password and/or token (read at harvest time, never stored)",
    )

    slurm_partition: str = Field(
        "", description="Slurm partition of compute jobs unless a job names one ('' = default)"
    )
    slurm_account: str = Field("", description="Slurm account charged for compute jobs")
    slurm_bin_dir: str = Field(
        "", description="Folder holding sbatch, squeue, scontrol, sacct, scancel ('' = PATH)"
    )

    @field_validator("slurm_bin_dir")
    @classmethod
    def _absolute_bin_dir(cls, value: str) -> str:
        if value and not Path(value).is_absolute():
            raise ValueError(f"IMAGORA_SLURM_BIN_DIR must be an absolute path; got '{value}'")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("IMAGORA_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Environment, then `imagora.toml` for unset values, then explicit overrides."""
        try:
            base = cls(**overrides)
            toml_path = base.data_dir / "imagora.toml"
            if toml_path.is_file():
                file_values = tomllib.loads(toml_path.read_text(encoding="utf-8"))
                merged = {**{k.lower(): v for k, v in file_values.items()}, **_explicit(base)}
                merged.update(overrides)
                base = cls(**merged)
            base.data_dir.mkdir(parents=True, exist_ok=True)
            return base
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "IMAGORA_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
            raise ConfigurationError(f"invalid setting {name}: {first['msg']}") from exc
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read settings: {exc}") from exc

    def secret(self) -> bytes:
        """The per-installation secret (created once in the data dir when not configured)."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode()


def _explicit(settings: Settings) -> dict[str, Any]:
    """Values that came from the environment (they win over the TOML file)."""
    return {name: getattr(settings, name) for name in settings.model_fields_set}

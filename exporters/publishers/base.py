"""The `Publisher` interface: one record version in, one DOI out, resumably.

A publisher speaks one DOI service's HTTP API. It never decides *whether* something may
be published (the publish service does) and never reads files other than the package
the gate produced. Every remote step it completes is written to the `Checkpoint` and
handed to `save`, which commits it; called again with that checkpoint after a failure,
the publisher continues the same deposition instead of starting a second one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from catalog.domain.records import RecordPublic

if TYPE_CHECKING:
    from catalog.settings import Settings


@dataclass(frozen=True)
class PackageFile:
    """One file of a de-identified package: its name in the deposit and its digests."""

    name: str
    path: Path
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True)
class Package:
    """What leaves the service: files that passed the gate (maybe none: metadata only)."""

    files: tuple[PackageFile, ...] = ()


@dataclass(frozen=True)
class PublishedVersion:
    """A version already live on the service (the base of a new version)."""

    version: int
    remote_id: str | None
    doi: str | None
    concept_doi: str | None


@dataclass(frozen=True)
class Deposit:
    """Everything a publisher sends for one record version."""

    record: RecordPublic
    version: int
    landing_url: str
    publisher_name: str
    package: Package = field(default_factory=Package)
    previous: PublishedVersion | None = None
    publication_date: str = ""


@dataclass
class Checkpoint:
    """How far a deposit got; persisted after each remote step (JSON in `publications`)."""

    step: str = "new"
    remote_id: str | None = None
    bucket: str | None = None
    doi: str | None = None
    concept_doi: str | None = None
    concept_id: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class PublishResult:
    """The live DOI of a version, its concept DOI and the service's page for it."""

    doi: str
    concept_doi: str | None
    remote_id: str | None
    url: str | None


SaveCheckpoint = Callable[[Checkpoint], None]


class Publisher(ABC):
    """One DOI service. Subclasses set `name` and implement the two methods."""

    name: ClassVar[str]
    #: Whether the service stores files (Zenodo) or only metadata (DataCite).
    uploads_files: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Publisher:
        """Build from the installation settings; raise ConfigurationError when unusable."""

    @abstractmethod
    def publish(
        self, deposit: Deposit, checkpoint: Checkpoint, save: SaveCheckpoint
    ) -> PublishResult:
        """Deposit (or resume depositing) one version and make its DOI live."""

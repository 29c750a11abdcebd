"""The de-identification policy of one package: date handling, allow-lists, the salt.

The salt is derived from the installation secret and the record version, so cleaning the
same version twice gives byte-identical files (a resumed upload skips what is already
there) while UIDs and date shifts of two different packages cannot be linked.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

#: The date shift window: shifts go back 1..3650 days.
MAX_SHIFT_DAYS = 3650


@dataclass(frozen=True)
class DeidPolicy:
    """How identifying facts are treated (PS3.15 basic profile plus the options named)."""

    salt: bytes
    subject: str = "anonymous"
    dates: Literal["shift", "remove"] = "shift"
    #: Retain Patient Characteristics Option: sex, age, size, weight (science needs them).
    keep_patient_characteristics: bool = True
    #: Private attributes kept: (private creator, element byte), e.g. ("SIEMENS MR HEADER", 0x0C).
    private_allow: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    @classmethod
    def for_package(
        cls, secret: bytes, record_id: str, version: int, **options: object
    ) -> DeidPolicy:
        salt = hmac.new(secret, f"deid\x1f{record_id}\x1f{version}".encode(), "sha256").digest()
        return cls(salt=salt, **options)  # type: ignore[arg-type]

    @property
    def shift_days(self) -> int:
        """The package's date offset (days back), from the salt."""
        return (
            1 + int.from_bytes(hashlib.sha256(self.salt + b"dates").digest()[:4]) % MAX_SHIFT_DAYS
        )

    def shift(self, value: date) -> date:
        return value - timedelta(days=self.shift_days)

    def with_subject(self, subject: str) -> DeidPolicy:
        return DeidPolicy(
            salt=self.salt,
            subject=subject,
            dates=self.dates,
            keep_patient_characteristics=self.keep_patient_characteristics,
            private_allow=self.private_allow,
        )


def parse_private_allow(text: str) -> frozenset[tuple[str, int]]:
    """`"SIEMENS CSA HEADER:10;ACME:20"` -> {(creator, element byte)}; bytes in hex."""
    allowed: set[tuple[str, int]] = set()
    for item in filter(None, (part.strip() for part in text.split(";"))):
        creator, _, element = item.rpartition(":")
        try:
            allowed.add((creator.strip(), int(element, 16)))
        except ValueError:
            from catalog.domain.errors import ConfigurationError

            raise ConfigurationError(
                f"IMAGORA_DEID_PRIVATE_ALLOW: '{item}' is not CREATOR:ELEMENT (hex byte, e.g. "
                "'SIEMENS CSA HEADER:10')"
            ) from None
    return frozenset(allowed)

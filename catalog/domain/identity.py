"""Who is calling: passed first to every service method (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.enums import Role


@dataclass(frozen=True)
class Identity:
    """An authenticated user with a role, or the anonymous caller (`user is None`)."""

    user: str | None = None
    role: Role | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    @property
    def sees_everything(self) -> bool:
        """Admins and curators see restricted records (curation needs it)."""
        return self.role in (Role.admin, Role.curator)

    @property
    def can_write(self) -> bool:
        return self.role in (Role.admin, Role.curator)

    def reader_keys(self) -> list[str]:
        """Keys matched against a record's `readers` in the search index."""
        keys = ["public"]
        if self.user:
            keys.append(f"user:{self.user}")
        return keys


ANONYMOUS = Identity()
SYSTEM = Identity(user="system", role=Role.admin)

"""Bearer tokens: created by admins (or the local CLI), stored hashed, checked per request."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from catalog.domain.enums import Role
from catalog.domain.errors import AuthenticationError, ValidationError
from catalog.domain.identity import Identity
from catalog.services.access import require_admin
from catalog.store.repository import StoredToken, UnitOfWork

TOKEN_PREFIX = "imt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def create(self, identity: Identity, user: str, role: str) -> str:
        """Return a new plain token (shown once; only its hash is stored)."""
        require_admin(identity, "creating tokens")
        user = user.strip()
        if not user or len(user) > 200:
            raise ValidationError("user must be 1-200 characters", field="user")
        try:
            role_value = Role(role).value
        except ValueError:
            raise ValidationError(
                f"unknown role '{role}'; use admin, curator or viewer", field="role"
            ) from None
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self.uow_factory() as uow:
            uow.tokens.add(token_id, user, role_value, hash_token(token))
            uow.commit()
        return token

    def authenticate(self, token: str | None) -> Identity:
        """The identity behind a bearer token; no token means anonymous."""
        if not token:
            return Identity()
        with self.uow_factory() as uow:
            stored = uow.tokens.by_hash(hash_token(token.strip()))
        if stored is None or stored.revoked:
            raise AuthenticationError("the bearer token is unknown or revoked")
        return Identity(user=stored.user, role=Role(stored.role))

    def list(self, identity: Identity) -> list[StoredToken]:
        require_admin(identity, "listing tokens")
        with self.uow_factory() as uow:
            return uow.tokens.list()

    def revoke(self, identity: Identity, token_id: str) -> bool:
        require_admin(identity, "revoking tokens")
        with self.uow_factory() as uow:
            done = uow.tokens.revoke(token_id)
            uow.commit()
        return done

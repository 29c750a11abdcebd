"""Access policy rules: who sees what, and how access is inherited down the hierarchy.

"As open as possible, as restricted as necessary": a restriction on a parent dominates
its children (a public scan of a restricted subject would leak the subject), grants add
up, and file access / embargo are inherited unless a record sets its own.
"""

from __future__ import annotations

from typing import Any

from catalog.domain.errors import PermissionDeniedError
from catalog.domain.identity import Identity
from catalog.store.repository import StoredRecord

DEFAULT_ACCESS: dict[str, Any] = {
    "record": "public",
    "files": "open",
    "embargo_until": None,
    "grants": [],
}


def effective_access(own: dict[str, Any] | None, parent: dict[str, Any] | None) -> dict[str, Any]:
    """Combine a record's own settings with its parent's effective access."""
    base = {k: v for k, v in (parent or DEFAULT_ACCESS).items() if k != "inherited"}
    result = {**DEFAULT_ACCESS, **base, **(own or {})}
    if parent is not None and parent.get("record") == "restricted":
        result["record"] = "restricted"
    grants = set((parent or {}).get("grants") or []) | set((own or {}).get("grants") or [])
    result["grants"] = sorted(grants)
    result["inherited"] = own is None and parent is not None
    return result


def can_see(identity: Identity, record: StoredRecord) -> bool:
    if record.visibility == "public" or identity.sees_everything:
        return True
    return identity.user is not None and identity.user in record.access.get("grants", [])


def require_writer(identity: Identity, action: str) -> None:
    """Curators and admins write; the message says which role is needed."""
    if identity.is_anonymous:
        from catalog.domain.errors import AuthenticationError

        raise AuthenticationError(f"{action} needs a bearer token with the curator or admin role")
    if not identity.can_write:
        raise PermissionDeniedError(
            f"{action} needs the curator or admin role; your token has the {identity.role} role"
        )


def require_admin(identity: Identity, action: str) -> None:
    if identity.role != "admin":
        raise PermissionDeniedError(f"{action} needs the admin role")

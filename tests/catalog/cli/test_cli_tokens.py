"""`imagora tokens ...`: the printed token authenticates with the role asked for."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cli_support import Invoke, Seeded

from catalog.domain.enums import Role
from catalog.domain.errors import AuthenticationError
from catalog.services.container import Catalog


def create(invoke: Invoke, user: str, role: str) -> str:
    result = invoke("tokens", "create", "--user", user, "--role", role)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1  # only the token on stdout, for scripts
    assert "shown only this once" in result.stderr
    return result.stdout.strip()


def test_created_token_authenticates_with_its_role(
    invoke: Invoke, open_catalog: Callable[[], Catalog]
) -> None:
    token = create(invoke, "alice", "curator")
    identity = open_catalog().tokens.authenticate(token)
    assert identity.user == "alice"
    assert identity.role is Role.curator


def test_list_and_revoke(invoke: Invoke, open_catalog: Callable[[], Catalog]) -> None:
    token = create(invoke, "bob", "viewer")
    listed = json.loads(invoke("tokens", "list", "--json").stdout)
    assert [(t["user"], t["role"], t["revoked"]) for t in listed] == [("bob", "viewer", False)]
    assert token not in invoke("tokens", "list").stdout  # the secret is never listed
    revoked = invoke("tokens", "revoke", listed[0]["id"])
    assert revoked.exit_code == 0
    assert f"revoked token {listed[0]['id']}" in revoked.stdout
    with pytest.raises(AuthenticationError):
        open_catalog().tokens.authenticate(token)
    again = invoke("tokens", "revoke", "nosuchid")
    assert again.exit_code == 1
    assert "no token with id 'nosuchid'" in again.stderr


def test_unknown_role_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("tokens", "create", "--user", "eve", "--role", "owner")
    assert result.exit_code == 2
    assert "'owner' is not one of 'admin', 'curator', 'viewer'" in result.stderr


def test_search_as_a_token_sees_what_its_role_sees(invoke: Invoke, seeded: Seeded) -> None:
    assert invoke("access", seeded.collection_id, "--record", "restricted").exit_code == 0
    curator = create(invoke, "carol", "curator")
    viewer = create(invoke, "vic", "viewer")
    as_curator = json.loads(invoke("search", "hippocampus", "--json", "--token", curator).stdout)
    as_viewer = json.loads(invoke("search", "hippocampus", "--json", "--token", viewer).stdout)
    assert as_curator["total"] == 2
    assert as_viewer["total"] == 0
    bad = invoke("search", "x", "--token", "imt_forged")
    assert bad.exit_code == 1
    assert "unknown or revoked" in bad.stderr
    both = invoke("search", "x", "--token", curator, "--all")
    assert both.exit_code == 2
    assert "either --token or --all" in both.stderr

"""PATCH access with explicit nulls: `record`/`files` null inherit from the parent again,
`grants` null clears the list; never a record that readers cannot render (was a 500)."""

from __future__ import annotations


def test_null_access_fields_inherit(fresh) -> None:  # type: ignore[no-untyped-def]
    client, _, ids, tokens = fresh
    headers = {"Authorization": f"Bearer {tokens.curator}"}
    own = {"access": {"files": "restricted", "grants": ["bob"]}}
    assert client.patch(f"/api/records/{ids.t2}", json=own, headers=headers).status_code == 200
    nulls = {"access": {"files": None, "record": None, "grants": None}}
    response = client.patch(f"/api/records/{ids.t2}", json=nulls, headers=headers)
    assert response.status_code == 200, response.text
    access = response.json()["access"]
    assert (access["files"], access["record"], access["grants"]) == ("open", "public", [])
    assert client.get(f"/api/records/{ids.t2}").status_code == 200

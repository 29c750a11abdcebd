"""RecordService rules: permissions, visibility, access inheritance, versions, search."""

from __future__ import annotations

import pytest

from catalog.domain.enums import Role
from catalog.domain.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    QuerySyntaxError,
    ValidationError,
)
from catalog.domain.identity import ANONYMOUS, SYSTEM, Identity
from catalog.domain.records import Access, AccessUpdate, Imaging, RecordCreate, RecordUpdate
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest

CURATOR = Identity(user="cora", role=Role.curator)
VIEWER = Identity(user="vic", role=Role.viewer)


def _tree(catalog: Catalog) -> dict[str, str]:
    col = catalog.records.create(
        SYSTEM, RecordCreate(level="collection", title="Rat study", license="CC-BY-4.0")
    )
    sub = catalog.records.create(
        SYSTEM, RecordCreate(level="subject", title="sub-01", parent_id=col.id)
    )
    acq = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level="acquisition",
            title="T2 RARE",
            parent_id=sub.id,
            imaging=Imaging(modality="MR", field_strength_t=9.4, manufacturer="Bruker"),
        ),
    )
    return {"col": col.id, "sub": sub.id, "acq": acq.id}


def test_create_requires_a_writer(catalog: Catalog) -> None:
    data = RecordCreate(level="collection", title="x")
    with pytest.raises(AuthenticationError, match="bearer token"):
        catalog.records.create(ANONYMOUS, data)
    with pytest.raises(PermissionDeniedError, match="viewer role"):
        catalog.records.create(VIEWER, data)
    assert catalog.records.create(CURATOR, data).title == "x"


def test_get_returns_parents_root_first_and_children_count(catalog: Catalog) -> None:
    ids = _tree(catalog)
    acq = catalog.records.get(ANONYMOUS, ids["acq"])
    assert [p.id for p in acq.parents] == [ids["col"], ids["sub"]]
    assert catalog.records.get(ANONYMOUS, ids["col"]).children_count == 1
    assert acq.access.inherited is True


def test_restriction_on_a_parent_hides_the_whole_branch_from_anonymous(catalog: Catalog) -> None:
    ids = _tree(catalog)
    catalog.records.set_access(
        CURATOR, ids["sub"], AccessUpdate(record="restricted", grants=["vic"])
    )
    for record_id in (ids["sub"], ids["acq"]):
        with pytest.raises(NotFoundError, match=record_id):
            catalog.records.get(ANONYMOUS, record_id)
    page = catalog.records.search(ANONYMOUS, SearchRequest())
    assert {h.id for h in page.hits} == {ids["col"]}
    assert page.total == 1
    assert sum(f.count for f in page.facets["level"]) == 1
    assert "9.4" not in {f.value for f in page.facets["field_strength"]}
    assert catalog.records.get(ANONYMOUS, ids["col"]).children_count == 0
    # a viewer with a grant and a curator see the branch
    assert catalog.records.get(VIEWER, ids["acq"]).access.record == "restricted"
    assert catalog.records.search(CURATOR, SearchRequest()).total == 3
    assert catalog.records.search(VIEWER, SearchRequest()).total == 3
    other = Identity(user="eve", role=Role.viewer)
    assert catalog.records.search(other, SearchRequest()).total == 1


def test_reopening_a_parent_reopens_inheriting_children(catalog: Catalog) -> None:
    ids = _tree(catalog)
    catalog.records.set_access(SYSTEM, ids["col"], AccessUpdate(record="restricted"))
    assert catalog.records.search(ANONYMOUS, SearchRequest()).total == 0
    catalog.records.set_access(SYSTEM, ids["col"], AccessUpdate(record="public"))
    assert catalog.records.search(ANONYMOUS, SearchRequest()).total == 3


def test_embargo_needs_a_date_and_shows_in_the_access_facet(catalog: Catalog) -> None:
    ids = _tree(catalog)
    with pytest.raises(ValidationError, match="embargo_until"):
        catalog.records.set_access(SYSTEM, ids["col"], AccessUpdate(files="embargoed"))
    catalog.records.update(
        CURATOR,
        ids["col"],
        RecordUpdate.model_validate(
            {"access": {"files": "embargoed", "embargo_until": "2099-01-01"}}
        ),
    )
    acq = catalog.records.get(ANONYMOUS, ids["acq"])
    assert acq.access.files == "embargoed"
    assert str(acq.access.embargo_until) == "2099-01-01"
    facets = catalog.records.search(ANONYMOUS, SearchRequest()).facets["access"]
    assert {f.value: f.count for f in facets} == {"embargoed": 3}


def test_update_of_published_version_creates_a_new_version(catalog: Catalog) -> None:
    ids = _tree(catalog)
    with catalog.uow() as uow:
        uow.records.mark_published(ids["col"], 1)
        uow.commit()
    updated = catalog.records.update(CURATOR, ids["col"], RecordUpdate(title="Rat study v2"))
    assert updated.version == 2
    assert updated.published_versions == [1]
    again = catalog.records.update(CURATOR, ids["col"], RecordUpdate(description="more"))
    assert again.version == 2  # the draft version can change in place


def test_search_validates_user_input(catalog: Catalog) -> None:
    _tree(catalog)
    with pytest.raises(QuerySyntaxError, match="cannot filter on 'colour'"):
        catalog.records.search(ANONYMOUS, SearchRequest(filters={"colour": ["red"]}))
    with pytest.raises(QuerySyntaxError, match="unknown level 'planet'"):
        catalog.records.search(ANONYMOUS, SearchRequest(level="planet"))
    with pytest.raises(QuerySyntaxError, match="limit is"):
        catalog.records.search(ANONYMOUS, SearchRequest(text="x" * 10_000))
    with pytest.raises(QuerySyntaxError, match="size"):
        catalog.records.search(ANONYMOUS, SearchRequest(size=1000))


def test_filters_and_level(catalog: Catalog) -> None:
    ids = _tree(catalog)
    page = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"field_strength": ["9.4"]}, level="acquisition")
    )
    assert [h.id for h in page.hits] == [ids["acq"]]
    assert page.hits[0].field_strength_t == 9.4
    # containers match what their descendants hold (roll-ups)
    rolled = catalog.records.search(ANONYMOUS, SearchRequest(filters={"field_strength": ["9.4"]}))
    assert {h.id for h in rolled.hits} == set(ids.values())
    collection = next(h for h in rolled.hits if h.id == ids["col"])
    assert collection.rollup is not None and collection.rollup.field_strengths_t == [9.4]
    page = catalog.records.search(ANONYMOUS, SearchRequest(level="subject"))
    assert [h.id for h in page.hits] == [ids["sub"]]
    # the licence is inherited from the collection for filtering
    lic = catalog.records.search(ANONYMOUS, SearchRequest(filters={"license": ["CC-BY-4.0"]}))
    assert lic.total == 3


def test_withdraw_keeps_a_tombstone(catalog: Catalog) -> None:
    ids = _tree(catalog)
    gone = catalog.records.withdraw(CURATOR, ids["acq"])
    assert gone.status == "withdrawn" and gone.withdrawn_at is not None
    assert catalog.records.get(ANONYMOUS, ids["acq"]).status == "withdrawn"
    assert ids["acq"] not in {h.id for h in catalog.records.search(ANONYMOUS, SearchRequest()).hits}


def test_duplicate_id_and_unknown_parent_are_refused(catalog: Catalog) -> None:
    catalog.records.create(SYSTEM, RecordCreate(id="fixed-id", level="collection", title="a"))
    with pytest.raises(ValidationError, match="exists"):
        catalog.records.create(SYSTEM, RecordCreate(id="fixed-id", level="collection", title="b"))
    with pytest.raises(ValidationError, match="parent record 'nope'"):
        catalog.records.create(SYSTEM, RecordCreate(level="subject", title="s", parent_id="nope"))


def test_children_page_respects_visibility(catalog: Catalog) -> None:
    ids = _tree(catalog)
    extra = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level="subject",
            title="sub-02",
            parent_id=ids["col"],
            access=Access(record="restricted"),
        ),
    )
    anon = catalog.records.children(ANONYMOUS, ids["col"])
    assert [h.id for h in anon.hits] == [ids["sub"]]
    assert {h.id for h in catalog.records.children(CURATOR, ids["col"]).hits} == {
        ids["sub"],
        extra.id,
    }


def test_tokens_authenticate_with_role_and_can_be_revoked(catalog: Catalog) -> None:
    token = catalog.tokens.create(SYSTEM, "alice", "curator")
    identity = catalog.tokens.authenticate(token)
    assert identity == Identity(user="alice", role=Role.curator)
    with pytest.raises(PermissionDeniedError, match="admin"):
        catalog.tokens.create(identity, "bob", "admin")
    with pytest.raises(ValidationError, match="unknown role"):
        catalog.tokens.create(SYSTEM, "bob", "king")
    token_id = token.split("_")[1]
    assert catalog.tokens.revoke(SYSTEM, token_id)
    with pytest.raises(AuthenticationError, match="unknown or revoked"):
        catalog.tokens.authenticate(token)
    with catalog.uow() as uow:  # only the hash is stored
        assert all(token not in str(t) for t in uow.tokens.list())


def test_licence_is_inherited_from_the_collection(catalog: Catalog) -> None:
    ids = _tree(catalog)
    acq = catalog.records.get(ANONYMOUS, ids["acq"])
    assert (acq.license, acq.license_inherited) == ("CC-BY-4.0", True)
    col = catalog.records.get(ANONYMOUS, ids["col"])
    assert (col.license, col.license_inherited) == ("CC-BY-4.0", False)


def test_rollups_are_computed_at_write_time_and_shown(catalog: Catalog) -> None:
    ids = _tree(catalog)
    col = catalog.records.get(ANONYMOUS, ids["col"])
    assert col.rollup is not None
    assert (col.rollup.subjects, col.rollup.acquisitions) == (1, 1)
    assert col.rollup.modalities == ["MR"] and col.rollup.manufacturers == ["Bruker"]
    assert catalog.records.get(ANONYMOUS, ids["acq"]).rollup is None  # leaves have none
    catalog.records.create(
        SYSTEM,
        RecordCreate(
            level="acquisition",
            title="PET",
            parent_id=ids["sub"],
            imaging=Imaging(modality="PT"),
        ),
    )
    col = catalog.records.get(ANONYMOUS, ids["col"])
    assert col.rollup.modalities == ["MR", "PT"] and col.rollup.acquisitions == 2
    catalog.records.set_access(CURATOR, ids["sub"], AccessUpdate(record="restricted"))
    hidden = catalog.records.get(ANONYMOUS, ids["col"])
    assert hidden.rollup.subjects == 0 and hidden.rollup.modalities == []  # nothing leaks
    rebuilt = catalog.index_sync.rebuild()
    assert rebuilt >= 4
    assert catalog.records.get(ANONYMOUS, ids["col"]).rollup == hidden.rollup


def test_rebuild_gives_the_rollups_the_writes_gave(catalog: Catalog) -> None:
    ids = _tree(catalog)
    catalog.records.set_access(CURATOR, ids["sub"], AccessUpdate(record="restricted"))
    before = {key: catalog.records.get(CURATOR, rid).rollup for key, rid in ids.items()}
    assert before["sub"] is not None and before["sub"].acquisitions == 1  # its own roll-up
    catalog.index_sync.rebuild()
    after = {key: catalog.records.get(CURATOR, rid).rollup for key, rid in ids.items()}
    assert after == before
    hits = catalog.records.search(CURATOR, SearchRequest(text="Bruker", level="subject")).hits
    assert [h.id for h in hits] == [ids["sub"]]  # re-indexed with its roll-up

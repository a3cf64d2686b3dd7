"""A person's name can never stand for someone else: no name is an email address or
anyone's email, an exact name wins over an email, and changes act on the person's id.
On both state backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.store.state import SqlStateStore
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.tenancy import TenancyStore
from services.store.state.tenancy_tables import users


@pytest.fixture
def tenancy(state_store: SqlStateStore) -> TenancyStore:
    store = TenancyStore(state_store.database)
    store.create_workspace("acme", "Acme")
    store.create_workspace("globex", "Globex")
    store.add_user("Bob", email="bob@globex.example.org")
    store.grant("Bob", "globex", "analyst")
    return store


def _legacy_user(store: TenancyStore, name: str) -> str:
    """A row written before names were checked (add_user refuses it now)."""
    user_id = uuid.uuid4().hex
    with store.database.engine.begin() as conn:
        conn.execute(sa.insert(users).values(id=user_id, name=name, created_at=datetime.now(UTC)))
    return user_id


def test_a_name_may_not_be_an_email_nor_anyones_email(tenancy: TenancyStore) -> None:
    with pytest.raises(ValueError, match="may not be an email"):
        tenancy.add_user("bob@globex.example.org")
    with pytest.raises(ValueError, match="may not be an email"):
        tenancy.add_user("someone@else.example.org")
    with pytest.raises(ConflictError):
        tenancy.add_user("Bob")
    with pytest.raises(ConflictError):  # an email already held, in other letters
        tenancy.add_user("Robert", email="BOB@globex.example.org")
    assert [u.name for u in tenancy.list_users()] == ["Bob"]
    # A legacy name that is an email is taken as an email too.
    _legacy_user(tenancy, "carol@acme.example.org")
    with pytest.raises(ConflictError):
        tenancy.add_user("Carol", email="Carol@acme.example.org")
    tenancy.add_user("Carol", email="carol@other.example.org")


def test_an_exact_name_wins_over_an_email_and_changes_act_on_the_id(
    tenancy: TenancyStore,
) -> None:
    # "Bob" sorts first: a lookup that took the first name-or-email match found him.
    alias_id = _legacy_user(tenancy, "bob@globex.example.org")
    bob = tenancy.get_user("Bob")
    assert tenancy.get_user("bob@globex.example.org").id == alias_id
    assert tenancy.get_user("BOB@globex.example.org").id == bob.id  # not a name: the email
    with pytest.raises(NotFoundError):
        tenancy.get_user("bob@globex.example.org", workspace="acme")
    tenancy.grant_id(alias_id, "acme", "admin")
    assert tenancy.get_user("bob@globex.example.org", workspace="acme").id == alias_id
    key = tenancy.create_key(name="k", workspace="acme", user_id=alias_id)
    found = tenancy.find_key(key)
    assert found is not None and found.user == "bob@globex.example.org"
    assert tenancy.get_user_by_id(bob.id).roles == {"globex": "analyst"}
    with pytest.raises(ValueError, match="no role in workspace 'acme'"):
        tenancy.create_key(name="k2", workspace="acme", user_id=bob.id)
    tenancy.revoke_id(alias_id, "acme")
    with pytest.raises(NotFoundError):
        tenancy.revoke_id(alias_id, "acme")
    assert tenancy.get_user_by_id(alias_id).roles == {}
    assert tenancy.get_user("Bob").roles == {"globex": "analyst"}
    with pytest.raises(NotFoundError):
        tenancy.get_user_by_id("nope")

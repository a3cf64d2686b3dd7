"""A person's name can never stand for someone else: no name is an email address or
anyone's email, an exact name wins over an email, and changes act on the person's id.
On both state backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from services.store.state import SqlStateStore
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.migrate import alembic_config
from services.store.state.tenancy import NameTaken, TenancyStore
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


def test_names_are_unique_whatever_their_case(tenancy: TenancyStore) -> None:
    for taken in (" Bob ", "BOB", "bob"):
        with pytest.raises(NameTaken, match=r"a person named .* already exists") as refused:
            tenancy.add_user(taken)
        assert refused.value.holder.name == "Bob"
    assert str(refused.value) == (
        "a person named 'bob' already exists as 'Bob' (names must differ by more than case)"
    )
    with pytest.raises(NameTaken, match=r"the email 'bob@globex\.example\.org' is already"):
        tenancy.add_user("Robert", email="Bob@Globex.example.org")
    assert [u.name for u in tenancy.list_users()] == ["Bob"]
    # The database itself refuses a second key (two processes adding at once).
    with pytest.raises(sa.exc.IntegrityError), tenancy.database.engine.begin() as conn:
        conn.execute(
            sa.insert(users).values(
                id=uuid.uuid4().hex, name="bOb", name_key="bob", created_at=datetime.now(UTC)
            )
        )
    tenancy.add_user("Bobby")  # more than case: another person


def test_0018_keeps_older_case_twins_working_and_refuses_new_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/veille.db")
    try:
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0017")
        with engine.begin() as conn:
            for user_id, name, at in (
                ("a1", "Quentin", "2026-01-01"),
                ("a2", "quentin", "2026-02-01"),
            ):
                conn.execute(
                    sa.text("INSERT INTO users (id, name, created_at) VALUES (:i, :n, :at)"),
                    {"i": user_id, "n": name, "at": f"{at} 00:00:00.000000"},
                )
        with caplog.at_level("WARNING", logger="veille.store.state"), engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        assert "1 person(s) have the name of an older one" in caplog.text
        assert "uentin" not in caplog.text  # nobody named
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, name_key FROM users")).all()
        keys: dict[str, str | None] = {str(name): key for name, key in rows}
        assert keys == {"Quentin": "quentin", "quentin": None}
    finally:
        engine.dispose()
    store = TenancyStore(f"sqlite:///{tmp_path}/veille.db")
    try:
        assert store.get_user("quentin").id == "a2" and store.get_user("Quentin").id == "a1"
        with pytest.raises(NameTaken):
            store.add_user("QUENTIN")
    finally:
        store.close()

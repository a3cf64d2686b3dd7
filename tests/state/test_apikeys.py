"""API keys: shown once, stored hashed, verified in constant time, revocable."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from services.store.state import apikeys
from services.store.state.contract import NotFoundError
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


def test_a_new_key_verifies(state_store: SqlStateStore, clock: FakeClock) -> None:
    key = state_store.create_api_key("grafana")
    prefix, key_id, _secret = key.split("_", 2)
    assert prefix == "vk"
    info = state_store.verify_api_key(key)
    assert info is not None
    assert (info.key_id, info.name, info.revoked) == (key_id, "grafana", False)
    assert info.created_at == clock.now
    assert info.last_used_at == clock.now


def test_only_the_hash_of_the_secret_is_stored(
    state_store: SqlStateStore, raw_engine: sa.Engine
) -> None:
    key = state_store.create_api_key("ci")
    secret = key.split("_", 2)[2]
    with raw_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM api_keys")).mappings().one()
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(value) for value in row.values()}


def test_wrong_or_malformed_keys_fail(state_store: SqlStateStore) -> None:
    key = state_store.create_api_key("ci")
    _, key_id, secret = key.split("_", 2)
    other_id = "0" * 16 if key_id != "0" * 16 else "1" * 16
    for attempt in [
        "",
        "vk",
        key[:-1],
        key + "x",
        f"vk_{key_id}_",
        f"vk_{other_id}_{secret}",
        f"xx_{key_id}_{secret}",
        f"vk_{key_id.upper()}_{secret}",
    ]:
        assert state_store.verify_api_key(attempt) is None, attempt


def test_a_revoked_key_fails(state_store: SqlStateStore, clock: FakeClock) -> None:
    key = state_store.create_api_key("old")
    clock.advance(1)
    kept = state_store.create_api_key("kept")
    info = state_store.verify_api_key(key)
    assert info is not None
    state_store.revoke_api_key(info.key_id)
    state_store.revoke_api_key(info.key_id)  # twice is fine
    assert state_store.verify_api_key(key) is None
    assert state_store.verify_api_key(kept) is not None
    assert [(k.name, k.revoked) for k in state_store.list_api_keys()] == [
        ("old", True),
        ("kept", False),
    ]


def test_revoking_an_unknown_key_raises(state_store: SqlStateStore) -> None:
    try:
        state_store.revoke_api_key("0123456789abcdef")
    except NotFoundError as error:
        assert "0123456789abcdef" in str(error)
    else:
        raise AssertionError("expected NotFoundError")


def test_last_used_is_written_at_most_once_a_minute(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    key = state_store.create_api_key("dashboard")
    first = clock.now
    state_store.verify_api_key(key)
    clock.advance(30)
    state_store.verify_api_key(key)
    [listed] = state_store.list_api_keys()
    assert listed.last_used_at == first
    clock.advance(31)
    info = state_store.verify_api_key(key)
    assert info is not None and info.last_used_at == clock.now
    [listed] = state_store.list_api_keys()
    assert listed.last_used_at == clock.now


def test_key_names_are_checked(state_store: SqlStateStore) -> None:
    for name in ("", "   ", "x" * 201):
        try:
            state_store.create_api_key(name)
        except ValueError:
            continue
        raise AssertionError(f"accepted {name!r}")
    assert state_store.list_api_keys() == []


def test_generated_keys_parse_back() -> None:
    for _ in range(200):  # secrets often contain '_' and '-'
        new = apikeys.generate_key()
        parsed = apikeys.parse_key(new.key)
        assert parsed is not None
        assert parsed[0] == new.key_id
        assert apikeys.secret_matches(parsed[1], new.secret_sha256)


@given(st.text())
def test_parse_key_never_crashes(text: str) -> None:
    parsed = apikeys.parse_key(text)
    assert parsed is None or (len(parsed[0]) == 16 and parsed[1])

"""API keys: `vk_<key_id>_<secret>`, of which only a SHA-256 of the secret is stored.

The key id (16 hex characters, no `_`) finds the row; the secret proves possession.
A plain, fast SHA-256 is the right hash here, unlike for passwords: the secret is 32
random bytes from `secrets.token_urlsafe`, so there is nothing to brute-force or to
look up in a dictionary, and a slow hash (bcrypt, scrypt) would only cost CPU on
every API request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from services.store.state import tables
from services.store.state.contract import ApiKeyInfo, NotFoundError

PREFIX = "vk"
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is written at most this often


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret_sha256: str
    key: str  # shown to the user once, never stored


def generate_key() -> NewKey:
    """Makes a new random key and the hash to store for it."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(
        key_id=key_id, secret_sha256=hash_secret(secret), key=f"{PREFIX}_{key_id}_{secret}"
    )


def hash_secret(secret: str) -> str:
    """Returns the hex SHA-256 of a key's secret part."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    """Splits a key into (key_id, secret); None when it is not shaped like one."""
    # The secret is URL-safe base64 and may itself contain `_`: split twice only.
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    if len(key_id) != 16 or not all(c in "0123456789abcdef" for c in key_id) or not secret:
        return None
    return key_id, secret


def secret_matches(secret: str, secret_sha256: str) -> bool:
    """Compares a presented secret with a stored hash in constant time."""
    return hmac.compare_digest(hash_secret(secret), secret_sha256)


def insert(conn: Connection, *, name: str, now: datetime) -> str:
    """Stores a new key for `name` and returns it in clear (the only time it is seen)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValueError("an API key name must have 1 to 200 characters")
    new = generate_key()
    k = tables.api_keys
    conn.execute(
        sa.insert(k).values(
            key_id=new.key_id,
            name=name,
            secret_sha256=new.secret_sha256,
            created_at=now,
            last_used_at=None,
            revoked=False,
        )
    )
    return new.key


def find(conn: Connection, key_id: str) -> Row[Any] | None:
    """The row of a key id, None when unknown."""
    k = tables.api_keys
    return conn.execute(sa.select(k).where(k.c.key_id == key_id)).first()


def touch(conn: Connection, key_id: str, *, now: datetime) -> None:
    """Sets last_used_at, unless it was set less than TOUCH_INTERVAL ago.

    Skipping the write on most requests keeps verification a read, so a busy API
    does not turn every request into a write transaction.
    """
    k = tables.api_keys
    conn.execute(
        sa.update(k)
        .where(
            k.c.key_id == key_id,
            sa.or_(k.c.last_used_at.is_(None), k.c.last_used_at <= now - TOUCH_INTERVAL),
        )
        .values(last_used_at=now)
    )


def list_all(conn: Connection) -> list[ApiKeyInfo]:
    """Every key, revoked ones included, oldest first."""
    k = tables.api_keys
    rows = conn.execute(sa.select(k).order_by(k.c.created_at, k.c.key_id))
    return [info(row) for row in rows]


def revoke(conn: Connection, key_id: str) -> None:
    """Revokes a key for good; NotFoundError when unknown."""
    k = tables.api_keys
    if conn.execute(sa.update(k).where(k.c.key_id == key_id).values(revoked=True)).rowcount == 0:
        raise NotFoundError(f"no API key with id {key_id!r}")


def info(row: Row[Any]) -> ApiKeyInfo:
    """The public description of a stored key (never its hash)."""
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked=bool(row.revoked),
    )

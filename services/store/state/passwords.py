"""Password hashing for dashboard sign-in, with argon2-cffi (Argon2id, its defaults).

A password, unlike an API key's 32 random bytes, can be guessed: it needs a slow,
salted, memory-hard hash. argon2-cffi is the reference binding, well kept, and
encodes its parameters in the hash so they can be raised later (`needs_rehash`).
"""

from __future__ import annotations

import contextlib
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_hasher = PasswordHasher()


def check_password_rules(password: str) -> None:
    """ValueError unless the password is 10 to 1024 characters."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The Argon2id hash to store for a password."""
    check_password_rules(password)
    return _hasher.hash(password)


@functools.cache
def _decoy() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(password: str, stored: str | None) -> bool:
    """Whether `password` matches the stored hash (False when there is none).

    With no hash (an unknown user, or one without a password) it still verifies
    against a decoy, so the answer takes as long and tells nobody which names exist."""
    if len(password) > MAX_LENGTH:
        return False
    if not stored:
        with contextlib.suppress(VerifyMismatchError):
            _hasher.verify(_decoy(), password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False

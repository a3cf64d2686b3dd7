"""Dashboard passwords: Argon2id hashes, salted, checked whatever the input."""

from __future__ import annotations

import pytest

from services.store.state.passwords import hash_password, password_matches


def test_a_password_is_stored_as_a_salted_argon2id_hash() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and "correct horse" not in first
    assert first != second  # salted
    assert password_matches("correct horse battery", first)
    assert not password_matches("correct horse batterY", first)


@pytest.mark.parametrize("stored", [None, "", "not a hash"])
def test_no_hash_or_a_broken_one_never_matches(stored: str | None) -> None:
    assert not password_matches("correct horse battery", stored)


def test_short_and_huge_passwords_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="10 to 1024"):
        hash_password("short")
    assert not password_matches("x" * 5000, hash_password("correct horse battery"))

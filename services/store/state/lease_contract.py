"""What a lease holder needs of the state store (`leases.LeaseStore` implements it).

Collectors share the sources by leases (`services.collector.partition`); they depend on
this protocol, not on the SQL implementation.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


def new_owner_id() -> str:
    """An id naming this process in the leases: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases(Protocol):
    """Named leases with an owner and a time to live, in seconds."""

    def now(self) -> datetime:
        """The current time, as the leases see it."""
        ...

    def acquire(
        self, names: Sequence[str], *, owner: str, ttl: float, limit: int | None = None
    ) -> list[str]:
        """Takes the free or expired leases among `names` (at most `limit`); the ones taken."""
        ...

    def renew(self, *, owner: str, ttl: float, prefix: str) -> list[str]:
        """Extends the owner's leases under `prefix`; the names still held."""
        ...

    def release(self, *, owner: str, names: Sequence[str] | None = None) -> None:
        """Gives up the owner's leases (all of them when `names` is None)."""
        ...

    def purge(self, *, older_than: float) -> int:
        """Deletes leases expired for more than `older_than` seconds; how many."""
        ...

    def live(self, *, prefix: str) -> dict[str, str]:
        """Unexpired leases under `prefix`: name -> owner."""
        ...

"""Everything Veille remembers besides the mentions; see `contract.py`.

Open it with `open_state(settings.store.state_url)`: a sqlite:/// or a
postgresql+psycopg:// URL, its schema upgraded on the way.
"""

from __future__ import annotations

from services.store.state.database import StateDatabase
from services.store.state.engine import StateStoreError
from services.store.state.sql import SqlStateStore

__all__ = ["SqlStateStore", "StateDatabase", "StateStoreError", "open_state"]


def open_state(url: str | StateDatabase, *, migrate: bool = True) -> SqlStateStore:
    """Opens the state store at a sqlite:// or postgresql:// URL, upgrading its schema, or
    on a database already open (services/store/state/database.py)."""
    return SqlStateStore(url, migrate=migrate)

"""One state database, and the one engine every store on it shares.

The state store (`sql.py`), the leases (`leases.py`), governance (`governance.py`) and the
installation's register (`tenancy.py`) are tables of one database. A workspace opens it
once (`ServiceContext.database`): one engine, one connection pool, one schema check, and
hands it to each store. A store given a URL instead opens a database of its own and closes
it with itself; a store given a `StateDatabase` leaves closing it to whoever opened it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy.engine import URL, Engine

from services.core.models import utcnow
from services.store.state.engine import create_state_engine, parse_url, store_errors
from services.store.state.migrate import check_at_head, upgrade_to_head


class StateDatabase:
    """A state database opened at the current schema: migrated to it, or checked."""

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        """Opens the database at `url`, upgrading its schema with `migrate`, else checking
        it is at head; StateStoreError (naming the store) when it cannot."""
        self.url: URL = parse_url(url)
        self.engine: Engine = create_state_engine(self.url)
        try:
            with store_errors(self.url, doing="open"):
                with self.engine.connect():
                    pass
                if migrate:
                    upgrade_to_head(self.engine)
                else:
                    check_at_head(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"StateDatabase({self.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Closes every pooled connection; can be called more than once."""
        self.engine.dispose()


def open_database(
    target: str | StateDatabase, *, migrate: bool = False
) -> tuple[StateDatabase, bool]:
    """The database a store works on, and whether the store opened it (and so closes it):
    `target` itself, or the database at that URL, migrated or checked (`migrate`)."""
    if isinstance(target, StateDatabase):
        return target, False
    return StateDatabase(target, migrate=migrate), True


class DatabaseStore:
    """What every store on a state database starts from: the database, the clock, closing."""

    def __init__(
        self,
        url: str | StateDatabase,
        *,
        clock: Callable[[], datetime] = utcnow,
        migrate: bool = False,
    ) -> None:
        """Works on `url`'s database (opened here, and closed with the store: StateStoreError
        when it is not migrated, unless `migrate` upgrades it) or on a `StateDatabase`
        already open (the workspace's, which its opener closes)."""
        self.database, self._owns_database = open_database(url, migrate=migrate)
        self._url = self.database.url
        self._clock = clock
        self._engine = self.database.engine

    def close(self) -> None:
        """Closes the pooled connections of a database the store opened itself; the store
        can be closed more than once."""
        if self._owns_database:
            self.database.close()

    def _errors(self, *, doing: str = "use") -> AbstractContextManager[None]:
        return store_errors(self._url, doing=doing)

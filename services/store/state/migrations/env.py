"""Alembic environment for the state store, configured from code (no alembic.ini).

`SqlStateStore` runs the migrations itself: it passes an open connection, already
inside the transaction that holds the migration lock, in
`config.attributes["connection"]`. To write a new migration, build the same
configuration from code and let Alembic compare the database with `tables.py`:

    from alembic import command
    from services.store.state.migrate import alembic_config
    command.revision(alembic_config("sqlite:///data/veille.db"), "add x", autogenerate=True)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from services.store.state.tables import metadata

config = context.config


def run_offline() -> None:
    """Writes the migration SQL to stdout instead of running it (`--sql`)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Runs the migrations on the connection given by the store, or on a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

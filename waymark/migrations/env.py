"""Alembic environment: the database URL comes from Waymark's settings (or the caller)."""

from __future__ import annotations

from alembic import context

from waymark.db import make_engine
from waymark.models import Base
from waymark.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().waymark_database_url


def run_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate over a connection."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, target_metadata=Base.metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

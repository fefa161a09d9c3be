"""Alembic environment: migrates the engine handed over in ``config.attributes``."""

from alembic import context

from metrics.store import make_engine, metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(migrate=False)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()

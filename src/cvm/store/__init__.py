"""Operational store of the loyalty programme: SQLAlchemy 2 engine, tables, migrations."""

from cvm.store.db import Store, current_revision, downgrade, make_engine, sqlite_url, upgrade

__all__ = ["Store", "current_revision", "downgrade", "make_engine", "sqlite_url", "upgrade"]

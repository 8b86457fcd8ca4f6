"""Storage: the Parquet warehouse (`cvm.store.warehouse`), the analytics engines over it
(`cvm.store.engines`, the one module naming DuckDB or Spark), and the operational database
(`cvm.store.db`, `cvm.store.tables`: SQLAlchemy 2, migrated by Alembic).

Nothing is imported here, so reading the warehouse does not load SQLAlchemy.
"""

"""The one module that names DuckDB or PySpark.

Everything else builds Ibis expressions on the tables this module opens, so the same
analytics run on the embedded default (DuckDB) and on Spark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import ibis
import pyarrow as pa

from cvm.config import Settings
from cvm.errors import EngineUnavailableError

__all__ = ["connect", "read_parquet", "spark_session"]


def connect(settings: Settings, temp_dir: Path) -> ibis.BaseBackend:
    """Open the engine named by ``settings.engine``."""
    if settings.engine == "duckdb":
        temp_dir.mkdir(parents=True, exist_ok=True)
        con = ibis.duckdb.connect(memory_limit=settings.duckdb_memory_limit,
                                  temp_directory=str(temp_dir),
                                  autoinstall_known_extensions=False)
        con.raw_sql("SET enable_progress_bar = false")
        return con
    return ibis.pyspark.connect(spark_session(settings))


def spark_session(settings: Settings):
    """The process's Spark session, started with the workspace's Spark settings."""
    if shutil.which("java") is None:
        raise EngineUnavailableError(
            "engine = \"pyspark\" needs Java 17 on the PATH; install it, or set "
            "engine = \"duckdb\" in cvm.toml")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailableError(
            "engine = \"pyspark\" needs pyspark: pip install 'cvm[spark]', or set "
            "engine = \"duckdb\" in cvm.toml") from None
    spark = (
        SparkSession.builder.master(settings.spark.master)
        .appName("cvm")
        .config("spark.driver.memory", settings.spark.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_parquet(backend: ibis.BaseBackend, name: str, files: list[Path],
                 schema: pa.Schema) -> ibis.Table:
    """The union of a table's Parquet parts as an Ibis table (an empty one if none)."""
    if not files:
        return ibis.memtable(schema.empty_table())
    paths = [str(f) for f in files]
    if backend.name == "duckdb":
        return backend.read_parquet(paths, table_name=name, union_by_name=True)
    df = backend._session.read.option("mergeSchema", "true").parquet(*paths)
    df.createOrReplaceTempView(name)
    return backend.table(name)

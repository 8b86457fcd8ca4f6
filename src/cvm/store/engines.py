"""The one module that names DuckDB or PySpark.

Everything else builds Ibis expressions on the tables this module opens, so the same
analytics run on the embedded default (DuckDB) and on Spark.
"""

from __future__ import annotations

import functools
import inspect
import logging
import shutil
import threading
from pathlib import Path

import ibis
import pyarrow as pa

from cvm.config import Settings
from cvm.errors import EngineUnavailableError

__all__ = ["connect", "read_parquet", "spark_session"]

#: Long steps report here what they are doing (the CLI shows it as a spinner on stderr).
progress = logging.getLogger("cvm.progress")


def _serialised(backend_cls: type) -> type:
    """A subclass of an Ibis backend whose every method holds one re-entrant lock per
    backend while it runs.

    A DuckDB connection runs one query at a time: two threads querying through it at once
    (two page views in the server's thread pool) make DuckDB fail with "Attempting to
    execute an unsuccessful or closed pending query result". DuckDB uses every core for
    one query anyway, so queries wait for one another rather than share the connection.
    An Ibis memtable's clean-up (run by the garbage collector, in any thread) does not
    wait for the lock, which could deadlock: it is put off to the next locked call when
    the lock is taken."""
    def locked(fn):
        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            with self._cvm_lock:
                pending, self._cvm_pending[:] = list(self._cvm_pending), []
                for later in pending:
                    later()
                return fn(self, *args, **kwargs)
        return run

    def finalizer(fn):
        @functools.wraps(fn)
        def make(self, *args, **kwargs):
            drop = fn(self, *args, **kwargs)

            def when_free(*a, **k):
                if self._cvm_lock.acquire(blocking=False):
                    try:
                        drop(*a, **k)
                    finally:
                        self._cvm_lock.release()
                else:
                    self._cvm_pending.append(lambda: drop(*a, **k))
            return when_free
        return make

    ns: dict = {}
    for klass in reversed(backend_cls.__mro__):  # the most derived definition wins
        if not klass.__module__.startswith("ibis."):
            continue
        for name, fn in vars(klass).items():
            if inspect.isfunction(fn) and not name.startswith("__"):
                ns[name] = finalizer(fn) if name == "_make_memtable_finalizer" else locked(fn)

    def __init__(self, *args, **kwargs):
        self._cvm_lock = threading.RLock()
        self._cvm_pending = []
        backend_cls.__init__(self, *args, **kwargs)

    ns["__init__"] = __init__
    return type(f"Serialised{backend_cls.__name__}", (backend_cls,), ns)


@functools.cache
def _duckdb_backend() -> type:
    from ibis.backends.duckdb import Backend

    return _serialised(Backend)


def connect(settings: Settings, temp_dir: Path) -> ibis.BaseBackend:
    """Open the engine named by ``settings.engine`` (DuckDB: one query at a time, whichever
    thread asks: `_serialised`)."""
    if settings.engine == "duckdb":
        temp_dir.mkdir(parents=True, exist_ok=True)
        con = _duckdb_backend()().connect(memory_limit=settings.duckdb_memory_limit,
                                          temp_directory=str(temp_dir),
                                          autoinstall_known_extensions=False)
        con.raw_sql("SET enable_progress_bar = false")
        return con
    return ibis.pyspark.connect(spark_session(settings, temp_dir / "spark.log"))


def spark_session(settings: Settings, log_file: Path | None = None):
    """The process's Spark session, started with the workspace's Spark settings.

    Started here, Spark's JVM writes what it prints (log4j's warnings, the JVM's own
    warnings, the progress bar) to ``log_file`` instead of the console, replaced at each
    start; a session the process already has is reused as it is. Its log level is ERROR
    and its console progress bar off either way.
    """
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
    from pyspark import SparkConf, SparkContext

    master = settings.spark.master
    conf = SparkConf().setMaster(master).setAppName("cvm").setAll([
        ("spark.driver.memory", settings.spark.driver_memory),
        ("spark.sql.shuffle.partitions", str(settings.spark.shuffle_partitions)),
        ("spark.sql.session.timeZone", "UTC"),
        ("spark.ui.enabled", "false"),
        ("spark.ui.showConsoleProgress", "false"),
        ("spark.sql.ansi.enabled", "false"),
    ])
    # pyspark has no public test for a running JVM or context: its class attributes say
    if getattr(SparkContext, "_active_spark_context", None) is None:
        progress.info("starting Spark (%s)", master)
        gateway = None
        if log_file is not None and getattr(SparkContext, "_gateway", None) is None:
            gateway = _launch_jvm(conf, log_file)
        SparkContext(conf=conf, gateway=gateway)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    progress.info("running on Spark (%s)", master)
    return spark


def _launch_jvm(conf, log_file: Path):
    """Start Spark's JVM (pyspark's gateway) with its stdout and stderr in ``log_file``:
    the JVM warns of incubator modules and log4j prints before any setting can stop it."""
    from pyspark.java_gateway import launch_gateway

    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_file, "wb") as out:  # the JVM keeps its own copy of the descriptor
            return launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
    except Exception as exc:  # pyspark raises a bare RuntimeError-like error: say why
        tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise EngineUnavailableError(
            f"Spark did not start ({exc}); its last messages, from {log_file}:\n"
            + "\n".join(tail[-10:])) from exc


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

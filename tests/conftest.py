"""Shared fixtures: reference data, workspaces, and the engine parametrisation."""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from pathlib import Path

import pytest

from cvm import Workspace

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """The reference data sets: ``<repo>/../shared/data``, else /work/shared/data."""
    for candidate in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    pytest.skip("the shared reference data (../shared/data beside the repo) is not present")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """`shared_data` as a fixture."""
    return shared_data()


def spark_unavailable() -> str | None:
    """Why local Spark cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "Java is not on the PATH (local Spark needs Java 17)"
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'cvm[spark]')"
    return None


ENGINES = [
    "duckdb",
    pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.skipif(
        spark_unavailable() is not None, reason=str(spark_unavailable()))]),
]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """Runs a test once per analytics engine."""
    return request.param


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """A new, empty workspace (DuckDB)."""
    return Workspace.init(tmp_path / "ws")


def cdnow_sample_workspace(tmp: Path) -> Workspace:
    """CDNOW_sample.txt (whitespace separated) written as CSV and imported the normal way."""
    import pandas as pd

    raw = pd.read_csv(shared_data() / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "sample_id", "date", "cds", "dollars"], dtype=str)
    raw.to_csv(tmp / "cdnow.csv", index=False)
    ws = Workspace.init(tmp / "ws")
    ws.import_file("transactions", tmp / "cdnow.csv", {
        "customer_id": "sample_id", "timestamp": "date", "amount": "dollars",
        "quantity": "cds"})
    return ws


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def warehouse_state(ws: Workspace) -> tuple[str, list[str]]:
    """The manifest text and every stored file: equal before and after means unchanged."""
    manifest = (ws.warehouse.dir / "_manifest.json").read_text()
    files = sorted(str(p.relative_to(ws.warehouse.dir)) for p in ws.warehouse.dir.rglob("*")
                   if p.is_file())
    return manifest, files


# ---- programme databases: SQLite and PostgreSQL ----------------------------------------

PG_URL = os.environ.get("CVM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SESSION = uuid.uuid4().hex[:8]


def _pg_problem() -> str | None:
    try:
        import psycopg

        conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means: skip the PostgreSQL runs
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"


_PG_PROBLEM = _pg_problem()


class PgSchemas:
    """Makes uniquely named schemas for this test session and drops them all at the end."""

    def __init__(self):
        import sqlalchemy as sa

        self.engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def new(self) -> str:
        name = f"cvm_test_{SESSION}_{len(self.made)}"
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        return f"{PG_URL}?options=-csearch_path%3D{name}"

    def drop(self, url: str) -> None:
        name = url.rsplit("%3D", 1)[-1]
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def close(self) -> None:
        with self.engine.connect() as conn:
            for name in self.made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_schemas():
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    schemas = PgSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database URL on each dialect (a fresh file or schema per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'programme.db'}"
    else:
        schemas = request.getfixturevalue("pg_schemas")
        url = schemas.new()
        yield url
        schemas.drop(url)


def make_programme(url: str, **settings):
    from cvm.config import ProgrammeSettings
    from cvm.programme import Programme

    prog = Programme.from_url(url, ProgrammeSettings(**settings))
    prog.init()
    return prog


@pytest.fixture
def make(db_url):
    """Make a migrated programme on this test's database with some settings changed."""
    made = []

    def factory(**settings):
        made.append(make_programme(db_url, **settings))
        return made[-1]

    yield factory
    for prog in made:
        prog.close()


@pytest.fixture
def programme(db_url):
    """A migrated programme with the base rule "10 points per 100 spent"."""
    prog = make_programme(db_url)
    prog.add_rule("base", points_per_step=10, step=100)
    yield prog
    prog.close()


@pytest.fixture
def clawback_programme(make):
    """Like `programme`, with the clawback refund policy."""
    prog = make(refund_shortfall="clawback")
    prog.add_rule("base", points_per_step=10, step=100)
    return prog

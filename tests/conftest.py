"""Shared fixtures: reference data, workspaces, and the engine parametrisation."""

from __future__ import annotations

import importlib.util
import shutil
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


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def warehouse_state(ws: Workspace) -> tuple[str, list[str]]:
    """The manifest text and every stored file: equal before and after means unchanged."""
    manifest = (ws.warehouse_dir / "_manifest.json").read_text()
    files = sorted(str(p.relative_to(ws.warehouse_dir)) for p in ws.warehouse_dir.rglob("*")
                   if p.is_file())
    return manifest, files

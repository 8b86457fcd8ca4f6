"""Issue 15, item 8: a long command says on stderr what it is doing (a spinner, on a terminal
only), and Spark's JVM keeps its log lines, warnings and progress bar out of the console."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import cdnow_sample_workspace, spark_unavailable
from cvm.cli import app

runner = CliRunner()
#: Rich takes stderr for a terminal (https://rich.readthedocs.io: TTY_COMPATIBLE)
TERMINAL = {"TTY_COMPATIBLE": "1", "COLUMNS": "200"}
STEP = "scoring every customer's lifetime value (bgnbd and Gamma-Gamma)"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    """The CDNOW sample (2,357 customers) in a workspace, and its scores printed as CSV on
    DuckDB without a terminal."""
    ws = cdnow_sample_workspace(tmp_path_factory.mktemp("progress"))
    result = runner.invoke(app, ["clv", "score", "-w", str(ws.path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return ws, result


def _scores(csv: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv), dtype={"customer_id": str}).sort_values(
        "customer_id").reset_index(drop=True)


def test_no_terminal_no_spinner(cdnow):
    _ws, plain = cdnow
    assert plain.stderr == ""


def test_a_long_step_shows_on_a_terminal_and_never_in_the_output(cdnow):
    ws, plain = cdnow
    result = runner.invoke(app, ["clv", "score", "-w", str(ws.path), "--format", "csv"],
                           env=TERMINAL)
    assert result.exit_code == 0, result.output
    assert f"{STEP} ..." in result.stderr
    assert "\x1b" not in result.stdout and "lifetime value" not in result.stdout
    pd.testing.assert_frame_equal(_scores(result.stdout), _scores(plain.stdout), rtol=1e-9)


def _on_spark(ws, **spark) -> None:
    settings = ws.settings.updated(engine="pyspark", **{f"spark.{k}": v
                                                         for k, v in spark.items()})
    (ws.path / "cvm.toml").write_text(settings.to_toml(), encoding="utf-8")


def _cvm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cvm", *args], capture_output=True,
                          text=True, env=os.environ | (env or {}))


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(spark_unavailable() is not None, reason=str(spark_unavailable()))
def test_spark_says_it_is_starting_and_keeps_its_log_off_the_console(cdnow, tmp_path):
    import shutil

    ws, plain = cdnow
    folder = shutil.copytree(ws.path, tmp_path / "spark")
    from cvm import Workspace

    _on_spark(Workspace.open(folder))
    proc = _cvm("clv", "score", "-w", str(folder), "--format", "csv", env=TERMINAL)
    assert proc.returncode == 0, proc.stderr
    assert "starting Spark (local[2])" in proc.stderr  # the spinner, on stderr
    assert f"{STEP} - running on Spark (local[2]) ..." in proc.stderr
    for noise in ("WARN", "log4j", "[Stage", "NativeCodeLoader", "Setting default log level",
                  "Traceback"):
        assert noise not in proc.stderr
    # the same scores as on DuckDB
    pd.testing.assert_frame_equal(_scores(proc.stdout), _scores(plain.stdout), rtol=1e-9)
    # what Spark's JVM printed is kept in the workspace's scratch folder
    assert "log4j" in (folder / ".cvm" / "tmp" / "spark.log").read_text()


@pytest.mark.spark
@pytest.mark.skipif(spark_unavailable() is not None, reason=str(spark_unavailable()))
def test_a_spark_that_cannot_start_says_why(cdnow, tmp_path):
    import shutil

    from cvm import Workspace

    folder = shutil.copytree(cdnow[0].path, tmp_path / "bad")
    _on_spark(Workspace.open(folder), driver_memory="lots")
    proc = _cvm("value", "tiers", "-w", str(folder))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: Spark did not start")
    assert "Invalid maximum heap size: -Xmxlots" in proc.stderr  # the JVM's own words
    assert f"{folder / '.cvm' / 'tmp' / 'spark.log'}" in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr

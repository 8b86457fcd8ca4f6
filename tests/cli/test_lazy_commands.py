"""The root command loads each command's module only when that command is looked up."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cvm.cli import _COMMANDS, app

HEAVY = ("pandas", "sqlalchemy", "scipy", "statsmodels", "ibis", "duckdb", "sklearn",
         "fastapi", "plotly")


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\n"
         f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"],
        capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_importing_the_cli_loads_no_heavy_library():
    assert _loaded_after("import cvm.cli") == []


def test_a_command_loads_only_its_own_libraries():
    # `cvm --version` and the service commands' module need none of them to start
    assert _loaded_after("import cvm.cli.service") == []
    loaded = _loaded_after(
        "from typer.testing import CliRunner\nfrom cvm.cli import app\n"
        "assert CliRunner().invoke(app, ['--version']).exit_code == 0")
    assert loaded == []


def test_help_lists_every_command_and_each_runs_its_help():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in _COMMANDS:
        assert f" {name} " in result.output, name
        sub = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert sub.exit_code == 0, (name, sub.output)
        assert "Usage: cvm " + name in " ".join(sub.output.split()), name


def test_unknown_command_is_refused():
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output

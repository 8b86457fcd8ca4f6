"""Every shell command block (```bash and ```sh) of README.md and docs/*.md runs.

Each block runs in its own temporary folder holding a copy of examples/ (the synthetic files
the commands read, written by examples/make_examples.py). A workspace a block names with
`--workspace NAME`, `-w NAME`, `cd NAME` or `cvm demo NAME` without creating it with
`cvm init NAME` is there beforehand: a copy of one small demo company (1,000 customers, as
`cvm demo NAME --customers 1000` builds it). Lines are run in order, `&&` parts one after the
other; `cd` changes the folder for the rest of the block; each `cvm ...` runs in-process
through typer's CliRunner on `cvm.cli.app` and must exit 0 (or its code in EXIT_CODES).
`cvm programme serve` runs as a process until it says where it listens, then is stopped.

Anything else fails the test until it is given a reason in SKIPPED: a new block runs by
default.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT

pytestmark = pytest.mark.slow

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = ROOT / "examples"

#: (regular expression on a command, why it is not run here). Checked in order.
SKIPPED: list[tuple[str, str]] = [
    (r"^pip install ", "installs the package: .ci/run installs it the same way before the "
     "tests"),
    (r"^cvm demo$", "README's first block, with the install: the 20,000-customer demo in "
     "./cvm-demo; `cvm demo` is run smaller by tests/cli and re-run into a workspace by "
     "docs/programme.md's block here"),
    (r"^python -m pytest", "the test suite itself (the CI runs it)"),
    (r"^PYTHONPATH=src python bench/", "the benchmark: minutes of load on a server, and it "
     "needs wrk; bench/RESULTS.md holds its results"),
    (r"^KEY=cvm_\.\.\.", "curl against a running server with a real key: KEY=cvm_... is a "
     "placeholder for the key `cvm programme apikey` prints; the API is tested in tests/api"),
    (r"^curl ", "needs the server and key of the line above (placeholder); see tests/api"),
]

#: documented exit codes other than 0, by the command's start
EXIT_CODES: dict[str, int] = {}

#: `serve` blocks: it is run with --port 0 (a free port: 8000 may be taken on a shared
#: machine), otherwise as written, and stopped once it says it listens
SERVE_START_TIMEOUT = 180


@dataclass
class Block:
    doc: Path
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def shell_blocks() -> list[Block]:
    blocks = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(?:bash|sh)\n(.*?)^```", text, re.M | re.S):
            blocks.append(Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1)))
    return blocks


def commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: continuation lines joined, comments dropped,
    `&&` split."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        cmd: list[str] = []
        for w in [*words, "&&"]:
            if w == "&&":
                if cmd:
                    out.append(cmd)
                cmd = []
            else:
                cmd.append(w)
    return out


def skip_reason(cmd: list[str]) -> str | None:
    text = shlex.join(cmd).replace("'", "")
    for pattern, reason in SKIPPED:
        if re.search(pattern, text) or re.search(pattern, " ".join(cmd)):
            return reason
    return None


def workspaces_needed(cmds: list[list[str]]) -> list[str]:
    """Folders the block uses as existing workspaces (named before any `cvm init` of them)."""
    needed, created = [], set()
    for cmd in cmds:
        if cmd[:2] == ["cvm", "init"] and len(cmd) > 2:
            created.add(cmd[2])
        names = [cmd[i + 1] for i, w in enumerate(cmd[:-1]) if w in ("--workspace", "-w")]
        if cmd[0] == "cd" or cmd[:2] == ["cvm", "demo"]:
            names += cmd[1 + (cmd[0] == "cvm"):][:1]
        needed += [n for n in names if n not in created and n not in needed and n != ".."]
    return needed


BLOCKS = shell_blocks()


@pytest.fixture(scope="module")
def demo_company(tmp_path_factory) -> Path:
    from cvm.demo import DemoParams, build_demo

    path = tmp_path_factory.mktemp("docs-demo") / "demo"
    build_demo(path, DemoParams(customers=1000))
    return path


def run_serve(args: list[str], cwd: Path) -> None:
    args = [*args]
    if "--port" in args:
        args[args.index("--port") + 1] = "0"
    else:
        args += ["--port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cvm", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "listening on http://" in line:
                return
        pytest.fail(f"cvm {shlex.join(args)} did not say where it listens:\n{''.join(seen)}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_block_runs(block: Block, tmp_path, monkeypatch, demo_company):
    from cvm.cli import app

    cmds = commands(block.text)
    folder = tmp_path / "run"
    shutil.copytree(EXAMPLES, folder / "examples",
                    ignore=shutil.ignore_patterns("*.joblib", "__pycache__"))
    runnable = [c for c in cmds if skip_reason(c) is None]
    for name in workspaces_needed(runnable):
        shutil.copytree(demo_company, folder / name)
    monkeypatch.chdir(folder)
    runner = CliRunner()
    ran = 0
    for cmd in cmds:
        reason = skip_reason(cmd)
        where = f"{block.id}: {shlex.join(cmd)}"
        if reason is not None:
            continue
        if cmd[0] == "cd":
            monkeypatch.chdir(Path.cwd() / cmd[1])
            continue
        assert cmd[0] == "cvm", (f"{where}: not a cvm command; run it here or give it a "
                                 "reason in SKIPPED")
        if cmd[1:3] == ["programme", "serve"]:
            run_serve(cmd[1:], Path.cwd())
            ran += 1
            continue
        result = runner.invoke(app, cmd[1:], prog_name="cvm")
        expected = next((code for start, code in EXIT_CODES.items()
                         if shlex.join(cmd).startswith(start)), 0)
        assert result.exit_code == expected, (
            f"{where}: exit {result.exit_code}, expected {expected}\n{result.output}"
            + ("" if result.exc_info is None or result.exit_code in (0, 2)
               else repr(result.exception)))
        ran += 1
    if not ran:
        pytest.skip("; ".join(sorted({skip_reason(c) for c in cmds if skip_reason(c)})))


def test_every_skip_is_used():
    """A reason in SKIPPED that matches no documented command is stale."""
    all_cmds = [c for b in BLOCKS for c in commands(b.text)]
    for pattern, _ in SKIPPED:
        assert any(re.search(pattern, " ".join(c)) for c in all_cmds), pattern

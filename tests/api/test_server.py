"""`cvm programme serve --workers N`: N processes on one port, restarted if one dies."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cvm.programme import Programme
from cvm.workspace import Workspace

SRC = Path(__file__).resolve().parents[2] / "src"
pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"),
                                reason="SO_REUSEPORT is POSIX-only; uvicorn's mode is used")


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                          text=True).stdout.strip()[:1] not in ("Z", "")


def _wait(predicate, seconds: float = 90.0) -> bool:
    # a bound, not a timing check: two server processes took 12-14 s to start on this
    # 2-core machine under load, so the wait is generous and returns as soon as it holds
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_two_processes_share_a_port_restart_and_stop_with_their_parent(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    prog = Programme.from_workspace(ws)
    prog.init()
    key = prog.create_api_key("staff")
    prog.create_member("m1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH",
                                                                               "")]))
    parent = subprocess.Popen(
        [sys.executable, "-c", "from cvm.cli import main; main()", "programme", "serve", "-w",
         str(ws.path), "--port", str(port), "--workers", "2"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/v1/members/m1/balance"
    headers = {"Authorization": f"Bearer {key}"}

    def answers() -> bool:
        try:
            return httpx.get(url, headers=headers, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        def servers() -> set[int]:
            # the spawn context may add a resource tracker: servers are the ones listening
            listening = subprocess.run(["ss", "-tlnpH", f"sport = :{port}"],
                                       capture_output=True, text=True).stdout
            return {p for p in _children(parent.pid) if f"pid={p}," in listening}

        assert _wait(answers) and _wait(lambda: len(servers()) == 2), "2 servers listening"
        workers = _children(parent.pid)
        # one server process dies: the other answers, and a new one takes its place
        victim = min(servers())
        os.kill(victim, signal.SIGKILL)
        assert answers()
        assert _wait(lambda: len(_children(parent.pid) - workers) >= 1)
        # the parent is killed outright: its server processes stop by themselves
        survivors = _children(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait(lambda: not any(_alive(p) for p in survivors)), "orphaned processes"
        assert _wait(lambda: not answers(), 10)
    finally:
        if parent.poll() is None:
            parent.kill()
        prog.close()


def test_serve_says_where_it_listens_and_its_docs_need_no_other_host(tmp_path):
    Workspace.init(tmp_path / "ws")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH",
                                                                               "")]))
    server = subprocess.Popen(
        [sys.executable, "-c", "from cvm.cli import main; main()", "programme", "serve", "-w",
         str(tmp_path / "ws"), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env)
    try:
        line = server.stdout.readline()
        match = re.fullmatch(r"cvm programme serve: listening on (http://127\.0\.0\.1:\d+) "
                             r"\(API docs at \1/docs\); press Ctrl\+C to stop\n", line)
        assert match, line
        page = httpx.get(f"{match.group(1)}/docs", timeout=10)
        assert page.status_code == 200
        assert "POST /api/v1/members</code>" in page.text
        assert re.findall(r"(?:https?:)?//[\w.\-]+", page.text) == []  # no other host
        assert httpx.get(f"{match.group(1)}/redoc", timeout=10).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(20) == 130  # stopped by Ctrl+C, as a shell reports it
    assert "Traceback" not in server.stderr.read()

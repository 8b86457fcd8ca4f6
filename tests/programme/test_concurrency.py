"""Concurrency over the real HTTP server (``cvm programme serve`` in a subprocess).

50 clients redeem from one member at once, on SQLite and on PostgreSQL, with one server
process and with two (so writers also race across processes): no overspend, no lost or
doubled entry, every request answered. A server killed with SIGKILL in the middle
of a load run loses no committed entry and leaves no half-written one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cvm.config import Settings
from cvm.programme import Programme
from cvm.workspace import Workspace

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``cvm programme serve`` for a workspace, on a free port of 127.0.0.1."""

    def __init__(self, ws_path: Path, workers: int = 1):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(SRC), os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cvm.cli import main; main()", "programme", "serve",
             "-w", str(ws_path), "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start within 30 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc.stderr.close()


PG = pytest.mark.postgres


@pytest.fixture
def served(request, tmp_path):
    """(programme, server, admin key) for a workspace on SQLite or PostgreSQL."""
    dialect, workers = request.param
    url = ""
    if dialect == "postgresql":
        schemas = request.getfixturevalue("pg_schemas")
        url = schemas.new()
    ws = Workspace.init(tmp_path / "ws", Settings().updated(**{
        "programme.database_url": url, "programme.return_window_days": 0}))
    prog = Programme.from_workspace(ws)
    prog.init()
    key = prog.create_api_key("admin")
    prog.create_member("m1")
    prog.adjust("m1", 1000, "load test float")
    server = Server(ws.path, workers)
    yield prog, server, key
    server.stop()
    prog.close()
    if url:
        schemas.drop(url)


async def _redeem_all(url, key, clients, per_client, points, replay_first=True):
    """Each client sends `per_client` redeems (and replays its first); returns answers."""
    async def client(i, http):
        out = []
        for j in range(per_client):
            idem = f"c{i}-r{j}"
            for _ in range(2 if (replay_first and j == 0) else 1):
                try:
                    r = await http.post(f"{url}/api/v1/members/m1/redeem",
                                        json={"points": points, "reason": f"client {i}"},
                                        headers={"Authorization": f"Bearer {key}",
                                                 "Idempotency-Key": idem})
                    out.append((idem, r.status_code, r.json()))
                except httpx.TransportError as exc:
                    out.append((idem, None, repr(exc)))
        return out

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        results = await asyncio.gather(*(client(i, http) for i in range(clients)))
    return [a for r in results for a in r]


@pytest.mark.parametrize("served", [
    ("sqlite", 1), pytest.param(("postgresql", 1), marks=PG),
    ("sqlite", 2), pytest.param(("postgresql", 2), marks=PG)],
    indirect=True, ids=["sqlite", "postgresql", "sqlite-2-workers", "postgresql-2-workers"])
def test_fifty_clients_cannot_overspend(served):
    prog, server, key = served
    answers = asyncio.run(_redeem_all(server.url, key, clients=50, per_client=4, points=7))
    # 50 clients x 4 distinct redeems of 7 points, plus 50 replays = 250 requests.
    assert len(answers) == 250
    assert {status for _, status, _ in answers} <= {201, 409}, answers
    ok = {}
    for idem, status, body in answers:
        if status == 201:
            ok.setdefault(idem, set()).add(body["operation_id"])
    assert all(len(ops) == 1 for ops in ok.values())         # a replay is the same operation
    # 1000 // 7 = 142 redemptions fit: 994 points spent, 6 left; the rest got 409.
    assert len(ok) == 142
    refused = {idem for idem, status, _ in answers if status == 409}
    assert len(refused) == 200 - 142
    bal = prog.balance("m1")
    assert (bal["active"], bal["spent"], bal["negative"]) == (6, 994, 0)
    with prog.store.read() as conn:
        n = conn.execute(sa.text("SELECT count(*), sum(points) FROM ledger_entries "
                                 "WHERE kind = 'redeem'")).one()
    assert (n[0], int(n[1])) == (142, -994)
    assert prog.audit() == []


@pytest.mark.parametrize("served", [("sqlite", 1), pytest.param(("postgresql", 1), marks=PG)],
                         indirect=True, ids=["sqlite", "postgresql"])
def test_sigkill_mid_load_loses_no_committed_entry(served):
    prog, server, key = served

    async def load_then_kill():
        task = asyncio.create_task(_redeem_all(server.url, key, clients=20, per_client=200,
                                               points=1, replay_first=False))
        await asyncio.sleep(1.0)
        server.kill()
        return await task

    answers = asyncio.run(load_then_kill())
    confirmed = {body["operation_id"] for _, status, body in answers if status == 201}
    assert confirmed, "the server was killed before answering anything; raise the sleep"
    assert any(status is None for _, status, _ in answers), "the kill interrupted nothing"
    with prog.store.read() as conn:
        rows = conn.execute(sa.text(
            "SELECT o.op_id, o.result IS NOT NULL AS done, e.points, "
            "(SELECT coalesce(sum(a.points), 0) FROM allocations a "
            " WHERE a.debit_entry_id = e.entry_id) AS allocated "
            "FROM operations o LEFT JOIN ledger_entries e ON e.op_id = o.op_id "
            "WHERE o.kind = 'redeem'")).all()
    stored = {r.op_id for r in rows}
    assert confirmed <= stored                          # every answered redeem is committed
    for r in rows:                                      # and each is whole: answer, entry,
        assert r.done and r.points == -1 and int(r.allocated) == 1   # allocation
    bal = prog.balance("m1")
    assert bal["spent"] == len(stored) and bal["active"] == 1000 - len(stored)
    assert prog.audit() == []

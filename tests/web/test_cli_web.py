"""`cvm users` and `cvm serve` as a user runs them: the password as one line on standard
input (no prompt when it is not a terminal), and the pages served over plain HTTP by a
real server process, a login keeping its session on http://127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from cvm.cli import app

runner = CliRunner()


def test_users_add_reads_the_password_from_standard_input(ws):
    r = runner.invoke(app, ["users", "add", "boss", "--role", "manager", "--team",
                            "branch:north", "-w", str(ws.path)], input="correct horse\n")
    assert r.exit_code == 0, r.output
    assert "Password" not in r.output and "Added boss (manager, team branch:north)" in r.output
    token, session = ws.users.login("boss", "correct horse")
    assert session.role == "manager" and session.team == "branch:north"
    r = runner.invoke(app, ["users", "list", "--format", "json", "-w", str(ws.path)])
    assert [(u["username"], u["role"]) for u in json.loads(r.output)] == [("boss", "manager")]
    r = runner.invoke(app, ["users", "add", "x", "--role", "staff", "-w", str(ws.path)],
                      input="short\n")
    assert r.exit_code == 2 and "at least 8 characters" in r.output
    r = runner.invoke(app, ["users", "add", "boss", "--role", "staff", "-w", str(ws.path)],
                      input="correct horse\n")
    assert r.exit_code == 2 and "exists already" in r.output
    r = runner.invoke(app, ["users", "disable", "boss", "-w", str(ws.path)])
    assert r.exit_code == 0 and ws.users.session(token) is None


def test_serve_serves_the_pages_with_a_working_session(ws):
    ws.users.add("ana", "correct horse", "analyst")
    proc = subprocess.Popen([sys.executable, "-m", "cvm", "serve", "--port", "0", "-w",
                             str(ws.path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        line = proc.stdout.readline()
        url = re.search(r"pages at (http://127\.0\.0\.1:\d+)/", line).group(1)
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(50):
                try:
                    form = http.get("/login")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            r = http.post("/login", data={"username": "ana", "password": "correct horse",
                                          "csrf_token": token})
            assert r.status_code == 303 and r.headers["location"] == "/"
            home = http.get("/")
            assert home.status_code == 200 and "ana (analyst)" in home.text
            assert http.get("/assets/plotly.min.js").status_code == 200
            assert http.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)

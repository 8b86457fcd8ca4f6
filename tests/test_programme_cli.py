"""``cvm programme``: init with the demo programme, keys, jobs and reports from a workspace."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cvm.cli import app
from cvm.programme import Programme, tiers
from cvm.workspace import Workspace


def run(*args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_init_demo_key_jobs_and_reports(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    code, out = run("programme", "init", "--demo", "-w", str(ws.path))
    assert code == 0 and "with the demo programme" in out
    prog = Programme.from_workspace(ws)
    assert [t["code"] for t in prog.read(tiers.list_tiers)] == [
        "silver", "gold", "platinum", "black"]
    code, key = run("programme", "apikey", "--role", "staff", "-w", str(ws.path))
    assert code == 0 and prog.authenticate(key.strip()).role == "staff"
    code, _ = run("programme", "apikey", "--role", "partner", "-w", str(ws.path))
    assert code == 2                                     # a partner key needs --partner
    code, _ = run("programme", "apikey", "--role", "partner", "--partner", "fuelco",
                  "-w", str(ws.path))
    assert code == 0
    prog.create_member("m1")
    prog.earn("m1", "s1", "1234.56", channel="web")      # base 120 + web bonus 60
    prog.adjust("m1", 1000, "welcome")
    prog.redeem("m1", item="voucher-10")
    code, out = run("programme", "report", "breakage", "-f", "json", "-w", str(ws.path))
    assert code == 0
    assert json.loads(out) == [{"issued": 1180, "refunded": 0, "spent": 1000, "expired": 0,
                                "breakage_rate": 0.0, "expired_share_of_issued": 0.0}]
    code, out = run("programme", "report", "liability", "-f", "csv", "-w", str(ws.path))
    assert code == 0 and out.splitlines()[0] == (
        "\"expiry_month\",\"active_points\",\"pending_points\",\"points\",\"value\"")
    code, out = run("programme", "report", "audit", "-f", "json", "-w", str(ws.path))
    assert (code, json.loads(out)) == (0, [])
    code, out = run("programme", "expire", "-f", "json", "-w", str(ws.path))
    assert json.loads(out) == [{"members": 0, "points_expired": 0}]
    code, out = run("programme", "tiers", "-f", "json", "-w", str(ws.path))
    # Spend 1,234.56 reaches silver (1,000.00), not gold (5,000.00).
    assert code == 0 and json.loads(out) == [{
        "member_id": "m1", "from": None, "to": "silver",
        "reason": "qualified: spend 1234.56 in window reaches silver"}]
    prog.close()

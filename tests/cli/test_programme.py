"""``cvm programme``: init with the demo programme, keys, jobs and reports from a workspace."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cvm.cli import app
from cvm.programme import Programme
from cvm.workspace import Workspace


def run(*args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_init_demo_key_jobs_and_reports(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    code, out = run("programme", "init", "--demo", "-w", str(ws.path))
    assert code == 0 and "with the demo programme" in out
    prog = Programme.from_workspace(ws)
    assert [t["code"] for t in prog.tiers()] == [
        "silver", "gold", "platinum", "black"]
    code, key = run("programme", "apikey", "--role", "staff", "-w", str(ws.path))
    assert code == 0 and prog.authenticate(key.strip()).role == "staff"
    code, _ = run("programme", "apikey", "--role", "partner", "-w", str(ws.path))
    assert code == 2                                     # a partner key needs --partner
    code, _ = run("programme", "apikey", "--role", "partner", "--partner", "fuelco",
                  "-w", str(ws.path))
    assert code == 0
    prog.create_member("m1")
    prog.earn("m1", "s1", "1234.56", channel="web")      # base 1234 + web bonus 123
    prog.adjust("m1", 1000, "welcome")
    prog.redeem("m1", item="voucher-10")
    code, out = run("programme", "report", "breakage", "-f", "json", "-w", str(ws.path))
    assert code == 0
    assert json.loads(out) == [{"issued": 2357, "refunded": 0, "spent": 1000, "expired": 0,
                                "breakage_rate": 0.0, "expired_share_of_issued": 0.0}]
    code, out = run("programme", "report", "liability", "-f", "csv", "-w", str(ws.path))
    assert code == 0 and out.splitlines()[0] == (
        "\"expiry_month\",\"active_points\",\"pending_points\",\"points\",\"value\","
        "\"lapsed_points\"")
    code, out = run("programme", "report", "audit", "-f", "json", "-w", str(ws.path))
    assert (code, json.loads(out)) == (0, [])
    code, out = run("programme", "expire", "-f", "json", "-w", str(ws.path))
    assert json.loads(out) == [{"members": 0, "points_expired": 0}]
    code, out = run("programme", "tiers", "-f", "json", "-w", str(ws.path))
    # Spend 1,234.56 reaches gold (900.00), not platinum (2,500.00).
    assert code == 0 and json.loads(out) == [{
        "member_id": "m1", "from": None, "to": "gold",
        "reason": "qualified: spend 1234.56 in window reaches gold"}]
    prog.close()


def test_init_demo_enrols_the_demo_company_and_books_its_purchases_by_the_rules(tmp_path):
    import math
    from datetime import timedelta

    from cvm.demo import DemoParams, build_demo

    ws, _ = build_demo(tmp_path / "co", DemoParams(customers=300))
    code, out = run("programme", "init", "--demo", "--members", "40", "-w", str(ws.path))
    assert code == 0, out
    assert "Enrolled 40 customers" in out
    prog = Programme.from_workspace(ws)
    with prog.store.read() as conn:
        member_ids = [r[0] for r in conn.exec_driver_sql("SELECT member_id FROM members")]
        earned = conn.exec_driver_sql(
            "SELECT source_txn, SUM(points) FROM ledger_entries WHERE kind = 'earn' "
            "GROUP BY source_txn").all()
    assert len(member_ids) == 40
    # by hand: every purchase of the last 12 months of the data (members are untiered while
    # they are booked: the tier job runs at the end) earns floor(amount) points, and a web
    # purchase floor(amount / 10) more
    t = ws.table("transactions").to_pandas()
    last = ws.latest_day()
    since = last - timedelta(days=round(30.44 * 12))
    mine = t[t.customer_id.isin(member_ids) & (t.timestamp.dt.date >= since) & (t.amount > 0)]
    expected = {str(r.transaction_id): math.floor(r.amount)
                + (math.floor(r.amount / 10) if r.channel == "web" else 0)
                for r in mine.itertuples()}
    assert dict(earned) == {k: v for k, v in expected.items() if v > 0}
    assert prog.audit() == []
    # a second run books nothing twice (the demo's own idempotency keys)
    def entries():
        with prog.store.read() as conn:
            return conn.exec_driver_sql("SELECT COUNT(*) FROM ledger_entries").scalar_one()

    before = entries()
    code, out = run("programme", "init", "--demo", "--members", "40", "-w", str(ws.path))
    assert code == 0 and entries() == before
    prog.close()


def test_audit_says_the_books_balance_or_fails_with_the_problems(tmp_path):
    """A scheduled `cvm programme report audit` exits 0 with a plain sentence on a sound
    ledger, and 1 with the problems listed once a row written around the ledger breaks it
    (an allocation taking 7 more points of a 10-point lot already 4 spent)."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from cvm.store.tables import allocations

    ws = Workspace.init(tmp_path / "acme")
    assert run("programme", "init", "-w", str(ws.path))[0] == 0
    prog = Programme.from_workspace(ws)
    prog.create_member("m1")
    lot = prog.adjust("m1", 10, "welcome")["entry_id"]
    debit = prog.redeem("m1", 4)["entry_id"]
    code, out = run("programme", "report", "audit", "-w", str(ws.path))
    assert (code, out.strip()) == (0, "The books balance: no problems found.")
    with prog.store.write() as conn:
        conn.execute(sa.insert(allocations).values(
            debit_entry_id=debit, lot_entry_id=lot, member_id="m1", points=7,
            booked_at=datetime.now(UTC)))
    code, out = run("programme", "report", "audit", "-f", "json", "-w", str(ws.path))
    assert code == 1
    assert json.loads(out) == [
        {"member_id": "m1", "problem": f"lot {lot} over-consumed"},
        {"member_id": "m1", "problem": f"debit {debit} over-covered"},
        {"member_id": "m1", "problem": "entries sum to 6, lots hold 0 and 0 is owed"}]
    code, out = run("programme", "report", "audit", "-w", str(ws.path))
    assert code == 1 and f"lot {lot} over-consumed" in out
    prog.close()

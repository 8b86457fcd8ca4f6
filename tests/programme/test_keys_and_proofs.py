"""Issue 19, items 13 and 14 from the programme's side: migration 0004 up and down on SQLite
and PostgreSQL, the `cvm programme` commands for keys (expiry, list, revoke), members' cards
and codes and the partners' requirement, and the proof checks of `Programme`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cvm._time import utcnow
from cvm.cli import app
from cvm.errors import AuthenticationError, InputError, InsufficientPointsError, NotFoundError
from cvm.programme import Programme
from cvm.store.db import Store, current_revision
from cvm.workspace import Workspace


def test_0004_adds_proofs_expiry_and_counts_keeping_old_partners_as_they_were(db_url):
    store = Store(db_url)
    store.upgrade("0003")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO partners (partner_id, name, created_at) "
                             "VALUES ('old', 'Old', :t)"), {"t": now})
        conn.execute(sa.text("INSERT INTO api_keys (key_id, key_hash, role, partner_id, name, "
                             "created_at) VALUES ('k1', 'h', 'partner', 'old', 'pos', :t)"),
                     {"t": now})

    def columns(table):
        with store.engine.connect() as conn:
            return {c["name"] for c in sa.inspect(conn).get_columns(table)}

    def tables():
        with store.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    store.upgrade("0004")
    assert current_revision(store.engine) == "0004"
    assert {"expires_at", "lookup_failures", "failures_since"} <= columns("api_keys")
    assert "member_proofs" in tables()
    with store.engine.connect() as conn:
        # a partner made before 0004 keeps working without proofs until told otherwise
        assert conn.execute(sa.text("SELECT partner_id, require_member_proof FROM partners")
                            ).all() == [("old", False)]
        assert conn.execute(sa.text("SELECT key_id, expires_at, lookup_failures, "
                                    "failures_since FROM api_keys")).all() == [
            ("k1", None, 0, None)]
    prog = Programme(store)
    prog.add_partner("new", "New")
    assert [(p["partner_id"], p["require_member_proof"]) for p in prog.partners()] == [
        ("new", True), ("old", False)]
    prog.create_member("m1")
    prog.issue_card("m1")
    store.downgrade("0003")
    assert current_revision(store.engine) == "0003"
    assert not {"expires_at", "lookup_failures", "failures_since"} & columns("api_keys")
    assert "require_member_proof" not in columns("partners")
    assert "member_proofs" not in tables()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT key_id, partner_id FROM api_keys")).all() == [
            ("k1", "old")]
    store.upgrade("0004")
    assert current_revision(store.engine) == "0004"
    store.dispose()


def test_programme_reads_and_redeems_with_proofs(programme):
    programme.create_member("m1")
    programme.create_member("m2")
    programme.adjust("m1", 50, "welcome")
    now = utcnow()
    card = programme.issue_card("m1")["card"]
    assert programme.balance("m1", proof=card, require_proof=True)["active"] == 50
    for member, proof in (("m1", None), ("m1", "x"), ("m2", card), ("ghost", card)):
        with pytest.raises(NotFoundError, match=f"^member '{member}' not found$"):
            programme.balance(member, proof=proof, require_proof=True)
        with pytest.raises(NotFoundError, match=f"^member '{member}' not found$"):
            programme.statement(member, proof=proof, require_proof=True)
        with pytest.raises(NotFoundError, match=f"^member '{member}' not found; create"):
            programme.redeem(member, 1, proof=proof, require_proof=True)
    code = programme.issue_code("m1", minutes=2, now=now)
    assert code["expires_at"] == now + timedelta(minutes=2)
    assert programme.redeem("m1", 5, proof=code["code"], require_proof=True,
                            now=now)["balance"]["active"] == 45
    with pytest.raises(NotFoundError):
        programme.redeem("m1", 5, proof=code["code"], require_proof=True, now=now)
    # a refused redemption (short balance) does not spend the code
    code = programme.issue_code("m1", now=now)["code"]
    with pytest.raises(InsufficientPointsError, match="has 45 active points"):
        programme.redeem("m1", 99, proof=code, require_proof=True, now=now)
    assert programme.redeem("m1", 45, proof=code, require_proof=True,
                            now=now)["balance"]["active"] == 0
    with pytest.raises(InputError, match="a code lives 1 to 60 minutes"):
        programme.issue_code("m1", minutes=0)
    assert programme.audit() == []


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_cli_keys_expire_list_and_revoke_and_members_get_cards_and_codes(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    w = ("-w", ws.path)
    assert run("programme", "init", "--demo", *w)[0] == 0
    prog = Programme.from_workspace(ws)
    code, key = run("programme", "apikey", "--role", "till", "--name", "lane 3",
                    "--expires", "2999-12-31", *w)
    assert code == 0
    key = key.strip()
    code, _ = run("programme", "apikey", "--role", "partner", "--partner", "fuelco",
                  "--expires", "2999-06-01T12:00:00+02:00", *w)
    assert code == 0
    code, out = run("programme", "apikeys", "-f", "json", *w)
    assert code == 0
    rows = json.loads(out)
    assert [(r["key_id"], r["name"], r["role"], r["partner_id"], r["expires_at"],
             r["revoked_at"]) for r in rows][:1] == [
        (key.split("_")[1], "lane 3", "till", None, "3000-01-01T00:00:00+00:00", None)]
    assert rows[1]["expires_at"] == "2999-06-01T10:00:00+00:00"
    assert run("programme", "apikey", "--role", "staff", "--expires", "90d", *w)[0] == 0
    days = prog.api_keys()[-1]["expires_at"] - utcnow()
    assert timedelta(days=89, hours=23) < days <= timedelta(days=90)
    assert set(rows[0]) == {"key_id", "name", "role", "partner_id", "created_at",
                            "expires_at", "revoked_at"}
    assert key.split("_", 2)[2] not in out
    assert prog.authenticate(key).role == "till"
    assert run("programme", "revoke", key.split("_")[1], *w) == (
        0, f"Revoked API key {key.split('_')[1]}.\n")
    with pytest.raises(AuthenticationError, match="unknown or revoked"):
        prog.authenticate(key)
    code, out = run("programme", "revoke", key.split("_")[1], *w)
    assert code == 2 and "no active API key" in out
    for bad in ("2020-01-01", "someday", "0d", "-5d"):
        code, out = run("programme", "apikey", "--role", "till", "--expires", bad, *w)
        assert code == 2, out
    # cards and codes
    prog.create_member("m1")
    code, card = run("programme", "card", "m1", *w)
    assert code == 0 and re.fullmatch(r"cvmcard_[\w-]{43}\n", card)
    assert prog.balance("m1", proof=card.strip(), require_proof=True)["total"] == 0
    code, out = run("programme", "code", "m1", "--minutes", "3", *w)
    m = re.fullmatch(r"(\d{8}) \(expires (\S+ \S+) UTC\)\n", out)
    assert code == 0 and m
    expires = datetime.fromisoformat(m.group(2)).replace(tzinfo=UTC)
    assert timedelta(minutes=2) < expires - utcnow() <= timedelta(minutes=3)
    assert prog.statement("m1", proof=m.group(1), require_proof=True)["entries"] == []
    assert run("programme", "card", "ghost", *w)[0] == 2
    # the demo partner requires proofs (made after 0004); it can be told otherwise
    assert prog.partner("fuelco")["require_member_proof"] is True
    assert run("programme", "partner", "fuelco", "--no-require-member-proof", *w) == (
        0, "Partner fuelco does not require a member's proof of presence.\n")
    assert prog.partner("fuelco")["require_member_proof"] is False
    prog.close()

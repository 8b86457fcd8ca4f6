"""REST API: keys and roles (401/403), partner isolation, idempotent writes, error shape."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from cvm.api import create_app

V1 = "/api/v1"

# Every route and the roles it admits. A route missing here fails
# test_role_table_covers_every_route, so a new route cannot skip the role checks.
ALL = {"admin", "staff", "till", "partner"}
STAFF = {"admin", "staff"}
ROLES = {
    ("POST", "/members"): {"admin", "staff", "till"},
    ("GET", "/members/{member_id}"): STAFF,
    ("GET", "/members/{member_id}/balance"): ALL,
    ("GET", "/members/{member_id}/statement"): {"admin", "staff", "partner"},
    ("POST", "/members/{member_id}/earn"): ALL,
    ("POST", "/members/{member_id}/redeem"): ALL,
    ("POST", "/members/{member_id}/refund"): ALL,
    ("POST", "/members/{member_id}/reverse"): STAFF,
    ("POST", "/members/{member_id}/adjust"): STAFF,
    ("PUT", "/members/{member_id}/tier-floor"): {"admin"},
    ("GET", "/members/{member_id}/tier-history"): STAFF,
    ("POST", "/members/{member_id}/card"): {"admin"},
    ("POST", "/members/{member_id}/codes"): STAFF,
    ("GET", "/tiers"): ALL,
    ("PUT", "/tiers/{code}"): {"admin"},
    ("POST", "/jobs/tiers"): {"admin"},
    ("POST", "/jobs/expire"): {"admin"},
    ("GET", "/catalogue"): ALL,
    ("PUT", "/catalogue/{code}"): {"admin"},
    ("GET", "/rules"): STAFF,
    ("POST", "/rules"): {"admin"},
    ("GET", "/partners"): STAFF,
    ("POST", "/partners"): {"admin"},
    ("PATCH", "/partners/{partner_id}"): {"admin"},
    ("GET", "/partners/{partner_id}"): {"admin", "staff", "partner"},
    ("POST", "/partners/{partner_id}/rates"): {"admin"},
    ("GET", "/partners/{partner_id}/transactions"): {"admin", "staff", "partner"},
    ("POST", "/partners/{partner_id}/settlements"): {"admin"},
    ("GET", "/partners/{partner_id}/settlements"): {"admin", "staff", "partner"},
    ("GET", "/reports/liability"): STAFF,
    ("GET", "/reports/breakage"): STAFF,
    ("GET", "/reports/earn-burn"): STAFF,
    ("POST", "/apikeys"): {"admin"},
    ("GET", "/apikeys"): {"admin"},
    ("DELETE", "/apikeys/{key_id}"): {"admin"},
    ("GET", "/opportunities"): STAFF,
    ("POST", "/opportunities/{opportunity_id}/outcomes"): STAFF,
    ("GET", "/cases"): STAFF,
    ("PATCH", "/cases/{case_id}"): STAFF,
}
PARAMS = {"member_id": "m1", "code": "x", "partner_id": "pa", "key_id": "nokey",
          "opportunity_id": "o1", "case_id": "1"}


@pytest.fixture
def api(tmp_path):
    from conftest import make_programme

    prog = make_programme(f"sqlite:///{tmp_path / 'p.db'}", return_window_days=0)
    prog.add_rule("base", points_per_step=10, step=100)
    for pid in ("pa", "pb"):   # no proof of presence asked: see tests/api/test_member_proof.py
        prog.add_partner(pid, pid.upper(), require_member_proof=False)
    keys = {r: prog.create_api_key(r) for r in ("admin", "staff", "till")}
    keys["partner"] = prog.create_api_key("partner", "pa")
    keys["partner_b"] = prog.create_api_key("partner", "pb")
    client = TestClient(create_app(prog))
    client.keys = keys
    client.prog = prog
    yield client
    prog.close()


def h(client, role, key=None):
    out = {"Authorization": f"Bearer {client.keys[role]}"}
    if key:
        out["Idempotency-Key"] = key
    return out


def _routes(app):
    return {(m.upper(), path[len(V1):]) for path, ops in app.openapi()["paths"].items()
            if path.startswith(V1) for m in ops}


def _url(path):
    return V1 + re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


def test_role_table_covers_every_route(api):
    assert _routes(api.app) == set(ROLES)


@pytest.mark.parametrize("header", [None, "Bearer cvm_000000000000_wrong", "Bearer nonsense",
                                    "Basic dXNlcjpwYXNz"])
def test_every_route_refuses_a_missing_or_wrong_key_with_401(api, header):
    headers = {"Authorization": header} if header else {}
    for method, path in sorted(ROLES):
        r = api.request(method, _url(path), headers=headers, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


def test_every_route_refuses_a_wrong_role_with_403(api):
    checked = 0
    for (method, path), allowed in sorted(ROLES.items()):
        for role in sorted(ALL - allowed):
            r = api.request(method, _url(path), headers=h(api, role), json={})
            assert r.status_code == 403, (method, path, role, r.text)
            assert r.json()["error"]["code"] == "forbidden"
            assert f"a {role} key may not" in r.json()["error"]["message"]
            checked += 1
    # 39 routes x 4 roles = 156 pairs, 81 of them allowed: 75 must be refused.
    assert checked == sum(4 - len(a) for a in ROLES.values()) == 75


def test_a_revoked_key_is_refused(api):
    key_id = api.keys["till"].split("_")[1]
    assert api.delete(f"{V1}/apikeys/{key_id}", headers=h(api, "admin")).status_code == 200
    r = api.get(f"{V1}/tiers", headers=h(api, "till"))
    assert r.status_code == 401 and r.json()["error"]["message"] == "unknown or revoked API key"


def test_minimum_interface_flow(api):
    r = api.post(f"{V1}/members", json={"member_id": "m1"}, headers=h(api, "till"))
    assert r.status_code == 201 and r.json()["member_id"] == "m1"
    r = api.post(f"{V1}/members/m1/earn", json={"transaction_id": "t1", "amount": 1234.5},
                 headers=h(api, "till"))
    assert r.status_code == 201 and r.json()["points"] == 120   # floor(1234.50/100)*10
    r = api.post(f"{V1}/members/m1/adjust", json={"points": 5, "reason": "sorry"},
                 headers=h(api, "staff"))
    assert r.status_code == 201
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 100, "reason": "voucher"},
                 headers=h(api, "till"))
    assert r.status_code == 201 and r.json()["balance"]["active"] == 25
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 26}, headers=h(api, "till"))
    assert r.status_code == 409
    assert r.json() == {"error": {"code": "insufficient_points", "message": (
        "member 'm1' has 25 active points; redeeming 26 needs 1 more. Pending points become "
        "active after the return window.")}}
    b = api.get(f"{V1}/members/m1/balance", headers=h(api, "partner")).json()
    assert {k: b[k] for k in ("active", "pending", "spent", "expired")} == {
        "active": 25, "pending": 0, "spent": 100, "expired": 0}
    st = api.get(f"{V1}/members/m1/statement", headers=h(api, "staff")).json()
    assert [(e["kind"], e["points"]) for e in st["entries"]] == [
        ("earn", 120), ("adjust", 5), ("redeem", -100)]
    # reads are sent as rendered by the json module: byte for byte what FastAPI's own
    # serialisation of the same answer gives (UTC times with "Z")
    prog = api.app.state.programme
    for path, answer in (("statement", prog.statement("m1")), ("balance", prog.balance("m1"))):
        r = api.get(f"{V1}/members/m1/{path}", headers=h(api, "staff"))
        assert r.content == TypeAdapter(dict).dump_json(answer)
    assert st["entries"][0]["booked_at"].endswith("Z")
    assert api.post(f"{V1}/members", json={"member_id": "m1"},
                    headers=h(api, "till")).status_code == 409


def test_writes_replayed_three_times_give_one_entry(api):
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=h(api, "admin"))
    writes = [("earn", {"transaction_id": "t1", "amount": "500"}),
              ("adjust", {"points": 40, "reason": "welcome"}),
              ("redeem", {"points": 30}),
              ("refund", {"transaction_id": "t1", "amount": "250"})]
    for i, (path, body) in enumerate(writes):
        answers = [api.post(f"{V1}/members/m1/{path}", json=body,
                            headers=h(api, "staff", f"k{i}")) for _ in range(4)]
        assert {a.status_code for a in answers} == {201}
        assert [a.headers.get("idempotent-replayed") for a in answers] == [
            None, "true", "true", "true"]
        assert len({a.json()["operation_id"] for a in answers}) == 1
    st = api.get(f"{V1}/members/m1/statement", headers=h(api, "admin")).json()["entries"]
    # earn 50, adjust 40, redeem 30 (oldest first: from the earn lot), refund of half: 25.
    assert [(e["kind"], e["points"]) for e in st] == [
        ("earn", 50), ("adjust", 40), ("redeem", -30), ("reverse", -25)]
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 31}, headers=h(api, "staff", "k2"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    # The same Idempotency-Key from another API key is a different request.
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 30}, headers=h(api, "till", "k2"))
    assert r.status_code == 201 and r.headers.get("idempotent-replayed") is None


def test_a_refused_write_is_replayed_as_refused_even_after_the_state_changed(api):
    # Stripe-style idempotency: the first answer to a key is the answer, refusals included.
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=h(api, "admin"))
    api.post(f"{V1}/members/m1/adjust", json={"points": 10, "reason": "welcome"},
             headers=h(api, "staff"))
    first = api.post(f"{V1}/members/m1/redeem", json={"points": 25}, headers=h(api, "till", "r1"))
    assert first.status_code == 409
    assert first.json()["error"]["code"] == "insufficient_points"
    assert "has 10 active points" in first.json()["error"]["message"]
    assert first.headers.get("idempotent-replayed") is None
    # the member now has enough; a retry of the refused request still gets the refusal
    api.post(f"{V1}/members/m1/adjust", json={"points": 100, "reason": "goodwill"},
             headers=h(api, "staff"))
    again = api.post(f"{V1}/members/m1/redeem", json={"points": 25}, headers=h(api, "till", "r1"))
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    # the same key with another request is still an idempotency conflict, not the refusal
    other = api.post(f"{V1}/members/m1/redeem", json={"points": 5}, headers=h(api, "till", "r1"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    # a new key is a new attempt, which now succeeds; the refusal booked nothing
    ok = api.post(f"{V1}/members/m1/redeem", json={"points": 25}, headers=h(api, "till", "r2"))
    assert ok.status_code == 201
    balance = api.get(f"{V1}/members/m1/balance", headers=h(api, "staff")).json()
    assert (balance["active"], balance["spent"]) == (85, 25)
    assert api.prog.audit() == []
    # a refusal for an unknown member is not stored (there is no member to file it under)
    lost = api.post(f"{V1}/members/nobody/redeem", json={"points": 1},
                    headers=h(api, "till", "r3"))
    assert lost.status_code == 404
    api.post(f"{V1}/members", json={"member_id": "nobody"}, headers=h(api, "admin"))
    api.post(f"{V1}/members/nobody/adjust", json={"points": 5, "reason": "x"},
             headers=h(api, "staff"))
    assert api.post(f"{V1}/members/nobody/redeem", json={"points": 1},
                    headers=h(api, "till", "r3")).status_code == 201


def test_a_partner_sees_and_touches_only_its_own_data(api):
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=h(api, "admin"))
    for role, txn in (("partner", "a1"), ("partner_b", "b1"), ("till", "own1")):
        r = api.post(f"{V1}/members/m1/earn", json={"transaction_id": txn, "amount": "100"},
                     headers=h(api, role))
        assert r.status_code == 201
    st = api.get(f"{V1}/members/m1/statement", headers=h(api, "partner")).json()["entries"]
    assert [(e["transaction_id"], e["partner_id"]) for e in st] == [("a1", "pa")]
    assert api.get(f"{V1}/partners/pb/transactions",
                   headers=h(api, "partner")).status_code == 403
    assert api.get(f"{V1}/partners/pb/settlements", headers=h(api, "partner")).status_code == 403
    assert api.get(f"{V1}/partners/pb", headers=h(api, "partner")).status_code == 403
    own = api.get(f"{V1}/partners/pa/transactions", headers=h(api, "partner")).json()
    assert [e["source_txn"] for e in own] == ["a1"]
    # Partner A cannot refund partner B's or the company's sale: for A they do not exist.
    for txn in ("b1", "own1"):
        r = api.post(f"{V1}/members/m1/refund", json={"transaction_id": txn},
                     headers=h(api, "partner"))
        assert r.status_code == 404, r.text
    r = api.post(f"{V1}/members/m1/refund", json={"transaction_id": "a1"},
                 headers=h(api, "partner"))
    assert r.status_code == 201 and r.json()["points_reversed"] == 10


def test_one_error_shape(api):
    cases = [
        api.get(f"{V1}/nowhere", headers=h(api, "admin")),
        api.get(f"{V1}/members/ghost/balance", headers=h(api, "admin")),
        api.post(f"{V1}/members/m1/redeem", json={"points": "many"}, headers=h(api, "admin")),
        api.post(f"{V1}/members", json={"member_id": "a b"}, headers=h(api, "admin")),
        api.post(f"{V1}/members", content=b"{not json", headers={
            **h(api, "admin"), "Content-Type": "application/json"}),
        api.patch(f"{V1}/tiers", headers=h(api, "admin")),
    ]
    assert [c.status_code for c in cases] == [404, 404, 422, 422, 422, 405]
    for c in cases:
        body = c.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert body["error"]["message"]
    assert cases[1].json()["error"]["message"] == "member 'ghost' not found"
    assert cases[2].json()["error"]["message"].startswith("points: Input should be a valid")


def test_openapi_is_published(api):
    doc = api.get("/openapi.json").json()
    assert "/api/v1/members/{member_id}/redeem" in doc["paths"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_app_from_a_workspace_and_input_errors_are_422(tmp_path):
    from cvm.programme import Programme
    from cvm.workspace import Workspace

    ws = Workspace.init(tmp_path / "acme")
    prog = Programme.from_workspace(ws)
    prog.init()
    key = prog.create_api_key("admin")
    client = TestClient(create_app(Workspace.open(ws.path)))
    auth = {"Authorization": f"Bearer {key}"}
    assert client.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth).status_code == 201
    r = client.post(f"{V1}/members/m1/redeem", json={"points": 5, "item": "mug"}, headers=auth)
    assert (r.status_code, r.json()) == (422, {"error": {
        "code": "input_error",
        "message": "give points or a catalogue item to redeem, not both"}})
    client.app.state.programme.close()
    prog.close()

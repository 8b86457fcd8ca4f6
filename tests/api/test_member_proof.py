"""Issue 19, item 13: a partner proves the member is present (card token or one-time code)
before reading or spending the member's points; a missing or wrong proof looks exactly like
an unknown member; failed member look-ups are rate-limited per key across server processes.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cvm._time import utcnow
from cvm.api import create_app
from cvm.store.tables import api_keys

V1 = "/api/v1"


@pytest.fixture
def api(db_url):
    """An app over a programme with partner "fuel" (made now: it requires a proof), its
    key, a till, a staff and an admin key, and members m1 (100 active points) and m2."""
    from conftest import make_programme

    prog = make_programme(db_url, return_window_days=0)
    prog.add_partner("fuel", "Fuel")
    for m in ("m1", "m2"):
        prog.create_member(m)
    prog.adjust("m1", 100, "welcome")
    client = TestClient(create_app(prog))
    client.prog = prog
    client.keys = {r: prog.create_api_key(r) for r in ("admin", "staff", "till")}
    client.keys["partner"] = prog.create_api_key("partner", "fuel")
    yield client
    prog.close()


def h(api, role, proof=None, key=None):
    out = {"Authorization": f"Bearer {api.keys[role]}"}
    if proof is not None:
        out["X-Member-Proof"] = proof
    if key is not None:
        out["Idempotency-Key"] = key
    return out


def answers(api, member, role, proof=None, key=None):
    """(status, body) of a balance, a statement and a redemption of 10 points."""
    out = []
    for method, path, body in (("GET", "balance", None), ("GET", "statement", None),
                               ("POST", "redeem", {"points": 10})):
        r = api.request(method, f"{V1}/members/{member}/{path}", json=body,
                        headers=h(api, role, proof, key))
        out.append((r.status_code, r.json()))
    return out


def unknown(member):
    """What an unknown member's balance, statement and redemption answer."""
    read = (404, {"error": {"code": "not_found", "message": f"member {member!r} not found"}})
    write = (404, {"error": {"code": "not_found", "message": (
        f"member {member!r} not found; create it first (POST /api/v1/members or "
        "Programme.create_member)")}})
    return [read, read, write]


def test_without_the_members_proof_a_partner_gets_what_an_unknown_member_gets(api):
    ghost = answers(api, "ghost", "partner")
    assert ghost == unknown("ghost")
    for proof in (None, "cvmcard_wrong", "12345678"):
        assert answers(api, "m1", "partner", proof) == unknown("m1"), proof
    # nothing was spent, and staff and tills (no statements) keep working without a proof
    assert [s for s, _ in answers(api, "m1", "staff")] == [200, 200, 201]
    assert [s for s, _ in answers(api, "m1", "till")] == [200, 403, 201]
    r = api.get(f"{V1}/members/m1/balance", headers=h(api, "till"))
    assert (r.status_code, r.json()["active"]) == (200, 80)


def test_a_card_token_proves_the_member_until_it_is_rotated(api):
    r = api.post(f"{V1}/members/m1/card", headers=h(api, "admin"))
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    card = r.json()["card"]
    assert re.fullmatch(r"cvmcard_[A-Za-z0-9_-]{43}", card) and r.json()["member_id"] == "m1"
    got = answers(api, "m1", "partner", card)
    assert [s for s, _ in got] == [200, 200, 201]
    assert got[0][1]["active"] == 100 and got[2][1]["balance"]["active"] == 90
    # a card is not spent by a redemption
    assert answers(api, "m1", "partner", card)[2][1]["balance"]["active"] == 80
    # it proves m1 only
    assert answers(api, "m2", "partner", card) == unknown("m2")
    # a new card (a lost one) stops the old one at once; the card is stored only hashed
    new = api.post(f"{V1}/members/m1/card", headers=h(api, "admin")).json()["card"]
    assert new != card
    assert answers(api, "m1", "partner", card) == unknown("m1")
    assert [s for s, _ in answers(api, "m1", "partner", new)] == [200, 200, 201]
    with api.prog.store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM member_proofs").scalars().all()
    assert len(stored) == 2 and card not in stored and new not in stored
    assert api.post(f"{V1}/members/ghost/card", headers=h(api, "admin")).status_code == 404


def test_a_one_time_code_proves_reads_until_it_expires_and_one_redemption(api):
    r = api.post(f"{V1}/members/m1/codes", headers=h(api, "staff"), json={"minutes": 5})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    code = r.json()["code"]
    assert re.fullmatch(r"\d{8}", code)
    life = (api.prog.issue_code("m2")["expires_at"] - utcnow()).total_seconds()
    assert 9 * 60 < life <= 10 * 60                            # the default: 10 minutes
    b = api.get(f"{V1}/members/m1/balance", headers=h(api, "partner", code))
    assert (b.status_code, b.json()["active"]) == (200, 100)
    assert [s for s, _ in answers(api, "m1", "partner", code)] == [200, 200, 201]
    # the redemption spent it: neither a second one nor a read takes it any more
    assert answers(api, "m1", "partner", code) == unknown("m1")
    # a new code revokes the member's unused one; an expired code proves nothing
    first = api.prog.issue_code("m1")["code"]
    second = api.prog.issue_code("m1")["code"]
    assert answers(api, "m1", "partner", first) == unknown("m1")
    assert answers(api, "m1", "partner", second)[0][0] == 200
    old = api.prog.issue_code("m1", minutes=1, now=utcnow() - timedelta(minutes=2))["code"]
    assert answers(api, "m1", "partner", old) == unknown("m1")
    assert api.post(f"{V1}/members/m1/codes", headers=h(api, "staff"),
                    json={"minutes": 61}).status_code == 422
    assert api.post(f"{V1}/members/m1/codes", headers=h(api, "till")).status_code == 403


def test_a_refused_proof_is_not_stored_under_the_idempotency_key(api):
    card = api.prog.issue_card("m1")["card"]
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                 headers=h(api, "partner", "cvmcard_wrong", key="r1"))
    assert r.status_code == 404 and "idempotent-replayed" not in r.headers
    # the same key with the card is booked (not a replayed 404), then replayed as booked
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                 headers=h(api, "partner", card, key="r1"))
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    again = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                     headers=h(api, "partner", card, key="r1"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["operation_id"] == r.json()["operation_id"]
    assert api.prog.balance("m1")["active"] == 90


def test_an_idempotency_key_tells_nothing_about_a_member_not_proven(api):
    code = api.prog.issue_code("m1")["code"]
    first = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                     headers=h(api, "partner", code, key="k"))
    assert first.status_code == 201
    # a retry (its answer was lost) is replayed, although the code is used up by now
    again = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                     headers=h(api, "partner", code, key="k"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["operation_id"] == first.json()["operation_id"]
    # but it starts no new redemption
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 10},
                 headers=h(api, "partner", code, key="k2"))
    assert (r.status_code, r.json()) == unknown("m1")[2]
    # the same key for another member, without that member's proof: as an unknown member,
    # not the 409 of a key used for another request (which would say that m2 exists)
    for member in ("m2", "ghost"):
        r = api.post(f"{V1}/members/{member}/redeem", json={"points": 10},
                     headers=h(api, "partner", None, key="k"))
        assert (r.status_code, r.json()) == unknown(member)[2]
    card = api.prog.issue_card("m2")["card"]
    r = api.post(f"{V1}/members/m2/redeem", json={"points": 10},
                 headers=h(api, "partner", card, key="k"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert api.prog.balance("m1")["active"] == 90


def test_the_requirement_is_set_per_partner(api):
    assert api.get(f"{V1}/partners/fuel", headers=h(api, "admin")).json()[
        "require_member_proof"] is True
    r = api.post(f"{V1}/partners", json={"partner_id": "shop", "name": "Shop",
                                         "require_member_proof": False},
                 headers=h(api, "admin"))
    assert r.status_code == 201 and r.json()["require_member_proof"] is False
    api.keys["shop"] = api.prog.create_api_key("partner", "shop")
    assert [s for s, _ in answers(api, "m1", "shop")] == [200, 200, 201]
    r = api.patch(f"{V1}/partners/shop", json={"require_member_proof": True},
                  headers=h(api, "admin"))
    assert r.status_code == 200 and r.json()["require_member_proof"] is True
    assert answers(api, "m1", "shop") == unknown("m1")        # from the next request on
    api.patch(f"{V1}/partners/fuel", json={"require_member_proof": False},
              headers=h(api, "admin"))
    assert [s for s, _ in answers(api, "m1", "partner")] == [200, 200, 201]
    assert [(p["partner_id"], p["require_member_proof"]) for p in api.get(
        f"{V1}/partners", headers=h(api, "admin")).json()] == [("fuel", False), ("shop", True)]
    assert api.patch(f"{V1}/partners/nope", json={"require_member_proof": True},
                     headers=h(api, "admin")).status_code == 404


def test_failed_look_ups_are_limited_per_key_in_every_server_process(api, db_url):
    """Enumerating member ids: after the limit every member route of the key answers 429
    (also for a member that exists, with its proof), in another server process too (a
    second app on the same database), until the minute has passed; other keys and admin
    keys are not held back."""
    from conftest import make_programme

    api.prog.lookup_failures_per_minute = 5
    other = make_programme(db_url, return_window_days=0)        # a second server process
    other.lookup_failures_per_minute = 5
    second = TestClient(create_app(other))
    card = api.prog.issue_card("m1")["card"]
    try:
        statuses = []
        for i in range(12):             # guesses, half on each process
            client = api if i % 2 else second
            r = client.get(f"{V1}/members/{i:06d}/balance", headers=h(api, "partner", card))
            statuses.append(r.status_code)
        assert statuses == [404] * 5 + [429] * 7
        r = second.get(f"{V1}/members/m1/balance", headers=h(api, "partner", card))
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert r.json()["error"]["message"].startswith(
            "this API key looked up 5 members that do not exist or were not proven present "
            "within a minute (the limit is 5); retry in ")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        r = api.post(f"{V1}/members/m1/redeem", json={"points": 1},
                     headers=h(api, "partner", card))
        assert r.status_code == 429
        # routes that look no member up still work; so do other keys
        assert api.get(f"{V1}/tiers", headers=h(api, "partner")).status_code == 200
        assert api.get(f"{V1}/members/m1/balance", headers=h(api, "till")).status_code == 200
        for i in range(8):              # admin keys are not limited
            assert api.get(f"{V1}/members/x{i}", headers=h(api, "admin")).status_code == 404
        # a minute later the key may look members up again
        key_id = api.keys["partner"].split("_")[1]
        with api.prog.store.write() as conn:
            conn.execute(sa.update(api_keys).where(api_keys.c.key_id == key_id).values(
                failures_since=utcnow() - timedelta(seconds=61)))
        r = second.get(f"{V1}/members/m1/balance", headers=h(api, "partner", card))
        assert (r.status_code, r.json()["active"]) == (200, 100)
        # and the next failure starts a new window of its own
        assert api.get(f"{V1}/members/ghost/balance",
                       headers=h(api, "partner", card)).status_code == 404
        with api.prog.store.read() as conn:
            row = conn.execute(sa.select(api_keys.c.lookup_failures, api_keys.c.failures_since)
                               .where(api_keys.c.key_id == key_id)).one()
        assert row.lookup_failures == 1 and utcnow() - row.failures_since < timedelta(
            seconds=30)
    finally:
        other.close()


def test_wrong_proofs_and_unknown_ids_of_earns_count_as_failed_look_ups(api):
    api.prog.lookup_failures_per_minute = 3
    r = api.get(f"{V1}/members/m1/statement", headers=h(api, "partner", "1"))
    assert r.status_code == 404                                  # a wrong proof
    r = api.post(f"{V1}/members/ghost/earn", json={"transaction_id": "t", "amount": "5"},
                 headers=h(api, "partner"))
    assert r.status_code == 404                                  # earns need no proof
    r = api.post(f"{V1}/members/m1/redeem", json={"points": 1}, headers=h(api, "partner"))
    assert r.status_code == 404                                  # no proof
    r = api.post(f"{V1}/members/m1/earn", json={"transaction_id": "t", "amount": "5"},
                 headers=h(api, "partner"))
    assert r.status_code == 429

"""Issue 19, item 14: API keys that expire, a list of keys that shows no secret, a
revocation every server process obeys at once, and 422 for every request refused for its
content. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cvm._time import utcnow
from cvm.api import create_app
from cvm.errors import AuthenticationError
from cvm.store.tables import api_keys

V1 = "/api/v1"


@pytest.fixture
def api(db_url):
    from conftest import make_programme

    prog = make_programme(db_url, return_window_days=0)
    client = TestClient(create_app(prog))
    client.prog = prog
    client.admin = {"Authorization": f"Bearer {prog.create_api_key('admin', name='ops')}"}
    yield client
    prog.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_stops_working_when_it_expires(api):
    soon = utcnow() + timedelta(hours=1)
    r = api.post(f"{V1}/apikeys", json={"role": "till", "name": "lane 3",
                                        "expires_at": soon.isoformat()}, headers=api.admin)
    assert r.status_code == 201 and r.json()["expires_at"] == soon.isoformat().replace(
        "+00:00", "Z")
    key = r.json()["key"]
    assert api.get(f"{V1}/tiers", headers=bearer(key)).status_code == 200
    # the same key an hour and a second later (its stored expiry moved instead of the clock)
    with api.prog.store.write() as conn:
        conn.execute(sa.update(api_keys).where(api_keys.c.key_id == r.json()["key_id"])
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    r2 = api.get(f"{V1}/tiers", headers=bearer(key))
    assert r2.status_code == 401 and r2.headers["www-authenticate"] == "Bearer"
    assert r2.json()["error"]["code"] == "unauthorized"
    assert r2.json()["error"]["message"].startswith("API key expired at ")
    # a body is not read either (the key is checked first)
    assert api.post(f"{V1}/members", json={"member_id": "m1"},
                    headers=bearer(key)).status_code == 401
    # from Python, at a given moment
    key2 = api.prog.create_api_key("staff", expires_at=soon)
    assert api.prog.authenticate(key2, now=soon - timedelta(seconds=1)).role == "staff"
    with pytest.raises(AuthenticationError, match="^API key expired at "):
        api.prog.authenticate(key2, now=soon)


@pytest.mark.parametrize("expires_at", ["2020-01-01T00:00:00Z", "2999-01-01T00:00:00",
                                        "soon"])
def test_an_expiry_in_the_past_or_without_a_zone_is_422(api, expires_at):
    r = api.post(f"{V1}/apikeys", json={"role": "till", "expires_at": expires_at},
                 headers=api.admin)
    assert r.status_code == 422, r.text
    assert len(api.prog.api_keys()) == 1


def test_keys_are_listed_without_their_secret(api):
    api.prog.add_partner("fuel", "Fuel")
    till = api.prog.create_api_key("till", name="lane 3")
    until = datetime(2999, 1, 1, tzinfo=UTC)
    partner = api.prog.create_api_key("partner", "fuel", "fuel pos", expires_at=until)
    api.prog.revoke_api_key(till.split("_")[1])
    r = api.get(f"{V1}/apikeys", headers=api.admin)
    assert r.status_code == 200
    rows = r.json()
    assert [(k["name"], k["role"], k["partner_id"], k["expires_at"], k["revoked_at"] is None)
            for k in rows] == [("ops", "admin", None, None, True),
                               ("lane 3", "till", None, None, False),
                               ("fuel pos", "partner", "fuel", "2999-01-01T00:00:00Z", True)]
    assert [k["key_id"] for k in rows] == [
        k.split("_")[1] for k in (api.admin["Authorization"][7:], till, partner)]
    assert set(rows[0]) == {"key_id", "name", "role", "partner_id", "created_at",
                            "expires_at", "revoked_at"}
    for key in (api.admin["Authorization"][7:], till, partner):
        secret = key.split("_", 2)[2]
        assert secret not in r.text
    assert "hash" not in r.text


def test_a_key_revoked_in_one_server_process_is_refused_by_the_others_at_once(api, db_url):
    """Two apps on one database stand for two server processes: a key used on the second
    (so that any cache there holds it) and revoked on the first is refused by the second on
    its very next request."""
    from conftest import make_programme

    other = make_programme(db_url)
    second = TestClient(create_app(other))
    try:
        key = api.prog.create_api_key("till")
        for _ in range(3):
            assert second.get(f"{V1}/tiers", headers=bearer(key)).status_code == 200
        r = api.delete(f"{V1}/apikeys/{key.split('_')[1]}", headers=api.admin)
        assert r.status_code == 200
        r = second.get(f"{V1}/tiers", headers=bearer(key))
        assert r.status_code == 401, r.text        # was 200 for up to 5 s (a cache)
        assert r.json()["error"]["message"] == "unknown or revoked API key"
        # with a body too (authenticated before the body is read)
        assert second.post(f"{V1}/members", json={"member_id": "m1"},
                           headers=bearer(key)).status_code == 401
    finally:
        other.close()


def test_requests_refused_for_their_content_are_422_and_replayed_as_422(api):
    """The docs: 422 for an invalid request. The programme's own checks (cvm's InputError)
    answered 400 before; only a request the HTTP layer cannot read is 400."""
    prog = api.prog
    prog.add_rule("base", points_per_step=10, step=100)
    prog.add_partner("fuel", "Fuel")
    prog.create_member("m1")
    prog.earn("m1", "s1", "100")
    cases = [
        ("POST", "/members/m1/redeem", {"points": 5, "item": "mug"},
         "give points or a catalogue item to redeem, not both"),
        ("POST", "/members/m1/refund", {"transaction_id": "s1", "amount": "150"},
         "refund amount 150.00 must be above 0 and at most the 100.00 not yet refunded"),
        ("POST", "/partners/fuel/rates", {"earn_rate": "0.01", "burn_rate": "0.01",
                                          "valid_from": "2025-02-01", "valid_to": "2025-01-01"},
         "rate valid_to 2025-01-01 is before valid_from 2025-02-01"),
        ("POST", "/partners/fuel/settlements", {"month": "2999-01"},
         "month 2999-01 has not ended yet; settle it from 2999-02-01"),
        ("POST", "/apikeys", {"role": "till", "partner_id": "fuel"},
         "a partner key needs --partner ID, and only a partner key takes one"),
    ]
    for method, path, body, message in cases:
        r = api.request(method, V1 + path, json=body, headers=api.admin)
        assert (r.status_code, r.json()) == (422, {"error": {"code": "input_error",
                                                             "message": message}}), path
    # a refused write stored under its Idempotency-Key is replayed with the same status
    for attempt in range(2):
        r = api.post(f"{V1}/members/m1/redeem", json={"points": 5, "item": "mug"},
                     headers={**api.admin, "Idempotency-Key": "k1"})
        assert r.status_code == 422
        assert r.headers.get("idempotent-replayed") == (None if attempt == 0 else "true")
    # the one 400: a Content-Length that is not a number
    r = api.post(f"{V1}/members", content=b'{"member_id": "m2"}', headers={
        **api.admin, "Content-Type": "application/json", "Content-Length": "twenty"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request")
    doc = api.get("/openapi.json").json()
    assert "422" in doc["paths"]["/api/v1/members/{member_id}/redeem"]["post"]["responses"]

"""REST API hardening: the key is checked before the body is read, body size limit, strict
JSON, refusals that leak nothing, private reads, and the points bound."""

from __future__ import annotations

import anyio
import pytest
from fastapi.testclient import TestClient

from cvm.api import create_app

V1 = "/api/v1"
MB = 1024 * 1024


@pytest.fixture
def api(tmp_path):
    from conftest import make_programme

    prog = make_programme(f"sqlite:///{tmp_path / 'p.db'}", return_window_days=0)
    prog.add_rule("base", points_per_step=10, step=100)
    client = TestClient(create_app(prog))
    client.keys = {r: prog.create_api_key(r) for r in ("admin", "staff", "till")}
    client.prog = prog
    yield client
    prog.close()


def auth(api, role="admin", **extra):
    return {"Authorization": f"Bearer {api.keys[role]}", **extra}


def call(app, headers: dict[str, str], chunks: int, chunk: int = MB):
    """POST an earn straight to the ASGI app with a body of `chunks` x `chunk` bytes, made
    only as the app reads it: (status, body, number of chunks the app read)."""
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read += 1
        if read > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b" " * chunk, "more_body": read < chunks}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": f"{V1}/members/m1/earn",
             "raw_path": f"{V1}/members/m1/earn".encode(), "root_path": "",
             "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


JSON = {"Content-Type": "application/json"}


def test_no_key_is_401_before_a_60_mb_body_is_read(api):
    for framing in ({"Content-Length": str(60 * MB)}, {"Transfer-Encoding": "chunked"}):
        for key in ({}, {"Authorization": "Bearer cvm_000000000000_wrong"}):
            status, body, read = call(api.app, {**JSON, **framing, **key}, chunks=60)
            assert (status, read) == (401, 0), (framing, key, body)
            assert b'"code":"unauthorized"' in body


def test_a_key_with_a_body_over_64_kib_is_413_reading_no_more_than_the_limit(api):
    headers = {**JSON, "Authorization": f"Bearer {api.keys['till']}"}
    # announced: refused before a byte is read
    status, body, read = call(api.app, {**headers, "Content-Length": str(60 * MB)}, chunks=60)
    assert (status, read) == (413, 0)
    assert body == (b'{"error":{"code":"too_large","message":"the request body is larger '
                    b'than 65536 bytes"}}')
    # chunked: refused at the first chunk past the limit, the other 59 MB never read
    status, _, read = call(api.app, {**headers, "Transfer-Encoding": "chunked"}, chunks=60)
    assert (status, read) == (413, 1)
    status, _, read = call(api.app, {**headers, "Transfer-Encoding": "chunked"}, chunks=70,
                           chunk=1024)
    assert (status, read) == (413, 65)
    # through a real client: a large body, and a large chunked one (a generator)
    big = b'{"transaction_id": "t1", "amount": "1", "product": "' + b"x" * 70_000 + b'"}'
    r = api.post(f"{V1}/members/m1/earn", content=big, headers={**JSON, **auth(api, "till")})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "too_large")
    r = api.post(f"{V1}/members/m1/earn", content=(big[i:i + 4096]
                                                   for i in range(0, len(big), 4096)),
                 headers={**JSON, **auth(api, "till")})
    assert r.status_code == 413
    # a body within the limit goes on to the route
    r = api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api, "till"))
    assert r.status_code == 201


def test_an_empty_idempotency_key_is_refused(api):
    r = api.post(f"{V1}/members", json={"member_id": "m1"},
                 headers=auth(api, **{"Idempotency-Key": ""}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["message"].startswith("header.Idempotency-Key: String should")
    assert api.prog.partners() == [] and api.get(
        f"{V1}/members/m1", headers=auth(api)).status_code == 404


def test_a_409_names_no_other_member_operation_or_database_text(api):
    for m in ("m1", "m2"):
        api.post(f"{V1}/members", json={"member_id": m}, headers=auth(api))
    assert api.post(f"{V1}/members/m1/earn", json={"transaction_id": "t1", "amount": "100"},
                    headers=auth(api, "till")).status_code == 201
    r = api.post(f"{V1}/members/m2/earn", json={"transaction_id": "t1", "amount": "100"},
                 headers=auth(api, "till"))
    assert r.status_code == 409
    assert r.json()["error"] == {"code": "conflict", "message": (
        "transaction 't1' was already booked; it is not booked twice. Resend with the same "
        "Idempotency-Key to get the first answer.")}
    # a catalogue item of an unknown tier: the database refuses it (a foreign key)
    r = api.put(f"{V1}/catalogue/mug", json={"name": "Mug", "points": 5,
                                             "min_tier_code": "nope"}, headers=auth(api))
    assert r.status_code == 409
    assert r.json()["error"] == {"code": "conflict", "message": (
        "the write clashes with stored data or refers to something that does not exist; "
        "nothing was booked")}


def test_a_month_past_the_calendar_is_422_not_500(api):
    api.post(f"{V1}/partners", json={"partner_id": "pa", "name": "A"}, headers=auth(api))
    r = api.post(f"{V1}/partners/pa/settlements", json={"month": "9999-12"}, headers=auth(api))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "input_error")
    assert "before 9999-12" in r.json()["error"]["message"]


@pytest.mark.parametrize("value", [True, "5", 5.0, None])
def test_points_are_strict_whole_numbers(api, value):
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api))
    r = api.post(f"{V1}/members/m1/adjust", json={"points": value, "reason": "x"},
                 headers=auth(api))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("points: Input should be a valid integer")


def test_a_json_key_given_twice_is_refused(api):
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api))
    r = api.post(f"{V1}/members/m1/adjust", content=b'{"points": 1, "reason": "x", '
                 b'"points": 900}', headers={**JSON, **auth(api)})
    assert r.status_code == 422
    assert r.json()["error"] == {"code": "invalid_request",
                                 "message": "the JSON body has the key 'points' twice"}
    assert api.prog.balance("m1")["total"] == 0


def test_private_reads_are_not_cached_and_nothing_is_sniffed(api):
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api))
    for path in ("balance", "statement"):
        r = api.get(f"{V1}/members/m1/{path}", headers=auth(api))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    for r in (api.get(f"{V1}/tiers", headers=auth(api)), api.get(f"{V1}/nowhere"),
              api.get("/openapi.json"), api.post(f"{V1}/members", json={}),
              api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api))):
        assert r.headers["x-content-type-options"] == "nosniff", r.request.url


def test_points_past_the_bound_are_422_and_book_nothing(api):
    api.prog.add_rule("huge", points_per_step=10_000, step="0.01")
    api.post(f"{V1}/members", json={"member_id": "m1"}, headers=auth(api))
    for i in range(3):
        r = api.post(f"{V1}/members/m1/earn", json={"transaction_id": f"t{i}",
                                                    "amount": "999999999999.99"},
                     headers=auth(api, "till"))
        assert (r.status_code, r.json()["error"]["code"]) == (422, "points_limit")
    assert api.get(f"{V1}/members/m1/balance", headers=auth(api)).json()["total"] == 0
    assert api.get(f"{V1}/reports/breakage", headers=auth(api)).json()["issued"] == 0
    assert api.prog.audit() == []

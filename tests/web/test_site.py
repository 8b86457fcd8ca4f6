"""The site's sessions, CSRF, login limits, security headers, languages and role checks,
over HTTP with a test client on a small hand-made workspace (value numbers hand-computed)."""

from __future__ import annotations

import re

import pytest

from conftest import write_csv
from page_helpers import PASSWORD, client, csrf_of, login


@pytest.fixture
def site(ws, tmp_path):
    # five customers; a buys 100 x 10 = 1,000, the rest 10, 20, 30, 40: with 5 customers
    # the VIP tier (top 1%, at least one customer) is customer a alone
    write_csv(tmp_path / "c.csv", """
customer_id,relationship_type,region
a,business,north
b,consumer,north
c,consumer,south
d,consumer,south
e,consumer,east
""")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount,brand\n" + "".join(
        f"a,2024-10-{d:02d} 10:00,100,Aurora\n" for d in range(1, 11)) + """
b,2024-10-02 10:00,10,Aurora
c,2024-10-03 10:00,20,Borealis
d,2024-10-04 10:00,30,Borealis
e,2024-10-05 10:00,40,Aurora
""")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws = ws.with_settings(**{"web.login_failures": 2})
    for name, role in [("root", "admin"), ("boss", "manager"), ("ana", "analyst"),
                       ("li.wei", "staff")]:
        ws.users.add(name, PASSWORD, role)
    return ws


def test_pages_need_a_login_and_come_back_to_the_page_asked_for(site):
    c = client(site)
    r = c.get("/value?as_of=2024-10-31")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fvalue%3Fas_of%3D2024-10-31"
    r = login(c, "boss", next_="/value")
    assert r.status_code == 303 and r.headers["location"] == "/value"
    cookie = r.headers["set-cookie"]
    assert "cvm_session=" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "SameSite=lax" in cookie and "Max-Age=28800" in cookie and "Secure" not in cookie
    assert c.get("/value").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "javascript:alert(1)"])
def test_the_page_after_login_is_never_on_another_host(site, target):
    r = login(client(site), "boss", next_=target)
    assert r.headers["location"] == "/"


def test_login_without_its_csrf_token_is_refused(site):
    c = client(site)
    c.get("/login")
    r = c.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403 and "set-cookie" not in r.headers or \
        "cvm_session" not in r.headers.get("set-cookie", "")
    fresh = client(site)   # no login cookie at all (a form posted from elsewhere)
    r = fresh.post("/login", data={"username": "boss", "password": PASSWORD,
                                   "csrf_token": "x"})
    assert r.status_code == 403 and "cvm_session" not in r.headers.get("set-cookie", "")


def test_wrong_passwords_are_limited(site):
    c = client(site)
    assert login(c, "boss", "wrong one").status_code == 401
    assert login(c, "boss", "wrong two").status_code == 401
    r = login(c, "boss")        # the limit is 2: now even the right password waits
    assert r.status_code == 429 and "cvm_session" not in r.headers.get("set-cookie", "")
    assert "Too many failed logins" in r.text


def test_forms_of_a_session_need_its_csrf_token(site):
    c = client(site)
    login(c, "boss")
    page = c.get("/value")
    token = csrf_of(page.text)
    assert c.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert c.get("/value").status_code == 200           # still logged in
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/value").status_code == 303           # the session is gone


def test_security_headers_allow_no_other_origin(site):
    c = client(site)
    for r in (c.get("/login"), c.get("/api/v1/opportunities?as_of=2024-10-31")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "http" not in csp and "*" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
    page = c.get("/login").text
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script>" not in page          # no inline script: only files of ours


ROLE_PAGES = {
    # page -> roles that may open it
    "/": {"admin", "manager", "analyst", "staff"},
    "/value": {"admin", "manager", "analyst"},
}


@pytest.mark.parametrize("role,user", [("admin", "root"), ("manager", "boss"),
                                       ("analyst", "ana"), ("staff", "li.wei")])
def test_each_page_checks_the_role(site, role, user):
    c = client(site)
    login(c, user)
    for path, roles in ROLE_PAGES.items():
        r = c.get(path)
        assert r.status_code == (200 if role in roles else 403), (role, path)
        if r.status_code == 403:
            assert "Not allowed" in r.text and "<html" in r.text   # a page, not JSON


def test_value_page_numbers_equal_the_facade(site):
    c = client(site)
    login(c, "ana")
    html = c.get("/value").text
    row = re.search(r'<tr data-tier="vip">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-field="customers">1<', row)          # customer a alone
    tiers = {r["tier"]: r["customers"] for r in site.value.tiers().to_pylist()}
    assert tiers["vip"] == 1 and sum(tiers.values()) == 5


def test_language_switches_and_is_remembered(site):
    c = client(site)
    login(c, "ana")
    assert "Pareto value tiers" in c.get("/value").text
    zh = c.get("/value?lang=zh").text
    assert 'lang="zh-CN"' in zh and "帕累托价值分层" in zh
    assert "帕累托价值分层" in c.get("/value").text       # remembered for the session
    assert c.get("/value?lang=fr").status_code == 422
    assert "Pareto value tiers" in c.get("/value?lang=en").text


def test_default_language_comes_from_the_setting(site):
    c = client(site.with_settings(language="zh-CN"))
    login(c, "ana")
    assert 'lang="zh-CN"' in c.get("/value").text
    assert 'lang="zh-CN"' in client(site.with_settings(language="zh-CN")).get("/login").text

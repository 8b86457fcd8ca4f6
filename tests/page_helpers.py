"""Logging in to the pages from a test client (tests/web)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse"


def client(ws) -> TestClient:
    from cvm.web import create_site

    return TestClient(create_site(ws), follow_redirects=False)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(c: TestClient, name: str, password: str = PASSWORD, next_: str = "/"):
    form = c.get("/login")
    return c.post("/login", data={"username": name, "password": password, "next": next_,
                                  "csrf_token": csrf_of(form.text)})

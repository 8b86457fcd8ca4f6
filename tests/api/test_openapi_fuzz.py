"""Schemathesis against the published OpenAPI schema: no request makes a 5xx.

Every operation is called with schema-generated data under an admin key (so requests get
past authentication into validation and the ledger) on a seeded demo programme.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (dev extra) needed")

from hypothesis import HealthCheck, settings  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def api_schema(tmp_path):
    from conftest import make_programme
    from cvm.api import create_app

    prog = make_programme(f"sqlite:///{tmp_path / 'p.db'}", return_window_days=0)
    prog.seed_demo()
    prog.create_member("m1")
    prog.adjust("m1", 10_000, "float for generated redemptions")
    app = create_app(prog)
    app.state.admin_key = prog.create_api_key("admin")
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    prog.close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case):
    key = case.operation.schema.app.state.admin_key
    response = case.call(headers={"Authorization": f"Bearer {key}"})
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body

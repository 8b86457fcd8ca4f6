"""Staff's work over REST: a staff key (named for its person) sees and changes only its own
opportunities and cases (another's is 403); an admin key sees all, control group too."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import write_csv
from cvm.api import create_app
from cvm.opportunities import store as opp_store

V1 = "/api/v1"
DAY = dt.date(2024, 10, 31)


@pytest.fixture
def api(ws, tmp_path, db_url):
    write_csv(tmp_path / "c.csv", "customer_id,relationship_type,region,account_manager\n"
                                  "b1,business,south,zhao\nc1,consumer,north,\n")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount\nb1,2024-09-01,100\n"
                                  "c1,2024-09-02,50\n")
    write_csv(tmp_path / "i.csv", """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at
i1,c1,call_centre,complaint,2024-10-02 09:00:00,2024-10-02 09:00:10
i2,b1,call_centre,complaint,2024-10-05 11:00:00,2024-10-05 11:00:05
""")
    for table, name in (("customers", "c"), ("transactions", "t"), ("interactions", "i")):
        ws.import_file(table, tmp_path / f"{name}.csv")
    ws = ws.with_settings(**{"programme.database_url": db_url})
    ws.cases.open(DAY, since="2024-10-01")
    plan = pd.DataFrame([
        {"opportunity_id": f"o-{cid}", "as_of": DAY, "customer_id": cid,
         "kind": "retention_call", "line": None, "priority": p, "action": "Call",
         "channel": "phone", "owner": owner, "due": DAY, "expires": DAY, "control": control,
         "status": "control" if control else "open",
         "evidence": {"churn_probability": 0.4, "revenue_potential": 100.0}}
        for cid, owner, p, control in (("b1", "zhao", 40.0, False),
                                       ("c1", "branch:north", 20.0, False),
                                       ("c2", "zhao", 10.0, True))])
    opp_store.save_plan(ws.opportunities.store, DAY, plan)
    prog = ws.programme
    keys = {"admin": prog.create_api_key("admin"),
            "zhao": prog.create_api_key("staff", name="zhao"),
            "north": prog.create_api_key("staff", name="branch:north"),
            "nameless": prog.create_api_key("staff"),
            "till": prog.create_api_key("till")}
    client = TestClient(create_app(prog))
    client.keys = keys
    yield client
    prog.close()


def h(api, who, key=None):
    out = {"Authorization": f"Bearer {api.keys[who]}"}
    if key:
        out["Idempotency-Key"] = key
    return out


def test_each_sees_their_own_opportunities(api):
    mine = api.get(f"{V1}/opportunities", params={"as_of": "2024-10-31"}, headers=h(api, "zhao"))
    assert mine.status_code == 200
    assert [r["opportunity_id"] for r in mine.json()] == ["o-b1"]  # c2 is control: never shown
    assert mine.json()[0]["reason"] == "Likelihood to cancel 0.40; CLV 100"
    zh = api.get(f"{V1}/opportunities", params={"as_of": "2024-10-31", "lang": "zh-CN"},
                 headers=h(api, "zhao"))
    assert zh.json()[0]["reason"] == "流失概率 0.40；客户终身价值 100"
    every = api.get(f"{V1}/opportunities", params={"as_of": "2024-10-31"},
                    headers=h(api, "admin"))
    assert [r["opportunity_id"] for r in every.json()] == ["o-b1", "o-c1", "o-c2"]
    assert api.get(f"{V1}/opportunities", params={"as_of": "2024-10-31"},
                   headers=h(api, "till")).status_code == 403
    assert api.get(f"{V1}/opportunities", params={"as_of": "2024-10-31"},
                   headers=h(api, "nameless")).status_code == 403


def test_outcomes_only_on_your_own_and_idempotent(api):
    url = f"{V1}/opportunities/o-c1/outcomes"
    body = {"outcome": "declined", "reason_code": "too_expensive"}
    assert api.post(url, json=body, headers=h(api, "zhao", "k1")).status_code == 403
    first = api.post(url, json=body, headers=h(api, "north", "k1"))
    assert first.status_code == 201 and first.json()["recorded_by"] == "branch:north"
    again = api.post(url, json=body, headers=h(api, "north", "k1"))
    assert again.json()["outcome_id"] == first.json()["outcome_id"]
    bad = api.post(url, json={"outcome": "maybe"}, headers=h(api, "north"))
    assert bad.status_code == 422
    assert api.post(f"{V1}/opportunities/nope/outcomes", json=body,
                    headers=h(api, "admin")).status_code == 404


def test_cases_are_each_owners_own(api):
    zhao = api.get(f"{V1}/cases", headers=h(api, "zhao")).json()
    north = api.get(f"{V1}/cases", headers=h(api, "north")).json()
    # each customer's complaint, and its breach of the 2-day resolution standard
    assert [c["customer_id"] for c in zhao] == ["b1", "b1"]
    assert [c["customer_id"] for c in north] == ["c1", "c1"]
    assert len(api.get(f"{V1}/cases", headers=h(api, "admin")).json()) == 4
    other = north[0]["case_id"]
    r = api.patch(f"{V1}/cases/{other}", json={"status": "in_progress"},
                  headers=h(api, "zhao"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ok = api.patch(f"{V1}/cases/{other}", json={"status": "in_progress"},
                   headers=h(api, "north"))
    assert ok.status_code == 200 and ok.json()[0]["status"] == "in_progress"
    no_cause = api.patch(f"{V1}/cases/{other}", json={"status": "resolved", "action": "x"},
                         headers=h(api, "north"))
    assert no_cause.status_code == 422 and "root cause" in no_cause.json()["error"]["message"]
    done = api.patch(f"{V1}/cases/{other}", json={"status": "resolved",
                                                  "root_cause": "process",
                                                  "action": "called back"},
                     headers=h(api, "north"))
    assert done.status_code == 200 and done.json()[0]["root_cause"] == "process"

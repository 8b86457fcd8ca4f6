"""A small workspace whose KPIs for March 2024 are worked out by hand in test_formulas.py.

Seven customers with contracts; c5 joins in March; c2 and c3 leave in March (our fault,
arrears), c6 left in February (to a competitor); c7's contract ends in April, after the
as-of day, so on 2024-03-31 it still runs. Rows dated after the as-of day (a purchase, an
answer, a complaint) must change nothing.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from tests.conftest import write_csv

from cvm import Workspace
from cvm.config import Settings, ValueSettings

AS_OF = dt.date(2024, 3, 31)


def build(path) -> Workspace:
    settings = Settings(value=ValueSettings(vip_share=0.1, major_share=0.25,
                                            ordinary_share=0.3))
    ws = Workspace.init(path / "ws", settings)
    files = path / "files"
    files.mkdir()
    ws.import_file("customers", write_csv(files / "customers.csv", """
customer_id,signup_date,region
c1,2023-01-01,north
c2,2023-01-01,north
c3,2023-06-01,south
c4,2023-06-01,south
c5,2024-03-05,north
c6,2023-01-01,south
c7,2023-01-01,north
"""))
    ws.import_file("contracts", write_csv(files / "contracts.csv", """
customer_id,start,end,end_reason
c1,2023-01-01,,
c2,2023-01-01,2024-03-10,active_our_fault
c3,2023-06-01,2024-03-20,passive_non_malicious
c4,2023-06-01,,
c5,2024-03-05,,
c6,2023-01-01,2024-02-15,active_competitive
c7,2023-01-01,2024-04-10,active_natural
"""))
    ws.import_file("transactions", write_csv(files / "transactions.csv", """
transaction_id,customer_id,timestamp,amount,cost
t1,c1,2024-03-03 10:00:00,500,300
t2,c1,2024-01-10 10:00:00,300,200
t3,c2,2024-03-01 09:00:00,200,100
t4,c3,2024-02-10 12:00:00,100,50
t5,c4,2023-12-01 12:00:00,50,20
t6,c5,2024-03-06 12:00:00,100,60
t7,c7,2024-04-02 12:00:00,999,0
t8,c6,2023-12-20 12:00:00,80,40
"""))
    ws.import_file("survey_items", write_csv(files / "items.csv", """
survey,item,construct,scale_min,scale_max
relationship,nps,nps,0,10
relationship,sat,satisfaction,1,5
"""))
    ws.import_file("survey_responses", write_csv(files / "answers.csv", """
respondent_id,customer_id,survey,item,answer,timestamp
r1,c1,relationship,nps,10,2024-03-10 12:00:00
r1,c1,relationship,sat,5,2024-03-10 12:00:00
r2,c2,relationship,nps,9,2024-03-02 12:00:00
r2,c2,relationship,sat,4,2024-03-02 12:00:00
r3,c3,relationship,nps,7,2024-03-12 12:00:00
r3,c3,relationship,sat,3,2024-03-12 12:00:00
r4,c4,relationship,nps,3,2024-03-21 12:00:00
r4,c4,relationship,sat,1,2024-03-21 12:00:00
r5,c5,relationship,nps,6,2024-03-30 12:00:00
r5,c5,relationship,sat,2,2024-03-30 12:00:00
r6,c1,relationship,nps,10,2024-02-10 12:00:00
r6,c1,relationship,sat,5,2024-02-10 12:00:00
r7,c7,relationship,nps,0,2024-04-05 12:00:00
r7,c7,relationship,sat,1,2024-04-05 12:00:00
"""))
    ws.import_file("interactions", write_csv(files / "interactions.csv", """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at,resolved_at,outcome
i1,c1,call_centre,inquiry,2024-03-05 10:00:00,2024-03-05 10:00:10,2024-03-05 10:05:00,resolved
i2,c2,call_centre,complaint,2024-03-06 10:00:00,2024-03-06 10:00:30,2024-03-07 10:00:00,resolved
i3,c4,call_centre,complaint,2024-03-20 09:00:00,2024-03-20 09:00:05,2024-03-25 09:00:00,resolved
i4,c3,call_centre,inquiry,2024-02-10 10:00:00,2024-02-10 10:00:05,2024-02-10 10:10:00,resolved
i5,c5,call_centre,complaint,2024-03-30 10:00:00,2024-03-30 10:00:05,,open
i6,c1,call_centre,complaint,2024-04-02 10:00:00,2024-04-02 10:00:40,,open
"""))
    return ws


#: Scores of the month as a monthly run would store them (made by hand here).
SCORES = [  # customer, value_tier, revenue_potential, churn_probability, loyalty class
    ("c1", "vip", 100.0, 0.1, "loyal"),
    ("c2", "major", 200.0, 0.5, "general"),
    ("c3", "small", 300.0, 0.3, None),
    ("c4", "small", 400.0, 0.2, None),
]


def save_scores(ws: Workspace, day: dt.date = AS_OF) -> None:
    rows = []
    for cid, tier, clv, churn, loyal in SCORES:
        rows.append((cid, "value_tier", None, tier))
        rows.append((cid, "revenue_potential", clv, None))
        rows.append((cid, "churn_probability", churn, None))
        if loyal:
            rows.append((cid, "loyalty", 0.5, loyal))
    table = pa.table({
        "customer_id": [r[0] for r in rows], "as_of": [day] * len(rows),
        "score": [r[1] for r in rows], "value": pa.array([r[2] for r in rows], pa.float64()),
        "label": pa.array([r[3] for r in rows], pa.string()), "version": ["1"] * len(rows)})
    ws.save_result("score_history", table, mode="append", partition=day.isoformat())


@pytest.fixture
def kpi_ws(tmp_path) -> Workspace:
    """The hand-checked workspace, with the month's scores stored."""
    ws = build(tmp_path)
    save_scores(ws)
    return ws

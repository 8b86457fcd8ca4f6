"""Each KPI formula on the hand-checked workspace of conftest.py, as of 2024-03-31 (the
month: 1-31 March; the day before it: 29 February). Every expected value is worked out
from the rows in conftest.py in the comment beside it."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import write_csv
from tests.kpi.conftest import AS_OF, build, save_scores

from cvm import Workspace

# Active on 29 Feb (a contract running: started by then, no end or an end after it):
# c1, c2, c3, c4, c7 (c5 starts 5 Mar, c6 ended 15 Feb) -> 5.
# Active on 31 Mar: c1, c4, c5, c7 (c7's end on 10 Apr is not known on 31 Mar) -> 4.
# Kept: c1, c4, c7 -> retention 3/5; lost: c2 (active_our_fault), c3 (passive_...).
EXPECTED = {
    "retention_rate": 3 / 5,
    "churn_rate": 2 / 5,
    "churn_our_fault": 1 / 5,                # c2
    "churn_passive": 1 / 5,                  # c3, reason passive_non_malicious
    "churn_competitive": 0.0,                # c6 left in February, not in the base
    "churn_natural": 0.0,                    # c7 leaves in April
    "active_customers": 4.0,
    "new_customers": 1.0,                    # c5 signed up on 5 Mar
    # scores (conftest.SCORES): vip c1, major c2 -> of the two active on 29 Feb, c1 kept
    "retention_vip_major": 1 / 2,
    # value over the 12 months to 31 Mar (t7 on 2 Apr left out): c1 800, c2 200, c3 100,
    # c4 50, c5 100, c6 80, c7 0 -> total 1,330; 7 customers: VIP is rank r = 0 (r < 0.1 x 7),
    # major r = 1 (r < 0.25 x 7), so c1 and c2: (800 + 200) / 1,330
    "vip_major_revenue_share": 1000 / 1330,
    "vip_customers": 1.0,
    "major_customers": 1.0,
    # profit = revenue - cost - 4 per call-centre interaction (default cost to serve):
    # c1 800-500-4 = 296, c2 200-100-4 = 96, c3 100-50-4 = 46, c4 50-20-4 = 26,
    # c5 100-60-4 = 36, c6 80-40 = 40, c7 0 -> 540; (296 + 96) / 540
    "vip_major_profit_share": 392 / 540,
    "revenue_month": 500.0 + 200.0 + 100.0,  # t1, t3, t6 (t7 is in April)
    # revenue_potential 100, 200, 300, 400
    "total_clv": 1000.0,
    "clv_per_customer": 250.0,
    "clv_vip_major_share": (100 + 200) / 1000,
    "clv_at_risk_share": (200 + 300) / 1000,  # churn_probability >= 0.3: c2 0.5, c3 0.3
    # March NPS answers 10, 9, 7, 3, 6 (r7's 0 is in April): promoters 2, detractors 2
    "nps": 100 * (2 - 2) / 5,
    "promoters_share": 2 / 5,
    "detractors_share": 2 / 5,
    "survey_answers": 5.0,
    # satisfaction 5, 4, 3, 1, 2 on 1-5 -> (a - 1) / 4 x 100 = 100, 75, 50, 0, 25
    "satisfaction_index": (100 + 75 + 50 + 0 + 25) / 5,
    "loyal_share": 1 / 2,                    # loyalty classes: c1 loyal, c2 general
    # complaints opened in March: i2, i3, i5 (i6 is in April) over the customers active in
    # March (a purchase, an interaction or a contract running in it): c1, c2, c3, c4, c5,
    # c7 -> 3 / 6 per 1,000
    "complaint_rate": 3 / 6 * 1000,
    "complaints": 3.0,
    # first response within 15 s: i1 10 s met, i2 30 s breached, i3 5 s met, i5 5 s met;
    # complaints resolved within 2 days: i2 1 day met, i3 5 days breached, i5 open for 38 h
    # on 31 Mar: pending -> (3 + 1) met of (4 + 2) decided
    "service_compliance": 4 / 6,
    "first_response_compliance": 3 / 4,
    "resolution_compliance": 1 / 2,
    "breaches": 2.0,
}


@pytest.fixture(scope="module")
def values(tmp_path_factory):
    ws = build(tmp_path_factory.mktemp("kpi"))
    save_scores(ws)
    return ws.kpi.values(AS_OF)


@pytest.mark.parametrize("kpi", sorted(EXPECTED))
def test_formula_by_hand(values, kpi):
    value, note = values[kpi]
    assert value == pytest.approx(EXPECTED[kpi], abs=1e-12), note


def test_the_month_before(kpi_ws):
    v = kpi_ws.kpi.values("2024-02-29")
    # active on 31 Jan: c1, c2, c3, c4, c6, c7; on 29 Feb c6 is gone (competitor)
    assert v["retention_rate"][0] == pytest.approx(5 / 6)
    assert v["churn_competitive"][0] == pytest.approx(1 / 6)
    # February's one answer: r6, 10 -> NPS 100; satisfaction 5 -> 100
    assert v["nps"][0] == 100.0
    assert v["satisfaction_index"][0] == 100.0
    # no scores stored for 29 Feb: the score-based nodes have no value, and say why
    value, note = v["total_clv"]
    assert value is None and "cvm score run --as-of 2024-02-29" in note


def test_programme_members(kpi_ws):
    prog = kpi_ws.programme
    prog.init()
    prog.create_member("c1")
    prog.create_member("c6")
    v = kpi_ws.kpi.values(AS_OF)
    # c1 bought on 3 Mar, within the 90 days to 31 Mar (from 2 Jan); c6 last on 20 Dec
    assert v["programme_activity"][0] == 1 / 2
    assert v["members"][0] == 2.0
    assert v["members_in_tier"][0] == 0.0  # no tiers defined: nobody is in one
    # the operational database exists now: no case opened yet in March
    assert v["cases_opened"][0] == 0.0
    assert v["cases_resolved_share"][0] is None
    prog.close()


def test_absent_data_is_no_data_not_an_error(tmp_path):
    """Only transactions: no contracts, surveys, interactions, scores or programme."""
    ws = Workspace.init(tmp_path / "ws")
    ws.import_file("transactions", write_csv(tmp_path / "t.csv", """
customer_id,timestamp,amount
a,2023-06-01,10
a,2024-03-02,20
b,2023-05-01,30
b,2024-02-15,40
c,2024-03-20,50
"""))
    tree = ws.kpi.compute("2024-03-31")
    nodes = {n["id"]: n for n in _walk(tree)}
    for kpi in ("nps", "satisfaction_index", "complaint_rate", "service_compliance",
                "total_clv", "programme_activity", "churn_our_fault", "loyal_share"):
        assert nodes[kpi]["value"] is None, kpi
        assert nodes[kpi]["status"] == "no_data", kpi
        assert nodes[kpi]["note"], kpi
    # no contracts: active = a purchase in the 365 days to the day. On 29 Feb: a (1 Jun),
    # b (1 May, 15 Feb); on 31 Mar: a, b, c -> both kept
    assert nodes["retention_rate"]["value"] == 1.0
    assert nodes["active_customers"]["value"] == 3.0
    assert nodes["new_customers"]["value"] == 1.0  # c: first purchase on 20 Mar
    assert not (tmp_path / "ws" / "programme.db").exists()  # reading created nothing


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_previous_month_end_is_the_month_end_before():
    from cvm.kpi.facade import previous_month_end

    assert previous_month_end(dt.date(2024, 3, 31)) == dt.date(2024, 2, 29)
    assert previous_month_end(dt.date(2024, 1, 15)) == dt.date(2023, 12, 31)


@pytest.mark.slow
def test_the_same_values_on_each_engine(tmp_path, engine):
    """Every hand-checked value again, computed on DuckDB and on local Spark."""
    ws = build(tmp_path)
    save_scores(ws)
    got = ws.with_settings(engine=engine).kpi.values(AS_OF)
    for kpi, want in EXPECTED.items():
        assert got[kpi][0] == pytest.approx(want, abs=1e-12), (kpi, got[kpi][1])

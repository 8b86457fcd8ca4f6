"""Behavioural loyalty indicators per customer, hand-computed on a two-customer workspace."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app
from cvm.survey import customer_indicators

# w1 (wallet 200) buys 2024-01-15 (50), 2024-01-20 (30), 2024-03-01 (20) and complains on
# 2024-02-01; w2 (wallet 0) buys 2024-03-31 (100), the latest day in the data (as-of).


@pytest.fixture
def ind_ws(ws, tmp_path):
    write_csv(tmp_path / "c.csv", "customer_id,wallet\nw1,200\nw2,0\n")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount\nw1,2024-01-15,50\n"
              "w1,2024-01-20,30\nw1,2024-03-01,20\nw2,2024-03-31,100\n")
    write_csv(tmp_path / "i.csv", "customer_id,touchpoint,kind,opened_at\n"
              "w1,web,complaint,2024-02-01\nw1,web,inquiry,2024-02-02\n")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws.import_file("interactions", tmp_path / "i.csv")
    return ws


def test_indicators_hand_computed(ind_ws):
    t = customer_indicators(ind_ws).to_pandas().set_index("customer_id")
    w1 = t.loc["w1"]
    # 2024-01-15 to 2024-03-31: 16 + 29 + 31 = 76 days = 76 / 30.436875 months
    assert w1["tenure_months"] == pytest.approx(76 / 30.436875)
    assert w1["recency_days"] == 30  # 2024-03-01 to 2024-03-31
    assert w1["purchase_days"] == 3
    assert w1["repeat_rate"] == pytest.approx(2 / 3)  # bought in Jan and Mar of Jan-Mar
    assert w1["purchases_per_month"] == pytest.approx(1.0)  # 3 days over 3 months
    assert (w1["revenue"], w1["complaints"]) == (100.0, 1)
    assert w1["share_of_wallet"] == pytest.approx(0.5)  # 100 / 200
    assert str(w1["first_purchase"])[:10] == "2024-01-15"
    w2 = t.loc["w2"]
    assert (w2["tenure_months"], w2["recency_days"], w2["repeat_rate"]) == (0.0, 0, 1.0)
    assert w2["share_of_wallet"] != w2["share_of_wallet"]  # wallet 0: no share (NaN)


def test_indicators_as_of_an_earlier_day(ind_ws):
    t = customer_indicators(ind_ws, dt.date(2024, 2, 29)).to_pandas().set_index("customer_id")
    assert list(t.index) == ["w1"]  # w2 had not bought yet
    # two purchase days, both in January, of the months Jan-Feb; revenue 50 + 30
    assert t.loc["w1", "purchase_days"] == 2
    assert t.loc["w1", "repeat_rate"] == pytest.approx(0.5)
    assert t.loc["w1", "revenue"] == 80.0 and t.loc["w1", "recency_days"] == 40
    # the facade takes the day as text too, and gives the same table as Arrow
    f = ind_ws.survey.indicators(as_of="2024-02-29").to_pandas().set_index("customer_id")
    assert (f.loc["w1", "revenue"], f.loc["w1", "recency_days"]) == (80.0, 40)


def test_cli_indicators(ind_ws):
    res = CliRunner().invoke(app, ["survey", "indicators", "-w", str(ind_ws.path), "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["customer_id"]: r for r in json.loads(res.stdout)}
    assert rows["w1"]["share_of_wallet"] == pytest.approx(0.5)
    assert rows["w2"]["share_of_wallet"] is None
    res = CliRunner().invoke(app, ["survey", "indicators", "-w", str(ind_ws.path), "--as-of",
                                   "31/03/2024"])
    assert res.exit_code == 2 and "expected a date such as" in res.output

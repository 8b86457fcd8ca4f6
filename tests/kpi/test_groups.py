"""KPIs per customer group, on the hand-checked workspace of conftest.py (as of
2024-03-31): north = c1, c2, c5, c7; south = c3, c4, c6."""

from __future__ import annotations

import pytest
from tests.kpi.conftest import AS_OF

NORTH, SOUTH = {"c1", "c2", "c5", "c7"}, {"c3", "c4", "c6"}


def test_values_of_a_group(kpi_ws):
    north = kpi_ws.kpi.values(AS_OF, customers=NORTH)
    south = kpi_ws.kpi.values(AS_OF, customers=SOUTH)
    # active on 29 Feb: north c1, c2, c7; south c3, c4. On 31 Mar: north c1, c5, c7;
    # south c4
    assert north["retention_rate"][0] == pytest.approx(2 / 3)
    assert south["retention_rate"][0] == pytest.approx(1 / 2)
    assert north["churn_our_fault"][0] == pytest.approx(1 / 3)  # c2
    assert south["churn_passive"][0] == pytest.approx(1 / 2)    # c3
    assert (north["active_customers"][0], south["active_customers"][0]) == (3.0, 1.0)
    # March NPS answers: north c1 10, c2 9, c5 6 -> (2 - 1) / 3; south c3 7, c4 3 -> -1/2
    assert north["nps"][0] == pytest.approx(100 / 3)
    assert south["nps"][0] == pytest.approx(-50.0)
    # satisfaction 1-5 -> 0-100: north 100, 75, 25; south 50, 0
    assert north["satisfaction_index"][0] == pytest.approx(200 / 3)
    assert south["satisfaction_index"][0] == pytest.approx(25.0)
    # scores of the group only: north c1 100, c2 200 -> total 300
    assert north["total_clv"][0] == 300.0
    assert north["revenue_month"][0] == 800.0  # t1 500 (c1), t3 200 (c2), t6 100 (c5)
    # what is ranked over everyone, or read from the service's tables, is not split
    for kpi in ("vip_major_revenue_share", "complaint_rate", "service_compliance"):
        assert kpi not in north


def test_groups_are_stored_with_the_month(kpi_ws):
    own = kpi_ws.kpi.write_definitions()
    own.write_text(own.read_text(encoding="utf-8").replace(
        'groups = ["segment"]', 'groups = ["region"]'), encoding="utf-8")
    kpi_ws.kpi.compute(AS_OF)
    rows = kpi_ws.kpi.groups(AS_OF, "retention_rate")
    assert rows[["by", "group", "customers"]].values.tolist() == [
        ["region", "north", 4], ["region", "south", 3]]
    assert rows["value"].tolist() == pytest.approx([2 / 3, 1 / 2])
    assert rows["status"].tolist() == ["red", "red"]  # below the amber edge 0.95
    everything = kpi_ws.kpi.groups(AS_OF)
    assert set(everything["id"]) == {"nps", "retention_rate", "churn_rate", "total_clv",
                                     "satisfaction_index", "programme_activity"}
    nps = kpi_ws.kpi.groups(AS_OF, "nps", by="region")
    assert nps["value"].tolist() == pytest.approx([100 / 3, -50.0])
    assert kpi_ws.kpi.groups("2024-02-29").empty  # not computed

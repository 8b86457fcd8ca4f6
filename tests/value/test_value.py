"""Value analytics on hand-computed fixtures, on every engine."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import write_csv
from cvm import ConfigError, Workspace

# 20 customers: c01 1000, c02 500, c03 300, c04 200, c05 200 (a tie), c06..c20 10 each.
# Total revenue 2,350.
REVENUE = {"c01": 1000, "c02": 500, "c03": 300, "c04": 200, "c05": 200,
           **{f"c{i:02d}": 10 for i in range(6, 21)}}


@pytest.fixture
def tiers_ws(tmp_path, engine) -> Workspace:
    lines = ["customer_id,timestamp,amount,cost"]
    for cid, amount in REVENUE.items():
        # two transactions each, inside the 12 months ending 2024-12-31
        lines += [f"{cid},2024-03-01,{amount / 2},{amount / 4}",
                  f"{cid},2024-12-31,{amount / 2},0"]
    ws = Workspace.init(tmp_path / "ws")
    ws.import_file("transactions", write_csv(tmp_path / "tx.csv", "\n".join(lines) + "\n"))
    return ws.with_settings(engine=engine)


def _tiers(ws):
    return {r["tier"]: (r["customers"], r["revenue"]) for r in ws.value.tiers().to_pylist()}


def test_default_tiers_with_tie_broken_by_customer_id(tiers_ws):
    # N = 20: VIP ranks r < 0.01*20 -> r = 0 (c01); major r < 1.0 -> none;
    # ordinary r < 4 -> c02, c03, c04 (c04 before c05 on the tie at 200); small the other 16.
    assert _tiers(tiers_ws) == {"vip": (1, 1000.0), "major": (0, 0.0),
                                "ordinary": (3, 1000.0), "small": (16, 350.0)}
    shares = {r["tier"]: r["revenue_share"] for r in tiers_ws.value.tiers().to_pylist()}
    assert shares["vip"] == pytest.approx(1000 / 2350)
    per = tiers_ws.value.customer_tiers().order_by("rank").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["tier"]) for r in per[3:5]] == [("c04", "ordinary"),
                                                                ("c05", "small")]


@pytest.mark.parametrize("cut, expected", [
    # ordinary up to the top 10%: r < 2 -> c02 only; small = 300 + 200 + 200 + 150
    (0.10, {"vip": (1, 1000.0), "major": (0, 0.0), "ordinary": (1, 500.0),
            "small": (18, 850.0)}),
    # top 30%: r < 6 -> c02..c06 = 500 + 300 + 200 + 200 + 10; small 14 x 10
    (0.30, {"vip": (1, 1000.0), "major": (0, 0.0), "ordinary": (5, 1210.0),
            "small": (14, 140.0)}),
])
def test_ordinary_cut_setting(tiers_ws, cut, expected):
    assert _tiers(tiers_ws.with_settings(**{"value.ordinary_share": cut})) == expected


def test_ordinary_cut_outside_10_to_30_percent_is_refused(tiers_ws):
    with pytest.raises(ConfigError, match="value.ordinary_share"):
        tiers_ws.with_settings(**{"value.ordinary_share": 0.35})


def test_tiers_by_profit_and_cost_to_serve(tmp_path, engine):
    ws = Workspace.init(tmp_path / "ws")
    ws.import_file("transactions", write_csv(tmp_path / "tx.csv", (
        "customer_id,timestamp,amount,cost\n"
        "a,2024-06-01,100,40\nb,2024-06-01,90,10\nc,2024-06-01,10,0\n")))
    ws.import_file("interactions", write_csv(tmp_path / "i.csv", (
        "customer_id,touchpoint,kind,opened_at\n"
        "b,account manager,request,2024-05-01\nb,call centre,complaint,2024-05-02\n")))
    ws = ws.with_settings(engine=engine, **{"costs.per_transaction": 1.0,
                                            "costs.per_complaint": 10.0,
                                            "value.tier_by": "profit"})
    got = {r["customer_id"]: r for r in ws.value.customer_tiers().to_pyarrow().to_pylist()}
    # a: 100 - 40 - 1 = 59; b: 90 - 10 - 1 - 25 (account manager) - 4 (call centre) - 10
    # (complaint) = 40; c: 10 - 0 - 1 = 9
    assert {k: v["profit"] for k, v in got.items()} == {"a": 59.0, "b": 40.0, "c": 9.0}
    assert {k: v["rank"] for k, v in got.items()} == {"a": 1, "b": 2, "c": 3}
    assert got["b"]["complaints"] == 1 and got["b"]["interactions"] == 2


def test_concentration_gini_and_top_shares(tiers_ws):
    stats, lorenz = tiers_ws.value.concentration()
    # ascending x: 15 x 10, 200, 200, 300, 500, 1000 (i = 1..20);
    # sum i*x = 10*(1+..+15) + 200*16 + 200*17 + 300*18 + 500*19 + 1000*20 = 42,700
    # Gini = 2*42700/(20*2350) - 21/20 = 0.767021...
    assert stats["gini"] == pytest.approx(2 * 42700 / (20 * 2350) - 21 / 20, abs=1e-12)
    assert stats["top_1pct_share"] == pytest.approx(1000 / 2350)  # 1 customer
    assert stats["top_5pct_share"] == pytest.approx(1000 / 2350)  # ceil(1.0) = 1 customer
    assert stats["top_10pct_share"] == pytest.approx(1500 / 2350)  # 2 customers
    assert stats["top_20pct_share"] == pytest.approx(2000 / 2350)  # 4 customers
    points = lorenz.to_pylist()
    assert points[0] == {"customer_share": 0.0, "value_share": 0.0}
    assert points[-1] == {"customer_share": 1.0, "value_share": 1.0}
    assert points[15] == {"customer_share": 0.75, "value_share": pytest.approx(150 / 2350)}


def test_breakdown_by_tier_is_customers_times_mean(tiers_ws):
    rows = tiers_ws.value.breakdown("tier").to_pylist()
    assert [r["tier"] for r in rows] == ["vip", "ordinary", "small"]
    small = rows[2]
    assert small["customers"] == 16 and small["mean_value"] == pytest.approx(350 / 16)
    assert small["customer_value"] == pytest.approx(350.0)


def test_rfm_scores_hand_computed(tmp_path, engine):
    # five customers, window = 12 months to 2024-12-31
    ws = Workspace.init(tmp_path / "ws")
    ws.import_file("transactions", write_csv(tmp_path / "tx.csv", (
        "customer_id,timestamp,amount\n"
        "a,2024-12-31,50\na,2024-12-01,50\na,2024-11-01,50\n"  # recency 0, F 3, M 150
        "b,2024-12-30,10\n"                                    # recency 1, F 1, M 10
        "c,2024-06-01,500\nc,2024-07-01,500\n"                 # recency 183, F 2, M 1000
        "d,2024-01-15,5\n"                                     # recency 351, F 1, M 5
        "e,2024-12-30,20\n")))                                 # recency 1, F 1, M 20
    ws = ws.with_settings(engine=engine)
    got = {r["customer_id"]: (r["recency_days"], r["r"], r["f"], r["m"], r["segment"])
           for r in ws.value.rfm(dt.date(2024, 12, 31)).to_pylist()}
    # score = ceil(5 * (customers strictly worse + 1) / 5) = worse + 1
    # R: worse counts a 4, b 2, e 2 (tie: same score), c 1, d 0
    # F: a 4 (three others have F 1 and c has 2 -> 4 worse), c 3, b/d/e 0
    # M: c 4, a 3, e 2, b 1, d 0
    assert got == {
        "a": (0, 5, 5, 4, "champions"),
        "b": (1, 3, 1, 2, "about_to_sleep"),
        "c": (183, 2, 4, 5, "at_risk"),
        "d": (351, 1, 1, 1, "hibernating"),
        "e": (1, 3, 1, 3, "about_to_sleep"),
    }

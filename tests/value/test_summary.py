"""Repeat-purchase summary: CDNOW reproduction, and identical tables on both engines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import cdnow_sample_workspace, shared_data
from cvm import Workspace
from cvm.demo import DemoParams, build_demo


@pytest.fixture(scope="module")
def cdnow_ws(tmp_path_factory) -> Workspace:
    return cdnow_sample_workspace(tmp_path_factory.mktemp("cdnow"))


def test_cdnow_summary_reproduced(cdnow_ws, engine):
    """Fader & Hardie's cdnow_summary.csv (x, t_x, T in weeks, calibration to 1997-09-30)
    is rounded to 2 decimals, so every value must agree to 0.01; the mean repeat spend
    agrees with cdnow_summary_spend.csv's zbar (also 2 decimals)."""
    ws = cdnow_ws.with_settings(engine=engine)
    got = ws.value.summary(dt.date(1997, 9, 30), "weeks").to_pandas()
    got["ID"] = got.customer_id.astype(int)
    ref = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary.csv")
    m = ref.merge(got, on="ID", how="outer", validate="1:1", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == 2357
    assert (m.frequency_x == m.frequency_y).all()
    assert (m.recency_x - m.recency_y).abs().max() <= 0.005 + 1e-9
    assert (m.T_x - m.T_y).abs().max() <= 0.005 + 1e-9
    spend = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary_spend.csv").merge(got, on="ID")
    spend = spend[spend.x > 0]
    assert len(spend) == 946  # the repeat buyers the Gamma-Gamma model is fitted on
    assert (spend.zbar - spend.monetary_value).abs().max() <= 0.005 + 1e-9
    assert (got.loc[got.frequency == 0, "monetary_value"] == 0).all()


def test_summary_units(cdnow_ws):
    end = dt.date(1997, 9, 30)
    weeks = cdnow_ws.value.summary(end, "weeks").to_pandas().set_index("customer_id")
    days = cdnow_ws.value.summary(end, "days").to_pandas().set_index("customer_id")
    assert days.loc["0001", "T"] == 272  # first purchase 1997-01-01, 272 days to 09-30
    assert (days["T"] / 7 - weeks["T"]).abs().max() < 1e-12


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory) -> Workspace:
    ws, _ = build_demo(tmp_path_factory.mktemp("demo") / "ws", DemoParams(customers=1500))
    return ws


@pytest.mark.spark
@pytest.mark.slow
def test_duckdb_and_spark_give_identical_tables(demo_ws):
    from conftest import spark_unavailable

    if spark_unavailable():
        pytest.skip(spark_unavailable())
    spark = demo_ws.with_settings(engine="pyspark")

    def same(a, b, key):
        a = a.to_pandas().sort_values(key).reset_index(drop=True)
        b = b.to_pandas().sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)

    same(demo_ws.value.summary(dt.date(2024, 6, 30)), spark.value.summary(dt.date(2024, 6, 30)),
         "customer_id")
    from cvm.value.rfm import calibration_holdout

    same(*(calibration_holdout(w.table("transactions"), dt.date(2024, 3, 31),
                               dt.date(2024, 9, 30)).to_pyarrow() for w in (demo_ws, spark)),
         "customer_id")
    same(demo_ws.value.tiers(), spark.value.tiers(), "tier")
    same(demo_ws.value.customer_tiers().to_pyarrow(),
         spark.value.customer_tiers().to_pyarrow(), "rank")
    same(demo_ws.value.rfm(), spark.value.rfm(), "customer_id")
    same(demo_ws.value.breakdown("brand"), spark.value.breakdown("brand"), "brand")
    assert demo_ws.value.concentration()[0] == pytest.approx(spark.value.concentration()[0],
                                                             rel=1e-12)

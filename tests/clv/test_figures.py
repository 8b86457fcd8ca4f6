"""Model diagnostics on the CDNOW sample with the published BG/NBD parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import cdnow_summary
from conftest import shared_data
from cvm.clv import BetaGeoModel
from cvm.clv.figures import (
    calibration_holdout_figure,
    calibration_holdout_table,
    clv_bands_table,
    clv_distribution_figure,
    clv_top_shares_table,
    probability_alive_figure,
    probability_alive_table,
    tracking_figure,
    tracking_table,
)
from cvm.errors import InputError

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
START = pd.Timestamp("1997-01-01")


@pytest.fixture(scope="module")
def sample():
    tx = pd.read_csv(shared_data() / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "ID", "date", "cds", "dollars"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    days = tx[["ID", "date"]].drop_duplicates()
    days["week"] = (days.date - START).dt.days / 7
    days["first"] = days.groupby("ID").week.transform("min")
    return days


def test_calibration_vs_holdout_by_frequency(sample):
    cd = cdnow_summary().set_index("ID")
    holdout = sample[sample.date > "1997-09-30"].groupby("ID").size().reindex(cd.index,
                                                                              fill_value=0)
    model = BetaGeoModel.from_params(BGNBD)
    table = calibration_holdout_table(model, cd.frequency, cd.recency, cd["T"], holdout, 39)
    assert list(table.frequency) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.customers.sum() == 2357
    assert table.customers.iloc[0] == 1411  # customers with no repeat purchase (2357 - 946)
    # weighted by group size the bars add up to the published totals: 1,882 actual hold-out
    # transactions and 1,654 expected (data/README.md)
    assert (table.customers * table.actual).sum() == 1882
    assert (table.customers * table.expected).sum() == pytest.approx(1654, abs=1)
    fig = calibration_holdout_figure(model, cd.frequency, cd.recency, cd["T"], holdout, 39)
    np.testing.assert_allclose(fig.data[1].y, table.expected)


def test_tracking_cumulative_repeat_transactions(sample):
    births = sample.groupby("ID").week.min()
    repeats = sample[sample.week > sample["first"]].week
    model = BetaGeoModel.from_params(BGNBD)
    table = tracking_table(model, births, repeats, until=78)
    cd = cdnow_summary()
    # 272 days to 1997-09-30 = 38.86 weeks: at the end of week 38 and 39 actual counts bracket
    # the calibration total sum(x) = 2,457 repeat transactions (week 39 includes Oct 1 - 2)
    week = table.set_index("time")
    calibration_total = cd.frequency.sum()
    assert week.actual.loc[38.0] <= calibration_total <= week.actual.loc[39.0]
    # all repeat transactions to the end of week 78 (1998-07-01 is day 546 = 78.0 weeks)
    assert week.actual.loc[78.0] == len(repeats) == calibration_total + 1882
    # expected at week 78 is the sum of E[X(78 - birth)] over the 2,357 customers
    direct = model.expected_purchases(78 - births.to_numpy()).sum()
    assert week.expected.loc[78.0] == pytest.approx(direct, rel=1e-10)
    fig = tracking_figure(model, births, repeats, until=78, calibration_end=38.86)
    assert len(fig.data) == 2


def test_probability_alive_grid():
    model = BetaGeoModel.from_params(BGNBD)
    table = probability_alive_table(model, T=38.86, max_frequency=10, recency_points=20)
    assert table.shape == (11, 20)
    assert (table.loc[0] == 1.0).all()  # BG/NBD: no repeat purchase, still alive
    r, alpha, a, b = BGNBD.values()
    x, t_x, T = 4, table.columns[9], 38.86
    by_hand = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    assert table.loc[4].iloc[9] == pytest.approx(by_hand, rel=1e-6)
    # the more recent the last purchase, the more likely alive
    assert np.all(np.diff(table.loc[5].to_numpy()) > 0)
    fig = probability_alive_figure(model, T=38.86, max_frequency=10, recency_points=20)
    assert fig.data[0].type == "heatmap"


# c01 1000, c02 500, c03 300, c04 200, c05 200, c06..c20 10 each: 2,350 in all
TWENTY = [1000, 500, 300, 200, 200] + [10] * 15


def test_clv_bands_on_a_1_2_5_scale():
    bands = clv_bands_table(TWENTY)
    # top edge 1,000 (the largest CLV); three decades down: 1, above which the lowest CLV 10
    # sets the lowest edge; the band under 10 is empty, so left out
    assert list(bands.band) == ["10 to 20", "20 to 50", "50 to 100", "100 to 200",
                                "200 to 500", "500 to 1,000"]
    assert list(bands.customers) == [15, 0, 0, 0, 3, 2]  # 200 is in 200 to 500, 1,000 in the last
    assert list(bands.clv) == [150, 0, 0, 0, 700, 1500]
    assert list(bands.customer_share) == [0.75, 0, 0, 0, 0.15, 0.1]
    assert list(bands.clv_share) == pytest.approx([150 / 2350, 0, 0, 0, 700 / 2350,
                                                   1500 / 2350])


def test_clv_band_under_the_lowest_edge_holds_zeros_and_dust():
    bands = clv_bands_table([0, 0, 0.004, 3, 7, 250])
    # top edge 500; 500 / 10**3 = 0.5 is above the smallest positive CLV, so the bands start
    # at 0.5 and "under 0.5" holds 0, 0 and 0.004
    assert list(bands.band) == ["under 0.5", "0.5 to 1", "1 to 2", "2 to 5", "5 to 10",
                                "10 to 20", "20 to 50", "50 to 100", "100 to 200", "200 to 500"]
    assert list(bands.customers) == [3, 0, 0, 1, 1, 0, 0, 0, 0, 1]
    assert bands.clv.iloc[0] == pytest.approx(0.004)
    assert bands.customers.sum() == 6


def test_top_shares_count_ceil_of_the_share_of_customers():
    top = clv_top_shares_table(TWENTY)
    assert list(top.top) == ["top 1%", "top 5%", "top 20%"]
    assert list(top.customers) == [1, 1, 4]  # ceil(0.2), ceil(1), ceil(4) of 20
    assert list(top.clv) == [1000, 1000, 2000]
    assert list(top.clv_share) == pytest.approx([1000 / 2350, 1000 / 2350, 2000 / 2350])


def test_clv_distribution_figure_draws_both_tables():
    fig = clv_distribution_figure(TWENTY, currency="USD")
    customers, value, top = fig.data
    bands = clv_bands_table(TWENTY)
    assert list(customers.x) == list(value.x) == list(bands.band)
    assert list(customers.y) == list(bands.customer_share)
    assert list(value.y) == list(bands.clv_share)
    assert list(top.y) == ["top 1%", "top 5%", "top 20%"]
    assert list(top.x) == pytest.approx([1000 / 2350, 1000 / 2350, 2000 / 2350])
    assert top.text[2] == "85% of total CLV (4 customers)"
    assert top.text[0] == "43% of total CLV (1 customer)"
    assert fig.layout.title.text == ("Customer lifetime value: 20 customers, 2,350 USD in total, "
                                     "median 10.00 USD")


def test_clv_distribution_refuses_negative_or_missing_values():
    with pytest.raises(InputError, match="2 value\\(s\\) missing, infinite or negative"):
        clv_distribution_figure([10, -1, float("nan")])

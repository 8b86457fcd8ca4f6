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
    probability_alive_figure,
    probability_alive_table,
    tracking_figure,
    tracking_table,
)

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

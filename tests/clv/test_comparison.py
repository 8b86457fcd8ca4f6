"""Model comparison table on CDNOW with the 39-week hold-out."""

from __future__ import annotations

import pandas as pd
import pytest

from clv_helpers import cdnow_summary
from conftest import shared_data
from cvm.clv.comparison import compare_models
from cvm.errors import InputError


@pytest.fixture(scope="module")
def holdout():
    tx = pd.read_csv(shared_data() / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "ID", "date", "cds", "dollars"], dtype={"date": str})
    days = tx[["ID", "date"]].drop_duplicates()
    return days[days.date > "19970930"].groupby("ID").size()


def test_compare_on_cdnow(holdout):
    cd = cdnow_summary().set_index("ID")
    actual = holdout.reindex(cd.index, fill_value=0)
    table = compare_models(cd.frequency, cd.recency, cd["T"], holdout_x=actual,
                           holdout_length=39.0).set_index("model")
    assert list(table.index) == ["bgnbd", "paretonbd", "mbgnbd"]
    # published log-likelihoods: BG/NBD -9582.4, Pareto/NBD -9595.0 (data/README.md)
    assert table.loc["bgnbd", "log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert table.loc["paretonbd", "log_likelihood"] == pytest.approx(-9595.0, abs=0.05)
    assert table.loc["bgnbd", "aic"] == pytest.approx(8 - 2 * table.loc["bgnbd",
                                                                       "log_likelihood"])
    # hold-out: 1,882 actual day-level transactions; BG/NBD expects ~1,654 (ML estimates)
    assert (table.holdout_actual == 1882).all()
    assert table.loc["bgnbd", "holdout_expected"] == pytest.approx(1654, abs=1.5)
    # Pareto/NBD's expectation with the fitted parameters (1,665.5, see test_models_paretonbd)
    assert table.loc["paretonbd", "holdout_expected"] == pytest.approx(1665.5, abs=0.5)
    # mean absolute error per customer: between 0 and the mean hold-out count plus expectation
    assert (table.holdout_mae > 0).all()
    assert (table.holdout_mae < (1882 + 1700) / 2357).all()


def test_holdout_needs_both_arguments():
    cd = cdnow_summary()
    with pytest.raises(InputError, match="both holdout_x and holdout_length"):
        compare_models(cd.frequency, cd.recency, cd["T"], holdout_x=cd.frequency)

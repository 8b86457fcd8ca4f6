"""CDNOW transactions: the summary, the hold-out count and the full 23,570-customer cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import cdnow_summary, rfm_from_transactions
from conftest import shared_data
from cvm.clv import BetaGeoModel, ParetoNBDModel

CALIBRATION_END = "1997-09-30"


def _read(name: str, columns: list[str], skip_header: bool) -> pd.DataFrame:
    tx = pd.read_csv(shared_data() / "cdnow" / name, sep=r"\s+", header=None, names=columns,
                     skiprows=1 if skip_header else 0, dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="module")
def sample_tx():
    return _read("CDNOW_sample.txt", ["master_id", "customer_id", "date", "cds", "dollars"],
                 skip_header=False)


def test_sample_transactions_reproduce_the_summary(sample_tx):
    # data/README.md: cdnow_summary.csv is reproduced from CDNOW_sample.txt to 0.01
    built = rfm_from_transactions(sample_tx, CALIBRATION_END)
    summary = cdnow_summary().set_index("ID")
    assert len(built) == len(summary) == 2357
    built = built.loc[summary.index]
    assert (built.frequency.to_numpy() == summary.frequency.to_numpy()).all()
    np.testing.assert_allclose(built.recency, summary.recency, atol=0.0051)
    np.testing.assert_allclose(built["T"], summary["T"], atol=0.0051)


def test_holdout_transactions_are_1882(sample_tx):
    # data/README.md: in weeks 40-78 (1997-10-01 to 1998-06-30) the sample's customers made
    # 1,882 day-level transactions (several purchases on one day count once)
    days = sample_tx[["customer_id", "date"]].drop_duplicates()
    holdout = days[(days.date > CALIBRATION_END) & (days.date <= "1998-06-30")]
    assert len(holdout) == 1882


def test_bgnbd_holdout_forecast_against_the_actual(sample_tx):
    # the fitted model's 39-week forecast (~1,654) under-predicts the actual 1,882 by ~12%, as
    # in Fader, Hardie & Lee (2005), whose Figure 4 shows the same shortfall in the hold-out
    cd = cdnow_summary()
    m = BetaGeoModel().fit(cd.frequency, cd.recency, cd["T"])
    forecast = m.conditional_expected_purchases(39, cd.frequency, cd.recency, cd["T"]).sum()
    assert forecast == pytest.approx(1654, abs=1.5)
    assert 1882 / forecast == pytest.approx(1.138, abs=0.002)


@pytest.fixture(scope="module")
def master_rfm():
    tx = _read("CDNOW_master.txt", ["customer_id", "date", "cds", "dollars"], skip_header=True)
    assert tx.customer_id.nunique() == 23570
    return rfm_from_transactions(tx, CALIBRATION_END)


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_master_fit_equals_fit_on_its_compressed_form(master_rfm, model_class):
    rfm = master_rfm
    assert len(rfm) == 23570
    full = model_class().fit(rfm.frequency, rfm.recency, rfm["T"])
    compressed = rfm.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    assert len(compressed) < len(rfm) / 2  # real data: far fewer distinct rows than customers
    small = model_class().fit(compressed.frequency, compressed.recency, compressed["T"],
                              weights=compressed.n)
    np.testing.assert_allclose(full.params_, small.params_, rtol=1e-7)
    assert full.log_likelihood_ == pytest.approx(small.log_likelihood_, rel=1e-12)
    # and the log-likelihood is the sum of every one of the 23,570 customers' own terms,
    # computed without any compression
    per_customer = full.individual_log_likelihood(rfm.frequency, rfm.recency, rfm["T"])
    assert per_customer.sum() == pytest.approx(full.log_likelihood_, rel=1e-10)
    assert full.n_customers_ == 23570
    # the full cohort's estimates are near the 1/10 sample's (same population)
    sample = model_class().fit(*(cdnow_summary()[c] for c in ("frequency", "recency", "T")))
    np.testing.assert_allclose(full.params_, sample.params_, rtol=0.35)

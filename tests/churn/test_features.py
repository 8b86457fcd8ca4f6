"""Time-based split: features see only the past, labels the window after the cut-off."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from cvm.churn.features import churn_features, churn_labels
from cvm.errors import InputError

D, T = dt.date, dt.datetime
CUTOFF = D(2024, 3, 1)

CONTRACTS = pa.table({
    "contract_id": ["c1", "c2", "c3", "c4", "c5"],
    "customer_id": ["A", "B", "C", "D", "B"],
    "plan": ["basic", "plus", "basic", "plus", "max"],
    "start": pa.array([D(2024, 1, 10), D(2024, 1, 20), D(2024, 2, 1), D(2024, 2, 15),
                       D(2024, 3, 1)], pa.date32()),
    "end": pa.array([D(2024, 3, 5), None, D(2024, 2, 29), D(2024, 5, 31), None], pa.date32()),
    "end_reason": ["active_competitive", None, "passive_non_malicious", None, None],
})
TRANSACTIONS = pa.table({
    "customer_id": ["A", "A", "A", "B", "B", "C", "D", "D", "B"],
    "timestamp": pa.array([T(2024, 1, 15), T(2024, 2, 15), T(2024, 3, 1, 9), T(2024, 1, 25),
                           T(2024, 1, 28), T(2024, 2, 2), T(2024, 2, 20), T(2024, 3, 20),
                           T(2023, 9, 1)], pa.timestamp("us")),
    "amount": [10.0, 10.0, 5.0, 20.0, 20.0, 7.0, 15.0, 15.0, 8.0],
    "product": ["tv", "tv", "phone", "tv", "net", "tv", "tv", "tv", "phone"],
})
INTERACTIONS = pa.table({
    "customer_id": ["A", "A", "D", "B"],
    "touchpoint": ["call_centre", "web", "branch", "call_centre"],
    "kind": ["complaint", "inquiry", "Complaint", "complaint"],
    "opened_at": pa.array([T(2024, 2, 20), T(2024, 2, 25), T(2023, 1, 1), T(2024, 3, 1)],
                          pa.timestamp("us")),
})


def _run(contracts, transactions, interactions, cutoff=CUTOFF) -> pd.DataFrame:
    con = ibis.duckdb.connect()
    expr = churn_features(ibis.memtable(contracts), cutoff, ibis.memtable(transactions),
                          ibis.memtable(interactions))
    return con.to_pyarrow(expr).to_pandas()


def test_features_by_hand():
    f = _run(CONTRACTS, TRANSACTIONS, INTERACTIONS).set_index("customer_id")
    # Active on 2024-03-01: A (ends 03-05), B, D (ends 05-31); C ended 02-29.
    assert list(f.index) == ["A", "B", "D"]
    # tenure: 03-01 minus 01-10 = 51, minus 01-20 = 41, minus 02-15 = 15 days.
    assert f["tenure_days"].tolist() == [51, 41, 15]
    # B's second contract (plan max) starts on the cut-off day: not yet known.
    assert f["contracts"].tolist() == [1, 1, 1] and f["plan"].tolist() == ["basic", "plus",
                                                                             "plus"]
    # A: 01-15 (46 days before) and 02-15 (15 days) = 20 in the last 90 days; 03-01 09:00
    #    is after the cut-off. B: 01-25, 01-28 = 40 (last 90 days) and 2023-09-01 (182 days
    #    before: 90 < 182 <= 180? no, 182 > 180) -> prior 90 days 0, 365 days 48, 3 buys.
    # D: 02-20 = 15, recency 10.
    assert f["spend_90d"].tolist() == [20.0, 40.0, 15.0]
    assert f["spend_prior_90d"].tolist() == [0.0, 0.0, 0.0]
    assert f["spend_365d"].tolist() == [20.0, 48.0, 15.0]
    assert f["purchases_365d"].tolist() == [2, 3, 1]
    assert f["products_365d"].tolist() == [1, 3, 1]
    assert f["spend_trend"].tolist() == [20.0, 40.0, 15.0]
    assert f["recency_days"].tolist() == [15, 33, 10]
    # interactions in [2023-03-02, 2024-03-01): A 2 (one complaint); B's complaint is on the
    # cut-off (not before); D's is older than 365 days.
    assert f["interactions_365d"].tolist() == [2, 0, 0]
    assert f["complaints_365d"].tolist() == [1, 0, 0]


def test_prior_window_and_missing_recency():
    # cut-off 2024-05-01: B's 2023-09-01 buy is 243 days back (in 365, not in 180);
    # 01-25 and 01-28 are 97 and 94 days back: the prior 90-day window (90, 180].
    f = _run(CONTRACTS, TRANSACTIONS, INTERACTIONS, D(2024, 5, 1)).set_index("customer_id")
    assert list(f.index) == ["B", "D"]
    assert f.loc["B", "spend_prior_90d"] == 40.0 and f.loc["B", "spend_90d"] == 0.0
    assert f.loc["B", "spend_trend"] == -40.0
    assert f.loc["B", "plan"] == "max" and f.loc["B", "contracts"] == 2
    no_tx = TRANSACTIONS.filter(pa.compute.not_equal(TRANSACTIONS["customer_id"], "D"))
    f = _run(CONTRACTS, no_tx, INTERACTIONS, D(2024, 5, 1)).set_index("customer_id")
    assert pd.isna(f.loc["D", "recency_days"]) and f.loc["D", "spend_365d"] == 0.0


def test_post_cutoff_events_change_nothing():
    before = _run(CONTRACTS, TRANSACTIONS, INTERACTIONS)
    planted_contracts = pa.concat_tables([
        CONTRACTS.set_column(4, "end", pa.array(  # D now ends 03-15, after the cut-off
            [D(2024, 3, 5), None, D(2024, 2, 29), D(2024, 3, 15), None], pa.date32())),
        pa.table({"contract_id": ["c6", "c7"], "customer_id": ["A", "F"],
                  "plan": ["max", "basic"],
                  "start": pa.array([D(2024, 3, 20), D(2024, 3, 1)], pa.date32()),
                  "end": pa.array([None, None], pa.date32()),
                  "end_reason": pa.array([None, None], pa.string())})])
    planted_tx = pa.concat_tables([TRANSACTIONS, pa.table({
        "customer_id": ["A", "D"], "amount": [1000.0, 500.0], "product": ["x", "y"],
        "timestamp": pa.array([T(2024, 3, 2), T(2024, 3, 1)], pa.timestamp("us"))},
    ).select(TRANSACTIONS.column_names)])
    planted_ix = pa.concat_tables([INTERACTIONS, pa.table({
        "customer_id": ["D"], "touchpoint": ["branch"], "kind": ["complaint"],
        "opened_at": pa.array([T(2024, 3, 10)], pa.timestamp("us"))})])
    after = _run(planted_contracts, planted_tx, planted_ix)
    pd.testing.assert_frame_equal(before, after)
    # ... while the label, which looks ahead by design, sees D's new end (03-15), and A's
    # new contract from 03-20 continues A's relationship (gaps are ignored): not churned
    con = ibis.duckdb.connect()
    lab = con.to_pyarrow(churn_labels(ibis.memtable(planted_contracts), CUTOFF, 2)).to_pandas()
    assert lab["churned"].tolist() == [0, 0, 1]


def test_labels_by_hand():
    con = ibis.duckdb.connect()
    c = ibis.memtable(CONTRACTS)
    # from 03-01, 2 months -> [03-01, 05-01): A ends 03-05 -> 1; B open -> 0; D ends 05-31
    # -> 0. With 3 months -> [03-01, 06-01): D -> 1.
    two = con.to_pyarrow(churn_labels(c, CUTOFF, 2)).to_pandas()
    assert two["customer_id"].tolist() == ["A", "B", "D"]
    assert two["churned"].tolist() == [1, 0, 0]
    assert con.to_pyarrow(churn_labels(c, CUTOFF, 3)).to_pandas()["churned"].tolist() == [
        1, 0, 1]
    with pytest.raises(InputError, match="horizon_months must be an int >= 1"):
        churn_labels(c, CUTOFF, 0)
    with pytest.raises(InputError, match="cutoff must be a date"):
        churn_labels(c, "March", 1)


def test_training_table_feeds_the_model():
    # 1,500 synthetic customers: 30% complained in the year before the cut-off; those churn
    # in the 3 months after it with probability 0.6, the others 0.1. Churn rate
    # 0.3*0.6 + 0.7*0.1 = 0.25; complainers are 0.18/0.25 = 72% of churners and 0.12/0.75 =
    # 16% of stayers, so the best possible AUC, from the complaint flag alone, is
    # P(pos complained, neg not) + 1/2 P(tie) = .72*.84 + .5*(.72*.16 + .28*.84) = 0.78.
    import numpy as np

    from cvm.churn import ChurnClassifier, fit_snapshot
    from cvm.churn.features import training_table

    rng = np.random.default_rng(7)
    n = 1500
    ids = [f"{i:05d}" for i in range(n)]
    complained = rng.random(n) < 0.3
    churns = rng.random(n) < np.where(complained, 0.6, 0.1)
    start = [D(2022, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 700, n)]
    end = [CUTOFF + dt.timedelta(days=int(d)) if c else None
           for c, d in zip(churns, rng.integers(0, 90, n), strict=True)]
    contracts = pa.table({
        "contract_id": ids, "customer_id": ids,
        "plan": rng.choice(["basic", "plus"], n),
        "start": pa.array(start, pa.date32()), "end": pa.array(end, pa.date32()),
        "end_reason": pa.array([None] * n, pa.string())})
    who = np.flatnonzero(complained)
    interactions = pa.table({
        "customer_id": [ids[i] for i in who], "touchpoint": ["call_centre"] * len(who),
        "kind": ["complaint"] * len(who),
        "opened_at": pa.array([T(2023, 11, 1)] * len(who), pa.timestamp("us"))})
    table = training_table(ibis.memtable(contracts), CUTOFF, 3,
                           interactions=ibis.memtable(interactions)).to_pandas()
    assert len(table) == n and table["churned"].sum() == churns.sum()
    model = fit_snapshot(table, label="churned", id="customer_id", folds=3,
                         classifier=ChurnClassifier(n_estimators=50, calibration="none"))
    assert model.report_.positive == "1"
    # every customer has one contract: the column is left out as a single value
    assert "contracts" in model.report_.excluded
    assert model.metrics_["model"]["auc"] == pytest.approx(0.78, abs=0.05)
    assert model.metrics_["model"]["base_rate"] == pytest.approx(0.25, abs=0.03)

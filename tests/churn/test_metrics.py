"""Calibration error and lift, checked by hand on tiny fixtures, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvm.churn.metrics import churn_metrics, expected_calibration_error, top_fraction_lift
from cvm.errors import InputError

Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
P = np.array([0.95, 0.85, 0.62, 0.55, 0.35, 0.31, 0.12, 0.08, 0.05, 0.02])


def test_ece_by_hand():
    # Ten equal-width bins; sum over bins of n_b * |churn rate - mean p|, divided by n = 10:
    #   bin 9 {0.95, y=1}:             1 * |1 - 0.95|   = 0.05
    #   bin 8 {0.85, y=0}:             1 * |0 - 0.85|   = 0.85
    #   bin 6 {0.62, y=1}:             1 * |1 - 0.62|   = 0.38
    #   bin 5 {0.55, y=0}:             1 * |0 - 0.55|   = 0.55
    #   bin 3 {0.35 y=0, 0.31 y=1}:    2 * |0.5 - 0.33| = 0.34
    #   bin 1 {0.12, y=0}:             1 * |0 - 0.12|   = 0.12
    #   bin 0 {0.08, 0.05, 0.02; y=0}: 3 * |0 - 0.05|   = 0.15
    #   total 2.44 / 10 = 0.244
    assert expected_calibration_error(Y, P) == pytest.approx(0.244, abs=1e-12)


def test_ece_bin_edges():
    # p = 1.0 falls in the last bin, p = 0.1 in bin 1 (not bin 0): with y = 1, 0 and 0, 0
    # bins: 9 {1.0, y=1} -> 0; 1 {0.1, y=0} -> 0.1; 0 {0.0, y=0} -> 0  => 0.1 / 3
    assert expected_calibration_error([1, 0, 0], [1.0, 0.1, 0.0]) == pytest.approx(0.1 / 3)
    # one bin ([0, 1]): |mean y - mean p| = |1/3 - 1.1/3|
    assert expected_calibration_error([1, 0, 0], [1.0, 0.1, 0.0], n_bins=1) == pytest.approx(
        0.1 / 3)


def test_lift_by_hand():
    # base rate 3/10 = 0.3. Top 10%: k = 1 row, p = 0.95, a churner: rate 1 -> lift 1/0.3,
    # capture 1 of 3 churners. Top 20%: k = 2 rows (0.95 churned, 0.85 stayed): rate 0.5 ->
    # lift 0.5/0.3 = 1.6667, capture 1/3. Top 30%: 0.95, 0.85, 0.62 -> 2 churners: rate 2/3,
    # lift 2.2222, capture 2/3.
    assert top_fraction_lift(Y, P, 0.1) == pytest.approx((1 / 0.3, 1 / 3))
    assert top_fraction_lift(Y, P, 0.2) == pytest.approx((0.5 / 0.3, 1 / 3))
    assert top_fraction_lift(Y, P, 0.3) == pytest.approx(((2 / 3) / 0.3, 2 / 3))


def test_lift_shares_ties_at_the_cut():
    # k = 2 of 10. Row 0.9 (stayed) is in; one more slot among the three rows tied at 0.5, of
    # which one churned: expected churners 0 + 1 * 1/3. Rate (1/3)/2 = 1/6; base rate 2/10;
    # lift (1/6)/0.2 = 0.8333; capture (1/3)/2 = 1/6. Row order must not matter.
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert top_fraction_lift(y, p, 0.2) == pytest.approx((5 / 6, 1 / 6))
    order = [3, 2, 1, 0, 9, 8, 7, 6, 5, 4]
    assert top_fraction_lift(y[order], p[order], 0.2) == pytest.approx((5 / 6, 1 / 6))


def test_churn_metrics_on_the_fixture():
    m = churn_metrics(Y, P)
    # AUC: of the 3 * 7 churner/stayer pairs, the churner is ranked higher in: 0.95 -> 7,
    # 0.62 -> 6 (all but 0.85), 0.31 -> 4 (0.12, 0.08, 0.05, 0.02): 17 / 21.
    assert m["auc"] == pytest.approx(17 / 21)
    # average precision: churners at ranks 1, 3, 6 -> (1/1 + 2/3 + 3/6) / 3
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert m["brier"] == pytest.approx(np.mean((P - Y) ** 2))
    assert m["ece"] == pytest.approx(0.244)
    assert m["top_decile_lift"] == pytest.approx(1 / 0.3)
    assert m["base_rate"] == pytest.approx(0.3)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="differ in length: 2 and 3"):
        expected_calibration_error([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        top_fraction_lift([0, 1], [0.1, 1.2])
    with pytest.raises(InputError, match="0 \\(stayed\\) or 1"):
        churn_metrics([0, 2], [0.1, 0.2])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=60),
       st.randoms(use_true_random=False))
def test_lift_properties(rows, rnd):
    y = np.array([int(a) for a, _ in rows])
    p = np.array([b for _, b in rows])
    lift, capture = top_fraction_lift(y, p, 0.1)
    all_lift, all_capture = top_fraction_lift(y, p, 1.0)
    if y.sum() == 0:
        assert np.isnan(lift) and np.isnan(capture)
        return
    # taking every row captures every churner at lift 1; order of rows never matters
    assert all_lift == pytest.approx(1.0) and all_capture == pytest.approx(1.0)
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    assert top_fraction_lift(y[perm], p[perm], 0.1) == pytest.approx((lift, capture))
    assert 0 <= capture <= 1
    # ECE is 0 when each bin's probabilities equal its churn rate, and never above 1
    assert 0 <= expected_calibration_error(y, p) <= 1
    assert expected_calibration_error(y, y.astype(float)) == 0

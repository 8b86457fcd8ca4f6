"""MBG/NBD: its exact relation to BG/NBD (property test), gradient, and a CDNOW fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_helpers import assert_gradient_matches, cdnow_summary
from cvm.clv import BetaGeoModel, ModifiedBetaGeoModel

positive = st.floats(0.05, 20.0)


@st.composite
def histories(draw):
    """Customers who have all made at least one repeat purchase (x >= 1, 0 < t_x <= T)."""
    n = draw(st.integers(1, 8))
    x = np.array(draw(st.lists(st.integers(1, 40), min_size=n, max_size=n)), float)
    T = np.array(draw(st.lists(st.floats(1.0, 100.0), min_size=n, max_size=n)))
    frac = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    return x, frac * T, T


@settings(max_examples=60, deadline=None)
@given(r=positive, alpha=positive, a=st.floats(1.05, 20.0), b=positive, data=histories(),
       t=st.floats(0.5, 100.0))
def test_mbgnbd_is_bgnbd_with_b_plus_one_when_everyone_has_purchased(r, alpha, a, b, data, t):
    # MBG/NBD adds a dropout chance at time 0. For a customer with x >= 1 repeat purchases it
    # survived that first coin flip, and B(a, b+x+1)/B(a, b) = b/(a+b) * B(a, b+1+x)/B(a, b+1)
    # (likewise for the second term), so:
    #   L_MBG(r, alpha, a, b) = b/(a+b) * L_BG(r, alpha, a, b+1), and P(alive) and
    #   E[Y(t) | x, t_x, T] are BG/NBD's at (r, alpha, a, b+1).
    x, t_x, T = data
    mbg = ModifiedBetaGeoModel.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    bg = BetaGeoModel.from_params({"r": r, "alpha": alpha, "a": a, "b": b + 1})
    ll_mbg = mbg.individual_log_likelihood(x, t_x, T)
    ll_bg = bg.individual_log_likelihood(x, t_x, T)
    np.testing.assert_allclose(ll_mbg - ll_bg, np.log(b / (a + b)), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mbg.probability_alive(x, t_x, T), bg.probability_alive(x, t_x, T),
                               rtol=1e-10)
    np.testing.assert_allclose(mbg.conditional_expected_purchases(t, x, t_x, T),
                               bg.conditional_expected_purchases(t, x, t_x, T), rtol=1e-9)


def test_a_customer_without_repeat_purchases_may_be_inactive():
    # unlike BG/NBD, x = 0 gives P(alive) = 1 / (1 + a/b) = b / (a + b) at t_x = T = 0
    m = ModifiedBetaGeoModel.from_params({"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 1.6})
    assert m.probability_alive([0], [0.0], [0.0])[0] == pytest.approx(1.6 / 2.5, rel=1e-12)
    assert m.probability_alive([0], [0.0], [20.0])[0] < 1.6 / 2.5


def test_gradient_matches_finite_differences():
    cd = cdnow_summary()
    assert_gradient_matches(ModifiedBetaGeoModel(), [0.4, 5.0, 1.3, 2.2],
                            [cd.frequency, cd.recency, cd["T"]])


def test_cdnow_fit():
    # no published MBG/NBD estimate on CDNOW; the reference is lifetimes 0.11.3's
    # ModifiedBetaGeoFitter().fit(frequency, recency, T) on cdnow_summary.csv (run here):
    # r 0.524838, alpha 6.182988, a 0.891356, b 1.614000; its P(X(39) = n) summed to 1 and the
    # model's E[X(39)] = 1.182284 (lifetimes: expected_number_of_purchases_up_to_time(39)).
    cd = cdnow_summary()
    m = ModifiedBetaGeoModel().fit(cd.frequency, cd.recency, cd["T"])
    np.testing.assert_allclose(m.params_, [0.524838, 6.182988, 0.891356, 1.614000], rtol=1e-4)
    assert m.expected_purchases([39.0])[0] == pytest.approx(1.1822838, rel=1e-6)
    n = np.arange(300)
    p = m.probability_of_purchases(n, np.full(300, 39.0))
    assert p.sum() == pytest.approx(1.0, abs=1e-8)
    assert (n * p).sum() == pytest.approx(m.expected_purchases([39.0])[0], rel=1e-7)
    # our optimum is at least as good as lifetimes' (to rounding of its printed estimates)
    theirs = ModifiedBetaGeoModel.from_params(
        {"r": 0.524838, "alpha": 6.182988, "a": 0.891356, "b": 1.614000})
    ll_theirs = theirs.individual_log_likelihood(cd.frequency, cd.recency, cd["T"]).sum()
    assert m.log_likelihood_ >= ll_theirs - 1e-6
    assert m.log_likelihood_ == pytest.approx(ll_theirs, abs=1e-4)


def test_integer_weights_equal_duplicated_rows():
    cd = cdnow_summary().iloc[::3]
    w = np.random.default_rng(5).integers(1, 4, len(cd))
    rep = cd.loc[cd.index.repeat(w)]
    a = ModifiedBetaGeoModel().fit(cd.frequency, cd.recency, cd["T"], weights=w)
    b = ModifiedBetaGeoModel().fit(rep.frequency, rep.recency, rep["T"])
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)

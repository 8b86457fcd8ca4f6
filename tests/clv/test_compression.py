"""The fast paths of fitting: row compression and BG/NBD's analytic Hessian, against references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_helpers import cdnow_summary
from cvm.clv import BetaGeoModel
from cvm.clv._inputs import compress_rows
from cvm.clv.simulate import simulate_bgnbd


def _reference(cols, w):
    """Compression by sorting (np.unique on the stacked rows): the slow, obvious way."""
    stacked = np.column_stack(cols)
    rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return rows, np.bincount(inverse.reshape(-1), weights=w), inverse.reshape(-1)


def _check_against_reference(cols, w):
    out, counts, inverse = compress_rows(cols, w)
    rows, ref_counts, ref_inverse = _reference(cols, w)
    got = np.column_stack(out)
    order = np.lexsort(got.T[::-1])
    np.testing.assert_array_equal(got[order], rows)
    np.testing.assert_allclose(counts[order], ref_counts)
    # every customer maps back to its own row
    np.testing.assert_array_equal(got[inverse], np.column_stack(cols))
    assert len(np.unique(inverse)) == len(rows)
    del ref_inverse


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 60), st.floats(0, 5, width=32)),
                min_size=1, max_size=300),
       st.booleans())
def test_compression_matches_sorting(rows, spread):
    # small whole numbers (counted path), and, with `spread`, values far apart (hashed path)
    x, t, T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    if spread:
        t = t * 1e6 + 0.5
    w = np.arange(len(x), dtype=float) % 3
    _check_against_reference([x, t, T], w)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 400), st.integers(-5, 400)),
                min_size=1, max_size=300),
       st.sampled_from([7.0, 12.0, 52.0, 365.0, 3.0]), st.integers(0, 3))
def test_compression_of_columns_on_a_fractional_grid(rows, k, off_grid):
    # recency and T in weeks from days are multiples of 1/7: coded arithmetically, which must
    # give back every stored value exactly; values a hair off the grid (days * (1/k) differs
    # from days / k in the last bit for some days, or a value nudged by 1e-12) must still
    # compress exactly, by the hashed path (k = 3 is no grid cvm tries)
    x, days_t, days_T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    t, T = days_t / k, days_T / k
    if off_grid == 1:
        T = days_T * (1 / k)
    elif off_grid == 2 and len(t) > 1:
        t[-1] += 1e-12
    _check_against_reference([x, t, T], np.ones(len(x)))


def test_compression_of_simulated_customers():
    x, t, T = simulate_bgnbd(50_000, 0.243, 4.414, 0.793, 2.426, np.random.default_rng(1))
    _check_against_reference([x, t, T], np.ones(len(x)))


def test_analytic_hessian_matches_differences_of_the_gradient():
    cdnow = cdnow_summary()
    data = [cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    w = np.random.default_rng(0).integers(1, 4, len(data[0])).astype(float)
    m = BetaGeoModel()
    theta = np.array([0.3, 5.0, 0.8, 2.5])
    numeric = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = 1e-6 * theta[j]
        numeric[:, j] = (w @ m._loglik(theta + e, data, True)[1]
                         - w @ m._loglik(theta - e, data, True)[1]) / (2 * e[j])
    np.testing.assert_allclose(m._hessian(theta, data, w), numeric, rtol=1e-6)


def test_large_fit_by_newton_from_the_sample_optimum_agrees_with_lbfgs():
    # above 20,000 distinct rows BG/NBD finishes with Newton steps from the sample's optimum;
    # the same data fitted with finite-difference Hessians (no analytic one) must agree
    x, t, T = simulate_bgnbd(200_000, 0.243, 4.414, 0.793, 2.426, np.random.default_rng(7))
    fast = BetaGeoModel().fit(x, t, T)
    assert fast.n_unique_rows_ > 20_000
    slow = BetaGeoModel()
    slow._hessian = None
    slow.fit(x, t, T)
    assert fast.log_likelihood_ == pytest.approx(slow.log_likelihood_, abs=1e-6)
    np.testing.assert_allclose(fast.params_, slow.params_, rtol=1e-6)
    np.testing.assert_allclose(fast.standard_errors_, slow.standard_errors_, rtol=1e-4)


def test_large_pareto_fit_by_chord_steps_agrees_with_lbfgs(monkeypatch):
    # without an analytic Hessian, large fits finish with steps using the 20k-sample's Hessian;
    # switching that off (L-BFGS on all rows, then Newton polish) must give the same optimum
    from cvm.clv import ParetoNBDModel
    from cvm.clv._base import MaximumLikelihoodModel
    from cvm.clv.simulate import simulate_paretonbd

    x, t, T = simulate_paretonbd(80_000, 0.553, 10.578, 0.606, 11.669,
                                 np.random.default_rng(3))
    fast = ParetoNBDModel().fit(x, t, T)
    assert fast.n_unique_rows_ > 20_000
    monkeypatch.setattr(MaximumLikelihoodModel, "_chord", staticmethod(lambda *a, **k: None))
    slow = ParetoNBDModel().fit(x, t, T)
    assert fast.log_likelihood_ == pytest.approx(slow.log_likelihood_, abs=1e-6)
    np.testing.assert_allclose(fast.params_, slow.params_, rtol=1e-6)
    np.testing.assert_allclose(fast.standard_errors_, slow.standard_errors_, rtol=1e-4)


def test_summed_log_likelihood_and_gradient_equal_the_per_row_ones():
    # BG/NBD's _loglik_sum (sums per distinct x, used on large data) against w @ per-row terms
    cdnow = cdnow_summary()
    data = [cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    w = np.random.default_rng(1).integers(1, 5, len(data[0])).astype(float)
    m = BetaGeoModel()
    for theta in (np.array([0.243, 4.414, 0.793, 2.426]), np.array([1.5, 0.3, 3.0, 0.7])):
        ll, g = m._loglik(theta, data, True)
        total, grad = m._loglik_sum(theta, data, w)
        assert total == pytest.approx(w @ ll, rel=1e-12)
        np.testing.assert_allclose(grad, w @ g, rtol=1e-10)

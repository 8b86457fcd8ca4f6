"""AHP: the published worked examples, Harker completion by hand, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cvm.errors import InconsistentJudgementsWarning, InputError
from cvm.survey.ahp import RANDOM_INDEX, ahp, ahp_hierarchy, read_matrix

FIVE = [[1, 1 / 3, 1 / 2, 3, 2], [3, 1, 2, 5, 4], [2, 1 / 2, 1, 4, 3],
        [1 / 3, 1 / 5, 1 / 4, 1, 1 / 2], [1 / 2, 1 / 4, 1 / 3, 2, 1]]

# Saaty (2008), Int. J. Services Sciences 1(1), table 2: relative consumption of drinks in the
# United States; the eigenvector weights, lambda_max 7.1766 and CR .022 are printed there.
DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
BEVERAGE = [[1, 9, 5, 2, 1, 1, 1 / 2], [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
            [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9], [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
            [1, 9, 4, 2, 1, 2, 1 / 2], [1, 9, 3, 1, 1 / 2, 1, 1 / 3], [2, 9, 9, 3, 2, 3, 1]]


def test_random_index_is_saatys_1980_table():
    assert [RANDOM_INDEX[n] for n in range(1, 12)] == [0, 0, 0.58, 0.90, 1.12, 1.24, 1.32,
                                                       1.41, 1.45, 1.49, 1.51]


def test_five_by_five_geometric_mean():
    # shared/data/README.md: weights .1602 .4174 .2634 .0615 .0975, lambda_max ~ 5.068,
    # CI ~ .0170, CR ~ .0152 (to the printed decimals)
    r = ahp(FIVE, method="geometric")
    np.testing.assert_allclose(r.weights, [.1602, .4174, .2634, .0615, .0975], atol=5e-5)
    assert r.lambda_max == pytest.approx(5.068, abs=5e-4)
    assert r.ci == pytest.approx(0.0170, abs=5e-5)
    assert r.cr == pytest.approx(0.0152, abs=5e-5)
    assert r.consistent and r.ri == 1.12


def test_saaty_beverage_eigenvector():
    r = ahp(BEVERAGE, DRINKS)
    expected = {"water": .327, "soda": .190, "coffee": .177, "milk": .129, "beer": .116,
                "tea": .042, "wine": .019}
    for drink, w in expected.items():
        assert r.weights[drink] == pytest.approx(w, abs=5e-4), drink
    assert r.lambda_max == pytest.approx(7.1766, abs=5e-5)
    assert r.cr == pytest.approx(0.022, abs=5e-4)


def test_inconsistent_judgements_warn_naming_the_pair():
    bad = np.array(FIVE)
    bad[3, 1], bad[1, 3] = 7, 1 / 7  # c4 now 7x c2, though c2 beats everything else
    with pytest.warns(InconsistentJudgementsWarning, match="c4 vs c2, judged 7"):
        r = ahp(bad)
    assert r.cr >= 0.10 and r.most_inconsistent[:2] == ("c4", "c2")


def test_bad_matrices_name_the_cell():
    bad = np.array(FIVE)
    bad[0, 2] = 3
    with pytest.raises(InputError, match=r"cells \(c1, c3\) = 3 and \(c3, c1\) = 2 are not "):
        ahp(bad)
    bad = np.array(FIVE)
    bad[4, 1] = -0.25
    with pytest.raises(InputError, match=r"cell \(c5, c2\) is -0.25"):
        ahp(bad)
    bad = np.array(FIVE)
    bad[2, 2] = 2
    with pytest.raises(InputError, match=r"cell \(c3, c3\) on the diagonal"):
        ahp(bad)


def test_harker_completion_by_hand():
    # a12 = 2, a23 = 3, a13 missing. Harker's C = [[2, 2, 0], [1/2, 1, 3], [0, 1/3, 2]];
    # C (6, 3, 1)' = (18, 9, 3)' = 3 (6, 3, 1)', so w = (.6, .3, .1) and a13 = 6.
    a = [[1, 2, np.nan], [1 / 2, 1, 3], [np.nan, 1 / 3, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = ahp(a, ["a", "b", "c"])
    np.testing.assert_allclose(r.weights, [.6, .3, .1], atol=1e-12)
    assert r.matrix.loc["a", "c"] == pytest.approx(6.0)
    assert r.matrix.loc["c", "a"] == pytest.approx(1 / 6)
    assert r.completed == (("a", "c"),)
    assert r.cr == pytest.approx(0.0, abs=1e-12)


def test_harker_recovers_a_consistent_matrix():
    w = np.array([.4, .25, .2, .1, .05])
    full = w[:, None] / w[None, :]
    holes = full.copy()
    holes[0, 3] = holes[3, 0] = holes[1, 4] = np.nan
    holes[2, 4] = np.nan  # one side given: the other is its reciprocal
    r = ahp(holes)
    np.testing.assert_allclose(r.weights, w, rtol=1e-10)
    np.testing.assert_allclose(r.matrix, full, rtol=1e-10)


def test_unlinked_criteria_are_an_error():
    a = [[1, 2, np.nan], [1 / 2, 1, np.nan], [np.nan, np.nan, 1]]
    with pytest.raises(InputError, match=r"\['c3'\] are not compared"):
        ahp(a)


def test_hierarchy_global_weights():
    top = ahp([[1, 3], [1 / 3, 1]], ["service", "price"])  # .75, .25
    service = ahp([[1, 1, 2], [1, 1, 2], [1 / 2, 1 / 2, 1]], ["speed", "staff", "branch"])
    out = ahp_hierarchy(top, {"service": service}).set_index("sub_criterion")
    assert out.global_weight["speed"] == pytest.approx(0.75 * 0.4)
    assert out.global_weight["branch"] == pytest.approx(0.75 * 0.2)
    assert out.global_weight["price"] == pytest.approx(0.25)
    assert out.global_weight.sum() == pytest.approx(1.0)


def test_read_matrix_with_fractions_and_gaps(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(",a,b,c\na,1,2,\nb,1/2,1,3\nc,,1/3,1\n")
    m = read_matrix(f)
    assert m.loc["b", "a"] == 0.5 and np.isnan(m.loc["a", "c"])
    assert ahp(m).weights.round(12).tolist() == [0.6, 0.3, 0.1]
    f.write_text(",a,b\na,1,x\nb,1,1\n")
    with pytest.raises(InputError, match=r"cell \(a, b\) is 'x'"):
        read_matrix(f)

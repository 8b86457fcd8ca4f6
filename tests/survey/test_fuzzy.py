"""Fuzzy comprehensive evaluation: a 4-factor x 4-grade example checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvm.errors import InputError
from cvm.survey.fuzzy import OPERATORS, compose, fuzzy_evaluation, fuzzy_two_level

GRADES = ["excellent", "good", "fair", "poor"]
# 10 respondents grade each of four service factors. R (shares):
#   speed    .4 .3 .2 .1
#   staff    .2 .5 .2 .1
#   price    .1 .3 .4 .2
#   network  .5 .3 .1 .1
COUNTS = pd.DataFrame([[4, 3, 2, 1], [2, 5, 2, 1], [1, 3, 4, 2], [5, 3, 1, 1]],
                      index=["speed", "staff", "price", "network"], columns=GRADES)
A = {"speed": .4, "staff": .3, "price": .2, "network": .1}
SCORES = [95, 80, 65, 40]


def test_weighted_average_operator_by_hand():
    # M(.,+): excellent .4*.4 + .3*.2 + .2*.1 + .1*.5 = .29; good .12+.15+.06+.03 = .36;
    # fair .08+.06+.08+.01 = .23; poor .04+.03+.04+.01 = .12 (sums to 1: no normalising).
    # Score .29*95 + .36*80 + .23*65 + .12*40 = 27.55 + 28.8 + 14.95 + 4.8 = 76.1; grade good.
    r = fuzzy_evaluation(A, COUNTS, SCORES, "M(·,⊕)")
    np.testing.assert_allclose(r.b, [.29, .36, .23, .12], atol=1e-12)
    assert r.grade == "good"
    assert r.score == pytest.approx(76.1, abs=1e-9)


def test_the_other_three_operators_by_hand():
    # M(^,v): excellent max(min(.4,.4), min(.3,.2), min(.2,.1), min(.1,.5)) = .4; good .3;
    #   fair .2; poor max(.1, .1, .2, .1) = .2 -> normalised /1.1; grade excellent.
    r = fuzzy_evaluation(A, COUNTS, SCORES, "M(∧,∨)")
    np.testing.assert_allclose(r.b, [.4, .3, .2, .2], atol=1e-12)
    np.testing.assert_allclose(r.b_normalised, np.array([.4, .3, .2, .2]) / 1.1, atol=1e-12)
    assert r.grade == "excellent"
    assert r.score == pytest.approx((.4 * 95 + .3 * 80 + .2 * 65 + .2 * 40) / 1.1, 1e-12)
    # M(.,v): max of products: excellent max(.16,.06,.02,.05) = .16; good max(.12,.15,.06,.03)
    #   = .15; fair max(.08,.06,.08,.01) = .08; poor max(.04,.03,.04,.01) = .04.
    r = fuzzy_evaluation(A, COUNTS, SCORES, "M(·,∨)")
    np.testing.assert_allclose(r.b, [.16, .15, .08, .04], atol=1e-12)
    # M(^,+): bounded sums of minima: excellent .4+.2+.1+.1 = .8; good .3+.3+.2+.1 = .9;
    #   fair .2+.2+.2+.1 = .7; poor .1+.1+.2+.1 = .5; grade good.
    r = fuzzy_evaluation(A, COUNTS, SCORES, "M(∧,⊕)")
    np.testing.assert_allclose(r.b, [.8, .9, .7, .5], atol=1e-12)
    assert r.grade == "good"


def test_bounded_sum_caps_at_one():
    assert compose([1, 1], [[.9, .1], [.8, .2]], "M(^,+)").tolist() == pytest.approx([1.0, 0.3])
    assert set(OPERATORS) == {"M(^,v)", "M(.,v)", "M(^,+)", "M(.,+)"}


def test_two_level_by_hand():
    # service (weight .6) has sub-factors speed/staff weighted .5/.5 with good/poor counts
    # 6/4 and 2/8 -> B = (.5*.6 + .5*.2, .5*.4 + .5*.8) = (.4, .6); price (.4) has one
    # sub-factor 9/1 -> (.9, .1). Top: .6*(.4, .6) + .4*(.9, .1) = (.6, .4); score
    # with grade scores (100, 0) = 60.
    sub = {"service": ({"speed": .5, "staff": .5},
                       pd.DataFrame([[6, 4], [2, 8]], index=["speed", "staff"],
                                    columns=["good", "poor"])),
           "price": ({"tariff": 1.0}, pd.DataFrame([[9, 1]], index=["tariff"],
                                                   columns=["good", "poor"]))}
    top, first = fuzzy_two_level({"service": .6, "price": .4}, sub, [100, 0])
    np.testing.assert_allclose(first["service"].b, [.4, .6], atol=1e-12)
    np.testing.assert_allclose(top.b, [.6, .4], atol=1e-12)
    assert top.grade == "good" and top.score == pytest.approx(60.0)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="no weight for \\['network'\\]"):
        fuzzy_evaluation({"speed": .5, "staff": .3, "price": .2}, COUNTS)
    with pytest.raises(InputError, match="unknown composition operator"):
        fuzzy_evaluation(A, COUNTS, operator="M(x,y)")
    bad = COUNTS.copy()
    bad.loc["price", "fair"] = -1
    with pytest.raises(InputError, match="factor 'price', grade 'fair'"):
        fuzzy_evaluation(A, bad)

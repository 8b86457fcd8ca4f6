"""NPS: the published worked example, hand-computed tests, properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvm.errors import SmallSampleWarning, ValidationError
from cvm.survey.nps import nps, nps_by, nps_classes, nps_difference, nps_trend


def test_worked_example_100_60_40():
    # shared/data/README.md: 100 promoters, 60 passives, 40 detractors -> NPS 30, SE 5.52,
    # 95% CI 19.2 to 40.8 (variance of the +1/0/-1 score); tolerance: the printed decimals.
    r = nps([10] * 100 + [7] * 60 + [0] * 40)
    assert (r.n, r.promoters, r.passives, r.detractors) == (200, 100, 60, 40)
    assert r.nps == pytest.approx(30.0, abs=1e-9)
    assert r.se == pytest.approx(5.52, abs=0.005)
    assert r.ci_low == pytest.approx(19.2, abs=0.05)
    assert r.ci_high == pytest.approx(40.8, abs=0.05)


def test_class_boundaries_and_missing():
    got = nps_classes([0, 6, 7, 8, 9, 10, None])
    assert got.iloc[:6].tolist() == ["detractor", "detractor", "passive", "passive",
                                     "promoter", "promoter"]
    assert pd.isna(got.iloc[6])
    assert nps([9, None, 3]).n == 2  # a non-answer is left out


def test_bad_answers_name_the_row():
    with pytest.raises(ValidationError) as err:
        nps([10, 9, 11, 7.5, "x"], source="recommend")
    msg = str(err.value)
    assert "row 3, field 'recommend': got 11" in msg
    assert "row 4" in msg and "row 5" in msg and err.value.total == 3


def test_two_groups_z_test_by_hand():
    a = nps([10] * 100 + [8] * 60 + [2] * 40)  # NPS 30, SE^2 = 1e4 * 0.61 / 200 = 30.5
    b = nps([9] * 40 + [7] * 30 + [5] * 30)  # NPS 10, SE^2 = 1e4 * (0.7 - 0.01) / 100 = 69
    t = nps_difference(a, b)
    assert t["difference"] == pytest.approx(20.0)
    assert t["se"] == pytest.approx(np.sqrt(30.5 + 69.0), 1e-12)
    assert t["z"] == pytest.approx(20 / np.sqrt(99.5), 1e-12)
    assert t["p_value"] == pytest.approx(0.04496, abs=1e-4)  # 2 * (1 - Phi(2.00502))


def test_by_group_flags_and_warns_small_groups():
    df = pd.DataFrame({"score": [10] * 40 + [3] * 10 + [9] * 5,
                       "tier": ["gold"] * 50 + ["silver"] * 5})
    with pytest.warns(SmallSampleWarning, match=r"silver \(n=5\)"):
        out = nps_by(df, "score", "tier")
    gold = out.set_index("group").loc["gold"]
    assert gold.nps == pytest.approx(100 * (40 - 10) / 50)
    assert out.set_index("group").small_sample.to_dict() == {"gold": False, "silver": True}


def test_trend_by_month_tests_each_month_against_the_last():
    df = pd.DataFrame({
        "score": [10] * 100 + [8] * 60 + [2] * 40 + [9] * 40 + [7] * 30 + [5] * 30,
        "date": ["2024-01-15"] * 200 + ["2024-02-03"] * 100})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = nps_trend(df, "score", "date")
    assert out.month.tolist() == ["2024-01", "2024-02"]
    assert np.isnan(out.change.iloc[0])
    assert out.change.iloc[1] == pytest.approx(-20.0)
    assert out.z.iloc[1] == pytest.approx(-20 / np.sqrt(99.5), 1e-12)


@given(st.lists(st.integers(0, 10), min_size=1, max_size=300))
def test_se_is_that_of_the_mean_score(answers):
    r = nps(answers)
    s = np.select([np.array(answers) >= 9, np.array(answers) <= 6], [1, -1], 0)
    assert r.nps == pytest.approx(100 * s.mean(), abs=1e-9)
    assert r.se == pytest.approx(100 * s.std() / np.sqrt(len(s)), abs=1e-9)
    assert -100 <= r.ci_low <= r.nps <= r.ci_high <= 100

"""Says vs does: behaviour by NPS class and satisfaction quintile, with intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cvm.errors import InputError
from cvm.survey.behaviour import says_vs_does, wilson_interval


def test_wilson_interval_by_hand():
    # 8 of 10, z = 1.96: centre (.8 + 1.96^2/20) / (1 + 1.96^2/10) = .99208 / 1.38416 = .71674;
    # half 1.96 sqrt(.016 + 1.96^2/400) / 1.38416 = .22658 -> (.4902, .9433)
    lo, hi = wilson_interval(8, 10)
    assert (lo, hi) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))


def test_by_nps_class():
    df = pd.DataFrame({
        "recommend": [10] * 10 + [7] * 4 + [2] * 6,
        "repeat": [1] * 8 + [0] * 2 + [1, 0, 0, 1] + [0] * 5 + [1],
        "spend": [100.0] * 5 + [50.0] * 5 + [40.0] * 4 + [10.0, 20.0, 30.0, 10.0, 20.0, 30.0],
    })
    out = says_vs_does(df, ["repeat", "spend"], nps="recommend").set_index(["group",
                                                                            "behaviour"])
    promo = out.loc[("promoter", "repeat")]
    assert (promo.kind, promo.n, promo.value) == ("rate", 10, 0.8)
    assert promo.ci_low == pytest.approx(wilson_interval(8, 10)[0])
    det = out.loc[("detractor", "spend")]
    # mean 20, squared deviations 4 x 100 = 400, sd sqrt(400 / 5) = sqrt(80);
    # t(.975, 5) = 2.5706 -> 20 +/- 2.5706 * sqrt(80) / sqrt(6) = 20 +/- 9.386
    assert det.value == pytest.approx(20.0)
    half = stats.t.ppf(0.975, 5) * np.sqrt(80) / np.sqrt(6)
    assert half == pytest.approx(9.386, abs=1e-3)
    assert (det.ci_low, det.ci_high) == (pytest.approx(20 - half), pytest.approx(20 + half))
    assert out.loc[("passive", "repeat")].value == pytest.approx(0.5)


def test_by_satisfaction_quintile():
    df = pd.DataFrame({"csi": np.arange(10.0), "churned": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]})
    out = says_vs_does(df, ["churned"], satisfaction="csi")
    assert out.group.tolist() == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert out.value.tolist() == [1.0, 0.5, 0.5, 0.0, 0.0]
    with pytest.raises(InputError, match="exactly one"):
        says_vs_does(df, ["churned"])

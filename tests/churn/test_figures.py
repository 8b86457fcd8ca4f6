"""Churn figures carry the hand-computed numbers of their tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvm.churn.figures import (
    calibration_figure,
    cohort_heatmap,
    gains_figure,
    reasons_figure,
    survival_figure,
)
from cvm.churn.metrics import calibration_bins, expected_calibration_error
from cvm.churn.survival import kaplan_meier
from cvm.errors import InputError

Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
P = np.array([0.95, 0.85, 0.62, 0.55, 0.35, 0.31, 0.12, 0.08, 0.05, 0.02])


def test_gains_figure():
    # top 10%: 1 of 3 churners; 20%: still 1; 30%: 2; 60% (down to 0.31): 3; 100%: 3
    fig = gains_figure(Y, P)
    model = fig.data[0]
    assert list(model.x) == pytest.approx([i / 10 for i in range(11)])
    assert list(model.y) == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1, 1])
    assert model.customdata[1] == pytest.approx(1 / 0.3)  # lift of the top decile
    assert fig.data[1].name == "random"


def test_calibration_figure_uses_the_ece_bins():
    # non-empty bins (see test_churn_metrics.test_ece_by_hand): 0 {.08 .05 .02}, 1 {.12},
    # 3 {.35 .31}, 5 {.55}, 6 {.62}, 8 {.85}, 9 {.95}
    fig = calibration_figure(Y, P)
    assert list(fig.data[0].x) == pytest.approx([0.05, 0.12, 0.33, 0.55, 0.62, 0.85, 0.95])
    assert list(fig.data[0].y) == pytest.approx([0, 0, 0.5, 0, 1, 0, 1])
    b = calibration_bins(Y, P)
    assert list(b["customers"]) == [3, 1, 2, 1, 1, 1, 1]
    ece = (b["customers"] * (b["churn_rate"] - b["mean_probability"]).abs()).sum() / len(Y)
    assert ece == pytest.approx(expected_calibration_error(Y, P))


def test_survival_figure_steps_from_one():
    df = pd.DataFrame({"tenure": [1, 2, 2, 3, 4, 5], "churned": [1, 1, 0, 1, 0, 1]})
    fig = survival_figure(kaplan_meier(df).curves)
    # hand KM (test_churn_survival): 5/6, 2/3, 4/9, 4/9, 0 at times 1..5
    assert list(fig.data[0].x) == [0, 1, 2, 3, 4, 5]
    assert list(fig.data[0].y) == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0])
    assert fig.data[0].line.shape == "hv"


def test_cohort_heatmap_grid():
    cohorts = pd.DataFrame({
        "cohort": ["2024-01-01"] * 4 + ["2024-02-01"] * 3 + ["2024-03-01"] * 2,
        "k": [0, 1, 2, 3, 0, 1, 2, 0, 1],
        "rate": [1, .5, .5, .5, 1, .5, .5, 1, 0]})
    z = np.array(cohort_heatmap(cohorts).data[0].z, dtype=float)
    np.testing.assert_array_equal(z, [[1, .5, .5, .5], [1, .5, .5, np.nan],
                                      [1, 0, np.nan, np.nan]])
    with pytest.raises(InputError, match="needs the columns"):
        cohort_heatmap(cohorts, value="revenue")


def test_reasons_figure_stacks_one_trace_per_reason():
    t = pd.DataFrame({"period_start": ["2024-01-01", "2024-01-01", "2024-04-01"],
                      "reason": ["active_competitive", "passive_non_malicious", "unknown"],
                      "churned": [1, 1, 1]})
    fig = reasons_figure(t)
    assert [tr.name for tr in fig.data] == ["active_competitive", "passive_non_malicious",
                                            "unknown"]
    assert fig.layout.barmode == "stack"

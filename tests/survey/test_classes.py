"""Loyalty classes and Oliver's four levels, on small tables computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvm.config import SurveySettings
from cvm.errors import InputError
from cvm.survey.classes import loyalty_classes, loyalty_levels

# default thresholds: loyal_intention 75, drifting_intention 40, loyal_min_repeat 0.5,
# loyal_min_tenure_months 12, drifting_recency_days 180
PEOPLE = pd.DataFrame({
    "recommend": [10, 9, 5, 9, 2, np.nan],
    "switch": [0, 1, 5, 0, 8, np.nan],  # reversed: 0 -> 100
    "repeat": [0.8, 0.2, 0.6, 0.9, 0.1, 0.5],
    "tenure": [24, 36, 30, 48, 2, 10],
    "recency": [30, 20, 60, 400, 200, 10],
})


def test_classes_says_vs_does():
    out = loyalty_classes(PEOPLE, recommend=["recommend"], switch=["switch"],
                          repeat_rate="repeat", tenure_months="tenure", recency_days="recency")
    # intention: (100 + 100)/2, (90 + 90)/2, (50 + 50)/2, (90 + 100)/2, (20 + 20)/2, missing
    assert out.intention.iloc[:5].tolist() == pytest.approx([100, 90, 50, 95, 20])
    # source 000's classes from what they say alone: 100, 90, 95 >= 75 loyal; 20 < 40 drifting
    assert out["intention_class"].iloc[:5].tolist() == ["loyal", "loyal", "general", "loyal",
                                                        "drifting"]
    # checked against behaviour: the second repeats 0.2 < 0.5, the fourth last bought 400 > 180
    # days ago
    assert out["checked_class"].iloc[:5].tolist() == ["loyal", "general", "general",
                                                      "drifting", "drifting"]
    assert out.says_vs_does.iloc[:5].tolist() == [
        "consistent", "says loyal, does general", "consistent", "says loyal, does drifting",
        "consistent"]
    assert pd.isna(out["checked_class"].iloc[5]) and out.says_vs_does.iloc[5] is None
    assert pd.isna(out["intention_class"].iloc[5])


def test_classes_from_intention_alone_and_settings():
    out = loyalty_classes(PEOPLE, recommend=["recommend"])
    assert out["checked_class"].iloc[:5].tolist() == ["loyal", "loyal", "general", "loyal",
                                                      "drifting"]
    # without behaviour the check has nothing to add
    pd.testing.assert_series_equal(out["intention_class"], out["checked_class"],
                                   check_names=False)
    strict = SurveySettings(loyal_intention=95)
    out = loyalty_classes(PEOPLE, recommend=["recommend"], settings=strict)
    assert out["checked_class"].iloc[:5].tolist() == ["loyal", "general", "general",
                                                      "general", "drifting"]
    with pytest.raises(InputError, match="row 1, item 'recommend': 11"):
        loyalty_classes(pd.DataFrame({"recommend": [11]}), recommend=["recommend"])


def test_use_more_counts_as_intention():
    # 0-10: "will use more" 8 and 2 join recommend 10 and 4: (100 + 80) / 2 = 90 -> loyal,
    # (40 + 20) / 2 = 30 -> drifting
    df = pd.DataFrame({"recommend": [10, 4], "more": [8, 2]})
    out = loyalty_classes(df, recommend=["recommend"], use_more=["more"])
    assert out["intention"].tolist() == pytest.approx([90, 30])
    assert out["intention_class"].tolist() == ["loyal", "drifting"]


def test_levels_are_sequential():
    # 1..7 scale: v -> 100 (v - 1) / 6; threshold 60 means v >= 4.6
    df = pd.DataFrame({"know": [7, 7, 3], "like": [7, 6, 7], "intend": [7, 2, 7],
                       "buy": [7, 7, 7]})
    out = loyalty_levels(df, {"cognitive": ["know"], "affective": ["like"],
                              "conative": ["intend"], "action": ["buy"]})
    assert out.affective.tolist() == pytest.approx([100, 100 * 5 / 6, 100])
    # the second attains affective only: conative fails, so action does not count
    assert out.level.tolist() == ["action", "affective", "none"]
    with pytest.raises(InputError, match="missing \\['action'\\]"):
        loyalty_levels(df, {"cognitive": ["know"], "affective": ["like"],
                            "conative": ["intend"]})

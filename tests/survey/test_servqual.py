"""SERVQUAL gap 5 and disconfirmation on a small example computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from cvm.errors import InputError
from cvm.survey.servqual import disconfirmation, servqual

DATA = pd.DataFrame({
    "E_T1": [6, 7, 5], "P_T1": [5, 7, 6],  # gaps -1, 0, 1  -> mean 0
    "E_T2": [7, 7, 7], "P_T2": [5, 6, 4],  # gaps -2, -1, -3 -> mean -2
    "E_R1": [7, 6, 7], "P_R1": [6, 6, 4],  # gaps -1, 0, -3 -> mean -4/3
})
ITEMS = pd.DataFrame({"item": ["T1", "T2", "R1"],
                      "dimension": ["tangibles", "tangibles", "reliability"],
                      "expected": ["E_T1", "E_T2", "E_R1"],
                      "perceived": ["P_T1", "P_T2", "P_R1"]})


def test_gap5_by_item_and_dimension():
    out = servqual(DATA, ITEMS, importance={"tangibles": 30, "reliability": 70})
    items = out["items"].set_index("item")
    assert items.gap.to_dict() == pytest.approx({"T1": 0.0, "T2": -2.0, "R1": -4 / 3})
    dims = out["dimensions"].set_index("dimension")
    # tangibles (0 + -2) / 2 = -1; reliability -4/3
    assert dims.gap.to_dict() == pytest.approx({"tangibles": -1.0, "reliability": -4 / 3})
    assert out["score"] == pytest.approx((-1 - 4 / 3) / 2)  # -7/6
    assert out["weighted_score"] == pytest.approx(0.3 * -1 + 0.7 * -4 / 3)  # -1.2333


def test_disconfirmation_per_respondent():
    # respondent means of P - E: (-1-2-1)/3 = -4/3, (0-1+0)/3 = -1/3, (1-3-3)/3 = -5/3
    person, _ = disconfirmation(DATA, ITEMS, tolerance=0.5)
    assert person.disconfirmation.tolist() == pytest.approx([-4 / 3, -1 / 3, -5 / 3])
    assert person.verdict.tolist() == ["dissatisfied", "satisfied", "dissatisfied"]


def test_errors_name_the_column():
    with pytest.raises(InputError, match=r"\['E_T2'\]"):
        servqual(DATA.drop(columns="E_T2"), ITEMS)
    with pytest.raises(InputError, match="no weight for \\['reliability'\\]"):
        servqual(DATA, ITEMS, importance={"tangibles": 1})
    bad = DATA.astype(object)
    bad.loc[1, "P_R1"] = "n/a"
    with pytest.raises(InputError, match="row 2, column 'P_R1'"):
        servqual(bad, ITEMS)

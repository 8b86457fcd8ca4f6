"""``ws.clv``: CDNOW imported the normal way, fitted, checked on a hold-out, scored; and
``ClvFacade.fit_summary`` on a summary table."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from clv_helpers import cdnow_summary
from conftest import cdnow_sample_workspace
from cvm import Workspace
from cvm._time import period_length
from cvm.cli import app
from cvm.clv.facade import ClvFacade
from cvm.errors import InputError


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory) -> Workspace:
    return cdnow_sample_workspace(tmp_path_factory.mktemp("cdnow"))


def test_holdout_check_reproduces_fader_hardie_lee(cdnow):
    """Fader, Hardie & Lee (2005): BG/NBD on the CDNOW sample calibrated to 1997-09-30;
    the 2,357 customers made 1,882 day-level purchases in weeks 40-78, and the model
    predicts 1,654 (their eq. 10, published parameters; ours refitted agree to 3 digits,
    so the total agrees to +-1)."""
    fitted, totals, by_freq = cdnow.clv.holdout("bgnbd", dt.date(1997, 9, 30),
                                                dt.date(1998, 6, 30), "weeks")
    assert fitted.params_["r"] == pytest.approx(0.243, abs=5e-4)
    assert totals["customers"] == 2357 and totals["holdout_length"] == 39.0
    assert totals["actual"] == 1882
    assert abs(totals["predicted"] - 1654) <= 1
    assert by_freq["customers"].sum() == 2357
    assert list(by_freq["calibration_frequency"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]


def test_fit_report_carries_the_holdout_check(cdnow):
    report = cdnow.clv.fit_report("bgnbd", dt.date(1997, 9, 30), dt.date(1998, 6, 30))
    assert report.unit == "weeks"  # the setting time_unit
    assert report.details["holdout"]["actual"] == 1882
    assert abs(report.details["holdout"]["predicted"] - 1654) <= 1
    out = report.to_dict()
    assert out["model"] == "bgnbd" and out["estimator"] == "BetaGeoModel"
    assert out["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert [r["calibration_frequency"] for r in out["holdout_by_frequency"]] == [
        "0", "1", "2", "3", "4", "5", "6", "7+"]
    # without a calibration end: all history, no hold-out
    plain = cdnow.clv.fit_report("bgnbd")
    assert plain.details == {"holdout": None, "holdout_by_frequency": None}
    assert plain.to_dict()["n_customers"] == 2357
    with pytest.raises(InputError, match="unknown purchase model 'bgbb'"):
        cdnow.clv.fit("bgbb")


def test_fit_summary_on_a_table_and_through_the_workspace():
    # Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426
    cd = cdnow_summary()
    report = ClvFacade.fit_summary(cd)
    assert report.to_dict()["parameters"] == pytest.approx(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, abs=5e-4)
    with pytest.raises(InputError, match="summary: no T column; expected one of T, found ID"):
        ClvFacade.fit_summary(cd.drop(columns="T"))
    with pytest.raises(InputError, match="unknown model 'nbd'"):
        ClvFacade.fit_summary(cd, "nbd")


def test_period_length_in_units():
    assert period_length("week", "weeks") == 1.0
    assert period_length("month", "days") == pytest.approx(30.436875)
    assert period_length("year", "weeks") == pytest.approx(365.2425 / 7)


def test_scores_are_stored_and_clv_is_margin_spend_discounted_purchases(cdnow):
    ws = cdnow.with_settings(period="week", **{"clv.discount_rate": 0.0,
                                               "clv.horizon_periods": 39})
    table = ws.clv.score("bgnbd", margin=0.3).to_pandas()
    assert len(table) == 2357
    stored = ws.result("clv_scores").to_pyarrow().to_pandas()
    assert len(stored) == 2357 and set(stored["model"]) == {"bgnbd"}
    np.testing.assert_allclose(table["clv"], 0.3 * table["expected_spend"]
                               * table["discounted_expected_purchases"], rtol=1e-12)
    # with no discounting, discounted purchases over 39 weekly periods are the 39-week
    # conditional expectation
    np.testing.assert_allclose(table["discounted_expected_purchases"],
                               table["expected_purchases_horizon"], rtol=1e-9)
    assert table.loc[table["p_alive"].idxmax(), "p_alive"] <= 1.0


def test_cli_fit_with_holdout_json(cdnow):
    result = CliRunner().invoke(app, ["clv", "fit", "-w", str(cdnow.path), "--calibration-end",
                                      "1997-09-30", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert out["holdout"]["actual"] == 1882
    bad = CliRunner().invoke(app, ["clv", "fit", "-w", str(cdnow.path), "--model", "bgbb"])
    assert bad.exit_code == 2 and "needs --summary FILE" in bad.stderr

"""Sample size before launch: Cohen's (1988) table values, the normal formula by hand, the
inverse (smallest detectable effect), several arms and outcomes, and bad plans refused."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats
from typer.testing import CliRunner

from cvm.campaign.power import plan, plans
from cvm.cli import app
from cvm.errors import InputError


def test_cohen_table_2_4_1_means():
    """Cohen (1988), Statistical Power Analysis, 2nd ed., Table 2.4.1: d = .5, two-sided
    alpha .05, power .80 -> n = 64 per group (exact t-test solution 63.77, rounded up)."""
    got = plan(effect=5.0, sd=10.0)
    assert (got["kind"], got["effect_size"]) == ("mean", 0.5)
    assert (got["n_arm"], got["n_control"], got["n_total"]) == (64, 64, 128)
    # d = .8 -> 26 (Table 2.4.1: 26; exact 25.5); d = .2 -> 394 (the exact t solution,
    # 393.4; Cohen's table, from an approximation, gives 393)
    assert plan(effect=0.8, sd=1.0)["n_arm"] == 26
    assert plan(effect=0.2, sd=1.0)["n_arm"] == 394


def test_cohen_h_rates_by_hand():
    """A rate: h = 2 asin(sqrt(.12)) - 2 asin(sqrt(.10)) = .063982; n = (z_.975 + z_.80)^2
    x 2 / h^2 = 3,834.6 -> 3,835 per arm (the normal approximation, equal groups). Cohen's
    Table 6.4.1 gives 392 for h = .2 (392.4 before rounding)."""
    h = 2 * math.asin(math.sqrt(0.12)) - 2 * math.asin(math.sqrt(0.10))
    n = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / h ** 2
    got = plan(effect=0.02, baseline=0.10)
    assert got["effect_size"] == pytest.approx(h) == pytest.approx(0.063982, abs=1e-6)
    assert got["n_arm"] == math.ceil(n) == 3835
    p1 = math.sin((0.2 + 2 * math.asin(math.sqrt(0.5))) / 2) ** 2  # h = .2 from .5
    assert plan(effect=p1 - 0.5, baseline=0.5)["n_arm"] == 393  # 392.4 rounded up


def test_detectable_effect_inverts_the_sample_size():
    for kw in ({"baseline": 0.10}, {"sd": 80.0}):
        need = plan(effect=0.03 if "baseline" in kw else 10.0, **kw)
        back = plan(n=need["n_arm"], **kw)
        target = 0.03 if "baseline" in kw else 10.0
        assert back["effect"] <= target  # n rounded up detects a little less
        assert back["effect"] == pytest.approx(target, rel=2e-3)


def test_arms_outcomes_and_control_ratio():
    """Three arms x two outcomes: six tests, each at .05 / 6 (Bonferroni, the first step of
    Holm's); a control twice the size of each arm; the total counts the arms once each."""
    got = plan(effect=0.02, baseline=0.10, arms=3, outcomes=2, control_ratio=2.0)
    assert got["tests"] == 6 and got["alpha_per_test"] == pytest.approx(0.05 / 6)
    h = got["effect_size"]
    z = stats.norm.ppf(1 - 0.05 / 12) + stats.norm.ppf(0.8)
    n1 = z ** 2 * (1 + 1 / 2) / h ** 2  # var of the difference: 1/n1 + 1/(2 n1)
    assert got["n_arm"] == math.ceil(n1)
    assert got["n_control"] == 2 * got["n_arm"]
    assert got["n_total"] == 3 * got["n_arm"] + got["n_control"]
    table = plans(effects=[0.02, 0.03], baseline=0.10)
    assert list(table["effect"]) == [0.02, 0.03]
    assert table["n_arm"].is_monotonic_decreasing


@pytest.mark.parametrize("kw, message", [
    ({"effect": 0.02}, "a rate needs --baseline"),
    ({"effect": 0.02, "n": 100, "baseline": 0.1}, "either the effect"),
    ({"effect": 0.95, "baseline": 0.1}, "--baseline \\+ --effect must be between 0 and 1"),
    ({"effect": 0.02, "baseline": 1.2}, "--baseline must be between 0 and 1"),
    ({"effect": 0.0, "baseline": 0.1}, "non-zero"),
    ({"effect": 1.0, "sd": -2.0}, "--sd must be above 0"),
    ({"n": 1, "sd": 2.0}, "at least 2"),
])
def test_bad_plans(kw, message):
    with pytest.raises(InputError, match=message):
        plan(**kw)


def test_power_command():
    runner = CliRunner()
    res = runner.invoke(app, ["campaign", "power", "--baseline", "0.10", "--effect", "0.02",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["n_arm"] == 3835 and row["kind"] == "rate"
    res = runner.invoke(app, ["campaign", "power", "--effect", "0.02"])
    assert res.exit_code == 2 and "--baseline" in res.output

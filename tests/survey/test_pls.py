"""PLS path modelling: the ECSI model on mobi against R semPLS, and exact properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_data
from cvm.errors import InputError, NotFittedError, ValidationError
from cvm.survey import PathModel, PLSPathModel, bootstrap_indices


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "ecsi" / "mobi.csv", index_col=0)


@pytest.fixture(scope="module")
def centroid(mobi) -> PLSPathModel:
    return PLSPathModel().fit(mobi)


def _path(fit: PLSPathModel, a: str, b: str) -> float:
    return float(fit.path_coefficients_.loc[a, b])


# Reference: R semPLS (sempls(ECSImobi, mobi), standardised indicators, centroid scheme), as
# given in shared/data/README.md. Tolerance: 4 decimals (abs 5e-5).
SEMPLS_CENTROID = {
    ("Image", "Expectation"): 0.504706,
    ("Expectation", "Quality"): 0.557248,
    ("Quality", "Satisfaction"): 0.512545,
    ("Value", "Satisfaction"): 0.191816,
    ("Satisfaction", "Loyalty"): 0.483475,
    ("Complaints", "Loyalty"): 0.071232,
}


@pytest.mark.parametrize(("edge", "expected"), SEMPLS_CENTROID.items())
def test_centroid_paths_match_sempls(centroid, edge, expected):
    assert _path(centroid, *edge) == pytest.approx(expected, abs=5e-5)


def test_centroid_r2_loadings_gof_match_sempls(centroid):
    assert centroid.r2_["Satisfaction"] == pytest.approx(0.680281, abs=5e-5)
    assert centroid.r2_["Loyalty"] == pytest.approx(0.457286, abs=5e-5)
    # CUSL1-3 loadings .8138 .2191 .9168 (CUSL2, "would switch", is the known bad item)
    np.testing.assert_allclose(centroid.loadings_[["CUSL1", "CUSL2", "CUSL3"]],
                               [0.8138, 0.2191, 0.9168], atol=5e-5)
    # semPLS GoF 0.4715: communality averaged over blocks with more than one item
    assert centroid.gof_ == pytest.approx(0.4715, abs=5e-5)


def test_path_scheme_matches_sempls(mobi):
    fit = PLSPathModel(scheme="path").fit(mobi)
    assert _path(fit, "Image", "Expectation") == pytest.approx(0.504914, abs=5e-5)
    assert fit.r2_["Satisfaction"] == pytest.approx(0.681078, abs=5e-5)


def test_standard_deviation_divisor_only_rescales_weights(mobi, centroid):
    """semPLS standardises with R's scale() (n - 1 sd). Paths, R², loadings and GoF do not
    depend on the divisor (correlations are the same); outer weights do: data standardised
    with the n sd are sqrt(n / (n - 1)) times larger, so their weights are sqrt((n - 1) / n)
    times smaller (latent scores always have unit n - 1 variance)."""
    X = mobi[centroid.model_.items]
    n = len(X)
    z0 = (X - X.mean()) / X.std(ddof=0)
    fit0 = PLSPathModel(standardize=False, model=PathModel(
        blocks=centroid.model_.blocks, paths=centroid.model_.paths)).fit(z0)
    np.testing.assert_allclose(fit0.path_coefficients_, centroid.path_coefficients_, atol=1e-9)
    np.testing.assert_allclose(fit0.loadings_, centroid.loadings_, atol=1e-9)
    assert fit0.gof_ == pytest.approx(centroid.gof_, abs=1e-9)
    np.testing.assert_allclose(fit0.weights_, centroid.weights_ * np.sqrt((n - 1) / n),
                               rtol=1e-8)
    scores = centroid.transform(mobi)
    np.testing.assert_allclose(scores.std(ddof=1), 1.0, rtol=1e-10)


def test_total_effect_is_sum_over_routes(centroid):
    p = centroid.path_coefficients_
    routes = (p.loc["Image", "Satisfaction"]
              + p.loc["Image", "Expectation"] * p.loc["Expectation", "Satisfaction"]
              + p.loc["Image", "Expectation"] * p.loc["Expectation", "Quality"]
              * p.loc["Quality", "Satisfaction"]
              + p.loc["Image", "Expectation"] * p.loc["Expectation", "Value"]
              * p.loc["Value", "Satisfaction"]
              + p.loc["Image", "Expectation"] * p.loc["Expectation", "Quality"]
              * p.loc["Quality", "Value"] * p.loc["Value", "Satisfaction"])
    assert centroid.total_effects_.loc["Image", "Satisfaction"] == pytest.approx(routes, 1e-12)
    assert centroid.total_effects_.loc["Loyalty", "Image"] == 0


def test_block_reliability_by_hand(mobi, centroid):
    blocks = centroid.blocks_.set_index("construct")
    # two standardised items with correlation r: alpha = 2r / (1 + r)
    r = mobi["PERV1"].corr(mobi["PERV2"])
    assert blocks.loc["Value", "cronbach_alpha"] == pytest.approx(2 * r / (1 + r), 1e-12)
    lam = centroid.loadings_[["PERV1", "PERV2"]].to_numpy()
    rho = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum())
    assert blocks.loc["Value", "dg_rho"] == pytest.approx(rho, 1e-12)
    assert blocks.loc["Value", "ave"] == pytest.approx(np.mean(lam ** 2), 1e-12)
    # a single-item block: loading 1, alpha and rho undefined
    assert centroid.loadings_["CUSCO"] == pytest.approx(1.0, 1e-12)
    assert np.isnan(blocks.loc["Complaints", "cronbach_alpha"])


def test_index_rescales_unstandardised_weights(mobi, centroid):
    # a one-item block's index is its mean on the 1..10 scale mapped to 0..100
    assert centroid.index_["Complaints"] == pytest.approx(
        100 * (mobi["CUSCO"].mean() - 1) / 9, 1e-12)
    uw = centroid.unstd_weights_
    sd = mobi[uw.index].std(ddof=1)
    raw = centroid.weights_ / sd
    # Value: w_k / sd_k normalised to sum 1
    v = raw[["PERV1", "PERV2"]] / raw[["PERV1", "PERV2"]].sum()
    np.testing.assert_allclose(uw[["PERV1", "PERV2"]], v, rtol=1e-12)
    per_person = centroid.index_scores(mobi)
    np.testing.assert_allclose(per_person.mean(), centroid.index_, rtol=1e-12)
    assert per_person.to_numpy().min() >= 0 and per_person.to_numpy().max() <= 100 + 1e-9


def test_one_item_blocks_give_the_correlation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    df = pd.DataFrame({"x": x, "y": 0.6 * x + rng.normal(size=80)})
    fit = PLSPathModel(model=PathModel(blocks={"X": ["x"], "Y": ["y"]},
                                       paths={"Y": ["X"]})).fit(df)
    r = np.corrcoef(df.x, df.y)[0, 1]
    assert fit.path_coefficients_.loc["X", "Y"] == pytest.approx(r, 1e-12)
    assert fit.r2_["Y"] == pytest.approx(r ** 2, 1e-12)


def test_mode_b_block_reproduces_ols_r2():
    """A formative (mode B) block explaining a one-item construct: the mode B weights are
    the OLS coefficients of y on the block, so R² equals the OLS R²."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 3))
    y = X @ [0.5, -0.3, 0.2] + rng.normal(size=120)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    model = PathModel(blocks={"F": ["a", "b", "c"], "Y": ["y"]}, paths={"Y": ["F"]},
                      modes={"F": "B"})
    for scheme in ("centroid", "factorial", "path"):
        fit = PLSPathModel(model=model, scheme=scheme).fit(df)
        design = np.column_stack([np.ones(120), X])
        resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        ols_r2 = 1 - resid.var() / y.var()
        assert fit.r2_["Y"] == pytest.approx(ols_r2, 1e-9)


def test_raw_on_standardised_data_equals_standardised(mobi, centroid):
    X = mobi[centroid.model_.items]
    z = (X - X.mean()) / X.std(ddof=1)
    model = PathModel(blocks=centroid.model_.blocks, paths=centroid.model_.paths)
    raw = PLSPathModel(model=model, standardize=False).fit(z)
    np.testing.assert_allclose(raw.weights_, centroid.weights_, rtol=1e-9)


def test_model_from_toml_equals_builtin(tmp_path, mobi, centroid):
    m = PathModel.ecsi()
    lines = ["[blocks]"] + [f"{c} = {list(v)!r}".replace("'", '"') for c, v in m.blocks.items()]
    lines += ["[paths]"] + [f"{c} = {list(v)!r}".replace("'", '"') for c, v in m.paths.items()]
    lines += ["[scale]", "min = 1", "max = 10"]
    (tmp_path / "ecsi.toml").write_text("\n".join(lines))
    fit = PLSPathModel(model=PathModel.from_toml(tmp_path / "ecsi.toml")).fit(mobi)
    pd.testing.assert_frame_equal(fit.paths_, centroid.paths_)
    pd.testing.assert_series_equal(fit.index_, centroid.index_)


# ---------------------------------------------------------------------------- bootstrap
def test_bootstrap_resamples_are_distinct_multisets():
    # 3 respondents have exactly C(5, 3) = 10 distinct resamples of size 3
    idx = bootstrap_indices(3, 10, np.random.default_rng(0))
    assert len({tuple(sorted(r)) for r in idx}) == 10
    with pytest.raises(InputError, match="distinct"):
        bootstrap_indices(3, 11, np.random.default_rng(0))


def test_bootstrap_500_resamples(mobi):
    # its speed (500 resamples of 250 respondents well under 10 s) is measured by
    # bench/pls_bench.py, not asserted here
    a = PLSPathModel(n_bootstrap=500, random_state=11).fit(mobi)
    assert a.bootstrap_draws_.shape[0] == 500
    boot = a.bootstrap_.set_index(["kind", "name"])
    row = boot.loc[("path", "Image -> Expectation")]
    assert row.estimate == pytest.approx(0.504706, abs=5e-5)
    assert row.ci_low < row.estimate < row.ci_high
    # the SE of a correlation-sized coefficient from n = 250 is about (1 - r^2) / sqrt(n)
    assert 0.5 * 0.75 / np.sqrt(250) < row.se < 2 * 0.75 / np.sqrt(250)
    # the unrelated CUSL2 item's interval is wide, the strong CUSL3's narrow
    assert (boot.loc[("loading", "CUSL2")].se > 3 * boot.loc[("loading", "CUSL3")].se)


def test_bootstrap_same_seed_same_result(mobi):
    a = PLSPathModel(n_bootstrap=60, random_state=11).fit(mobi)
    b = PLSPathModel(n_bootstrap=60, random_state=11).fit(mobi)
    pd.testing.assert_frame_equal(a.bootstrap_, b.bootstrap_)
    c = PLSPathModel(n_bootstrap=60, random_state=12).fit(mobi)
    assert not np.allclose(a.bootstrap_.se, c.bootstrap_.se)


# ---------------------------------------------------------------------------- bad input
def test_cycle_is_named():
    with pytest.raises(InputError, match="cycle: Satisfaction -> Loyalty -> Satisfaction"):
        PathModel(blocks={"Satisfaction": ["a"], "Loyalty": ["b"]},
                  paths={"Loyalty": ["Satisfaction"], "Satisfaction": ["Loyalty"]})


def test_missing_item_is_named(mobi):
    with pytest.raises(InputError, match="CUSL2"):
        PLSPathModel().fit(mobi.drop(columns="CUSL2"))


def test_answer_outside_scale_names_row_and_item(mobi):
    bad = mobi.copy()
    bad.iloc[4, bad.columns.get_loc("CUSA2")] = 11
    bad.iloc[9, bad.columns.get_loc("IMAG1")] = np.nan
    with pytest.raises(ValidationError) as err:
        PLSPathModel().fit(bad)
    msg = str(err.value)
    assert "row 5, field 'CUSA2': got 11, expected a number from 1 to 10" in msg
    assert "row 10, field 'IMAG1': got (empty)" in msg
    assert err.value.total == 2


def test_unknown_construct_mode_and_bad_params(mobi):
    with pytest.raises(InputError, match="'Trust' has no block"):
        PathModel(blocks={"A": ["x"]}, paths={"A": ["Trust"]})
    with pytest.raises(InputError, match="mode of 'A'"):
        PathModel(blocks={"A": ["x"], "B": ["y"]}, paths={"B": ["A"]}, modes={"A": "C"})
    with pytest.raises(InputError, match="'scheme' parameter"):
        PLSPathModel(scheme="horst").fit(mobi)
    with pytest.raises(NotFittedError):
        PLSPathModel().transform(mobi)


def test_drop_incomplete_leaves_out_empty_answers_only(mobi):
    holes = mobi.copy()
    holes.iloc[[3, 7], holes.columns.get_loc("CUEX2")] = np.nan
    fit = PLSPathModel(drop_incomplete=True).fit(holes)
    same = PLSPathModel().fit(mobi.drop(index=mobi.index[[3, 7]]))
    assert (fit.n_, fit.n_dropped_) == (248, 2)
    pd.testing.assert_frame_equal(fit.paths_, same.paths_)
    holes.iloc[10, holes.columns.get_loc("CUSA1")] = 12  # present but invalid: still an error
    with pytest.raises(ValidationError, match="row 11, field 'CUSA1': got 12"):
        PLSPathModel(drop_incomplete=True).fit(holes)

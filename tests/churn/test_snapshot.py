"""Column detection, label encoding and bad values of snapshot tables, and the churn CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cvm.churn import ChurnClassifier, SnapshotSchema, read_snapshot
from cvm.churn.snapshot import encode_label
from cvm.cli import app
from cvm.errors import InputError, InvalidParameterError, NotFittedError


def _small(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "id": [f"{i:05d}" for i in range(n)],
        "row_no": [str(i + 1) for i in range(n)],
        "spend": [f"{v:.2f}" for v in rng.gamma(2, 30, n)],
        "plan": rng.choice(["basic", "plus", "max"], n),
        "note": [f"called on day {i}, asked about bill" for i in range(n)],
        "country": ["NL"] * n,
        "left": rng.choice(["yes", "no"], n),
    })


def test_infer_detects_and_excludes():
    schema, excluded = SnapshotSchema.infer(_small(), label="left", id="id", max_levels=10)
    assert schema.numeric == ["spend"] and schema.categorical == ["plan"]
    assert schema.levels == {"plan": ["basic", "max", "plus"]}
    assert set(excluded) == {"row_no", "note", "country"}
    assert "row number" in excluded["row_no"]
    assert "40 distinct values" in excluded["note"]
    assert "single value" in excluded["country"]


def test_blank_and_unparsable_numbers_are_reported_by_row_and_id():
    df = _small()
    df.loc[3, "spend"] = ""
    df.loc[7, "spend"] = "n/a"
    df.loc[9, "spend"] = " 1,234.5 "  # thousands separator and spaces parse
    schema, _ = SnapshotSchema.infer(df, label="left", id="id")
    X, missing = schema.features(df)
    [m] = missing
    assert (m.column, m.blank, m.unparsable) == ("spend", 1, 1)
    assert m.rows == [4, 8] and m.ids == ["00003", "00007"] and m.values == ["", "n/a"]
    assert np.isnan(X["spend"].iat[3]) and np.isnan(X["spend"].iat[7])
    assert X["spend"].iat[9] == 1234.5
    # an unseen level when scoring is missing, not an error
    df.loc[0, "plan"] = "ultra"
    X2, _ = schema.features(df)
    assert pd.isna(X2["plan"].iat[0]) and X2["plan"].iat[1] == df["plan"].iat[1]


def test_label_encoding():
    y, pos = encode_label(pd.Series(["No", "Yes", "No"]), "Churn", None)
    assert pos == "Yes" and y.tolist() == [0, 1, 0]
    y, pos = encode_label(pd.Series(["active", "gone", "gone"]), "status", "gone")
    assert y.tolist() == [0, 1, 1]
    with pytest.raises(InputError, match="pass --positive VALUE"):
        encode_label(pd.Series(["active", "gone"]), "status", None)
    with pytest.raises(InputError, match="'lost' never occurs in label column 'status'"):
        encode_label(pd.Series(["active", "gone"]), "status", "lost")
    with pytest.raises(InputError, match="blank in 1 row.*row\\(s\\) 2;"):
        encode_label(pd.Series(["yes", " ", "no"]), "left", None)


def test_unknown_columns_and_duplicate_ids_are_named():
    from cvm.churn import fit_snapshot

    df = _small()
    with pytest.raises(InputError, match="--label 'churn' is not a column"):
        SnapshotSchema.infer(df, label="churn", id="id")
    with pytest.raises(InputError, match="too few rows of one class to cross-validate with 5 "
                       "folds: .*need at least 20 of each"):
        fit_snapshot(df, label="left", id="id")
    df.loc[5, "id"] = "00004"
    with pytest.raises(InputError, match="repeats 1 id\\(s\\), e.g. 00004"):
        fit_snapshot(df, label="left", id="id")


def test_classifier_contract():
    with pytest.raises(InvalidParameterError, match="'calibration' parameter of "
                       "ChurnClassifier must be one of .*Got 'platt' instead"):
        ChurnClassifier(calibration="platt").fit(pd.DataFrame({"a": [1.0] * 20}), [0, 1] * 10)
    with pytest.raises(NotFittedError, match="call fit"):
        ChurnClassifier().predict_proba(pd.DataFrame({"a": [1.0]}))
    assert ChurnClassifier(num_leaves=4).get_params()["num_leaves"] == 4


@pytest.fixture(scope="module")
def telco_slice(shared_data_dir, tmp_path_factory):
    df = read_snapshot(shared_data_dir / "telco-churn" / "telco_customer_churn.csv")
    path = tmp_path_factory.mktemp("churn") / "slice.csv"
    df.iloc[:1500].to_csv(path, index=False)
    return path


def test_cli_fit_json_and_score(telco_slice, tmp_path):
    runner = CliRunner()
    model = tmp_path / "m.joblib"
    res = runner.invoke(app, ["churn", "fit", "--table", str(telco_slice), "--label", "Churn",
                              "--id", "customerID", "--folds", "3", "--model-out", str(model),
                              "--report", str(tmp_path / "r.html"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for part in ("model", "baseline"):
        assert set(doc[part]) >= {"auc", "pr_auc", "brier", "ece", "top_decile_lift",
                                  "top_decile_capture"}
        assert 0.75 < doc[part]["auc"] < 0.90 and doc[part]["folds"] == 3
    html = (tmp_path / "r.html").read_text()
    assert "Cumulative gains (out-of-fold)" in html and "Calibration (out-of-fold" in html
    # the first 1,500 rows hold 5 of the 11 blank TotalCharges
    [miss] = doc["data"]["missing"]
    assert miss["rows"] == [490, 755, 938, 1084, 1342] and miss["blank"] == 5
    out = tmp_path / "scores.csv"
    res = runner.invoke(app, ["churn", "score", "--table", str(telco_slice), "--model",
                              str(model), "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out)
    assert len(scores) == 1500 and scores["churn_probability"].between(0, 1).all()
    assert list(scores.columns[:3]) == ["customerID", "churn_probability", "reason_1"]
    assert json.loads(res.stdout)["missing"][0]["ids"][0] == "4472-LVYGI"


def test_cli_errors_exit_2(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["churn", "score", "--table", "x.csv", "--model",
                              str(tmp_path / "none.joblib"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "no such model file" in " ".join(res.output.split())


@pytest.mark.parametrize("transform", [lambda v: 1000 * v, lambda v: np.exp(v / 50) + 1],
                         ids=["scale", "exp"])
def test_boosted_model_ignores_monotone_transforms(transform):
    # Trees split on the order of values only: a strictly increasing transform of a numeric
    # column gives the same bins, the same trees and the same probabilities (with the
    # calibrator, too: it sees the same out-of-fold log-odds). Caveat: LightGBM bins negative
    # and positive values apart (zero is always a bin edge), so a transform that moves values
    # across zero (e.g. exp(v/50) - 7) changes the bins: such a transform gave other trees.
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"spend": rng.gamma(2, 30, n), "age": rng.integers(18, 80, n) * 1.0,
                      "plan": pd.Categorical(rng.choice(["a", "b", "c"], n))})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["spend"] - 60) / 20))).astype(int)
    model = ChurnClassifier(n_estimators=20, calibration="sigmoid", calibration_folds=3)
    p = model.fit(X, y).predict_proba(X)[:, 1]
    X2 = X.assign(spend=transform(X["spend"]))
    p2 = ChurnClassifier(**model.get_params()).fit(X2, y).predict_proba(X2)[:, 1]
    np.testing.assert_allclose(p2, p, rtol=1e-12, atol=1e-12)


def test_read_snapshot_parquet_and_errors(tmp_path):
    from cvm.errors import NotFoundError

    df = pd.DataFrame({"id": ["00042", "00043"], "charges": [29.85, None], "n": [1, 2]})
    df.to_parquet(tmp_path / "s.parquet")
    got = read_snapshot(tmp_path / "s.parquet")
    # text like a CSV read: the id keeps its zeros, a missing number is a blank
    assert got.to_dict("list") == {"id": ["00042", "00043"], "charges": ["29.85", ""],
                                   "n": ["1", "2"]}
    with pytest.raises(NotFoundError, match="no such file"):
        read_snapshot(tmp_path / "none.csv")
    (tmp_path / "s.json").write_text("x")
    with pytest.raises(InputError, match="unknown file type '.json'"):
        read_snapshot(tmp_path / "s.json")
    (tmp_path / "s.xlsx").write_text("x")
    with pytest.raises(InputError, match="not a readable .xlsx workbook"):
        read_snapshot(tmp_path / "s.xlsx")

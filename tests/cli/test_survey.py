"""``cvm survey``: index on mobi with a model file, NPS and AHP from files, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_data
from cvm.cli import app

MOBI = shared_data() / "ecsi" / "mobi.csv"

ECSI_TOML = """
[blocks]
Image = ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"]
Expectation = ["CUEX1", "CUEX2", "CUEX3"]
Quality = ["PERQ1", "PERQ2", "PERQ3", "PERQ4", "PERQ5", "PERQ6", "PERQ7"]
Value = ["PERV1", "PERV2"]
Satisfaction = ["CUSA1", "CUSA2", "CUSA3"]
Complaints = ["CUSCO"]
Loyalty = ["CUSL1", "CUSL2", "CUSL3"]

[modes]
Image = "A"

[paths]
Expectation = ["Image"]
Quality = ["Expectation"]
Value = ["Expectation", "Quality"]
Satisfaction = ["Image", "Expectation", "Quality", "Value"]
Complaints = ["Satisfaction"]
Loyalty = ["Image", "Satisfaction", "Complaints"]

[scale]
min = 1
max = 10
"""


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "ecsi.toml"
    path.write_text(ECSI_TOML)
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["survey", *map(str, args)])


def said(result) -> str:
    """stderr with Rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def _json(*args):
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _path(doc: dict, a: str, b: str) -> float:
    (hit,) = [p["coefficient"] for p in doc["paths"] if p["from"] == a and p["to"] == b]
    return hit


def test_index_json_matches_sempls(model):
    # R semPLS reference from shared/data/README.md (centroid, standardised), 4 decimals
    doc = _json("index", MOBI, "--model", model, "--format", "json")
    assert {"paths", "r2", "loadings", "weights", "gof", "index"} <= set(doc)
    assert _path(doc, "Image", "Expectation") == pytest.approx(0.504706, abs=5e-5)
    assert _path(doc, "Complaints", "Loyalty") == pytest.approx(0.071232, abs=5e-5)
    assert doc["r2"]["Satisfaction"] == pytest.approx(0.680281, abs=5e-5)
    assert doc["loadings"]["CUSL2"] == pytest.approx(0.2191, abs=5e-5)
    assert doc["gof"] == pytest.approx(0.4715, abs=5e-5)
    cusco = pd.read_csv(MOBI)["CUSCO"].mean()
    assert doc["index"]["Complaints"] == pytest.approx(100 * (cusco - 1) / 9, 1e-12)
    assert len(doc["weights"]) == 24 and all(0 <= v <= 100 for v in doc["index"].values())


def test_index_path_scheme_and_raw(model):
    doc = _json("index", MOBI, "--model", model, "--scheme", "path", "--format", "json")
    assert _path(doc, "Image", "Expectation") == pytest.approx(0.504914, abs=5e-5)
    assert doc["r2"]["Satisfaction"] == pytest.approx(0.681078, abs=5e-5)
    raw = _json("index", MOBI, "--model", model, "--raw", "--format", "json")
    std = _json("index", MOBI, "--model", model, "--format", "json")
    assert raw["standardized"] is False
    # a one-item block's index does not depend on weights; multi-item ones do
    assert raw["index"]["Complaints"] == pytest.approx(std["index"]["Complaints"], 1e-12)
    assert raw["weights"]["IMAG1"] != pytest.approx(std["weights"]["IMAG1"], rel=1e-3)


def test_index_bootstrap_is_seeded(model):
    args = ("index", MOBI, "--model", model, "--bootstrap", "40", "--seed", "7",
            "--format", "json")
    a, b = _json(*args), _json(*args)
    assert a["bootstrap"] == b["bootstrap"]
    row = next(r for r in a["bootstrap"] if r["name"] == "Image -> Expectation")
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["se"] > 0


def test_index_table_and_csv(model, tmp_path):
    result = run("index", MOBI, "--model", model, "--format", "csv", "--out",
                 tmp_path / "pls.csv")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(tmp_path / "pls.csv")
    gof = table.loc[table.kind == "gof", "estimate"].item()
    assert gof == pytest.approx(0.4715, abs=5e-5)


def test_index_errors_name_the_problem(model, tmp_path):
    cyc = tmp_path / "cycle.toml"
    cyc.write_text(ECSI_TOML.replace('Complaints = ["Satisfaction"]',
                                     'Complaints = ["Satisfaction", "Loyalty"]'))
    result = run("index", MOBI, "--model", cyc)
    assert result.exit_code == 2
    assert "cycle: Complaints -> Loyalty -> Complaints" in said(result)
    bad = pd.read_csv(MOBI)
    bad.loc[2, "PERQ3"] = 0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = run("index", tmp_path / "bad.csv", "--model", model)
    assert result.exit_code == 2
    assert "row 3, field 'PERQ3': got 0, expected a number from 1 to 10" in said(result)
    result = run("index", tmp_path / "bad.csv", "--model",
                 _write(tmp_path / "x.toml", ECSI_TOML.replace('"CUSCO"', '"CUSC0"')))
    assert result.exit_code == 2 and "CUSC0" in said(result)


def _write(path, text):
    path.write_text(text)
    return path


def test_nps_by_group_json(tmp_path):
    # group a: the README example 100/60/40 -> NPS 30, SE 5.52, CI 19.2..40.8;
    # group b: 5 answers (3 promoters, 2 detractors) -> NPS 20, flagged as small.
    answers = [10] * 100 + [7] * 60 + [3] * 40 + [9, 9, 9, 0, 6]
    df = pd.DataFrame({"recommend": answers, "tier": ["a"] * 200 + ["b"] * 5})
    df.to_csv(tmp_path / "nps.csv", index=False)
    result = run("nps", tmp_path / "nps.csv", "--column", "recommend", "--by", "tier",
                 "--format", "json")
    assert result.exit_code == 0
    rows = {r["group"]: r for r in json.loads(result.stdout)}
    a = rows["a"]
    assert (a["n"], a["promoters"], a["passives"], a["detractors"]) == (200, 100, 60, 40)
    assert a["nps"] == pytest.approx(30.0)
    assert a["se"] == pytest.approx(5.52, abs=0.005)
    assert (a["ci_low"], a["ci_high"]) == (pytest.approx(19.2, abs=0.05),
                                           pytest.approx(40.8, abs=0.05))
    assert rows["b"]["nps"] == pytest.approx(20.0) and rows["b"]["small_sample"] is True
    assert "b (n=5)" in said(result)


def test_ahp_csv_json_and_errors(tmp_path):
    f = tmp_path / "five.csv"
    f.write_text(",c1,c2,c3,c4,c5\nc1,1,1/3,1/2,3,2\nc2,3,1,2,5,4\nc3,2,1/2,1,4,3\n"
                 "c4,1/3,1/5,1/4,1,1/2\nc5,1/2,1/4,1/3,2,1\n")
    doc = _json("ahp", f, "--method", "geometric", "--format", "json")
    # shared/data/README.md: .1602 .4174 .2634 .0615 .0975; CR ~ .0152
    np.testing.assert_allclose(list(doc["weights"].values()),
                               [.1602, .4174, .2634, .0615, .0975], atol=5e-5)
    assert doc["cr"] == pytest.approx(0.0152, abs=5e-5) and doc["consistent"] is True
    f.write_text(",a,b\na,1,4\nb,1/2,1\n")
    result = run("ahp", f)
    assert result.exit_code == 2
    assert "cells (a, b) = 4 and (b, a) = 0.5 are not reciprocal" in said(result)


def test_drivers_json_and_figure(tmp_path):
    drivers = ["--driver", "PERQ1", "--driver", "PERQ2", "--driver", "PERV1"]
    doc = _json("drivers", MOBI, "--outcome", "CUSA1", *drivers, "--scale-min", "1",
                "--scale-max", "10", "--seed", "2", "--bootstrap", "50", "--figure",
                tmp_path / "drivers.html", "--format", "json")
    mobi = pd.read_csv(MOBI)
    X = np.column_stack([np.ones(len(mobi)), mobi[["PERQ1", "PERQ2", "PERV1"]]])
    y = mobi["CUSA1"].to_numpy(float)
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    assert sum(r["importance"] for r in doc) == pytest.approx(1 - resid.var() / y.var())
    assert [r["rank"] for r in doc] == [1, 2, 3]
    assert doc[0]["performance"] == pytest.approx(100 * (mobi.PERQ1.mean() - 1) / 9)
    html = (tmp_path / "drivers.html").read_text()
    assert "Key drivers of CUSA1" in html and "PERQ2" in html


def test_index_writes_the_importance_performance_map(model, tmp_path):
    result = run("index", MOBI, "--model", model, "--figure", tmp_path / "ipma.html",
                 "--target", "Loyalty", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert "Importance-performance map: Loyalty" in (tmp_path / "ipma.html").read_text()
    result = run("index", MOBI, "--model", model, "--figure", tmp_path / "x.png")
    assert result.exit_code == 2 and "use an .html file" in said(result)


def test_index_drop_incomplete(model, tmp_path):
    data = pd.read_csv(MOBI)
    data.loc[4, "IMAG3"] = np.nan
    data.to_csv(tmp_path / "holes.csv", index=False)
    result = run("index", tmp_path / "holes.csv", "--model", model)
    assert result.exit_code == 2 and "row 5, field 'IMAG3': got (empty)" in said(result)
    result = run("index", tmp_path / "holes.csv", "--model", model, "--drop-incomplete",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["n"], doc["n_dropped"]) == (249, 1)
    assert "left out 1 respondent(s)" in said(result)

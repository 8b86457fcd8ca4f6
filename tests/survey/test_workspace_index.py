"""The satisfaction index on a workspace: the mobi survey imported long, the published values."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_data, write_csv
from cvm import Workspace
from cvm.cli import app
from cvm.errors import InputError
from cvm.survey import PathModel, PLSPathModel
from cvm.survey.satisfaction_index import workspace_index, workspace_model


@pytest.fixture(scope="module")
def mobi_ws(tmp_path_factory):
    """mobi.csv as a company would hold it: one row per answer, items defined in survey_items
    (constructs in lower case, to show they are matched to the built-in model's names)."""
    tmp = tmp_path_factory.mktemp("mobi")
    wide = pd.read_csv(shared_data() / "ecsi" / "mobi.csv").drop(columns=["Unnamed: 0"])
    wide["respondent_id"] = [f"p{i:03d}" for i in range(len(wide))]
    wide.melt(id_vars="respondent_id", var_name="item", value_name="answer").assign(
        survey="ecsi").to_csv(tmp / "answers.csv", index=False)
    pd.DataFrame([("ecsi", item, construct.lower(), 1, 10)
                  for construct, items in PathModel.ecsi().blocks.items() for item in items],
                 columns=["survey", "item", "construct", "scale_min", "scale_max"]).to_csv(
        tmp / "items.csv", index=False)
    ws = Workspace.init(tmp / "ws")
    ws.import_file("survey_items", tmp / "items.csv")
    ws.import_file("survey_responses", tmp / "answers.csv")
    return ws


def test_builtin_model_on_workspace_reproduces_semPLS(mobi_ws):
    # reference: ../shared/data/README.md (R semPLS, standardised, centroid), 4 decimals
    fit, wide = workspace_index(mobi_ws)
    assert len(wide) == 250 and fit.n_ == 250
    paths = {(r["from"], r["to"]): r["coefficient"] for r in fit.paths_.to_dict("records")}
    expected = {("Image", "Expectation"): 0.504706, ("Expectation", "Quality"): 0.557248,
                ("Quality", "Satisfaction"): 0.512545, ("Value", "Satisfaction"): 0.191816,
                ("Satisfaction", "Loyalty"): 0.483475, ("Complaints", "Loyalty"): 0.071232}
    for key, value in expected.items():
        assert paths[key] == pytest.approx(value, abs=5e-5)
    assert fit.r2_["Satisfaction"] == pytest.approx(0.680281, abs=5e-5)
    assert fit.r2_["Loyalty"] == pytest.approx(0.457286, abs=5e-5)
    assert fit.loadings_[["CUSL1", "CUSL2", "CUSL3"]].tolist() == pytest.approx(
        [0.8138, 0.2191, 0.9168], abs=5e-5)
    assert fit.gof_ == pytest.approx(0.4715, abs=5e-5)
    assert fit.model_.scale == (1.0, 10.0)  # taken from survey_items


def test_workspace_fit_equals_file_fit_and_path_scheme(mobi_ws):
    wide = pd.read_csv(shared_data() / "ecsi" / "mobi.csv")
    ws_fit, _ = workspace_index(mobi_ws, scheme="path")
    file_fit = PLSPathModel(scheme="path").fit(wide)
    assert ws_fit.paths_.iloc[0]["coefficient"] == pytest.approx(0.504914, abs=5e-5)
    assert ws_fit.r2_["Satisfaction"] == pytest.approx(0.681078, abs=5e-5)
    pd.testing.assert_series_equal(ws_fit.index_, file_fit.index_, atol=1e-9)


def test_model_file_without_blocks_takes_them_from_survey_items(mobi_ws, tmp_path):
    model = write_csv(tmp_path / "m.toml", """
[paths]
satisfaction = ["image", "value"]
""")
    spec, _ = workspace_model(mobi_ws, model=model)
    assert spec.blocks == {"satisfaction": ("CUSA1", "CUSA2", "CUSA3"),
                           "image": tuple(f"IMAG{i}" for i in range(1, 6)),
                           "value": ("PERV1", "PERV2")}
    assert spec.scale == (1.0, 10.0)
    with pytest.raises(InputError, match="no item of construct 'price'"):
        workspace_model(mobi_ws, model={"paths": {"satisfaction": ["price"]}})
    with pytest.raises(InputError, match=r"item\(s\) \['X1'\] are not in survey 'ecsi'"):
        workspace_model(mobi_ws, model={"blocks": {"a": ["X1"], "b": ["CUSA1"]},
                                        "paths": {"b": ["a"]}})


def test_builtin_model_needs_the_seven_constructs(ws, tmp_path):
    write_csv(tmp_path / "items.csv", "survey,item,construct,scale_min,scale_max\n"
              "s,q1,satisfaction,1,5\ns,q2,loyalty,1,5\n")
    ws.import_file("survey_items", tmp_path / "items.csv")
    with pytest.raises(InputError, match=r"missing \['Image', 'Expectation', 'Quality', "
                                         r"'Value', 'Complaints'\]"):
        workspace_model(ws)


def test_cli_index_workspace_json_and_saved_scores(mobi_ws):
    res = CliRunner().invoke(app, ["survey", "index", "--workspace", str(mobi_ws.path),
                                   "--survey", "ecsi", "--save", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["r2"]["Satisfaction"] == pytest.approx(0.680281, abs=5e-5)
    scores = mobi_ws.result("satisfaction_index").to_pandas()
    assert len(scores) == 250
    # the stored per-respondent scores average to the published-style 0-100 index
    assert scores["Satisfaction"].mean() == pytest.approx(doc["index"]["Satisfaction"])


def test_key_drivers_on_workspace(ws, tmp_path):
    import numpy as np

    from cvm.survey.drivers import workspace_drivers

    y = [10, 9, 3, 7, 8, 2, 6, 9]          # nps, 0-10
    a = [5, 4, 1, 3, 4, 2, 3, 5]           # driver on 1-5
    b = [8, 9, 4, 5, 9, 1, 7, 6]           # driver on 0-10
    write_csv(tmp_path / "items.csv", "survey,item,construct,scale_min,scale_max\n"
              "s,y,nps,0,10\ns,a,quality,1,5\ns,b,price,0,10\n")
    rows = ["respondent_id,survey,item,answer"]
    for k in range(8):
        rows += [f"r{k},s,y,{y[k]}", f"r{k},s,a,{a[k]}", f"r{k},s,b,{b[k]}"]
    write_csv(tmp_path / "answers.csv", "\n".join(rows) + "\n")
    ws.import_file("survey_items", tmp_path / "items.csv")
    ws.import_file("survey_responses", tmp_path / "answers.csv")
    t = workspace_drivers(ws, min_answers=5, n_bootstrap=0).set_index("driver")
    # two drivers: Shapley share of a = (r_ya^2 + R^2 - r_yb^2) / 2, R^2 of y on (a, b)
    r = np.corrcoef([y, a, b])
    X = np.column_stack([np.ones(8), a, b])
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    r2 = 1 - resid @ resid / np.sum((y - np.mean(y)) ** 2)
    assert t.loc["a", "importance"] == pytest.approx((r[0, 1] ** 2 + r2 - r[0, 2] ** 2) / 2)
    assert t["importance"].sum() == pytest.approx(r2)
    # performance on each driver's own scale: a mean 3.375 on 1-5 -> 59.375; b mean 6.125 -> 61.25
    assert t.loc["a", "performance"] == pytest.approx(59.375)
    assert t.loc["b", "performance"] == pytest.approx(61.25)
    res = CliRunner().invoke(app, ["survey", "drivers", "-w", str(ws.path), "--min-answers",
                                   "5", "--bootstrap", "0", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert {r["driver"] for r in json.loads(res.stdout)} == {"a", "b"}
    with pytest.raises(InputError, match=r"item\(s\) \['z'\] are not in survey 's'"):
        workspace_drivers(ws, drivers=["a", "z"])

"""``cvm clv fit`` on summary files, checked against the published estimates; ``cvm clv score
--figure`` against the scores it prints."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from typer.testing import CliRunner

from clv_helpers import sig3
from conftest import cdnow_sample_workspace, shared_data
from cvm.cli import app

runner = CliRunner()


def _err(result) -> str:
    """stderr with Rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, ["clv", "fit", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bgnbd_json_on_the_cdnow_summary():
    # the CDNOW file's own header is ID,frequency,recency,T
    out = _json(["--summary", str(shared_data() / "cdnow" / "cdnow_summary.csv")])
    assert out["model"] == "bgnbd"
    assert out["estimator"] == "BetaGeoModel"
    # Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert {k: sig3(v) for k, v in out["parameters"].items()} == {
        k: sig3(v) for k, v in published.items()}
    assert out["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert out["aic"] == pytest.approx(8 - 2 * out["log_likelihood"])
    assert out["bic"] == pytest.approx(4 * np.log(2357) - 2 * out["log_likelihood"])
    assert set(out["standard_errors"]) == set(published)
    assert all(v > 0 for v in out["standard_errors"].values())
    assert out["n_customers"] == 2357


def test_paretonbd_json():
    out = _json(["--summary", str(shared_data() / "cdnow" / "cdnow_summary.csv"),
                 "--model", "paretonbd"])
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    assert {k: sig3(v) for k, v in out["parameters"].items()} == {
        k: sig3(v) for k, v in published.items()}
    assert out["log_likelihood"] == pytest.approx(-9595.0, abs=0.05)


def test_weights_column_on_an_aggregated_summary(tmp_path):
    cd = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary.csv")
    agg = cd.groupby(["frequency", "recency", "T"]).size().rename("customers").reset_index()
    path = tmp_path / "aggregated.csv"
    agg.to_csv(path, index=False)
    weighted = _json(["--summary", str(path), "--weights", "customers"])
    full = _json(["--summary", str(shared_data() / "cdnow" / "cdnow_summary.csv")])
    for k, v in full["parameters"].items():
        assert weighted["parameters"][k] == pytest.approx(v, rel=1e-7)
    assert weighted["log_likelihood"] == pytest.approx(full["log_likelihood"], rel=1e-12)
    assert weighted["n_customers"] == 2357


def test_bgbb_on_donations():
    out = _json(["--summary", str(shared_data() / "donations" / "donations.csv"),
                 "--model", "bgbb", "--weights", "weights"])
    # Fader, Hardie & Shang (2010)
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    assert {k: sig3(v) for k, v in out["parameters"].items()} == {
        k: sig3(v) for k, v in published.items()}
    assert out["log_likelihood"] == pytest.approx(-33225.6, abs=0.05)


def test_gammagamma_skips_customers_without_repeat_purchases():
    out = _json(["--summary", str(shared_data() / "cdnow" / "cdnow_summary_spend.csv"),
                 "--model", "gammagamma"])
    assert out["customers_without_repeat_purchases_skipped"] == 2357 - 946
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    assert {k: sig3(v) for k, v in out["parameters"].items()} == {
        k: sig3(v) for k, v in published.items()}
    assert out["log_likelihood"] == pytest.approx(-4055.92, abs=0.01)


def test_sbg_with_projection():
    out = _json(["--summary", str(shared_data() / "sbg" / "retention.csv"), "--model", "sbg",
                 "--cohort", "regular", "--calibration-periods", "7"])
    assert out["parameters"]["alpha"] == pytest.approx(0.704, abs=5e-4)
    assert out["parameters"]["beta"] == pytest.approx(1.182, abs=5e-4)
    assert out["log_likelihood"] == pytest.approx(-1680.27, abs=5e-3)
    assert [p["period"] for p in out["projection"]] == [8, 9, 10, 11, 12]
    assert [p["actual"] for p in out["projection"]] == [223, 207, 194, 183, 173]
    # S(8) * 1000 from the fitted alpha, beta (see tests/test_models_sbg.py)
    assert out["projection"][0]["projected"] == pytest.approx(220.1, abs=0.05)


def test_table_and_csv_formats():
    path = str(shared_data() / "cdnow" / "cdnow_summary.csv")
    table = runner.invoke(app, ["clv", "fit", "--summary", path])
    assert table.exit_code == 0
    assert "log-likelihood -9,582.43" in table.stdout
    csv = runner.invoke(app, ["clv", "fit", "--summary", path, "--format", "csv"])
    assert csv.exit_code == 0
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == ["parameter", "estimate", "std_err", "ci_low", "ci_high"]
    assert frame.set_index("parameter").loc["b", "estimate"] == pytest.approx(2.426, abs=5e-4)


def test_bad_rows_name_the_customers(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,frequency,recency,T\nA17,2,10.0,8.0\nB2,0,0,5\nC9,1,0,4\n")
    result = runner.invoke(app, ["clv", "fit", "--summary", str(path)])
    assert result.exit_code == 2
    assert "1 customer (A17) has recency t_x greater than age T" in _err(result)
    assert "1 customer (C9) has x > 0 repeat purchases but recency t_x = 0" in _err(result)
    assert "Traceback" not in result.output


def test_missing_column_and_file(tmp_path):
    path = tmp_path / "no_t.csv"
    path.write_text("customer_id,frequency,recency\n1,2,3\n")
    result = runner.invoke(app, ["clv", "fit", "--summary", str(path)])
    assert result.exit_code == 2
    assert "no T column; expected one of T, found customer_id, frequency, recency" in _err(result)
    result = runner.invoke(app, ["clv", "fit", "--summary", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "no such file" in _err(result)
    result = runner.invoke(app, ["clv", "fit", "--summary", str(path), "--weights", "w"])
    assert result.exit_code == 2


def test_covariates(tmp_path):
    cd = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary.csv")
    cd["group"] = (np.random.default_rng(0).random(len(cd)) < 0.4).astype(int)
    path = tmp_path / "with_group.csv"
    cd.to_csv(path, index=False)
    out = _json(["--summary", str(path), "--covariates", "group"])
    assert out["estimator"] == "BetaGeoCovariateModel"
    assert set(out["parameters"]) == {"r", "alpha", "a", "b", "purchase:group", "dropout:group"}
    plain = _json(["--summary", str(path)])
    assert out["log_likelihood"] >= plain["log_likelihood"] - 1e-6
    bad = runner.invoke(app, ["clv", "fit", "--summary", str(path), "--covariates", "region"])
    assert bad.exit_code == 2
    assert "no column(s) region" in _err(bad)


def test_help():
    result = runner.invoke(app, ["clv", "fit", "--help"])
    assert result.exit_code == 0
    assert "--weights" in result.stdout


def _figure_in(page) -> go.Figure:
    """The Plotly figure a --figure page draws (its data and layout, as written)."""
    text = page.read_text(encoding="utf-8")
    decoder, at = json.JSONDecoder(), text.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    parts = []
    for _ in range(3):  # the element id, the data, the layout
        while text[at] in " \n,":
            at += 1
        value, at = decoder.raw_decode(text, at)
        parts.append(value)
    return pio.from_json(json.dumps({"data": parts[1], "layout": parts[2]}))


def test_clv_score_figure_draws_the_scores_it_prints(tmp_path):
    ws = cdnow_sample_workspace(tmp_path)
    page = tmp_path / "clv.html"
    result = runner.invoke(app, ["clv", "score", "-w", str(ws.path), "--format", "csv",
                                 "--figure", str(page)])
    assert result.exit_code == 0, result.output
    clv = pd.read_csv(io.StringIO(result.stdout))["clv"].to_numpy()
    assert len(clv) == 2357
    fig = _figure_in(page)
    customers, value, top = fig.data
    # each band's bars are the printed customers whose CLV is in it, and their share of CLV
    for label, count_clv, share, clv_share in zip(customers.x, customers.customdata,
                                                   customers.y, value.y, strict=True):
        low, _, high = label.replace(",", "").partition(" to ")
        inside = (clv < float(low[len("under "):])) if low.startswith("under") else (
            (clv >= float(low)) & ((clv <= float(high)) if label == customers.x[-1]
                                   else (clv < float(high))))
        assert count_clv[0] == inside.sum()
        assert share == pytest.approx(inside.sum() / 2357)
        assert clv_share == pytest.approx(clv[inside].sum() / clv.sum(), rel=1e-9)
    assert sum(c[0] for c in customers.customdata) == 2357
    # the top 1%, 5%, 20% are the first 24, 118, 472 rows of the table (sorted by CLV)
    ranked = np.sort(clv)[::-1]
    assert list(top.x) == pytest.approx([ranked[:k].sum() / clv.sum() for k in (24, 118, 472)],
                                        rel=1e-9)
    title = fig.layout.title.text
    assert title.startswith(f"Customer lifetime value: 2,357 customers, {clv.sum():,.0f} USD "
                            f"in total, median {np.median(clv):,.2f} USD")
    assert "cvm, workspace ws, 20" in title  # the workspace's folder and the day
    assert "<title>Customer lifetime value: 2,357 customers" in page.read_text()


def test_clv_score_figure_must_be_html_before_any_work(tmp_path):
    result = runner.invoke(app, ["clv", "score", "-w", str(tmp_path / "nowhere"),
                                 "--figure", str(tmp_path / "clv.png")])
    assert result.exit_code == 2
    assert f"--figure {tmp_path / 'clv.png'}: use an .html file" in _err(result)

"""The monthly run on the demo company, whose customers take up product lines in a known
order (`cvm.demo`): propensity finds next month's first purchases, nothing after the as-of
day reaches a score, a rerun replaces its own month only, missing inputs leave a score out
with a note, and DuckDB and Spark agree."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cvm import Workspace
from cvm.cli import app
from cvm.demo import DEMO_MAPPINGS, DemoParams, generate

AS_OF = dt.date(2024, 9, 30)
END = dt.datetime(2024, 10, 1)  # the first instant after the as-of day


def _import(ws: Workspace, files: dict, tables=DEMO_MAPPINGS) -> Workspace:
    for table in tables:
        ws.import_file(table, files[table], DEMO_MAPPINGS[table])
    return ws


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo-files"), DemoParams(customers=3000))


@pytest.fixture(scope="module")
def scored(tmp_path_factory, demo_files):
    ws = _import(Workspace.init(tmp_path_factory.mktemp("scored") / "ws"), demo_files)
    return ws, ws.scoring.run(AS_OF)


def test_list_has_one_row_per_customer_and_the_documented_columns(scored):
    ws, run = scored
    got = ws.scoring.list(AS_OF)
    assert len(got) == 3000 and got["customer_id"].is_unique
    for col in ("customer_id", "lifecycle_stage", "profitability", "revenue_potential",
                "churn_probability", "product_depth", "propensity_aurora",
                "propensity_borealis", "propensity_cirrus", "propensity_delta"):
        assert col in got.columns, col
    # what is stored is what the run computed
    pd.testing.assert_frame_equal(got, run.scores, check_dtype=False)
    assert set(got["lifecycle_stage"]) <= {"new", "growing", "mature", "declining", "lapsed"}
    p = got[[c for c in got.columns if c.startswith("propensity_")]].to_numpy()
    assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1


def test_propensity_is_blank_for_a_line_bought_in_the_last_365_days(scored, demo_files):
    ws, _ = scored
    got = ws.scoring.list(AS_OF).set_index("customer_id")
    tx = pq.read_table(demo_files["transactions"]).to_pandas()
    recent = tx[(tx["purchased_at"] < END)
                & (tx["purchased_at"] >= END - dt.timedelta(days=365))]
    for line in ("Aurora", "Delta"):
        held = set(recent.loc[recent["brand"] == line, "customer"])
        col = f"propensity_{line.lower()}"
        assert got.loc[sorted(held), col].isna().all()
        others = got.index.difference(sorted(held))
        assert got.loc[others, col].notna().all()
        # product_depth counts the lines bought in those 365 days
    depth = recent.groupby("customer")["brand"].nunique()
    assert (got["product_depth"].reindex(depth.index) == depth).all()


def test_top_decile_holds_at_least_twice_the_first_purchase_rate(scored, demo_files):
    """Acceptance: first purchases of a line in the 90 days after the as-of day."""
    ws, run = scored
    got = ws.scoring.list(AS_OF).set_index("customer_id")
    tx = pq.read_table(demo_files["transactions"]).to_pandas()
    after = tx[(tx["purchased_at"] >= END)
               & (tx["purchased_at"] < END + dt.timedelta(days=90))]
    models = run.models.set_index("score")
    for line in ("Aurora", "Borealis", "Cirrus", "Delta"):
        col = f"propensity_{line.lower()}"
        p = got[col].dropna()
        bought = p.index.isin(after.loc[after["brand"] == line, "customer"])
        base = bought.mean()
        top = p.rank(ascending=False, method="first") <= np.ceil(0.1 * len(p))
        lift = bought[top.to_numpy()].mean() / base
        assert base > 0.01, line
        assert lift >= 2.0, (line, lift)
        # the boosted model and the logistic baseline are both reported
        m = models.loc[col]
        assert 0.5 < m["auc_baseline"] <= 1 and 0.5 < m["auc_model"] <= 1
        assert m["check_rows"] > 0 and m["training_rows"] > m["check_rows"]


def test_scores_read_nothing_after_the_as_of_day(tmp_path, demo_files, scored):
    """Every row after the as-of day moved and changed: the month's scores are the same."""
    ws, run = scored
    shifted = {}
    for table, path in demo_files.items():
        df = pq.read_table(path).to_pandas()
        if table == "transactions":
            later = df["purchased_at"] >= END
            df.loc[later, "purchased_at"] += pd.Timedelta(days=17)
            df.loc[later, "net_amount"] *= 3
            df.loc[later, "brand"] = "Aurora"
        elif table == "interactions":
            df.loc[df["opened_at"] >= END, "opened_at"] += pd.Timedelta(days=5)
            df.loc[df["opened_at"] >= END, "kind"] = "complaint"
            for col in ("first_response_at", "resolved_at"):
                late = df[col] >= END
                df.loc[late, col] += pd.Timedelta(days=9)
            df.loc[df["resolved_at"] >= END, "outcome"] = "escalated"
            bad = df["first_response_at"] < df["opened_at"]
            df.loc[bad, "first_response_at"] = df.loc[bad, "opened_at"]
        elif table == "contracts":
            later = pd.to_datetime(df["end"]) > pd.Timestamp(AS_OF)
            df.loc[later, "end"] = (pd.to_datetime(df.loc[later, "end"])
                                    + pd.Timedelta(days=3)).dt.date
            df.loc[later, "end_reason"] = "passive_retaliatory"
        elif table == "survey_responses":
            lowest = df.groupby("item")["answer"].transform("min")
            df.loc[df["timestamp"] >= END, "answer"] = lowest
        out = tmp_path / path.name
        df.to_parquet(out, index=False)
        shifted[table] = out
    other = _import(Workspace.init(tmp_path / "ws"), shifted)
    assert other.latest_day() != ws.latest_day()  # the later rows did change
    again = other.scoring.run(AS_OF, save=False)
    pd.testing.assert_frame_equal(again.scores, run.scores, check_exact=False, rtol=1e-9)


def test_rerunning_a_month_replaces_that_month_only(tmp_path_factory, demo_files,
                                                    monkeypatch):
    monkeypatch.setattr("cvm.scoring.run._HISTORY_GROUP", 4096)
    ws = _import(Workspace.init(tmp_path_factory.mktemp("rerun") / "ws"), demo_files,
                 ["customers", "transactions"])
    first = ws.scoring.run("2024-08-31")
    ws.scoring.run("2024-09-30")
    rows = ws.warehouse.row_count
    before = len(ws.scoring.history("2024-09-30"))
    ws.scoring.run("2024-08-31")
    assert ws.scoring.runs() == [dt.date(2024, 8, 31), dt.date(2024, 9, 30)]
    assert len(ws.scoring.history("2024-09-30")) == before
    assert len(ws.scoring.history("2024-08-31")) == len(
        first.scores.set_index("customer_id").stack())  # one row per non-blank score
    assert rows("transactions") > 0
    parts = ws.warehouse.manifest()["results"]["score_history"]
    assert sorted(p["partition"] for p in parts) == ["2024-08-31", "2024-09-30"]
    # each run in row groups of 4,096 rows in customer order, so that one customer's
    # lookup reads one group: the groups' id ranges follow one another
    meta = pq.ParquetFile(ws.warehouse.result_parts("score_history", "2024-09-30")[0]).metadata
    assert meta.num_rows > 4 * 4096
    assert meta.num_row_groups == -(-meta.num_rows // 4096)
    ranges = [(meta.row_group(i).column(0).statistics.min,
               meta.row_group(i).column(0).statistics.max) for i in range(meta.num_row_groups)]
    assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(ranges, ranges[1:], strict=False))
    d = ws.scoring.drift("2024-08-31", "2024-09-30")
    tiers = d.tiers
    assert int(tiers.to_numpy().sum()) == len(ws.scoring.list("2024-09-30"))
    assert set(d.stability["reading"]) <= {"stable", "moderate shift", "large shift"}


def test_without_contracts_or_surveys_scores_are_absent_with_a_note(tmp_path_factory,
                                                                     demo_files):
    ws = _import(Workspace.init(tmp_path_factory.mktemp("bare") / "ws"), demo_files,
                 ["customers", "transactions"])
    result = CliRunner().invoke(app, ["score", "run", "--as-of", AS_OF.isoformat(),
                                      "--workspace", str(ws.path)])
    assert result.exit_code == 0, result.output
    assert "note: default_risk absent: no contracts" in result.stderr
    assert "note: loyalty absent" in result.stderr
    listed = CliRunner().invoke(app, ["score", "list", "--as-of", AS_OF.isoformat(),
                                      "--workspace", str(ws.path), "--format", "csv"])
    assert listed.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert len(rows) == 3000 and "default_risk" not in rows[0]
    # churn_probability without contracts: no purchase in the 90 days after the day
    got = pd.DataFrame(rows).set_index("customer_id")["churn_probability"].astype(float)
    tx = pq.read_table(demo_files["transactions"]).to_pandas()
    bought = set(tx.loc[(tx["purchased_at"] >= END)
                        & (tx["purchased_at"] < END + dt.timedelta(days=90)), "customer"])
    none = ~got.index.isin(bought)
    # calibrated on the latest known outcome: the mean matches the share within 0.05
    assert abs(got.mean() - none.mean()) < 0.05, (got.mean(), none.mean())
    # and it ranks: the riskiest decile buys far less than the safest
    top = got.rank(ascending=False, method="first") <= 300
    low = got.rank(ascending=True, method="first") <= 300
    assert none[top.to_numpy()].mean() > 0.9 and none[low.to_numpy()].mean() < 0.5


def test_no_transactions_by_the_day_is_an_error_naming_it(tmp_path, demo_files):
    ws = _import(Workspace.init(tmp_path / "ws"), demo_files, ["customers", "transactions"])
    result = CliRunner().invoke(app, ["score", "run", "--as-of", "2020-01-31",
                                      "--workspace", str(ws.path)])
    assert result.exit_code == 2
    assert "no transactions on or before 2020-01-31" in result.stderr
    missing = CliRunner().invoke(app, ["score", "list", "--as-of", "2024-01-31",
                                       "--workspace", str(ws.path)])
    assert missing.exit_code == 2 and "cvm score run --as-of 2024-01-31" in missing.stderr


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_scores(scored):
    from conftest import spark_unavailable

    if spark_unavailable():
        pytest.skip(spark_unavailable())
    ws, run = scored
    spark = ws.with_settings(engine="pyspark").scoring.run(AS_OF, save=False)
    pd.testing.assert_frame_equal(spark.scores, run.scores, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(spark.models, run.models, check_exact=False, rtol=1e-9)


def test_models_learn_from_a_uniform_sample_beyond_max_training_rows(scored):
    ws, run = scored
    small = ws.with_settings(**{"scoring.max_training_rows": 1000}).scoring.run(
        AS_OF, save=False)
    a = run.scores.set_index("customer_id")["churn_probability"].dropna()
    b = small.scores.set_index("customer_id")["churn_probability"].reindex(a.index)
    assert b.notna().all() and not np.allclose(a, b)  # another model, from 1,000 rows
    assert a.corr(b, method="spearman") > 0.8  # that ranks customers much the same
    # a uniform sample keeps the base rate: the mean probability stays close
    assert abs(a.mean() - b.mean()) < 0.02
    models = small.models.set_index("score")
    assert (models["training_rows"] <= 1000).all() and (models["check_rows"] <= 1000).all()


def test_training_frame_is_the_cut_offs_frames_stacked(scored):
    """The training frame, stacked in Arrow to save memory, equals pd.concat of each
    cut-off's features joined with its labels, value for value and type for type."""
    from cvm.scoring import run as run_module
    from cvm.scoring.asof import AsOfView

    ws, _ = scored
    view = AsOfView(ws, AS_OF)
    tx, customers = view.table("transactions"), view.table("customers")
    interactions = view.table("interactions")
    lines, _ = run_module.product_lines(tx, ws.settings.scoring.max_lines)
    first = tx.timestamp.min().to_pyarrow().as_py().date()
    cutoffs = run_module._cutoffs(END.date(), first, ws.settings.scoring.training_cutoffs)
    assert len(cutoffs) >= 2
    got = run_module._training_frame(tx, customers, interactions, cutoffs, lines)
    frames = []
    for c in cutoffs:
        f = run_module._frame(run_module.purchase_features(tx, customers, interactions, c,
                                                           lines))
        lab = run_module._frame(run_module.purchase_labels(tx, c, lines,
                                                           run_module.HORIZON_DAYS))
        f = f.join(lab, how="left")
        f[lab.columns] = f[lab.columns].fillna(0).astype(int)
        frames.append(f.assign(cutoff=c).reset_index())
    pd.testing.assert_frame_equal(got, pd.concat(frames, ignore_index=True),
                                  check_exact=True)


def test_history_reads_the_stored_rows_as_the_engine_does(scored):
    """history() reads the day's stored parts with pyarrow (no engine, so Spark collects
    nothing on its driver): the same rows as the stored result read on the engine, all
    of them or those of some scores."""
    ws, _ = scored
    t = ws.result("score_history", AS_OF.isoformat())
    pd.testing.assert_frame_equal(ws.scoring.history(AS_OF), t.to_pyarrow().to_pandas(),
                                  check_exact=True)
    some = ["value_tier", "churn_probability"]
    pd.testing.assert_frame_equal(ws.scoring.history(AS_OF, some),
                                  t.filter(t.score.isin(some)).to_pyarrow().to_pandas(),
                                  check_exact=True)


def test_history_is_stored_in_customer_order(scored):
    """A run's history is stored by customer id, each customer's scores in registry order
    (as in the run's wide table); the row groups are checked in
    test_rerunning_a_month_replaces_that_month_only."""
    ws, run = scored
    (part,) = ws.warehouse.result_parts("score_history", AS_OF.isoformat())
    stored = pq.read_table(part).to_pandas()
    ids = stored["customer_id"].tolist()
    assert ids == sorted(ids)
    order = list(run.scores.columns.drop("customer_id"))
    for _, g in stored.groupby("customer_id", sort=False):
        assert list(g["score"]) == [s for s in order if s in set(g["score"])]


def test_long_table_by_hand():
    """`_long` on three customers given out of id order and three scores (a label only,
    a value with a label, a value only), blanks left out."""
    from cvm.scoring.run import _Collector, _long

    ids = pd.Index(["c", "a", "b"])
    out = _Collector(ids)
    out.labels["value_tier"] = pd.Series(["vip", None, "small"], index=ids, dtype=object)
    out.values["loyalty"] = pd.Series([0.5, np.nan, 0.25], index=ids)
    out.labels["loyalty"] = pd.Series(["high", "low", None], index=ids, dtype=object)
    out.values["churn_probability"] = pd.Series([np.nan, 0.1, 0.2], index=ids)
    got = _long(out, AS_OF).to_pandas()
    rows = [(r.customer_id, r.score, None if pd.isna(r.value) else r.value,
             r.label) for r in got.itertuples()]
    # registry order: value_tier, loyalty, churn_probability; "a" has no tier, and a
    # loyalty label without a value; "c" no churn probability
    assert rows == [("a", "loyalty", None, "low"), ("a", "churn_probability", 0.1, None),
                    ("b", "value_tier", None, "small"), ("b", "loyalty", 0.25, None),
                    ("b", "churn_probability", 0.2, None),
                    ("c", "value_tier", None, "vip"), ("c", "loyalty", 0.5, "high")]
    assert set(got["as_of"]) == {AS_OF}

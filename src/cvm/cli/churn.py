"""``cvm churn``: train and apply a likelihood-to-cancel model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.churn.choices import DEFAULT_MODEL_FILE
from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_input_file,
    check_output_file,
    console,
    emit,
    emit_json,
    open_workspace,
    write_table,
    wrote,
)
from cvm.errors import InputError

__all__ = ["app"]

app = typer.Typer(help=("Likelihood to cancel: train on a workspace's history or a snapshot "
                         "table, score customers."),
                  no_args_is_help=True)

_SHOWN_METRICS = ("auc", "pr_auc", "brier", "ece", "top_decile_lift", "top_decile_capture",
                  "base_rate")


@app.command("fit")
def fit(
    table: Annotated[Path | None, typer.Option("--table", callback=check_input_file, help=(
        "Snapshot table (.csv or .parquet): one row per customer, features and a churned "
        "flag. Without it, train on the workspace's contracts, transactions, interactions "
        "and surveys with a time-based split."))] = None,
    label: Annotated[str | None, typer.Option("--label", help=(
        "Column holding the churned flag (with --table)."))] = None,
    id: Annotated[str | None, typer.Option("--id", help=(
        "Column holding the customer id (with --table)."))] = None,
    positive: Annotated[str | None, typer.Option("--positive", help=(
        "Label value meaning churned (default: inferred from yes/true/1/churned)."))] = None,
    workspace: WorkspaceOpt = None,
    cutoff: Annotated[str | None, typer.Option("--cutoff", help=(
        "Workspace mode: features from before this date, YYYY-MM-DD; churn labelled in the "
        "--window-days after it (default: the latest known day + 1 - window)."))] = None,
    window_days: Annotated[int, typer.Option("--window-days", min=1, help=(
        "Workspace mode: days after the cut-off in which leaving counts as churn."))] = 90,
    model_out: Annotated[Path | None, typer.Option("--model-out", callback=check_output_file, help=(
        f"Where to save the model (default: {DEFAULT_MODEL_FILE} beside the --table file, "
        "else WORKSPACE/models/churn.joblib)."))] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help=(
        "Stratified cross-validation folds."))] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of folds and model.")] = 0,
    leak_auc: Annotated[float, typer.Option("--leak-auc", min=0.5, max=1.0, help=(
        "Leave out a column that alone ranks churners with at least this ROC AUC: a copy of "
        "the label or something recorded because the customer left."))] = 0.99,
    report: Annotated[Path | None, typer.Option("--report", callback=check_output_file, help=(
        "Also write the cross-validated gains and calibration charts to this .html file."))]
    = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Cross-validate a boosted model and a logistic baseline, then save the model.

    Prints the stratified k-fold means of auc, pr_auc, brier, ece (10 equal-width bins),
    top_decile_lift and top_decile_capture for both, and the data report: the columns
    used, those left out and why, and every blank or unparsable numeric value.
    """
    from cvm.churn.facade import ChurnFacade

    if table is None:
        if label or id or positive:
            raise InputError("--label, --id and --positive go with --table; without "
                             "--table the workspace's contracts say who churned")
        churn = open_workspace(workspace).churn
        model_out = model_out or churn.model_path
        model, _rows = churn.fit(cutoff, window_days, folds=folds, random_state=seed,
                                 save=model_out, report=report)
        label = "churned"
    else:
        if label is None or id is None:
            raise InputError("--table needs --label COLUMN (the churned flag) and --id COLUMN "
                             "(the customer id)")
        if cutoff is not None:
            raise InputError("--cutoff is for training on a workspace (no --table)")
        model_out = model_out or table.parent / DEFAULT_MODEL_FILE
        model = ChurnFacade.fit_table(table, label, id, positive, folds, seed, leak_auc,
                                      save=model_out, report=report)
    if report is not None:
        wrote(report)
    doc = {"model": model.metrics_["model"], "baseline": model.metrics_["baseline"],
           "warnings": model.metrics_["warnings"], "data": model.report_.to_dict(),
           "model_path": str(model_out)}
    if model.origin_:
        doc["training"] = model.origin_
    if fmt is Format.json:
        emit_json(doc)
        return
    rows = [{"metric": m, "model": doc["model"][m], "baseline": doc["baseline"][m]}
            for m in _SHOWN_METRICS]
    emit(_frame(rows), fmt, None, title=f"{folds}-fold cross-validated metrics")
    if fmt is Format.csv:
        return
    rep = model.report_
    if model.origin_:
        o = model.origin_
        console.print(f"trained on the state at {o['cutoff']}: {o['rows']:,} active "
                      f"customers, {o['churned']:,} of whom left within {o['window_days']} "
                      "days", markup=False)
    console.print(f"{rep.rows:,} rows, {rep.churners:,} churned ({label} = {rep.positive!r}); "
                  f"{len(rep.numeric)} numeric and {len(rep.categorical)} categorical "
                  "features.", markup=False)
    for col, why in rep.excluded.items():
        console.print(f"left out {col}: {why}", markup=False)
    for m in rep.missing:
        console.print(f"{m.column}: {m.blank} blank and {m.unparsable} unparsable value(s) "
                      f"in rows {m.rows} (ids {m.ids}); {m.handling}", markup=False)
    for w in model.metrics_["warnings"]:
        console.print(f"[bold red]warning:[/bold red] {w}")
    console.print(f"saved the model to {model_out}", markup=False, soft_wrap=True)


@app.command("score")
def score(
    table: Annotated[Path | None, typer.Option("--table", callback=check_input_file, help=(
        "Table to score (.csv or .parquet) with the model's id and feature columns. Without "
        "it, score every customer of the workspace active on the latest known day and "
        "store the churn_scores result."))] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", callback=check_output_file, help=(
        "Write id, probability and the top reasons per row to this .csv or .parquet "
        "(required with --table)."))] = None,
    model: Annotated[Path | None, typer.Option("--model", callback=check_input_file, help=(
        f"Model saved by `cvm churn fit` (default: {DEFAULT_MODEL_FILE} beside the --table "
        "file, else WORKSPACE/models/churn.joblib)."))] = None,
    workspace: WorkspaceOpt = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, max=10, help=(
        "How many top reasons to give per row (0: none, faster)."))] = 3,
    jobs: Annotated[int, typer.Option("--jobs", min=-1, help=(
        "Threads computing the reasons (-1: all cores)."))] = 1,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write each row's calibrated probability of cancelling and its top reasons."""
    from cvm.churn.facade import ChurnFacade

    if table is None:
        _score_workspace(workspace, model, out, reasons, fmt)
        return
    if out is None:
        raise InputError("--table needs --out FILE (.csv or .parquet) to write the scores to")
    scored, missing = ChurnFacade.score_table(table, model or table.parent / DEFAULT_MODEL_FILE,
                                              reasons=reasons, n_jobs=jobs)
    write_table(scored, out)
    if fmt is Format.json:
        emit_json({"rows": len(scored), "out": str(out),
                   "missing": [m.__dict__ for m in missing]})
        return
    emit(scored.sort_values("churn_probability", ascending=False), fmt, None,
         title="highest likelihood to cancel")
    if fmt is Format.table:
        for m in missing:
            console.print(f"{m.column}: {m.blank} blank and {m.unparsable} unparsable "
                          f"value(s) in rows {m.rows}; {m.handling}", markup=False)
        console.print(f"wrote {len(scored):,} rows to {out}", markup=False)


def _score_workspace(workspace, model, out, reasons, fmt) -> None:
    scored = open_workspace(workspace).churn.score(model, reasons=reasons)
    if out is not None:
        write_table(scored, out)
    if fmt is Format.json:
        probs = scored["churn_probability"].to_pylist()
        emit_json({"rows": scored.num_rows, "result": "churn_scores",
                   "as_of": scored["as_of"][0].as_py().isoformat(),
                   "mean_probability": sum(probs) / len(probs),
                   "out": str(out) if out else None})
        return
    top = scored.sort_by([("churn_probability", "descending")])
    if fmt is Format.table:
        top = top.select(["customer_id", "churn_probability",
                          *(c for c in top.column_names if c.startswith("reason_"))])
    emit(top, fmt, None, title="highest likelihood to cancel")
    if fmt is Format.table:
        console.print(f"stored {scored.num_rows:,} scores as the churn_scores result",
                      markup=False)


@app.command("survival")
def survival(
    table: Annotated[Path, typer.Option("--table", callback=check_input_file, help=(
        "Table (.csv or .parquet) with one row per customer or contract."))],
    duration: Annotated[str, typer.Option("--duration", help="Column holding the tenure.")],
    event: Annotated[str, typer.Option("--event", help=(
        "Column saying whether the customer left (else still a customer: censored)."))],
    group: Annotated[str | None, typer.Option("--group", help=(
        "Column to compare groups by (segment, plan, tier); adds a log-rank test."))] = None,
    positive: Annotated[str | None, typer.Option("--positive", help=(
        "Value of --event meaning the customer left (default: inferred)."))] = None,
    horizon: Annotated[float | None, typer.Option("--horizon", min=0, help=(
        "Restricted mean tenure up to this tenure (default: the longest observed)."))] = None,
    figure: Annotated[Path | None, typer.Option("--figure", callback=check_output_file, help=(
        "Also write the survival curves to this .html file."))] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Kaplan-Meier median and restricted mean tenure by group, with a log-rank test."""
    from cvm.churn.facade import ChurnFacade

    res, test = ChurnFacade.survival_table(table, duration, event, group, positive, horizon,
                                           figure)
    if figure is not None:
        wrote(figure)
    if fmt is Format.json:
        emit_json({"groups": res.summary.to_dict("records"), "horizon": res.horizon,
                   "logrank": test})
        if out is not None:
            write_table(res.summary, out)
        return
    emit(res.summary, fmt, out, title=f"tenure ({duration}) up to {res.horizon:g}")
    if fmt is Format.table and test is not None:
        console.print(f"log-rank test: chi2 = {test['statistic']:.2f} on {test['df']} df, "
                      f"p = {test['p_value']:.3g}", markup=False)


@app.command("reasons")
def reasons(fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The churn reason classes and the recommended response to each."""
    from cvm.churn.facade import ChurnFacade

    emit(ChurnFacade.responses(), fmt, out, title="churn reasons and responses")


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)

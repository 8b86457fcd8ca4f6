"""``cvm churn``: train and apply a likelihood-to-cancel model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    console,
    emit,
    emit_json,
    open_workspace,
    write_table,
)
from cvm.errors import InputError

__all__ = ["app"]

app = typer.Typer(help=("Likelihood to cancel: train on a workspace's history or a snapshot "
                         "table, score customers."),
                  no_args_is_help=True)

DEFAULT_MODEL = Path("churn-model.joblib")
_SHOWN_METRICS = ("auc", "pr_auc", "brier", "ece", "top_decile_lift", "top_decile_capture",
                  "base_rate")


@app.command("fit")
def fit(
    table: Annotated[Path | None, typer.Option("--table", help=(
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
    model_out: Annotated[Path | None, typer.Option("--model-out", help=(
        f"Where to save the model (default: {DEFAULT_MODEL} with --table, else "
        "WORKSPACE/models/churn.joblib)."))] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help=(
        "Stratified cross-validation folds."))] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of folds and model.")] = 0,
    leak_auc: Annotated[float, typer.Option("--leak-auc", min=0.5, max=1.0, help=(
        "Leave out a column that alone ranks churners with at least this ROC AUC: a copy of "
        "the label or something recorded because the customer left."))] = 0.99,
    report: Annotated[Path | None, typer.Option("--report", help=(
        "Also write the cross-validated gains and calibration charts to this .html file."))]
    = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Cross-validate a boosted model and a logistic baseline, then save the model.

    Prints the stratified k-fold means of auc, pr_auc, brier, ece (10 equal-width bins),
    top_decile_lift and top_decile_capture for both, and the data report: the columns
    used, those left out and why, and every blank or unparsable numeric value.
    """
    from cvm.churn import fit_snapshot, read_snapshot

    if table is None:
        from cvm.churn.history import fit_workspace, model_path

        if label or id or positive:
            raise InputError("--label, --id and --positive go with --table; without "
                             "--table the workspace's contracts say who churned")
        ws = open_workspace(workspace)
        model, _rows = fit_workspace(ws, cutoff, window_days, folds=folds, random_state=seed)
        model_out = model_out or model_path(ws)
        model_out.parent.mkdir(parents=True, exist_ok=True)
        label = "churned"
    else:
        if label is None or id is None:
            raise InputError("--table needs --label COLUMN (the churned flag) and --id COLUMN "
                             "(the customer id)")
        if cutoff is not None:
            raise InputError("--cutoff is for training on a workspace (no --table)")
        df = read_snapshot(table)
        model = fit_snapshot(df, label=label, id=id, positive=positive, folds=folds,
                             random_state=seed, leak_auc=leak_auc)
        model_out = model_out or DEFAULT_MODEL
    model.save(model_out)
    if report is not None:
        _write_report(model, report)
    doc = _finite({"model": model.metrics["model"], "baseline": model.metrics["baseline"],
           "warnings": model.metrics["warnings"], "data": model.report.to_dict(),
           "model_path": str(model_out)})
    if model.origin:
        doc["training"] = model.origin
    if fmt is Format.json:
        emit_json(doc)
        return
    rows = [{"metric": m, "model": doc["model"][m], "baseline": doc["baseline"][m]}
            for m in _SHOWN_METRICS]
    emit(_frame(rows), fmt, None, title=f"{folds}-fold cross-validated metrics")
    if fmt is Format.csv:
        return
    rep = model.report
    if model.origin:
        o = model.origin
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
    for w in model.metrics["warnings"]:
        console.print(f"[bold red]warning:[/bold red] {w}")
    console.print(f"saved the model to {model_out}", markup=False)


@app.command("score")
def score(
    table: Annotated[Path | None, typer.Option("--table", help=(
        "Table to score (.csv or .parquet) with the model's id and feature columns. Without "
        "it, score every customer of the workspace active on the latest known day and "
        "store the churn_scores result."))] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=(
        "Write id, probability and the top reasons per row to this .csv or .parquet "
        "(required with --table)."))] = None,
    model: Annotated[Path | None, typer.Option("--model", help=(
        f"Model saved by `cvm churn fit` (default: {DEFAULT_MODEL} with --table, else "
        "WORKSPACE/models/churn.joblib)."))] = None,
    workspace: WorkspaceOpt = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, max=10, help=(
        "How many top reasons to give per row (0: none, faster)."))] = 3,
    jobs: Annotated[int, typer.Option("--jobs", min=-1, help=(
        "Threads computing the reasons (-1: all cores)."))] = 1,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write each row's calibrated probability of cancelling and its top reasons."""
    from cvm.churn import ChurnModel, read_snapshot

    if table is None:
        _score_workspace(workspace, model, out, reasons, fmt)
        return
    if out is None:
        raise InputError("--table needs --out FILE (.csv or .parquet) to write the scores to")
    fitted = ChurnModel.load(model or DEFAULT_MODEL)
    scored, missing = fitted.score(read_snapshot(table), reasons=reasons, n_jobs=jobs)
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
    from cvm.churn import ChurnModel
    from cvm.churn.history import model_path, score_workspace

    ws = open_workspace(workspace)
    path = model or model_path(ws)
    if not path.exists():
        raise InputError(f"{path}: no churn model in this workspace yet; train one with "
                         "`cvm churn fit` (no --table)")
    scored = score_workspace(ws, ChurnModel.load(path), reasons=reasons)
    if out is not None:
        write_table(scored, out)
    if fmt is Format.json:
        probs = scored["probability"].to_pylist()
        emit_json({"rows": scored.num_rows, "result": "churn_scores",
                   "as_of": scored["as_of"][0].as_py().isoformat(),
                   "mean_probability": sum(probs) / len(probs),
                   "out": str(out) if out else None})
        return
    top = scored.sort_by([("probability", "descending")])
    if fmt is Format.table:
        top = top.select(["customer_id", "probability",
                          *(c for c in top.column_names if c.startswith("reason_"))])
    emit(top, fmt, None, title="highest likelihood to cancel")
    if fmt is Format.table:
        console.print(f"stored {scored.num_rows:,} scores as the churn_scores result",
                      markup=False)


@app.command("survival")
def survival(
    table: Annotated[Path, typer.Option("--table", help=(
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
    figure: Annotated[Path | None, typer.Option("--figure", help=(
        "Also write the survival curves to this .html file."))] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Kaplan-Meier median and restricted mean tenure by group, with a log-rank test."""
    import pandas as pd

    from cvm.churn import read_snapshot
    from cvm.churn.snapshot import encode_label
    from cvm.churn.survival import kaplan_meier, logrank

    df = read_snapshot(table)
    for name, what in ((duration, "duration"), (event, "event"), (group, "group")):
        if name is not None and name not in df.columns:
            raise InputError(f"--{what} {name!r} is not a column of {table}; columns: "
                             f"{', '.join(df.columns)}")
    y, _pos = encode_label(df[event], event, positive)
    data = pd.DataFrame({"tenure": pd.to_numeric(df[duration].str.strip(), errors="coerce"),
                         "churned": y})
    if group is not None:
        data["group"] = df[group].str.strip()
    res = kaplan_meier(data, group="group" if group else None, horizon=horizon)
    test = logrank(data, "group") if group is not None else None
    if figure is not None:
        from cvm.churn.figures import survival_figure

        survival_figure(res.curves, title=f"Survival of {duration} by {group or 'all'}"
                        ).write_html(figure, include_plotlyjs=True)
    if fmt is Format.json:
        emit_json(_finite({"groups": res.summary.to_dict("records"), "horizon": res.horizon,
                           "logrank": test}))
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
    from cvm.churn.reasons import responses_table

    emit(responses_table(), fmt, out, title="churn reasons and responses")


def _write_report(model, path: Path) -> None:
    from cvm.churn.figures import calibration_figure, gains_figure

    y = model.oof["churned"].to_numpy()
    probs = {"model": model.oof["model"].to_numpy(), "baseline": model.oof["baseline"].to_numpy()}
    figs = [gains_figure(y, probs, title="Cumulative gains (out-of-fold)"),
            calibration_figure(y, probs, title="Calibration (out-of-fold, ECE bins)")]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    path.write_text("<html><head><meta charset='utf-8'><title>cvm churn model</title></head>"
                    "<body>" + "".join(parts) + "</body></html>", encoding="utf-8")


def _finite(obj):
    """NaN and infinities as None (JSON null), e.g. a median tenure never reached."""
    import math

    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)

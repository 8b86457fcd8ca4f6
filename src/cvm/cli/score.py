"""``cvm score``: the monthly run of every score, the stored scores and how they moved."""

from __future__ import annotations

from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    console,
    emit,
    err_console,
    open_workspace,
)

__all__ = ["app"]

app = typer.Typer(help="Score every customer each month: value, lifecycle, risk, propensity.",
                  no_args_is_help=True)

AsOfOpt = Annotated[str, typer.Option(
    "--as-of", help="The day scored, YYYY-MM-DD: everything up to its end is history.")]


@app.command("run")
def run(as_of: AsOfOpt, workspace: WorkspaceOpt = None) -> None:
    """Score every customer as of a day and store the scores as that day's history
    (rerunning a day replaces that day only).

    Strategic scores: value_tier, profitability (profit after cost to serve over the value
    window), lifecycle_stage, revenue_potential (discounted CLV), default_risk (passive
    churn by arrears; needs contracts ended passive_*), loyalty (needs survey answers),
    overall_risk. Tactical: churn_probability, propensity_<line> per product line (brand),
    product_depth and share_<line>. Look-ahead scores cover the 90 days after the day.

    With contracts, churn_probability is the probability of cancelling in those 90 days;
    without contracts it is the probability of making no purchase in them. A score whose
    data is missing is left out with a note on stderr; the run does not fail for it.
    """
    ws = open_workspace(workspace)
    result = ws.scoring.run(as_of)
    for row in result.notes.to_dict("records"):
        if row["status"] != "computed":
            err_console.print(f"note: {row['score']} {row['status']}: {row['note']}",
                              markup=False, highlight=False, soft_wrap=True)
    computed = result.notes[result.notes["status"] == "computed"]
    console.print(f"scored {len(result.scores):,} customers as of {result.as_of}: "
                  f"{len(computed)} scores stored", markup=False, highlight=False)
    if not result.models.empty:
        cols = ["score", "base_rate", "auc_model", "auc_baseline", "lift_model",
                "lift_baseline", "check_rows"]
        emit(result.models[cols], title="propensity models on the latest known outcome "
                                        "(boosted model against the logistic baseline)")


@app.command("list")
def list_(as_of: AsOfOpt, workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table,
          out: OutOpt = None) -> None:
    """The stored scores of a day: one row per customer, one column per score (blank
    where a score does not apply, e.g. propensity_<line> for a line bought in the last
    365 days)."""
    emit(open_workspace(workspace).scoring.list(as_of), fmt, out)


@app.command("drift")
def drift(
    before: Annotated[str, typer.Option("--from", help="Earlier as-of day, YYYY-MM-DD.")],
    after: Annotated[str, typer.Option("--to", help="Later as-of day, YYYY-MM-DD.")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """How each score's distribution moved between two runs (population stability index:
    below 0.1 stable, 0.1-0.25 moderate, above 0.25 large), and how many customers moved
    between value tiers and between lifecycle stages."""
    d = open_workspace(workspace).scoring.drift(before, after)
    if fmt is not Format.table:
        emit(d.stability, fmt)
        return
    emit(d.stability, title=f"score stability, {d.before} to {d.after}")
    for name, table in (("value tier", d.tiers), ("lifecycle stage", d.stages)):
        emit(table.reset_index().rename(columns={"from": f"{d.before} \\ {d.after}"}),
             title=f"customers by {name}: {d.before} (rows) to {d.after} (columns)")


@app.command("defs")
def defs(fmt: FormatOpt = Format.table) -> None:
    """Every score: name, version, kind (strategic or tactical), inputs and meaning."""
    from cvm.scoring.facade import ScoringFacade

    emit(ScoringFacade.definitions(), fmt)

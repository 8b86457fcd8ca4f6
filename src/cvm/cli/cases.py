"""``cvm cases``: the closed loop, from a trigger to a root cause and a follow-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_folder,
    console,
    emit,
    err_console,
    open_workspace,
)

__all__ = ["app"]

app = typer.Typer(help="Cases from detractors, complaints, breaches and low satisfaction, "
                       "worked to a root cause and followed up.", no_args_is_help=True)

ByOpt = Annotated[str, typer.Option("--by", help="Who does it (recorded with the change).")]


@app.command("open")
def open_(as_of: Annotated[str, typer.Option("--as-of", help=(
              "Open cases for triggers up to the end of this day, YYYY-MM-DD."))],
          since: Annotated[str | None, typer.Option("--since", help=(
              "From this day (default: 30 days before --as-of)."))] = None,
          workspace: WorkspaceOpt = None, by: ByOpt = "cvm") -> None:
    """Open a case for every detractor answer (NPS 0-6), complaint, breach of a service
    standard and low satisfaction answer (cases.low_satisfaction_max) that has none yet:
    running it again opens nothing twice. Each case gets an owner (account manager, branch,
    call centre) and a due time (settings [cases])."""
    opened = open_workspace(workspace).cases.open(as_of, since, by)
    console.print(f"opened {len(opened):,} cases", markup=False, highlight=False)
    if len(opened):
        emit(opened.groupby(["trigger", "owner"]).size().rename("cases").reset_index())


@app.command("list")
def list_(workspace: WorkspaceOpt = None,
          owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's.")]
          = None,
          status: Annotated[list[str] | None, typer.Option("--status", help=(
              "open, in_progress, resolved, closed or reopened (repeatable)."))] = None,
          overdue: Annotated[bool, typer.Option("--overdue", help=(
              "Only cases still waiting after their due time."))] = False,
          fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Cases, due first, with whether they are overdue."""
    emit(open_workspace(workspace).cases.list(owner, status, overdue).drop(
        columns=["details"]), fmt, out)


@app.command("update")
def update(case_id: int, status: Annotated[str, typer.Argument(help=(
               "in_progress, resolved, closed or reopened."))],
           root_cause: Annotated[str | None, typer.Option("--root-cause", help=(
               "Needed to resolve: one of the setting cases.root_causes."))] = None,
           action: Annotated[str | None, typer.Option("--action", help=(
               "Needed to resolve: what was done."))] = None,
           note: Annotated[str, typer.Option("--note")] = "",
           owner: Annotated[str | None, typer.Option("--owner", help=(
               "Act as this owner: another owner's case is not found."))] = None,
           workspace: WorkspaceOpt = None, by: ByOpt = "") -> None:
    """Move a case on."""
    row = open_workspace(workspace).cases.update(case_id, status, by, root_cause, action,
                                                 note, owner)
    console.print(f"case {case_id}: {row['status']}", markup=False, highlight=False)


@app.command("followup")
def followup(case_id: int, score: Annotated[float, typer.Argument(help=(
                 "The customer's answer when asked again, 0-10."))],
             workspace: WorkspaceOpt = None, by: ByOpt = "") -> None:
    """Record the customer's answer when asked again: a resolved case closes, or reopens
    when the answer is still unhappy (below cases.close_min_score)."""
    row = open_workspace(workspace).cases.follow_up(case_id, score, by)
    console.print(f"case {case_id}: {row['status']}", markup=False, highlight=False)


@app.command("escalate")
def escalate(workspace: WorkspaceOpt = None) -> None:
    """Escalate the cases waiting longer than cases.escalate_after_hours past due."""
    ids = open_workspace(workspace).cases.escalate()
    console.print(f"escalated {len(ids):,} cases", markup=False, highlight=False)


@app.command("alerts")
def alerts(as_of: Annotated[str, typer.Option("--as-of", help=(
               "Compare the month of this day with the month before, YYYY-MM-DD."))],
           by: Annotated[str, typer.Option("--by", help=(
               "The unit: a customer attribute such as region."))] = "region",
           workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Units whose NPS or compliance with a service standard fell from last month by at
    least cases.alert_nps_drop points or cases.alert_compliance_drop."""
    emit(open_workspace(workspace).cases.alerts(as_of, by), fmt)


@app.command("export")
def export(folder: Annotated[Path, typer.Option("--folder", callback=check_folder, help=(
               "Write one CSV per owner of the cases still waiting."))],
           workspace: WorkspaceOpt = None) -> None:
    """One list per owner of the cases still waiting (CSV with a byte-order mark)."""
    for owner, path in open_workspace(workspace).cases.export(folder).items():
        err_console.print(f"wrote {path} ({owner})", markup=False, highlight=False)

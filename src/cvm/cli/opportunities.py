"""``cvm opportunities``: the month's scores as lists for staff, outcomes, what works."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_folder,
    check_input_file,
    console,
    emit,
    err_console,
    open_workspace,
)

__all__ = ["app"]

app = typer.Typer(help="Opportunity lists for staff from the monthly scores, their outcomes, "
                       "and which kinds work.", no_args_is_help=True)

AsOfOpt = Annotated[str, typer.Option("--as-of", help="The scored day, YYYY-MM-DD.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of reasons and actions: en "
                                                     "or zh-CN.")]


@app.command("build")
def build(as_of: AsOfOpt, workspace: WorkspaceOpt = None) -> None:
    """Turn the scores of a day (`cvm score run --as-of DAY` first) into opportunities by
    the rules (the workspace's opportunities.toml, else the defaults: retention call,
    cross-sell, win-back, service recovery, payment reminder), within the contact policy,
    with a control group held back per kind and an owner for each. Rebuilding a day
    replaces it until staff record an outcome."""
    built = open_workspace(workspace).opportunities.build(as_of)
    o = built.opportunities
    console.print(f"{len(o):,} opportunities for {built.as_of} by the rules in "
                  f"{built.rules_file}", markup=False, highlight=False)
    if len(o):
        counts = (o.assign(sent=~o["control"] & (o["status"] == "open"))
                  .groupby("kind").agg(opportunities=("kind", "size"),
                                       sent=("sent", "sum"), control=("control", "sum"))
                  .reset_index())
        emit(counts)
    if len(built.held_back):
        held = built.held_back.groupby("held_back").size().rename("customers").reset_index()
        emit(held, title="held back by the contact policy")


@app.command("list")
def list_(as_of: AsOfOpt, workspace: WorkspaceOpt = None,
          owner: Annotated[str | None, typer.Option(
              "--owner", help="Only this owner's list (without the control group).")] = None,
          lang: LangOpt = "en", fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """The opportunities of a day, highest priority first: why (the reason), what to do,
    by which channel, who and by when. The control group is listed too (control = true)
    and never shown to its owner: --owner leaves it out."""
    ws = open_workspace(workspace)
    df = ws.opportunities.list(as_of, owner=owner, lang=lang,
                               include_control=owner is None)
    emit(df, fmt, out)


@app.command("export")
def export(as_of: AsOfOpt,
           folder: Annotated[Path, typer.Option("--folder", callback=check_folder, help=(
               "Write one file per owner into this folder."))],
           workspace: WorkspaceOpt = None, lang: LangOpt = "en",
           excel: Annotated[bool, typer.Option("--excel", help="Write .xlsx files instead "
                                                               "of CSV.")] = False) -> None:
    """One list per owner (CSV with a byte-order mark for Excel, or .xlsx), without the
    control group."""
    files = open_workspace(workspace).opportunities.export(as_of, folder, lang, excel)
    for owner, path in files.items():
        err_console.print(f"wrote {path} ({owner})", markup=False, highlight=False)


@app.command("outcome")
def outcome(opportunity_id: str, result: Annotated[str, typer.Argument(
                metavar="OUTCOME", help="contacted, accepted, declined, no_answer or "
                                        "not_reachable.")],
            reason: Annotated[str | None, typer.Option(
                "--reason", help="Why the customer declined (a code of yours).")] = None,
            by: Annotated[str, typer.Option("--by", help="Who records it.")] = "",
            workspace: WorkspaceOpt = None) -> None:
    """Record what happened with one opportunity."""
    open_workspace(workspace).opportunities.record(opportunity_id, result, reason, by)
    console.print(f"recorded {result} for {opportunity_id}", markup=False, highlight=False)


@app.command("outcomes")
def outcomes(file: Annotated[Path, typer.Argument(callback=check_input_file, help=(
                 "CSV or xlsx with opportunity_id, outcome and (for declined) "
                 "reason_code."))],
             by: Annotated[str, typer.Option("--by", help="Who records them.")] = "",
             workspace: WorkspaceOpt = None) -> None:
    """Record the outcomes of a file: all or nothing (a bad row is named, nothing is
    stored); importing the same file again adds nothing."""
    n = open_workspace(workspace).opportunities.import_outcomes(file, by)
    console.print(f"recorded {n:,} outcomes from {file}", markup=False, highlight=False)


@app.command("evaluate")
def evaluate(workspace: WorkspaceOpt = None,
             as_of: Annotated[str | None, typer.Option(
                 "--as-of", help="Only this day's opportunities (default: all).")] = None,
             fmt: FormatOpt = Format.table) -> None:
    """Which kinds of opportunity work: per kind and month, the outcome rate of customers
    sent to staff against the control group held back (retained, bought the line, bought
    again, no passive churn, in the 90 days after the day), the uplift with its 95%
    interval, acceptance by owner and the decline reasons staff record most."""
    e = open_workspace(workspace).opportunities.evaluate(as_of)
    if fmt is not Format.table:
        emit(e.by_kind, fmt)
        return
    emit(e.by_kind, title="treated against control, per kind and month")
    emit(e.by_owner, title="by owner")
    if len(e.decline_reasons):
        emit(e.decline_reasons, title="why customers declined")


@app.command("rules")
def rules(workspace: WorkspaceOpt = None,
          write: Annotated[bool, typer.Option("--write", help=(
              "Copy the default rules into the workspace as opportunities.toml to "
              "edit."))] = False) -> None:
    """Show the rules in force (the workspace's opportunities.toml, else the defaults)."""
    ops = open_workspace(workspace).opportunities
    if write:
        path = ops.write_rules()
        console.print(f"wrote {path}; edit it, then `cvm opportunities build`",
                      markup=False, highlight=False)
        return
    r = ops.rules()
    rows = [{"kind": x.kind, "channel": x.channel, "due_days": x.due_days,
             "weight": x.weight, "propensity": str(x.propensity), "value": str(x.value),
             "action": x.action} for x in r.rules]
    emit(pd.DataFrame(rows), title=f"rules in {ops.rules_file}")

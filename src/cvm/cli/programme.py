"""``cvm programme``: create, serve and run the loyalty programme of a workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer

from cvm.cli._common import FormatOpt, OutOpt, WorkspaceOpt, console, emit, open_workspace
from cvm.errors import InputError

app = typer.Typer(help="Loyalty programme: points ledger, tiers, partners, REST API.",
                  no_args_is_help=True)


def _programme(workspace):
    from cvm.programme import Programme

    return Programme.from_workspace(open_workspace(workspace))


@app.command()
def init(workspace: WorkspaceOpt = None,
         demo: Annotated[bool, typer.Option(help=(
             "Also load the demo tiers, rules, catalogue and partner, and enrol --members of "
             "the workspace's customers (e.g. the `cvm demo` company) with their last 12 "
             "months of purchases."))] = False,
         members: Annotated[int, typer.Option(min=0, help=(
             "With --demo: customers to enrol (a random sample; 0 for none)."))] = 1000
         ) -> None:
    """Create or upgrade the programme's tables (and optionally the demo programme)."""
    ws = open_workspace(workspace)
    from cvm.programme import Programme

    prog = Programme.from_workspace(ws)
    prog.init()
    enrolled = None
    if demo:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from cvm.programme.demo import enrol_customers, seed

        seed(prog)
        if members and ws.has_rows("customers") and ws.latest_day() is not None:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task("Booking purchases", total=None)
                enrolled = enrol_customers(
                    prog, ws, members,
                    on_progress=lambda done, total: bar.update(task, completed=done,
                                                               total=total))
    prog.close()
    console.print(f"Programme ready at {prog.store!r}" + (" with the demo programme" if demo
                                                          else ""))
    if enrolled:
        console.print(f"Enrolled {enrolled['members']:,} customers, booked "
                      f"{enrolled['purchases']:,} purchases, {enrolled['tier_changes']:,} "
                      "tier changes.")


@app.command()
def serve(workspace: WorkspaceOpt = None,
          host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64, help=(
              "Server processes; writes stay serialised per member (PostgreSQL) or per "
              "database (SQLite)."))] = 1) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    from cvm.api.server import serve as run_server

    prog = _programme(workspace)
    prog.init()
    prog.close()
    run_server(prog_path(workspace), host=host, port=port, workers=workers)


def prog_path(workspace):
    return open_workspace(workspace).path


class Role(StrEnum):
    admin = "admin"
    staff = "staff"
    till = "till"
    partner = "partner"


@app.command()
def apikey(role: Annotated[Role, typer.Option(help="What the key may do.")],
           partner: Annotated[str | None, typer.Option(
               "--partner", help="Partner id (partner keys only).")] = None,
           name: Annotated[str, typer.Option(help="A label for the key.")] = "",
           workspace: WorkspaceOpt = None) -> None:
    """Make an API key and print it once (only its hash is stored)."""
    prog = _programme(workspace)
    prog.init()
    typer.echo(prog.create_api_key(role.value, partner, name))


@app.command()
def expire(workspace: WorkspaceOpt = None, fmt: FormatOpt = "table") -> None:
    """Expire every lot past its expiry date (run daily)."""
    result = _programme(workspace).expire()
    emit(_frame([result]), fmt)


@app.command()
def tiers(on: Annotated[str | None, typer.Option(help="Evaluation day YYYY-MM-DD "
                                                      "(default today).")] = None,
          workspace: WorkspaceOpt = None, fmt: FormatOpt = "table", out: OutOpt = None) -> None:
    """Run the tier job: upgrades, grace periods and downgrades; prints the changes."""
    day = _day(on, "--on") if on else None
    changes = _programme(workspace).run_tiers(day)
    emit(_frame(changes, ["member_id", "from", "to", "reason"]), fmt, out,
         title=f"{len(changes)} tier changes")


class Report(StrEnum):
    liability = "liability"
    breakage = "breakage"
    earn_burn = "earn-burn"
    audit = "audit"


@app.command()
def report(kind: Annotated[Report, typer.Argument(help="Which report.")],
           start: Annotated[str | None, typer.Option(help="earn-burn: first day.")] = None,
           end: Annotated[str | None, typer.Option(help="earn-burn: day after the last.")]
           = None,
           workspace: WorkspaceOpt = None, fmt: FormatOpt = "table", out: OutOpt = None) -> None:
    """Finance reports: liability by expiry month, breakage, earn/burn; or a ledger audit
    (exit code 1 when it finds problems)."""
    from cvm.programme import reports

    prog = _programme(workspace)
    now = datetime.now(UTC)
    if kind is Report.liability:
        rows = prog.read(reports.liability, now, prog.settings.point_value)
        cols = ["expiry_month", "active_points", "pending_points", "points", "value",
                "lapsed_points"]
    elif kind is Report.breakage:
        rows, cols = [prog.read(reports.breakage)], None
    elif kind is Report.earn_burn:
        s = _day(start, "--start") if start else now.date().replace(day=1)
        e = _day(end, "--end") if end else now.date() + timedelta(days=1)
        rows = prog.read(reports.earn_burn, datetime(s.year, s.month, s.day, tzinfo=UTC),
                         datetime(e.year, e.month, e.day, tzinfo=UTC))
        cols = ["tier", "partner_id", "earned", "burned"]
    else:
        rows, cols = prog.audit(), ["member_id", "problem"]
        if not rows and fmt == "table" and out is None:
            console.print("[green]The books balance: no problems found.[/green]")
            return
    emit(_frame(rows, cols), fmt, out, title=kind.value)
    if kind is Report.audit and rows:
        # a scheduled audit fails, so that whoever runs it hears of the problems
        raise typer.Exit(1)


def _day(text: str, opt: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{opt} {text!r} is not a date; use YYYY-MM-DD") from None


def _frame(rows, columns=None):
    import pandas as pd

    return pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)

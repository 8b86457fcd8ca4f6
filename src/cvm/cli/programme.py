"""``cvm programme``: create, serve and run the loyalty programme of a workspace."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

import typer

from cvm._dates import as_date
from cvm._time import utcnow
from cvm.cli._common import FormatOpt, OutOpt, WorkspaceOpt, console, emit, open_workspace
from cvm.errors import InputError
from cvm.programme.apikeys import ROLES
from cvm.programme.proofs import CODE_MINUTES, MAX_CODE_MINUTES

app = typer.Typer(help="Loyalty programme: points ledger, tiers, partners, REST API.",
                  no_args_is_help=True)


def _programme(workspace):
    return open_workspace(workspace).programme


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
    prog = _programme(workspace)
    if not demo:
        enrolled = prog.init()
    else:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("Booking purchases", total=None)
            enrolled = prog.init(demo=True, members=members, on_progress=lambda done, total:
                                 bar.update(task, completed=done, total=total))
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
    """Serve the REST API (OpenAPI at /docs); creates or upgrades the tables first."""
    from cvm.api.server import serve as run_server

    run_server(open_workspace(workspace).path, host=host, port=port, workers=workers,
               on_listen=lambda url: console.print(
                   f"cvm programme serve: listening on {url} (API docs at {url}/docs); press "
                   "Ctrl+C to stop", markup=False, highlight=False, soft_wrap=True))


#: the roles of API keys, as the library defines them
Role = StrEnum("Role", {role: role for role in ROLES})


def _expiry(text: str) -> datetime:
    """--expires: a number of days from now (``90d``), a day (the key works through it,
    UTC) or an ISO date-time (UTC if it names no zone)."""
    if text[:-1].isdigit() and text[-1:] == "d":
        return utcnow() + timedelta(days=int(text[:-1]))
    if len(text) == 10:
        day = as_date(text, "--expires")
        return datetime.combine(day + timedelta(days=1), time(), UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--expires must be a number of days (90d), YYYY-MM-DD or an ISO "
                         f"date-time such as 2026-12-31T18:00:00+08:00, got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command()
def apikey(role: Annotated[Role, typer.Option(help="What the key may do.")],
           partner: Annotated[str | None, typer.Option(
               "--partner", help="Partner id (partner keys only).")] = None,
           name: Annotated[str, typer.Option(help="A label for the key.")] = "",
           expires: Annotated[str | None, typer.Option(
               "--expires", help="When the key stops working: in N days (90d), after the day "
               "YYYY-MM-DD (UTC) or at an ISO date-time (UTC unless it names a zone). "
               "Default: never.")] = None,
           workspace: WorkspaceOpt = None) -> None:
    """Make an API key and print it once (only its hash is stored)."""
    expires_at = _expiry(expires) if expires is not None else None
    typer.echo(_programme(workspace).create_api_key(role.value, partner, name,
                                                    expires_at=expires_at, init=True))


@app.command()
def apikeys(workspace: WorkspaceOpt = None, fmt: FormatOpt = "table",
            out: OutOpt = None) -> None:
    """List the API keys (id, name, role, partner, created, expires, revoked).

    Never the key itself: only its hash is stored."""
    rows = _programme(workspace).api_keys()
    emit(_frame(rows, ["key_id", "name", "role", "partner_id", "created_at", "expires_at",
                       "revoked_at"]), fmt, out, title=f"{len(rows)} API keys")


@app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (cvm_<id>_...).")],
           workspace: WorkspaceOpt = None) -> None:
    """Revoke an API key: every server process refuses it from its next request on."""
    _programme(workspace).revoke_api_key(key_id)
    console.print(f"Revoked API key {key_id}.", markup=False, highlight=False)


@app.command()
def card(member: Annotated[str, typer.Argument(help="The member's id.")],
         workspace: WorkspaceOpt = None) -> None:
    """Issue a member's card token (or a new one) and print it once.

    The member's earlier card stops working. Partners that require a member's proof of
    presence ask for it (header X-Member-Proof)."""
    typer.echo(_programme(workspace).issue_card(member)["card"])


@app.command()
def code(member: Annotated[str, typer.Argument(help="The member's id.")],
         minutes: Annotated[int, typer.Option(min=1, max=MAX_CODE_MINUTES, help=(
             "How long the code lives."))] = CODE_MINUTES,
         workspace: WorkspaceOpt = None) -> None:
    """Make a member's one-time code (a proof of presence) and print it.

    The code is valid for reads until it expires and for one redemption; the member's
    earlier unused codes stop working."""
    made = _programme(workspace).issue_code(member, minutes)
    typer.echo(f"{made['code']} (expires {made['expires_at']:%Y-%m-%d %H:%M:%S} UTC)")


@app.command()
def partner(partner_id: Annotated[str, typer.Argument(help="The partner's id.")],
            require_member_proof: Annotated[bool, typer.Option(
                "--require-member-proof/--no-require-member-proof", help=(
                    "Whether the partner's keys must send a member's card token or one-time "
                    "code (X-Member-Proof) to read a balance or statement or to redeem."))],
            workspace: WorkspaceOpt = None) -> None:
    """Set whether a partner must show a member's proof of presence."""
    done = _programme(workspace).set_member_proof(partner_id, require_member_proof)
    console.print(f"Partner {partner_id} " + ("requires" if done["require_member_proof"]
                                              else "does not require")
                  + " a member's proof of presence.", markup=False, highlight=False)


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
    day = as_date(on, "--on") if on else None
    changes = _programme(workspace).run_tiers(day)
    emit(_frame(changes, ["member_id", "from", "to", "reason"]), fmt, out,
         title=f"{len(changes)} tier changes")


class Report(StrEnum):
    liability = "liability"
    breakage = "breakage"
    earn_burn = "earn-burn"
    audit = "audit"


#: the columns of each report's table (None: as the report gives them)
_COLUMNS = {
    Report.liability: ["expiry_month", "active_points", "pending_points", "points", "value",
                       "lapsed_points"],
    Report.breakage: None,
    Report.earn_burn: ["tier", "partner_id", "earned", "burned"],
    Report.audit: ["member_id", "problem"],
}


@app.command()
def report(kind: Annotated[Report, typer.Argument(help="Which report.")],
           start: Annotated[str | None, typer.Option(help="earn-burn: first day.")] = None,
           end: Annotated[str | None, typer.Option(help="earn-burn: day after the last.")]
           = None,
           workspace: WorkspaceOpt = None, fmt: FormatOpt = "table", out: OutOpt = None) -> None:
    """Finance reports: liability by expiry month, breakage, earn/burn; or a ledger audit
    (exit code 1 when it finds problems)."""
    prog = _programme(workspace)
    if kind is Report.liability:
        rows = prog.liability()
    elif kind is Report.breakage:
        rows = [prog.breakage()]
    elif kind is Report.earn_burn:
        rows = prog.earn_burn(as_date(start, "--start") if start else None,
                              as_date(end, "--end") if end else None)
    else:
        rows = prog.audit()
        if not rows and fmt == "table" and out is None:
            console.print("[green]The books balance: no problems found.[/green]")
            return
    emit(_frame(rows, _COLUMNS[kind]), fmt, out, title=kind.value)
    if kind is Report.audit and rows:
        # a scheduled audit fails, so that whoever runs it hears of the problems
        raise typer.Exit(1)


def _frame(rows, columns=None):
    import pandas as pd

    return pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)

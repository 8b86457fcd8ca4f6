"""``cvm users``: who may log in to the pages (``cvm serve``), with which role."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from cvm.cli._common import Format, FormatOpt, WorkspaceOpt, console, emit, open_workspace
from cvm.errors import InputError
from cvm.users import ROLES

__all__ = ["app"]

app = typer.Typer(help="Users of the pages: add, list, disable, set a password.",
                  no_args_is_help=True)
Role = StrEnum("Role", {role: role for role in ROLES})


def _password() -> str:
    """One line from standard input; asked for (twice, hidden) only on a terminal."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise InputError("no password on standard input (give it as one line)")
    return line.rstrip("\r\n")


@app.command()
def add(name: Annotated[str, typer.Argument(help="The login name (for staff: the owner name "
                                                 "their opportunities and cases carry).")],
        role: Annotated[Role, typer.Option(help="What the user may open.")],
        team: Annotated[str | None, typer.Option(help=(
            "The team (e.g. the queue or branch it works, branch:north); a manager sees "
            "the work of their team."))] = None,
        language: Annotated[str | None, typer.Option(help="en or zh-CN.")] = None,
        workspace: WorkspaceOpt = None) -> None:
    """Add a user; the password is read as one line from standard input."""
    ws = open_workspace(workspace)
    row = ws.users.add(name, _password(), role.value, team, language)
    console.print(f"Added {row['username']} ({row['role']}"
                  f"{', team ' + row['team'] if row['team'] else ''}).", markup=False)


@app.command("list")
def list_(workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The users, their roles, teams and languages."""
    emit(open_workspace(workspace).users.list(), fmt, title="Users")


@app.command()
def password(name: str, workspace: WorkspaceOpt = None) -> None:
    """Set a user's password (one line from standard input); their sessions end."""
    open_workspace(workspace).users.set_password(name, _password())
    console.print(f"Password of {name} set.", markup=False)


@app.command()
def disable(name: str, workspace: WorkspaceOpt = None) -> None:
    """Stop a user logging in; their sessions end at once."""
    open_workspace(workspace).users.disable(name)
    console.print(f"Disabled {name}.", markup=False)

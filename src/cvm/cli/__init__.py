"""The ``cvm`` command line: parse, call the Workspace, print with Rich.

Each area is a Typer sub-app or command in its own module of this package, listed in
`_COMMANDS` and imported only when its command runs.
User errors (`cvm.errors.CvmError`) exit with status 2 and a one-paragraph message on
stderr; ``cvm --debug ...`` shows the traceback instead. While a command runs, what long
steps report (e.g. "starting Spark") shows as a spinner on stderr (`_common.command_scope`).
"""

from __future__ import annotations

import importlib

import click
import typer
from typer.core import TyperGroup

from cvm.cli._common import command_scope, err_console
from cvm.errors import CvmError

__all__ = ["app", "main"]


#: Every command of the root: name -> (module in this package, attribute). An attribute
#: that is a Typer app is a command group (``cvm value ...``), else a command function.
#: Modules are imported only when their command is looked up, so ``cvm service
#: standards`` does not pay for importing pandas, SQLAlchemy or the programme; ``cvm
#: --help`` looks every command up (for its line of help) and so imports them all.
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("workspace_commands", "init"),
    "import": ("workspace_commands", "import_"),
    "status": ("workspace_commands", "status"),
    "demo": ("workspace_commands", "demo"),
    "summary": ("workspace_commands", "summary"),
    "value": ("value", "app"),
    "clv": ("clv", "app"),
    "survey": ("survey", "app"),
    "churn": ("churn", "app"),
    "programme": ("programme", "app"),
    "score": ("score", "app"),
    "opportunities": ("opportunities", "app"),
    "cases": ("cases", "app"),
    "service": ("service", "app"),
    "campaign": ("campaign", "app"),
    "users": ("users", "app"),
    "serve": ("web", "serve"),
    "retention": ("retention", "retention"),
    "kpi": ("kpi", "kpi"),
    "report": ("report", "report"),
}


def _load(name: str) -> click.Command:
    module_name, attr = _COMMANDS[name]
    obj = getattr(importlib.import_module(f"cvm.cli.{module_name}"), attr)
    if not isinstance(obj, typer.Typer):  # one command function: a one-command app
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(obj)
        obj = single
    command = typer.main.get_command(obj)
    command.name = name
    return command


class _CvmGroup(TyperGroup):
    """The root group: commands from `_COMMANDS`, each loaded when first looked up; a
    `cvm.errors.CvmError` raised by any of them becomes a message and exit status."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            with command_scope():
                return super().invoke(ctx)
        except CvmError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    name="cvm",
    cls=_CvmGroup,
    help="Customer value management: who your valuable customers are and what to do next.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from cvm._version import __version__

        typer.echo(f"cvm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context,
          debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
          version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")):
    ctx.obj = {"debug": debug}


def main() -> None:
    app(prog_name="cvm")

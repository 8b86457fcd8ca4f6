"""The ``cvm`` command line: parse, call the Workspace, print with Rich.

Each area is a Typer sub-app in its own module of this package, registered below.
User errors (`cvm.errors.CvmError`) exit with status 2 and a one-paragraph message on
stderr; ``cvm --debug ...`` shows the traceback instead. While a command runs, what long
steps report (e.g. "starting Spark") shows as a spinner on stderr (`_common.command_scope`).
"""

from __future__ import annotations

import click
import typer
from typer.core import TyperGroup

from cvm.cli._common import command_scope, err_console
from cvm.errors import CvmError

__all__ = ["app", "main"]


class _CvmGroup(TyperGroup):
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


def _register() -> None:
    from cvm.cli import campaign as _campaign
    from cvm.cli import cases as _cases
    from cvm.cli import churn as _churn
    from cvm.cli import clv as _clv
    from cvm.cli import kpi as _kpi
    from cvm.cli import opportunities as _opportunities
    from cvm.cli import programme as _programme
    from cvm.cli import report as _report
    from cvm.cli import retention as _retention
    from cvm.cli import score as _score
    from cvm.cli import service as _service
    from cvm.cli import survey as _survey
    from cvm.cli import users as _users
    from cvm.cli import value as _value
    from cvm.cli import web as _web
    from cvm.cli import workspace_commands as _workspace

    _workspace.register(app)
    app.add_typer(_value.app, name="value")
    app.add_typer(_clv.app, name="clv")
    app.add_typer(_survey.app, name="survey")
    app.add_typer(_churn.app, name="churn")
    app.add_typer(_programme.app, name="programme")
    app.add_typer(_score.app, name="score")
    app.add_typer(_opportunities.app, name="opportunities")
    app.add_typer(_cases.app, name="cases")
    app.add_typer(_service.app, name="service")
    app.add_typer(_campaign.app, name="campaign")
    app.add_typer(_users.app, name="users")
    _web.register(app)
    _retention.register(app)
    _kpi.register(app)
    _report.register(app)


_register()


def main() -> None:
    app(prog_name="cvm")

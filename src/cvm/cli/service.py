"""``cvm service ...``: compliance with service standards, and complaints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    emit,
    open_workspace,
)

__all__ = ["app"]

app = typer.Typer(help="Service standards and complaints: compliance, breaches, complaint "
                       "rates, resolution, repeats and what follows them.",
                  no_args_is_help=True)

StandardsView = StrEnum("StandardsView", {v: v for v in ("compliance", "breaches", "list")})

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help=(
    "Judge as of this time, YYYY-MM-DD[THH:MM[:SS]] in the workspace's time zone (a day: "
    "its end); default: the latest time in the interactions."))]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command("standards")
def standards(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    by: Annotated[list[str] | None, typer.Option("--by", help=(
        "Also per period (week, month, quarter, year), interactions column (touchpoint, "
        "kind, category, outcome) or customer attribute (region, segment, a team column, "
        "...); repeat or separate with commas."))] = None,
    view: Annotated[StandardsView, typer.Option("--view", help=(
        "compliance: per standard; breaches: every breach with its customer and value "
        "tier; list: the standards themselves."))] = StandardsView.compliance,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Compliance with the service standards of cvm.toml ([service.standards]).

    Each interaction a standard covers is met (answered within the limit on the standard's
    clock), breached (answered later, or not answered and the limit has passed at the as-of
    time) or pending. Compliance = met / (met + breached), with Wilson's 95% interval,
    against the standard's target; median and 90th percentile time in seconds on the clock.
    """
    table = open_workspace(workspace).service.standards_view(view.value, as_of, _split(by))
    titles = {"compliance": "compliance with the service standards",
              "breaches": "breaches of the service standards",
              "list": "service standards (service.standards in cvm.toml)"}
    emit(table, fmt, out, title=titles[view.value])

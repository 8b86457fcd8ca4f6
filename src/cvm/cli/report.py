"""``cvm report``: the month's report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import WorkspaceOpt, check_output_file, open_workspace, working, wrote

__all__ = ["report"]


def report(as_of: Annotated[str, typer.Option(
               "--as-of", help="The month's last day, YYYY-MM-DD.")],
           out: Annotated[Path, typer.Option(
               "--out", "-o", callback=check_output_file,
               help="The .html file to write.")],
           workspace: WorkspaceOpt = None,
           lang: Annotated[str, typer.Option(
               "--lang", help="Language of the report: en or zh-CN.")] = "en") -> None:
    """The monthly report: the KPI tree with targets, status and trend, the month's
    changes (KPIs, score drift, tier moves) and the main figures of value, lifetime value,
    loyalty, retention, service and opportunities, in one .html file that opens offline
    and prints one section per page."""
    from cvm.report import write_report

    ws = open_workspace(workspace)
    with working("writing the report"):
        path = write_report(ws, as_of, out, lang)
    wrote(path)

"""``cvm survey saysdoes``, ``classes``, ``levels`` and ``indicators``: answers against
behaviour in a workspace, through ``ws.survey``.

The commands are registered on the ``cvm survey`` app by `cvm.cli.survey`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_output_file,
    emit,
    err_console,
    open_workspace,
)
from cvm.cli.survey_common import SurveyOpt, write_figure
from cvm.errors import InputError


class GroupBy(StrEnum):
    nps = "nps"
    satisfaction = "satisfaction"



def saysdoes_cmd(
    workspace: WorkspaceOpt = None,
    survey: SurveyOpt = None,
    by: Annotated[GroupBy, typer.Option(help="Group respondents by NPS class or by "
                                        "satisfaction quintile.")] = GroupBy.nps,
    item: Annotated[str | None, typer.Option(help="The item to group by (default: the item "
                                             "of construct nps, or the mean of the "
                                             "satisfaction items).")] = None,
    figure: Annotated[Path | None, typer.Option(
        callback=check_output_file,
        help="Write one panel per behaviour, with intervals, to this .html file.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Says vs does: repeat purchase, spend and churn per NPS class or satisfaction quintile.

    Each with its 95% interval (Wilson for rates, t for spend); see cvm.survey.outcomes.
    """
    table = open_workspace(workspace).survey.says_vs_does(survey, by.value, item)
    if figure is not None:
        from cvm.survey.figures import says_vs_does_figure

        write_figure(says_vs_does_figure(table, f"Says vs does by {by.value}"), figure)
    emit(table, fmt, out, title=f"Says vs does by {by.value}")


def classes_cmd(
    workspace: WorkspaceOpt = None,
    survey: SurveyOpt = None,
    recommend: Annotated[list[str] | None, typer.Option(
        help="A 'would recommend' item; repeat for each (default: the item coded "
        "recommend).")] = None,
    repurchase: Annotated[list[str] | None, typer.Option(
        help="A 'will keep buying' item (default: the item coded repurchase).")] = None,
    use_more: Annotated[list[str] | None, typer.Option(
        help="A 'will use more' item (default: the item coded use_more).")] = None,
    switch: Annotated[list[str] | None, typer.Option(
        help="A 'would switch' item, reversed (default: the item coded switch).")] = None,
    detail: Annotated[bool, typer.Option(
        "--detail", help="Print one row per respondent instead of the per-class summary.")]
    = False,
    save: Annotated[bool, typer.Option(
        "--save/--no-save", help="Store the classes as the workspace result "
        "loyalty_classes.")] = True,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Loyal / general / drifting customers: by stated intention, and checked against repeat
    rate, tenure and recency.

    Thresholds are the survey settings (loyal_intention, drifting_recency_days, ...).
    """
    table = open_workspace(workspace).survey.classes(
        survey, recommend=recommend or None, repurchase=repurchase or None,
        use_more=use_more or None, switch=switch or None, save=save, summary=not detail)
    n = table.attrs["respondents"]
    if save:
        err_console.print(f"stored {n:,} respondents as the result loyalty_classes",
                          markup=False, highlight=False)
    emit(table, fmt, out, title=f"Loyalty classes ({table.attrs['survey']})" if n
         else "Loyalty classes")


def levels_cmd(
    workspace: WorkspaceOpt = None,
    survey: SurveyOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Oliver's loyalty levels (cognitive, affective, conative, action) per respondent.

    Each level is the survey construct of that name; a level is attained when its 0-100
    score and every earlier one's reach the survey setting level_threshold.
    """
    emit(open_workspace(workspace).survey.levels(survey), fmt, out, title="Loyalty levels")


def indicators_cmd(
    workspace: WorkspaceOpt = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Measure as of this day, YYYY-MM-DD (default: the latest "
        "transaction).")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Behavioural loyalty indicators per customer: repeat rate, tenure, recency, wallet share.

    Also purchase days and purchases per month, revenue in the value window and complaints;
    share_of_wallet only when the customers table has a numeric wallet column.
    """
    import datetime as dt

    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise InputError(f"--as-of {as_of!r}: expected a date such as 2024-06-30") from None
    emit(open_workspace(workspace).survey.indicators(day), fmt, out, title="Loyalty indicators")

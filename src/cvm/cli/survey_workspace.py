"""``cvm survey saysdoes`` and ``cvm survey classes``: answers against behaviour in a workspace.

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
    emit,
    err_console,
    open_workspace,
)


class GroupBy(StrEnum):
    nps = "nps"
    satisfaction = "satisfaction"


SurveyOpt = Annotated[str | None, typer.Option(
    help="The survey (default: the only one defined).")]


def saysdoes_cmd(
    workspace: WorkspaceOpt = None,
    survey: SurveyOpt = None,
    by: Annotated[GroupBy, typer.Option(help="Group respondents by NPS class or by "
                                        "satisfaction quintile.")] = GroupBy.nps,
    item: Annotated[str | None, typer.Option(help="The item to group by (default: the item "
                                             "of construct nps, or the mean of the "
                                             "satisfaction items).")] = None,
    figure: Annotated[Path | None, typer.Option(
        help="Write one panel per behaviour, with intervals, to this .html file.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Says vs does: repeat purchase, spend and churn per NPS class or satisfaction quintile.

    Each with its 95% interval (Wilson for rates, t for spend); see cvm.survey.outcomes.
    """
    from cvm.survey.outcomes import workspace_says_vs_does

    ws = open_workspace(workspace)
    table = workspace_says_vs_does(ws, survey, by.value, item)
    if figure is not None:
        from cvm.cli.survey import _write_figure
        from cvm.survey.figures import says_vs_does_figure

        _write_figure(says_vs_does_figure(table, f"Says vs does by {by.value}"), figure)
    emit(table, fmt, out, title=f"Says vs does by {by.value}")


def classes_cmd(
    workspace: WorkspaceOpt = None,
    survey: SurveyOpt = None,
    recommend: Annotated[list[str] | None, typer.Option(
        help="A 'would recommend' item; repeat for each (default: the item coded "
        "recommend).")] = None,
    repurchase: Annotated[list[str] | None, typer.Option(
        help="A 'will buy again' item (default: the item coded repurchase).")] = None,
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
    """Loyal / general / drifting customers: intention items plus repeat rate, tenure, recency.

    Thresholds are the survey settings (loyal_intention, drifting_recency_days, ...).
    """
    from cvm.survey.outcomes import class_summary, workspace_loyalty_classes

    ws = open_workspace(workspace)
    classes = workspace_loyalty_classes(ws, survey, recommend=recommend or None,
                                        repurchase=repurchase or None, switch=switch or None,
                                        save=save)
    if save:
        err_console.print(f"stored {len(classes):,} respondents as the result loyalty_classes",
                          markup=False, highlight=False)
    table = classes if detail else class_summary(classes)
    emit(table, fmt, out, title=f"Loyalty classes ({classes['survey'].iloc[0]})"
         if len(classes) else "Loyalty classes")


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
    from cvm.survey.outcomes import workspace_loyalty_levels

    ws = open_workspace(workspace)
    emit(workspace_loyalty_levels(ws, survey), fmt, out, title="Loyalty levels")


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

    from cvm.errors import InputError
    from cvm.survey.indicators import customer_indicators

    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise InputError(f"--as-of {as_of!r}: expected a date such as 2024-06-30") from None
    ws = open_workspace(workspace)
    emit(customer_indicators(ws, day).to_pyarrow(), fmt, out, title="Loyalty indicators")

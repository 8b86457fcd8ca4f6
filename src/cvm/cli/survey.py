"""``cvm survey``: satisfaction index (PLS), key drivers, NPS and AHP weights.

Each command reads a file, or with ``--workspace`` calls one method of ``ws.survey``, and
prints the result. The fuzzy and SERVQUAL commands (`cvm.cli.survey_scores`) and the
answers-against-behaviour commands (`cvm.cli.survey_workspace`) are registered on this app.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from cvm._tables import read_table
from cvm.cli import survey_scores, survey_workspace
from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    check_input_file,
    check_output_file,
    console,
    emit,
    emit_json,
    err_console,
    open_workspace,
    write_table,
)
from cvm.cli.survey_common import warnings_to_stderr, write_figure
from cvm.config import SurveySettings
from cvm.errors import InputError

app = typer.Typer(help="Survey measures: satisfaction index, key drivers, NPS, AHP weights.",
                  no_args_is_help=True)

_DEFAULTS = SurveySettings()


class Scheme(StrEnum):
    centroid = "centroid"
    factorial = "factorial"
    path = "path"


class DriverMethod(StrEnum):
    shapley = "shapley"
    relative_weights = "relative_weights"


class AhpMethod(StrEnum):
    eigenvector = "eigenvector"
    geometric = "geometric"


@app.command("index")
def index_cmd(
    file: Annotated[Path | None, typer.Argument(
        callback=check_input_file,
        help="Wide .csv/.parquet: one row per respondent, one column per item; leave out "
        "with --workspace.")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", "-m", callback=check_input_file,
        help="Model TOML: tables blocks, paths, optional modes and scale. "
        "Default: the seven-factor ECSI telecom model. With --workspace blocks and scale "
        "may be left out (taken from survey_items).")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Read the answers of --survey from this workspace instead "
        "of a file.")] = None,
    survey: Annotated[str | None, typer.Option(help="Workspace: the survey (default: the only "
                                               "one defined).")] = None,
    save: Annotated[bool, typer.Option("--save", help="Workspace: store each respondent's "
                                       "0-100 scores as the result satisfaction_index.")]
    = False,
    scheme: Annotated[Scheme, typer.Option(help="Inner weighting scheme.")] = Scheme.centroid,
    raw: Annotated[bool, typer.Option("--raw", help="Keep items in their own units instead "
                                      "of standardising them.")] = False,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for standard "
                                           "errors and 95% intervals.")] = 0,
    drop_incomplete: Annotated[bool, typer.Option(
        "--drop-incomplete", help="Leave out respondents with an empty answer.")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap.")] = None,
    figure: Annotated[Path | None, typer.Option(
        callback=check_output_file,
        help="Write the importance-performance map of --target to this .html file.")] = None,
    target: Annotated[str, typer.Option(help="Construct of the importance-performance map.")]
    = "Satisfaction",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Satisfaction index by PLS path modelling: paths, R², loadings, weights, GoF, 0-100 index."""
    from cvm.survey.satisfaction_index import fit_index

    options = dict(scheme=scheme.value, standardize=not raw, n_bootstrap=bootstrap,
                   random_state=seed, drop_incomplete=drop_incomplete)
    if workspace is not None:
        if file is not None:
            raise InputError("give a FILE or --workspace, not both")
        with warnings_to_stderr():
            fit = open_workspace(workspace).survey.index(survey, model, save=save, **options)
        if save:
            err_console.print(f"stored {fit.n_:,} respondents' scores as the result "
                              "satisfaction_index", markup=False, highlight=False)
    else:
        if file is None:
            raise InputError("give a FILE (one row per respondent) or --workspace DIR")
        if survey is not None or save:
            raise InputError("--survey and --save need --workspace")
        with warnings_to_stderr():
            fit = fit_index(read_table(file), model, source=str(file), **options)
    if fit.n_dropped_:
        err_console.print(f"left out {fit.n_dropped_} respondent(s) with an empty answer; "
                          f"{fit.n_} used", markup=False, highlight=False)
    if figure is not None:
        from cvm.survey.drivers import ipma
        from cvm.survey.figures import importance_performance_figure

        write_figure(importance_performance_figure(
            ipma(fit, target), title=f"Importance-performance map: {target}"), figure)
    table = fit.to_frame()
    if fmt is Format.json:  # the nested document; --out still gets the long table
        if out is not None:
            write_table(table, out)
        emit_json(fit.to_dict())
        return
    emit(table, fmt, out, title=f"PLS path model ({scheme.value} scheme)")


@app.command("drivers")
def drivers_cmd(
    file: Annotated[Path | None, typer.Argument(
        callback=check_input_file,
        help="A .csv/.parquet, one row per respondent; leave out with --workspace.")] = None,
    outcome: Annotated[str | None, typer.Option(
        help="Outcome column (NPS answer, overall satisfaction); with --workspace an item, "
        "default the NPS item.")] = None,
    driver: Annotated[list[str] | None, typer.Option(
        help="A driver (item rating) column; repeat for each. With --workspace default: "
        "every other item.")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Read the answers of --survey from this workspace (drivers "
        "rescaled from their own scales, so performance is 0-100).")] = None,
    survey: Annotated[str | None, typer.Option(help="Workspace: the survey (default: the only "
                                               "one defined).")] = None,
    method: Annotated[DriverMethod, typer.Option(help="Share of R² by Shapley decomposition "
                                                 "or Johnson's relative weights.")]
    = DriverMethod.shapley,
    scale_min: Annotated[float | None, typer.Option(help="Lowest answer of the drivers' "
                                                    "scale (for performance 0-100).")] = None,
    scale_max: Annotated[float | None, typer.Option(help="Highest answer of the drivers' "
                                                    "scale.")] = None,
    min_answers: Annotated[int, typer.Option(min=1, help="Drivers with fewer answers are "
                                             "flagged, not ranked.")] = 30,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the "
                                           "intervals.")] = 200,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap.")] = None,
    figure: Annotated[Path | None, typer.Option(
        callback=check_output_file,
        help="Write the importance-performance quadrant to this .html file.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Key drivers of an outcome: share of R² per driver, 95% interval, IPA quadrant."""
    from cvm.survey import key_drivers

    if (scale_min is None) != (scale_max is None):
        raise InputError("give both --scale-min and --scale-max, or neither")
    scale = None if scale_min is None else (scale_min, scale_max)
    options = dict(method=method.value, min_answers=min_answers, n_bootstrap=bootstrap,
                   random_state=seed)
    if workspace is not None:
        if file is not None or scale is not None:
            raise InputError("with --workspace give no FILE and no --scale-min/--scale-max "
                             "(scales come from survey_items)")
        table = open_workspace(workspace).survey.drivers(survey, outcome, driver, **options)
        outcome, scale = table.attrs["outcome"], (0, 1)
    else:
        if file is None or outcome is None or not driver:
            raise InputError("give a FILE with --outcome and --driver, or --workspace DIR")
        table = key_drivers(read_table(file), outcome, driver, scale=scale, **options)
    if figure is not None:
        if scale is None:
            raise InputError("--figure needs --scale-min and --scale-max for performance")
        from cvm.survey.figures import importance_performance_figure

        write_figure(importance_performance_figure(
            table, title=f"Key drivers of {outcome}"), figure)
    emit(table, fmt, out, title=f"Key drivers of {outcome} (R² {table.attrs['r2']:.3f}, "
         f"n {table.attrs['n']})")


@app.command("nps")
def nps_cmd(
    file: Annotated[Path | None, typer.Argument(
        callback=check_input_file,
        help="A .csv/.parquet with a 0-10 answer column; leave out with --workspace.")] = None,
    column: Annotated[str | None, typer.Option("--column", "-c", help="File mode: the 0-10 "
                                               "'likely to recommend' column.")] = None,
    by: Annotated[str | None, typer.Option(help="Group by this column (file), or customer "
                                           "attribute (workspace: relationship_type, region, "
                                           "segment, tier, touchpoint, ...).")] = None,
    month: Annotated[str | None, typer.Option(
        help="File mode: NPS per month of this date column, each month tested against the "
        "one before.")] = None,
    trend: Annotated[bool, typer.Option(
        "--trend", help="Workspace: NPS per month of the answers' timestamp (also per group "
        "with --by), each month tested against the one before; --by month is the same "
        "overall.")] = False,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Read the answers from this workspace's survey_responses "
        "instead of a file.")] = None,
    survey: Annotated[str | None, typer.Option(help="Workspace: the survey (default: the only "
                                               "one defined).")] = None,
    item: Annotated[str | None, typer.Option(help="Workspace: the 0-10 item (default: the item "
                                             "of construct 'nps').")] = None,
    compare: Annotated[list[str] | None, typer.Option(
        help="Give twice: z test of NPS(A) - NPS(B) between two groups or two months.")] = None,
    min_n: Annotated[int | None, typer.Option(min=1, help="Groups smaller than this are flagged "
                                              "(default: the settings' nps_min_sample).")]
    = None,
    figure: Annotated[Path | None, typer.Option(
        callback=check_output_file,
        help="Write the NPS per group or month with intervals to this .html file.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Net Promoter Score with standard error and 95% interval, overall, per group or month."""
    from cvm.survey.nps import nps_by, nps_compare, nps_trend

    if compare is not None and len(compare) != 2:
        raise InputError(f"--compare takes exactly two groups or months, got {len(compare)}")
    if workspace is not None:
        if file is not None or column is not None:
            raise InputError("give a FILE with --column, or --workspace, not both")
        if month is not None:
            raise InputError("with --workspace use --trend (or --by month) for NPS per month "
                             "of the answers' timestamp")
        if by == "month":
            by, trend = None, True
        with warnings_to_stderr():
            table = open_workspace(workspace).survey.nps(by, survey=survey, item=item,
                                                         month=trend, min_n=min_n)
        title = f"NPS of {table.attrs['item']} ({table.attrs['survey']})"
    else:
        if file is None or column is None:
            raise InputError("give a FILE and --column COL, or --workspace DIR")
        if trend:
            raise InputError("in file mode give the date column: --month COL")
        data = read_table(file)
        if by is not None and month is not None:
            raise InputError("use --by or --month, not both")
        with warnings_to_stderr():
            mn = _DEFAULTS.nps_min_sample if min_n is None else min_n
            if month is not None:
                table = nps_trend(data, column, month, min_n=mn)
            else:
                table = nps_by(data, column, by, min_n=mn)
                table["group"] = table["group"].astype(str)
        title = f"NPS of {column}"
    if figure is not None:
        from cvm.survey.figures import nps_figure

        write_figure(nps_figure(table, title=title), figure)
    if compare is None:
        emit(table, fmt, out, title=title)
        return
    res = nps_compare(table, *compare)  # the z test between two rows of the table shown
    if fmt is Format.json:
        if out is not None:
            write_table(pd.DataFrame([res]), out)
        emit_json(res)
        return
    emit(pd.DataFrame([res]), fmt, out, title=f"NPS {compare[0]} vs {compare[1]}")


@app.command("ahp")
def ahp_cmd(
    matrix: Annotated[Path, typer.Argument(callback=check_input_file,
    help="CSV pairwise-comparison matrix: criteria in "
                                           "the header and first column; 3, 0.2 or 1/5; "
                                           "empty cells are missing judgements.")],
    method: Annotated[AhpMethod, typer.Option(help="Weights from the principal eigenvector "
                                              "or row geometric means.")]
    = AhpMethod.eigenvector,
    max_cr: Annotated[float, typer.Option(help="Accept judgements when CR is below this.")]
    = _DEFAULTS.ahp_max_cr,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """AHP weights with lambda_max, CI and CR (Saaty's random index); missing cells completed."""
    from cvm.survey import ahp, read_matrix

    with warnings_to_stderr():
        res = ahp(read_matrix(matrix), method=method.value, max_cr=max_cr, source=str(matrix))
    table = pd.DataFrame({"criterion": res.weights.index, "weight": res.weights.to_numpy()})
    if fmt is Format.json:
        if out is not None:
            write_table(table, out)
        emit_json(res.to_dict())
        return
    emit(table, fmt, out, title=f"AHP weights ({method.value})")
    if fmt is Format.table:
        verdict = "consistent" if res.consistent else "NOT consistent"
        console.print(f"lambda_max {res.lambda_max:.4f}  CI {res.ci:.4f}  RI {res.ri:.2f}  "
                      f"CR {res.cr:.4f} ({verdict})")


app.command("fuzzy")(survey_scores.fuzzy_cmd)
app.command("servqual")(survey_scores.servqual_cmd)
app.command("saysdoes")(survey_workspace.saysdoes_cmd)
app.command("classes")(survey_workspace.classes_cmd)
app.command("levels")(survey_workspace.levels_cmd)
app.command("indicators")(survey_workspace.indicators_cmd)

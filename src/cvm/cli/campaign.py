"""``cvm campaign``: what a campaign or a policy did, how large a test must be, and whom to
target next time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import (
    FigureOpt,
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_input_file,
    check_output_file,
    console,
    emit,
    emit_json,
    open_workspace,
    write_figure,
    write_table,
)
from cvm.errors import InputError

__all__ = ["app"]

app = typer.Typer(help=("Campaign and policy evaluation: effects against a control, sample "
                        "size before launch, difference-in-differences, uplift."),
                  no_args_is_help=True)

TableOpt = Annotated[Path | None, typer.Option("--table", callback=check_input_file, help=(
    "Table file (.csv, .parquet or .xlsx) with one row per customer (per unit and period "
    "for `did`)."))]
CampaignOpt = Annotated[Path | None, typer.Option("--campaign", callback=check_input_file,
                                                  help=(
    "Campaign file (.csv, .parquet or .xlsx): one row per customer with its arm and the "
    "campaign day; outcomes are measured on the workspace."))]
OutcomesOpt = Annotated[list[str] | None, typer.Option("--outcome", help=(
    "Outcome column (repeat for several): 0/1 for yes/no, else a number. With --campaign: "
    "purchase, spend, churn or nps (default: every one the workspace can measure)."))]
ControlOpt = Annotated[str | None, typer.Option("--control", help=(
    "The control's value in the arm column (with --campaign, default: control)."))]
LevelOpt = Annotated[float, typer.Option("--level", min=0.5, max=0.999, help=(
    "Confidence level of the intervals."))]
CustomerColOpt = Annotated[str, typer.Option("--customer", help=(
    "With --campaign: the column holding the customer id."))]
DateColOpt = Annotated[str, typer.Option("--date", help=(
    "With --campaign: the column holding the campaign day (YYYY-MM-DD)."))]


def _table_or_campaign(table: Path | None, campaign: Path | None) -> None:
    if (table is None) == (campaign is None):
        raise InputError("give --table FILE (outcomes in the file) or --campaign FILE "
                         "(outcomes measured on the workspace), one of the two")


def _note(text: str, fmt: Format) -> None:
    if fmt is Format.table:
        console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("evaluate")
def evaluate(
    table: TableOpt = None,
    arm: Annotated[str | None, typer.Option("--arm", help=(
        "Column holding each row's arm (with --campaign, default: arm)."))] = None,
    control: ControlOpt = None,
    outcome: OutcomesOpt = None,
    campaign: CampaignOpt = None,
    window_days: Annotated[int, typer.Option("--window-days", min=1, help=(
        "With --campaign: days after the campaign day in which outcomes count."))] = 90,
    customer: CustomerColOpt = "customer_id",
    date: DateColOpt = "date",
    workspace: WorkspaceOpt = None,
    variance: Annotated[str, typer.Option("--variance", help=(
        "Interval and test of a mean: welch (unequal variances) or pooled (Student's "
        "t)."))] = "welch",
    level: LevelOpt = 0.95,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Each arm against the control per outcome: difference, interval, p-value, Holm's p.

    For each arm and outcome: the means (a rate for a 0/1 outcome), the difference, the
    lift, its interval and p-value, and Holm's p-value across all rows. A rate's interval
    is Newcombe's hybrid score interval and its p-value the score test; a mean's are
    Welch's t (or Student's with --variance pooled). The verdict reads Holm's
    p-value against 1 - level. With --campaign the outcomes are measured on the workspace
    in the --window-days after each customer's campaign day.
    """
    from cvm.campaign.facade import CampaignFacade

    _table_or_campaign(table, campaign)
    if table is not None:
        if arm is None or control is None or not outcome:
            raise InputError("--table needs --arm COLUMN, --control VALUE and at least one "
                             "--outcome COLUMN")
        result = CampaignFacade.evaluate_table(table, arm, control, outcome, level, variance)
    else:
        result = open_workspace(workspace).campaign.evaluate(
            campaign, window_days, control if control is not None else "control", outcome,
            customer, arm or "arm", date, level, variance)
    shown = result if fmt is not Format.table else result[
        ["arm", "outcome", "difference", "ci_low", "ci_high", "p_holm", "verdict", "mean",
         "control_mean"]]
    emit(shown, fmt, None, title="effect of each arm against the control")
    if out is not None:
        write_table(result, out)
    _note(f"{level:.0%} intervals for the difference (arm - control); p_holm: Holm's "
          f"adjustment across the {len(result)} rows.", fmt)


@app.command("power")
def power(
    effect: Annotated[list[float] | None, typer.Option("--effect", help=(
        "Effect to detect, arm - control in the outcome's units (a share for a rate, e.g. "
        "0.02); repeat for several."))] = None,
    n: Annotated[list[int] | None, typer.Option("--n", help=(
        "Instead of --effect: customers per arm; gives the smallest effect it detects."))]
    = None,
    baseline: Annotated[float | None, typer.Option("--baseline", help=(
        "A rate: the control's expected rate (e.g. 0.10 for 10% buying)."))] = None,
    sd: Annotated[float | None, typer.Option("--sd", help=(
        "A mean (e.g. spend): the outcome's standard deviation per customer."))] = None,
    alpha: Annotated[float, typer.Option("--alpha", help=(
        "Significance level over all the comparisons."))] = 0.05,
    power_: Annotated[float, typer.Option("--power", help=(
        "Chance of detecting the effect if it is there."))] = 0.8,
    control_ratio: Annotated[float, typer.Option("--control-ratio", help=(
        "Control customers per customer of an arm."))] = 1.0,
    arms: Annotated[int, typer.Option("--arms", min=1, help=(
        "Arms sharing the control."))] = 1,
    outcomes: Annotated[int, typer.Option("--outcomes", min=1, help=(
        "Outcomes tested per arm (the level of each test is alpha / (arms x outcomes)).")
        )] = 1,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Before launch: customers per arm to detect an effect, or the effect a size detects.

    Two-sided tests at alpha / (arms x outcomes) each. A rate needs --baseline, a mean
    --sd."""
    from cvm.campaign.facade import CampaignFacade

    plans = CampaignFacade.power(effect, n, baseline, sd, alpha, power_, control_ratio,
                                 arms, outcomes)
    shown = plans if fmt is not Format.table else plans[
        ["effect", "n_arm", "n_control", "n_total", "alpha_per_test", "power",
         "baseline" if sd is None else "sd"]]
    emit(shown, fmt, None, title="customers per arm" if effect else "smallest effect detected")
    if out is not None:
        write_table(plans, out)


@app.command("did")
def did(
    table: TableOpt = None,
    unit: Annotated[str | None, typer.Option("--unit", help=(
        "With --table: the column naming the unit (customer, store, region)."))] = None,
    period: Annotated[str | None, typer.Option("--period", help=(
        "With --table: the column holding the period (a number, a date such as 2024-04, or "
        "text that sorts in time order)."))] = None,
    group: Annotated[str | None, typer.Option("--group", help=(
        "With --table: the column saying which group a unit is in."))] = None,
    control: Annotated[str | None, typer.Option("--control", help=(
        "The comparison group's value (with --campaign, default: control)."))] = None,
    outcome: Annotated[list[str] | None, typer.Option("--outcome", help=(
        "Outcome column (repeat for several); with --campaign: spend and/or purchase per "
        "period (default: both)."))] = None,
    start: Annotated[str | None, typer.Option("--start", help=(
        "With --table: the first period after the launch."))] = None,
    campaign: CampaignOpt = None,
    arm: Annotated[str, typer.Option("--arm", help=(
        "With --campaign: the column holding each customer's group."))] = "arm",
    customer: CustomerColOpt = "customer_id",
    date: DateColOpt = "date",
    period_days: Annotated[int, typer.Option("--period-days", min=1, help=(
        "With --campaign: days per period."))] = 30,
    periods_before: Annotated[int, typer.Option("--periods-before", min=1, help=(
        "With --campaign: periods before the campaign day."))] = 6,
    periods_after: Annotated[int, typer.Option("--periods-after", min=1, help=(
        "With --campaign: periods after it."))] = 3,
    workspace: WorkspaceOpt = None,
    trend_alpha: Annotated[float, typer.Option("--trend-alpha", min=0.001, max=0.5, help=(
        "Flag the pre-period trends as not parallel when their test's p-value is "
        "under this."))] = 0.05,
    level: LevelOpt = 0.95,
    figure: FigureOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """A policy without a random control: difference-in-differences, pre-trend check.

    Each group against the comparison group, with standard errors clustered by unit and a
    check that the groups moved in parallel before the launch. With --campaign, spend and
    purchase per period around each customer's campaign day on the workspace."""
    from cvm.campaign.facade import CampaignFacade

    _table_or_campaign(table, campaign)
    if table is not None:
        if None in (unit, period, group, control, start) or not outcome:
            raise InputError("--table needs --unit, --period, --group, --control, --start "
                             "and at least one --outcome")
        result = CampaignFacade.did_table(table, unit, period, group, control, outcome,
                                          start, level, trend_alpha)
    else:
        result = open_workspace(workspace).campaign.did(
            campaign, control if control is not None else "control",
            outcome or ("spend", "purchase"), period_days, periods_before, periods_after,
            customer, arm, date, level, trend_alpha)
    if figure is not None:
        from cvm.campaign.figures import did_figure

        write_figure(did_figure(result.periods, title="Before and after the launch"), figure)
    effects = result.effects
    shown = effects if fmt is not Format.table else effects[
        ["arm", "outcome", "estimate", "ci_low", "ci_high", "p_holm", "parallel_trends",
         "verdict", "pretrend_p", "units", "control_units"]]
    emit(shown, fmt, None, title="difference-in-differences against the comparison group")
    if out is not None:
        write_table(effects, out)
    _note(f"{level:.0%} intervals clustered by unit; parallel_trends: the pre-period slope "
          f"difference tested at {trend_alpha:g}.", fmt)


@app.command("uplift")
def uplift(
    table: Annotated[Path | None, typer.Option("--table", callback=check_input_file, help=(
        "A randomised campaign's table (.csv, .parquet or .xlsx): one row per customer with "
        "its arm, outcome and features as they were before the campaign."))] = None,
    arm: Annotated[str | None, typer.Option("--arm", help=(
        "Column holding each row's arm (with --campaign, default: arm)."))] = None,
    control: ControlOpt = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help=(
        "Outcome column: 0/1 or a number such as spend. With --campaign: purchase "
        "(default), spend, churn or nps, measured on the workspace."))] = None,
    campaign: CampaignOpt = None,
    window_days: Annotated[int, typer.Option("--window-days", min=1, help=(
        "With --campaign: days after the campaign day in which the outcome counts."))] = 90,
    features_from: Annotated[str, typer.Option("--features", help=(
        "With --campaign: the features, as known before each customer's day: purchase "
        "(tenure, recency, purchases, spend, complaints, customer fields), scores (the "
        "latest stored monthly run before the day) or both."))] = "purchase",
    customer: CustomerColOpt = "customer_id",
    date: DateColOpt = "date",
    score_as_of: Annotated[str | None, typer.Option("--score-as-of", help=(
        "With --campaign: also predict the uplift of every customer from the features as "
        "of the end of this day, YYYY-MM-DD (write them with --out)."))] = None,
    workspace: WorkspaceOpt = None,
    treated: Annotated[str | None, typer.Option("--treated", help=(
        "The arm to model (default: the only arm besides the control)."))] = None,
    feature: Annotated[list[str] | None, typer.Option("--feature", help=(
        "Feature column (repeat; default: every other column except --id and columns that "
        "look like identifiers or never vary)."))] = None,
    id: Annotated[str | None, typer.Option("--id", help=(
        "Column holding the customer id: not a feature; copied to the scores."))] = None,
    method: Annotated[str, typer.Option("--method", help=(
        "two_model (one outcome model per group) or transformed (one regression of the "
        "transformed outcome)."))] = "two_model",
    learner: Annotated[str, typer.Option("--learner", help=(
        "boosting (histogram gradient boosting) or linear."))] = "boosting",
    folds: Annotated[int, typer.Option("--folds", help=(
        "Cross-fitting folds for the out-of-fold Qini curve."))] = 5,
    groups: Annotated[int, typer.Option("--groups", help=(
        "Groups of equal size by predicted uplift shown with their observed uplift."))] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds and learners.")] = 0,
    score: Annotated[Path | None, typer.Option("--score", callback=check_input_file, help=(
        "With --table: also predict the uplift of each row of this file (the same feature "
        "columns)."))] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", callback=check_output_file, help=(
        "With --score or --score-as-of: write id, uplift and rank per row to this .csv or "
        ".parquet."))] = None,
    figure: FigureOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Whom to target next time: an uplift model and its Qini curve against random.

    Fits the model on a randomised campaign, shows the observed uplift per group of
    predicted uplift (out of fold) and the Qini coefficient against random rankings of
    the same customers, and scores other customers (--score). With --campaign the outcome
    is measured on the workspace after each customer's day and the features are built
    from the workspace as it was before it."""
    from cvm.campaign.facade import CampaignFacade

    _table_or_campaign(table, campaign)
    if table is not None:
        if arm is None or control is None or outcome is None:
            raise InputError("--table needs --arm COLUMN, --control VALUE and --outcome "
                             "COLUMN")
        if score_as_of is not None:
            raise InputError("--score-as-of goes with --campaign; with --table score a file "
                             "with --score FILE")
        given = score
    else:
        if score is not None or id is not None:
            raise InputError("--score and --id go with --table; with --campaign score the "
                             "workspace's customers with --score-as-of DAY")
        given = score_as_of
    if (given is None) != (out is None):
        raise InputError("--score FILE (or --score-as-of DAY) and --out FILE go together: "
                         "the scores are written to --out")
    if table is not None:
        model, scored = CampaignFacade.uplift_table(table, arm, control, outcome, feature,
                                                    treated, id, method, learner, folds,
                                                    groups, seed, score)
    else:
        outcome = outcome or "purchase"
        model, scored = open_workspace(workspace).campaign.uplift(
            campaign, outcome, window_days, control if control is not None else "control",
            treated, features_from, feature, customer, arm or "arm", date, method, learner,
            folds, groups, seed, score_as_of)
    if figure is not None:
        from cvm.campaign.figures import qini_figure

        write_figure(qini_figure(model.qini_, title=f"Qini curve: {model.arm_} against "
                                 f"{model.control_} on {outcome}"), figure)
    if scored is not None:
        write_table(scored, out)
    if fmt is Format.json:
        doc = model.to_dict()
        doc.update(arm=model.arm_, control=model.control_, excluded=model.excluded_,
                   scores=str(out) if out is not None else None)
        emit_json(doc)
        return
    table = model.summary()
    if fmt is Format.table:
        table = table[["term", "estimate", "ci_low", "ci_high", "n", "control_n",
                       "predicted"]]
    emit(table, fmt, None,
         title=f"observed uplift of {model.arm_} by predicted uplift (out of fold)")
    _note(f"Qini coefficient {model.qini_coefficient_:.4g}; random rankings of the same "
          f"customers reach {model.random_qini_:.4g} one time in 20 (p = "
          f"{model.qini_p_value_:.3g}). Features: {', '.join(map(str, model.features_))}.",
          fmt)
    for col, why in model.excluded_.items():
        _note(f"left out {col}: {why}", fmt)
    if scored is not None:
        _note(f"wrote {len(scored):,} scores to {out}", fmt)

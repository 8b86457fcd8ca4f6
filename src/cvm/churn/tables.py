"""The likelihood to cancel and survival on a table file, without a workspace.

What ``cvm churn fit|score|survival --table FILE`` run: read the file as text
(`cvm.churn.read_snapshot`), then fit and save a `ChurnModel`, score rows with a saved one,
or estimate Kaplan-Meier survival of a tenure column by group.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cvm.churn.choices import DEFAULT_MODEL_FILE
from cvm.churn.snapshot import MissingValues, encode_label, read_snapshot
from cvm.churn.survival import SurvivalCurves, kaplan_meier, logrank
from cvm.churn.training import LEAK_AUC, ChurnModel
from cvm.errors import InputError

__all__ = ["fit_table", "score_table", "survival_table"]


def fit_table(path: str | Path, label: str, id: str, positive: str | None = None,
              folds: int = 5, random_state: int = 0, leak_auc: float = LEAK_AUC,
              save: str | Path | None = DEFAULT_MODEL_FILE,
              report: str | Path | None = None) -> ChurnModel:
    """Fit a `ChurnModel` on the snapshot table in ``path`` and save it to ``save`` (None:
    not saved); ``report`` also writes its out-of-fold gains and calibration charts
    (`cvm.churn.report.model_report`)."""
    model = ChurnModel(label=label, id=id, positive=positive, folds=folds,
                       random_state=random_state, leak_auc=leak_auc).fit(read_snapshot(path))
    if save is not None:
        model.save(save)
    if report is not None:
        from cvm.churn.report import model_report

        model_report(model, report)
    return model


def score_table(path: str | Path, model: str | Path | ChurnModel = DEFAULT_MODEL_FILE,
                reasons: int = 3, n_jobs: int | None = 1
                ) -> tuple[pd.DataFrame, list[MissingValues]]:
    """Each row's ``churn_probability`` and top ``reasons`` (`ChurnModel.score`) from the
    model saved in ``model`` (or given), with the blank or unparsable numeric cells."""
    if not isinstance(model, ChurnModel):
        model = ChurnModel.load(model)
    return model.score(read_snapshot(path), reasons=reasons, n_jobs=n_jobs)


def survival_table(path: str | Path, duration: str, event: str, group: str | None = None,
                   positive: str | None = None, horizon: float | None = None,
                   figure: str | Path | None = None) -> tuple[SurvivalCurves, dict | None]:
    """Kaplan-Meier survival of the tenure column ``duration`` by ``group`` (one row per
    customer or contract; ``event`` says who left, its value ``positive`` or inferred), with
    the log-rank test between the groups (None without ``group``); ``figure`` also writes
    the curves to that page."""
    df = read_snapshot(path)
    for name, what in ((duration, "duration"), (event, "event"), (group, "group")):
        if name is not None and name not in df.columns:
            raise InputError(f"--{what} {name!r} is not a column of {path}; columns: "
                             f"{', '.join(df.columns)}")
    y, _pos = encode_label(df[event], event, positive)
    data = pd.DataFrame({"tenure": pd.to_numeric(df[duration].str.strip(), errors="coerce"),
                         "churned": y})
    if group is not None:
        data["group"] = df[group].str.strip()
    res = kaplan_meier(data, group="group" if group else None, horizon=horizon)
    test = logrank(data, "group") if group is not None else None
    if figure is not None:
        from cvm.churn.figures import survival_figure

        who = f"by {group}" if group else "all customers"
        survival_figure(res.curves, title=f"Survival of {duration}, {who} ({Path(path).name})"
                        ).write_html(figure, include_plotlyjs=True)
    return res, test

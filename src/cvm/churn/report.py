"""HTML reports of the churn model and the retention views: Plotly charts in one file.

Every report is a self-contained page: the first chart carries Plotly's JavaScript, the
others reuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from cvm.churn.retention import SurvivalView
    from cvm.churn.training import ChurnModel

__all__ = ["write_page", "model_report", "retention_report", "cohort_heatmap_file"]


def write_page(figures: list, title: str, path: str | Path) -> Path:
    """Write ``figures`` (Plotly) one below the other to the page ``path`` titled ``title``."""
    path = Path(path)
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0))
             for i, f in enumerate(figures)]
    path.write_text(f"<html><head><meta charset='utf-8'><title>{title}</title></head>"
                    "<body>" + "".join(parts) + "</body></html>", encoding="utf-8")
    return path


def model_report(model: ChurnModel, path: str | Path) -> Path:
    """The cross-validated cumulative gains and calibration (10 equal-width bins, as the
    ECE) of the model and the baseline, from the out-of-fold probabilities of a model
    fitted in this session (``model.oof_``; a loaded model has none)."""
    from cvm.churn.figures import calibration_figure, gains_figure
    from cvm.errors import InputError

    if model.oof_ is None:
        raise InputError("the model's out-of-fold predictions are not kept in the model file;"
                         " write the report when fitting it")
    y = model.oof_["churned"].to_numpy()
    probs = {"model": model.oof_["model"].to_numpy(),
             "baseline": model.oof_["baseline"].to_numpy()}
    figs = [gains_figure(y, probs, title="Cumulative gains (out-of-fold)"),
            calibration_figure(y, probs, title="Calibration (out-of-fold, ECE bins)")]
    return write_page(figs, "cvm churn model", path)


def _heatmap(cohorts: pa.Table):
    from cvm.churn.figures import cohort_heatmap

    return cohort_heatmap(cohorts.to_pandas(), "rate", title="Retention by start cohort")


def cohort_heatmap_file(cohorts: pa.Table, path: str | Path) -> Path:
    """The cohort retention rates (`cvm.churn.retention.cohort_table`) as a heatmap page."""
    path = Path(path)
    _heatmap(cohorts).write_html(path, include_plotlyjs=True)
    return path


def retention_report(tables: dict, survival: SurvivalView | None, by: str | None,
                     path: str | Path) -> Path:
    """Every retention view as charts: the cohort heatmap, the survival curves (when
    built), the retention rates, and churned customers and revenue lost (12 months before
    leaving) by reason per period (when there are any)."""
    import pandas as pd

    from cvm.churn.figures import rates_figure, reasons_figure, survival_figure

    figs = [_heatmap(tables["cohorts"])]
    if survival is not None:
        figs.append(survival_figure(survival.curves, title=f"Survival of tenure "
                                    f"({survival.unit}), " + (f"by {by}" if by else
                                                              "all customers")))
    if "rates" in tables:
        figs.append(rates_figure(tables["rates"].to_pandas()))
    by_period = (tables["reasons_by_period"].to_pandas() if "reasons_by_period" in tables
                 else pd.DataFrame())
    if not by_period.empty:
        figs.append(reasons_figure(by_period, "churned", title="Churned customers by reason"))
        figs.append(reasons_figure(by_period, "revenue_lost",
                                   title="Revenue lost by reason (12 months before leaving)"))
    return write_page(figs, "cvm retention", path)

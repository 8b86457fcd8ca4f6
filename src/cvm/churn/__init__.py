"""Retention and churn: likelihood to cancel, survival of tenure, and churn reasons.

The way in on a workspace is ``ws.churn`` (`cvm.churn.facade.ChurnFacade`). The names below
load on first use (PEP 562), so that importing a light module of the package, such as
`cvm.churn.choices`, does not load LightGBM, scikit-learn and lifelines. Figures are in
`cvm.churn.figures` (it loads Plotly).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvm.churn.classifier import (
        ChurnClassifier,
        cross_validate,
        logistic_baseline,
        single_column_auc,
    )
    from cvm.churn.features import churn_features, churn_labels, training_table
    from cvm.churn.metrics import (
        calibration_bins,
        churn_metrics,
        expected_calibration_error,
        gains_curve,
        top_fraction_lift,
    )
    from cvm.churn.reasons import CHURN_RESPONSES, ChurnResponse, map_reason_codes
    from cvm.churn.snapshot import DataReport, MissingValues, SnapshotSchema, read_snapshot
    from cvm.churn.survival import SurvivalCurves, contract_tenure, cox, kaplan_meier, logrank
    from cvm.churn.training import ChurnModel, fit_snapshot

_HOMES = {
    "classifier": ("ChurnClassifier", "cross_validate", "logistic_baseline",
                   "single_column_auc"),
    "features": ("churn_features", "churn_labels", "training_table"),
    "metrics": ("calibration_bins", "churn_metrics", "expected_calibration_error",
                "gains_curve", "top_fraction_lift"),
    "reasons": ("CHURN_RESPONSES", "ChurnResponse", "map_reason_codes"),
    "snapshot": ("DataReport", "MissingValues", "SnapshotSchema", "read_snapshot"),
    "survival": ("SurvivalCurves", "contract_tenure", "cox", "kaplan_meier", "logrank"),
    "training": ("ChurnModel", "fit_snapshot"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
_SUBMODULES = {"choices", "churned", "classifier", "cohorts", "facade", "features", "figures",
               "history", "metrics", "reasons", "report", "retention", "snapshot", "survival",
               "tables", "training", "views"}

__all__ = [
    "CHURN_RESPONSES",
    "ChurnClassifier",
    "ChurnModel",
    "ChurnResponse",
    "DataReport",
    "MissingValues",
    "SnapshotSchema",
    "SurvivalCurves",
    "calibration_bins",
    "churn_features",
    "churn_labels",
    "churn_metrics",
    "contract_tenure",
    "cox",
    "cross_validate",
    "expected_calibration_error",
    "fit_snapshot",
    "gains_curve",
    "kaplan_meier",
    "logistic_baseline",
    "logrank",
    "map_reason_codes",
    "read_snapshot",
    "single_column_auc",
    "top_fraction_lift",
    "training_table",
]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f"cvm.churn.{_MODULE_OF[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"cvm.churn.{name}")
    else:
        raise AttributeError(f"module 'cvm.churn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})

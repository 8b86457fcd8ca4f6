"""Retention and churn: likelihood to cancel, survival of tenure, and churn reasons.

Figures are in `cvm.churn.figures` (imported on demand: it loads Plotly).
"""

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

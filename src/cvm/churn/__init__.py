"""Retention and churn: likelihood to cancel, survival of tenure, and churn reasons."""

from cvm.churn.classifier import (
    ChurnClassifier,
    cross_validate,
    logistic_baseline,
    single_column_auc,
)
from cvm.churn.metrics import churn_metrics, expected_calibration_error, top_fraction_lift
from cvm.churn.snapshot import DataReport, MissingValues, SnapshotSchema, read_snapshot
from cvm.churn.training import ChurnModel, fit_snapshot

__all__ = [
    "ChurnClassifier",
    "ChurnModel",
    "DataReport",
    "MissingValues",
    "SnapshotSchema",
    "churn_metrics",
    "cross_validate",
    "expected_calibration_error",
    "fit_snapshot",
    "logistic_baseline",
    "read_snapshot",
    "single_column_auc",
    "top_fraction_lift",
]

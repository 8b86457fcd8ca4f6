"""Named choices and defaults of the churn entry points, kept light so that option lists (e.g.
the command line's) are built from them without loading the models."""

from __future__ import annotations

__all__ = ["DEFAULT_MODEL_FILE", "GROUPINGS", "PERIODS", "VIEWS"]

#: What a retention view's ``by`` may name (see `cvm.churn.retention.customer_groups`).
GROUPINGS = ("relationship_type", "segment", "region", "tier", "plan")
#: Lengths of a retention period and of a cohort.
PERIODS = ("month", "quarter", "year")
#: The retention views `cvm.churn.views.retention_views` builds, in the order shown.
VIEWS = ("rates", "cohorts", "survival", "reasons", "reasons_by_period")
#: Where a model fitted on a snapshot table is saved and read by default (current folder).
DEFAULT_MODEL_FILE = "churn-model.joblib"

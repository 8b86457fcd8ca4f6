"""What a lifetime-model fit reports: the fitted estimator and the details beside its parameters.

`cvm clv fit` prints a `FitReport` as a parameter table or as JSON; the same object comes back
from ``ws.clv.fit_report`` (on a workspace) and ``ClvFacade.fit_summary`` (on a summary file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cvm.clv._base import MaximumLikelihoodModel

__all__ = ["FitReport"]


@dataclass
class FitReport:
    """A fitted model under cvm's name for it, with what was found beside the parameters.

    Attributes
    ----------
    model : str
        cvm's name of the model (bgnbd, paretonbd, mbgnbd, bgbb, gammagamma, sbg).
    estimator : MaximumLikelihoodModel
        The fitted estimator (``BetaGeoCovariateModel`` etc. when fitted with covariates).
    details : dict
        Model-specific findings, in the order reported: for sbg ``cohort``,
        ``calibration_periods`` and the ``projection`` of the later periods; for gammagamma
        ``customers_without_repeat_purchases_skipped``; on a workspace ``holdout`` (totals)
        and ``holdout_by_frequency`` (a DataFrame), None without a hold-out.
    unit : str or None
        Time unit of recency and T on a workspace (None for a summary file).
    """

    model: str
    estimator: MaximumLikelihoodModel
    details: dict[str, Any] = field(default_factory=dict)
    unit: str | None = None

    def parameters(self, level: float = 0.95) -> pd.DataFrame:
        """The estimator's summary with the parameter names as a first column."""
        return self.estimator.summary(level).reset_index(names="parameter")

    def to_dict(self) -> dict[str, Any]:
        """cvm's model name, the estimator's `to_dict` fields, then the details (DataFrames as
        lists of records); NaN stays NaN (`cvm._json` writes it as null)."""
        d = self.estimator.to_dict()
        out = {"model": self.model, "estimator": d.pop("model"), **d}
        for key, value in self.details.items():
            out[key] = value.to_dict("records") if isinstance(value, pd.DataFrame) else value
        return out

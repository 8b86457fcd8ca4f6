"""``ws.clv``: lifetime value on a workspace: fit, check on a hold-out, score every customer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from cvm.clv import workspace as _ws_models

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["ClvFacade"]


class ClvFacade:
    """Purchase and spend models fitted on the workspace's transactions."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    def fit(self, model: str = "bgnbd", calibration_end: dt.date | None = None,
            unit: str | None = None):
        """A purchase model fitted on the repeat-purchase summary up to ``calibration_end``."""
        return _ws_models.fit_purchase_model(self._ws, model, calibration_end, unit)

    def holdout(self, model: str, calibration_end: dt.date, holdout_end: dt.date | None = None,
                unit: str | None = None) -> tuple[Any, dict[str, float], pd.DataFrame]:
        """Fit on the calibration period; compare predicted with actual hold-out purchases."""
        return _ws_models.holdout_check(self._ws, model, calibration_end, holdout_end, unit)

    def score(self, model: str = "bgnbd", margin: float = 1.0, unit: str | None = None,
              save: bool = True) -> pa.Table:
        """P(alive), expected purchases and spend, and discounted CLV for every customer."""
        return _ws_models.score_workspace(self._ws, model, margin, unit, save)

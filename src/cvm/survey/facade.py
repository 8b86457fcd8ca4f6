"""``ws.survey``: satisfaction and loyalty on a workspace's survey answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cvm.survey import outcomes as _outcomes
from cvm.survey import workspace as _ws_survey

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["SurveyFacade"]


class SurveyFacade:
    """NPS, the satisfaction index, key drivers, says vs does, loyalty classes and levels."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    def nps(self, by: str | None = None, *, survey: str | None = None, item: str | None = None,
            month: bool = False, confidence: float = 0.95,
            min_n: int | None = None) -> pd.DataFrame:
        """NPS overall, per group of ``by``, per month, or both, with intervals."""
        return _ws_survey.workspace_nps(self._ws, survey, item, by, month,
                                        confidence=confidence, min_n=min_n)

    def index(self, survey: str | None = None, model=None, **options):
        """The satisfaction index (`PLSPathModel`) fitted on a workspace survey."""
        return _ws_survey.workspace_index(self._ws, survey, model, **options)

    def drivers(self, survey: str | None = None, outcome: str | None = None,
                drivers: list[str] | None = None, **options) -> pd.DataFrame:
        """Key drivers of an outcome item."""
        return _ws_survey.workspace_drivers(self._ws, survey, outcome, drivers, **options)

    def says_vs_does(self, survey: str | None = None, by: str = "nps",
                     item: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Behaviour after the answer per NPS class or satisfaction quintile."""
        return _outcomes.workspace_says_vs_does(self._ws, survey, by, item, confidence)

    def classes(self, survey: str | None = None, *, recommend=None, repurchase=None,
                switch=None, save: bool = False) -> pd.DataFrame:
        """Loyal / general / drifting per respondent."""
        return _outcomes.workspace_loyalty_classes(self._ws, survey, recommend=recommend,
                                                   repurchase=repurchase, switch=switch,
                                                   save=save)

    def levels(self, survey: str | None = None) -> pd.DataFrame:
        """Oliver's four loyalty levels per respondent."""
        return _outcomes.workspace_loyalty_levels(self._ws, survey)

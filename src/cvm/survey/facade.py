"""``ws.survey``: satisfaction and loyalty on a workspace's survey answers.

The one way in for the CLI, the API and notebooks: each method reads the survey (the only one
defined unless ``survey`` names it) from ``survey_items`` and ``survey_responses``, joins
customers and behaviour where it needs them, and returns a pandas table (the per-respondent
and per-group tables are small), a fitted `PLSPathModel`, or, for the per-customer
indicators, an Arrow table.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from cvm._dates import as_date
from cvm.survey.answers import survey_definition
from cvm.survey.drivers import workspace_drivers
from cvm.survey.indicators import customer_indicators
from cvm.survey.nps import nps_compare
from cvm.survey.nps_groups import workspace_nps
from cvm.survey.outcomes import (
    class_summary,
    workspace_loyalty_classes,
    workspace_loyalty_levels,
    workspace_says_vs_does,
)
from cvm.survey.satisfaction_index import index_scores_table, workspace_index

if TYPE_CHECKING:
    from cvm.survey.pls import PathModel, PLSPathModel
    from cvm.workspace import Workspace

__all__ = ["SurveyFacade"]


class SurveyFacade:
    """NPS, the satisfaction index, key drivers, says vs does, loyalty classes and levels."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    def definition(self, survey: str | None = None) -> pd.DataFrame:
        """The items of a survey: item, construct, scale_min, scale_max, label."""
        return survey_definition(self._ws, survey)

    def nps(self, by: str | None = None, *, survey: str | None = None, item: str | None = None,
            month: bool = False, confidence: float = 0.95,
            min_n: int | None = None) -> pd.DataFrame:
        """NPS overall, per group of ``by``, per month, or both, with intervals.

        ``by``: a customer attribute, ``tier`` or ``touchpoint`` (`cvm.survey.nps_groups`);
        ``month``: per calendar month of the answers, each tested against the month before.
        Groups below ``min_n`` answers (default ``survey.nps_min_sample``) are flagged and
        warned about (`SmallSampleWarning`).
        """
        return workspace_nps(self._ws, survey, item, by, month, confidence=confidence,
                             min_n=min_n)

    def nps_compare(self, a: str, b: str, *, by: str | None = None, month: bool = False,
                    survey: str | None = None, item: str | None = None,
                    min_n: int | None = None) -> dict[str, Any]:
        """z test of NPS(a) - NPS(b) between two groups of ``by`` or two months (YYYY-MM).

        Returns a, b, nps_a, nps_b, n_a, n_b, difference, se, z, p_value.
        """
        table = self.nps(by, survey=survey, item=item, month=month, min_n=min_n)
        return nps_compare(table, a, b)

    def index(self, survey: str | None = None, model: PathModel | str | None = None, *,
              save: bool = False, **options: Any) -> PLSPathModel:
        """The satisfaction index (`PLSPathModel`) fitted on a workspace survey.

        ``model``: None (the built-in seven-factor model on the survey's constructs), a
        `PathModel`, a parsed TOML mapping or a model file (blocks and scale may be left out:
        they come from survey_items); ``options`` go to `PLSPathModel` (scheme, standardize,
        n_bootstrap, random_state, drop_incomplete). ``save=True`` stores each respondent's
        0-100 construct scores (``fit.n_`` rows) as the result ``satisfaction_index``.
        """
        fit, wide = workspace_index(self._ws, survey, model, **options)
        if save:
            self._ws.save_result("satisfaction_index", index_scores_table(fit, wide),
                                 note=f"survey {wide.attrs['survey']}")
        return fit

    def drivers(self, survey: str | None = None, outcome: str | None = None,
                drivers: list[str] | None = None, **options: Any) -> pd.DataFrame:
        """Key drivers of an outcome item (default the NPS item; drivers default to every
        other item, each rescaled from its own scale); ``options`` go to `key_drivers`
        (method, min_answers, n_bootstrap, random_state). ``attrs``: survey, outcome, r2, n."""
        return workspace_drivers(self._ws, survey, outcome, drivers, **options)

    def says_vs_does(self, survey: str | None = None, by: str = "nps",
                     item: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Behaviour after the answer per NPS class or satisfaction quintile."""
        return workspace_says_vs_does(self._ws, survey, by, item, confidence)

    def classes(self, survey: str | None = None, *, recommend: list[str] | None = None,
                repurchase: list[str] | None = None, use_more: list[str] | None = None,
                switch: list[str] | None = None, save: bool = False,
                summary: bool = False) -> pd.DataFrame:
        """Loyal / general / drifting per respondent, by stated intention (source 000) and
        checked against behaviour; see `cvm.survey.classes`.

        ``save=True`` stores the per-respondent table as the result ``loyalty_classes``;
        ``summary=True`` returns the per-class summary (`class_summary`) instead. Either way
        ``attrs`` holds survey and respondents (the rows stored).
        """
        classes = workspace_loyalty_classes(self._ws, survey, recommend=recommend,
                                            repurchase=repurchase, use_more=use_more,
                                            switch=switch, save=save)
        name = classes["survey"].iloc[0] if len(classes) else survey
        out = class_summary(classes) if summary else classes
        out.attrs.update(survey=name, respondents=len(classes))
        return out

    def levels(self, survey: str | None = None) -> pd.DataFrame:
        """Oliver's four loyalty levels per respondent."""
        return workspace_loyalty_levels(self._ws, survey)

    def indicators(self, as_of: dt.date | str | None = None) -> pa.Table:
        """Behavioural loyalty indicators per buying customer (`cvm.survey.indicators`), as
        of ``as_of`` (a date or YYYY-MM-DD; default the latest transaction's day)."""
        day = None if as_of is None else as_date(as_of, "as_of")
        return customer_indicators(self._ws, day).to_pyarrow()

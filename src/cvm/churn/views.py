"""The retention views of a workspace built together, as ``cvm retention`` shows them.

`retention_views` decides which of `cvm.churn.retention`'s tables to build (the ones asked
for, those a chart needs, none that need contracts when the workspace has none and all were
asked for) and writes the heatmap and report pages on request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from cvm.churn import report as _report
from cvm.churn import retention as _retention
from cvm.churn.choices import VIEWS
from cvm.errors import InputError

__all__ = ["RetentionViews", "retention_views", "NEED_CONTRACTS"]

#: Views that measure tenure or reasons of ended contracts: buyers alone have neither.
NEED_CONTRACTS = ("survival", "reasons", "reasons_by_period")


@dataclass
class RetentionViews:
    """The views built at ``as_of``: ``views`` those asked for (in `VIEWS` order),
    ``skipped`` those left out for lack of contracts, ``tables`` every table built (by view
    name; a chart may have needed one not asked for) and ``survival`` the
    `cvm.churn.retention.SurvivalView` when built."""

    as_of: dt.date
    period: str
    by: str | None
    views: list[str]
    skipped: list[str] = field(default_factory=list)
    tables: dict[str, pa.Table | pd.DataFrame] = field(default_factory=dict)
    survival: _retention.SurvivalView | None = None

    def to_dict(self) -> dict[str, Any]:
        """``as_of``, ``period``, ``by`` and, per view asked for, its rows (a list of
        records) or, for survival, ``unit``, ``horizon``, ``groups``, ``logrank``,
        ``hazard_ratio_reference`` and ``note``."""
        doc: dict[str, Any] = {"as_of": self.as_of.isoformat(), "period": self.period,
                               "by": self.by}
        for name in self.views:
            if name == "survival":
                s = self.survival
                doc[name] = {"unit": s.unit, "horizon": s.horizon,
                             "groups": s.summary.to_dict("records"), "logrank": s.logrank,
                             "hazard_ratio_reference": s.reference, "note": s.note}
            else:
                table = self.tables[name]
                if not isinstance(table, pa.Table):
                    table = pa.Table.from_pandas(table, preserve_index=False)
                doc[name] = table.to_pylist()
        return doc

    def cohort_matrix(self, value: str = "rate", max_k: int | None = None) -> pa.Table:
        """The cohort table as a matrix (`cvm.churn.retention.cohort_matrix`)."""
        return _retention.cohort_matrix(self.tables["cohorts"], value, max_k)


def retention_views(ws, views: str | Sequence[str] = "all", period: str = "month",
                    by: str | None = None, as_of=None, unit: str = "months",
                    heatmap: str | Path | None = None,
                    report: str | Path | None = None) -> RetentionViews:
    """Build the retention views ``views`` ("all", or names from `VIEWS`) of ``ws``.

    With "all" and no contracts in the workspace, the views in `NEED_CONTRACTS` are
    skipped (and listed in ``skipped``) instead of failing. ``heatmap`` writes the cohort
    heatmap page and ``report`` every view as charts
    (`cvm.churn.report.retention_report`); both build the tables they need.
    """
    if views == "all":
        want = list(VIEWS)
    else:
        want = [views] if isinstance(views, str) else list(views)
        unknown = [v for v in want if v not in VIEWS]
        if unknown:
            raise InputError(f"views must be 'all' or among {', '.join(VIEWS)}, got "
                             f"{', '.join(map(repr, unknown))}")
        want = [v for v in VIEWS if v in want]
    day = _retention.as_of_date(ws, as_of)
    out = RetentionViews(day, period, by, want)
    if views == "all" and not ws.has_rows("contracts"):
        out.skipped = list(NEED_CONTRACTS)
        out.views = want = [v for v in want if v not in NEED_CONTRACTS]
    charts = report is not None and not out.skipped
    tables = out.tables
    if "rates" in want:
        tables["rates"] = _retention.retention_rates(ws, period, by, day)
    if "cohorts" in want or heatmap is not None or report is not None:
        tables["cohorts"] = _retention.cohort_table(ws, period, day)
    if "survival" in want or charts:
        out.survival = _retention.survival_by(ws, by, day, unit)
        tables["survival"] = out.survival.summary
    if "reasons" in want or "reasons_by_period" in want or charts:
        rs = _retention.churn_reasons(ws, period, day)
        tables["reasons"], tables["reasons_by_period"] = rs.summary, rs.by_period
    if heatmap is not None:
        _report.cohort_heatmap_file(tables["cohorts"], heatmap)
    if report is not None:
        _report.retention_report(tables, out.survival, by, report)
    return out

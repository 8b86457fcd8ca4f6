"""``ws.value``: customer value on a workspace, as Arrow tables (or Ibis expressions to compose).

Every method measures over the value window: ``value.window_months`` months ending ``until``
(default: the latest transaction's day).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cvm.errors import WorkspaceError
from cvm.value.customer_value import (
    ValueWindow,
    assign_tiers,
    breakdown,
    concentration,
    customer_values,
    tier_summary,
)
from cvm.value.rfm import repeat_purchase_summary, rfm_scores

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["ValueFacade"]


class ValueFacade:
    """Value tiers, RFM, concentration, breakdowns and the repeat-purchase summary."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    def window(self, until: dt.date | None = None) -> ValueWindow:
        """The window value is measured over: ``value.window_months`` ending ``until``."""
        end = until or self._ws.latest_day()
        if end is None:
            raise WorkspaceError(f"{self._ws.path}: no transactions imported yet; import some "
                                 "with `cvm import transactions FILE`")
        return ValueWindow.ending(end, self._ws.settings.value.window_months)

    def summary(self, calibration_end: dt.date | None = None,
                unit: str | None = None) -> pa.Table:
        """Per-customer repeat-purchase summary (frequency, recency, T, monetary_value)."""
        ws = self._ws
        expr = repeat_purchase_summary(ws.table("transactions"),
                                       calibration_end or ws.latest_day(),
                                       unit or ws.settings.time_unit)
        return expr.order_by("customer_id").to_pyarrow()

    def customer_values(self, until: dt.date | None = None):
        """Ibis table of revenue, costs and profit per customer over the value window."""
        ws = self._ws
        customers = ws.table("customers") if ws.has_rows("customers") else None
        return customer_values(customers, ws.table("transactions"), ws.table("interactions"),
                               ws.settings, self.window(until))

    def customer_tiers(self, until: dt.date | None = None):
        """Ibis table of per-customer values with rank and Pareto tier."""
        return assign_tiers(self.customer_values(until), self._ws.settings)

    def tiers(self, until: dt.date | None = None, customers: bool = False) -> pa.Table:
        """Per tier: customers, revenue, profit and shares (VIP, major, ordinary, small);
        with ``customers=True`` one row per customer (rank, tier, revenue, profit)."""
        if customers:
            return self.customer_tiers(until).order_by("rank").to_pyarrow()
        return tier_summary(self.customer_tiers(until)).to_pyarrow()

    def rfm(self, until: dt.date | None = None) -> pa.Table:
        """RFM quintile scores and named segments of the customers active in the window."""
        w = self.window(until)
        return rfm_scores(self._ws.table("transactions"), w.start, w.end).order_by(
            "customer_id").to_pyarrow()

    def rfm_segments(self, until: dt.date | None = None) -> pa.Table:
        """Customers and revenue per named RFM segment, largest first."""
        return self.rfm(until).group_by("segment").aggregate(
            [("customer_id", "count"), ("monetary", "sum")]).rename_columns(
            ["segment", "customers", "revenue"]).sort_by(
            [("customers", "descending"), ("segment", "ascending")])

    def concentration(self, until: dt.date | None = None,
                      measure: str = "revenue") -> tuple[dict[str, Any], pa.Table]:
        """(statistics: top shares and Gini, Lorenz curve points as an Arrow table)."""
        values = self.customer_values(until)
        n = int(values.count().to_pyarrow().as_py())
        stats, lorenz = concentration(values, n, measure)
        return stats, lorenz.to_pyarrow()

    def breakdown(self, by: str, until: dt.date | None = None) -> pa.Table:
        """Customer value = customers x mean value, per group of a customer or sales field."""
        ws = self._ws
        values = self.customer_tiers(until) if by == "tier" else self.customer_values(until)
        return breakdown(values, ws.table("customers"), ws.table("transactions"), by,
                         self.window(until)).to_pyarrow()

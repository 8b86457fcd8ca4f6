"""Figures of customer value a manager reads: the tiers, the Pareto (Lorenz) curve, the RFM
grid. Each takes the table the matching `ValueFacade` method returns and gives a Plotly
figure (imported on demand: Plotly is heavy)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

__all__ = ["lorenz_figure", "rfm_figure", "tiers_figure"]


def tiers_figure(tiers: pa.Table, title: str = "Value tiers") -> go.Figure:
    """Share of customers and share of revenue per tier, side by side (`ValueFacade.tiers`)."""
    rows = tiers.to_pylist()
    names = [r["tier"] for r in rows]
    fig = go.Figure([
        go.Bar(name="share of customers", x=names, y=[r["customer_share"] for r in rows]),
        go.Bar(name="share of revenue", x=names, y=[r["revenue_share"] for r in rows]),
    ])
    fig.update_layout(title=title, barmode="group", yaxis_tickformat=".0%",
                      xaxis_title="tier", yaxis_title="share")
    return fig


def lorenz_figure(lorenz: pa.Table, stats: dict, title: str = "Revenue concentration"
                  ) -> go.Figure:
    """The Pareto view of the Lorenz curve: the share of revenue the top x% of customers
    bring, with the line of equal shares (`ValueFacade.concentration`)."""
    x = np.asarray(lorenz.column("customer_share").to_pylist(), dtype=float)
    y = np.asarray(lorenz.column("value_share").to_pylist(), dtype=float)
    top_x, top_y = 1.0 - x[::-1], 1.0 - y[::-1]  # bottom k -> top n - k
    fig = go.Figure([
        go.Scatter(x=top_x, y=top_y, mode="lines", name="top customers"),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal shares",
                   line={"dash": "dot"}),
    ])
    gini = stats.get("gini")
    subtitle = f"Gini {gini:.3f}" if gini is not None and gini == gini else "Gini n/a"
    fig.update_layout(title=f"{title} ({subtitle})", xaxis_tickformat=".0%",
                      yaxis_tickformat=".0%", xaxis_title="top share of customers",
                      yaxis_title="share of revenue")
    return fig


def rfm_figure(rfm: pa.Table, title: str = "Customers on the RFM grid") -> go.Figure:
    """Customers per recency (R) and frequency (F) score, 5 = best (`ValueFacade.rfm`)."""
    counts = np.zeros((5, 5), dtype=int)
    for r, f in zip(rfm.column("r").to_pylist(), rfm.column("f").to_pylist(), strict=True):
        counts[r - 1, f - 1] += 1
    fig = go.Figure(go.Heatmap(z=counts, x=[1, 2, 3, 4, 5], y=[1, 2, 3, 4, 5],
                               text=counts, texttemplate="%{text}", colorscale="Blues"))
    fig.update_layout(title=title, xaxis_title="frequency score (F)",
                      yaxis_title="recency score (R)")
    return fig

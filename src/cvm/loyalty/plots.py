"""Plotly figures of survey results: the importance-performance map."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["importance_performance_figure"]


def importance_performance_figure(table: pd.DataFrame, label: str | None = None,
                                  title: str = "Importance-performance map") -> go.Figure:
    """Scatter of importance (x) against performance (y, 0-100) with the quadrant lines.

    ``table`` is the output of `cvm.loyalty.drivers.ipma` (label column ``construct``) or of
    `key_drivers` (label column ``driver``; flagged drivers are left out). The dashed lines
    are at the mean importance and mean performance; improve first what is important and
    performs below average (bottom right).
    """
    label = label or ("construct" if "construct" in table.columns else "driver")
    shown = table.dropna(subset=["importance", "performance"])
    x_mid = float(shown["importance"].mean())
    y_mid = float(shown["performance"].mean())
    fig = go.Figure(go.Scatter(
        x=shown["importance"], y=shown["performance"], mode="markers+text",
        text=shown[label], textposition="top center", name=label,
        hovertemplate="%{text}<br>importance %{x:.3f}<br>performance %{y:.1f}<extra></extra>"))
    fig.add_vline(x=x_mid, line_dash="dash", line_color="grey")
    fig.add_hline(y=y_mid, line_dash="dash", line_color="grey")
    fig.add_annotation(x=shown["importance"].max(), y=shown["performance"].min(),
                       text="concentrate here", showarrow=False, xanchor="right",
                       yanchor="bottom", font={"color": "firebrick"})
    fig.update_layout(title=title, xaxis_title="importance", yaxis_title="performance (0-100)",
                      template="plotly_white")
    return fig

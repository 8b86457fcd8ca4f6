"""The report's figures: Plotly figures built in Python from the month's stored results and
the workspace as of the month's end, every label through `cvm.i18n` (``t``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["tiers_figure", "pareto_figure", "clv_figure", "nps_segments_figure",
           "nps_trend_figure", "cohorts_figure", "compliance_figure",
           "opportunities_figure", "TIER_NAMES"]

T = Callable[..., str]
#: Tier names in English as the CLI prints them; the catalogue gives the Chinese.
TIER_NAMES = {"vip": "VIP", "major": "major", "ordinary": "ordinary", "small": "small"}
_LAYOUT = {"height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
           "paper_bgcolor": "white", "plot_bgcolor": "white",
           "legend": {"orientation": "h", "y": -0.2}}


def _fig(traces, t: T, title: str, **layout) -> go.Figure:
    fig = go.Figure(traces)
    fig.update_layout(title=t(title), **{**_LAYOUT, **layout})
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def tiers_figure(tiers: pd.DataFrame, t: T) -> go.Figure:
    """Share of customers and of revenue per value tier (`ValueFacade.tiers`)."""
    names = [t(TIER_NAMES.get(x, x)) for x in tiers["tier"]]
    return _fig([go.Bar(name=t("Customers (share)"), x=names, y=tiers["customer_share"]),
                 go.Bar(name=t("Revenue (share)"), x=names, y=tiers["revenue_share"])],
                t, "Value tiers", barmode="group", yaxis_tickformat=".0%")


def pareto_figure(revenue: np.ndarray, t: T) -> go.Figure:
    """The share of revenue the top x% of customers bring (customers by revenue, highest
    first), against the line of equal shares."""
    r = np.sort(np.asarray(revenue, float))[::-1]
    total = r.sum()
    x = np.r_[0.0, np.arange(1, r.size + 1) / max(r.size, 1)]
    y = np.r_[0.0, np.cumsum(r) / total] if total else np.zeros_like(x)
    keep = np.unique(np.linspace(0, x.size - 1, min(x.size, 400)).astype(int))
    return _fig([go.Scatter(x=x[keep], y=y[keep], mode="lines", name=t("Top customers")),
                 go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=t("Line of equality"),
                            line={"dash": "dot"})],
                t, "Pareto curve of revenue", xaxis_tickformat=".0%", yaxis_tickformat=".0%",
                xaxis_title=t("Top share of customers"),
                yaxis_title=t("Share of revenue held"))


def clv_figure(clv: pd.Series, t: T) -> go.Figure:
    """Customers by lifetime value (revenue_potential of the month's scores), on bands of
    a log scale."""
    v = clv.dropna().to_numpy(float)
    v = v[v > 0]
    edges = np.unique(np.r_[0, 10 ** np.arange(0, np.ceil(np.log10(v.max())) + 1)]) if v.size \
        else np.array([0, 1])
    counts, _ = np.histogram(v, bins=edges)
    labels = [f"{lo:,.0f}-{hi:,.0f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return _fig([go.Bar(x=labels, y=counts, name=t("Customers"))], t,
                "Customer lifetime value distribution", xaxis_title=t("Lifetime value"),
                yaxis_title=t("Customers"), showlegend=False)


def nps_segments_figure(nps: pd.DataFrame, t: T) -> go.Figure:
    """NPS per customer segment with its 95% interval (`SurveyFacade.nps`)."""
    return _fig([go.Bar(x=nps["group"].astype(str), y=nps["nps"], name="NPS",
                        error_y={"type": "data", "symmetric": False,
                                 "array": nps["ci_high"] - nps["nps"],
                                 "arrayminus": nps["nps"] - nps["ci_low"]})],
                t, "NPS by segment", xaxis_title=t("Segment"), yaxis_title="NPS",
                showlegend=False)


def nps_trend_figure(history: pd.DataFrame, t: T) -> go.Figure:
    """The root's value over the stored months (`KpiFacade.history`)."""
    return _fig([go.Scatter(x=[str(d) for d in history["as_of"]], y=history["value"],
                            mode="lines+markers", name="NPS")],
                t, "NPS over the stored months", xaxis_title=t("Month"), yaxis_title="NPS",
                showlegend=False, xaxis_type="category")


def cohorts_figure(cohorts: pd.DataFrame, t: T) -> go.Figure:
    """Share of each monthly cohort still customers k months after starting
    (`ChurnFacade.cohorts`)."""
    grid = cohorts.pivot(index="cohort", columns="k", values="rate").sort_index()
    return _fig([go.Heatmap(z=grid.to_numpy(float), x=[int(k) for k in grid.columns],
                            y=[str(c)[:7] for c in grid.index], colorscale="Blues",
                            zmin=0, zmax=1)],
                t, "Retention by cohort", xaxis_title=t("Months since start"),
                yaxis_title=t("Cohort"), yaxis_autorange="reversed", height=480)


def compliance_figure(rows: pd.DataFrame, t: T) -> go.Figure:
    """Share of interactions meeting each service standard per month
    (`ServiceFacade.compliance` by month)."""
    traces = []
    for name, g in rows.groupby("standard", sort=True):
        g = g.sort_values("period_start")
        traces.append(go.Scatter(x=[str(p)[:7] for p in g["period_start"]],
                                 y=g["compliance"], mode="lines+markers", name=str(name)))
    return _fig(traces, t, "Service standards met by month", xaxis_title=t("Month"),
                yaxis_title=t("Share met"), yaxis_tickformat=".0%", xaxis_type="category")


def opportunities_figure(by_kind: pd.DataFrame, t: T) -> go.Figure:
    """Outcome rate of the customers sent to staff against the control group, per kind
    (`OpportunitiesFacade.evaluate`)."""
    kinds = [t(k) for k in by_kind["kind"]]
    return _fig([go.Bar(name=t("Sent to staff"), x=kinds, y=by_kind["rate_treated"]),
                 go.Bar(name=t("Control group"), x=kinds, y=by_kind["rate_control"])],
                t, "Opportunities: outcome rate against the control group",
                barmode="group", yaxis_tickformat=".0%", yaxis_title=t("Outcome rate"))

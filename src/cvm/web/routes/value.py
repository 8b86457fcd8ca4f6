"""``/value``: who the valuable customers are: the Pareto tiers (as ``cvm value tiers``),
the concentration of revenue with its Pareto curve, the RFM segments, and customer value
by relationship type and by brand."""

from __future__ import annotations

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.i18n import translate
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import ANALYSTS, figure, lang_of, page, records

router = APIRouter(include_in_schema=False)


def _value(ws) -> dict:
    v = ws.value
    stats, lorenz = v.concentration()
    return {"window": v.window(), "tiers": records(v.tiers()), "stats": stats,
            "lorenz": lorenz.to_pydict(), "rfm": records(v.rfm_segments()),
            "by_type": records(v.breakdown("relationship_type")),
            "by_brand": records(v.breakdown("brand"))}


def cached(ws):
    """The page's data, kept until the warehouse changes."""
    return memo(ws, ("value",), lambda: _value(ws))


@router.get("/value")
async def value(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    data = await run_in_threadpool(cached, ws)
    lorenz = data["lorenz"]
    xs = next(iter(lorenz.values()))
    ys = list(lorenz.values())[1]
    pareto = go.Figure(go.Scatter(x=xs, y=ys, mode="lines",
                                  name=translate(lang, "Share of revenue")))
    pareto.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot"},
                       name=translate(lang, "Equal shares"))
    pareto.update_layout(title=translate(lang, "Pareto curve"),
                         xaxis_title=translate(lang, "Share of customers"),
                         yaxis_title=translate(lang, "Share of revenue"),
                         xaxis_tickformat=".0%", yaxis_tickformat=".0%")
    rfm = go.Figure(go.Bar(x=[translate(lang, r["segment"]) for r in data["rfm"]],
                           y=[r["customers"] for r in data["rfm"]]))
    rfm.update_layout(title=translate(lang, "RFM segments"))
    return page(request, "value.html", title="Value", plots=True, **data,
                pareto=figure(pareto), rfm_figure=figure(rfm, 300))

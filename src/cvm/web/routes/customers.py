"""``/customers/{customer_id}``: one customer on one page: value tier (as ``cvm value tiers
--customers``), lifetime value, every score of the latest run with its history over the
stored runs, loyalty class, survey answers, complaints and other contacts, cases,
opportunities, and the programme balance and statement of a member. ``/customers`` finds a
customer by id. Reads stored results only: nothing is fitted on a page view."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cvm.errors import NotFoundError
from cvm.i18n import translate
from cvm.scoring.registry import score_def
from cvm.users import Session
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import EVERYONE, TIER_LABELS, figure, label, lang_of, page, records

__all__ = ["router", "LIMIT", "score_title", "tiers_of"]

router = APIRouter(include_in_schema=False)

#: At most this many survey answers, contacts and statement entries (the latest).
LIMIT = 50
#: Scores drawn over the runs: shares between 0 and 1 (probabilities, risks, loyalty).
_SHARE_KINDS = ("churn_probability", "default_risk", "overall_risk", "loyalty")


def tiers_of(ws) -> pd.DataFrame:
    """``cvm value tiers --customers``, one row per customer, by id (kept until the
    warehouse changes)."""
    return memo(ws, ("value", "tiers", "customers"),
                lambda: ws.value.tiers(customers=True).to_pandas().set_index("customer_id"))


def _rows(ws, table: str, customer_id: str, order: str, kind: str | None = None
          ) -> list[dict]:
    """The customer's rows of a canonical table (of one ``kind``), the `LIMIT` latest."""
    if not ws.has_rows(table):
        return []
    t = ws.table(table)
    t = t.filter(t.customer_id == customer_id)
    if kind is not None:
        t = t.filter(t.kind == kind)
    t = t.order_by(t[order].desc()).limit(LIMIT)
    return records(t.to_pyarrow())


def _scores(ws, customer_id: str) -> tuple[list[dt.date], list[dict]]:
    """The stored runs and, per score, its value (or label) in each run."""
    runs = sorted(ws.scoring.runs())
    if not runs:
        return [], []
    t = ws.result("score_history")
    long = t.filter(t.customer_id == customer_id).to_pyarrow().to_pandas()
    rows = []
    for name, g in long.groupby("score", sort=False):
        by_day = {pd.Timestamp(d).date(): r for d, r in zip(g["as_of"], g.to_dict("records"),
                                                             strict=True)}
        try:
            categorical = score_def(name).categorical
        except KeyError:        # a score of an older registry
            categorical = bool(g["value"].isna().all())
        values = []
        for day in runs:
            r = by_day.get(day)
            if r is None:
                values.append(None)
            elif categorical:
                values.append(r["label"])
            else:
                v = r["value"]
                values.append(None if v is None or (isinstance(v, float) and math.isnan(v))
                              else float(v))
        latest = by_day.get(runs[-1])
        rows.append({"score": name, "categorical": categorical, "values": values,
                     "label": None if latest is None or categorical else latest["label"]})
    return runs, rows


def _customer(ws, user: Session, customer_id: str, lang: str) -> dict:
    found = _rows(ws, "customers", customer_id, "customer_id")
    tiers = tiers_of(ws)
    if not found and customer_id not in tiers.index:
        raise NotFoundError(f"no customer {customer_id!r}")
    tier = tiers.loc[customer_id].to_dict() if customer_id in tiers.index else None
    runs, scores = _scores(ws, customer_id)
    latest = {s["score"]: s for s in scores}
    clv = latest.get("revenue_potential", {}).get("values", [None])[-1]
    loyalty = latest.get("loyalty", {}).get("label")
    interactions = _rows(ws, "interactions", customer_id, "opened_at")
    see_control = user.role in ("admin", "analyst")
    opportunities = records(ws.opportunities.list(
        runs[-1], lang=lang, include_control=see_control, customer_id=customer_id)
    ) if runs else []
    try:
        member = ws.programme.member(customer_id)
        balance = ws.programme.balance(customer_id)
        statement = ws.programme.statement(customer_id, limit=LIMIT)["entries"]
    except NotFoundError:
        member, balance, statement = None, None, []
    return {
        "customer_id": customer_id, "attributes": found[0] if found else {},
        "tier": tier, "clv": clv, "loyalty": loyalty, "runs": runs, "scores": scores,
        "answers": _rows(ws, "survey_responses", customer_id, "timestamp"),
        "complaints": _rows(ws, "interactions", customer_id, "opened_at", "complaint"),
        "interactions": interactions,
        "cases": records(ws.cases.list(customer_id=customer_id)),
        "opportunities": opportunities, "member": member,
        "balance": balance, "statement": statement}


def score_title(name: str, lang: str) -> str:
    """A score's name for people (``propensity_aurora`` -> "propensity to buy: aurora")."""
    for prefix, message in (("propensity_", "propensity to buy: {line}"),
                            ("share_", "share of spend: {line}")):
        if name.startswith(prefix):
            return translate(lang, message, line=name[len(prefix):])
    return label(lang, name)


def _history_figure(runs: list[dt.date], scores: list[dict], lang: str):
    fig = go.Figure()
    for s in scores:
        if s["score"] in _SHARE_KINDS or s["score"].startswith("propensity_"):
            if any(v is not None for v in s["values"]):
                fig.add_scatter(x=[d.isoformat() for d in runs], y=s["values"],
                                mode="lines+markers", name=score_title(s["score"], lang))
    if not fig.data:
        return None
    fig.update_layout(title=translate(lang, "Scores over the monthly runs"),
                      yaxis_tickformat=".0%", xaxis_type="category")
    return figure(fig, 320)


@router.get("/customers")
async def find_customer(request: Request, user: page_user(*EVERYONE)):
    """A form to open a customer by id (``?id=`` goes straight to the page)."""
    wanted = (request.query_params.get("id") or "").strip()
    if wanted:
        from urllib.parse import quote

        return RedirectResponse(f"/customers/{quote(wanted, safe='')}", status_code=303)
    return page(request, "customer_find.html", title="Customers")


@router.get("/customers/{customer_id}")
async def customer(request: Request, customer_id: str, user: page_user(*EVERYONE)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    data = await run_in_threadpool(_customer, ws, user, customer_id, lang)
    chart = (_history_figure(data["runs"], data["scores"], lang)
             if len(data["runs"]) > 1 else None)
    return page(request, "customer.html", title=customer_id, plots=chart is not None,
                chart=chart, score_title=lambda n: score_title(n, lang),
                tier_label=lambda t: TIER_LABELS.get(t, t), **data)

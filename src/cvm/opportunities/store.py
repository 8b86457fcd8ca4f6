"""Opportunities and outcomes in the operational database (SQLAlchemy; SQLite or
PostgreSQL, the programme's store)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, insert, select

from cvm._time import utcnow
from cvm.errors import ConflictError, InputError, NotFoundError
from cvm.store.db import Store
from cvm.store.tables import opportunities as opp
from cvm.store.tables import opportunity_outcomes as out

__all__ = ["save_plan", "load", "history", "record_outcome", "outcomes", "owner_of",
           "OUTCOMES"]

OUTCOMES = ("contacted", "accepted", "declined", "no_answer", "not_reachable")
_COLS = ["opportunity_id", "as_of", "customer_id", "kind", "line", "priority", "action",
         "channel", "owner", "due", "expires", "control", "status", "evidence"]


def save_plan(store: Store, as_of: dt.date, plan: pd.DataFrame) -> int:
    """Store the day's opportunities, replacing a previous build of the same day; refused
    once an outcome is recorded for one of them (the work has started)."""
    now = utcnow()
    rows = [{**r, "created_at": now, "line": r["line"] if isinstance(r["line"], str) else None,
             "priority": float(r["priority"]), "control": bool(r["control"])}
            for r in plan[_COLS].to_dict("records")]
    with store.write() as conn:
        started = conn.execute(
            select(func.count()).select_from(out.join(opp)).where(opp.c.as_of == as_of)
        ).scalar_one()
        if started:
            raise ConflictError(f"opportunities of {as_of} already have {started} recorded "
                                "outcome(s); a new build would lose them. Build a later day.")
        conn.execute(delete(opp).where(opp.c.as_of == as_of))
        if rows:
            conn.execute(insert(opp), rows)
    return len(rows)


def load(store: Store, as_of: dt.date | None = None, owner: str | None = None,
         include_control: bool = True, customer_id: str | None = None,
         limit: int | None = None) -> pd.DataFrame:
    """Stored opportunities (of a day, of an owner, of a customer; at most ``limit``, the
    highest priority first) with their latest outcome."""
    latest = (select(out.c.opportunity_id, func.max(out.c.outcome_id).label("last"))
              .group_by(out.c.opportunity_id).subquery())
    last = out.alias("last_outcome")
    q = (select(*[opp.c[c] for c in _COLS], last.c.outcome, last.c.reason_code,
                last.c.recorded_at.label("outcome_at"))
         .select_from(opp.outerjoin(latest, latest.c.opportunity_id == opp.c.opportunity_id)
                      .outerjoin(last, last.c.outcome_id == latest.c.last)))
    if as_of is not None:
        q = q.where(opp.c.as_of == as_of)
    if owner is not None:
        q = q.where(opp.c.owner == owner)
    if not include_control:
        q = q.where(opp.c.control.is_(False))
    if customer_id is not None:
        q = q.where(opp.c.customer_id == customer_id)
    q = q.order_by(opp.c.as_of, opp.c.priority.desc(), opp.c.opportunity_id)
    if limit is not None:
        q = q.limit(limit)
    with store.read() as conn:
        rows = conn.execute(q).mappings().all()
    cols = [*_COLS, "outcome", "reason_code", "outcome_at"]
    return pd.DataFrame([dict(r) for r in rows], columns=cols)


def history(store: Store, before: dt.date) -> pd.DataFrame:
    """Opportunities built before ``before`` with their latest outcome and its day: what
    the contact policy counts."""
    df = load(store)
    df = df[pd.to_datetime(df["as_of"]).dt.date < before] if len(df) else df
    df = df.assign(outcome_day=pd.to_datetime(df["outcome_at"], utc=True).dt.date
                   if len(df) else [])
    return df


def record_outcome(store: Store, opportunity_id: str, outcome: str,
                   reason_code: str | None = None, recorded_by: str = "",
                   key: str | None = None, at: dt.datetime | None = None) -> dict:
    """Record what happened; with ``key`` (an idempotency key) a repeat of the same call
    records nothing more and answers the first one's row. A control opportunity takes no
    outcome: nobody was sent to it."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome {outcome!r} is not one of: {', '.join(OUTCOMES)}")
    if reason_code is not None and outcome != "declined":
        raise InputError("a reason code goes with the outcome 'declined' only")
    if key is not None and not key.strip():
        raise InputError("an idempotency key must not be empty")
    with store.write() as conn:
        if key is not None:
            prior = conn.execute(select(out).where(out.c.idempotency_key == key)
                                 ).mappings().first()
            if prior is not None:
                same = (prior["opportunity_id"], prior["outcome"], prior["reason_code"]) == (
                    opportunity_id, outcome, reason_code)
                if not same:
                    raise ConflictError(f"idempotency key {key!r} was used for another "
                                        "outcome")
                return dict(prior)
        row = conn.execute(select(opp.c.control).where(opp.c.opportunity_id == opportunity_id)
                           ).first()
        if row is None:
            raise NotFoundError(f"no opportunity {opportunity_id!r}")
        if row.control:
            raise InputError(f"opportunity {opportunity_id!r} is in the control group: it "
                             "was held back, so it has no outcome to record")
        values = {"opportunity_id": opportunity_id, "outcome": outcome,
                  "reason_code": reason_code, "recorded_at": at or utcnow(),
                  "recorded_by": recorded_by, "idempotency_key": key}
        new_id = conn.execute(insert(out).values(**values)).inserted_primary_key[0]
    return {"outcome_id": new_id, **values}


def outcomes(store: Store) -> pd.DataFrame:
    """Every recorded outcome."""
    with store.read() as conn:
        rows = conn.execute(select(out).order_by(out.c.outcome_id)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows],
                        columns=[c.name for c in out.columns])


def owner_of(store: Store, opportunity_id: str) -> str:
    with store.read() as conn:
        owner = conn.execute(select(opp.c.owner).where(
            opp.c.opportunity_id == opportunity_id)).scalar_one_or_none()
    if owner is None:
        raise NotFoundError(f"no opportunity {opportunity_id!r}")
    return owner

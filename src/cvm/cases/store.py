"""Cases and their events in the operational database."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import case, func, insert, select, update

from cvm._time import utcnow
from cvm.cases.lifecycle import OPEN_STATUSES, check_move
from cvm.errors import NotFoundError
from cvm.store.db import Store
from cvm.store.tables import case_events as ev
from cvm.store.tables import cases as cs

__all__ = ["open_cases", "load", "counts", "move", "escalate", "events", "open_counts", "owner_of"]


def _utc(ts) -> dt.datetime:
    """An aware time in UTC (a naive one is taken as UTC)."""
    t = pd.Timestamp(ts)
    return (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")).to_pydatetime()


def open_cases(store: Store, rows: list[dict], by: str = "cvm") -> list[int]:
    """Insert the cases whose trigger has none yet; returns the new case ids."""
    now = utcnow()
    new = []
    with store.write() as conn:
        keys = [r["trigger_key"] for r in rows]
        have = set()
        for i in range(0, len(keys), 500):
            have |= set(conn.execute(select(cs.c.trigger_key).where(
                cs.c.trigger_key.in_(keys[i:i + 500]))).scalars())
        for r in rows:
            if r["trigger_key"] in have:
                continue
            have.add(r["trigger_key"])
            values = {**r, "opened_at": _utc(r["opened_at"]), "due_at": _utc(r["due_at"]),
                      "status": "open", "updated_at": now}
            case_id = conn.execute(insert(cs).values(**values)).inserted_primary_key[0]
            conn.execute(insert(ev).values(case_id=case_id, at=now, by=by, from_status=None,
                                           to_status="open", note=r["trigger_key"]))
            new.append(case_id)
    return new


def _where(q, owners=None, status=None, customer_id=None, due_before=None):
    if owners is not None:
        q = q.where(cs.c.owner.in_(list(owners)))
    if status:
        q = q.where(cs.c.status.in_(status))
    if customer_id is not None:
        q = q.where(cs.c.customer_id == customer_id)
    if due_before is not None:
        q = q.where(cs.c.due_at < due_before)
    return q


def load(store: Store, owner: str | None = None, status: list[str] | None = None,
         customer_id: str | None = None, owners: list[str] | None = None,
         due_before: dt.datetime | None = None, limit: int | None = None) -> pd.DataFrame:
    """Cases due first (of one owner or of several, in some statuses, of one customer, due
    before a time), at most ``limit``."""
    if owner is not None:
        owners = [owner] if owners is None else [o for o in owners if o == owner]
    q = _where(select(cs).order_by(cs.c.due_at, cs.c.case_id), owners, status, customer_id,
               due_before)
    if limit is not None:
        q = q.limit(limit)
    with store.read() as conn:
        rows = conn.execute(q).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in cs.columns])


def counts(store: Store, now: dt.datetime, owners: list[str] | None = None,
           status: list[str] | None = None) -> pd.DataFrame:
    """Per trigger: the cases (of these owners, in these statuses) and how many of them are
    waiting past their due time at ``now``; one GROUP BY."""
    late = func.sum(case((cs.c.status.in_(OPEN_STATUSES) & (cs.c.due_at < now), 1), else_=0))
    q = _where(select(cs.c.trigger, func.count(), late).group_by(cs.c.trigger)
               .order_by(cs.c.trigger), owners, status)
    with store.read() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame([(t, int(n), int(o or 0)) for t, n, o in rows],
                        columns=["trigger", "cases", "overdue"])


def open_counts(store: Store) -> dict[str, int]:
    """Cases waiting per owner."""
    with store.read() as conn:
        rows = conn.execute(select(cs.c.owner, func.count()).where(
            cs.c.status.in_(OPEN_STATUSES)).group_by(cs.c.owner)).all()
    return {o: int(n) for o, n in rows}


def move(store: Store, case_id: int, to: str, by: str, causes: list[str],
         root_cause: str | None = None, action: str | None = None, note: str = "",
         owner: str | None = None) -> dict:
    """Move a case to status ``to`` (checked by `cvm.cases.lifecycle.check_move`), with the
    event recorded; ``owner`` (if given) is checked first: another owner's case is not
    found."""
    now = utcnow()
    with store.write() as conn:
        row = conn.execute(select(cs).where(cs.c.case_id == case_id)).mappings().first()
        if row is None or (owner is not None and row["owner"] != owner):
            raise NotFoundError(f"no case {case_id}" + ("" if owner is None
                                                        else f" of owner {owner!r}"))
        check_move(case_id, row["status"], to, root_cause, action, causes)
        values = {"status": to, "updated_at": now}
        if to == "resolved":
            values.update(root_cause=root_cause, action_taken=action.strip())
        conn.execute(update(cs).where(cs.c.case_id == case_id).values(**values))
        conn.execute(insert(ev).values(case_id=case_id, at=now, by=by,
                                       from_status=row["status"], to_status=to, note=note))
        return {**dict(row), **values}


def escalate(store: Store, now: dt.datetime, after: dt.timedelta, by: str = "cvm") -> list[int]:
    """Mark the waiting cases more than ``after`` past due as escalated (once)."""
    with store.write() as conn:
        ids = list(conn.execute(select(cs.c.case_id).where(
            cs.c.status.in_(OPEN_STATUSES), cs.c.escalated_at.is_(None),
            cs.c.due_at < now - after)).scalars())
        for case_id in ids:
            status = conn.execute(select(cs.c.status).where(cs.c.case_id == case_id)
                                  ).scalar_one()
            conn.execute(update(cs).where(cs.c.case_id == case_id).values(
                escalated_at=now, updated_at=now))
            conn.execute(insert(ev).values(case_id=case_id, at=now, by=by,
                                           from_status=status, to_status=status,
                                           note="escalated: overdue"))
    return ids


def events(store: Store, case_id: int) -> pd.DataFrame:
    with store.read() as conn:
        rows = conn.execute(select(ev).where(ev.c.case_id == case_id)
                            .order_by(ev.c.event_id)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in ev.columns])


def owner_of(store: Store, case_id: int) -> str:
    with store.read() as conn:
        owner = conn.execute(select(cs.c.owner).where(cs.c.case_id == case_id)
                             ).scalar_one_or_none()
    if owner is None:
        raise NotFoundError(f"no case {case_id}")
    return owner

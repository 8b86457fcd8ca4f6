"""``ws.cases``: the closed loop. Triggers open cases (one per trigger), each with an owner
and a due time; the owner works it to a coded root cause and the action taken; the customer
is asked again and the case closes or reopens; overdue cases are escalated.

Cases live in the workspace's operational database (the programme's and the
opportunities': ``programme.database_url``, by default ``programme.db`` in the workspace).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cvm._dates import as_date
from cvm._time import utcnow
from cvm.cases import store as _store
from cvm.cases.lifecycle import OPEN_STATUSES, STATUSES
from cvm.cases.triggers import find_triggers
from cvm.errors import InputError

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["CasesFacade"]

LIST_COLUMNS = ["case_id", "trigger", "customer_id", "opened_at", "due_at", "owner", "status",
                "overdue", "escalated_at", "root_cause", "action_taken", "details"]


class CasesFacade:
    """Open, list, work, follow up and escalate cases."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    @property
    def store(self):
        """The operational database (shared with opportunities), migrated on first use."""
        return self._ws.opportunities.store

    @cached_property
    def _settings(self):
        return self._ws.settings.cases

    def _due(self, trigger: str) -> dt.timedelta:
        s = self._settings
        hours = {"detractor": s.detractor_due_hours, "complaint": s.complaint_due_hours,
                 "breach": s.breach_due_hours,
                 "low_satisfaction": s.low_satisfaction_due_hours}[trigger]
        return dt.timedelta(hours=hours)

    def open(self, as_of, since=None, by: str = "cvm") -> pd.DataFrame:
        """Open a case for every trigger from ``since`` (default: 30 days before) to the
        end of ``as_of`` that has none yet; returns the cases opened now. Owners by the
        opportunity rules' ``[owners]``: a business customer's account manager, else the
        branch of the customer's region, else the call centre; within a queue with staff,
        the one with the fewest cases waiting."""
        day = as_date(as_of, "as_of")
        start = day - dt.timedelta(days=30) if since is None else as_date(since, "since")
        if start > day:
            raise InputError(f"--since {start} is after --as-of {day}")
        found = find_triggers(self._ws, day, start)
        if found.empty:
            return pd.DataFrame(columns=LIST_COLUMNS)
        owners = self._ws.opportunities.rules().owners
        people = self._people()
        load = _store.open_counts(self.store)
        known = set(_store.load(self.store)["trigger_key"])
        rows = []
        for r in found.itertuples(index=False):
            if r.trigger_key in known:
                continue
            group = _group(people, r.customer_id, owners)
            staff = owners.staff.get(group) or [group]
            who = min(staff, key=lambda s: (load.get(s, 0), staff.index(s)))
            load[who] = load.get(who, 0) + 1
            rows.append({"trigger_key": r.trigger_key, "trigger": r.trigger,
                         "customer_id": r.customer_id, "opened_at": r.opened_at,
                         "due_at": pd.Timestamp(r.opened_at) + self._due(r.trigger),
                         "owner": who, "details": r.details})
        zone = self._ws.settings.timezone  # stored times are wall-clock times there
        for row in rows:
            for key in ("opened_at", "due_at"):
                row[key] = pd.Timestamp(row[key]).tz_localize(zone).tz_convert("UTC")
        ids = _store.open_cases(self.store, rows, by)
        out = self.list()
        return out[out["case_id"].isin(ids)].reset_index(drop=True)

    def _people(self) -> pd.DataFrame:
        ws = self._ws
        if not ws.has_rows("customers"):
            return pd.DataFrame()
        c = ws.table("customers")
        field = self._ws.opportunities.rules().owners.account_manager_field
        cols = ["relationship_type", "region"] + ([field] if field in c.columns else [])
        df = c.select("customer_id", *cols).to_pyarrow().to_pandas()
        return df.drop_duplicates("customer_id").set_index("customer_id").rename(
            columns={field: "account_manager"})

    def list(self, owner: str | None = None, status: list[str] | None = None,
             overdue: bool = False, customer_id: str | None = None,
             now: dt.datetime | None = None, owners: list[str] | None = None,
             limit: int | None = None) -> pd.DataFrame:
        """Cases (of one owner or of the ``owners``, in some statuses, of one customer), due
        first, at most ``limit``; ``overdue`` keeps those still waiting after their due
        time. The filters and the limit run in the database."""
        self._check(status)
        now = now or utcnow()
        if overdue:
            status = [s for s in (status or OPEN_STATUSES) if s in OPEN_STATUSES]
            if not status:     # none of the statuses asked for can be overdue
                return pd.DataFrame(columns=LIST_COLUMNS)
        df = _store.load(self.store, owner, status, customer_id, owners,
                         now if overdue else None, limit)
        due = pd.to_datetime(df["due_at"], utc=True)
        df["overdue"] = df["status"].isin(OPEN_STATUSES) & (due < pd.Timestamp(now))
        return df[LIST_COLUMNS].reset_index(drop=True)

    def counts(self, status: list[str] | None = None, owners: list[str] | None = None,
               now: dt.datetime | None = None) -> pd.DataFrame:
        """Per trigger: cases (in some statuses, of the ``owners``) and how many are
        overdue now; counted in the database."""
        self._check(status)
        return _store.counts(self.store, now or utcnow(), owners, status)

    @staticmethod
    def _check(status: list[str] | None) -> None:
        for s in status or []:
            if s not in STATUSES:
                raise InputError(f"status {s!r} is not one of: {', '.join(STATUSES)}")

    def update(self, case_id: int, status: str, by: str, root_cause: str | None = None,
               action: str | None = None, note: str = "", owner: str | None = None) -> dict:
        """Move a case on (in_progress, resolved with root cause and action, closed,
        reopened); with ``owner``, only that owner's case."""
        return _store.move(self.store, int(case_id), status, by, self._settings.root_causes,
                           root_cause, action, note, owner)

    def owner_of(self, case_id: int) -> str:
        """Whose case it is (`NotFoundError` when there is none)."""
        return _store.owner_of(self.store, int(case_id))

    def follow_up(self, case_id: int, score: float, by: str = "") -> dict:
        """The customer's answer when asked again (0-10): at or above
        ``cases.close_min_score`` a resolved case closes, below it the case reopens."""
        if not 0 <= float(score) <= 10:
            raise InputError(f"a follow-up answer is 0-10, got {score}")
        to = "closed" if float(score) >= self._settings.close_min_score else "reopened"
        return self.update(case_id, to, by, note=f"follow-up answer {score:g}")

    def escalate(self, now: dt.datetime | None = None) -> list[int]:
        """Escalate the cases waiting more than ``cases.escalate_after_hours`` past due."""
        return _store.escalate(self.store, now or utcnow(),
                               dt.timedelta(hours=self._settings.escalate_after_hours))

    def alerts(self, as_of, by: str = "region") -> pd.DataFrame:
        """Units (groups of ``by``, a customer attribute) whose NPS or compliance with a
        service standard fell from the month before the month of ``as_of`` to that month by
        at least ``cases.alert_nps_drop`` points or ``cases.alert_compliance_drop``: unit,
        measure, before, after, change, answers or interactions this month (``n``, with
        ``small_sample`` below ``survey.nps_min_sample``), and for NPS the z test's
        p-value. Months are calendar months; a unit without data in both is left out."""
        day = as_date(as_of, "as_of")
        month = pd.Period(day, "M")
        rows = []
        ws, s = self._ws, self._settings
        if ws.has_rows("survey_responses") and ws.has_rows("survey_items"):
            n = ws.survey.nps(by=by, month=True, min_n=1)
            n = n[n["month"].astype(str).isin([str(month - 1), str(month)])]
            for unit, g in n.groupby("group"):
                g = g.set_index(g["month"].astype(str))
                if {str(month - 1), str(month)} <= set(g.index):
                    a, b = g.loc[str(month - 1)], g.loc[str(month)]
                    if b["nps"] - a["nps"] <= -s.alert_nps_drop:
                        rows.append({"unit": unit, "measure": "nps", "before": a["nps"],
                                     "after": b["nps"], "change": b["nps"] - a["nps"],
                                     "n": int(b["n"]), "p_value": b["p_value"]})
        if ws.has_rows("interactions"):
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
            c = ws.service.compliance(end, by=["month", by]).to_pandas()
            c["month"] = pd.to_datetime(c["period_start"]).dt.to_period("M")
            c = c[c["month"].isin([month - 1, month])]
            for (std, unit), g in c.groupby(["standard", by]):
                g = g.set_index("month")
                if {month - 1, month} <= set(g.index):
                    a, b = g.loc[month - 1], g.loc[month]
                    change = b["compliance"] - a["compliance"]
                    if pd.notna(change) and change <= -s.alert_compliance_drop:
                        rows.append({"unit": unit, "measure": f"compliance: {std}",
                                     "before": a["compliance"], "after": b["compliance"],
                                     "change": change, "n": int(b["n"]),
                                     "p_value": float("nan")})
        cols = ["unit", "measure", "before", "after", "change", "n", "p_value",
                "small_sample"]
        out = pd.DataFrame(rows, columns=cols)
        out["small_sample"] = out["n"] < ws.settings.survey.nps_min_sample
        return out

    def history(self, case_id: int) -> pd.DataFrame:
        """Every change of a case."""
        return _store.events(self.store, int(case_id))

    def export(self, folder: str | Path, now: dt.datetime | None = None) -> dict[str, Path]:
        """One CSV per owner of the cases still waiting, into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        df = self.list(status=list(OPEN_STATUSES), now=now)
        files = {}
        for owner, rows in df.groupby("owner", sort=True):
            name = re.sub(r"[^\w.@-]+", "_", owner).strip("_") or "owner"
            path = folder / f"{name}.csv"
            rows.to_csv(path, index=False, encoding="utf-8-sig")
            files[owner] = path
        return files


def _group(people: pd.DataFrame, customer_id: str, owners) -> str:
    row = people.loc[customer_id] if customer_id in people.index else None
    if row is not None and row.get("relationship_type") == "business":
        m = row.get("account_manager")
        return m if isinstance(m, str) and m.strip() else owners.account_manager_queue
    region = None if row is None else row.get("region")
    if isinstance(region, str) and region.strip():
        return owners.branch_prefix + region
    return owners.call_centre

"""``ws.opportunities``: the month's scores turned into work for staff, their outcomes, and
which kinds of opportunity work.

The one way in: ``cvm opportunities ...`` and Python call these methods. Opportunities live
in the workspace's operational database (the programme's: ``programme.database_url``, by
default ``programme.db`` in the workspace), created or upgraded on first use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cvm._dates import as_date
from cvm.errors import InputError, Problem, ValidationError, WorkspaceError
from cvm.opportunities import evaluate as _evaluate
from cvm.opportunities import store as _store
from cvm.opportunities.facts import customer_facts
from cvm.opportunities.plan import evidence_frame, plan
from cvm.opportunities.reasons import label, reason
from cvm.opportunities.rules import DEFAULT_RULES, RULES_FILE, Rules, load_rules

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["OpportunitiesFacade", "Built", "Evaluation"]

#: Columns of `OpportunitiesFacade.list`, in order.
LIST_COLUMNS = ["opportunity_id", "as_of", "customer_id", "kind", "line", "reason", "action",
                "channel", "owner", "due", "expires", "priority", "control", "status",
                "outcome"]


@dataclass
class Built:
    """What a build stored, and what the contact policy held back and why."""

    as_of: dt.date
    opportunities: pd.DataFrame
    held_back: pd.DataFrame
    rules_file: Path


@dataclass
class Evaluation:
    by_kind: pd.DataFrame
    by_owner: pd.DataFrame
    decline_reasons: pd.DataFrame


class OpportunitiesFacade:
    """Opportunity lists per owner, with reasons; outcomes; evaluation against control."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    @cached_property
    def store(self):
        from cvm.store.db import Store, sqlite_url

        s = self._ws.settings.programme
        store = Store(s.database_url or sqlite_url(Path(self._ws.path) / "programme.db"),
                      busy_timeout_ms=s.busy_timeout_ms)
        store.upgrade()
        return store

    # -- rules ---------------------------------------------------------------------------
    @property
    def rules_file(self) -> Path:
        """The workspace's rules file if it has one, else the shipped defaults."""
        own = Path(self._ws.path) / RULES_FILE
        return own if own.exists() else DEFAULT_RULES

    def rules(self) -> Rules:
        return load_rules(self.rules_file)

    def write_rules(self) -> Path:
        """Copy the default rules into the workspace (``opportunities.toml``) to edit;
        an existing file is kept."""
        own = Path(self._ws.path) / RULES_FILE
        if own.exists():
            raise WorkspaceError(f"{own} exists already; edit it, or delete it to start "
                                 "from the defaults again")
        shutil.copyfile(DEFAULT_RULES, own)
        return own

    # -- build ---------------------------------------------------------------------------
    def build(self, as_of) -> Built:
        """Turn the scores of ``as_of`` (from `cvm score run`) into opportunities and store
        them, replacing an earlier build of the same day that has no outcomes yet."""
        from cvm.scoring.asof import AsOfView
        from cvm.scoring.features import product_lines
        from cvm.scoring.registry import line_keys

        ws = self._ws
        day = as_date(as_of, "as_of")
        rules = self.rules()
        scores = ws.scoring.list(day).set_index("customer_id")
        earlier = [d for d in ws.scoring.runs() if d < day]
        before = ws.scoring.list(earlier[-1]).set_index("customer_id") if earlier else None
        view = AsOfView(ws, day)
        facts = customer_facts(view, rules.owners.account_manager_field)
        progress = self._tier_progress(day)
        if progress is not None:
            facts = facts.join(progress, how="outer")
        lines, _ = product_lines(view.table("transactions"), ws.settings.scoring.max_lines)
        frame = evidence_frame(scores, before, facts, line_keys(lines))
        frame = frame.loc[scores.index]
        history = _store.history(self.store, day)
        planned, held = plan(frame, rules, day, history)
        _store.save_plan(self.store, day, planned)
        return Built(day, planned, held, self.rules_file)

    def _tier_progress(self, day: dt.date) -> pd.DataFrame | None:
        """Programme members' way to the next tier, by customer (a member's id is the
        customer's id): ``next_tier``, ``tier_gap`` (cents of spend or points),
        ``tier_gap_share`` (the gap over the next threshold) and ``tier_basis``; None
        without members."""
        _ = self.store  # the operational database, created or upgraded
        prog = self._ws.programme
        rows = [r for r in prog.tier_progress(day) if r["next_tier"] is not None]
        if not rows:
            return None
        df = pd.DataFrame(rows).set_index("member_id")
        df.index.name = "customer_id"
        return pd.DataFrame({
            "next_tier": df["next_tier"], "tier_gap": df["gap"].astype(float),
            "tier_gap_share": df["gap"] / df["next_threshold"],
            "tier_basis": prog.settings.tier_basis})

    # -- lists ---------------------------------------------------------------------------
    def list(self, as_of, owner: str | None = None, lang: str | None = "en",
             include_control: bool = True, *, customer_id: str | None = None,
             limit: int | None = None) -> pd.DataFrame:
        """The opportunities of ``as_of`` (of one ``owner``, of one ``customer_id``; the
        first ``limit``), highest priority first, with the reason and action in ``lang``
        (en or zh-CN). The control group is included (``control`` true) unless
        ``include_control`` is false: what an owner is shown."""
        day = as_date(as_of, "as_of")
        df = _store.load(self.store, day, owner, include_control, customer_id, limit)
        if df.empty and owner is None and customer_id is None:
            raise WorkspaceError(f"no opportunities built for {day}; run `cvm opportunities "
                                 f"build --as-of {day}` (after `cvm score run --as-of {day}`)")
        df["reason"] = [reason(e, lang) for e in df["evidence"]]
        df["action"] = [label(a, lang) for a in df["action"]]
        return df[LIST_COLUMNS].reset_index(drop=True)

    def export(self, as_of, folder: str | Path, lang: str | None = "en",
               excel: bool = False) -> dict[str, Path]:
        """One file per owner (CSV, or .xlsx with ``excel``) of the owner's opportunities,
        without the control group, into ``folder``; returns owner -> file."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder}: cannot create the folder: {exc.strerror}") from None
        df = self.list(as_of, lang=lang, include_control=False)
        df = df[df["status"] == "open"]
        files = {}
        for owner, rows in df.groupby("owner", sort=True):
            name = re.sub(r"[^\w.@-]+", "_", owner).strip("_") or "owner"
            path = folder / f"{name}.{'xlsx' if excel else 'csv'}"
            rows = rows.drop(columns=["control", "status"])
            if excel:
                rows.to_excel(path, index=False)
            else:
                rows.to_csv(path, index=False, encoding="utf-8-sig")
            files[owner] = path
        return files

    def owner_of(self, opportunity_id: str) -> str:
        """Who the opportunity is for (`NotFoundError` when there is none)."""
        return _store.owner_of(self.store, opportunity_id)

    # -- outcomes ------------------------------------------------------------------------
    def record(self, opportunity_id: str, outcome: str, reason_code: str | None = None,
               recorded_by: str = "", key: str | None = None) -> dict:
        """Record an outcome (idempotent with ``key``)."""
        return _store.record_outcome(self.store, opportunity_id, outcome, reason_code,
                                     recorded_by, key)

    def import_outcomes(self, path: str | Path, recorded_by: str = "") -> int:
        """Record the outcomes of a CSV or xlsx file with columns opportunity_id, outcome
        and (for declined) reason_code. Every row is checked first: a bad one names its
        row and field and nothing is stored. Importing the same file again adds nothing."""
        from cvm._tables import read_table

        path = Path(path)
        df = read_table(path, "outcomes file", dtype=str, keep_default_na=False)
        missing = [c for c in ("opportunity_id", "outcome") if c not in df.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; the file needs "
                             "opportunity_id, outcome and, for declined, reason_code")
        known = _store.load(self.store)
        control = dict(zip(known["opportunity_id"], known["control"], strict=True))
        problems = []
        for i, r in enumerate(df.to_dict("records"), start=2):
            oid = str(r["opportunity_id"]).strip()
            outcome = str(r["outcome"]).strip()
            code = r.get("reason_code")
            code = None if code is None or pd.isna(code) or not str(code).strip() else str(code)
            if oid not in control:
                problems.append(Problem(i, "opportunity_id", oid, "a stored opportunity"))
            elif control[oid]:
                problems.append(Problem(i, "opportunity_id", oid,
                                        "an opportunity sent to staff, not a control one"))
            if outcome not in _store.OUTCOMES:
                problems.append(Problem(i, "outcome", outcome,
                                        "one of " + ", ".join(_store.OUTCOMES)))
            if code is not None and outcome != "declined":
                problems.append(Problem(i, "reason_code", code,
                                        "empty unless the outcome is declined"))
        if problems:
            raise ValidationError(str(path), "outcomes", problems, len(problems))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        n = 0
        for i, r in enumerate(df.to_dict("records"), start=2):
            code = r.get("reason_code")
            code = None if code is None or pd.isna(code) or not str(code).strip() else str(code)
            before = self.record(str(r["opportunity_id"]).strip(), str(r["outcome"]).strip(),
                                 code, recorded_by, key=f"file:{digest}:{i}")
            n += 1 if before else 0
        return n

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, as_of=None, level: float = 0.95) -> Evaluation:
        """Outcome rates of treated against control per kind and month, with the uplift and
        its interval; acceptance by owner; the decline reasons staff record most."""
        day = None if as_of is None else as_date(as_of, "as_of")
        opps = _store.load(self.store, day)
        if opps.empty:
            raise WorkspaceError("no opportunities built yet: `cvm opportunities build`")
        y = _evaluate.measure(self._ws, opps)
        return Evaluation(_evaluate.evaluate(opps, y, level), _evaluate.by_owner(opps),
                          _evaluate.decline_reasons(opps))

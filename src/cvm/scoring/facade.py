"""``ws.scoring``: the monthly run of every score, its history and how scores moved.

The one way in to scoring: ``cvm score run|list|drift|defs`` and Python call these
methods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from cvm._dates import as_date
from cvm.errors import NotFoundError
from cvm.scoring import drift as _drift
from cvm.scoring.lifecycle import STAGES
from cvm.scoring.registry import SCORES, score_def
from cvm.scoring.run import ScoreRun, run_scores
from cvm.value.customer_value import TIERS

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["ScoringFacade", "Drift"]



@dataclass
class Drift:
    """Between two runs: PSI per score, and customers moving between value tiers and
    between lifecycle stages."""

    before: dt.date
    after: dt.date
    stability: pd.DataFrame
    tiers: pd.DataFrame
    stages: pd.DataFrame


class ScoringFacade:
    """Every customer scored each month, kept as history."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    @staticmethod
    def definitions() -> pd.DataFrame:
        """The registry: name, version, kind, inputs and meaning of every score."""
        return pd.DataFrame([{
            "score": s.name + ("_<line>" if s.per_line else ""), "version": s.version,
            "kind": s.kind, "inputs": ", ".join(s.inputs), "meaning": s.meaning}
            for s in SCORES.values()])

    def run(self, as_of, save: bool = True, random_state: int = 0) -> ScoreRun:
        """Score every customer as of the end of ``as_of`` (`cvm.scoring.run.run_scores`)."""
        return run_scores(self._ws, as_of, save, random_state)

    def runs(self) -> list[dt.date]:
        """The as-of days with stored scores."""
        return [dt.date.fromisoformat(p)
                for p in self._ws.warehouse.result_partitions("score_history")]

    def _partition(self, as_of) -> str:
        day = as_date(as_of, "as_of")
        if day.isoformat() not in self._ws.warehouse.result_partitions("score_history"):
            stored = ", ".join(d.isoformat() for d in self.runs()) or "none"
            raise NotFoundError(f"no scores stored for {day}; run `cvm score run --as-of "
                                f"{day}` (stored: {stored})")
        return day.isoformat()

    def history(self, as_of, scores: list[str] | None = None) -> pd.DataFrame:
        """The stored long rows of one run: customer_id, as_of, score, value, label,
        version; with ``scores``, only those scores' rows (read without the others).

        The day's stored Parquet parts are read with pyarrow, whatever the engine: the rows
        go to pandas anyway, and through Spark a million customers' rows are collected on
        the driver, more than its heap holds."""
        import pyarrow.parquet as pq

        parts = self._ws.warehouse.result_parts("score_history", self._partition(as_of))
        filters = None if scores is None else [("score", "in", list(scores))]
        return pq.read_table([str(p) for p in parts], filters=filters,
                             partitioning=None).to_pandas()

    def list(self, as_of, scores: list[str] | None = None) -> pd.DataFrame:
        """One row per customer of the run of ``as_of``, one column per score (a label
        score as text; loyalty's class as ``loyalty_class``), in the registry's order.

        ``scores``: only these (e.g. ``["revenue_potential", "value_tier"]``), and only
        the customers with one of them; much less to read on a large run."""
        long = self.history(as_of, scores)
        ids = pd.Index(sorted(long["customer_id"].unique()), name="customer_id")
        names = list(dict.fromkeys(long["score"]))
        rank = {n: i for i, n in enumerate(SCORES)}
        names.sort(key=lambda n: (rank[score_def(n).name], n))
        cols = {}
        for name in names:
            rows = long[long["score"] == name].set_index("customer_id")
            if score_def(name).categorical:
                cols[name] = rows["label"].reindex(ids)
                continue
            cols[name] = rows["value"].reindex(ids)
            if rows["label"].notna().any():
                cols[f"{name}_class"] = rows["label"].reindex(ids)
        return pd.DataFrame(cols, index=ids).reset_index()

    def notes(self, as_of) -> pd.DataFrame:
        """Per score of the run of ``as_of``: version, status (computed, absent, partial),
        note and the model checks (JSON)."""
        t = self._ws.result("score_runs", self._partition(as_of))
        return t.to_pyarrow().to_pandas()

    def drift(self, before, after) -> Drift:
        """PSI of every score present in both runs, and the value-tier and lifecycle-stage
        transition matrices (`cvm.scoring.drift`)."""
        a, b = self.list(before), self.list(after)
        a, b = a.set_index("customer_id"), b.set_index("customer_id")
        ha, hb = self.history(before), self.history(after)
        va = dict(zip(ha["score"], ha["version"], strict=False))
        vb = dict(zip(hb["score"], hb["version"], strict=False))
        rows = []
        for name in [c for c in a.columns if c in b.columns]:
            base = name.removesuffix("_class") if name.endswith("_class") else name
            label = name != base or score_def(base).categorical
            value = (_drift.psi_labels(a[name], b[name]) if label
                     else _drift.psi(a[name], b[name]))
            note = "" if va.get(base) == vb.get(base) else (
                f"versions differ: {va.get(base)} then {vb.get(base)}")
            rows.append({"score": name, "customers_before": int(a[name].notna().sum()),
                         "customers_after": int(b[name].notna().sum()), "psi": value,
                         "reading": _drift.reading(value), "note": note})
        stability = pd.DataFrame(rows)
        tiers = _drift.transitions(a.get("value_tier", pd.Series(dtype=object)),
                                   b.get("value_tier", pd.Series(dtype=object)), list(TIERS))
        stages = _drift.transitions(a.get("lifecycle_stage", pd.Series(dtype=object)),
                                    b.get("lifecycle_stage", pd.Series(dtype=object)),
                                    list(STAGES))
        return Drift(as_date(before, "from"), as_date(after, "to"), stability, tiers, stages)

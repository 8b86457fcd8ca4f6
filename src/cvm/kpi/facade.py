"""``ws.kpi``: the KPI tree of a month, computed once by the monthly jobs and kept as
history.

`KpiFacade.compute` evaluates every node of the definitions (`cvm.kpi.definitions`) with its
formula (`cvm.kpi.formulas`) as of a day and stores the month as the ``kpi_history``
result under that day; `KpiFacade.tree` reads the stored month (computing it only when it
is absent), so pages and reports show stored values and never refit anything.

A tree is a nested dict per node: ``id``, ``name`` (in the language asked for), ``value``
(None without data), ``previous`` (the value of the month before), ``change``,
``target``, ``amber``, ``unit``, ``direction``, ``status`` (green, amber, red, no_target,
no_data), ``formula``, ``note`` (why there is no value) and ``children``.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from cvm._dates import as_date
from cvm.errors import CvmError, NotFoundError, WorkspaceError
from cvm.i18n import translate
from cvm.kpi.definitions import (
    DEFAULT_DEFINITIONS,
    DEFINITIONS_FILE,
    Definitions,
    load_definitions,
    status,
)
from cvm.kpi.formulas import FORMULAS, Context, NoData

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["KpiFacade", "HISTORY_SCHEMA", "GROUPS_SCHEMA", "previous_month_end"]

RESULT = "kpi_history"
GROUPS_RESULT = "kpi_groups"
#: The stored rows: one per node and month.
HISTORY_SCHEMA = pa.schema([
    ("as_of", pa.date32()), ("position", pa.int32()), ("id", pa.string()),
    ("parent", pa.string()), ("name", pa.string()), ("formula", pa.string()),
    ("unit", pa.string()), ("direction", pa.string()), ("value", pa.float64()),
    ("previous", pa.float64()), ("target", pa.float64()), ("amber", pa.float64()),
    ("status", pa.string()), ("note", pa.string())])
#: The stored rows per customer group: one per month, attribute, group and node.
GROUPS_SCHEMA = pa.schema([
    ("as_of", pa.date32()), ("by", pa.string()), ("group", pa.string()),
    ("customers", pa.int64()), ("position", pa.int32()), ("id", pa.string()),
    ("value", pa.float64()), ("status", pa.string())])


def previous_month_end(day: dt.date) -> dt.date:
    """The last day of the month before ``day``'s."""
    return day.replace(day=1) - dt.timedelta(days=1)


def _num(x: Any) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(x)


class KpiFacade:
    """The KPI tree: NPS at the root, the KPIs, their secondary indicators; per month."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    # -- definitions ------------------------------------------------------------------------
    @property
    def definitions_file(self) -> Path:
        """The workspace's kpi.toml if it has one, else the shipped defaults."""
        own = Path(self._ws.path) / DEFINITIONS_FILE
        return own if own.exists() else DEFAULT_DEFINITIONS

    def definitions(self) -> Definitions:
        return load_definitions(self.definitions_file)

    def write_definitions(self) -> Path:
        """Copy the default tree into the workspace (``kpi.toml``) to edit; an existing
        file is kept."""
        own = Path(self._ws.path) / DEFINITIONS_FILE
        if own.exists():
            raise WorkspaceError(f"{own} exists already; edit it, or delete it to start "
                                 "from the defaults again")
        shutil.copyfile(DEFAULT_DEFINITIONS, own)
        return own

    # -- computing -------------------------------------------------------------------------
    def values(self, as_of, definitions: Definitions | None = None,
               customers: set[str] | None = None, only: set[str] | None = None
               ) -> dict[str, tuple[float | None, str]]:
        """Every node's value (of the ids in ``only``) as of the end of ``as_of`` and, when
        it has none, why: id -> (value or None, note). With ``customers``, the nodes whose
        formula is in `cvm.kpi.formulas.GROUPED` for those customers only (the others are
        left out). Nothing is stored."""
        from cvm.kpi.formulas import GROUPED

        day = as_date(as_of, "as_of")
        defs = definitions or self.definitions()
        ctx = Context(self._ws, day, defs.settings, customers)
        out = {}
        for node in defs.nodes:
            if (customers is not None and node.formula not in GROUPED) or (
                    only is not None and node.id not in only):
                continue
            try:
                value = FORMULAS[node.formula](ctx, **node.params)
                value = _num(value)
                out[node.id] = (value, "" if value is not None else "no value")
            except NoData as why:
                out[node.id] = (None, str(why))
            except CvmError as exc:  # what a capability refuses: no data of the kind needed
                out[node.id] = (None, str(exc))
        return out

    def compute(self, as_of, save: bool = True, lang: str | None = "en") -> dict:
        """Compute the month of ``as_of`` (statuses by the targets, the month before as the
        trend: the stored one, else computed now) and store it as ``kpi_history`` under the
        day (replacing an earlier computation of that day); returns the tree."""
        day = as_date(as_of, "as_of")
        defs = self.definitions()
        now = self.values(day, defs)
        before = previous_month_end(day)
        prev = self._stored_values(before)
        if prev is None:
            prev = {k: v for k, (v, _) in self.values(before, defs).items()}
        rows = []
        for i, n in enumerate(defs.nodes):
            value, note = now[n.id]
            rows.append({"as_of": day, "position": i, "id": n.id, "parent": n.parent,
                         "name": n.name, "formula": n.formula, "unit": n.unit,
                         "direction": n.direction, "value": value,
                         "previous": prev.get(n.id), "target": n.target, "amber": n.amber,
                         "status": status(value, n.target, n.amber, n.direction),
                         "note": note})
        table = pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
        groups = self._group_rows(day, defs)
        if save:
            self._ws.save_result(RESULT, table, mode="append", partition=day.isoformat(),
                                 note=f"cvm kpi --as-of {day}")
            self._ws.save_result(GROUPS_RESULT, groups, mode="append",
                                 partition=day.isoformat(), note=f"cvm kpi --as-of {day}")
        return _tree(table.to_pandas(), lang)

    def _group_rows(self, day: dt.date, defs: Definitions) -> pa.Table:
        """The root's and the KPIs' values per group of each customer attribute named by
        ``groups`` in the file's ``[settings]``."""
        from cvm.scoring.asof import AsOfView

        top = [n for n in defs.nodes if n.parent is None or n.parent == defs.root.id]
        position = {n.id: i for i, n in enumerate(defs.nodes)}
        view = AsOfView(self._ws, day)
        rows = []
        for by in defs.settings.get("groups", []):
            if not view.has_rows("customers") or by not in view.table("customers").columns:
                continue
            c = view.table("customers").select("customer_id", by).to_pyarrow().to_pandas()
            for group, members in c.dropna().groupby(by, sort=True):
                ids = set(members["customer_id"])
                values = self.values(day, defs, customers=ids, only={n.id for n in top})
                for n in top:
                    if n.id not in values:
                        continue
                    value, _ = values[n.id]
                    rows.append({"as_of": day, "by": by, "group": str(group),
                                 "customers": len(ids), "position": position[n.id],
                                 "id": n.id, "value": value,
                                 "status": status(value, n.target, n.amber, n.direction)})
        return pa.Table.from_pylist(rows, schema=GROUPS_SCHEMA)

    def groups(self, as_of, kpi_id: str | None = None, by: str | None = None
               ) -> pd.DataFrame:
        """The stored values of the root and the KPIs per customer group of the month of
        ``as_of`` (of one node, of one attribute): by, group, customers (in the group),
        id, value, status; empty when the month has none (`[settings] groups`)."""
        day = as_date(as_of, "as_of")
        parts = self._ws.warehouse.result_partitions(GROUPS_RESULT)
        if day.isoformat() not in parts:
            return GROUPS_SCHEMA.empty_table().to_pandas()
        df = self._ws.result(GROUPS_RESULT, day.isoformat()).to_pyarrow().to_pandas()
        if kpi_id is not None:
            df = df[df["id"] == kpi_id]
        if by is not None:
            df = df[df["by"] == by]
        return (df.sort_values(["by", "position", "group"])
                .drop(columns=["position"]).reset_index(drop=True))

    # -- reading -----------------------------------------------------------------------------
    def months(self) -> list[dt.date]:
        """The as-of days with a stored tree, oldest first."""
        return sorted(dt.date.fromisoformat(p)
                      for p in self._ws.warehouse.result_partitions(RESULT))

    def stored(self, as_of) -> pd.DataFrame:
        """The stored rows of one month (`HISTORY_SCHEMA`), in the tree's order;
        `NotFoundError` when the month was not computed."""
        day = as_date(as_of, "as_of")
        if day not in self.months():
            stored = ", ".join(d.isoformat() for d in self.months()) or "none"
            raise NotFoundError(f"no KPIs stored for {day}; run `cvm kpi --as-of {day}` "
                                f"(stored: {stored})")
        df = self._ws.result(RESULT, day.isoformat()).to_pyarrow().to_pandas()
        return df.sort_values("position").reset_index(drop=True)

    def _stored_values(self, day: dt.date) -> dict[str, float | None] | None:
        if day not in self.months():
            return None
        df = self.stored(day)
        return {i: _num(v) for i, v in zip(df["id"], df["value"], strict=True)}

    def tree(self, as_of, lang: str | None = "en") -> dict:
        """The stored tree of ``as_of`` (computed and stored first if absent), names in
        ``lang`` (en or zh-CN)."""
        day = as_date(as_of, "as_of")
        if day not in self.months():
            return self.compute(day, lang=lang)
        return _tree(self.stored(day), lang)

    def rows(self, as_of, lang: str | None = "en") -> pd.DataFrame:
        """The tree of ``as_of`` flattened, parents first: id, parent, depth, name, value,
        previous, change, target, amber, unit, direction, status, note."""
        out: list[dict] = []

        def walk(node: dict, depth: int, parent: str | None) -> None:
            out.append({"id": node["id"], "parent": parent, "depth": depth,
                        **{k: node[k] for k in _FIELDS}})
            for child in node["children"]:
                walk(child, depth + 1, node["id"])
        walk(self.tree(as_of, lang), 0, None)
        return pd.DataFrame(out)

    def history(self, kpi_id: str | None = None) -> pd.DataFrame:
        """Every stored month's rows (of one node), oldest first."""
        if not self.months():
            return HISTORY_SCHEMA.empty_table().to_pandas()
        df = self._ws.result(RESULT).to_pyarrow().to_pandas()
        if kpi_id is not None:
            df = df[df["id"] == kpi_id]
        return df.sort_values(["as_of", "position"]).reset_index(drop=True)


_FIELDS = ("name", "value", "previous", "change", "target", "amber", "unit", "direction",
           "status", "formula", "note")


def _tree(df: pd.DataFrame, lang: str | None) -> dict:
    nodes: dict[str, dict] = {}
    root = None
    for r in df.sort_values("position").to_dict("records"):
        value, previous = _num(r["value"]), _num(r["previous"])
        node = {"id": r["id"], "name": translate(lang, r["name"]), "value": value,
                "previous": previous,
                "change": None if value is None or previous is None else value - previous,
                "target": _num(r["target"]), "amber": _num(r["amber"]), "unit": r["unit"],
                "direction": r["direction"], "status": r["status"], "formula": r["formula"],
                "note": r["note"] or "", "children": []}
        nodes[r["id"]] = node
        parent = r["parent"]
        if parent is None or (isinstance(parent, float) and math.isnan(parent)):
            root = node
        else:
            nodes[parent]["children"].append(node)
    if root is None:
        raise WorkspaceError("the stored KPI rows have no root")
    return root

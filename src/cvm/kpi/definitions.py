"""The KPI tree as data: the TOML file, checked into typed definitions.

The defaults (``kpi.toml`` beside this module) are documented in docs/kpi.md; a workspace's
own ``kpi.toml`` replaces them. `status` is the one rule turning a value into a colour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvm._toml import load_toml
from cvm.errors import ConfigError

__all__ = ["KpiDef", "Definitions", "load_definitions", "status", "DEFAULT_DEFINITIONS",
           "DEFINITIONS_FILE", "UNITS", "DIRECTIONS", "STATUSES"]

DEFAULT_DEFINITIONS = Path(__file__).with_name("kpi.toml")
#: The workspace's own definitions, when present.
DEFINITIONS_FILE = "kpi.toml"
UNITS = ("share", "points", "count", "per_1000", "currency")
DIRECTIONS = ("higher", "lower")
#: What a node's status can be.
STATUSES = ("green", "amber", "red", "no_target", "no_data")
_KEYS = {"id", "parent", "name", "formula", "params", "unit", "direction", "target", "amber"}


@dataclass(frozen=True)
class KpiDef:
    """One node of the tree."""

    id: str
    name: str
    formula: str
    unit: str
    direction: str
    parent: str | None = None
    target: float | None = None
    amber: float | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Definitions:
    """The nodes in file order (parents before children) and the file's ``[settings]``."""

    nodes: list[KpiDef]
    settings: dict[str, Any]
    file: Path

    @property
    def root(self) -> KpiDef:
        return next(n for n in self.nodes if n.parent is None)

    def children(self, node_id: str) -> list[KpiDef]:
        return [n for n in self.nodes if n.parent == node_id]


def status(value: float | None, target: float | None, amber: float | None,
           direction: str) -> str:
    """green, amber or red by the rule in kpi.toml; ``no_data`` without a value and
    ``no_target`` without a target."""
    if value is None:
        return "no_data"
    if target is None:
        return "no_target"
    better = (lambda a, b: a >= b) if direction == "higher" else (lambda a, b: a <= b)
    if better(value, target):
        return "green"
    if amber is not None and better(value, amber):
        return "amber"
    return "red"


def load_definitions(path: str | Path) -> Definitions:
    """Read and check a KPI file: one root, known parents, formulas, units and directions,
    and an amber edge on the far side of the target."""
    from cvm.kpi.formulas import FORMULAS

    path = Path(path)
    data = load_toml(path, "KPI file", ConfigError)
    rows = data.get("kpi")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: no [[kpi]] entries")
    nodes: list[KpiDef] = []
    seen: set[str] = set()

    def bad(i: int, what: str) -> ConfigError:
        return ConfigError(f"{path}: [[kpi]] number {i + 1}: {what}")

    for i, row in enumerate(rows):
        extra = sorted(set(row) - _KEYS)
        if extra:
            raise bad(i, f"unknown key(s) {', '.join(extra)}; expected some of "
                         f"{', '.join(sorted(_KEYS))}")
        for key in ("id", "name", "formula", "unit", "direction"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise bad(i, f"{key} is missing (a text)")
        node_id = row["id"]
        if not re.fullmatch(r"[A-Za-z0-9_]+", node_id):
            raise bad(i, f"id {node_id!r} must be letters, digits and _")
        if node_id in seen:
            raise bad(i, f"id {node_id!r} is used twice")
        if row["formula"] not in FORMULAS:
            raise bad(i, f"formula {row['formula']!r} is not one of "
                         f"{', '.join(sorted(FORMULAS))}")
        if row["unit"] not in UNITS:
            raise bad(i, f"unit {row['unit']!r} is not one of {', '.join(UNITS)}")
        if row["direction"] not in DIRECTIONS:
            raise bad(i, f"direction {row['direction']!r} is not higher or lower")
        parent = row.get("parent")
        if parent is not None and parent not in seen:
            raise bad(i, f"parent {parent!r} is not an id given above it")
        for key in ("target", "amber"):
            if row.get(key) is not None and not isinstance(row[key], int | float):
                raise bad(i, f"{key} must be a number")
        target, amber = row.get("target"), row.get("amber")
        if amber is not None and target is None:
            raise bad(i, "amber needs a target")
        if amber is not None and (amber > target if row["direction"] == "higher"
                                  else amber < target):
            raise bad(i, f"amber {amber} is on the good side of the target {target} "
                         f"({row['direction']} is better)")
        params = row.get("params", {})
        if not isinstance(params, dict):
            raise bad(i, "params must be a table, e.g. params = { months = 1 }")
        seen.add(node_id)
        nodes.append(KpiDef(node_id, row["name"], row["formula"], row["unit"],
                            row["direction"], parent,
                            None if target is None else float(target),
                            None if amber is None else float(amber), dict(params)))
    roots = [n.id for n in nodes if n.parent is None]
    if len(roots) != 1:
        raise ConfigError(f"{path}: the tree needs exactly one root (a [[kpi]] without parent); "
                          f"found {len(roots)}: {', '.join(roots) or 'none'}")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: [settings] must be a table")
    return Definitions(nodes, settings, path)

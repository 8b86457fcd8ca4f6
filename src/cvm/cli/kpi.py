"""``cvm kpi``: the month's KPI tree (NPS, the KPIs, their indicators) as stored."""

from __future__ import annotations

from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    WorkspaceOpt,
    console,
    emit,
    emit_json,
    open_workspace,
)
from cvm.errors import InputError

__all__ = ["kpi"]

def kpi(as_of: Annotated[str | None, typer.Option(
            "--as-of", help="The month's last day (or any day: its month up to it), "
                            "YYYY-MM-DD.")] = None,
        workspace: WorkspaceOpt = None,
        fmt: FormatOpt = Format.table,
        lang: Annotated[str, typer.Option("--lang", help="Language of the names: en or "
                                                         "zh-CN.")] = "en",
        recompute: Annotated[bool, typer.Option(
            help="Compute the month again and store it (default: show the stored month, "
                 "computing it only if it is not stored).")] = False,
        write_definitions: Annotated[bool, typer.Option(
            help="Copy the default KPI tree into the workspace as kpi.toml to edit, and "
                 "stop.")] = False) -> None:
    """The KPI tree of a month: NPS at the root, the KPIs beneath it, their secondary
    indicators; each with its value, target, status (green, amber, red, no_target,
    no_data) and last month's value. Definitions and targets: kpi.toml (docs/kpi.md).

    --format json prints the root node: name, value, target, status, children (and id,
    previous, change, amber, unit, direction, formula, note)."""
    from cvm.i18n import language

    ws = open_workspace(workspace)
    if write_definitions:
        console.print(f"wrote {ws.kpi.write_definitions()}; edit it, then "
                      "`cvm kpi --as-of D --recompute`", markup=False, highlight=False)
        return
    if as_of is None:
        raise InputError("give --as-of YYYY-MM-DD (the month's last day)")
    lang = language(lang)
    tree = ws.kpi.compute(as_of, lang=lang) if recompute else ws.kpi.tree(as_of, lang)
    if fmt is Format.json:
        emit_json(tree)
        return
    rows = _rows(tree, lang, fmt is Format.table)
    if fmt is Format.csv:
        emit(rows, fmt)
        return
    emit(rows, fmt, title=f"KPIs as of {as_of}")
    missing = [r for r in _flat(tree) if r["status"] == "no_data"]
    for node in missing:
        console.print(f"[dim]no data for {node['id']}: {node['note']}[/dim]",
                      highlight=False)


def _flat(node: dict, depth: int = 0) -> list[dict]:
    out = [{**node, "depth": depth}]
    for child in node["children"]:
        out += _flat(child, depth + 1)
    return out


def _rows(tree: dict, lang: str, readable: bool):
    import pandas as pd

    from cvm.kpi.display import format_value

    rows = []
    for n in _flat(tree):
        if readable:
            rows.append({"kpi": "  " * n["depth"] + n["name"],
                         "value": format_value(n["value"], n["unit"], lang),
                         "target": format_value(n["target"], n["unit"], lang),
                         "status": n["status"],
                         "last_month": format_value(n["previous"], n["unit"], lang),
                         "change": format_value(n["change"], n["unit"], lang, signed=True)})
        else:
            rows.append({k: n[k] for k in ("id", "depth", "name", "value", "target", "amber",
                                           "status", "previous", "change", "unit",
                                           "direction", "formula", "note")})
    return pd.DataFrame(rows)

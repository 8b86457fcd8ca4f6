"""A workspace survey: its definition (``survey_items``) and its answers, one row per respondent.

A workspace holds the answers long (``survey_responses``: one row per respondent and item)
and the instrument (``survey_items``: item -> construct and scale). This module picks the
survey, finds the items of a construct or the 0-10 NPS item, pivots the answers to one row
per respondent on the engine (DuckDB or Spark), and rescales items from their own scales.
"""

from __future__ import annotations

import pandas as pd

from cvm.errors import InputError

__all__ = ["construct_items", "item_answers", "nps_item", "survey_definition", "survey_name",
           "to_unit_scale", "wide_answers"]


def survey_name(ws, survey: str | None = None) -> str:
    """The survey to use: ``survey`` if it is defined, the only one if there is one."""
    if not ws.has_rows("survey_items"):
        raise InputError(f"{ws.path}: no survey definitions imported; import them with "
                         "`cvm import survey_items FILE` (survey, item, construct, scale_min, "
                         "scale_max)")
    t = ws.table("survey_items")
    names = sorted(t.select("survey").distinct().to_pyarrow().column(0).to_pylist())
    if survey is None:
        if len(names) != 1:
            raise InputError(f"the workspace defines {len(names)} surveys ({', '.join(names)}); "
                             "choose one with --survey NAME")
        return names[0]
    if survey not in names:
        raise InputError(f"no survey named '{survey}' in survey_items; defined surveys: "
                         f"{', '.join(names)}")
    return survey


def survey_definition(ws, survey: str | None = None) -> pd.DataFrame:
    """The items of one survey: item, construct, scale_min, scale_max, label (sorted)."""
    name = survey_name(ws, survey)
    t = ws.table("survey_items")
    d = t.filter(t.survey == name).to_pandas()
    d.attrs["survey"] = name
    return d.sort_values("item").reset_index(drop=True)


def construct_items(definition: pd.DataFrame, construct: str) -> list[str]:
    """Items of a construct (case-insensitive), in item order; an error if there are none."""
    hit = definition[definition["construct"].str.lower() == construct.lower()]
    if hit.empty:
        raise InputError(f"survey '{definition.attrs.get('survey')}' has no item of construct "
                         f"'{construct}'; its constructs are "
                         f"{sorted(definition['construct'].unique())}")
    return list(hit["item"])


def nps_item(definition: pd.DataFrame, item: str | None = None) -> str:
    """The 0-10 'likely to recommend' item: ``item``, else the one of construct ``nps``."""
    survey = definition.attrs.get("survey")
    if item is None:
        items = [i for i in definition["item"][definition["construct"].str.lower() == "nps"]]
        if len(items) != 1:
            raise InputError(f"survey '{survey}' has {len(items)} items of construct 'nps' "
                             f"({', '.join(items) or 'none'}); name the 0-10 item with --item")
        item = items[0]
    row = definition[definition["item"] == item]
    if row.empty:
        raise InputError(f"survey '{survey}' has no item '{item}'; its items are "
                         f"{list(definition['item'])}")
    lo, hi = float(row["scale_min"].iloc[0]), float(row["scale_max"].iloc[0])
    if (lo, hi) != (0.0, 10.0):
        raise InputError(f"item '{item}' of survey '{survey}' is on a {lo:g}-{hi:g} scale; NPS "
                         "needs the 0-10 'likely to recommend' answer")
    return item


def item_answers(ws, survey: str, items: list[str]):
    """Ibis table of the answers of ``survey`` to ``items`` (long, as stored)."""
    r = ws.table("survey_responses")
    return r.filter((r.survey == survey) & r.item.isin(items))


def wide_answers(ws, survey: str | None = None, items: list[str] | None = None) -> pd.DataFrame:
    """One row per respondent: respondent_id, customer_id, timestamp, one column per item.

    The pivot runs on the engine (one conditional aggregate per item); ``timestamp`` is the
    respondent's latest answer time. Items not answered are NaN.
    """
    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    items = list(definition["item"]) if items is None else items
    r = item_answers(ws, name, items)
    cols = {it: r.answer.max(where=r.item == it) for it in items}
    wide = r.group_by("respondent_id").agg(customer_id=r.customer_id.max(),
                                           timestamp=r.timestamp.max(), **cols)
    out = wide.order_by("respondent_id").to_pandas()
    out.attrs["survey"] = name
    return out


def to_unit_scale(data: pd.DataFrame, definition: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    """``data`` with each of ``items`` mapped from its own scale in survey_items to 0-1."""
    scale = definition.set_index("item")[["scale_min", "scale_max"]]
    out = data.copy()
    for it in items:
        lo, hi = scale.loc[it]
        out[it] = (out[it] - lo) / (hi - lo)
    return out

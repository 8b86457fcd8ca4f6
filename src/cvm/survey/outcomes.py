"""What respondents did: survey answers joined to purchases and contracts in a workspace.

Each respondent of a survey (linked to a customer) gets the behaviour the answers are checked
against (Dick & Basu 1994: loyalty is attitude *and* repeat patronage):

==================  ===========================================================================
``bought_after``    1 if the customer bought anything after the answer, else 0
``repeat_buyer``    1 if she bought on two or more days up to the latest transaction, else 0
``spend``           revenue in the value window (`Workspace.customer_values`; 0 if none)
``churned``         1 if all her contracts have ended and the last one ended after the answer,
                    0 if a contract is still open; empty without contracts or when she had
                    left before answering
``repeat_rate``     share of calendar months from her first purchase to the latest one in the
                    data in which she bought (1 = every month)
``tenure_months``   months from her first purchase to the latest transaction in the data
``recency_days``    days from her last purchase to the latest transaction in the data
==================  ===========================================================================

All but ``bought_after`` and ``churned`` come from `cvm.survey.indicators`.

`workspace_says_vs_does` groups them by NPS class or satisfaction quintile (with Wilson or t
intervals, `cvm.survey.behaviour`); `workspace_loyalty_classes` gives each respondent the
loyal / general / drifting class of her stated intention (source document 000) and that class
checked against repeat rate, tenure and recency (`cvm.survey.classes`, thresholds in the
``[survey]`` settings), and can store both as the result ``loyalty_classes``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cvm.errors import InputError
from cvm.survey.answers import (
    construct_items,
    nps_item,
    survey_definition,
    to_unit_scale,
    wide_answers,
)
from cvm.survey.behaviour import says_vs_does
from cvm.survey.classes import LEVELS, loyalty_classes, loyalty_levels
from cvm.survey.indicators import customer_indicators

__all__ = ["BEHAVIOURS", "class_summary", "respondent_behaviour", "workspace_loyalty_classes",
           "workspace_loyalty_levels", "workspace_says_vs_does"]

BEHAVIOURS = ("bought_after", "repeat_buyer", "spend", "churned")
INTENTION_CODES = ("recommend", "repurchase", "use_more", "switch")


def _per_customer(ws, answered: pd.DataFrame) -> pd.DataFrame:
    """Behaviour per respondent (see the module docstring) from the engine's aggregates."""
    import ibis

    if not ws.has_rows("transactions"):
        raise InputError(f"{ws.path}: no transactions imported, so nothing to check the "
                         "answers against; import them with `cvm import transactions FILE`")
    as_of = ws.latest_day()
    resp = ibis.memtable(answered[["respondent_id", "customer_id", "timestamp"]]
                         .rename(columns={"timestamp": "answered_at"}))
    tx = ws.table("transactions")
    bought = tx.select("customer_id", bought_at=tx.timestamp)
    j = resp.join(bought, "customer_id")
    j = j.filter(j.bought_at > j.answered_at)
    after = j.group_by("respondent_id").agg(purchases_after=j.count()).to_pandas()
    c = ws.table("contracts")
    contracts = c.group_by("customer_id").agg(
        open=c.end.isnull().cast("int64").sum(), last_end=c.end.max()).to_pandas()
    ind = customer_indicators(ws, as_of).select(
        "customer_id", "purchase_days", "revenue", "repeat_rate", "tenure_months",
        "recency_days").to_pandas()

    out = answered[["respondent_id", "customer_id", "timestamp"]].copy()
    out = out.merge(after, on="respondent_id", how="left")
    out = out.merge(ind, on="customer_id", how="left")
    out = out.merge(contracts, on="customer_id", how="left")
    known = out["customer_id"].notna()
    out["bought_after"] = np.where(out["timestamp"].isna() | ~known, np.nan,
                                   (out["purchases_after"].fillna(0) > 0).astype(float))
    out["repeat_buyer"] = np.where(known, (out["purchase_days"].fillna(0) >= 2).astype(float),
                                   np.nan)
    out["spend"] = np.where(known, out["revenue"].fillna(0.0), np.nan)
    ended_after = pd.to_datetime(out["last_end"]) > pd.to_datetime(out["timestamp"]).dt.floor(
        "D")
    out["churned"] = np.select(
        [out["open"].isna(), out["open"] > 0, ended_after | out["timestamp"].isna()],
        [np.nan, 0.0, 1.0], np.nan)
    out.attrs["as_of"] = as_of
    return out[["respondent_id", "customer_id", "timestamp", *BEHAVIOURS, "repeat_rate",
                "tenure_months", "recency_days"]]


def respondent_behaviour(ws, survey: str | None = None) -> pd.DataFrame:
    """The answers of one survey (one row per respondent) with each respondent's behaviour."""
    wide = wide_answers(ws, survey)
    beh = _per_customer(ws, wide)
    items = [c for c in wide.columns if c not in ("respondent_id", "customer_id", "timestamp")]
    out = beh.merge(wide[["respondent_id", *items]], on="respondent_id")
    out.attrs.update(survey=wide.attrs["survey"], as_of=beh.attrs["as_of"])
    return out


def workspace_says_vs_does(ws, survey: str | None = None, by: str = "nps",
                           item: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Bought-after rate, repeat-buyer rate, spend and churn per NPS class or satisfaction
    quintile, each with its interval (group, behaviour, kind, n, value, ci_low, ci_high).

    ``by="nps"`` uses the 0-10 item (``item`` or the one of construct nps);
    ``by="satisfaction"`` the mean of the items of construct satisfaction (or ``item``),
    cut into quintiles Q1 (lowest) to Q5 by rank.
    """
    definition = survey_definition(ws, survey)
    data = respondent_behaviour(ws, definition.attrs["survey"])
    data = data[data["customer_id"].notna()]
    behaviours = [b for b in BEHAVIOURS if data[b].notna().any()]
    if by == "nps":
        code = nps_item(definition, item)
        data = data[data[code].notna()]
        return says_vs_does(data, behaviours, nps=code, confidence=confidence)
    if by != "satisfaction":
        raise InputError(f"says-vs-does groups by 'nps' or 'satisfaction', got '{by}'")
    items = [item] if item is not None else construct_items(definition, "satisfaction")
    data = data.assign(_satisfaction=data[items].mean(axis=1))
    data = data[data["_satisfaction"].notna()]
    if len(data) < 5:
        raise InputError(f"{len(data)} respondents with a satisfaction answer; quintiles need "
                         "at least 5")
    return says_vs_does(data, behaviours, satisfaction="_satisfaction", confidence=confidence)


def _intention_items(definition: pd.DataFrame, recommend, repurchase, use_more, switch):
    codes = set(definition["item"])
    given = (recommend, repurchase, use_more, switch)
    if all(g is None for g in given):  # default: the items coded as in INTENTION_CODES
        chosen = [[c] if c in codes else [] for c in INTENTION_CODES]
        if not any(chosen):
            raise InputError(f"survey '{definition.attrs['survey']}' has no item coded "
                             "recommend, repurchase, use_more or switch; name the intention "
                             "items with --recommend, --repurchase, --use-more and --switch")
        return chosen
    chosen = [list(g or []) for g in given]
    unknown = [c for g in chosen for c in g if c not in codes]
    if unknown:
        raise InputError(f"item(s) {unknown} are not in survey '{definition.attrs['survey']}'; "
                         f"its items are {sorted(codes)}")
    return chosen


def workspace_loyalty_classes(ws, survey: str | None = None, *, recommend=None,
                              repurchase=None, use_more=None, switch=None,
                              save: bool = False) -> pd.DataFrame:
    """Loyal / general / drifting per respondent: by stated intention, and checked against
    behaviour (see `cvm.survey.classes`).

    Intention items default to those coded ``recommend``, ``repurchase``, ``use_more`` and
    ``switch`` (reversed); each is rescaled from its own scale in survey_items. Behaviour:
    repeat rate, tenure and recency as in the module docstring, against the ``[survey]``
    thresholds. Returns survey, respondent_id, customer_id, intention, intention_class,
    checked_class, says_vs_does, repeat_rate, tenure_months, recency_days, as_of;
    ``save=True`` stores it as the result ``loyalty_classes`` (replacing the previous one).
    """
    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    rec, rep, more, sw = _intention_items(definition, recommend, repurchase, use_more, switch)
    data = respondent_behaviour(ws, name)
    data = data[data["customer_id"].notna()].reset_index(drop=True)
    data = to_unit_scale(data, definition, [*rec, *rep, *more, *sw])
    classes = loyalty_classes(data, recommend=rec, repurchase=rep, use_more=more, switch=sw,
                              scale=(0, 1),
                              repeat_rate="repeat_rate", tenure_months="tenure_months",
                              recency_days="recency_days", settings=ws.settings.survey)
    out = pd.concat([data[["respondent_id", "customer_id"]], classes,
                     data[["repeat_rate", "tenure_months", "recency_days"]]], axis=1)
    out = out[out["intention"].notna()].reset_index(drop=True)
    out.insert(0, "survey", name)
    out["as_of"] = data.attrs["as_of"]
    if save:
        ws.save_result("loyalty_classes", pa.Table.from_pandas(out, preserve_index=False),
                       note=f"survey {name}")
    return out


def class_summary(classes: pd.DataFrame) -> pd.DataFrame:
    """Per class (loyal, general, drifting): customers of that checked class, their share,
    intention_customers (of that intention class), and the checked class's mean intention,
    repeat rate, tenure and recency and share ``consistent`` (says what it does)."""
    order = {"loyal": 0, "general": 1, "drifting": 2}
    g = classes.groupby("checked_class").agg(customers=("customer_id", "size"),
                                     intention=("intention", "mean"),
                                     repeat_rate=("repeat_rate", "mean"),
                                     tenure_months=("tenure_months", "mean"),
                                     recency_days=("recency_days", "mean")).reset_index()
    g = g.rename(columns={"checked_class": "class"})
    g.insert(2, "share", g["customers"] / g["customers"].sum())
    g.insert(3, "intention_customers",
             g["class"].map(classes["intention_class"].value_counts()).fillna(0).astype(int))
    consistent = classes.groupby("checked_class")["says_vs_does"].apply(
        lambda s: float((s == "consistent").mean()))
    g["consistent"] = g["class"].map(consistent)
    return g.sort_values("class", key=lambda s: s.map(order)).reset_index(drop=True)


def workspace_loyalty_levels(ws, survey: str | None = None) -> pd.DataFrame:
    """Oliver's four loyalty levels per respondent, from the survey's constructs named
    cognitive, affective, conative and action (any case), each item rescaled from its own
    scale; see `cvm.survey.classes.loyalty_levels` (threshold ``survey.level_threshold``).

    Returns survey, respondent_id, customer_id, the four 0-100 scores and ``level``.
    """
    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    levels = {lv: construct_items(definition, lv) for lv in LEVELS}
    items = [i for its in levels.values() for i in its]
    data = to_unit_scale(wide_answers(ws, name, items), definition, items)
    out = loyalty_levels(data, levels, scale=(0, 1), settings=ws.settings.survey)
    out = pd.concat([data[["respondent_id", "customer_id"]], out], axis=1)
    out.insert(0, "survey", name)
    return out

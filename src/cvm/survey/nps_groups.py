"""NPS of a workspace survey, overall, per customer group, per month, or both.

The counts of promoters, passives and detractors are aggregated by the workspace's engine
(DuckDB or Spark); only the small per-group table comes back for the standard errors and
tests of `cvm.survey.nps`.

Groups (``by``): any column of the customers table (relationship_type, region, segment or a
further attribute kept at import), ``tier`` (the Pareto value tier of
``ws.value.customer_tiers``), or ``touchpoint`` (the touchpoint of the customer's last
interaction at or before the answer; of her last one at all when the answer has no
timestamp). Respondents not linked to a customer, or customers without the attribute, form
the group ``(none)``.
"""

from __future__ import annotations

import pandas as pd

from cvm.errors import InputError
from cvm.survey.answers import item_answers, nps_item, survey_definition
from cvm.survey.nps import (
    DETRACTOR_MAX,
    PROMOTER_MIN,
    NPSResult,
    _small,
    nps_difference,
    nps_from_counts,
)

__all__ = ["workspace_nps"]

NONE_GROUP = "(none)"


def _attribute(ws, by: str):
    """Ibis table (customer_id, <by>) for a customer attribute or tier."""
    if by == "tier":
        t = ws.value.customer_tiers()
        return t.select("customer_id", t.tier.cast("string").name("tier"))
    c = ws.table("customers")
    if by not in c.columns or by == "customer_id":
        extra = [x for x in c.columns if x != "customer_id"]
        raise InputError(f"cannot group NPS by '{by}': not a customer attribute "
                         f"({', '.join(extra)}), tier or touchpoint")
    return c.select("customer_id", c[by].cast("string").name(by))


def _last_touchpoint(ws, answers):
    """The answers with the touchpoint of each customer's last contact up to the answer."""
    i = ws.table("interactions")
    i = i.select(cid=i.customer_id, touchpoint=i.touchpoint, opened_at=i.opened_at)
    j = answers.select("respondent_id", "customer_id", "timestamp").join(
        i, [answers.customer_id == i.cid,
            answers.timestamp.isnull() | (i.opened_at <= answers.timestamp)])
    last = j.group_by("respondent_id").agg(touchpoint=j.touchpoint.argmax(j.opened_at))
    return answers.left_join(last, answers.respondent_id == last.respondent_id).drop(
        "respondent_id_right")


def _nps_counts(ws, survey: str, item: str, by: str | None, month: bool) -> pd.DataFrame:
    r = item_answers(ws, survey, [item]).filter(lambda t: t.answer.notnull())
    keys = []
    if by == "touchpoint":
        r = _last_touchpoint(ws, r)
    elif by is not None:
        attr = _attribute(ws, by)
        r = r.left_join(attr, r.customer_id == attr.customer_id).drop("customer_id_right")
    if by is not None:
        r = r.mutate(r[by].fill_null(NONE_GROUP).name("group"))
        keys.append("group")
    if month:
        r = r.filter(r.timestamp.notnull())
        r = r.mutate(year=r.timestamp.year(), month_no=r.timestamp.month())
        keys += ["year", "month_no"]
    counts = dict(n=r.count(), promoters=(r.answer >= PROMOTER_MIN).cast("int64").sum(),
                  detractors=(r.answer <= DETRACTOR_MAX).cast("int64").sum())
    g = r.group_by(keys).agg(**counts) if keys else r.aggregate(**counts)
    out = g.to_pandas()
    if month:
        out["month"] = [f"{int(y):04d}-{int(m):02d}" for y, m in zip(out.pop("year"),
                                                                   out.pop("month_no"),
                                                                   strict=True)]
    return out


def workspace_nps(ws, survey: str | None = None, item: str | None = None,
                  by: str | None = None, month: bool = False, *, confidence: float = 0.95,
                  min_n: int | None = None) -> pd.DataFrame:
    """NPS of a workspace survey, overall, per group of ``by``, per month, or both.

    Returns one row per group (and month): [group], [month], n, promoters, passives,
    detractors, nps, se, ci_low, ci_high, small_sample; with ``month`` also change, z and
    p_value, the z test of each month against the month before in the same group (NaN for
    the first month or after a gap). Groups below ``min_n`` answers (default the settings'
    ``survey.nps_min_sample``) are flagged and warned about (`SmallSampleWarning`).
    """
    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    code = nps_item(definition, item)
    min_n = ws.settings.survey.nps_min_sample if min_n is None else min_n
    counts = _nps_counts(ws, name, code, by, month)
    if counts.empty or int(counts["n"].sum()) == 0:
        raise InputError(f"survey '{name}' has no answers to item '{code}'"
                         + (" with a timestamp" if month else ""))
    keys = [k for k, on in (("group", by is not None), ("month", month)) if on]
    counts = counts.sort_values(keys).reset_index(drop=True) if keys else counts
    rows = [nps_from_counts(int(r.n), int(r.promoters), int(r.detractors), confidence).to_dict()
            for r in counts.itertuples()]
    out = pd.concat([counts[keys], pd.DataFrame(rows)], axis=1)
    out["small_sample"] = out["n"] < min_n
    if month:
        out = _month_tests(out, "group" if by is not None else None)
    labels = [" ".join(str(r[k]) for k in keys) or "all" for _, r in out.iterrows()]
    _small(labels, list(out["n"]), min_n, "group(s)")
    out.attrs.update(survey=name, item=code)
    return out


def _month_tests(out: pd.DataFrame, group: str | None) -> pd.DataFrame:
    change, z, p = [], [], []
    prev = None
    for _, row in out.iterrows():
        period = pd.Period(row["month"], freq="M")
        test = None
        if prev is not None and (group is None or prev[0][group] == row[group]) \
                and (period - prev[1]).n == 1:
            test = nps_difference(NPSResult.from_row(row),
                                  NPSResult.from_row(prev[0]))
        change.append(test["difference"] if test else float("nan"))
        z.append(test["z"] if test else float("nan"))
        p.append(test["p_value"] if test else float("nan"))
        prev = (row, period)
    return out.assign(change=change, z=z, p_value=p)

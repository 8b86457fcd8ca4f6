"""Survey measures on a workspace: answers joined to the customers who gave them.

A workspace holds the answers long (``survey_responses``: one row per respondent and item)
and the instrument (``survey_items``: item -> construct and scale). This module finds the
items of a construct, pivots a survey to one row per respondent, and computes NPS overall,
per customer attribute and per month on the workspace's engine (DuckDB or Spark): the
counts of promoters, passives and detractors are aggregated by the engine, and only the
small per-group table comes back for the standard errors and tests of `cvm.survey.nps`.

Groups (``by``): any column of the customers table (relationship_type, region, segment or a
further attribute kept at import), ``tier`` (the Pareto value tier of
`Workspace.customer_tiers`), or ``touchpoint`` (the touchpoint of the customer's last
interaction at or before the answer; of her last one at all when the answer has no
timestamp). Respondents not linked to a customer, or customers without the
attribute, form the group ``(none)``.
"""

from __future__ import annotations

import pandas as pd

from cvm.errors import InputError
from cvm.survey.nps import NPSResult, _small, nps_difference, nps_from_counts

__all__ = ["construct_items", "index_scores_table", "nps_item", "survey_definition",
           "survey_name", "wide_answers", "workspace_drivers", "workspace_index",
           "workspace_model", "workspace_nps", "workspace_nps_compare"]

NONE_GROUP = "(none)"


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


def _answers(ws, survey: str, items: list[str]):
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
    r = _answers(ws, name, items)
    cols = {it: r.answer.max(where=r.item == it) for it in items}
    wide = r.group_by("respondent_id").agg(customer_id=r.customer_id.max(),
                                           timestamp=r.timestamp.max(), **cols)
    out = wide.order_by("respondent_id").to_pandas()
    out.attrs["survey"] = name
    return out


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
    r = _answers(ws, survey, [item]).filter(lambda t: t.answer.notnull())
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
    counts = dict(n=r.count(), promoters=(r.answer >= 9).cast("int64").sum(),
                  detractors=(r.answer <= 6).cast("int64").sum())
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
            test = nps_difference(_result(row), _result(prev[0]))
        change.append(test["difference"] if test else float("nan"))
        z.append(test["z"] if test else float("nan"))
        p.append(test["p_value"] if test else float("nan"))
        prev = (row, period)
    return out.assign(change=change, z=z, p_value=p)


def _result(row) -> NPSResult:
    return NPSResult(**{f: row[f] for f in NPSResult.__dataclass_fields__})


def workspace_nps_compare(table: pd.DataFrame, a: str, b: str) -> dict:
    """z test of NPS(a) - NPS(b) between two rows of a `workspace_nps` table.

    ``a`` and ``b`` name a group, or a month (YYYY-MM) of a table by month only.
    """
    col = "group" if "group" in table.columns else "month" if "month" in table.columns else None
    if col is None or ("group" in table.columns and "month" in table.columns):
        raise InputError("compare two groups (--by) or two months (--month), not both or none")
    known = [str(v) for v in table[col]]
    rows = []
    for name in (a, b):
        if name not in known:
            raise InputError(f"no {col} '{name}' to compare; the {col}s are {', '.join(known)}")
        rows.append(table.iloc[known.index(name)])
    test = nps_difference(_result(rows[0]), _result(rows[1]))
    return {"a": a, "b": b, "nps_a": float(rows[0]["nps"]), "nps_b": float(rows[1]["nps"]),
            "n_a": int(rows[0]["n"]), "n_b": int(rows[1]["n"]), **test}



def _scale_of(definition: pd.DataFrame, items: list[str]) -> tuple[float, float] | None:
    d = definition.set_index("item").loc[items]
    scales = set(zip(d["scale_min"], d["scale_max"], strict=True))
    return tuple(map(float, scales.pop())) if len(scales) == 1 else None


def workspace_model(ws, survey: str | None = None, model=None):
    """The path model of a workspace survey: (PathModel, survey definition).

    ``model`` is None (the built-in seven-factor model, when the survey has its seven
    constructs Image, Expectation, Quality, Value, Satisfaction, Complaints and Loyalty,
    any case; blocks from survey_items, further constructs ignored), a `PathModel`, a
    parsed TOML mapping or a model file path. A file without ``[blocks]`` takes each
    construct's items from survey_items; without ``[scale]`` the scale of survey_items is
    used when the model's items share one.
    """
    import tomllib
    from pathlib import Path

    from cvm.survey.pathmodel import PathModel

    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    if isinstance(model, PathModel):
        return model, definition
    if model is None:
        ecsi = PathModel.ecsi()
        by_lower = {c.lower(): c for c in definition["construct"].unique()}
        missing = [c for c in ecsi.constructs if c.lower() not in by_lower]
        if missing:
            raise InputError(
                f"survey '{name}' has constructs {sorted(by_lower.values())}, not the seven of "
                f"the built-in satisfaction model (missing {missing}); give a model file "
                "with --model MODEL.toml ([paths], optionally [blocks], [modes], [scale])")
        data = {"blocks": {c: construct_items(definition, c) for c in ecsi.constructs},
                "paths": {k: list(v) for k, v in ecsi.paths.items()}}
        source = f"the built-in model on survey '{name}'"
    else:
        source = str(model)
        if isinstance(model, str | Path):
            try:
                data = tomllib.loads(Path(model).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputError(f"{model}: no such model file") from None
            except tomllib.TOMLDecodeError as exc:
                raise InputError(f"{model}: not valid TOML: {exc}") from None
        else:
            data, source = dict(model), "model"
        if "blocks" not in data and isinstance(data.get("paths"), dict):
            named = dict.fromkeys([*data["paths"], *(p for v in data["paths"].values()
                                                     for p in v)])
            data["blocks"] = {c: construct_items(definition, c) for c in named}
    if "scale" not in data and isinstance(data.get("blocks"), dict):
        items = [i for v in data["blocks"].values() for i in v]
        unknown = [i for i in items if i not in set(definition["item"])]
        if unknown:
            raise InputError(f"{source}: item(s) {unknown} are not in survey '{name}'; its "
                             f"items are {list(definition['item'])}")
        scale = _scale_of(definition, items)
        if scale is not None:
            data["scale"] = {"min": scale[0], "max": scale[1]}
    return PathModel.from_dict(data, source), definition


def workspace_index(ws, survey: str | None = None, model=None, **options):
    """Fit the satisfaction index (`PLSPathModel`) on a workspace survey.

    Pivots the survey to one row per respondent (`wide_answers`) and fits the model of
    `workspace_model`; ``options`` go to `PLSPathModel` (scheme, standardize, n_bootstrap,
    random_state, drop_incomplete). Returns (fitted model, the wide answers used).
    """
    from cvm.survey.pls import PLSPathModel

    spec, definition = workspace_model(ws, survey, model)
    wide = wide_answers(ws, definition.attrs["survey"], list(spec.items))
    fit = PLSPathModel(model=spec, **options).fit(
        wide, source=f"survey '{definition.attrs['survey']}'")
    return fit, wide


def index_scores_table(fit, wide: pd.DataFrame):
    """Arrow table of each respondent's 0-100 construct scores, to store as a result.

    Columns: survey, respondent_id, customer_id, then one per construct. Respondents left
    out of the fit (empty answers) are left out here too.
    """
    import pyarrow as pa

    items = list(fit.model_.items)
    used = wide.dropna(subset=items)
    scores = fit.index_scores(used[items])
    out = pd.concat([used[["respondent_id", "customer_id"]], scores], axis=1)
    out.insert(0, "survey", wide.attrs.get("survey"))
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)


def workspace_drivers(ws, survey: str | None = None, outcome: str | None = None,
                      drivers: list[str] | None = None, **options) -> pd.DataFrame:
    """Key drivers of an outcome item on a workspace survey (`cvm.survey.key_drivers`).

    ``outcome`` defaults to the 0-10 NPS item, ``drivers`` to every other item of the
    survey. Each driver is rescaled from its own scale in survey_items to 0-1, so the
    performance column is the mean rating on 0-100 even when the items' scales differ (the
    shares of R² do not depend on it; a reverse-worded item such as "would switch" keeps its
    direction, so its high performance is bad news). ``options`` go to `key_drivers` (method,
    min_answers, n_bootstrap, random_state).
    """
    from cvm.survey.drivers import key_drivers

    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    outcome = nps_item(definition) if outcome is None else outcome
    codes = list(definition["item"])
    drivers = [c for c in codes if c != outcome] if not drivers else list(drivers)
    unknown = [c for c in (outcome, *drivers) if c not in codes]
    if unknown:
        raise InputError(f"item(s) {unknown} are not in survey '{name}'; its items are {codes}")
    data = wide_answers(ws, name, [outcome, *drivers])
    scale = definition.set_index("item")
    for d in drivers:
        lo, hi = scale.loc[d, "scale_min"], scale.loc[d, "scale_max"]
        data[d] = (data[d] - lo) / (hi - lo)
    out = key_drivers(data, outcome, drivers, scale=(0, 1), **options)
    out.attrs.update(survey=name, outcome=outcome)
    return out

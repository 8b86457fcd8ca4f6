"""The monthly run: every customer scored as of a day, kept as that day's history.

`run_scores` computes every score of `cvm.scoring.registry.SCORES` on the workspace as known
at the end of the as-of day (`cvm.scoring.asof.AsOfView`), for every customer known by then
(in the customers table or with a purchase), and stores them in long form as the
``score_history`` result under the as-of day (rerunning a day replaces that day only), with
one ``score_runs`` row per score saying whether it was computed and why not. A score whose
inputs are missing is absent with a one-line note, never an error.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cvm._dates import as_date
from cvm.errors import CvmError, WorkspaceError
from cvm.scoring.asof import AsOfView
from cvm.scoring.contacts import contact_features, contact_history
from cvm.scoring.features import (
    product_lines,
    purchase_features,
    purchase_labels,
)
from cvm.scoring.lifecycle import lifecycle_stage
from cvm.scoring.propensity import NotTrainable, PropensityModel
from cvm.scoring.registry import SCORES, line_keys, score_def

__all__ = ["ScoreRun", "run_scores", "HORIZON_DAYS"]

#: Days after the as-of day the tactical scores look ahead.
HORIZON_DAYS = 90


@dataclass
class ScoreRun:
    """What a run computed: the wide table (one row per customer), a note per score, and
    the propensity models' checks."""

    as_of: dt.date
    scores: pd.DataFrame
    notes: pd.DataFrame
    models: pd.DataFrame = field(default_factory=pd.DataFrame)


class _Collector:
    def __init__(self, ids: pd.Index):
        self.ids = ids
        self.values: dict[str, pd.Series] = {}
        self.labels: dict[str, pd.Series] = {}
        self.notes: list[dict] = []

    def note(self, name: str, status: str, note: str = "", **checks) -> None:
        self.notes.append({"score": name, "version": score_def(name).version,
                           "status": status, "note": note,
                           "checks": json.dumps(checks) if checks else ""})

    def value(self, name: str, values: pd.Series, note: str = "") -> None:
        self.values[name] = values.reindex(self.ids).astype(float)
        self.note(name, "computed", note)

    def label(self, name: str, labels: pd.Series, note: str = "") -> None:
        self.labels[name] = labels.reindex(self.ids).astype(object)
        if name not in self.values:
            self.note(name, "computed", note)


def _exact(df: pd.DataFrame) -> pd.DataFrame:
    """Sums rounded to 1e-6: engines add in different orders, and a difference in the
    last bit would split equal amounts into different bins of the boosted trees, so DuckDB
    and Spark would train different models."""
    floats = df.select_dtypes("float").columns
    df[floats] = df[floats].round(6)
    return df


def _frame(expr) -> pd.DataFrame:
    df = _exact(expr.to_pyarrow().to_pandas())
    return df.sort_values("customer_id", kind="stable").set_index("customer_id")


def _cutoffs(day_after: dt.date, first_day: dt.date, k: int) -> list[dt.date]:
    """Monthly cut-offs whose outcome window ends by the as-of day, latest first, each at
    least 30 days after the first purchase (earlier ones would have no history)."""
    latest = day_after - dt.timedelta(days=HORIZON_DAYS)
    out = [latest - dt.timedelta(days=30 * i) for i in range(k)]
    return [c for c in out if c >= first_day + dt.timedelta(days=30)]


def run_scores(ws, as_of, save: bool = True, random_state: int = 0) -> ScoreRun:
    """Score every customer as of the end of ``as_of`` (a date or YYYY-MM-DD); with
    ``save``, store the scores as that day's ``score_history`` and the notes as
    ``score_runs``."""
    as_of = as_date(as_of, "as_of")
    view = AsOfView(ws, as_of)
    if not view.has_rows("transactions"):
        raise WorkspaceError(f"{ws.path}: no transactions on or before {as_of}; import some "
                             "with `cvm import transactions FILE` or choose a later --as-of")
    s = ws.settings.scoring
    day_after = as_of + dt.timedelta(days=1)
    tx = view.table("transactions")
    customers = view.table("customers") if view.has_rows("customers") else None
    interactions = view.table("interactions") if view.has_rows("interactions") else None
    lines, left_out = product_lines(tx, s.max_lines)
    keys = line_keys(lines)
    feats = _frame(purchase_features(tx, customers, interactions, day_after, lines))
    contacts = contact_history(ws)
    if contacts is not None:
        feats = feats.join(contact_features(contacts, feats.index, day_after))
    out = _Collector(feats.index)

    _value_scores(view, as_of, out)
    out.label("lifecycle_stage", pd.Series(lifecycle_stage(
        feats, s.new_days, s.lapsed_days, s.trend), index=feats.index))
    _revenue_potential(view, out)
    _loyalty(view, out)

    first_day = tx.timestamp.min().to_pyarrow().as_py().date()
    cutoffs = _cutoffs(day_after, first_day, s.training_cutoffs)
    training = _training_frame(tx, customers, interactions, cutoffs, lines, contacts)
    models = []
    _churn(view, as_of, out, training, feats, cutoffs, random_state, models)
    for i, line in enumerate(lines):
        name = f"propensity_{keys[line]}"
        held = feats[f"l{i}_purchases_365d"] > 0
        try:
            if training is None:
                raise NotTrainable(f"fewer than 2 monthly cut-offs between the first "
                                   f"purchase ({first_day}) and {as_of} - {HORIZON_DAYS} days")
            eligible = training[f"l{i}_purchases_365d"] == 0
            model = PropensityModel(f"l{i}_bought", random_state, s.max_training_rows).fit(
                training, eligible, cutoffs[0])
        except NotTrainable as why:
            out.note(name, "absent", f"line {line!r}: too little history to learn from: {why}")
            continue
        p = pd.Series(model.predict(feats), index=feats.index).where(~held)
        out.value(name, p, f"line {line!r}")
        models.append({"score": name, "line": line, **model.metrics})
    if left_out:
        out.notes.append({"score": "propensity", "version": SCORES["propensity"].version,
                          "status": "partial", "checks": "",
                          "note": f"{len(left_out)} line(s) with the fewest buyers left out "
                                  f"(scoring.max_lines = {s.max_lines}): "
                                  f"{', '.join(left_out[:10])}"})

    del training  # not needed past the models: freed before the wide and long tables
    spend = feats["spend_365d"]
    out.value("product_depth", feats["lines_365d"])
    for i, line in enumerate(lines):
        share = (feats[f"l{i}_spend_365d"] / spend).where(spend > 0)
        out.value(f"share_{keys[line]}", share, f"line {line!r}")
    if not lines:
        for name in ("propensity", "share"):
            out.note(name, "absent", "no transaction names a product line (brand)")

    run = ScoreRun(as_of, _wide(out), pd.DataFrame(out.notes), pd.DataFrame(models))
    if save:
        part = as_of.isoformat()
        ws.save_result("score_history", _long(out, as_of), mode="append", partition=part,
                       note=f"cvm score run --as-of {part}", row_group_size=_HISTORY_GROUP)
        notes = run.notes.assign(as_of=as_of)
        if not run.models.empty:
            checks = {r["score"]: json.dumps({k: v for k, v in r.items() if k != "score"})
                      for r in run.models.to_dict("records")}
            notes["checks"] = [checks.get(n, c) for n, c in zip(notes["score"],
                                                                 notes["checks"], strict=True)]
        ws.save_result("score_runs", pa.Table.from_pandas(notes, preserve_index=False),
                       mode="append", partition=part, note=f"cvm score run --as-of {part}")
    return run


def _value_scores(view: AsOfView, as_of: dt.date, out: _Collector) -> None:
    tiers = _frame(view.value.customer_tiers(as_of).select("customer_id", "profit", "tier"))
    out.label("value_tier", tiers["tier"])
    out.value("profitability", tiers["profit"])


def _revenue_potential(view: AsOfView, out: _Collector) -> None:
    try:
        clv = view.clv.score(save=False).to_pandas().set_index("customer_id")
    except (CvmError, ValueError, ArithmeticError) as exc:
        out.note("revenue_potential", "absent", f"the CLV models could not be fitted: {exc}")
        return
    out.value("revenue_potential", clv["clv"],
              "customers without a purchase are blank")


def _loyalty(view: AsOfView, out: _Collector) -> None:
    if not (view.has_rows("survey_responses") and view.has_rows("survey_items")):
        out.note("loyalty", "absent", "no survey answers with a time on or before the as-of "
                 "day")
        return
    try:
        classes = view.survey.classes()
    except CvmError as exc:
        out.note("loyalty", "absent", f"no loyalty classes: {exc}")
        return
    latest = classes.groupby("customer_id", sort=True).tail(1).set_index("customer_id")
    out.value("loyalty", latest["intention"] / 100.0,
              f"survey {classes.attrs.get('survey')}; customers never surveyed are blank")
    out.labels["loyalty"] = latest["checked_class"].reindex(out.ids).astype(object)


def _training_frame(tx, customers, interactions, cutoffs: list[dt.date], lines: list[str],
                    contacts: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Features at each cut-off with the outcome of the 90 days after it, stacked.

    Each cut-off's frame is kept in Arrow as soon as it is made and the stack is turned
    into pandas once, freeing the Arrow columns as they are converted: stacking the
    pandas frames themselves held every frame and the stack at once (at a million
    customers and four cut-offs, the run's peak memory). The frame is the same as
    ``pd.concat`` of the pandas frames with a fresh index."""
    if len(cutoffs) < 2:
        return None
    tables = []
    for c in cutoffs:
        f = _frame(purchase_features(tx, customers, interactions, c, lines))
        if contacts is not None:
            f = f.join(contact_features(contacts, f.index, c))
        lab = _frame(purchase_labels(tx, c, lines, HORIZON_DAYS))
        f = f.join(lab, how="left")
        f[lab.columns] = f[lab.columns].fillna(0).astype(int)
        f["cutoff"] = c
        tables.append(pa.Table.from_pandas(f.reset_index(), preserve_index=False))
        del f, lab
    stacked = pa.concat_tables(tables, promote_options="permissive")  # as pd.concat: a
    # column null in one frame or int in one and float in another gets the wider type
    del tables
    return stacked.to_pandas(self_destruct=True, split_blocks=True)


def _churn(view: AsOfView, as_of: dt.date, out: _Collector, training, feats, cutoffs,
           random_state: int, models: list) -> None:
    """churn_probability, default_risk and overall_risk."""
    if view.has_rows("contracts"):
        _contract_churn(view, as_of, out, random_state)
    else:
        out.note("default_risk", "absent", "no contracts: passive churn cannot be told apart")
        try:
            if training is None:
                raise NotTrainable("fewer than 2 monthly cut-offs of history")
            model = PropensityModel("bought_any", random_state,
                                    view.settings.scoring.max_training_rows).fit(
                training, pd.Series(True, index=training.index), cutoffs[0])
        except NotTrainable as why:
            out.note("churn_probability", "absent", f"too little history: {why}")
            return
        out.value("churn_probability", pd.Series(1 - model.predict(feats), index=feats.index),
                  "no contracts: probability of no purchase in the 90 days after the as-of day")
        models.append({"score": "churn_probability", "line": "(any purchase)",
                       **model.metrics})
    churn = out.values.get("churn_probability")
    default = out.values.get("default_risk")
    if churn is None and default is None:
        out.note("overall_risk", "absent", "neither churn_probability nor default_risk")
        return
    parts = [x for x in (churn, default) if x is not None]
    out.value("overall_risk", pd.concat(parts, axis=1).max(axis=1, skipna=True))


def _contract_churn(view: AsOfView, as_of: dt.date, out: _Collector,
                    random_state: int) -> None:
    from cvm.churn.history import training_frame, workspace_features
    from cvm.churn.training import ChurnModel

    folds = view.settings.scoring.churn_folds
    most = view.settings.scoring.max_training_rows
    cutoff = as_of + dt.timedelta(days=1 - HORIZON_DAYS)
    try:
        df = _exact(training_frame(view, cutoff, HORIZON_DAYS))
        if len(df) > most:  # a uniform sample keeps the base rate, so the calibration
            df = (df.sample(n=most, random_state=random_state)
                  .sort_values("customer_id").reset_index(drop=True))
        now = _exact(workspace_features(view, as_of + dt.timedelta(days=1)).to_pyarrow()
                     .to_pandas())
    except CvmError as exc:
        for name in ("churn_probability", "default_risk"):
            out.note(name, "absent", str(exc))
        return
    try:
        model = ChurnModel(folds=folds, random_state=random_state).fit(df)
        scored, _ = model.score(now, reasons=0)
        out.value("churn_probability", scored.set_index("customer_id")["churn_probability"],
                  "customers without an active contract are blank")
    except CvmError as exc:
        out.note("churn_probability", "absent", f"no churn model: {exc}")
    c = view.table("contracts")
    passive = (c.filter(c.end_reason.startswith("passive") & (c.end >= cutoff)
                        & (c.end <= as_of)).select("customer_id").distinct()
               .to_pyarrow().to_pandas()["customer_id"])
    if passive.empty:
        out.note("default_risk", "absent", "no contract ended passive_* in the 90 days "
                 "before the as-of day: nothing to learn arrears from")
        return
    df = df.assign(passive=df["customer_id"].isin(set(passive)).astype(int)
                   * df["churned"]).drop(columns="churned")
    try:
        model = ChurnModel(label="passive", folds=folds, random_state=random_state).fit(df)
    except CvmError as exc:
        out.note("default_risk", "absent", f"too few passive ends to learn from: {exc}")
        return
    scored, _ = model.score(now, reasons=0)
    out.value("default_risk", scored.set_index("customer_id")["churn_probability"],
              "customers without an active contract are blank")


def _wide(out: _Collector) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for name in _order(out):
        if name in out.labels and name in out.values:
            cols[name] = out.values[name]
            cols[f"{name}_class"] = out.labels[name]
        elif name in out.labels:
            cols[name] = out.labels[name]
        else:
            cols[name] = out.values[name]
    return pd.DataFrame(cols, index=out.ids).reset_index()


def _order(out: _Collector) -> list[str]:
    names = list(dict.fromkeys([*out.values, *out.labels]))
    rank = {n: i for i, n in enumerate(SCORES)}
    return sorted(names, key=lambda n: (rank[score_def(n).name], n))


#: Rows per Parquet row group of a run's score history (in customer order: `_long`)
_HISTORY_GROUP = 65_536

_LONG = pa.schema([("customer_id", pa.string()), ("as_of", pa.date32()),
                   ("score", pa.string()), ("value", pa.float64()), ("label", pa.string()),
                   ("version", pa.string())])


def _long(out: _Collector, as_of: dt.date) -> pa.Table:
    """(customer_id, as_of, score, value, label, version), customers with no value for a
    score left out, in customer order (by id; a customer's scores in registry order), so
    that the Parquet row groups of a run hold disjoint ranges of ids and looking one
    customer up (the customer page) reads one group rather than every row of the run.

    Built in numpy and Arrow (a million customers times a dozen scores is too many rows
    for pandas' object columns): a customers x scores matrix of values and of "has a
    value or a label", read row by row; each string column is taken from a small array
    (the ids, the score names) in near-sequential order."""
    names = _order(out)
    if not names:
        return _LONG.empty_table()
    ids = pa.array(out.ids.to_numpy(dtype=object), pa.string())
    n, k = len(ids), len(names)
    if not out.ids.is_monotonic_increasing:  # the run's frame is sorted by id already
        by_id = pc.sort_indices(ids).to_numpy()
        ids = ids.take(by_id)
    else:
        by_id = None

    def col(series, dtype) -> np.ndarray:
        a = series.to_numpy(dtype=dtype)
        return a if by_id is None else a[by_id]

    values = np.full((n, k), np.nan)
    present = np.zeros((n, k), dtype=bool)
    labelled = [j for j, name in enumerate(names) if name in out.labels]
    label_cols = []
    for j, name in enumerate(names):
        if name in out.values:
            values[:, j] = col(out.values[name], float)
            present[:, j] = ~np.isnan(values[:, j])
        if name in out.labels:
            lab = pa.array(col(out.labels[name], object), pa.string(), from_pandas=True)
            label_cols.append(lab)
            present[:, j] |= lab.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(present.ravel())  # customer-major: row r = customer r // k
    customer, score = rows // k, (rows % k).astype(np.int32)
    label = pa.nulls(len(rows), pa.string())
    if labelled:  # each row's label: position in the labelled scores' labels, stacked
        slot = np.full(k, -1, dtype=np.int64)
        slot[labelled] = np.arange(len(labelled))
        at = slot[score]
        has = at >= 0
        label = pa.concat_arrays(label_cols).take(
            pa.array(np.where(has, at * n + customer, 0), mask=~has))
    versions = pa.array([score_def(name).version for name in names], pa.string())
    score_idx = pa.array(score)
    return pa.table({
        "customer_id": ids.take(pa.array(customer)),
        "as_of": pa.repeat(pa.scalar(as_of, pa.date32()), len(rows)),
        "score": pa.array(names, pa.string()).take(score_idx),
        "value": pa.array(values.ravel()[rows], pa.float64(), from_pandas=True),
        "label": label,
        "version": versions.take(score_idx)}, schema=_LONG)

"""The satisfaction index (PLS path model) of answers in a file or a workspace survey.

`fit_index` fits `PLSPathModel` on one row per respondent under a model file or the built-in
seven-factor model; on a workspace, `workspace_model` builds the specification from
survey_items (blocks and scale where the model file leaves them out), `workspace_index`
pivots and fits, and `index_scores_table` gives each respondent's 0-100 construct scores,
stored as the result ``satisfaction_index`` (``ws.survey.index(save=True)``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from cvm._toml import load_toml
from cvm.errors import InputError
from cvm.survey.answers import construct_items, survey_definition, wide_answers
from cvm.survey.pls import PathModel, PLSPathModel

__all__ = ["fit_index", "index_scores_table", "workspace_index", "workspace_model"]


def fit_index(data: pd.DataFrame, model: PathModel | str | Path | None = None, *,
              source: str = "data", **options) -> PLSPathModel:
    """`PLSPathModel` fitted on ``data`` (one row per respondent, one column per item).

    ``model`` is a `PathModel`, a model TOML file (see `cvm.survey.pls.spec`) or None for
    the built-in seven-factor model; ``options`` go to `PLSPathModel`.
    """
    if model is None:
        model = PathModel.ecsi()
    elif not isinstance(model, PathModel):
        model = PathModel.from_toml(model)
    return PLSPathModel(model=model, **options).fit(data, source=source)


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
            data = load_toml(model, "model file")
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
    spec, definition = workspace_model(ws, survey, model)
    wide = wide_answers(ws, definition.attrs["survey"], list(spec.items))
    fit = PLSPathModel(model=spec, **options).fit(
        wide, source=f"survey '{definition.attrs['survey']}'")
    return fit, wide


def index_scores_table(fit: PLSPathModel, wide: pd.DataFrame) -> pa.Table:
    """Arrow table of each respondent's 0-100 construct scores, to store as a result.

    Columns: survey, respondent_id, customer_id, then one per construct. Respondents left
    out of the fit (empty answers) are left out here too.
    """
    items = list(fit.model_.items)
    used = wide.dropna(subset=items)
    scores = fit.index_scores(used[items])
    out = pd.concat([used[["respondent_id", "customer_id"]], scores], axis=1)
    out.insert(0, "survey", wide.attrs.get("survey"))
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)

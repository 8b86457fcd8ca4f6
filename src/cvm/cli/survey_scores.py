"""``cvm survey fuzzy`` and ``cvm survey servqual``: scores from grade counts and paired items.

The commands are registered on the ``cvm survey`` app by `cvm.cli.survey`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from cvm._tables import read_table
from cvm.cli._common import Format, FormatOpt, OutOpt, console, emit, emit_json, write_table
from cvm.errors import InputError


def _pairs(values: list[str] | None, what: str) -> dict[str, float] | None:
    if not values:
        return None
    out = {}
    for v in values:
        name, sep, num = v.partition("=")
        try:
            out[name.strip()] = float(num)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise InputError(f"--{what} {v!r}: expected NAME=NUMBER, e.g. reliability=30")
    return out


def _fuzzy_inputs(counts_file: Path, weights_file: Path | None):
    counts = read_table(counts_file, index_col=0)
    counts.index = counts.index.astype(str)
    if weights_file is not None:
        w = read_table(weights_file)
        if w.shape[1] < 2:
            raise InputError(f"{weights_file}: expected two columns, factor and weight (e.g. "
                             "the --out of `cvm survey ahp`)")
        weights = dict(zip(w.iloc[:, 0].astype(str), w.iloc[:, 1], strict=True))
        if "weight" in counts.columns:
            counts = counts.drop(columns="weight")
    elif "weight" in counts.columns:
        weights = counts.pop("weight").to_dict()
    else:
        raise InputError(f"{counts_file}: no 'weight' column; add one or give --weights FILE "
                         "(factor, weight)")
    bad = [c for c in counts.columns if not pd.api.types.is_numeric_dtype(counts[c])]
    if bad:
        raise InputError(f"{counts_file}: grade column(s) {bad} hold non-numbers; each cell "
                         "is how many respondents gave the factor that grade")
    return weights, counts


def fuzzy_cmd(
    counts: Annotated[Path, typer.Argument(
        help="CSV: factors in the first column, one column of counts per grade (best "
        "first), optionally a 'weight' column.")],
    weights: Annotated[Path | None, typer.Option(
        help="CSV of factor, weight (e.g. the --out of `cvm survey ahp`), instead of the "
        "'weight' column.")] = None,
    operator: Annotated[list[str] | None, typer.Option(
        help="Composition operator: M(^,v), M(.,v), M(^,+) or M(.,+) (also M(∧,∨) ...); "
        "repeat for several. Default: all four.")] = None,
    grade_scores: Annotated[str | None, typer.Option(
        help="Comma-separated score of each grade, e.g. 95,80,65,40, for the weighted "
        "score.")] = None,
    shares: Annotated[bool, typer.Option(
        "--shares", help="The cells are already membership shares (rows sum to 1).")] = False,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Fuzzy comprehensive evaluation: membership, grade and score under each operator."""
    from cvm.survey.fuzzy import OPERATORS, fuzzy_evaluation, membership_matrix

    w, c = _fuzzy_inputs(counts, weights)
    scores = None
    if grade_scores is not None:
        try:
            scores = [float(s) for s in grade_scores.split(",")]
        except ValueError:
            raise InputError(f"--grade-scores {grade_scores!r}: expected numbers separated by "
                             "commas, e.g. 95,80,65,40") from None
    results = [fuzzy_evaluation(w, c, scores, op, shares=shares)
               for op in (operator or OPERATORS)]
    membership = c.astype(float) if shares else membership_matrix(c)
    if fmt is Format.json:
        doc = {"membership": membership.to_dict(orient="index"),
               "results": [r.to_dict() for r in results]}
        if out is not None:
            write_table(_fuzzy_table(results), out)
        emit_json(doc)
        return
    if fmt is Format.table:
        emit(membership.reset_index(names="factor"), fmt, None, title="Membership matrix R")
    emit(_fuzzy_table(results), fmt, out, title="Evaluation B = A o R (normalised)")


def _fuzzy_table(results) -> pd.DataFrame:
    rows = [{"operator": r.operator, **r.b_normalised.to_dict(), "grade": r.grade,
             "score": r.score} for r in results]
    return pd.DataFrame(rows)


def servqual_cmd(
    data: Annotated[Path, typer.Argument(
        help="CSV, one row per respondent, with an expectation and a perception column per "
        "item.")],
    items: Annotated[Path, typer.Option(
        help="CSV with columns item, dimension, expected, perceived (the data's column "
        "names of each item's E and P).")],
    importance: Annotated[list[str] | None, typer.Option(
        help="dimension=weight (e.g. points out of 100); repeat per dimension. Default: "
        "equal.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """SERVQUAL gap 5 (perceived - expected) per item and dimension, and the weighted score."""
    from cvm.survey.servqual import servqual

    table = read_table(items, dtype=str)
    res = servqual(read_table(data), table, _pairs(importance, "importance"))
    if fmt is Format.json:
        doc = {"items": res["items"].to_dict(orient="records"),
               "dimensions": res["dimensions"].to_dict(orient="records"),
               "score": res["score"], "weighted_score": res["weighted_score"]}
        if out is not None:
            write_table(res["dimensions"], out)
        emit_json(doc)
        return
    if fmt is Format.table:
        emit(res["items"], fmt, None, title="Gap per item (perceived - expected)")
        emit(res["dimensions"], fmt, out, title="Gap per dimension")
        console.print(f"SERVQUAL score {res['score']:.4f} (unweighted), "
                      f"{res['weighted_score']:.4f} (importance-weighted)")
        return
    dims = res["dimensions"]
    long = pd.concat([res["items"].assign(level="item").rename(columns={"item": "name"}),
                      dims.assign(level="dimension", name=dims["dimension"])],
                     ignore_index=True)
    cols = ["level", "name", "dimension", "expected", "perceived", "gap", "weight",
            "weighted_gap"]
    emit(long[cols], fmt, out)

"""``cvm survey fuzzy`` and ``cvm survey servqual``: scores from grade counts and paired items.

The commands are registered on the ``cvm survey`` app by `cvm.cli.survey`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm._tables import read_table
from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    check_input_file,
    console,
    emit,
    emit_json,
    write_table,
)
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


def fuzzy_cmd(
    counts: Annotated[Path, typer.Argument(
        callback=check_input_file,
        help="CSV: factors in the first column, one column of counts per grade (best "
        "first), optionally a 'weight' column.")],
    weights: Annotated[Path | None, typer.Option(
        callback=check_input_file,
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
    from cvm.survey.fuzzy import compare_operators, fuzzy_inputs

    w, c = fuzzy_inputs(read_table(counts, index_col=0),
                        None if weights is None else read_table(weights),
                        source=str(counts), weights_source=str(weights))
    scores = None
    if grade_scores is not None:
        try:
            scores = [float(s) for s in grade_scores.split(",")]
        except ValueError:
            raise InputError(f"--grade-scores {grade_scores!r}: expected numbers separated by "
                             "commas, e.g. 95,80,65,40") from None
    res = compare_operators(w, c, scores, operator, shares=shares)
    if fmt is Format.json:
        if out is not None:
            write_table(res.table(), out)
        emit_json(res.to_dict())
        return
    if fmt is Format.table:
        emit(res.membership.reset_index(names="factor"), fmt, None,
             title="Membership matrix R")
    emit(res.table(), fmt, out, title="Evaluation B = A o R (normalised)")


def servqual_cmd(
    data: Annotated[Path, typer.Argument(
        callback=check_input_file,
        help="CSV, one row per respondent, with an expectation and a perception column per "
        "item.")],
    items: Annotated[Path, typer.Option(
        callback=check_input_file,
        help="CSV with columns item, dimension, expected, perceived (the data's column "
        "names of each item's E and P).")],
    importance: Annotated[list[str] | None, typer.Option(
        help="dimension=weight (e.g. points out of 100); repeat per dimension. Default: "
        "equal.")] = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """SERVQUAL gap 5 (perceived - expected) per item and dimension, and the weighted score."""
    from cvm.survey.servqual import servqual, servqual_long

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
    emit(servqual_long(res), fmt, out)

"""Snapshot tables: one row per customer, feature columns and a churned flag.

`read_snapshot` reads a file as text (so a blank stays blank and ``00042`` stays ``00042``),
`SnapshotSchema.infer` decides what each column is, and `SnapshotSchema.features` turns the
text into model input, reporting every blank or unparsable value in a numeric column (row
and customer id) instead of dropping it. A snapshot can also come typed from an engine
(e.g. `cvm.churn.features.training_table`): its missing values then count as blanks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cvm.errors import InputError

__all__ = ["read_snapshot", "SnapshotSchema", "DataReport", "MissingValues", "encode_label",
           "NUMERIC_SHARE", "MAX_LEVELS"]

#: A column is numeric when at least this share of its non-blank cells parse as numbers.
NUMERIC_SHARE = 0.95
#: A text column with more distinct values than this is free text or an identifier.
MAX_LEVELS = 50
_POSITIVE_WORDS = ("yes", "y", "true", "t", "1", "churn", "churned", "left", "cancelled",
                   "canceled", "lost")
_SHOWN = 20  # row numbers and ids listed per column in a report


def read_snapshot(path: str | Path, delimiter: str | None = None, encoding: str = "utf-8",
                  sheet: str | None = None) -> pd.DataFrame:
    """Read a snapshot table (CSV with any delimiter, Parquet or .xlsx) through cvm's
    readers, every column as text (blanks kept as "", so ``00042`` stays ``00042``).

    ``df.attrs["row_numbers"]`` holds each row's number as the file shows it (header = row 1
    in a CSV or spreadsheet), which reports of bad cells quote; blank lines are skipped.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cvm.ingest.readers import ROW, open_source

    source = open_source(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
    table = source.reader().read_all()
    columns = [c for c in table.column_names if c != ROW]
    text = {c: pc.fill_null(pc.cast(table[c], pa.string()), "") for c in columns}
    keep = None
    for c in columns:  # a row blank in every column is an empty line, not a customer
        filled = pc.not_equal(text[c], "")
        keep = filled if keep is None else pc.or_(keep, filled)
    if keep is not None:
        text = {c: pc.filter(v, keep) for c, v in text.items()}
        rows = pc.filter(table[ROW], keep)
    else:
        rows = table[ROW]
    df = pa.table(text).to_pandas() if columns else pd.DataFrame()
    df.attrs["row_numbers"] = rows.to_numpy()
    return df


def _row_numbers(df: pd.DataFrame, positions: np.ndarray) -> list[int]:
    """File row numbers of the given positions (1-based data rows for a plain frame)."""
    numbers = df.attrs.get("row_numbers")
    if numbers is None or len(numbers) != len(df):
        return [int(i) + 1 for i in positions]
    return [int(numbers[i]) for i in positions]


@dataclass
class MissingValues:
    """Blank or unparsable cells of one numeric column and how they were handled."""

    column: str
    blank: int
    unparsable: int
    rows: list[int]  # as the file numbers them (header = row 1), see `read_snapshot`
    ids: list[str]
    values: list[str]  # the cell as found, "" for a blank
    handling: str


@dataclass
class DataReport:
    """What `SnapshotSchema.infer` found in a snapshot table."""

    rows: int
    label: str
    positive: str
    churners: int
    id: str
    numeric: list[str]
    categorical: list[str]
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why
    missing: list[MissingValues] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def encode_label(values: pd.Series, label: str, positive: str | None) -> tuple[np.ndarray, str]:
    """The label column as 0/1 and the value that means churned.

    Without ``positive`` the column must have exactly two distinct values, one of which is a
    usual word for churned (yes, true, 1, churned, ...).
    """
    text = _text(values)
    blank = np.flatnonzero(text.eq("").to_numpy())
    if blank.size:
        raise InputError(
            f"label column '{label}' is blank in {blank.size} row(s), e.g. row(s) "
            f"{', '.join(str(i + 1) for i in blank[:_SHOWN])}; every row needs a label")
    levels = sorted(text.unique())
    if positive is None:
        found = [v for v in levels if v.lower() in _POSITIVE_WORDS]
        if len(levels) != 2 or len(found) != 1:
            raise InputError(
                f"label column '{label}' has values {levels[:10]}; cannot tell which means "
                "churned: pass --positive VALUE")
        positive = found[0]
    elif positive not in levels:
        raise InputError(f"--positive {positive!r} never occurs in label column '{label}'; "
                         f"its values are {levels[:10]}")
    return text.eq(positive).to_numpy().astype(int), positive


def _text(values: pd.Series) -> pd.Series:
    """A column as trimmed text, missing values (None, NaN, NaT) as ""; integers stay
    integers ("3", not "3.0") so typed frames from an engine work like files."""
    if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
        values = values.astype("Int64")
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _parse_numbers(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip().str.replace(",", "", regex=False), errors="coerce")


@dataclass
class SnapshotSchema:
    """Which columns feed the model, as what, and the levels of each categorical column.

    Parameters
    ----------
    id : str
        The customer identifier column (never a feature).
    numeric, categorical : list of str
        Feature columns.
    levels : dict of str to list of str
        Known levels of each categorical column; a level first seen when scoring is treated
        as missing.
    """

    id: str
    numeric: list[str]
    categorical: list[str]
    levels: dict[str, list[str]]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def infer(cls, df: pd.DataFrame, label: str, id: str,
              max_levels: int = MAX_LEVELS) -> tuple[SnapshotSchema, list[str]]:
        """Detect the feature columns of a text table; return the schema and excluded notes.

        Rules, in order: the id and label columns are not features; a column whose non-blank
        cells are at least `NUMERIC_SHARE` numbers is numeric, unless it is integer-valued
        with a distinct value in every row (a row number or numeric id); a text column with at
        most ``max_levels`` distinct values is categorical; a text column with more is free
        text or an identifier and is left out; a column with a single value is left out.
        """
        for name, what in ((label, "label"), (id, "id")):
            if name not in df.columns:
                raise InputError(f"--{what} {name!r} is not a column of the table; columns: "
                                 f"{', '.join(map(str, df.columns))}")
        if label == id:
            raise InputError(f"--label and --id are the same column {label!r}")
        numeric, categorical, levels, excluded = [], [], {}, {}
        n = len(df)
        for col in df.columns:
            if col in (label, id):
                continue
            text = _text(df[col])
            filled = text[text.ne("")]
            if filled.nunique() <= 1:
                excluded[col] = "a single value in every row"
                continue
            nums = _parse_numbers(filled)
            if nums.notna().mean() >= NUMERIC_SHARE:
                ok = nums.dropna()
                if n >= 20 and ok.size == n and ok.nunique() == n and (ok % 1 == 0).all():
                    excluded[col] = "integers distinct in every row: a row number or an id"
                    continue
                numeric.append(col)
            elif filled.nunique() <= max_levels:
                categorical.append(col)
                levels[col] = sorted(filled.unique())
            else:
                excluded[col] = (f"text with {filled.nunique()} distinct values (more than "
                                 f"{max_levels}): free text or an identifier")
        if not numeric and not categorical:
            raise InputError("no usable feature columns: every column other than the label "
                             f"and id was left out ({excluded})")
        return cls(id=id, numeric=numeric, categorical=categorical, levels=levels), excluded

    def features(self, df: pd.DataFrame) -> tuple[pd.DataFrame, list[MissingValues]]:
        """Model input: numeric columns as floats (NaN where blank or unparsable) and
        categorical columns as pandas categoricals with the schema's levels.

        Returns the frame and one `MissingValues` per numeric column with blank or
        unparsable cells, naming their rows and ids.
        """
        absent = [c for c in [self.id, *self.columns] if c not in df.columns]
        if absent:
            raise InputError(f"the table lacks column(s) the model needs: {', '.join(absent)}")
        out = {}
        missing = []
        ids = _text(df[self.id]).to_numpy()
        for col in self.numeric:
            text = _text(df[col])
            nums = _parse_numbers(text)
            bad = np.flatnonzero(nums.isna().to_numpy())
            if bad.size:
                blank = int(text.iloc[bad].eq("").sum())
                missing.append(MissingValues(
                    column=col, blank=blank, unparsable=int(bad.size - blank),
                    rows=_row_numbers(df, bad[:_SHOWN]), ids=list(ids[bad[:_SHOWN]]),
                    values=list(text.iloc[bad[:_SHOWN]]),
                    handling=("kept as missing: the boosted model sends missing values down "
                              "their own learned branch; the logistic baseline imputes the "
                              "median and adds a was-missing indicator column")))
            out[col] = nums.astype(float).to_numpy()
        for col in self.categorical:
            text = _text(df[col]).replace("", np.nan)
            out[col] = pd.Categorical(text, categories=self.levels[col])
        return pd.DataFrame(out, index=df.index), missing

"""Reading the table files of campaign evaluation: columns checked by name, arms and groups
as text, outcomes as numbers, each bad value reported with its file, column and row.

Rows are numbered from 1 for the first row under the header, as a spreadsheet shows them
less one. A blank outcome is missing (that row leaves that outcome only); any other value
that is not a number is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cvm._tables import read_table
from cvm.errors import InputError

__all__ = ["read_frame", "require_columns", "labels", "numbers", "flags", "find_value"]

_MAX_SHOWN = 5


def read_frame(path: str | Path, what: str = "--table") -> pd.DataFrame:
    """The file as a DataFrame, a CSV file read as text (ids such as 00042 stay as
    written; `numbers` converts the outcome columns)."""
    frame = read_table(path, what, dtype=str, keep_default_na=False)
    if frame.empty:
        raise InputError(f"{what} {path}: has no rows")
    frame.attrs["path"] = str(path)
    return frame


def _label(frame: pd.DataFrame) -> str:
    return frame.attrs.get("path", "the table")


def require_columns(frame: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Each ``option -> column`` names a column of the frame (None: not asked for)."""
    for option, column in columns.items():
        if column is not None and column not in frame.columns:
            raise InputError(f"{_label(frame)}: {option} {column!r} is not a column; its "
                             f"columns are {', '.join(map(str, frame.columns))}")


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip()
    return (values.isna() | text.isna() | (text == "")).to_numpy(dtype=bool)


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:_MAX_SHOWN])
    more = f" and {rows.size - _MAX_SHOWN} more" if rows.size > _MAX_SHOWN else ""
    return f"row{'s' if rows.size > 1 else ''} {shown}{more}"


def labels(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    """The column as stripped text (a whole number read from Parquet or Excel as 1.0
    reads "1"); a blank cell is an error naming its rows."""
    values = frame[column]
    if pd.api.types.is_float_dtype(values) and np.all(
            np.isnan(values) | (values == np.round(values))):
        values = values.astype("Int64")
    blank = _blank(values)
    if blank.any():
        raise InputError(f"{_label(frame)}: column {column!r} ({what}) is blank in "
                         f"{_rows(blank)}")
    return values.astype(str).str.strip()


def numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as floats, a blank cell NaN; text that is not a number is an error naming
    the file, the column and the first rows holding it."""
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip()
    blank = _blank(values)
    out = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    bad = out.isna().to_numpy() & ~blank
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        more = f" (also {_rows(bad)})" if bad.sum() > 1 else ""
        raise InputError(f"{_label(frame)}: column {column!r}, row {first + 1}: "
                         f"{values.iloc[first]!r} is not a number{more}; an outcome is "
                         "numeric, 0/1 for a yes/no outcome")
    return out


def flags(values: pd.Series) -> bool:
    """Whether measured values are all 0 or 1 (a yes/no outcome, summarised as a rate)."""
    v = values.dropna().to_numpy()
    return v.size > 0 and bool(np.isin(v, (0.0, 1.0)).all())


def find_value(frame: pd.DataFrame, values: pd.Series, column: str, value: object,
               what: str = "the control value") -> str:
    """The label in ``values`` (column ``column``, as `labels` gives it) that ``value``
    names: the same text, else the same number (``--control 0`` finds 0.0); an error
    naming the file, the column and the values it holds when there is none."""
    text = str(value).strip()
    if (values == text).any():
        return text
    wanted = pd.to_numeric(pd.Series([text]), errors="coerce").iloc[0]
    if pd.notna(wanted):
        distinct = pd.Series(pd.unique(values))
        hit = distinct[pd.to_numeric(distinct, errors="coerce") == wanted]
        if len(hit) == 1:
            return str(hit.iloc[0])
    seen = ", ".join(repr(a) for a in pd.unique(values)[:10])
    raise InputError(f"{_label(frame)}: {what} {text!r} does not occur in column {column!r}; "
                     f"its values are {seen}")

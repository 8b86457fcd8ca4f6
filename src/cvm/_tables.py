"""Reading a whole table file given on the command line (.csv, .parquet, .xlsx) into pandas.

For small inputs such as a summary, a respondents table or a judgement matrix; the import of
canonical tables streams through DuckDB instead (`cvm.ingest`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cvm.errors import InputError

__all__ = ["read_table"]

_KINDS = {".csv": "CSV", ".txt": "CSV", ".parquet": "Parquet", ".pq": "Parquet",
          ".xlsx": "Excel"}


def read_table(path: str | Path, what: str | None = None, **csv_options: Any) -> pd.DataFrame:
    """The file as a DataFrame; `InputError` naming it (and ``what``, e.g. "--summary") when it
    is missing, of an unknown kind, or unreadable. ``csv_options`` go to `pandas.read_csv`."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if not path.is_file():
        raise InputError(f"{label}: no such file")
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{label}: unknown extension '{path.suffix}'; use .csv, .parquet or "
                         ".xlsx")
    try:
        if kind == "Parquet":
            return pd.read_parquet(path)
        if kind == "Excel":
            return pd.read_excel(path)
        return pd.read_csv(path, **csv_options)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: cannot read it as {kind}: {exc}") from None

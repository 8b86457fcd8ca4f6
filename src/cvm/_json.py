"""JSON out: NaN and infinities as null, dates as ISO text, numpy scalars as numbers."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (recursively), numpy scalars and
    arrays as Python numbers and lists, dates and times as ISO strings."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return to_jsonable(obj.tolist())
    if obj != obj:  # pandas' NaT and NA
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "as_py"):  # Arrow scalars
        return to_jsonable(obj.as_py())
    return str(obj)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Valid JSON (no NaN or Infinity tokens) for ``obj``; see `to_jsonable`."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False, ensure_ascii=False)

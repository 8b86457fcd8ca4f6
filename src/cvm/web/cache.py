"""A page's computations kept between views until the warehouse changes.

Pages read the warehouse (queries, stored results) and never fit a model; what a query
returns is kept per process under its key and the warehouse manifest's modification time,
so the next view is a dictionary look-up and an import or a new monthly run is seen at
once. At most `LIMIT` entries are kept (the oldest go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["memo", "LIMIT"]

LIMIT = 256
_lock = threading.Lock()
_kept: OrderedDict[tuple, Any] = OrderedDict()
_making: dict[tuple, threading.Lock] = {}  # keys being made, each with its lock


def _stamp(ws) -> int:
    try:
        return (ws.warehouse.dir / "_manifest.json").stat().st_mtime_ns
    except OSError:
        return 0


def memo(ws, key: tuple, make: Callable[[], Any]) -> Any:
    """``make()``, or what it returned before for `key` on the same warehouse state. While
    one thread makes a key's value, others asking for the same key wait for it rather than
    compute it again (two managers opening a page at once, or a page asked for while
    `cvm.web.warm` prepares it)."""
    full = (str(ws.path), _stamp(ws), *key)
    with _lock:
        if full in _kept:
            _kept.move_to_end(full)
            return _kept[full]
        making = _making.setdefault(full, threading.Lock())
    with making:
        with _lock:
            if full in _kept:
                return _kept[full]
        try:
            value = make()
            with _lock:
                _kept[full] = value
                while len(_kept) > LIMIT:
                    _kept.popitem(last=False)
        finally:
            with _lock:
                _making.pop(full, None)
    return value

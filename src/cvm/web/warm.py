"""Prepare the analytics pages' data when the server starts, so the first manager to open
a page after a restart does not wait for its queries (seconds at a million customers).

`start` runs `warm` in a daemon thread: each page's data for the latest monthly run (the
month a page shows by default) is made through the page's own `cached` function, so it
lands under the key the page reads; a page asked for meanwhile waits for it
(`cvm.web.cache.memo`) instead of computing it twice. A page whose data cannot be made
(nothing imported for it yet) is skipped: the page itself says why when opened.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["start", "warm"]

log = logging.getLogger("cvm.web")


def warm(ws) -> list[str]:
    """Make each analytics page's data for the latest run; returns the pages made."""
    from cvm.web.routes import clv, customers, loyalty, retention, service, value

    runs = ws.scoring.runs()
    day = max(runs) if runs else None
    steps = [("value", lambda: value.cached(ws)),
             ("customers", lambda: customers.tiers_of(ws)),
             ("service", lambda: service.cached(ws, day)),
             ("loyalty", lambda: loyalty.cached(ws, day)),
             ("retention", lambda: retention.cached(ws, day))]
    if day is not None:
        steps.append(("clv", lambda: clv.cached(ws, day)))
    made = []
    for name, make in steps:
        try:
            make()
            made.append(name)
        except Exception as exc:  # noqa: BLE001 - the page reports it when opened
            log.info("warm: /%s not prepared: %s", name, exc)
    return made


def start(ws) -> threading.Thread:
    """Run `warm` in a daemon thread (it does not keep the server from stopping), on a
    workspace of its own: a DuckDB connection must not run two queries at once, and page
    views use the server's while this runs. What it makes is kept under the workspace's
    path, where the pages look."""
    def run():
        from cvm.workspace import Workspace

        warm(Workspace.open(ws.path))

    thread = threading.Thread(target=run, name="cvm-warm", daemon=True)
    thread.start()
    return thread

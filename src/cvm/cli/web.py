"""``cvm serve``: the pages and the REST API of a workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from cvm.cli._common import WorkspaceOpt, console, open_workspace

__all__ = ["serve"]


def serve(workspace: WorkspaceOpt = None,
          host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64,
                                               help="Server processes.")] = 1) -> None:
    """Serve the pages (log in at /) and the REST API (/api/v1, docs at /docs) over plain
    HTTP; put a TLS reverse proxy in front for other machines. Add users first with
    `cvm users add NAME --role ...`."""
    from cvm.api.server import serve as run_server

    ws = open_workspace(workspace)
    run_server(ws.path, host=host, port=port, workers=workers, pages=True,
               on_listen=lambda url: console.print(
                   f"cvm serve: pages at {url}/ , API at {url}/api/v1 (docs at {url}/docs); "
                   "press Ctrl+C to stop", markup=False, highlight=False, soft_wrap=True))

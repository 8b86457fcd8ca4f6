"""`serve`: the programme's API in one or more server processes.

With several processes, each one listens on the same port through its own socket
(``SO_REUSEPORT``), so the kernel spreads connections over the processes evenly. uvicorn's own
``--workers`` mode shares one listening socket instead, and whichever process is quickest to
accept takes the connection: measured here, 50 keep-alive clients ended up 45 on one process
and 5 on the other, so one process queued while the other idled. Where ``SO_REUSEPORT`` is
missing (Windows), uvicorn's mode is used.

A server process that dies is started again; SIGINT or SIGTERM stops them all, and server
processes whose parent was killed outright stop by themselves within a second.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cvm.errors import CvmError

__all__ = ["serve", "url"]

log = logging.getLogger("cvm.api")


def url(host: str, port: int) -> str:
    """The address a client uses for a server listening on `host`, `port`."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(workspace: Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          on_listen: Callable[[str], None] | None = None, pages: bool = False) -> None:
    """Serve the API of the workspace at `workspace` until interrupted, its programme's
    tables created or upgraded first (once, before any server process starts); with
    `pages`, the pages too (`cvm.web.create_site`).

    `on_listen` gets the server's URL once the port is bound (port 0: the one given)."""
    import uvicorn

    from cvm.workspace import Workspace

    prog = Workspace.open(workspace).programme
    prog.init()
    prog.close()
    announce = on_listen or (lambda _url: None)
    if workers == 1:
        try:
            sock = _bind(host, port, reuse_port=False)
        except OSError as exc:
            raise CvmError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        announce(url(host, sock.getsockname()[1]))
        uvicorn.Server(uvicorn.Config(_app(workspace, pages), log_level="warning")).run(
            sockets=[sock])
        return
    if not hasattr(socket, "SO_REUSEPORT"):
        os.environ["CVM_WORKSPACE"] = str(workspace)
        announce(url(host, port))
        factory = "cvm.web.app:workspace_site" if pages else "cvm.api.app:workspace_app"
        uvicorn.run(factory, factory=True, workers=workers, host=host,
                    port=port, log_level="warning")
        return
    try:
        _bind(host, port).close()  # fail here, once, if the port is taken
    except OSError as exc:
        raise CvmError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    announce(url(host, port))
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    restarts: list[float] = []

    def start() -> multiprocessing.Process:
        proc = ctx.Process(target=_worker, args=(str(workspace), host, port, os.getpid(), pages),
                           daemon=True)
        proc.start()
        return proc

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    restarts[:] = [t for t in restarts if time.monotonic() - t < 10]
                    restarts.append(time.monotonic())
                    if len(restarts) > 2 * workers:
                        raise RuntimeError(
                            f"server processes keep exiting (last with {proc.exitcode}): "
                            f"{len(restarts)} restarts in 10 s; run with --workers 1 to see why")
                    log.warning("server process %s exited with %s; starting another",
                                proc.pid, proc.exitcode)
                    procs[i] = start()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _bind(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _app(workspace: Path | str, pages: bool = False):
    from cvm.api.app import create_app
    from cvm.programme import Programme
    from cvm.workspace import Workspace

    ws = Workspace.open(workspace)
    if pages:
        from cvm.web.app import create_site

        return create_site(ws, warm=True)
    return create_app(Programme.from_workspace(ws))


def _worker(workspace: str, host: str, port: int, parent: int, pages: bool = False
            ) -> None:  # pragma: no cover (runs in a subprocess)
    import uvicorn

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM

    def orphaned() -> None:  # a parent killed outright (SIGKILL) cannot stop us: stop alone
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, daemon=True).start()
    sock = _bind(host, port)
    server = uvicorn.Server(uvicorn.Config(_app(workspace, pages), log_level="warning"))
    server.run(sockets=[sock])

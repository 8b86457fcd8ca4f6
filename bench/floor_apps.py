"""The HTTP stack without the ledger, for bench/programme_bench.py (skip: ``--skip-floor``).

Two apps answer the benchmark's earn and redeem requests (bench/programme_wrk.lua, write
mode) with a constant 201, so that the same load measured against them and against
``cvm programme serve`` tells how much of a write's time the stack itself takes:

* ``bare``: a plain ASGI callable (uvicorn alone: it reads the body, ignores it, answers);
* ``fastapi``: FastAPI with the same route signatures as cvm's earn and redeem (path id,
  pydantic body models from `cvm.api.schemas`, the Idempotency-Key header, sync routes in
  anyio's thread pool of ``programme.threads`` threads), minus the key check and the ledger.

Run one of them in ``processes`` server processes, each on its own ``SO_REUSEPORT`` socket,
as ``cvm programme serve`` does::

    python bench/floor_apps.py bare|fastapi PORT PROCESSES
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# cvm's own parameter types (module level: the routes' annotations are strings, resolved in
# this module's namespace)
from cvm.api.deps import IdemKey  # noqa: E402
from cvm.api.routes.members import MemberId  # noqa: E402
from cvm.api.schemas import EarnIn, RedeemIn  # noqa: E402

ANSWER = b'{"operation_id":1,"points":12,"replayed":false}'


async def bare(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": ANSWER})


def fastapi_app():
    import anyio
    from fastapi import FastAPI
    from fastapi.responses import Response

    from cvm.config import ProgrammeSettings

    threads = ProgrammeSettings().threads

    @contextlib.asynccontextmanager
    async def lifespan(app):
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/members/{member_id}/earn", status_code=201)
    def earn(member_id: MemberId, body: EarnIn, key: IdemKey = None):
        return Response(ANSWER, status_code=201, media_type="application/json")

    @app.post("/api/v1/members/{member_id}/redeem", status_code=201)
    def redeem(member_id: MemberId, body: RedeemIn, key: IdemKey = None):
        return Response(ANSWER, status_code=201, media_type="application/json")

    return app


def _serve(kind: str, port: int) -> None:  # one server process
    import uvicorn

    from cvm.api.server import _bind

    app = bare if kind == "bare" else fastapi_app()
    sock = _bind("127.0.0.1", port)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def main() -> None:
    kind, port, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind not in ("bare", "fastapi"):
        sys.exit("usage: floor_apps.py bare|fastapi PORT PROCESSES")
    # SIGTERM exits normally, so that multiprocessing stops the (daemon) server processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_serve, args=(kind, port), daemon=True)
             for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()

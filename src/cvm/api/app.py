"""`create_app`: the programme's REST API, built on demand (nothing at import).

Every error answers with one shape, ``{"error": {"code": ..., "message": ...}}``: cvm's
errors with their own status (401, 403, 404, 409, 422...), request validation with 422,
unknown routes with 404 and anything unexpected with 500 (the message then names no
internals).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cvm.api.routes import members, programme
from cvm.api.schemas import ErrorOut
from cvm.config import ProgrammeSettings, Settings
from cvm.errors import CvmError, ReplayedError
from cvm.programme import Programme

__all__ = ["create_app", "workspace_app"]

log = logging.getLogger("cvm.api")
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
}


def _error(status: int, code: str, message: str, headers=None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def create_app(config: Programme | Settings | ProgrammeSettings | str | Any) -> FastAPI:
    """The API over a programme, given it, a `Workspace`, settings, or a database URL."""
    if isinstance(config, Programme):
        prog = config
    elif hasattr(config, "settings") and hasattr(config, "path"):      # a Workspace
        prog = Programme.from_workspace(config)
    elif isinstance(config, str):
        prog = Programme.from_url(config)
    else:
        s = config.programme if isinstance(config, Settings) else config
        if not s.database_url:
            raise CvmError(
                "create_app needs programme.database_url, or a Programme "
                "(Programme.from_workspace(ws)) for a workspace's SQLite file"
            )
        prog = Programme.from_url(s.database_url, s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        # sync routes run in anyio's worker threads: as many as programme.threads at once
        anyio.to_thread.current_default_thread_limiter().total_tokens = prog.settings.threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="cvm loyalty programme",
        version="1",
        description="Members, points ledger, tiers, partners and reports. Send "
        "`Authorization: Bearer <key>`; writes take an "
        "`Idempotency-Key`.",
        responses={code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)},
    )
    app.state.programme = prog
    app.include_router(members.router, prefix="/api/v1")
    app.include_router(programme.router, prefix="/api/v1")

    @app.exception_handler(CvmError)
    async def _cvm(request: Request, exc: CvmError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        if isinstance(exc, ReplayedError):
            headers = {"Idempotent-Replayed": "true"}
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return _error(
            exc.status_code,
            _CODES.get(exc.status_code, "http_error"),
            str(exc.detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if p != "body")
            parts.append(f"{loc}: {err['msg']}")
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # a write's COMMIT may have gone through before the failure: say how to find out
        return _error(500, "internal_error", "internal error; to repeat a write, send it with "
                      "the same Idempotency-Key: a booked write is replayed, never booked twice")

    return app


def workspace_app() -> FastAPI:
    """The API of the workspace named by ``CVM_WORKSPACE`` (for ``uvicorn --factory``, used
    by ``cvm programme serve --workers N``)."""
    import os

    from cvm.workspace import Workspace

    return create_app(Programme.from_workspace(Workspace.open(os.environ["CVM_WORKSPACE"])))

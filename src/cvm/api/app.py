"""`create_app`: the programme's REST API, built on demand (nothing at import).

Every error answers with one shape, ``{"error": {"code": ..., "message": ...}}``: cvm's
errors with their own status (401, 403, 404, 409, 429...), a request refused for its
content with 422 (request validation, and cvm's input errors), unknown routes with 404 and
anything unexpected with 500 (the message then names no internals). 400 is only for a
request the HTTP layer cannot read (`cvm.api.guard`). A 404 for an unknown member (or one
not proven present) counts against the key's failed look-ups (429 past the limit).
"""

from __future__ import annotations

import contextlib
import html
import logging
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cvm.api.guard import PRINCIPAL, Guard
from cvm.api.routes import members, programme, work
from cvm.api.schemas import ErrorOut
from cvm.config import ProgrammeSettings, Settings
from cvm.errors import CvmError, ReplayedError
from cvm.programme import Programme
from cvm.programme.admin import LookupLimitError
from cvm.programme.apikeys import LIMITED_ROLES
from cvm.programme.idempotency import http_status
from cvm.programme.proofs import MemberNotFoundError

__all__ = ["create_app", "docs_page", "workspace_app"]

log = logging.getLogger("cvm.api")
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_request",
    429: "rate_limited",
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
        responses={code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 429)},
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: blank offline
        redoc_url=None,
    )
    app.state.programme = prog
    app.add_middleware(Guard, programme=prog)
    app.include_router(members.router, prefix="/api/v1")
    app.include_router(programme.router, prefix="/api/v1")
    app.include_router(work.router, prefix="/api/v1")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))

    @app.exception_handler(CvmError)
    async def _cvm(request: Request, exc: CvmError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        if isinstance(exc, ReplayedError):
            headers = {"Idempotent-Replayed": "true"}
        elif isinstance(exc, LookupLimitError):
            headers = {"Retry-After": str(exc.retry_after)}
        elif (isinstance(exc, MemberNotFoundError) and PRINCIPAL in request.scope
              and request.scope[PRINCIPAL].role in LIMITED_ROLES):
            try:
                await run_in_threadpool(prog.record_lookup_failure, request.scope[PRINCIPAL])
            except CvmError as failed:   # the 404 is still the answer
                log.warning("a failed member look-up was not counted: %s", failed)
        return JSONResponse(exc.to_dict(), status_code=http_status(exc), headers=headers)

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


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{html.escape(name)}">{html.escape(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(html.escape(repr(v)) for v in schema["enum"])
    return html.escape(str(schema.get("type", "any")))


def _text(value: str | None) -> str:
    return html.escape(value or "").replace("\n", "<br>")


def docs_page(spec: dict) -> str:
    """The API reference as one HTML page made from the OpenAPI document: each operation
    with its parameters, body, responses and authentication; no script, no other host."""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>"
           f"{html.escape(spec['info']['title'])}</title><style>body{{font-family:sans-serif;"
           "max-width:60em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid "
           "#ccc;padding:2px 6px;text-align:left}code{background:#eee}</style></head><body>",
           f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}"
           f"</h1><p>{_text(spec['info'].get('description'))}</p>"
           "<p>The machine-readable document: <a href='/openapi.json'>/openapi.json</a>.</p>"]
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            out.append(f"<h2><code>{method.upper()} {html.escape(path)}</code> "
                       f"{html.escape(op.get('summary', ''))}</h2>"
                       f"<p>{_text(op.get('description'))}</p>")
            if op.get("security"):
                out.append("<p>Authentication: <code>Authorization: Bearer &lt;key&gt;"
                           "</code></p>")
            params = op.get("parameters", [])
            if params:
                out.append("<table><tr><th>parameter</th><th>in</th><th>type</th>"
                           "<th>required</th><th>description</th></tr>")
                out += [f"<tr><td>{html.escape(q['name'])}</td><td>{q['in']}</td>"
                        f"<td>{_type(q.get('schema', {}))}</td><td>{q.get('required', False)}"
                        f"</td><td>{_text(q.get('description'))}</td></tr>" for q in params]
                out.append("</table>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                out.append(f"<p>Body (JSON): {_type(body.get('schema', {}))}</p>")
            out.append("<p>Responses: " + ", ".join(
                f"{code} {html.escape(r.get('description', ''))}"
                for code, r in op.get("responses", {}).items()) + "</p>")
    out.append("<h2>Schemas</h2>")
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        out.append(f"<h3 id='schema-{html.escape(name)}'>{html.escape(name)}</h3>"
                   f"<p>{_text(schema.get('description'))}</p><table><tr><th>field</th>"
                   "<th>type</th><th>required</th><th>description</th></tr>")
        out += [f"<tr><td>{html.escape(f)}</td><td>{_type(s)}</td><td>{f in required}</td>"
                f"<td>{_text(s.get('description'))}</td></tr>"
                for f, s in schema.get("properties", {}).items()]
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)


def workspace_app() -> FastAPI:
    """The API of the workspace named by ``CVM_WORKSPACE`` (for ``uvicorn --factory``, used
    by ``cvm programme serve --workers N``)."""
    import os

    from cvm.workspace import Workspace

    return create_app(Programme.from_workspace(Workspace.open(os.environ["CVM_WORKSPACE"])))

"""`Guard`: what every request passes before FastAPI reads it.

* A request with a body to the API (``/api/...``) is authenticated from its headers
  first: without a valid key it gets 401 and its body is never read. The principal is
  handed on to the routes' role check (`cvm.api.deps.role`), which does not ask again.
* A body is at most `MAX_BODY_BYTES`: 413 at once when ``Content-Length`` says more, or as
  soon as a chunked body has brought more (nothing more is read).
* A JSON body with a key twice (``{"points": 1, "points": 900}``) is refused with 422:
  the json module would silently keep the last one.
* Every response carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cvm.errors import AuthenticationError

__all__ = ["Guard", "MAX_BODY_BYTES", "PRINCIPAL"]

#: the largest request body taken: the API's payloads are a few hundred bytes
MAX_BODY_BYTES = 64 * 1024
#: where the principal authenticated here is left in the ASGI scope
PRINCIPAL = "cvm.principal"


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _error(status: int, code: str, message: str, headers=None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def _token(authorization: str | None) -> str | None:
    """The credentials of ``Authorization: Bearer <key>`` (as `fastapi.security.HTTPBearer`
    reads them), else None."""
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


class Guard:
    """ASGI middleware over the API: authentication before the body, size limit, duplicate
    JSON keys, nosniff (see the module's doc)."""

    def __init__(self, app, programme, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.programme = programme
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_nosniff(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-content-type-options", b"nosniff")]
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and (length is None or length.strip() == "0"):
            return await self.app(scope, receive, send_nosniff)    # no body
        if scope["path"].startswith("/api/"):
            try:
                scope[PRINCIPAL] = await self._authenticate(headers.get("authorization"))
            except AuthenticationError as exc:
                return await JSONResponse(exc.to_dict(), status_code=exc.http_status, headers={
                    "WWW-Authenticate": "Bearer"})(scope, receive, send_nosniff)
        def too_large():  # built only when needed: most requests are small
            return _error(413, "too_large", f"the request body is larger than "
                          f"{self.max_body} bytes")
        if length is not None and not chunked:
            if not length.strip().isdigit():
                return await _error(400, "bad_request", "Content-Length is not a number")(
                    scope, receive, send_nosniff)
            if int(length) > self.max_body:
                return await too_large()(scope, receive, send_nosniff)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await too_large()(scope, receive, send_nosniff)
        if "json" in headers.get("content-type", ""):
            try:
                json.loads(body, object_pairs_hook=_no_duplicates)
            except _DuplicateKey as dup:
                return await _error(422, "invalid_request", f"the JSON body has the key "
                                    f"{dup.args[0]!r} twice")(scope, receive, send_nosniff)
            except ValueError:
                pass   # not JSON at all: FastAPI answers it (422)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return await self.app(scope, replay, send_nosniff)

    async def _authenticate(self, authorization: str | None):
        return await run_in_threadpool(self.programme.authenticate, _token(authorization))

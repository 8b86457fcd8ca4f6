"""`create_site`: one FastAPI app with the pages and every REST route under ``/api/v1``.

The REST API is `cvm.api.create_app` over the workspace's programme, unchanged (API keys
keep working for machine clients). The pages are added beside it: the login, the
routers of `cvm.web.routes`, the static files (ours, htmx, and plotly.js from the installed
plotly package: nothing from another host). An error on a page is answered as a page (a
login redirect, or the message with its status); on ``/api`` as the API's JSON.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cvm.errors import CvmError
from cvm.programme.idempotency import http_status
from cvm.web.auth import Redirect, SecurityHeaders
from cvm.web.auth import router as auth_router

__all__ = ["create_site", "workspace_site"]

_PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_site(ws, warm: bool = False) -> FastAPI:
    """The pages and the REST API of a workspace; with ``warm``, the analytics pages' data
    is prepared in the background from now on (`cvm.web.warm`)."""
    from cvm.api.app import create_app
    from cvm.web.routes import ROUTERS

    app = create_app(ws)
    app.state.workspace = ws
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(packages=[("cvm.web", "static")]), name="static")

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_PLOTLY, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.include_router(auth_router)
    for router in ROUTERS:
        app.include_router(router)
    _page_errors(app)
    if warm:
        from cvm.web.warm import start

        start(ws)
    return app


def _page_errors(app: FastAPI) -> None:
    """Errors on pages answered as pages; the API's handlers keep ``/api`` and the rest."""
    from cvm.web.render import page

    api = dict(app.exception_handlers)

    def handler(kind):
        async def answer(request: Request, exc: Exception):
            path = request.url.path
            if path.startswith(("/api/", "/static/", "/assets/", "/openapi", "/docs")):
                return await api[kind](request, exc)
            htmx = request.headers.get("hx-request") == "true"
            if isinstance(exc, Redirect):
                if htmx:    # the whole page goes to the login, then back to the page
                    return Response(status_code=204,
                                    headers={"HX-Redirect": _htmx_login(request)})
                return RedirectResponse(exc.location, status_code=303)
            if isinstance(exc, CvmError):
                status, message = http_status(exc), str(exc)
            elif isinstance(exc, StarletteHTTPException):
                status, message = exc.status_code, str(exc.detail)
            elif isinstance(exc, RequestValidationError):
                status, message = 422, "; ".join(e["msg"] for e in exc.errors())
            else:
                return await api[kind](request, exc)
            if not hasattr(request.state, "lang"):
                request.state.lang = app.state.workspace.settings.language
            if htmx:    # the message above the page (#flash), the element left as it was
                resp = page(request, "_flash.html", status_code=status, message=message)
                resp.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
                return resp
            return page(request, "error.html", status_code=status, status=status,
                        message=message)
        return answer

    for kind in (CvmError, StarletteHTTPException, RequestValidationError):
        app.exception_handlers[kind] = handler(kind)



def _htmx_login(request: Request) -> str:
    """The login page, then back to the page an htmx request came from."""
    current = urlsplit(request.headers.get("hx-current-url", ""))
    back = current.path + (f"?{current.query}" if current.query else "") or "/"
    return f"/login?next={quote(back, safe='')}"


def workspace_site() -> FastAPI:
    """The site of the workspace named by ``CVM_WORKSPACE`` (for ``uvicorn --factory``)."""
    import os

    from cvm.workspace import Workspace

    return create_site(Workspace.open(os.environ["CVM_WORKSPACE"]), warm=True)

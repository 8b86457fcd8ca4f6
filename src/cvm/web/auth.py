"""Logging in and out, the session behind each page, CSRF checks, security headers.

* The session cookie ``cvm_session`` is HttpOnly, SameSite=Lax, Path=/, expires with the
  session (``web.session_hours``), and Secure when ``web.secure_cookies`` is on.
* Every form of a logged-in page carries the session's CSRF token (a hidden field
  ``csrf_token``; htmx sends it as ``X-CSRF-Token``); a POST without the right one is
  refused (403). The login form, before any session exists, is protected the same way with a
  token in a short-lived cookie of its own (double submit).
* `page_user(*roles)` is the dependency of every page: no session sends the browser to
  ``/login?next=...``; a role not among `roles` gets 403. ``?lang=zh|en`` switches the
  language and remembers it for the session (and as the user's preference).
* `SecurityHeaders` adds a Content-Security-Policy that allows no other origin (scripts and
  styles from this server only; Plotly's inline styles allowed), and the other headers.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cvm.errors import AuthenticationError, CvmError, PermissionDeniedError
from cvm.i18n import language
from cvm.users import SESSION_COOKIE, LoginLimitError, Session

__all__ = ["COOKIE", "SecurityHeaders", "page_user", "check_csrf", "read_form", "router",
           "Redirect"]

COOKIE = SESSION_COOKIE
LOGIN_CSRF = "cvm_login_csrf"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = [(b"content-security-policy", CSP.encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]

router = APIRouter(include_in_schema=False)


class SecurityHeaders:
    """ASGI middleware: the security headers on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in _HEADERS if k not in have]]
            await send(message)

        return await self.app(scope, receive, send_headers)


class Redirect(CvmError):
    """Answered with a redirect to `location` (a page asked for without a session)."""

    http_status = 303

    def __init__(self, location: str):
        super().__init__(f"see {location}")
        self.location = location


def _ws(request: Request):
    return request.app.state.workspace


def _safe_next(target: str | None) -> str:
    """A local path to go back to after the login, never another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def page_user(*roles: str):
    """The dependency type of a page open to `roles`: the logged-in user's `Session`."""

    async def dependency(request: Request) -> Session:
        ws = _ws(request)
        token = request.cookies.get(COOKIE)
        session = await run_in_threadpool(ws.users.session, token)
        if session is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Redirect(f"/login?next={quote(here, safe='')}")
        wanted = request.query_params.get("lang")
        lang = session.language or ws.settings.language
        if wanted:
            lang = language(wanted)      # InputError (422) for a language cvm lacks
            if lang != session.language:
                await run_in_threadpool(ws.users.set_language, token, lang)
        request.state.session = session
        request.state.lang = lang
        if session.role not in roles:
            raise PermissionDeniedError(
                f"a {session.role} may not open {request.url.path}")
        return session

    return Annotated[Session, Depends(dependency)]


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the last value of each)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def check_csrf(request: Request, session: Session, form: dict[str, str]) -> None:
    sent = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise PermissionDeniedError("the form's security token is missing or out of date; "
                                    "reload the page and try again")


def _login_lang(request: Request) -> str:
    wanted = request.query_params.get("lang")
    try:
        return language(wanted) if wanted else _ws(request).settings.language
    except CvmError:
        return _ws(request).settings.language


def _login_page(request: Request, error: str | None = None, status: int = 200,
                username: str = ""):
    from cvm.web.render import page

    token = secrets.token_urlsafe(32)
    request.state.login_csrf = token
    request.state.lang = _login_lang(request)
    resp = page(request, "login.html", status_code=status, error=error, username=username,
                next=_safe_next(request.query_params.get("next")))
    resp.set_cookie(LOGIN_CSRF, token, max_age=3600, httponly=True, samesite="strict",
                    secure=_ws(request).settings.web.secure_cookies, path="/login")
    return resp


@router.get("/login")
def login_form(request: Request):
    return _login_page(request)


@router.post("/login")
async def login(request: Request):
    form = await read_form(request)
    sent, expected = form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF, "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        return _login_page(request, "The form was out of date; please log in again.", 403)
    ws = _ws(request)
    username = form.get("username", "").strip()
    try:
        token, session = await run_in_threadpool(ws.users.login, username,
                                                 form.get("password", ""))
    except LoginLimitError:
        return _login_page(request, "Too many failed logins; try again later.", 429,
                           username)
    except AuthenticationError:
        return _login_page(request, "Wrong username or password.", 401, username)
    resp = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    web = ws.settings.web
    resp.set_cookie(COOKIE, token, max_age=int(web.session_hours * 3600), httponly=True,
                    samesite="lax", secure=web.secure_cookies, path="/")
    resp.delete_cookie(LOGIN_CSRF, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request):
    ws = _ws(request)
    token = request.cookies.get(COOKIE)
    session = await run_in_threadpool(ws.users.session, token)
    if session is not None:
        check_csrf(request, session, await read_form(request))
        await run_in_threadpool(ws.users.logout, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp

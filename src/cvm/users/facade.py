"""`UsersFacade`: users, logins and sessions in the operational database.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile)
and re-hashed on login when those defaults move on. A session is a random token in an
HttpOnly cookie; only its sha256 is stored, beside the session's CSRF token, language and
expiry. A username gets `WebSettings.login_failures` wrong passwords per
`login_window_minutes`; after that every login of it is refused (even with the right
password) until the window ends. An unknown username costs the same hash check as a known
one, so the answer's timing does not tell which usernames exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from cvm._time import utcnow
from cvm.errors import AuthenticationError, ConflictError, InputError, NotFoundError
from cvm.i18n import language as _language
from cvm.store.tables import users as us
from cvm.store.tables import web_sessions as ss

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["ROLES", "SESSION_COOKIE", "LoginLimitError", "Session", "UsersFacade"]

ROLES = ("admin", "manager", "analyst", "staff")
#: the cookie holding a session's token (the pages set it; the REST lists read it too)
SESSION_COOKIE = "cvm_session"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,199}$")
_MIN_PASSWORD = 8
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLimitError(AuthenticationError):
    """Too many failed logins of one username in the window (429)."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        #: seconds until the username may try again
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    """A logged-in user, as the pages see them."""

    user_id: int
    username: str
    role: str
    team: str | None
    language: str | None
    csrf_token: str
    expires_at: dt.datetime


class UsersFacade:
    """Add and list users; log in, look sessions up, log out."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    @property
    def store(self):
        """The operational database (shared with opportunities and cases)."""
        return self._ws.opportunities.store

    @cached_property
    def _settings(self):
        return self._ws.settings.web

    # -- users ---------------------------------------------------------------------------
    def add(self, username: str, password: str, role: str, team: str | None = None,
            language: str | None = None) -> dict:
        """A new user; `ConflictError` if the name is taken, `InputError` for a bad field."""
        if not _NAME.match(username or ""):
            raise InputError(f"username {username!r}: 1-200 letters, digits or . _ @ : + - "
                             "starting with a letter or digit")
        if role not in ROLES:
            raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
        _check_password(password)
        lang = None if language is None else _language(language)
        row = {"username": username, "role": role, "team": team or None, "language": lang,
               "password_hash": _hasher.hash(password), "created_at": utcnow()}
        try:
            with self.store.write() as conn:
                row["user_id"] = conn.execute(insert(us).values(**row)).inserted_primary_key[0]
        except IntegrityError:
            raise ConflictError(f"a user named {username!r} exists already") from None
        return {k: v for k, v in row.items() if k != "password_hash"}

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        with self.store.write() as conn:
            done = conn.execute(update(us).where(us.c.username == username).values(
                password_hash=_hasher.hash(password), login_failures=0, failures_since=None))
            if not done.rowcount:
                raise NotFoundError(f"no user named {username!r}")
            uid = conn.execute(select(us.c.user_id).where(us.c.username == username)).scalar()
            conn.execute(delete(ss).where(ss.c.user_id == uid))

    def disable(self, username: str) -> None:
        """The user can no longer log in; their sessions end at once."""
        with self.store.write() as conn:
            uid = conn.execute(select(us.c.user_id).where(us.c.username == username)).scalar()
            if uid is None:
                raise NotFoundError(f"no user named {username!r}")
            conn.execute(update(us).where(us.c.user_id == uid).values(disabled_at=utcnow()))
            conn.execute(delete(ss).where(ss.c.user_id == uid))

    def list(self) -> pd.DataFrame:
        cols = [us.c.username, us.c.role, us.c.team, us.c.language, us.c.created_at,
                us.c.disabled_at]
        with self.store.read() as conn:
            rows = conn.execute(select(*cols).order_by(us.c.username)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in cols])

    def team_members(self, team: str) -> list[str]:
        with self.store.read() as conn:
            return list(conn.execute(select(us.c.username).where(
                us.c.team == team, us.c.disabled_at.is_(None)).order_by(us.c.username))
                .scalars())

    def work_owners(self, session: Session) -> list[str] | None:
        """Whose opportunities and cases a user sees: None for everyone (admin, analyst, a
        manager without a team); a manager's team (its members and the team's own queue);
        a staff user's own."""
        if session.role == "staff":
            return [session.username]
        if session.role == "manager" and session.team:
            return [session.team, *self.team_members(session.team)]
        return None

    # -- sessions ------------------------------------------------------------------------
    def login(self, username: str, password: str, now: dt.datetime | None = None
              ) -> tuple[str, Session]:
        """A new session's token (for the cookie) and the session; `AuthenticationError`
        for a wrong username or password, `LoginLimitError` past the limit."""
        now = now or utcnow()
        window = dt.timedelta(minutes=self._settings.login_window_minutes)
        with self.store.read() as conn:
            user = conn.execute(select(us).where(us.c.username == username)).mappings().first()
        if user is None or user["disabled_at"] is not None:
            _verify(_dummy_hash(), password)
            raise AuthenticationError("wrong username or password")
        failures, since = user["login_failures"], user["failures_since"]
        if since is None or now - since >= window:
            failures, since = 0, None
        if failures >= self._settings.login_failures:
            wait = int((since + window - now).total_seconds()) + 1
            raise LoginLimitError(f"too many failed logins for {username!r}; try again in "
                                  f"{wait // 60 + 1} minutes", retry_after=wait)
        if not _verify(user["password_hash"], password):
            with self.store.write() as conn:
                conn.execute(update(us).where(us.c.user_id == user["user_id"]).values(
                    login_failures=failures + 1, failures_since=since or now))
            raise AuthenticationError("wrong username or password")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + dt.timedelta(hours=self._settings.session_hours)
        values = {"login_failures": 0, "failures_since": None}
        if _hasher.check_needs_rehash(user["password_hash"]):
            values["password_hash"] = _hasher.hash(password)
        with self.store.write() as conn:
            conn.execute(update(us).where(us.c.user_id == user["user_id"]).values(**values))
            conn.execute(delete(ss).where(ss.c.expires_at <= now))
            conn.execute(insert(ss).values(token_hash=_digest(token), user_id=user["user_id"],
                                           csrf_token=csrf, language=user["language"],
                                           created_at=now, expires_at=expires))
        return token, Session(user["user_id"], user["username"], user["role"], user["team"],
                              user["language"], csrf, expires)

    def session(self, token: str | None, now: dt.datetime | None = None) -> Session | None:
        """The live session of a cookie's token, else None (unknown, expired, disabled)."""
        if not token:
            return None
        now = now or utcnow()
        q = (select(us.c.user_id, us.c.username, us.c.role, us.c.team, ss.c.language,
                    ss.c.csrf_token, ss.c.expires_at)
             .join(us, us.c.user_id == ss.c.user_id)
             .where(ss.c.token_hash == _digest(token), ss.c.expires_at > now,
                    us.c.disabled_at.is_(None)))
        with self.store.read() as conn:
            r = conn.execute(q).mappings().first()
        return None if r is None else Session(**dict(r))

    def set_language(self, token: str, language: str) -> str:
        """Remember a language for the session (and as the user's preference)."""
        lang = _language(language)
        with self.store.write() as conn:
            uid = conn.execute(select(ss.c.user_id).where(
                ss.c.token_hash == _digest(token))).scalar()
            if uid is None:
                raise AuthenticationError("no such session")
            conn.execute(update(ss).where(ss.c.token_hash == _digest(token)).values(
                language=lang))
            conn.execute(update(us).where(us.c.user_id == uid).values(language=lang))
        return lang

    def logout(self, token: str | None) -> None:
        if token:
            with self.store.write() as conn:
                conn.execute(delete(ss).where(ss.c.token_hash == _digest(token)))


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < _MIN_PASSWORD:
        raise InputError(f"a password needs at least {_MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InputError("a password has at most 1024 characters")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False

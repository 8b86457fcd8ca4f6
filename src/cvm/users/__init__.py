"""The people who log in to the pages: users with a role and a team, passwords hashed with
argon2, sessions with a CSRF token, and a limit on failed logins; `UsersFacade` (``ws.users``).

Roles: ``admin`` (users, programme administration, every page), ``manager`` (every page,
and the work of their team), ``analyst`` (every analytics page, all work read-only) and
``staff`` (their own opportunities and cases, customer pages). A staff user's name is the
owner name the opportunity and case rules assign work to.
"""

from cvm.users.facade import (
    ROLES,
    SESSION_COOKIE,
    LoginLimitError,
    Session,
    UsersFacade,
)

__all__ = ["ROLES", "SESSION_COOKIE", "LoginLimitError", "Session", "UsersFacade"]

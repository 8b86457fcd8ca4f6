"""A case's life: open -> in_progress -> resolved -> closed, or reopened when the follow-up
answer is still unhappy. Resolving needs a coded root cause and the action taken."""

from __future__ import annotations

from cvm.errors import InputError

__all__ = ["STATUSES", "NEXT", "OPEN_STATUSES", "check_move"]

STATUSES = ("open", "in_progress", "resolved", "closed", "reopened")
#: From each status, where a case may go.
NEXT = {"open": ("in_progress", "resolved"), "in_progress": ("resolved",),
        "resolved": ("closed", "reopened"), "closed": ("reopened",),
        "reopened": ("in_progress", "resolved")}
#: Statuses in which the case still waits for its owner (and can be overdue).
OPEN_STATUSES = ("open", "in_progress", "reopened")


def check_move(case_id, current: str, to: str, root_cause: str | None,
               action: str | None, causes: list[str]) -> None:
    """`InputError` naming what is wrong with moving case ``case_id`` to ``to``."""
    if to not in STATUSES:
        raise InputError(f"status {to!r} is not one of: {', '.join(STATUSES)}")
    if to not in NEXT[current]:
        raise InputError(f"case {case_id} is {current}; it can go to "
                         f"{' or '.join(NEXT[current])}, not {to}")
    if to == "resolved":
        if not root_cause:
            raise InputError(f"case {case_id}: resolving needs a root cause: one of "
                             f"{', '.join(causes)}")
        if root_cause not in causes:
            raise InputError(f"case {case_id}: root cause {root_cause!r} is not one of "
                             f"{', '.join(causes)} (setting cases.root_causes)")
        if not action or not action.strip():
            raise InputError(f"case {case_id}: resolving needs the action taken")

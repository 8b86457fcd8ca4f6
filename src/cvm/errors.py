"""Every error cvm raises on purpose: one tree, each subclassing a built-in too.

A `CvmError` is a user error: the CLI prints its message and exits with `exit_code`
(no traceback unless ``--debug``), the REST API answers with `http_status` and the
JSON envelope from `CvmError.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CvmError",
    "ConfigError",
    "WorkspaceError",
    "NotFoundError",
    "InputError",
    "InvalidParameterError",
    "Problem",
    "ValidationError",
    "EngineUnavailableError",
    "NotFittedError",
    "ConvergenceError",
    "CvmWarning",
    "InconsistentJudgementsWarning",
    "SmallSampleWarning",
    "ConflictError",
    "PointsLimitError",
    "InsufficientPointsError",
    "IdempotencyConflictError",
    "ReplayedError",
    "AuthenticationError",
    "PermissionDeniedError",
    "StoreBusyError",
    "StoreUnavailableError",
]


class CvmError(Exception):
    """Root of cvm's errors: a message meant for the person who ran the command."""

    exit_code: int = 2
    http_status: int = 400
    code: str = "cvm_error"

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape used by the CLI's ``--format json`` and the REST API."""
        return {"error": {"code": self.code, "message": str(self)}}


class ConfigError(CvmError, ValueError):
    """A setting in cvm.toml (or passed in code) is missing, mistyped or out of range."""

    code = "config_error"


class WorkspaceError(CvmError, RuntimeError):
    """No workspace where one was expected, or one already where a new one was asked for."""

    code = "workspace_error"


class NotFoundError(CvmError, LookupError):
    """A named thing (table, customer, file) does not exist."""

    code = "not_found"
    http_status = 404


class InputError(CvmError, ValueError):
    """An argument or input file is unusable as a whole (unknown table, bad --map, bad file)."""

    code = "input_error"


class InvalidParameterError(InputError):
    """A model's setting is out of its range: "The 'x' parameter of Y must be ... Got ..."."""

    code = "invalid_parameter"


@dataclass(frozen=True)
class Problem:
    """One bad value in an input file: where it is, what came and what was expected."""

    row: int | None
    field: str
    value: Any
    expected: str

    def describe(self, file: str) -> str:
        where = f"row {self.row}" if self.row is not None else "header"
        shown = "(empty)" if self.value is None or self.value == "" else repr(self.value)
        return f"{file}, {where}, field '{self.field}': got {shown}, expected {self.expected}"


@dataclass
class _ValidationDetail:
    file: str
    table: str
    problems: list[Problem] = field(default_factory=list)
    total: int = 0


class ValidationError(CvmError, ValueError):
    """An input file has bad rows; nothing was stored.

    Carries the file, the first problems found (each naming row, field, value and what
    was expected) and how many there are in all.
    """

    code = "validation_error"
    http_status = 422

    def __init__(self, file: str, table: str, problems: list[Problem], total: int,
                 hint: str | None = None):
        self.file = file
        self.table = table
        self.problems = list(problems)
        self.total = total
        lines = [f"{file}: {total} problem{'s' if total != 1 else ''} in the {table} file; "
                 "nothing was stored."]
        lines += ["  " + p.describe(file) for p in self.problems]
        if total > len(self.problems):
            lines.append(f"  ... and {total - len(self.problems)} more")
        lines.append(hint or "Fix the file, or import with --reject-file BAD.csv to store the "
                     "good rows and write the bad ones there with a reason column.")
        super().__init__("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["error"].update(
            file=self.file,
            table=self.table,
            total=self.total,
            problems=[
                {"row": p.row, "field": p.field, "value": p.value, "expected": p.expected}
                for p in self.problems
            ],
        )
        return d


class EngineUnavailableError(CvmError, RuntimeError):
    """The configured analytics engine cannot start (e.g. Spark without Java or pyspark)."""

    code = "engine_unavailable"
    http_status = 503


class NotFittedError(CvmError, ValueError, AttributeError):
    """A model was used before `fit` was called."""

    code = "not_fitted"


class ConvergenceError(CvmError, ArithmeticError):
    """A maximum-likelihood fit did not converge; the message lists what to try."""

    code = "convergence_error"


class CvmWarning(UserWarning):
    """Root of cvm's warnings: a result was produced but needs the reader's attention."""


class InconsistentJudgementsWarning(CvmWarning):
    """AHP pairwise judgements whose consistency ratio is at or above the accepted limit."""


class SmallSampleWarning(CvmWarning):
    """A group or resample set is too small for the estimate to be trusted."""


class ConflictError(CvmError, ValueError):
    """A write clashes with what is stored (duplicate transaction, refund of a refunded sale)."""

    code = "conflict"
    http_status = 409


class PointsLimitError(InputError):
    """A write would put more points in one entry, or credit a member with more in all, than
    the ledger holds exactly (`cvm.programme.ledger.MAX_POINTS`); nothing is booked."""

    code = "points_limit"
    http_status = 422


class InsufficientPointsError(ConflictError):
    """A redemption or debit asks for more points than the member's active balance holds."""

    code = "insufficient_points"


class IdempotencyConflictError(ConflictError):
    """An Idempotency-Key was reused with a different request."""

    code = "idempotency_conflict"


class ReplayedError(CvmError):
    """The stored refusal of an earlier request with the same Idempotency-Key, answered again.

    A write refused for a business reason (409 short balance, 404 unknown sale, 422 bad
    amount) is remembered like a booked one, so a retry gets the same answer even if the
    state changed in between; send a new key for a new attempt.
    """

    def __init__(self, status: int, payload: dict[str, Any]):
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        super().__init__(error.get("message", "refused earlier"))
        self.http_status = int(status)
        self.code = str(error.get("code", "cvm_error"))
        self._payload = payload

    def to_dict(self) -> dict[str, Any]:
        return self._payload


class AuthenticationError(CvmError, PermissionError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"
    http_status = 401


class PermissionDeniedError(CvmError, PermissionError):
    """A valid API key whose role (or partner) may not do what was asked."""

    code = "forbidden"
    http_status = 403


class StoreBusyError(CvmError, RuntimeError):
    """The database stayed locked by other writers longer than the configured wait."""

    code = "busy"
    http_status = 503


class StoreUnavailableError(CvmError, ConnectionError):
    """The connection to the database broke or could not be made (a restart, a failover)."""

    code = "unavailable"
    http_status = 503

"""The closed loop: cases opened by detractor answers, complaints and breaches of service
standards, worked to a coded root cause, followed up, escalated when overdue; ``ws.cases``."""

from cvm.cases.lifecycle import NEXT, STATUSES

__all__ = ["NEXT", "STATUSES"]

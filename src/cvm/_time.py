"""Lengths of time: the one days-per-month (and -year) every model and report uses; the
current time in UTC and whole calendar months added to a moment.

A month is 365.2425/12 days (the Gregorian mean), as in Fader & Hardie's CDNOW summaries.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "PERIOD_DAYS", "UNIT_DAYS", "add_months",
           "period_length", "utcnow"]

DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

#: Units of recency, age and tenure, in days.
UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": DAYS_PER_YEAR}

#: Reporting periods (settings ``period``), in days.
PERIOD_DAYS = {"week": 7.0, "month": DAYS_PER_MONTH, "quarter": DAYS_PER_YEAR / 4,
               "year": DAYS_PER_YEAR}


def period_length(period: str, unit: str) -> float:
    """Length of one reporting period in ``unit`` (e.g. a month in weeks: 4.348...)."""
    return PERIOD_DAYS[period] / UNIT_DAYS[unit]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what the programme books and compares)."""
    return datetime.now(UTC)


def add_months(when: datetime, months: int) -> datetime:
    """`when` moved by whole calendar months, the day clamped to the month's last day."""
    total = when.year * 12 + (when.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = [31, 29 if (year % 4 == 0 and (year % 100 or year % 400 == 0)) else 28, 31, 30, 31,
            30, 31, 31, 30, 31, 30, 31][month - 1]
    return when.replace(year=year, month=month, day=min(when.day, last))

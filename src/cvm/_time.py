"""Lengths of time: the one days-per-month (and -year) every model and report uses.

A month is 365.2425/12 days (the Gregorian mean), as in Fader & Hardie's CDNOW summaries.
"""

from __future__ import annotations

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "PERIOD_DAYS", "UNIT_DAYS", "period_length"]

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

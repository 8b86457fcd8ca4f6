"""``ws.service``: service standards, compliance with them, and complaints, on a workspace."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa

from cvm._dates import as_date
from cvm.errors import InputError, WorkspaceError
from cvm.service.clock import Calendar
from cvm.service.compliance import (
    breach_list,
    compliance_table,
    group_columns,
    statuses,
)
from cvm.service.standards import Standard, standards_from

if TYPE_CHECKING:
    from cvm.service.complaints import ComplaintViews
    from cvm.workspace import Workspace

__all__ = ["ServiceFacade", "STANDARD_VIEWS", "parse_as_of"]

#: ``cvm service standards --view``
STANDARD_VIEWS = ("compliance", "breaches", "list")


def parse_as_of(text: str | dt.datetime | dt.date | None,
                zone: str = "UTC") -> dt.datetime | None:
    """An as-of time: a date-time, or a date (then its end, 23:59:59); a time with an
    offset is converted to the workspace's time zone ``zone`` (stored times are naive in
    it)."""
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, dt.date):
        return dt.datetime.combine(text, dt.time(23, 59, 59))
    else:
        try:
            if len(text.strip()) == 10:
                return dt.datetime.combine(dt.date.fromisoformat(text.strip()),
                                           dt.time(23, 59, 59))
            value = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise InputError(f"--as-of {text!r}: expected YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM[:SS]") from None
    if value.tzinfo is not None:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return value


class ServiceFacade:
    """Service standards and compliance, complaints and what follows them."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    # ---- standards --------------------------------------------------------------------
    def standards(self) -> list[Standard]:
        """The workspace's standards (``[service.standards]``), each with its clock."""
        s = self._ws.settings
        return standards_from(s.service, s.timezone)

    def _interactions(self):
        ws = self._ws
        if not ws.has_rows("interactions"):
            raise WorkspaceError(f"{ws.path}: no service interactions imported yet; import "
                                 "them with `cvm import interactions FILE`")
        return ws.table("interactions")

    def as_of(self, as_of: str | dt.datetime | dt.date | None = None) -> dt.datetime:
        """``as_of``, or the latest time in the interactions (opened, answered, resolved)."""
        value = parse_as_of(as_of, self._ws.settings.timezone)
        if value is not None:
            return value
        t = self._interactions()
        row = t.aggregate(a=t.opened_at.max(), b=t.first_response_at.max(),
                          c=t.resolved_at.max()).to_pyarrow().to_pylist()[0]
        return max(v for v in row.values() if v is not None)

    def _calendars(self, standards: list[Standard], as_of: dt.datetime
                   ) -> dict[str, Calendar | None]:
        """Each business clock laid out from the first interaction's day to ``as_of``."""
        out: dict[str, Calendar | None] = {s.name: None for s in standards}
        business = [s for s in standards if not s.clock.is_elapsed]
        if business:
            t = self._interactions()
            first = t.opened_at.min().to_pyarrow().as_py()
            first = min(first.date(), as_of.date()) if first else as_of.date()
            made: dict[str, Calendar] = {}
            for s in business:
                if s.clock.name not in made:
                    made[s.clock.name] = s.clock.calendar(first, as_of.date())
                out[s.name] = made[s.clock.name]
        return out

    def _statuses(self, as_of: dt.datetime, by: list[str], standard: str | None = None):
        ws = self._ws
        standards = self.standards()
        if standard is not None:
            standards = [s for s in standards if s.name == standard]
            if not standards:
                raise InputError(f"no standard named {standard!r}; the standards are "
                                 f"{', '.join(s.name for s in self.standards())}")
        t = self._interactions()
        customers = ws.table("customers") if ws.has_rows("customers") else None
        period, groups = group_columns(
            by, list(customers.columns) if customers is not None else [])
        attrs = [g for g in groups if customers is not None and g in customers.columns
                 and g not in t.columns]
        if attrs:
            c = customers.select(c_customer_id=customers.customer_id, **{
                a: customers[a] for a in attrs})
            t = t.left_join(c, t.customer_id == c.c_customer_id).drop("c_customer_id")
        calendars = self._calendars(standards, as_of)
        by_clock: dict[str, list[Standard]] = {}
        for s in standards:  # one scan of the interactions per clock
            by_clock.setdefault(s.clock.name, []).append(s)
        parts = [statuses(t, group, as_of, calendars[group[0].name], period=period,
                          groups=tuple(groups), by_touchpoint="touchpoint" in groups)
                 for group in by_clock.values()]
        rows = parts[0]
        for p in parts[1:]:
            rows = rows.union(p)
        keys = ["touchpoint", *(["period_start"] if period else []),
                *(g for g in groups if g != "touchpoint")]
        return rows, standards, calendars, keys

    def compliance(self, as_of: str | dt.datetime | None = None,
                   by: list[str] | None = None) -> pa.Table:
        """Compliance per standard and touchpoint (and per period and group of ``by``: a
        period week, month, quarter or year; touchpoint, kind, category, outcome; or a
        customer attribute such as region): n, met, breached, pending, compliance with its
        95% interval, the target, median and 90th percentile time."""
        when = self.as_of(as_of)
        rows, standards, _, keys = self._statuses(when, list(by or []))
        return compliance_table(rows, standards, keys, every_standard=not by)

    def breaches(self, as_of: str | dt.datetime | None = None, by: list[str] | None = None,
                 standard: str | None = None,
                 since: str | dt.datetime | dt.date | None = None) -> pa.Table:
        """Every breach up to ``as_of``: standard, interaction, customer, value tier, when
        opened, due and answered, and how far over the limit; with ``since`` (a day: its
        start), only those of interactions opened at or after it."""
        when = self.as_of(as_of)
        rows, standards, calendars, _ = self._statuses(when, list(by or []), standard)
        if since is not None:
            start = since if isinstance(since, dt.datetime) else dt.datetime.combine(
                as_date(since, "since"), dt.time())
            rows = rows.filter(rows.opened_at >= start)
        return breach_list(rows, standards, calendars, self._tiers())

    def _tiers(self):
        """customer_id and value tier (`ws.value.customer_tiers`), or None without
        transactions."""
        if not self._ws.has_rows("transactions"):
            return None
        return self._ws.value.customer_tiers()

    def standards_view(self, view: str = "compliance", as_of: str | None = None,
                       by: list[str] | None = None) -> pa.Table:
        """The table `cvm service standards --view` shows: compliance, breaches, or the
        list of standards."""
        if view == "compliance":
            return self.compliance(as_of, by)
        if view == "breaches":
            return self.breaches(as_of, by)
        if view == "list":
            return pa.Table.from_pylist([s.describe() for s in self.standards()])
        raise InputError(f"unknown view {view!r}; expected one of {', '.join(STANDARD_VIEWS)}")

    # ---- complaints -------------------------------------------------------------------
    def complaints(self, view: str = "all", period: str | None = None,
                   as_of: str | dt.datetime | None = None) -> ComplaintViews:
        """Complaint views (`cvm.service.complaints`): rates, categories, resolution,
        repeats, churn, moments of truth, silent dissatisfaction."""
        from cvm.service.complaints import complaint_views

        return complaint_views(self._ws, self, view, period or self._ws.settings.period,
                               self.as_of(as_of))

"""The workspace as it was known at the end of an as-of day.

`AsOfView` offers what the analytics read from a `Workspace` (``table``, ``has_rows``,
``latest_day``, ``settings``, ``path`` and the facades) with every table cut at the end of
``as_of``: rows that happened later are left out, and what became known later about an
earlier row (a contract's end, a reply to a complaint, its resolution) is blanked. Every
score of a monthly run is computed on such a view, so no score can read the future, and
moving or changing any later row leaves the month's scores unchanged.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING

import ibis

from cvm._dates import as_date
from cvm.errors import WorkspaceError

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["AsOfView"]


class AsOfView:
    """``ws`` as known at the end of ``as_of`` (read-only: it stores nothing)."""

    def __init__(self, ws: Workspace, as_of):
        self.ws = ws
        self.as_of = as_date(as_of, "as_of")
        #: the first instant after the as-of day; everything before it is history
        self.end = dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())
        self._tables: dict[str, ibis.Table] = {}
        self._rows: dict[str, bool] = {}

    @property
    def path(self):
        return self.ws.path

    @property
    def settings(self):
        return self.ws.settings

    @property
    def backend(self):
        return self.ws.backend

    def table(self, name: str) -> ibis.Table:
        """The canonical table ``name`` cut at the end of the as-of day."""
        if name not in self._tables:
            self._tables[name] = self._cut(name, self.ws.table(name))
        return self._tables[name]

    def _cut(self, name: str, t: ibis.Table) -> ibis.Table:
        end, day = self.end, self.as_of
        if name == "transactions":
            return t.filter(t.timestamp < end)
        if name == "interactions":
            t = t.filter(t.opened_at < end)
            later = t.resolved_at >= end
            return t.mutate(
                first_response_at=ibis.ifelse(t.first_response_at >= end,
                                              ibis.null().cast(t.first_response_at.type()),
                                              t.first_response_at),
                resolved_at=ibis.ifelse(later, ibis.null().cast(t.resolved_at.type()),
                                        t.resolved_at),
                outcome=ibis.ifelse(later, ibis.null().cast("string"), t.outcome))
        if name == "contracts":
            t = t.filter(t.start <= day)
            later = t.end > day
            return t.mutate(end=ibis.ifelse(later, ibis.null().cast(t.end.type()), t.end),
                            end_reason=ibis.ifelse(later, ibis.null().cast("string"),
                                                   t.end_reason))
        if name == "customers":
            return t.filter(t.signup_date.isnull() | (t.signup_date <= day))
        if name == "survey_responses":
            # an answer without a time cannot be placed before or after the day: left out
            return t.filter(t.timestamp.notnull() & (t.timestamp < end))
        return t  # survey_items: definitions, not events

    def has_rows(self, name: str) -> bool:
        if name not in self._rows:
            self._rows[name] = (self.ws.has_rows(name)
                                and int(self.table(name).count().to_pyarrow().as_py()) > 0)
        return self._rows[name]

    def latest_day(self) -> dt.date | None:
        """The as-of day itself once anything was bought by then: the day belongs to the
        history even when nobody bought on it."""
        return self.as_of if self.has_rows("transactions") else None

    def save_result(self, *args, **kwargs):
        raise WorkspaceError("an as-of view of a workspace stores nothing; save through the "
                             "workspace")

    # the capabilities, on the cut tables
    @cached_property
    def value(self):
        from cvm.value.facade import ValueFacade

        return ValueFacade(self)

    @cached_property
    def clv(self):
        from cvm.clv.facade import ClvFacade

        return ClvFacade(self)

    @cached_property
    def survey(self):
        from cvm.survey.facade import SurveyFacade

        return SurveyFacade(self)

    @cached_property
    def churn(self):
        from cvm.churn.facade import ChurnFacade

        return ChurnFacade(self)

    def __repr__(self) -> str:
        return f"AsOfView({str(self.ws.path)!r}, as_of={self.as_of})"

"""`cvm demo` runs the month's jobs: two month ends scored, opportunities and cases for
each, the demo programme, and a stored KPI tree per month with the later one's trend."""

from __future__ import annotations

import datetime as dt

from cvm.demo import last_month_end


def test_last_month_end():
    assert last_month_end(dt.date(2024, 12, 30)) == dt.date(2024, 11, 30)
    assert last_month_end(dt.date(2024, 12, 31)) == dt.date(2024, 12, 31)
    assert last_month_end(dt.date(2024, 3, 1)) == dt.date(2024, 2, 29)


def test_month_jobs_leave_two_months(demo_month):
    ws, ends, done = demo_month
    # the demo's data ends on 2024-12-30 (730 days from 2023-01-01): November is the last
    # complete month, October the one before
    assert ws.latest_day() == dt.date(2024, 12, 30)
    assert ends == [dt.date(2024, 10, 31), dt.date(2024, 11, 30)]
    assert ws.scoring.runs() == ends
    assert ws.kpi.months() == ends
    # the programme is set up beside the first scoring run, and before any opportunities
    programme = "set up the loyalty programme with 50 members"
    assert [d for d in done if d != programme] == [
        "scored every customer as of 2024-10-31", "built the opportunities of 2024-10-31",
        "opened the cases up to 2024-10-31",
        "scored every customer as of 2024-11-30", "built the opportunities of 2024-11-30",
        "opened the cases up to 2024-11-30",
        "computed the KPIs of 2024-10-31", "computed the KPIs of 2024-11-30"]
    assert done.index(programme) < done.index("built the opportunities of 2024-10-31")
    assert len(ws.opportunities.list(ends[1])) > 0
    tree = ws.kpi.tree(ends[1])
    members = next(k for k in tree["children"] if k["id"] == "programme_activity")
    assert members["children"][0]["value"] == 50.0  # members enrolled
    # the later month's trend is the stored earlier month
    october = {n["id"]: n["value"] for n in _walk(ws.kpi.tree(ends[0]))}
    assert all(n["previous"] == october[n["id"]] for n in _walk(tree))
    assert tree["value"] is not None and tree["previous"] is not None


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)

"""Compliance with service standards, hand-computed on a small company for each clock:
elapsed time, business hours over nights, a weekend and a holiday, and clocks in another
time zone (fixed offset, and across a daylight-saving change); breach while pending; the
command's JSON."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import ConfigError, Settings, Workspace
from cvm.cli import app
from cvm.config import ServiceClock
from cvm.service.clock import Clock, epoch_seconds

runner = CliRunner()
T = dt.datetime
H = 3600

STANDARDS = {
    "call": {"touchpoint": "call_centre", "measure": "first_response", "limit": "15s"},
    "web": {"touchpoint": "web", "measure": "first_response", "limit": "5min"},
    "branch": {"touchpoint": "branch", "measure": "first_response", "limit": "4h",
               "clock": "office", "target": 0.75},
    "mobile": {"touchpoint": "mobile", "measure": "first_response", "limit": "2h",
               "clock": "shanghai"},
}
CLOCKS = {
    # Friday 2024-03-29 is a holiday
    "office": {"hours": "09:00-17:00", "closed": ["sat", "sun"], "holidays": ["2024-03-29"]},
    # 09:00-18:00 in Shanghai (UTC+8) is 01:00-10:00 in the workspace's UTC
    "shanghai": {"hours": "09:00-18:00", "timezone": "Asia/Shanghai"},
}
CUSTOMERS = """
customer_id,region,team
A,north,t1
B,south,t2
C,north,t1
"""
TRANSACTIONS = """
customer_id,timestamp,amount
A,2024-03-01,100
B,2024-03-01,50
C,2024-03-01,10
"""
# times in seconds on the standard's clock (by hand):
#   i1 10 met, i2 15 met (the limit itself), i3 16 breached; i4 not answered; i8 answered
#   at 12:00:30, after the as-of times 12:00:10 and 12:00:20
#   i6 299 met, i7 360 breached, i5 not answered (opened 11:58)
#   b1 Thu 16:00 -> Tue 10:00: Thu 1h, Fri holiday, weekend, Mon 8h, Tue 1h = 10h breached,
#      due Mon 2024-04-01 12:00
#   b2 Fri 15:00 -> Mon 10:00: 2h + 1h = 3h met
#   b3 Sat 20:00 (closed) -> Mon 13:00: 4h met (the limit itself)
#   b4 Mon 18:00 (night) -> Tue 13:30: 4.5h breached, due Tue 13:00
#   b5 Fri 16:30, not answered: due Mon 2024-03-25 12:30
#   z1 Fri 09:00 UTC (17:00 in Shanghai) -> Mon 02:30 UTC (10:30): 1h + 1.5h = 2.5h breached
#   z2 Sun 23:00 UTC (Mon 07:00 in Shanghai, before opening) -> Mon 02:00 UTC (10:00): 1h met
INTERACTIONS = """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at,resolved_at,category
i1,A,call_centre,inquiry,2024-03-01 10:00:00,2024-03-01 10:00:10,,billing
i2,A,call_centre,complaint,2024-03-01 10:00:00,2024-03-01 10:00:15,,billing
i3,B,call_centre,inquiry,2024-03-01 10:00:00,2024-03-01 10:00:16,,network
i4,B,call_centre,request,2024-04-04 12:00:00,,,network
i8,C,call_centre,inquiry,2024-04-04 12:00:00,2024-04-04 12:00:30,,product
i6,C,web,inquiry,2024-03-01 09:00:00,2024-03-01 09:04:59,,product
i7,A,web,inquiry,2024-03-01 09:00:00,2024-03-01 09:06:00,,billing
i5,B,web,request,2024-04-04 11:58:00,,,billing
b1,A,branch,inquiry,2024-03-28 16:00:00,2024-04-02 10:00:00,,
b2,B,branch,inquiry,2024-03-22 15:00:00,2024-03-25 10:00:00,,
b3,C,branch,inquiry,2024-03-23 20:00:00,2024-03-25 13:00:00,,
b4,A,branch,inquiry,2024-03-25 18:00:00,2024-03-26 13:30:00,,
b5,B,branch,inquiry,2024-03-22 16:30:00,,,
z1,A,mobile,inquiry,2024-03-22 09:00:00,2024-03-25 02:30:00,,
z2,B,mobile,inquiry,2024-03-24 23:00:00,2024-03-25 02:00:00,,
"""
Z = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927; Newcombe 1998, method 3)."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def make_ws(path, **changes) -> Workspace:
    settings = Settings().updated(**{"service.standards": STANDARDS, "service.clocks": CLOCKS,
                                     "service.complaint_standard": "", **changes})
    ws = Workspace.init(path, settings)
    for table, text in (("customers", CUSTOMERS), ("transactions", TRANSACTIONS),
                        ("interactions", INTERACTIONS)):
        ws.import_file(table, write_csv(path.parent / f"{table}.csv", text))
    return ws


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_ws(tmp_path_factory.mktemp("service") / "ws")


def rows(table, *keys) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r
            for r in table.to_pylist()}


def counts(row) -> tuple:
    return row["n"], row["met"], row["breached"], row["pending"]


def test_elapsed_clock_breach_while_pending(small):
    # an as-of time with an offset is taken in the workspace's zone (UTC): 12:00:10
    early = rows(small.service.compliance("2024-04-04T20:00:10+08:00"), "standard")
    late = rows(small.service.compliance("2024-04-04T12:00:20"), "standard")
    last = rows(small.service.compliance(), "standard")  # as of 12:00:30, the latest time
    # i4 (no answer) and i8 (answered after the as-of time) are 10 s old: pending; at 20 s
    # both are breached; web's i5 is 130, 140, 150 s old: pending throughout
    assert counts(early["call"]) == (5, 2, 1, 2)
    assert counts(late["call"]) == (5, 2, 3, 0)
    assert counts(last["call"]) == (5, 2, 3, 0)
    assert counts(early["web"]) == counts(last["web"]) == (3, 1, 1, 1)
    assert early["call"]["compliance"] == pytest.approx(2 / 3)
    assert (early["call"]["ci_low"], early["call"]["ci_high"]) == pytest.approx(wilson(2, 3))
    assert late["call"]["compliance"] == pytest.approx(2 / 5)
    # answered times 10, 15, 16 (and 30 for i8 once answered)
    assert early["call"]["median_seconds"] == 15 and last["call"]["median_seconds"] == 15.5
    assert last["call"]["p90_seconds"] == pytest.approx(16 + 0.7 * 14)
    assert early["web"]["median_seconds"] == pytest.approx((299 + 360) / 2)
    assert last["call"]["limit_seconds"] == 15 and last["web"]["limit_seconds"] == 300
    assert last["call"]["meets_target"] is False and last["call"]["target"] == 0.9


def test_business_hours_over_nights_weekend_and_holiday(small):
    last = rows(small.service.compliance(), "standard")["branch"]
    assert counts(last) == (5, 2, 3, 0)  # b1, b4 late; b5 never answered
    assert last["compliance"] == pytest.approx(0.4)
    assert (last["ci_low"], last["ci_high"]) == pytest.approx(wilson(2, 5))
    times = np.array([10, 3, 4, 4.5]) * H  # the answered ones
    assert last["median_seconds"] == np.median(times) == 4.25 * H
    assert last["p90_seconds"] == pytest.approx(4.5 * H + 0.7 * 5.5 * H)
    assert last["meets_target"] is False and last["target"] == 0.75
    # as of Mon 2024-03-25 11:00: b2 answered (met); b3 2h and b5 2.5h open time: pending
    monday = rows(small.service.compliance("2024-03-25T11:00"), "standard")["branch"]
    assert counts(monday) == (3, 1, 0, 2)
    # at 12:31 b5 has been open 0.5h + 3h31m > 4h: breached; b3 3h31m: still pending
    later = rows(small.service.compliance("2024-03-25T12:31"), "standard")["branch"]
    assert counts(later) == (3, 1, 1, 1)


def test_clock_in_another_time_zone(small):
    mobile = rows(small.service.compliance(), "standard")["mobile"]
    assert counts(mobile) == (2, 1, 1, 0)
    assert mobile["median_seconds"] == 1.75 * H  # times 1h and 2.5h
    assert mobile["p90_seconds"] == pytest.approx(1 * H + 0.9 * 1.5 * H)


def test_breaches_listed_with_customer_tier_and_due_time(small):
    b = small.service.breaches()
    got = {r["interaction_id"]: (r["standard"], r["customer_id"], r["tier"], r["due_at"],
                                 r["answered_at"], r["time_seconds"], r["over_seconds"])
           for r in b.to_pylist()}
    # b5 unanswered as of Thu 2024-04-04 12:00:30: Fri 0.5h, Mon-Thu 4 x 8h, holiday,
    # Mon-Wed 3 x 8h, Thu 3h 30s = 59.5h + 30 s on the clock
    assert got == {
        "i3": ("call", "B", "small", T(2024, 3, 1, 10, 0, 15), T(2024, 3, 1, 10, 0, 16), 16, 1),
        "i4": ("call", "B", "small", T(2024, 4, 4, 12, 0, 15), None, None, 15),
        "i8": ("call", "C", "small", T(2024, 4, 4, 12, 0, 15), T(2024, 4, 4, 12, 0, 30), 30,
               15),
        "i7": ("web", "A", "vip", T(2024, 3, 1, 9, 5), T(2024, 3, 1, 9, 6), 360, 60),
        "b1": ("branch", "A", "vip", T(2024, 4, 1, 12), T(2024, 4, 2, 10), 10 * H, 6 * H),
        "b4": ("branch", "A", "vip", T(2024, 3, 26, 13), T(2024, 3, 26, 13, 30), 16200, 1800),
        "b5": ("branch", "B", "small", T(2024, 3, 25, 12, 30), None, None,
               int(59.5 * H) + 30 - 4 * H),
        "z1": ("mobile", "A", "vip", T(2024, 3, 25, 2, 0), T(2024, 3, 25, 2, 30), 9000, 1800),
    }
    assert b.column("standard").to_pylist()[:3] == ["call"] * 3  # the standards' order


def test_by_month_and_customer_attribute(small):
    month = rows(small.service.compliance("2024-04-04T12:00:20", by=["month"]),
                 "standard", "period_start")
    assert counts(month["call", dt.date(2024, 3, 1)]) == (3, 2, 1, 0)
    assert counts(month["call", dt.date(2024, 4, 1)]) == (2, 0, 2, 0)
    region = rows(small.service.compliance("2024-04-04T12:00:20", by=["region"]),
                  "standard", "region")
    assert counts(region["call", "north"]) == (3, 2, 1, 0)  # A's i1, i2; C's i8
    assert counts(region["call", "south"]) == (2, 0, 2, 0)  # B's i3, i4
    team = small.service.compliance("2024-04-04T12:00:20", by=["month", "team"])
    assert team.column_names[:4] == ["standard", "touchpoint", "period_start", "team"]
    assert sum(team.column("n").to_pylist()) == 15  # each interaction under one standard


def test_standard_with_every_kind_or_some(tmp_path):
    ws = make_ws(tmp_path / "ws", **{"service.standards": {
        "complaints": {"touchpoint": "all", "kinds": ["Complaint"],
                       "measure": "first_response", "limit": "15s"}}})
    got = ws.service.compliance().to_pylist()
    assert [(r["standard"], r["touchpoint"], r["n"], r["met"]) for r in got] == [
        ("complaints", "all", 1, 1)]  # i2 only
    split = ws.service.compliance(by=["touchpoint"]).to_pylist()
    assert [(r["standard"], r["touchpoint"], r["n"]) for r in split] == [
        ("complaints", "call_centre", 1)]


def test_day_table_across_a_daylight_saving_change():
    """A New York clock (09:00-17:00 on weekdays) in a Shanghai workspace: on Friday
    2024-03-08 (EST, UTC-5) it opens at 22:00 Shanghai time and closes at 06:00 on
    Saturday; from Monday 2024-03-11 (EDT, UTC-4) it opens at 21:00."""
    clock = Clock.business("ny", ServiceClock(hours="09:00-17:00", timezone="America/New_York"),
                           "Asia/Shanghai")
    cal = clock.calendar(dt.date(2024, 3, 8), dt.date(2024, 3, 13))
    opened, answered = T(2024, 3, 8, 23), T(2024, 3, 12, 0)  # NY Fri 10:00, Mon 12:00
    assert cal.business_seconds(opened, answered) == 10 * H  # 7h Friday, 3h Monday
    due = cal.due(cal.at(np.array([epoch_seconds(opened)])) + 8 * H)[0]
    assert due == epoch_seconds(T(2024, 3, 11, 22))  # Mon 21:00 + 1h
    days = {r["day"]: r for r in cal.day_table().to_pylist()}
    def pieces(day):
        r = days[day]
        return [(r[f"s{k}"], r[f"e{k}"]) for k in range(2) if r[f"e{k}"]]

    # Friday holds the end of New York's Thursday and the start of its Friday
    assert pieces(dt.date(2024, 3, 8)) == [(0, 6 * H), (22 * H, 24 * H)]
    assert pieces(dt.date(2024, 3, 9)) == [(0, 6 * H)]
    assert pieces(dt.date(2024, 3, 10)) == []
    assert pieces(dt.date(2024, 3, 11)) == [(21 * H, 24 * H)]
    assert days[dt.date(2024, 3, 12)]["base"] == (6 + 2 + 6 + 3) * H


def test_daylight_saving_workspace_end_to_end(tmp_path):
    ws = Workspace.init(tmp_path / "ws", Settings().updated(**{
        "timezone": "Asia/Shanghai", "service.complaint_standard": "",
        "service.clocks": {"ny": {"hours": "09:00-17:00", "timezone": "America/New_York"}},
        "service.standards": {"am": {"touchpoint": "account_manager",
                                     "measure": "first_response", "limit": "8h",
                                     "clock": "ny"}}}))
    ws.import_file("interactions", write_csv(tmp_path / "i.csv", """
customer_id,touchpoint,kind,opened_at,first_response_at
A,account_manager,request,2024-03-08 23:00:00,2024-03-12 00:00:00
B,account_manager,request,2024-03-08 23:00:00,2024-03-11 21:30:00
"""))
    row = ws.service.compliance().to_pylist()[0]
    assert counts(row) == (2, 1, 1, 0)  # 10h late; 7h + 0.5h in time
    assert (row["median_seconds"], row["p90_seconds"]) == (8.75 * H, pytest.approx(
        7.5 * H + 0.9 * 2.5 * H))
    b = ws.service.breaches().to_pylist()
    assert [(r["customer_id"], r["due_at"]) for r in b] == [("A", T(2024, 3, 11, 22))]


def test_bad_standards_name_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match="standard 'x', limit: a limit is"):
        Settings().updated(**{"service.standards": {"x": {
            "touchpoint": "web", "measure": "resolution", "limit": "soon"}}})
    with pytest.raises(ConfigError, match="clock 'night' is neither elapsed"):
        Settings().updated(**{"service.complaint_standard": "", "service.standards": {"x": {
            "touchpoint": "web", "measure": "resolution", "limit": "1h", "clock": "night"}}})
    with pytest.raises(ConfigError, match="opening window '18:00-09:00' must run forward"):
        Settings().updated(**{"service.clocks": {"night": {"hours": "18:00-09:00"}}})


def test_default_standards_and_the_command(small, tmp_path):
    defaults = {s.name: (s.touchpoint, s.measure, s.limit_seconds, s.clock.name, s.kinds)
                for s in Workspace.init(tmp_path / "d").service.standards()}
    assert defaults["call_centre_answer"] == ("call_centre", "first_response", 15, "elapsed",
                                              ())
    assert defaults["web_reply"] == ("web", "first_response", 300, "elapsed", ())
    assert defaults["on_site_arrival"] == ("on_site", "first_response", 7200, "elapsed", ())
    res = runner.invoke(app, ["service", "standards", "-w", str(small.path), "--as-of",
                              "2024-04-04T12:00:20", "--by", "month", "--format", "json"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    call = {r["period_start"]: r for r in doc if r["standard"] == "call"}
    assert {k: call["2024-04-01"][k] for k in ("touchpoint", "limit_seconds", "n", "met",
                                               "breached", "pending", "compliance")} == {
        "touchpoint": "call_centre", "limit_seconds": 15, "n": 2, "met": 0, "breached": 2,
        "pending": 0, "compliance": 0.0}
    res = runner.invoke(app, ["service", "standards", "-w", str(small.path), "--by", "fortnight"])
    assert res.exit_code == 2 and "--by 'fortnight': expected a period" in res.output

"""The closed loop on a hand-made workspace, on SQLite and PostgreSQL: which triggers open
cases, owners and due times, one case per trigger, the life cycle with reopen, root causes,
another owner's case, escalation and the command line."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app
from cvm.errors import InputError, NotFoundError

UTC = dt.UTC


@pytest.fixture
def loop(ws, tmp_path, db_url):
    write_csv(tmp_path / "c.csv", """
customer_id,relationship_type,region,account_manager
b1,business,south,zhao
c1,consumer,north,
c2,consumer,,
""")
    write_csv(tmp_path / "t.csv", """
customer_id,timestamp,amount
b1,2024-09-01 10:00,100
c1,2024-09-02 10:00,50
c2,2024-09-03 10:00,20
""")
    # c1 complains by phone, answered in 10 s; b1 waits 40 s on the phone (a breach of the
    # 15 s standard); c2 writes on the web and is answered within a minute
    write_csv(tmp_path / "i.csv", """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at,resolved_at
i1,c1,call_centre,complaint,2024-10-02 09:00:00,2024-10-02 09:00:10,2024-10-03 09:00:00
i2,b1,call_centre,inquiry,2024-10-05 11:00:00,2024-10-05 11:00:40,2024-10-05 11:10:00
i3,c2,web,inquiry,2024-10-06 12:00:00,2024-10-06 12:00:50,2024-10-06 12:30:00
""")
    write_csv(tmp_path / "si.csv", """
survey,item,construct,scale_min,scale_max
rel,nps,nps,0,10
""")
    write_csv(tmp_path / "sr.csv", """
respondent_id,customer_id,survey,item,answer,timestamp
r1,c2,rel,nps,3,2024-10-07 08:00
r2,c1,rel,nps,9,2024-10-07 09:00
r3,b1,rel,nps,6,2024-08-01 09:00
""")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws.import_file("interactions", tmp_path / "i.csv")
    ws.import_file("survey_items", tmp_path / "si.csv")
    ws.import_file("survey_responses", tmp_path / "sr.csv")
    return ws.with_settings(**{"programme.database_url": db_url})


def test_triggers_open_one_case_each_with_owner_and_due_time(loop):
    opened = loop.cases.open("2024-10-31", since="2024-10-01")
    got = {r.trigger: r for r in opened.itertuples()}
    assert sorted(got) == ["breach", "complaint", "detractor"]  # r3 is before --since
    assert got["complaint"].customer_id == "c1" and got["complaint"].owner == "branch:north"
    assert got["complaint"].opened_at == pd.Timestamp("2024-10-02 09:00", tz=UTC)
    assert got["complaint"].due_at == pd.Timestamp("2024-10-03 09:00", tz=UTC)  # 24 h
    assert got["breach"].customer_id == "b1" and got["breach"].owner == "zhao"
    # the breach happened when the 15 s passed unanswered
    assert got["breach"].opened_at == pd.Timestamp("2024-10-05 11:00:15", tz=UTC)
    assert got["detractor"].customer_id == "c2" and got["detractor"].owner == "call-centre"
    assert got["detractor"].due_at == pd.Timestamp("2024-10-09 08:00", tz=UTC)  # 48 h
    assert got["detractor"].details == {"survey": "rel", "item": "nps", "answer": 3.0}
    assert set(got["breach"].details) == {"standard", "touchpoint", "over_seconds"}
    # once per trigger: again, and with an overlapping window
    assert loop.cases.open("2024-10-31", since="2024-10-01").empty
    again = loop.cases.open("2024-10-31", since="2024-07-01")
    assert list(again["trigger"]) == ["detractor"] and list(again["customer_id"]) == ["b1"]
    assert len(loop.cases.list()) == 4


def test_life_cycle_root_cause_follow_up_and_reopen(loop):
    opened = loop.cases.open("2024-10-31", since="2024-10-01")
    case = int(opened.loc[opened["trigger"] == "complaint", "case_id"].iloc[0])
    c = loop.cases
    with pytest.raises(InputError, match="it can go to in_progress or resolved, not closed"):
        c.update(case, "closed", "li")
    c.update(case, "in_progress", "li")
    with pytest.raises(InputError, match="resolving needs a root cause"):
        c.update(case, "resolved", "li", action="refunded")
    with pytest.raises(InputError, match="root cause 'weather' is not one of"):
        c.update(case, "resolved", "li", root_cause="weather", action="refunded")
    with pytest.raises(InputError, match="needs the action taken"):
        c.update(case, "resolved", "li", root_cause="billing", action="  ")
    c.update(case, "resolved", "li", root_cause="billing", action="refunded the fee")
    assert c.follow_up(case, 5, "li")["status"] == "reopened"  # still unhappy
    c.update(case, "resolved", "li", root_cause="billing", action="called again, fixed")
    assert c.follow_up(case, 9, "li")["status"] == "closed"
    h = c.history(case)
    assert h["to_status"].tolist() == ["open", "in_progress", "resolved", "reopened",
                                       "resolved", "closed"]
    row = c.list(customer_id="c1").iloc[0]
    assert row["root_cause"] == "billing" and row["action_taken"] == "called again, fixed"
    with pytest.raises(InputError, match="0-10"):
        c.follow_up(case, 11)


def test_another_owners_case_is_not_found_and_overdue_cases_escalate(loop):
    opened = loop.cases.open("2024-10-31", since="2024-10-01")
    case = int(opened.loc[opened["owner"] == "zhao", "case_id"].iloc[0])
    with pytest.raises(NotFoundError, match="of owner 'li'"):
        loop.cases.update(case, "in_progress", "li", owner="li")
    loop.cases.update(case, "in_progress", "zhao", owner="zhao")
    # on 4 October 10:00 the complaint (due 3 October 09:00) is 25 h overdue: escalated
    now = dt.datetime(2024, 10, 4, 10, tzinfo=UTC)
    assert len(loop.cases.list(overdue=True, now=now)) == 1
    first = loop.cases.escalate(now)
    assert len(first) == 1 and loop.cases.escalate(now) == []
    late = dt.datetime(2024, 11, 30, tzinfo=UTC)
    assert len(loop.cases.escalate(late)) == 2  # the breach and the detractor, later
    assert len(loop.cases.list(overdue=True, now=late)) == 3


def test_command_line(loop, tmp_path):
    run = CliRunner()
    w = ["--workspace", str(loop.path)]
    # the CLI reads the workspace's own settings: its programme.db
    opened = run.invoke(app, ["cases", "open", "--as-of", "2024-10-31", "--since",
                              "2024-10-01", *w])
    assert opened.exit_code == 0 and "opened 3 cases" in opened.stdout
    listed = run.invoke(app, ["cases", "list", *w, "--format", "csv"])
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 4
    bad = run.invoke(app, ["cases", "update", "1", "resolved", *w])
    assert bad.exit_code == 2 and "root cause" in bad.stderr
    ok = run.invoke(app, ["cases", "update", "1", "in_progress", *w, "--by", "li"])
    assert ok.exit_code == 0 and "case 1: in_progress" in ok.stdout
    out = tmp_path / "cases"
    done = run.invoke(app, ["cases", "export", "--folder", str(out), *w])
    assert done.exit_code == 0
    assert sum(len(pd.read_csv(p)) for p in out.glob("*.csv")) == 3


def test_alerts_when_a_units_nps_or_compliance_falls(ws, tmp_path):
    write_csv(tmp_path / "c.csv", "customer_id,region\nn1,north\nn2,north\ns1,south\n")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount\nn1,2024-09-01,10\n")
    # north: September 4 promoters (NPS 100); October 2 promoters, 2 detractors (NPS 0)
    # south: September 2 detractors (-100); October 2 passives (0): a rise, no alert
    answers = ["respondent_id,customer_id,survey,item,answer,timestamp"]
    for i, (cid, a, day) in enumerate([("n1", 9, "09-03"), ("n2", 10, "09-04"),
                                       ("n1", 9, "09-05"), ("n2", 9, "09-06"),
                                       ("n1", 9, "10-03"), ("n2", 10, "10-04"),
                                       ("n1", 2, "10-05"), ("n2", 5, "10-06"),
                                       ("s1", 3, "09-07"), ("s1", 4, "09-08"),
                                       ("s1", 7, "10-07"), ("s1", 8, "10-08")]):
        answers.append(f"r{i},{cid},rel,nps,{a},2024-{day} 10:00")
    write_csv(tmp_path / "sr.csv", "\n".join(answers) + "\n")
    write_csv(tmp_path / "si.csv", "survey,item,construct,scale_min,scale_max\n"
                                   "rel,nps,nps,0,10\n")
    # north's calls: September 2 of 2 answered within 15 s; October 1 of 2 (-0.5)
    write_csv(tmp_path / "i.csv", """
customer_id,touchpoint,kind,opened_at,first_response_at
n1,call_centre,inquiry,2024-09-10 10:00:00,2024-09-10 10:00:05
n2,call_centre,inquiry,2024-09-11 10:00:00,2024-09-11 10:00:05
n1,call_centre,inquiry,2024-10-10 10:00:00,2024-10-10 10:00:05
n2,call_centre,inquiry,2024-10-11 10:00:00,2024-10-11 10:01:00
s1,call_centre,inquiry,2024-09-10 10:00:00,2024-09-10 10:00:05
s1,call_centre,inquiry,2024-10-10 10:00:00,2024-10-10 10:00:06
""")
    for table, name in (("customers", "c"), ("transactions", "t"), ("survey_items", "si"),
                        ("survey_responses", "sr"), ("interactions", "i")):
        ws.import_file(table, tmp_path / f"{name}.csv")
    got = ws.cases.alerts("2024-10-31", by="region")
    assert got[["unit", "measure", "before", "after", "change", "n"]].to_dict("records") == [
        {"unit": "north", "measure": "nps", "before": 100.0, "after": 0.0, "change": -100.0,
         "n": 4},
        {"unit": "north", "measure": "compliance: call_centre_answer", "before": 1.0,
         "after": 0.5, "change": -0.5, "n": 2}]
    assert got["small_sample"].all()  # 4 and 2 answers, below survey.nps_min_sample (30)
    quiet = ws.with_settings(**{"cases.alert_nps_drop": 101.0,
                                "cases.alert_compliance_drop": 0.6})
    assert quiet.cases.alerts("2024-10-31").empty


def import_unhappy(ws, tmp_path):
    """Four customers, three contacts and five questionnaires of two surveys."""
    write_csv(tmp_path / "c.csv", """
customer_id,relationship_type,region,account_manager
b1,business,south,zhao
c1,consumer,north,
c2,consumer,,
c3,consumer,north,
""")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount\nc1,2024-09-01 10:00,50\n")
    # every contact answered within seconds: no breaches, no complaints
    write_csv(tmp_path / "i.csv", """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at
i1,c1,branch,inquiry,2024-10-02 09:00:00,2024-10-02 09:00:01
i2,c1,web,inquiry,2024-10-10 10:00:00,2024-10-10 10:00:30
i3,b1,call_centre,inquiry,2024-10-04 10:00:00,2024-10-04 10:00:05
""")
    # csat: satisfaction on 1-5 and NPS; rel: two satisfaction items on 1-10 and an image one
    write_csv(tmp_path / "si.csv", """
survey,item,construct,scale_min,scale_max
csat,sat,satisfaction,1,5
csat,nps,nps,0,10
rel,overall,Satisfaction,1,10
rel,service,satisfaction,1,10
rel,image,image,1,10
""")
    # shares of the scale, (answer - min) / (max - min), against cases.low_satisfaction_max
    # 0.4: r1 sat 2 -> 1/4 = 0.25 low; r2 sat 3 -> 2/4 = 0.5 not; r3 sat 1 -> 0, low but a
    # detractor (NPS 4) in the same questionnaire; r4 overall 4 -> 3/9 = 0.333 and service 2
    # -> 1/9 = 0.111, both low, one case naming the lower; r5 overall 5 -> 4/9 = 0.444 not
    # (image 1 is no satisfaction item); r6 sat 1 is before 1 October; r7 has no customer
    write_csv(tmp_path / "sr.csv", """
respondent_id,customer_id,survey,item,answer,timestamp
r1,c1,csat,sat,2,2024-10-11 08:00
r1,c1,csat,nps,8,2024-10-11 08:00
r2,c2,csat,sat,3,2024-10-12 08:00
r2,c2,csat,nps,9,2024-10-12 08:00
r3,b1,csat,sat,1,2024-10-05 08:00
r3,b1,csat,nps,4,2024-10-05 08:00
r4,c3,rel,overall,4,2024-10-20 09:00
r4,c3,rel,service,2,2024-10-20 09:00
r4,c3,rel,image,1,2024-10-20 09:00
r5,c3,rel,overall,5,2024-10-21 09:00
r5,c3,rel,image,1,2024-10-21 09:00
r6,c1,csat,sat,1,2024-09-15 08:00
r7,,csat,sat,1,2024-10-15 08:00
""")
    for table, name in (("customers", "c"), ("transactions", "t"), ("interactions", "i"),
                        ("survey_items", "si"), ("survey_responses", "sr")):
        ws.import_file(table, tmp_path / f"{name}.csv")


@pytest.fixture
def unhappy(ws, tmp_path, db_url):
    import_unhappy(ws, tmp_path)
    return ws.with_settings(**{"programme.database_url": db_url})


def test_a_low_satisfaction_answer_opens_one_case_per_questionnaire(unhappy):
    opened = unhappy.cases.open("2024-10-31", since="2024-10-01")
    assert opened["trigger"].tolist() == ["detractor", "low_satisfaction", "low_satisfaction"]
    low = opened[opened["trigger"] == "low_satisfaction"].set_index("customer_id")
    assert low.index.tolist() == ["c1", "c3"]
    assert low.loc["c1", "owner"] == "branch:north" and low.loc["c3", "owner"] == "branch:north"
    assert low.loc["c1", "opened_at"] == pd.Timestamp("2024-10-11 08:00", tz=UTC)
    assert low.loc["c1", "due_at"] == pd.Timestamp("2024-10-13 08:00", tz=UTC)  # 48 h
    # c1's last contact before the answer: i2 on the web (10 October), not i1 at the branch
    assert low.loc["c1", "details"] == {"survey": "csat", "item": "sat", "answer": 2.0,
                                        "scale_min": 1.0, "scale_max": 5.0,
                                        "touchpoint": "web", "interaction_id": "i2"}
    assert low.loc["c3", "details"] == {"survey": "rel", "item": "service", "answer": 2.0,
                                        "scale_min": 1.0, "scale_max": 10.0,
                                        "touchpoint": None, "interaction_id": None}
    # b1's questionnaire opens the detractor's case only
    assert opened.loc[opened["trigger"] == "detractor", "customer_id"].tolist() == ["b1"]
    # once per questionnaire: again, and with a window reaching back to r6
    assert unhappy.cases.open("2024-10-31", since="2024-10-01").empty
    again = unhappy.cases.open("2024-10-31", since="2024-09-01")
    assert again[["trigger", "customer_id"]].values.tolist() == [["low_satisfaction", "c1"]]
    assert again["details"].iloc[0]["touchpoint"] is None   # no contact before 15 September
    keys = unhappy.cases.history(int(again["case_id"].iloc[0]))["note"].tolist()
    assert keys == ["low_satisfaction:csat:r6"]
    # at 0.5 r2 (0.5) and r5 (0.444) are low too: at or below the threshold
    wider = unhappy.with_settings(**{"cases.low_satisfaction_max": 0.5})
    more = wider.cases.open("2024-10-31", since="2024-10-01")
    assert sorted(more["customer_id"]) == ["c2", "c3"]
    assert len(unhappy.cases.list()) == 6


def test_cases_open_on_the_command_line_counts_low_satisfaction(unhappy):
    run = CliRunner()
    got = run.invoke(app, ["cases", "open", "--as-of", "2024-10-31", "--since", "2024-10-01",
                           "--workspace", str(unhappy.path)])
    assert got.exit_code == 0, got.output
    assert "opened 3 cases" in got.stdout
    rows = [line.replace("│", " ").split() for line in got.stdout.splitlines()
            if "zhao" in line or "satisfaction" in line]
    assert rows == [["detractor", "zhao", "1"], ["low_satisfaction", "branch:north", "2"]]


def test_low_satisfaction_triggers_on_duckdb_and_spark(ws, tmp_path, engine):
    from cvm.cases.triggers import find_triggers

    import_unhappy(ws, tmp_path)
    found = find_triggers(ws.with_settings(engine=engine), dt.date(2024, 10, 31),
                          dt.date(2024, 9, 1))
    low = found[found["trigger"] == "low_satisfaction"]
    assert low["trigger_key"].tolist() == ["low_satisfaction:csat:r6", "low_satisfaction:csat:r1",
                                           "low_satisfaction:rel:r4"]
    assert [d["touchpoint"] for d in low["details"]] == [None, "web", None]
    assert [d["item"] for d in low["details"]] == ["sat", "sat", "service"]


def test_lists_and_counts_filter_and_limit_in_the_database(loop):
    """Cases of several owners, at most N, overdue at a time, and the counts per trigger:
    the 3 cases of October are due 2024-10-03 09:00 (complaint, branch:north), 2024-10-06
    11:00:15 (breach, zhao) and 2024-10-09 08:00 (detractor, call-centre)."""
    loop.cases.open("2024-10-31", since="2024-10-01")
    c = loop.cases
    now = dt.datetime(2024, 10, 7, tzinfo=UTC)      # the first two are late, not the third
    two = c.list(owners=["zhao", "call-centre"], now=now)
    assert list(two["trigger"]) == ["breach", "detractor"]
    assert list(two["overdue"]) == [True, False]
    assert list(c.list(limit=2, now=now)["trigger"]) == ["complaint", "breach"]
    assert list(c.list(overdue=True, now=now)["trigger"]) == ["complaint", "breach"]
    assert c.list(status=["closed"], overdue=True, now=now).empty
    assert c.list(owner="zhao", owners=["call-centre"]).empty
    counts = c.counts(["open"], now=now)
    assert counts.to_dict("records") == [
        {"trigger": "breach", "cases": 1, "overdue": 1},
        {"trigger": "complaint", "cases": 1, "overdue": 1},
        {"trigger": "detractor", "cases": 1, "overdue": 0}]
    assert c.counts(owners=["call-centre"], now=now)["cases"].sum() == 1
    assert c.counts(["closed"], now=now).empty

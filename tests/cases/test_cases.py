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

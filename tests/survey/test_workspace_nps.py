"""NPS on a workspace: hand-made answers joined to customers, on every engine, and the CLI."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app
from cvm.errors import InputError, SmallSampleWarning
from cvm.survey.answers import survey_definition, wide_answers
from cvm.survey.nps import nps_compare
from cvm.survey.nps_groups import workspace_nps

# Ten customers answer "nps" (0-10) once each; r1-r5 in January, r6-r10 in February.
#   consumer c1..c6: 10 9 8 3 10 6  -> promoters 3, passive 1, detractors 2, n 6
#   business c7..c10: 7 0 9 5       -> promoters 1, passive 1, detractors 2, n 4
NPS_ANSWERS = {1: 10, 2: 9, 3: 8, 4: 3, 5: 10, 6: 6, 7: 7, 8: 0, 9: 9, 10: 5}


def build(ws, tmp_path):
    rel = {k: "consumer" if k <= 6 else "business" for k in NPS_ANSWERS}
    region = {k: "north" if k % 2 else "south" for k in NPS_ANSWERS}
    write_csv(tmp_path / "customers.csv", "customer_id,relationship_type,region\n" + "".join(
        f"c{k},{rel[k]},{region[k]}\n" for k in NPS_ANSWERS))
    write_csv(tmp_path / "items.csv", """
survey,item,construct,scale_min,scale_max,label
rel,nps,nps,0,10,Recommend?
rel,sat,satisfaction,1,5,Satisfied?
rel,rep,loyalty,1,5,Will repurchase
""")
    lines = ["respondent_id,customer_id,survey,item,answer,timestamp"]
    for k, a in NPS_ANSWERS.items():
        day = f"2024-0{1 if k <= 5 else 2}-{10 + k:02d}"
        lines.append(f"r{k},c{k},rel,nps,{a},{day}")
        lines.append(f"r{k},c{k},rel,sat,{1 + a // 3},{day}")
    write_csv(tmp_path / "answers.csv", "\n".join(lines) + "\n")
    # c1 (answered 2024-01-11) was last in touch on the web before answering (the branch
    # visit came after); c7 (answered 2024-02-17) at the call centre
    write_csv(tmp_path / "interactions.csv", """
customer_id,touchpoint,kind,opened_at
c1,web,inquiry,2024-01-01
c1,branch,complaint,2024-03-01
c7,call_centre,inquiry,2024-02-01
""")
    for table, file in (("customers", "customers.csv"), ("survey_items", "items.csv"),
                        ("survey_responses", "answers.csv"),
                        ("interactions", "interactions.csv")):
        ws.import_file(table, tmp_path / file)
    return ws


@pytest.fixture
def small_ws(ws, tmp_path):
    return build(ws, tmp_path)


def test_nps_overall_hand_computed(small_ws):
    # 4 promoters (10, 9, 10, 9), 4 detractors (3, 6, 0, 5), 2 passives of 10: NPS 0;
    # SE = 100 sqrt((0.4 + 0.4 - 0^2) / 10) = 28.284
    t = workspace_nps(small_ws, min_n=1)
    row = t.iloc[0]
    assert (row.n, row.promoters, row.passives, row.detractors) == (10, 4, 2, 4)
    assert row.nps == pytest.approx(0.0)
    assert row.se == pytest.approx(28.2843, abs=1e-4)
    assert row.ci_low == pytest.approx(-1.959964 * 28.2843, abs=1e-3)
    assert t.attrs == {"survey": "rel", "item": "nps"}


def _by_relationship_checks(t):
    t = t.set_index("group")
    # consumer: 100 (3 - 2) / 6 = 16.667; SE = 100 sqrt((1/2 + 1/3 - (1/6)^2) / 6) = 36.641
    assert t.loc["consumer", "nps"] == pytest.approx(16.6667, abs=1e-4)
    assert t.loc["consumer", "se"] == pytest.approx(36.6414, abs=1e-4)
    # business: 100 (1 - 2) / 4 = -25; SE = 100 sqrt((1/4 + 1/2 - (1/4)^2) / 4) = 41.458
    assert t.loc["business", "nps"] == pytest.approx(-25.0)
    assert t.loc["business", "se"] == pytest.approx(41.4578, abs=1e-4)
    assert list(t["n"]) == [4, 6] and list(t["small_sample"]) == [True, True]


def test_nps_by_relationship_type_warns_about_small_groups(small_ws):
    with warnings.catch_warnings(record=True) as caught:  # not pytest.warns: it would also
        warnings.simplefilter("always", SmallSampleWarning)  # surface duckdb's deprecations
        t = workspace_nps(small_ws, by="relationship_type")
    assert [w.category for w in caught] == [SmallSampleWarning]
    assert "business (n=4), consumer (n=6)" in str(caught[0].message)
    _by_relationship_checks(t)
    # z = (16.667 + 25) / sqrt(36.641^2 + 41.458^2) = 41.667 / 55.328 = 0.7531
    test = nps_compare(t, "consumer", "business")
    assert test["difference"] == pytest.approx(41.6667, abs=1e-4)
    assert test["z"] == pytest.approx(0.75309, abs=1e-4)
    assert test["p_value"] == pytest.approx(0.45139, abs=1e-4)
    # the same through the facade, which builds the table itself
    same = small_ws.survey.nps_compare("consumer", "business", by="relationship_type",
                                       min_n=1)
    assert same == test


@pytest.mark.slow  # the Spark run starts a local JVM (~40 s); DuckDB takes under a second
def test_nps_by_group_same_on_each_engine(small_ws, engine):
    t = workspace_nps(small_ws.with_settings(engine=engine), by="relationship_type", min_n=1)
    _by_relationship_checks(t.assign(small_sample=True))
    m = workspace_nps(small_ws.with_settings(engine=engine), month=True, min_n=1)
    assert list(m["month"]) == ["2024-01", "2024-02"]
    assert list(m["nps"]) == pytest.approx([40.0, -40.0])


def test_nps_by_month_with_test_against_previous_month(small_ws):
    # January: 10 9 8 3 10 -> 100 (3 - 1) / 5 = 40, SE = 100 sqrt((0.8 - 0.16) / 5) = 35.777
    # February: 6 7 0 9 5 -> 100 (1 - 3) / 5 = -40, same SE; z = -80 / (35.777 sqrt 2) = -1.5811
    m = workspace_nps(small_ws, month=True, min_n=1)
    assert m["se"].tolist() == pytest.approx([35.7771, 35.7771], abs=1e-4)
    assert pd.isna(m["z"].iloc[0])
    assert m["change"].iloc[1] == pytest.approx(-80.0)
    assert m["z"].iloc[1] == pytest.approx(-1.58114, abs=1e-5)


def test_nps_by_touchpoint_of_last_contact_before_answering_and_region(small_ws):
    t = workspace_nps(small_ws, by="touchpoint", min_n=1).set_index("group")
    # c1 (10) on the web, c7 (7) at the call centre; the other 8: 9 8 3 10 6 0 9 5
    assert list(t.index) == ["(none)", "call_centre", "web"]
    assert t.loc["web", "nps"] == 100.0 and t.loc["call_centre", "nps"] == 0.0
    assert t.loc["(none)", "n"] == 8 and t.loc["(none)", "nps"] == pytest.approx(-12.5)
    r = workspace_nps(small_ws, by="region", min_n=1).set_index("group")
    # north = odd customers: 10 8 10 7 9 -> 100 (3 - 0) / 5 = 60; south: 9 3 6 0 5 -> -60
    assert r.loc["north", "nps"] == pytest.approx(60.0)
    assert r.loc["south", "nps"] == pytest.approx(-60.0)


def test_item_and_survey_errors(small_ws):
    with pytest.raises(InputError, match="'sat' of survey 'rel' is on a 1-5 scale"):
        workspace_nps(small_ws, item="sat")
    with pytest.raises(InputError, match="no survey named 'x'.*rel"):
        workspace_nps(small_ws, survey="x")
    with pytest.raises(InputError, match="cannot group NPS by 'colour'"):
        workspace_nps(small_ws, by="colour")
    with pytest.raises(InputError, match="no group 'vip' to compare"):
        nps_compare(workspace_nps(small_ws, by="region", min_n=1), "vip", "north")


def test_wide_answers_pivot(small_ws):
    w = wide_answers(small_ws)
    assert list(w.columns) == ["respondent_id", "customer_id", "timestamp", "nps", "rep", "sat"]
    assert len(w) == 10 and w["rep"].isna().all()
    r4 = w.set_index("respondent_id").loc["r4"]
    assert (r4["nps"], r4["sat"]) == (3.0, 2.0)
    assert list(survey_definition(small_ws)["construct"]) == ["nps", "loyalty", "satisfaction"]


def test_cli_nps_workspace_json_and_compare(small_ws):
    runner = CliRunner()
    res = runner.invoke(app, ["survey", "nps", "--workspace", str(small_ws.path), "--by",
                              "relationship_type", "--min-n", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["group"]: r for r in json.loads(res.stdout)}
    assert rows["consumer"]["nps"] == pytest.approx(16.6667, abs=1e-4)
    assert rows["business"]["ci_high"] == pytest.approx(-25 + 1.959964 * 41.4578, abs=1e-3)
    res = runner.invoke(app, ["survey", "nps", "-w", str(small_ws.path), "--trend",
                              "--compare", "2024-01", "--compare", "2024-02", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["z"] == pytest.approx(1.58114, abs=1e-5)
    res = runner.invoke(app, ["survey", "nps", "-w", str(small_ws.path), "--month", "x"])
    assert res.exit_code == 2 and "--trend" in res.output


def test_nps_figures(small_ws, tmp_path):
    from cvm.survey.figures import nps_figure

    t = workspace_nps(small_ws, by="relationship_type", min_n=1)
    t["small_sample"] = [True, False]
    bar = nps_figure(t).data[0]
    assert list(bar.x) == ["business", "consumer"]
    assert list(bar.y) == pytest.approx([-25.0, 16.6667], abs=1e-4)
    assert list(bar.error_y.arrayminus) == pytest.approx(list(t["nps"] - t["ci_low"]))
    assert list(bar.marker.opacity) == [0.4, 1.0]  # small groups paler
    lines = nps_figure(workspace_nps(small_ws, by="region", month=True, min_n=1)).data
    assert [tr.name for tr in lines] == ["north", "south"]
    # north: January r1 r3 r5 (10 8 10) -> 66.7, February r7 r9 (7 9) -> 50
    assert list(lines[0].y) == pytest.approx([200 / 3, 50.0])
    res = CliRunner().invoke(app, ["survey", "nps", "-w", str(small_ws.path), "--trend",
                                   "--figure", str(tmp_path / "trend.html"), "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "trend.html").stat().st_size > 1000


def test_cli_file_mode_unchanged_and_compare(tmp_path):
    # same ten answers as a file: consumer vs business as above, z = 0.7531
    write_csv(tmp_path / "a.csv", "rel,nps\n" + "".join(
        f"{'consumer' if k <= 6 else 'business'},{a}\n" for k, a in NPS_ANSWERS.items()))
    runner = CliRunner()
    res = runner.invoke(app, ["survey", "nps", str(tmp_path / "a.csv"), "--column", "nps",
                              "--by", "rel", "--min-n", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert {r["group"]: r["nps"] for r in json.loads(res.stdout)} == pytest.approx(
        {"business": -25.0, "consumer": 16.6667}, abs=1e-4)
    res = runner.invoke(app, ["survey", "nps", str(tmp_path / "a.csv"), "--column", "nps",
                              "--by", "rel", "--min-n", "1", "--compare", "consumer",
                              "--compare", "business", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["z"] == pytest.approx(0.75309, abs=1e-4)
    res = runner.invoke(app, ["survey", "nps", str(tmp_path / "a.csv"), "--column", "nps",
                              "--compare", "consumer"])
    assert res.exit_code == 2 and "exactly two" in res.output

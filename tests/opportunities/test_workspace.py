"""Opportunities on the scored demo company, stored in SQLite and PostgreSQL: the listed
columns, the contact policy and control share on what is stored, reasons equal to the
stored scores, outcomes (idempotent, all-or-nothing files), suppression after a decline,
and the evaluation against what customers then did."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cvm import Workspace
from cvm.cli import app
from cvm.demo import DEMO_MAPPINGS, DemoParams, generate
from cvm.errors import InputError, ValidationError
from cvm.opportunities.reasons import reason

M1, M2 = dt.date(2024, 8, 31), dt.date(2024, 9, 30)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    files = generate(tmp_path_factory.mktemp("files"), DemoParams(customers=3000))
    ws = Workspace.init(tmp_path_factory.mktemp("opps") / "ws")
    for table, mapping in DEMO_MAPPINGS.items():
        ws.import_file(table, files[table], mapping)
    ws.scoring.run(M1)
    ws.scoring.run(M2)
    return ws, files


@pytest.fixture
def ws(scored, db_url):
    return scored[0].with_settings(**{"programme.database_url": db_url})


def test_list_columns_policy_and_control(ws):
    ws.opportunities.build(M1)
    ws.opportunities.build(M2)
    got = ws.opportunities.list(M2)
    for col in ("opportunity_id", "customer_id", "kind", "reason", "action", "channel",
                "owner", "due", "priority", "control"):
        assert col in got.columns
    assert got["opportunity_id"].is_unique and len(got) > 100
    assert (pd.to_datetime(got["due"]).dt.date >= M2).all()
    assert pd.api.types.is_float_dtype(got["priority"])
    assert set(got["kind"]) == {"retention_call", "cross_sell", "win_back",
                                "service_recovery", "payment_reminder"}
    # the control share holds exactly per kind: round(0.1 n)
    for kind, g in got.groupby("kind"):
        assert g["control"].sum() == math.floor(0.1 * len(g) + 0.5), kind
    # control rows are filled like the others and never in an owner's list
    assert (got.loc[got["control"], "owner"] != "").all()
    owner = got.loc[~got["control"] & (got["status"] == "open"), "owner"].iloc[0]
    mine = ws.opportunities.list(M2, owner=owner, include_control=False)
    assert not mine["control"].any() and (mine["owner"] == owner).all()
    # the contact policy on what is stored, over both months
    both = pd.concat([ws.opportunities.list(M1), got])
    sent = both[~both["control"]]
    assert sent.groupby(["customer_id", "channel", "as_of"]).size().max() == 1
    assert got[~got["control"]].groupby("customer_id").size().max() <= 2


def test_reasons_show_the_stored_scores(ws):
    ws.opportunities.build(M2)
    got = ws.opportunities.list(M2)
    scores = ws.scoring.list(M2).set_index("customer_id")
    before = ws.scoring.list(M1).set_index("customer_id")
    from cvm.opportunities import store as opp_store

    rows = opp_store.load(ws.opportunities.store, M2).set_index("opportunity_id")
    checked = 0
    for r in got.itertuples():
        e = rows.loc[r.opportunity_id, "evidence"]
        s = scores.loc[r.customer_id]
        if "churn_probability" in e:
            assert e["churn_probability"] == pytest.approx(s["churn_probability"], abs=1e-12)
            if "churn_probability_before" in e:
                assert e["churn_probability_before"] == pytest.approx(
                    before.loc[r.customer_id, "churn_probability"], abs=1e-12)
        if "revenue_potential" in e:
            assert e["revenue_potential"] == pytest.approx(s["revenue_potential"], abs=1e-9)
            shown = f"{e['revenue_potential']:,.0f}"
            assert f"CLV {shown}" in r.reason
        if r.kind == "cross_sell":
            col = "propensity_" + re.sub(r"[\W_]+", "_", r.line.lower()).strip("_")
            assert e["best_propensity"] == pytest.approx(s[col], abs=1e-12)
            assert f"{e['best_propensity']:.2f} likely to buy" in r.reason
        if r.kind == "payment_reminder":
            assert e["default_risk"] == pytest.approx(s["default_risk"], abs=1e-12)
            assert f"(passive churn) {e['default_risk']:.2f}" in r.reason
        assert r.reason == reason(e, "en")
        checked += 1
    assert checked == len(got)
    zh = ws.opportunities.list(M2, lang="zh-CN")
    assert zh["reason"].str.contains("客户终身价值").all()


def test_outcomes_idempotent_all_or_nothing_and_suppression(ws, tmp_path):
    ops = ws.opportunities
    ops.build(M1)
    first = ops.list(M1)
    sent = first[~first["control"] & (first["status"] == "open")]
    target = sent[sent["kind"] == "cross_sell"].iloc[0]
    a = ops.record(target.opportunity_id, "declined", "too_expensive", "li", key="k1")
    b = ops.record(target.opportunity_id, "declined", "too_expensive", "li", key="k1")
    assert a["outcome_id"] == b["outcome_id"]
    with pytest.raises(InputError, match="control group"):
        ops.record(first[first["control"]].iloc[0].opportunity_id, "accepted")
    # a file with one bad row stores nothing and names the row and field
    good = sent.iloc[1:4]
    path = tmp_path / "outcomes.csv"
    lines = ["opportunity_id,outcome,reason_code"]
    lines += [f"{o},accepted," for o in good["opportunity_id"]]
    lines.append(f"{sent.iloc[5].opportunity_id},maybe,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        ops.import_outcomes(path)
    assert "row 5, field 'outcome': got 'maybe'" in str(err.value)
    assert ops.list(M1)["outcome"].notna().sum() == 1
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert ops.import_outcomes(path) == 3
    ops.import_outcomes(path)
    from cvm.opportunities import store as opp_store

    assert len(opp_store.outcomes(ops.store)) == 4  # the same file again adds nothing
    # the declined offer is not made again the next month
    ops.build(M2)
    again = ops.list(M2)
    same = again[(again["customer_id"] == target.customer_id) & (again["kind"] == "cross_sell")]
    assert same.empty
    # and a month whose work has started is not rebuilt
    with pytest.raises(Exception, match="already have 4 recorded"):
        ops.build(M1)


def test_evaluation_matches_what_customers_did(scored, tmp_path):
    base, files = scored
    ws = base.with_settings(**{"programme.database_url": f"sqlite:///{tmp_path / 'p.db'}"})
    ws.opportunities.build(M2)
    e = ws.opportunities.evaluate(M2)
    got = e.by_kind.set_index("kind")
    opps = ws.opportunities.list(M2)
    tx = pq.read_table(files["transactions"]).to_pandas()
    start = dt.datetime(2024, 10, 1)
    window = tx[(tx["purchased_at"] >= start)
                & (tx["purchased_at"] < start + dt.timedelta(days=90))]
    bought = set(zip(window["customer"], window["brand"], strict=True))
    cs = opps[opps["kind"] == "cross_sell"]
    hit = [(c, line) in bought for c, line in zip(cs["customer_id"], cs["line"], strict=True)]
    cs = cs.assign(hit=hit)
    treated = cs[~cs["control"] & (cs["status"] == "open")]
    control = cs[cs["control"]]
    row = got.loc["cross_sell"]
    assert row["status"] == "measured"
    assert row["treated"] == len(treated) and row["control"] == len(control)
    assert row["rate_treated"] == pytest.approx(treated["hit"].mean(), abs=1e-12)
    assert row["rate_control"] == pytest.approx(control["hit"].mean(), abs=1e-12)
    assert row["ci_low"] < row["uplift"] < row["ci_high"]
    # nobody acted on these lists: treated and control differ only by chance
    assert row["ci_low"] < 0 < row["ci_high"]


def test_cli_build_list_export_and_outcome(scored, tmp_path):
    ws, _ = scored  # the CLI reads the workspace's own settings: programme.db in it
    run = CliRunner()
    w = ["--workspace", str(ws.path)]
    assert run.invoke(app, ["opportunities", "build", "--as-of", M2.isoformat(), *w]
                      ).exit_code == 0
    listed = run.invoke(app, ["opportunities", "list", "--as-of", M2.isoformat(), *w,
                              "--format", "csv"])
    assert listed.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert {"opportunity_id", "control", "priority", "due"} <= set(rows[0])
    out = tmp_path / "lists"
    done = run.invoke(app, ["opportunities", "export", "--as-of", M2.isoformat(), *w,
                            "--folder", str(out), "--lang", "zh-CN"])
    assert done.exit_code == 0, done.output
    exported = pd.concat([pd.read_csv(p, dtype=str) for p in out.glob("*.csv")])
    sent = [r for r in rows if r["control"] == "false" and r["status"] == "open"]
    assert len(exported) == len(sent)
    assert set(exported["opportunity_id"]) == {r["opportunity_id"] for r in sent}
    oid = sent[0]["opportunity_id"]
    ok = run.invoke(app, ["opportunities", "outcome", oid, "accepted", *w])
    assert ok.exit_code == 0
    bad = run.invoke(app, ["opportunities", "outcome", oid, "maybe", *w])
    assert bad.exit_code == 2 and "not one of" in bad.stderr
    ev = run.invoke(app, ["opportunities", "evaluate", *w, "--format", "csv"])
    assert ev.exit_code == 0 and "cross_sell" in ev.stdout


def test_outcomes_feed_the_next_months_propensity_models(scored, tmp_path):
    base, _ = scored
    ws = base.with_settings(**{"programme.database_url": f"sqlite:///{tmp_path / 'p.db'}"})
    later = dt.date(2024, 10, 31)
    without = ws.scoring.run(later, save=False).models.set_index("score")["features"]
    ws.opportunities.build(M1)
    sent = ws.opportunities.list(M1)
    sent = sent[~sent["control"] & (sent["status"] == "open")]
    for i, oid in enumerate(sent["opportunity_id"].iloc[:40]):
        ws.opportunities.record(oid, "declined" if i % 2 else "accepted")
    with_outcomes = ws.scoring.run(later, save=False).models.set_index("score")["features"]
    # offers_365d, accepted_365d and declined_365d join every propensity model
    assert (with_outcomes - without == 3).all()


def test_tier_upgrade_nudge_for_members_close_to_the_next_tier(scored, tmp_path):
    base, _ = scored
    ws = base.with_settings(**{"programme.database_url": f"sqlite:///{tmp_path / 'p.db'}"})
    _ = ws.opportunities.store  # the operational database, migrated
    prog = ws.programme
    prog.seed_demo()  # silver at 250.00 of spend in 12 months, gold 900.00, platinum 2,500.00
    when = dt.datetime(2024, 9, 1, 12, tzinfo=dt.UTC)
    # 30 customers spent 100, 110, ..., 390 in September 2024 (as members)
    for i in range(30):
        cid = f"{i + 1:06d}"
        prog.create_member(cid, joined_on=dt.date(2024, 1, 1), now=when)
        prog.earn(cid, f"t{i}", f"{100 + 10 * i}.00", now=when)
    prog.run_tiers(M2)
    progress = {r["member_id"]: r for r in prog.tier_progress(M2)}
    # within 20% of silver (>= 200.00 spent): gaps of 50.00 down to 10.00
    close = {m for m, p in progress.items()
             if p["next_tier"] == "silver" and 0 < p["gap"] <= 5000}
    assert len(close) == 5
    held = ws.opportunities.build(M2).held_back
    held = set(held.loc[held["kind"] == "tier_upgrade", "customer_id"])
    got = ws.opportunities.list(M2)
    nudges = got[got["kind"] == "tier_upgrade"]
    assert set(nudges["customer_id"]) | held == close
    for r in nudges.itertuples():
        p = progress[r.customer_id]
        assert f"{p['gap'] / 100:,.2f} of spend from the silver tier" in r.reason
    zh = ws.opportunities.list(M2, lang="zh-CN")
    zh_reasons = zh.loc[zh["kind"] == "tier_upgrade", "reason"]
    assert zh_reasons.str.contains("距 silver 等级还差消费").all()

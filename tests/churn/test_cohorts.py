"""Retention, cohort and repeat-purchase tables on DuckDB, hand-computed on a small fixture."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from cvm.churn.cohorts import (
    contract_cohorts,
    contract_retention,
    customer_tenure,
    purchase_cohorts,
    purchase_retention,
    repeat_purchase_rate,
)
from cvm.errors import InputError

D = dt.date
AS_OF = D(2024, 4, 30)

# Relationship spans (first start, last end; an end after as_of counts as open):
#   A 2024-01-10 .. 2024-03-05    B 2024-01-20 .. open (second contract from 2024-03-01)
#   C 2024-02-01 .. 2024-02-29    D 2024-02-15 .. open (ends 2024-05-31, after as_of)
#   E starts 2024-06-01, after as_of: left out
CONTRACTS = pa.table({
    "contract_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
    "customer_id": ["A", "B", "C", "D", "B", "E"],
    "plan": ["basic", "plus", "basic", "plus", "plus", "basic"],
    "start": pa.array([D(2024, 1, 10), D(2024, 1, 20), D(2024, 2, 1), D(2024, 2, 15),
                       D(2024, 3, 1), D(2024, 6, 1)], pa.date32()),
    "end": pa.array([D(2024, 3, 5), None, D(2024, 2, 29), D(2024, 5, 31), None, None],
                    pa.date32()),
    "end_reason": ["active_competitive", None, "passive_non_malicious", None, None, None],
})

_T = dt.datetime
TRANSACTIONS = pa.table({
    "customer_id": ["A", "A", "A", "B", "B", "B", "C", "D", "D", "D", "E"],
    "timestamp": pa.array([_T(2024, 1, 15), _T(2024, 2, 15), _T(2024, 3, 1, 9),
                           _T(2024, 1, 25), _T(2024, 1, 28), _T(2024, 4, 10),
                           _T(2024, 2, 2), _T(2024, 2, 20), _T(2024, 3, 20), _T(2024, 4, 20),
                           _T(2024, 3, 3)], pa.timestamp("us")),
    "amount": [10.0, 10.0, 5.0, 20.0, 20.0, 30.0, 7.0, 15.0, 15.0, 15.0, 50.0],
})


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


@pytest.fixture(scope="module")
def tables():
    return ibis.memtable(CONTRACTS), ibis.memtable(TRANSACTIONS)


def _rows(con, expr) -> list[tuple]:
    df = con.to_pyarrow(expr).to_pandas()
    return [tuple(None if pd.isna(v) else v for v in r) for r in df.itertuples(index=False)]


def test_contract_retention_by_hand(con, tables):
    contracts, _ = tables
    # Jan [01-01, 02-01): nobody covers 01-01; new A, B.
    # Feb: covering 02-01: A, B, C (starts that day); still on 03-01: A, B (C ended 02-29);
    #      new C, D.                                          -> 3, 2, 1, 2, 2/3
    # Mar: covering 03-01: A, B, D; on 04-01: B, D (A ended 03-05) -> 3, 2, 1, 0, 2/3
    # Apr: B, D on 04-01 and on 05-01 (D's end 05-31 is after as_of) -> 2, 2, 0, 0, 1
    got = _rows(con, contract_retention(contracts, AS_OF))
    assert got == [
        (D(2024, 1, 1), 0, 0, 0, 2, None),
        (D(2024, 2, 1), 3, 2, 1, 2, pytest.approx(2 / 3)),
        (D(2024, 3, 1), 3, 2, 1, 0, pytest.approx(2 / 3)),
        (D(2024, 4, 1), 2, 2, 0, 0, 1.0),
    ]
    # as_of 2024-04-29: April is not complete and is left out
    assert len(_rows(con, contract_retention(contracts, D(2024, 4, 29)))) == 3


def test_contract_retention_by_quarter(con, tables):
    contracts, _ = tables
    # Q1 [01-01, 04-01): no one covers 01-01; new A, B, C, D.
    got = _rows(con, contract_retention(contracts, D(2024, 6, 30), period="quarter"))
    # with as_of 06-30, D's end 05-31 counts: Q2 [04-01, 07-01): B, D cover 04-01; only B
    # still on 07-01; E starts 06-01 (new) -> 2, 1, 1, 1, 0.5
    assert got == [(D(2024, 1, 1), 0, 0, 0, 4, None),
                   (D(2024, 4, 1), 2, 1, 1, 1, 0.5)]


def test_contract_cohorts_by_hand(con, tables):
    contracts, transactions = tables
    # "active at k": the relationship covers the last day of month cohort + k.
    # Jan cohort {A, B}: k0 (01-31) A, B; k1 (02-29) A, B; k2 (03-31) B; k3 (04-30) B.
    # Feb cohort {C, D}: k0 (02-29) C (its last day), D; k1 (03-31) D; k2 (04-30) D.
    # Revenue in month cohort + k: Jan: k0 A 10 + B 40 = 50, k1 A 10, k2 A 5, k3 B 30;
    # Feb: k0 C 7 + D 15 = 22, k1 D 15, k2 D 15.
    got = _rows(con, contract_cohorts(contracts, AS_OF, transactions))
    jan, feb = D(2024, 1, 1), D(2024, 2, 1)
    assert got == [
        (jan, 0, 2, 2, 1.0, 50.0), (jan, 1, 2, 2, 1.0, 10.0), (jan, 2, 2, 1, 0.5, 5.0),
        (jan, 3, 2, 1, 0.5, 30.0),
        (feb, 0, 2, 2, 1.0, 22.0), (feb, 1, 2, 1, 0.5, 15.0), (feb, 2, 2, 1, 0.5, 15.0),
    ]
    counts_only = con.to_pyarrow(contract_cohorts(contracts, AS_OF)).column_names
    assert counts_only == ["cohort", "k", "customers", "active", "rate"]


def test_purchase_retention_by_hand(con, tables):
    _, transactions = tables
    # buyers: Jan {A, B}, Feb {A, C, D}, Mar {A, D, E}, Apr {B, D}
    # Jan->Feb {A}: 1/2; Feb->Mar {A, D}: 2/3; Mar->Apr {D}: 1/3; Apr: next month unseen.
    got = _rows(con, purchase_retention(transactions))
    assert got == [(D(2024, 1, 1), 2, 1, 0.5),
                   (D(2024, 2, 1), 3, 2, pytest.approx(2 / 3)),
                   (D(2024, 3, 1), 3, 1, pytest.approx(1 / 3))]


def test_purchase_cohorts_by_hand(con, tables):
    _, transactions = tables
    # first purchase: A, B Jan; C, D Feb; E Mar. Bought in month cohort + k:
    # Jan: k0 {A, B} 50, k1 {A} 10, k2 {A} 5, k3 {B} 30
    # Feb: k0 {C, D} 22, k1 {D} 15, k2 {D} 15;  Mar: k0 {E} 50, k1 nobody: 0
    jan, feb, mar = (D(2024, i, 1) for i in (1, 2, 3))
    got = _rows(con, purchase_cohorts(transactions))
    assert got == [
        (jan, 0, 2, 2, 1.0, 50.0), (jan, 1, 2, 1, 0.5, 10.0), (jan, 2, 2, 1, 0.5, 5.0),
        (jan, 3, 2, 1, 0.5, 30.0),
        (feb, 0, 2, 2, 1.0, 22.0), (feb, 1, 2, 1, 0.5, 15.0), (feb, 2, 2, 1, 0.5, 15.0),
        (mar, 0, 1, 1, 1.0, 50.0), (mar, 1, 1, 0, 0.0, 0.0),
    ]


def test_repeat_purchase_rate_by_hand(con, tables):
    _, transactions = tables
    # distinct purchase days: A 3, B 3, C 1, D 3, E 1 -> repeaters A, B, D: 3/5 overall;
    # Jan cohort 2/2, Feb 1/2, Mar 0/1
    got = _rows(con, repeat_purchase_rate(transactions))
    assert got == [(D(2024, 1, 1), 2, 2, 1.0),
                   (D(2024, 2, 1), 2, 1, 0.5),
                   (D(2024, 3, 1), 1, 0, 0.0),
                   (None, 5, 3, 0.6)]


def test_errors_name_the_problem(con, tables):
    contracts, _ = tables
    with pytest.raises(InputError, match="period must be one of"):
        contract_retention(contracts, AS_OF, period="week")
    with pytest.raises(InputError, match="no contract starts on or before as_of 2023-01-01"):
        contract_retention(contracts, D(2023, 1, 1))


def test_churn_by_reason_by_hand(tables):
    from cvm.churn.churned import churn_by_reason, churned_customers

    contracts, transactions = tables
    con = ibis.duckdb.connect()
    # as_of 04-30: C ended 02-29 (passive_non_malicious), A ended 03-05 (active_competitive);
    # revenue in the 12 months up to the last day: C 7; A 10 + 10 + 5 (03-01 <= 03-05) = 25.
    got = _rows(con, churn_by_reason(contracts, AS_OF, transactions))
    assert got == [(D(2024, 2, 1), "passive_non_malicious", 1, 1.0, 7.0),
                   (D(2024, 3, 1), "active_competitive", 1, 1.0, 25.0)]
    # as_of 06-30: D's contract ended 05-31 with no reason recorded -> unknown, 15 * 3 = 45;
    # by quarter, Q1 holds C and A: each half of the quarter's churn.
    got = _rows(con, churn_by_reason(contracts, D(2024, 6, 30), transactions, "quarter"))
    assert got == [(D(2024, 1, 1), "active_competitive", 1, 0.5, 25.0),
                   (D(2024, 1, 1), "passive_non_malicious", 1, 0.5, 7.0),
                   (D(2024, 4, 1), "unknown", 1, 1.0, 45.0)]
    ids = con.to_pyarrow(churned_customers(contracts, AS_OF)).to_pandas()
    assert sorted(ids["customer_id"]) == ["A", "C"]
    # a churned customer's second, still-open contract keeps them: B is never churned
    assert "B" not in set(ids["customer_id"])


@pytest.fixture(scope="module")
def duck():
    return ibis.duckdb.connect()


def _random_contracts(draw) -> pa.Table:
    from hypothesis import strategies as st

    n = draw(st.integers(1, 12))
    custs, starts, ends = [], [], []
    for _ in range(n):
        s = D(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 200)))
        length = draw(st.one_of(st.none(), st.integers(0, 300)))
        custs.append(draw(st.sampled_from("ABCDEF")))
        starts.append(s)
        ends.append(None if length is None else s + dt.timedelta(days=length))
    return pa.table({"contract_id": [f"c{i}" for i in range(n)], "customer_id": custs,
                     "start": pa.array(starts, pa.date32()),
                     "end": pa.array(ends, pa.date32())})


def test_cohort_properties(duck):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def check(data):
        contracts = ibis.memtable(_random_contracts(data.draw))
        as_of = D(2024, 12, 31)
        coh = duck.to_pyarrow(contract_cohorts(contracts, as_of)).to_pandas()
        # a relationship never comes back: each cohort's active count never rises with k
        for _, g in coh.groupby("cohort"):
            assert g["active"].is_monotonic_decreasing
            assert (g["active"] <= g["customers"]).all()
        # every customer who started by as_of is in exactly one cohort
        spans = contracts.filter(_start_by(as_of)).customer_id.nunique()
        assert coh.groupby("cohort")["customers"].first().sum() == duck.execute(spans)
        ret = duck.to_pyarrow(contract_retention(contracts, as_of)).to_pandas()
        assert (ret["retained"] <= ret["active_start"]).all()
        assert ret["new"].sum() == duck.execute(spans)  # each relationship starts once

    check()


def _start_by(as_of):
    return ibis._.start <= as_of


def test_customer_tenure_feeds_survival(con, tables):
    from cvm.churn.survival import kaplan_meier

    contracts, _ = tables
    customers = ibis.memtable(pa.table({"customer_id": ["A", "B", "C", "D"],
                                        "segment": ["home", "home", "small_business",
                                                    "small_business"]}))
    got = con.to_pyarrow(customer_tenure(contracts, AS_OF, customers)).to_pandas()
    # A 01-10..03-05 = 55 days, ended; B 01-20..as_of 04-30 = 101, open; C 02-01..02-29
    # = 28, ended; D 02-15..04-30 = 75, open (its end 05-31 is after as_of); E not started.
    assert got.to_dict("list") == {
        "customer_id": ["A", "B", "C", "D"], "tenure_days": [55, 101, 28, 75],
        "churned": [1, 0, 1, 0], "segment": ["home", "home", "small_business",
                                             "small_business"]}
    # KM by segment: home {55 ended, 101 open} -> S(55) = 1/2, median 55;
    # small_business {28 ended, 75 open} -> median 28.
    s = kaplan_meier(got, "tenure_days", group="segment").summary
    assert s["median_tenure"].tolist() == [55.0, 28.0]

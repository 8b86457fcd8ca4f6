"""Benchmark: likelihood-to-cancel features and scoring for many customers on DuckDB.

Synthetic history (contracts, transactions, interactions) is generated in DuckDB and
written to Parquet, as a workspace stores it; then, timed one by one:
1. `training_table` (features at a cut-off joined with the next 3 months' labels),
2. fitting the model (5-fold cross-validated metrics, then the final fit) on a sample,
   single-threaded (on a shared machine OpenMP threads spin: 2 threads were 9x slower),
3. `churn_features` at the scoring date for every active customer,
4. scoring them: probability and top 3 reasons.

Run: ``PYTHONPATH=src python bench/churn_bench.py --customers 1000000``. Peak memory is the
process's maximum resident set size (DuckDB runs in the process, so it is included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import ibis


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate(folder: Path, n: int, seed: float = 0.42) -> None:
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed})")
    con.execute(f"""
        CREATE TABLE cust AS
        SELECT i AS n, lpad(i::VARCHAR, 8, '0') AS customer_id,
               random() < 0.3 AS complainer,
               DATE '2019-01-01' + (random() * 1800)::INT AS start
        FROM range({n}) t(i)""")
    con.execute("""
        CREATE TABLE contracts AS
        SELECT 'k' || customer_id AS contract_id, customer_id,
               CASE WHEN random() < 0.5 THEN 'basic' ELSE 'plus' END AS plan, start,
               CASE WHEN random() < (CASE WHEN complainer THEN 0.35 ELSE 0.12 END)
                    THEN DATE '2024-01-01' + (random() * 360)::INT END AS "end",
               NULL::VARCHAR AS end_reason
        FROM cust""")
    con.execute("""
        CREATE TABLE transactions AS
        SELECT c.customer_id,
               (DATE '2023-01-01' + (random() * 730)::INT)::TIMESTAMP AS timestamp,
               round(5 + random() * 60, 2) AS amount,
               CASE WHEN random() < 0.7 THEN 'service' ELSE 'device' END AS product
        FROM cust c, range(6) r(j)""")
    con.execute("""
        CREATE TABLE interactions AS
        SELECT customer_id, 'call_centre' AS touchpoint,
               CASE WHEN complainer THEN 'complaint' ELSE 'inquiry' END AS kind,
               (DATE '2023-06-01' + (random() * 500)::INT)::TIMESTAMP AS opened_at
        FROM cust WHERE complainer OR random() < 0.2""")
    for name in ("contracts", "transactions", "interactions"):
        con.execute(f"COPY {name} TO '{folder / name}.parquet' (FORMAT parquet)")
    con.close()


def main() -> None:
    from cvm.churn import ChurnClassifier, churn_features, fit_snapshot, training_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--train-sample", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=2, help="threads for the reasons")
    args = ap.parse_args()
    rows = []

    def step(name, fn):
        t = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t, _peak_mb()))
        print(f"{name:<58} {rows[-1][1]:8.1f} s  peak RSS {rows[-1][2]:8.0f} MB", flush=True)
        return out

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        step(f"generate {args.customers:,} customers' history (DuckDB SQL)",
             lambda: _generate(folder, args.customers))
        con = ibis.duckdb.connect()
        c = con.read_parquet(folder / "contracts.parquet", table_name="contracts")
        t = con.read_parquet(folder / "transactions.parquet", table_name="transactions")
        i = con.read_parquet(folder / "interactions.parquet", table_name="interactions")
        cutoff, today = dt.date(2024, 4, 1), dt.date(2024, 7, 1)
        train = step("training_table at 2024-04-01 (+3 months labels) -> pandas",
                     lambda: training_table(c, cutoff, 3, t, i).to_pandas())
        sample = train.sample(min(args.train_sample, len(train)), random_state=0)
        model = step(f"fit_snapshot on {len(sample):,} rows (5-fold CV + final fit)",
                     lambda: fit_snapshot(sample, "churned", "customer_id",
                                          classifier=ChurnClassifier(n_jobs=1)))
        feats = step("churn_features at 2024-07-01 -> pandas",
                     lambda: churn_features(c, today, t, i).to_pandas())
        step(f"score {len(feats):,} customers: probability only",
             lambda: model.score(feats, reasons=0))
        step(f"score {len(feats):,} customers: probability + 3 reasons ({args.jobs} threads)",
             lambda: model.score(feats, reasons=3, n_jobs=args.jobs))
    m = model.metrics_["model"]
    print(f"training rows {len(train):,}, churn rate {train['churned'].mean():.3f}; "
          f"CV auc {m['auc']:.3f}, ece {m['ece']:.3f}, top-decile lift "
          f"{m['top_decile_lift']:.2f}; baseline auc {model.metrics_['baseline']['auc']:.3f}")


if __name__ == "__main__":
    main()

"""Import speed: `cvm import` of a CSV file against the floor, DuckDB reading the same file
straight into one Parquet file with no checks.

    python bench/import_bench.py [--rows 1000000] [--runs 3]

Writes a Markdown table to stdout: seconds per run, the median, and cvm's median over the
floor's. cvm does more than the floor (every row checked, types parsed, ids matched against
what is stored, a manifest written); the ratio says what that costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import tempfile
import time
from pathlib import Path

import duckdb


def make_csv(path: Path, rows: int) -> None:
    """Transactions as an export has them: quoted product names, ISO dates, two decimals."""
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 't' || i AS transaction_id, 'c' || (i % 50000) AS customer_id,
                     DATE '2023-01-01' + CAST(i % 700 AS INTEGER) AS timestamp,
                     round((i % 997) + 0.25, 2) AS amount, 'product ' || (i % 50) AS product,
                     'web' AS channel
              FROM range({rows}) r(i))
        TO '{path}' (HEADER, FORCE_QUOTE (product))""")
    con.close()


def time_cvm(path: Path, tmp: Path) -> float:
    from cvm import Workspace

    ws = Workspace.init(tmp / f"w{time.monotonic_ns()}")
    start = time.perf_counter()
    report = ws.import_file("transactions", path)
    elapsed = time.perf_counter() - start
    assert report.rows_added > 0
    return elapsed


def time_floor(path: Path, tmp: Path) -> float:
    con = duckdb.connect()
    out = tmp / f"floor{time.monotonic_ns()}.parquet"
    start = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true)) TO '{out}' "
                "(FORMAT parquet, COMPRESSION zstd)")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / "transactions.csv"
        make_csv(path, args.rows)
        runs: dict[str, list[float]] = {"cvm import": [], "duckdb read_csv -> parquet": []}
        for _ in range(args.runs):  # alternate, so drift hits both alike
            runs["cvm import"].append(time_cvm(path, tmp))
            runs["duckdb read_csv -> parquet"].append(time_floor(path, tmp))
        size = path.stat().st_size / 1e6
    floor = statistics.median(runs["duckdb read_csv -> parquet"])
    machine = platform.processor() or platform.machine()
    print(f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine}, "
          f"Python {platform.python_version()}, duckdb {duckdb.__version__}; "
          f"{args.rows:,} rows, {size:.0f} MB CSV.\n")
    print("| contender | runs (s) | median s | vs floor |\n|---|---|---:|---:|")
    for name, ts in runs.items():
        med = statistics.median(ts)
        print(f"| {name} | {', '.join(f'{t:.2f}' for t in ts)} | {med:.2f} | {med / floor:.2f}x |")


if __name__ == "__main__":
    main()

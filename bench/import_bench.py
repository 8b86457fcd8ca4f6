"""Import speed: `cvm import` of a CSV file against the floor, DuckDB reading the same file
straight into one Parquet file with no checks.

    python bench/import_bench.py [--rows 1000000] [--runs 3] [--reject-file] [--ragged 0]

Writes a Markdown table to stdout: seconds per run, the median, and cvm's median over the
floor's. cvm does more than the floor (every row checked, types parsed, ids matched against
what is stored, a manifest written); the ratio says what that costs. With --reject-file cvm
imports with a reject file (the CSV is then read on one thread, rows with another number of
fields than the header kept apart); --ragged N appends N such rows (7 fields under a header
of 6) at the end of the file, past the reader's first block, which cvm then writes to the
reject file after a strict second reading of the whole file (the floor then reads with
``ignore_errors``, dropping them unreported).
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


def make_csv(path: Path, rows: int, ragged: int = 0) -> None:
    """Transactions as an export has them: quoted product names, ISO dates, two decimals;
    ``ragged`` rows with a seventh field at the end."""
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 't' || i AS transaction_id, 'c' || (i % 50000) AS customer_id,
                     DATE '2023-01-01' + CAST(i % 700 AS INTEGER) AS timestamp,
                     round((i % 997) + 0.25, 2) AS amount, 'product ' || (i % 50) AS product,
                     'web' AS channel
              FROM range({rows}) r(i))
        TO '{path}' (HEADER, FORCE_QUOTE (product))""")
    con.close()
    with open(path, "a", encoding="utf-8") as fh:
        fh.writelines(f'r{i},c1,2023-01-01,1.25,"product 1",web,extra\n' for i in range(ragged))


def time_cvm(path: Path, tmp: Path, reject: bool = False, ragged: int = 0) -> float:
    from cvm import Workspace

    ws = Workspace.init(tmp / f"w{time.monotonic_ns()}")
    rejects = tmp / f"rejects{time.monotonic_ns()}.csv" if reject else None
    start = time.perf_counter()
    report = ws.import_file("transactions", path, reject_file=rejects)
    elapsed = time.perf_counter() - start
    assert report.rows_added > 0 and report.rows_rejected == ragged
    return elapsed


def time_floor(path: Path, tmp: Path, skip_bad: bool = False) -> float:
    con = duckdb.connect()
    out = tmp / f"floor{time.monotonic_ns()}.parquet"
    skip = ", ignore_errors = true" if skip_bad else ""  # ragged rows dropped, unreported
    start = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true{skip})) TO "
                f"'{out}' (FORMAT parquet, COMPRESSION zstd)")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reject-file", action="store_true",
                    help="cvm imports with a reject file")
    ap.add_argument("--ragged", type=int, default=0,
                    help="rows with another number of fields (needs --reject-file)")
    args = ap.parse_args()
    if args.ragged and not args.reject_file:
        ap.error("--ragged needs --reject-file (without one, cvm refuses the file)")
    name = "cvm import" + (" --reject-file" if args.reject_file else "")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / "transactions.csv"
        make_csv(path, args.rows, args.ragged)
        runs: dict[str, list[float]] = {name: [], "duckdb read_csv -> parquet": []}
        for _ in range(args.runs):  # alternate, so drift hits both alike
            runs[name].append(time_cvm(path, tmp, args.reject_file, args.ragged))
            runs["duckdb read_csv -> parquet"].append(time_floor(path, tmp, args.ragged > 0))
        size = path.stat().st_size / 1e6
    floor = statistics.median(runs["duckdb read_csv -> parquet"])
    machine = platform.processor() or platform.machine()
    print(f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine}, "
          f"Python {platform.python_version()}, duckdb {duckdb.__version__}; "
          f"{args.rows:,} rows" + (f" and {args.ragged:,} with a field too many"
                                   if args.ragged else "") + f", {size:.0f} MB CSV.\n")
    print("| contender | runs (s) | median s | vs floor |\n|---|---|---:|---:|")
    for name, ts in runs.items():
        med = statistics.median(ts)
        print(f"| {name} | {', '.join(f'{t:.2f}' for t in ts)} | {med:.2f} | {med / floor:.2f}x |")


if __name__ == "__main__":
    main()

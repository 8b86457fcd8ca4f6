"""Per-customer repeat-purchase summary + Pareto tiers: cvm against its peers, side by side.

Every contender reads the same generated transactions (Parquet) and computes the same two
results: the summary (frequency, recency, T in weeks, mean repeat spend) at the latest
day, and the value tiers (VIP 1%, major to 5%, ordinary to 20%) by revenue over the 12
months ending that day. Each runs in its own process so its peak memory (max RSS) is its
own; each result is checked against cvm's (customers per tier, sums of the summary).

    python bench/bench_foundation.py --sizes 100000 1160000 [--lifetimes-python PY]

Writes bench/results_foundation.md (merged into bench/RESULTS.md). lifetimes 0.11 needs an
older pandas: give a Python of a separate environment with ``--lifetimes-python``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"

# ---- contenders: each is run as `python bench_foundation.py --run NAME --data DIR` --------


def _window(end: dt.date) -> tuple[dt.date, dt.date]:
    """The 12 months ending ``end`` (cvm's ValueWindow.ending), without importing cvm so
    that the peers' memory and start-up are their own."""
    import calendar

    y, m = divmod(end.year * 12 + end.month - 1 - 12, 12)
    day = min(end.day, calendar.monthrange(y, m + 1)[1])
    return dt.date(y, m + 1, day) + dt.timedelta(days=1), end


def run_cvm(data: Path, engine: str = "duckdb") -> dict:
    from cvm import Workspace

    ws = Workspace.open(data / "ws").with_settings(engine=engine)
    t0 = time.perf_counter()
    summary = ws.value.summary()
    tiers = ws.value.tiers()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "check": _check_arrow(summary, tiers)}


def _check_arrow(summary, tiers) -> dict:
    import pyarrow.compute as pc

    return {"customers": summary.num_rows,
            "sum_frequency": int(pc.sum(summary["frequency"]).as_py()),
            "sum_T": round(pc.sum(summary["T"]).as_py(), 3),
            "tiers": {t: n for t, n in zip(tiers["tier"].to_pylist(),
                                           tiers["customers"].to_pylist(), strict=True) if n}}


def run_duckdb_sql(data: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    src = f"read_parquet('{data / 'transactions.parquet'}')"
    t0 = time.perf_counter()
    end = con.execute(f"SELECT max(timestamp)::DATE FROM {src}").fetchall()[0][0]
    start, _ = _window(end)
    summary = con.execute(f"""
        WITH d AS (SELECT customer_id, timestamp::DATE AS day, sum(amount) AS spend
                   FROM {src} GROUP BY ALL),
             p AS (SELECT customer_id, min(day) AS f, max(day) AS l, count(*) AS n,
                          sum(spend) AS tot, arg_min(spend, day) AS fs FROM d GROUP BY ALL)
        SELECT customer_id, n - 1 AS frequency, (l - f) / 7.0 AS recency,
               (DATE '{end}' - f) / 7.0 AS T,
               CASE WHEN n > 1 THEN (tot - fs) / (n - 1) ELSE 0 END AS monetary_value
        FROM p ORDER BY customer_id""").fetch_arrow_table()
    tiers = con.execute(f"""
        WITH v AS (SELECT c.customer_id, coalesce(r.revenue, 0) AS revenue
                   FROM (SELECT DISTINCT customer_id FROM {src}) c LEFT JOIN
                        (SELECT customer_id, sum(amount) AS revenue FROM {src}
                         WHERE timestamp::DATE BETWEEN DATE '{start}' AND DATE '{end}'
                         GROUP BY ALL) r USING (customer_id)),
             r AS (SELECT *, row_number() OVER (ORDER BY revenue DESC, customer_id) - 1 AS rk,
                          count(*) OVER () AS n FROM v)
        SELECT CASE WHEN rk < ceil(0.01 * n) THEN 'vip' WHEN rk < ceil(0.05 * n) THEN 'major'
                    WHEN rk < ceil(0.20 * n) THEN 'ordinary' ELSE 'small' END AS tier,
               count(*) AS customers, sum(revenue) AS revenue
        FROM r GROUP BY 1 ORDER BY min(rk)""").fetch_arrow_table()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "check": _check_arrow(summary, tiers)}


def _pandas_tiers(per_customer_revenue):
    import numpy as np
    import pandas as pd

    v = per_customer_revenue.sort_index().sort_values(ascending=False, kind="stable")
    n = len(v)
    rk = np.arange(n)
    tier = np.select([rk < np.ceil(0.01 * n), rk < np.ceil(0.05 * n), rk < np.ceil(0.20 * n)],
                     ["vip", "major", "ordinary"], "small")
    return pd.Series(tier).value_counts()


def run_pandas(data: Path) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    tx = pd.read_parquet(data / "transactions.parquet",
                         columns=["customer_id", "timestamp", "amount"])
    tx["day"] = tx["timestamp"].dt.floor("D")
    end = tx["day"].max()
    daily = tx.groupby(["customer_id", "day"], sort=False, observed=True)["amount"].sum()
    daily = daily.reset_index().sort_values(["customer_id", "day"])
    g = daily.groupby("customer_id", sort=True)
    first = g["day"].min()
    per = pd.DataFrame({
        "frequency": g.size() - 1,
        "recency": (g["day"].max() - first).dt.days / 7.0,
        "T": (end - first).dt.days / 7.0,
        "total": g["amount"].sum(),
        "first_spend": g["amount"].first(),
    })
    per["monetary_value"] = ((per.total - per.first_spend) / per.frequency).where(
        per.frequency > 0, 0.0)
    start, _ = _window(end.date())
    in_window = tx[(tx["day"] >= pd.Timestamp(start)) & (tx["day"] <= end)]
    revenue = in_window.groupby("customer_id")["amount"].sum().reindex(per.index, fill_value=0)
    tiers = _pandas_tiers(revenue)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "check": {
        "customers": len(per), "sum_frequency": int(per.frequency.sum()),
        "sum_T": round(float(per["T"].sum()), 3),
        "tiers": {k: int(tiers.get(k, 0)) for k in ("vip", "major", "ordinary", "small")}}}


def run_lifetimes(data: Path) -> dict:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    t0 = time.perf_counter()
    tx = pd.read_parquet(data / "transactions.parquet",
                         columns=["customer_id", "timestamp", "amount"])
    end = tx["timestamp"].max().floor("D")
    s = summary_data_from_transaction_data(
        tx, "customer_id", "timestamp", monetary_value_col="amount",
        observation_period_end=end, freq="D")
    s[["recency", "T"]] /= 7.0
    start, _ = _window(end.date())
    in_window = tx[(tx["timestamp"] >= pd.Timestamp(start))
                   & (tx["timestamp"] < end + pd.Timedelta(days=1))]
    revenue = in_window.groupby("customer_id")["amount"].sum().reindex(s.index, fill_value=0)
    tiers = _pandas_tiers(revenue)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "check": {
        "customers": len(s), "sum_frequency": int(s.frequency.sum()),
        "sum_T": round(float(s["T"].sum()), 3),
        "tiers": {k: int(tiers.get(k, 0)) for k in ("vip", "major", "ordinary", "small")}}}


RUNNERS = {"cvm-duckdb": run_cvm, "cvm-spark": lambda d: run_cvm(d, "pyspark"),
           "duckdb-sql": run_duckdb_sql, "pandas": run_pandas, "lifetimes": run_lifetimes}

# ---- driver ----------------------------------------------------------------------------


def prepare(customers: int) -> Path:
    """Generate the demo company's transactions and import them into a cvm workspace."""
    from cvm import Workspace
    from cvm.demo import DEMO_MAPPINGS, DemoParams, generate

    d = DATA / f"c{customers}"
    if (d / "ws" / "cvm.toml").exists():
        return d
    if (d / "transactions.parquet").exists():  # data kept from an earlier run: import only
        Workspace.init(d / "ws").import_file("transactions", d / "transactions.parquet")
        return d
    shutil.rmtree(d, ignore_errors=True)
    files = generate(d / "gen", DemoParams(customers=customers, seed=7))
    import pyarrow.parquet as pq

    tx = pq.read_table(files["transactions"]).rename_columns(
        ["transaction_id", "customer_id", "timestamp", "amount", "cost", "quantity", "product",
         "brand", "channel"])
    pq.write_table(tx, d / "transactions.parquet")
    ws = Workspace.init(d / "ws")
    ws.import_file("transactions", files["transactions"], DEMO_MAPPINGS["transactions"])
    shutil.rmtree(d / "gen")
    return d


def measure(name: str, data: Path, python: str, timeout: int) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--run", name, "--data", str(data)]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"name": name, "status": f"did not finish in {timeout} s"}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"name": name, "status": "failed: " + err.strip().splitlines()[-1][:200]}
    result = json.loads(out.strip().splitlines()[-1])
    return dict(result, name=name, status="ok", process_seconds=wall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_160_000])
    ap.add_argument("--lifetimes-python", default=None)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--skip", nargs="*", default=[])
    args = ap.parse_args()
    if args.run:
        result = RUNNERS[args.run](args.data)
        result["max_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return
    rows = []
    for size in args.sizes:
        data = prepare(size)
        import pyarrow.parquet as pq

        n_tx = pq.ParquetFile(data / "transactions.parquet").metadata.num_rows
        for name in RUNNERS:
            if name in args.skip:
                continue
            python = sys.executable
            if name == "lifetimes":
                if not args.lifetimes_python:
                    continue
                python = args.lifetimes_python
            r = measure(name, data, python, args.timeout)
            r.update(customers=size, transactions=n_tx)
            print(json.dumps(r), flush=True)
            rows.append(r)
    write_results(rows)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss, which
    Linux carries over from the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def write_results(rows: list[dict]) -> None:
    import duckdb
    import ibis

    lines = [
        "## Per-customer summary + value tiers (issue 3)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {_machine()}; ibis "
        f"{ibis.__version__}, duckdb {duckdb.__version__}. Command: "
        "`python bench/bench_foundation.py --lifetimes-python /tmp/bench-venv/bin/python`.",
        "Time = summary + tiers from Parquet to an in-memory result, excluding process start; "
        "peak = the process's peak resident memory (VmHWM; for cvm-spark the JVM's memory is "
        "not included). `check` compares each result with cvm's.",
        "",
        "| customers | transactions | contender | seconds | peak MB | vs duckdb-sql | check |",
        "|---:|---:|---|---:|---:|---:|---|",
    ]
    by_size: dict[int, dict[str, dict]] = {}
    for r in rows:
        by_size.setdefault(r["customers"], {})[r["name"]] = r
    for size, results in by_size.items():
        ref = results.get("duckdb-sql", {}).get("seconds")
        base = results.get("cvm-duckdb", {}).get("check")
        for name, r in results.items():
            if r["status"] != "ok":
                lines.append(f"| {size:,} | {r['transactions']:,} | {name} | – | – | – | "
                             f"{r['status']} |")
                continue
            same = "same" if base and _same(r["check"], base) else f"differs: {r['check']}"
            ratio = f"{r['seconds'] / ref:.2f}x" if ref else "–"
            lines.append(f"| {size:,} | {r['transactions']:,} | {name} | {r['seconds']:.2f} | "
                         f"{r['max_rss_mb']:.0f} | {ratio} | {same} |")
    (HERE / "results_foundation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _same(a: dict, b: dict) -> bool:
    return (a["customers"] == b["customers"] and a["sum_frequency"] == b["sum_frequency"]
            and abs(a["sum_T"] - b["sum_T"]) < 1e-3 * max(1.0, abs(b["sum_T"]))
            and a["tiers"] == b["tiers"])


if __name__ == "__main__":
    main()

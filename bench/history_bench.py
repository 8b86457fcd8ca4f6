"""Writing a monthly run's score history (issue 18's customer page): `cvm.scoring.run._long`
in customer order with 65,536-row groups, against the same rows built score by score and
written with pyarrow's defaults (the floor: what the run wrote before), and the cost of
looking one customer up in each with DuckDB.

Scores: the registry's, with three product lines for propensity and share (17 in all, as
the 1M demo's run has), over ``--customers`` ids in id order (the run sorts its frame by
id); numeric scores with 10% blanks, categorical ones labelled. Each writer runs
``--repeat`` times; the medians are printed with the look-up times (30 ids).

    PYTHONPATH=src python bench/history_bench.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cvm.scoring import run
from cvm.scoring.registry import SCORES, score_def

AS_OF = dt.date(2024, 11, 30)


def collector(n: int) -> run._Collector:
    rng = np.random.default_rng(1)
    ids = pd.Index([f"{i:07d}" for i in range(n)])
    out = run._Collector(ids)
    names = [s for s in SCORES if s not in ("propensity", "share")]
    names += [f"{p}_{line}" for p in ("propensity", "share") for line in ("a", "b", "c")]
    for name in names:
        if score_def(name).categorical:
            out.labels[name] = pd.Series(rng.choice(["x", "y", "z"], n), index=ids,
                                         dtype=object)
        else:
            v = rng.random(n)
            v[rng.random(n) < 0.1] = np.nan
            out.values[name] = pd.Series(v, index=ids)
    return out


def score_major(out: run._Collector, as_of: dt.date) -> pa.Table:
    """The floor: the same rows, one score after another (no reordering)."""
    ids = pa.array(out.ids.to_numpy(dtype=object), pa.string())
    n, parts = len(ids), []
    for name in run._order(out):
        v, lab = out.values.get(name), out.labels.get(name)
        value = (pa.array(v.to_numpy(dtype=float), pa.float64(), from_pandas=True)
                 if v is not None else pa.nulls(n, pa.float64()))
        label = (pa.array(lab.to_numpy(dtype=object), pa.string(), from_pandas=True)
                 if lab is not None else pa.nulls(n, pa.string()))
        part = pa.table({"customer_id": ids, "value": value, "label": label}).filter(
            pc.or_(pc.is_valid(value), pc.is_valid(label)))
        m = part.num_rows
        parts.append(pa.table({
            "customer_id": part["customer_id"],
            "as_of": pa.repeat(pa.scalar(as_of, pa.date32()), m),
            "score": pa.repeat(pa.scalar(name, pa.string()), m),
            "value": part["value"], "label": part["label"],
            "version": pa.repeat(pa.scalar(score_def(name).version, pa.string()), m)},
            schema=run._LONG))
    return pa.concat_tables(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = collector(args.customers)
    folder = Path(tempfile.mkdtemp(prefix="history_bench-"))
    writers = {"floor: score by score, default row groups": (score_major, None),
               "cvm: customer order, 65,536-row groups": (run._long, run._HISTORY_GROUP)}
    for label, (build, group) in writers.items():
        times, builds = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            table = build(out, AS_OF)
            built = time.perf_counter()
            path = folder / f"{group}.parquet"
            pq.write_table(table, path, compression="zstd", row_group_size=group)
            times.append(time.perf_counter() - t)
            builds.append(built - t)
        con = duckdb.connect()
        wanted = [f"{(i * 33331) % args.customers:07d}" for i in range(30)]
        t = time.perf_counter()
        for cid in wanted:
            con.execute("SELECT * FROM read_parquet(?) WHERE customer_id = ?",
                        [str(path), cid]).fetchall()
        look = (time.perf_counter() - t) / len(wanted) * 1000
        print(f"| {label} | {table.num_rows:,} | {statistics.median(builds):.2f} | "
              f"{statistics.median(times):.2f} | {look:.1f} |", flush=True)


if __name__ == "__main__":
    main()

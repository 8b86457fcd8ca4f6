"""Service standards and complaints (issue 17) at scale: `cvm service` against hand-written
DuckDB SQL over the same Parquet parts (the floor), side by side.

About 10M service interactions (``--rows``) are generated with numpy (seeded) into one
Parquet file and imported with ``Workspace.import_file`` into a workspace of interactions
only, kept under ``--cache`` (default /tmp/service_bench) so a rerun does not regenerate
it; a copy with ``engine = "pyspark"`` in its cvm.toml serves the Spark contender. The
interactions: two years, ``rows / 5`` customers, six touchpoints, about 10% complaints,
first responses and resolutions drawn per touchpoint so that every default standard has
met, breached and pending interactions, some never answered. Without transactions,
contracts or survey answers the complaint views churn, moments and silent have nothing to
measure (cvm says so in notes): the complaints measured here are rates, categories,
resolution and repeats.

Then, each in a process of its own, one after the other, all with ``--as-of`` (default
2024-12-31, the last day of the data, so some interactions are still pending):

1. ``sql-standards`` (floor): one DuckDB query over the interactions' Parquet parts
   computing, per default standard, what ``ws.service.compliance()`` computes (n, met,
   breached, pending, compliance, median and 90th percentile time);
2. ``sql-complaints`` (floor): DuckDB queries computing the complaint views rates,
   categories, resolution and repeats (``service.repeat_days``) per month;
3. ``cvm-duckdb-standards``: ``cvm service standards --format json --as-of D -w WS``;
4. ``cvm-duckdb-complaints``: ``cvm service complaints --format json --as-of D -w WS``;
5. ``cvm-python``: the two facade calls in one Python process, timed apart from the
   imports (what the commands' time is made of);
6. ``cvm-spark-standards`` and ``cvm-spark-complaints``: the commands on the Spark copy
   (local[2], default settings);
7. with ``--repeat N``, N - 1 more rounds of the floors and the DuckDB commands (1-4),
   interleaved, and a table of their medians (a 3-second process varies by a second from
   one run to the next on this machine);
8. ``sql-standards`` again, to see whether the machine's speed moved during the runs.

Processes are measured as in bench/scoring_bench.py (`scoring_bench.measure`: /usr/bin/time
-v, the summed resident memory of the process tree, load averages at start and end). Each
cvm result is checked against the floor's, number by number: counts exactly, shares,
medians and percentiles to 1e-9 relative; a difference is reported, and fails the run
unless ``--no-assert``.

    PYTHONPATH=src python bench/service_bench.py [--rows 10000000]

Writes results_service.md and results_service.json to the cache folder (the section of
bench/RESULTS.md is written from them by hand, with its reading).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scoring_bench as sb  # noqa: E402  (the process measuring, shared)

AS_OF = "2024-12-31"
START = dt.datetime(2023, 1, 1)
DAYS = 731  # 2023-01-01 .. 2024-12-31

#: The default standards (cvm.config._default_standards), as the floor's SQL states them:
#: name, touchpoint (NULL: all), kind (NULL: every kind), measure column, limit seconds.
STANDARDS_SQL = """
    SELECT * FROM (VALUES
        (0, 'call_centre_answer', 'call_centre', NULL, false, 15),
        (1, 'web_reply', 'web', NULL, false, 300),
        (2, 'on_site_arrival', 'on_site', NULL, false, 7200),
        (3, 'complaint_resolution', NULL, 'complaint', true, 172800)
    ) s(ord, standard, s_touchpoint, s_kind, by_resolution, limit_s)
"""

# ---- data ------------------------------------------------------------------------------

#: Touchpoints, their shares, and the median first response in seconds at each.
_TOUCH = [("call_centre", 0.35, 12), ("web", 0.25, 240), ("mobile", 0.15, 600),
          ("branch", 0.12, 120), ("on_site", 0.05, 5400), ("account_manager", 0.08, 3600)]


def generate(path: Path, rows: int, seed: int = 17) -> None:
    """``rows`` interactions of ``rows // 5`` customers into one Parquet file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_cust = max(rows // 5, 1)
    writer = None
    base = int((START - dt.datetime(1970, 1, 1)).total_seconds())
    chunk = 2_000_000
    for lo in range(0, rows, chunk):
        n = min(chunk, rows - lo)
        cust = rng.zipf(1.6, n) % n_cust  # some customers call often: repeats
        touch = rng.choice(len(_TOUCH), n, p=[t[1] for t in _TOUCH])
        complaint = rng.uniform(size=n) < 0.1
        kind_idx = np.where(complaint, 0, rng.choice([1, 2, 3], n, p=[0.6, 0.35, 0.05]))
        opened = rng.integers(0, DAYS * 86400, n)  # whole seconds since START
        median = np.array([t[2] for t in _TOUCH])[touch]
        response = np.maximum(1, median * rng.lognormal(0, 0.9, n)).astype(np.int64)
        resolve = response + (rng.exponential(np.where(complaint, 2.0, 0.4), n)
                              * 86400).astype(np.int64)
        no_response = rng.uniform(size=n) < 0.02
        unresolved = rng.uniform(size=n) < 0.05

        def ts(seconds, mask=None):
            return pa.array((base + seconds) * 1_000_000, pa.timestamp("us"), mask=mask)

        ids = pc.binary_join_element_wise(
            "I", pc.cast(pa.array(np.arange(lo, lo + n)), pa.string()), "")
        customer = pc.binary_join_element_wise(
            "C", pc.cast(pa.array(cust), pa.string()), "")
        category = pa.array(np.array(["billing", "network", "product", "account", ""])[
            rng.choice(5, n, p=[0.3, 0.25, 0.25, 0.15, 0.05])])
        table = pa.table({
            "interaction_id": ids,
            "customer_id": customer,
            "touchpoint": pc.take(pa.array([t[0] for t in _TOUCH]), pa.array(touch)),
            "kind": pc.take(pa.array(["complaint", "inquiry", "request", "praise"]),
                            pa.array(kind_idx)),
            "opened_at": ts(opened),
            "first_response_at": ts(opened + response, no_response),
            "resolved_at": ts(opened + resolve, unresolved),
            "category": pc.if_else(pc.equal(category, ""), pa.scalar(None, pa.string()),
                                   category),
            "outcome": pa.array(np.where(unresolved, "open", "resolved")),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def prepare(cache: Path, rows: int) -> tuple[Path, Path, dict]:
    """The interactions imported into ``cache/rN/ws`` (once), and its Spark copy."""
    from cvm import Workspace

    d = cache / f"r{rows}"
    ws, spark = d / "ws", d / "ws-spark"
    info_file = d / "prepared.json"
    if not info_file.exists():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        src = d / "interactions.parquet"
        t0 = time.perf_counter()
        generate(src, rows)
        t1 = time.perf_counter()
        report = Workspace.init(ws).import_file("interactions", src)
        t2 = time.perf_counter()
        src.unlink()  # now in the warehouse
        shutil.copytree(ws, spark, ignore=shutil.ignore_patterns(".cvm"))
        toml = spark / "cvm.toml"
        text = toml.read_text()
        assert re.search(r'^engine = "duckdb"$', text, re.M), "cvm.toml names no engine"
        toml.write_text(re.sub(r'^engine = "duckdb"$', 'engine = "pyspark"', text,
                               flags=re.M))
        info = {"rows": report.rows_added, "generate_s": round(t1 - t0, 1),
                "import_s": round(t2 - t1, 1),
                "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")}
        info_file.write_text(json.dumps(info))
    return ws, spark, json.loads(info_file.read_text())


# ---- the floor: hand-written DuckDB SQL ---------------------------------------------------


def _connect(ws: Path):
    import duckdb

    parts = sorted(str(p) for p in (ws / "warehouse" / "interactions").glob("*.parquet"))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con, parts


def _as_of(as_of: str) -> str:
    return f"{as_of} 23:59:59"


def _records(cur) -> list[dict]:
    cols = [c[0] for c in cur.description]
    out = []
    for row in cur.fetchall():
        rec = {}
        for c, v in zip(cols, row, strict=True):
            rec[c] = v.isoformat() if isinstance(v, dt.date) else v
        out.append(rec)
    return out


def run_sql_standards(ws: Path, as_of: str) -> dict:
    """Per default standard: n, met, breached, pending, compliance, median and 90th
    percentile time of the answered (seconds, elapsed clock), in one scan."""
    con, parts = _connect(ws)
    t0 = time.perf_counter()
    cur = con.execute(f"""
        WITH s AS ({STANDARDS_SQL}),
        i AS (
            SELECT touchpoint, lower(kind) AS kind, opened_at, first_response_at,
                   resolved_at
            FROM read_parquet(?) WHERE opened_at <= TIMESTAMP '{_as_of(as_of)}'),
        j AS (
            SELECT s.ord, s.standard, s.limit_s,
                   epoch(date_trunc('second', i.opened_at))::BIGINT AS o,
                   CASE WHEN s.by_resolution THEN i.resolved_at ELSE i.first_response_at
                        END AS e
            FROM i JOIN s ON (s.s_touchpoint IS NULL OR i.touchpoint = s.s_touchpoint)
                         AND (s.s_kind IS NULL OR i.kind = s.s_kind)),
        k AS (
            SELECT ord, standard, limit_s,
                   CASE WHEN e <= TIMESTAMP '{_as_of(as_of)}'
                        THEN epoch(date_trunc('second', e))::BIGINT - o END AS t,
                   epoch(TIMESTAMP '{_as_of(as_of)}')::BIGINT - o AS so_far
            FROM j)
        SELECT standard, count(*) AS n,
               count(*) FILTER (WHERE t <= limit_s) AS met,
               count(*) FILTER (WHERE t > limit_s OR (t IS NULL AND so_far > limit_s))
                   AS breached,
               count(*) FILTER (WHERE t IS NULL AND so_far <= limit_s) AS pending,
               median(t::DOUBLE) AS median_seconds,
               quantile_cont(t::DOUBLE, 0.9) AS p90_seconds
        FROM k GROUP BY ord, standard ORDER BY ord""", [parts])
    rows = _records(cur)
    for r in rows:
        judged = r["met"] + r["breached"]
        r["compliance"] = r["met"] / judged if judged else None
    return {"seconds_inside": time.perf_counter() - t0, "standards": rows}


def run_sql_complaints(ws: Path, as_of: str, repeat_days: int = 30) -> dict:
    """Per month: complaint rates, resolution (complaint_resolution, 2 days, elapsed) and
    repeats; and per category: complaints, resolution, repeats."""
    con, parts = _connect(ws)
    asof = f"TIMESTAMP '{_as_of(as_of)}'"
    t0 = time.perf_counter()
    # the interactions of the period, once, in memory: every view reads them
    con.execute(f"""
        CREATE TEMP TABLE i AS
        SELECT interaction_id, customer_id, lower(kind) = 'complaint' AS complaint,
               coalesce(category, '(none)') AS category, opened_at, resolved_at,
               date_trunc('month', opened_at)::DATE AS period_start
        FROM read_parquet(?) WHERE opened_at <= {asof}""", [parts])
    con.execute(f"""
        CREATE TEMP TABLE c AS
        SELECT customer_id, category, period_start,
               CASE WHEN resolved_at <= {asof}
                    THEN epoch(date_trunc('second', resolved_at))::BIGINT
                         - epoch(date_trunc('second', opened_at))::BIGINT END AS t,
               epoch({asof})::BIGINT - epoch(date_trunc('second', opened_at))::BIGINT
                   AS so_far,
               CASE WHEN lag(opened_at) OVER w IS NOT NULL
                         AND epoch(date_trunc('second', opened_at))::BIGINT
                             - epoch(date_trunc('second', lag(opened_at) OVER w))::BIGINT
                             <= {repeat_days * 86400}
                    THEN 1 ELSE 0 END AS rep
        FROM i WHERE complaint
        WINDOW w AS (PARTITION BY customer_id ORDER BY opened_at, interaction_id)""")
    status = """count(*) AS complaints, count(t) AS resolved,
                median(t / 3600.0) AS median_hours,
                quantile_cont(t / 3600.0, 0.9) AS p90_hours,
                count(*) FILTER (WHERE t <= 172800) AS met,
                count(*) FILTER (WHERE t > 172800 OR (t IS NULL AND so_far > 172800))
                    AS breached,
                count(*) FILTER (WHERE t IS NULL AND so_far <= 172800) AS pending"""
    out = {"rates": _records(con.execute("""
        SELECT period_start, count(DISTINCT customer_id) AS customers,
               count(*) FILTER (WHERE complaint) AS complaints,
               count(DISTINCT customer_id) FILTER (WHERE complaint) AS complainants
        FROM i GROUP BY ALL ORDER BY period_start""")),
        "resolution": _records(con.execute(f"""
        SELECT period_start, {status} FROM c GROUP BY ALL ORDER BY period_start""")),
        "repeats": _records(con.execute("""
        SELECT period_start, count(*) AS complaints,
               count(DISTINCT customer_id) AS complainants, sum(rep) AS repeat_complaints,
               count(DISTINCT customer_id) FILTER (WHERE rep = 1) AS repeat_customers
        FROM c GROUP BY ALL ORDER BY period_start""")),
        "categories": _records(con.execute(f"""
        SELECT category, {status}, count(DISTINCT customer_id) AS complainants,
               sum(rep) AS repeats
        FROM c GROUP BY ALL ORDER BY category"""))}
    return {"seconds_inside": time.perf_counter() - t0, **out}


def run_python(ws_dir: Path, as_of: str) -> dict:
    """Both facade calls in one process: imports and opening timed apart from them."""
    t0 = time.perf_counter()
    from cvm import Workspace

    ws = Workspace.open(ws_dir)
    _ = ws.service
    import cvm.service.complaints  # noqa: F401  (imported by the call otherwise)

    t1 = time.perf_counter()
    ws.service.standards_view("compliance", as_of)
    t2 = time.perf_counter()
    ws.service.complaints("all", None, as_of)
    t3 = time.perf_counter()
    return {"imports_and_open": t1 - t0, "standards_s": t2 - t1, "complaints_s": t3 - t2,
            "seconds_inside": t3 - t1}


RUNNERS = {"sql-standards": run_sql_standards, "sql-complaints": run_sql_complaints,
           "python": run_python}
CONTENDERS = ("sql-standards", "sql-complaints", "cvm-duckdb-standards",
              "cvm-duckdb-complaints", "cvm-python", "cvm-spark-standards",
              "cvm-spark-complaints", "sql-standards (again, at the end)")
#: The floor each contender is set against.
FLOOR = {"cvm-duckdb-standards": "sql-standards", "cvm-spark-standards": "sql-standards",
         "cvm-duckdb-complaints": "sql-complaints", "cvm-spark-complaints": "sql-complaints"}

# ---- the check: cvm's numbers against the floor's ----------------------------------------


def _close(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b)))
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def _compare(ours: list[dict], floor: list[dict], key: str, cols: list[str],
             what: str) -> list[str]:
    got = {r[key]: r for r in ours}
    diffs = []
    for f in floor:
        o = got.get(f[key])
        if o is None:
            diffs.append(f"{what}: no row {f[key]}")
            continue
        for c in cols:
            if not _close(f[c], o.get(c)):
                diffs.append(f"{what} {f[key]} {c}: floor {f[c]}, cvm {o.get(c)}")
    extra = set(got) - {f[key] for f in floor}
    # cvm's rates list every month to the as-of day, with zeros where nothing happened
    extra = [k for k in extra if any(got[k].get(c) for c in cols)]
    if extra:
        diffs.append(f"{what}: cvm has rows the floor has not: {sorted(extra)[:5]}")
    return diffs


_STATUS = ["complaints", "resolved", "median_hours", "p90_hours", "met", "breached",
           "pending"]


def check(name: str, out_file: Path, floor: dict) -> list[str]:
    """Differences between a cvm command's JSON output and the floor's numbers."""
    doc = json.loads(out_file.read_text())
    if name.endswith("standards"):
        return _compare(doc, floor["standards"], "standard",
                        ["n", "met", "breached", "pending", "compliance", "median_seconds",
                         "p90_seconds"], "standards")
    return (_compare(doc["rates"], floor["rates"], "period_start",
                     ["customers", "complaints", "complainants"], "rates")
            + _compare(doc["resolution"], floor["resolution"], "period_start", _STATUS,
                       "resolution")
            + _compare(doc["repeats"], floor["repeats"], "period_start",
                       ["complaints", "complainants", "repeat_complaints",
                        "repeat_customers"], "repeats")
            + _compare(doc["categories"], floor["categories"], "category",
                       [*_STATUS[:4], "complainants", "repeats"], "categories"))


# ---- driver ----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", choices=sorted(RUNNERS))
    ap.add_argument("--ws", type=Path)
    ap.add_argument("--as-of", default=AS_OF)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/service_bench"))
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    ap.add_argument("--src", type=Path, default=None,
                    help="cvm source folder to measure (default: HEAD's src/, exported)")
    ap.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of the four DuckDB contenders (floors and commands, "
                         "interleaved); with more than one, their medians are reported too")
    ap.add_argument("--no-assert", action="store_true",
                    help="report differences from the floor instead of failing")
    ap.add_argument("--report", type=Path, default=None,
                    help="only write the report of this results_service.json")
    args = ap.parse_args()
    if args.report:
        rows = json.loads(args.report.read_text())
        info = json.loads((args.cache / f"r{args.rows}" / "prepared.json").read_text())
        print(report(rows, args, info))
        return
    if args.run:
        print(json.dumps(RUNNERS[args.run](args.ws, args.as_of), default=str))
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    if args.src is None:
        commit = sb.pin_source(args.cache)[:10]
    else:
        commit = f"(--src {args.src})"
        sb.SRC = args.src.resolve()
    py, me = sys.executable, str(Path(__file__).resolve())
    cvm = str(Path(py).with_name("cvm"))
    ws, spark, info = prepare(args.cache, args.rows)
    print(json.dumps(info), flush=True)
    logs = ws.parent / "logs"
    logs.mkdir(exist_ok=True)

    def command(target: Path, what: str) -> list[str]:
        return [cvm, "service", what, "--format", "json", "--as-of", args.as_of,
                "-w", str(target)]

    plan = [
        ("sql-standards", [py, me, "--run", "sql-standards", "--ws", str(ws)]),
        ("sql-complaints", [py, me, "--run", "sql-complaints", "--ws", str(ws)]),
        ("cvm-duckdb-standards", command(ws, "standards")),
        ("cvm-duckdb-complaints", command(ws, "complaints")),
        ("cvm-python", [py, me, "--run", "python", "--ws", str(ws)]),
        ("cvm-spark-standards", command(spark, "standards")),
        ("cvm-spark-complaints", command(spark, "complaints")),
        ("sql-standards (again, at the end)",
         [py, me, "--run", "sql-standards", "--ws", str(ws)]),
    ]
    duck = {"sql-standards", "sql-complaints", "cvm-duckdb-standards",
            "cvm-duckdb-complaints"}
    extra = [(f"{name} (round {k})", cmd) for k in range(2, args.repeat + 1)
             for name, cmd in plan if name in duck]
    plan = plan[:-1] + extra + plan[-1:]
    rows, problems = [], []
    for name, cmd in plan:
        if name in args.skip:
            continue
        if "--run" in cmd:
            cmd = [*cmd, "--as-of", args.as_of]
        log = logs / f"{name.split()[0]}.log"
        r = sb.measure(name, cmd, log, args.timeout)
        r.update(rows=info["rows"], commit=commit, contender=name.split(" (round")[0])
        floor = next((x for x in rows if x["name"] == FLOOR.get(r["contender"])), None)
        if floor is not None and r["status"] == "ok":
            r["diffs"] = check(r["contender"], log.with_suffix(".out"), floor)
            if r["diffs"]:
                problems.append(f"{name}: " + "; ".join(r["diffs"][:5]))
        print(json.dumps({k: v for k, v in r.items()
                          if k not in ("standards", "rates", "resolution", "repeats",
                                       "categories")}, default=str), flush=True)
        rows.append(r)
        (args.cache / "results_service.json").write_text(json.dumps(rows, indent=1,
                                                                    default=str))
    text = report(rows, args, info)
    (args.cache / "results_service.md").write_text(text)
    print(text)
    on_duck = [p for p in problems if "spark" not in p]
    if problems:
        print("\n".join(problems), file=sys.stderr)
    if on_duck and not args.no_assert:
        sys.exit("cvm on DuckDB and the hand-written SQL disagree (above)")


def report(rows: list[dict], args, info: dict) -> str:
    lines = [
        f"Machine: {sb._machine()}. Versions: {sb._versions()}.",
        f"Command: `PYTHONPATH=src python bench/service_bench.py --rows {args.rows}` "
        f"(as of {args.as_of}; timeout {args.timeout} s a process). Data: "
        f"{info['rows']:,} interactions (generated in {info['generate_s']} s, imported in "
        f"{info['import_s']} s).",
        "",
        "| contender | seconds (process) | seconds (query / calls) | CPU s | peak MB "
        "| vs floor (process) | vs floor (query) | CPU vs floor's | load avg 1 min, start → "
        "end | started (UTC) | numbers vs floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    by = {r["name"]: r for r in rows}
    for r in rows:
        proc = r.get("elapsed_s", r["wall_s"])
        inside = r.get("seconds_inside")
        floor = by.get(FLOOR.get(r["name"], ""))
        ratio_p = ratio_q = ratio_c = ""
        if floor and r["status"] == "ok":
            ratio_p = f"{proc / floor.get('elapsed_s', floor['wall_s']):.2f}x"
            ratio_c = f"{sb._cpu(r) / sb._cpu(floor):.2f}x"
        if floor and r["status"] == "ok" and r["name"].startswith("cvm-duckdb"):
            ratio_q = f"{proc / floor['seconds_inside']:.2f}x"
        extra = "" if r["status"] == "ok" else f" ({r['status']})"
        if r["name"] == "cvm-python" and r["status"] == "ok":
            extra = (f" (imports {r['imports_and_open']:.1f} s, standards "
                     f"{r['standards_s']:.1f} s, complaints {r['complaints_s']:.1f} s)")
        if r["name"].startswith("cvm-spark") and r["status"] == "ok":
            extra = " (JVM {:,} MB, Python {:,} MB)".format(
                r["peak_by_name_mb"].get("java", 0), r["peak_by_name_mb"].get("cvm", 0))
        peak = max(r.get("max_rss_kb", 0) / 1024, r["peak_tree_mb"])
        same = ""
        if "diffs" in r:
            same = "same" if not r["diffs"] else f"{len(r['diffs'])} differ: " + "; ".join(
                r["diffs"][:3])
        lines.append(
            f"| {r['name']}{extra} | {proc:.1f} | "
            f"{'' if inside is None else f'{inside:.1f}'} | {sb._cpu(r):.1f} | {peak:,.0f} | "
            f"{ratio_p} | {ratio_q} | {ratio_c} | {r['load_start'][0]:.2f} → "
            f"{r['load_end'][0]:.2f} | "
            f"{r['started']} | {same} |")
    return "\n".join(lines) + "\n" + _medians(rows)


def _medians(rows: list[dict]) -> str:
    """With repeated rounds: each contender's median process and CPU seconds, its range,
    and the medians' ratio to its floor's."""
    import statistics

    by: dict[str, list[dict]] = {}
    for r in rows:
        if r["status"] == "ok" and not r["name"].endswith("(again, at the end)"):
            by.setdefault(r.get("contender", r["name"]), []).append(r)
    if max((len(v) for v in by.values()), default=0) < 2:
        return ""

    def med(rs, f):
        return statistics.median(f(r) for r in rs)

    lines = ["", "Medians over the rounds:", "",
             "| contender | rounds | seconds (process), median | min - max | CPU s, median "
             "| vs floor (process) | vs floor (CPU) |", "|---|---:|---:|---|---:|---:|---:|"]
    for name, rs in by.items():
        if len(rs) < 2:
            continue
        wall = med(rs, lambda r: r.get("elapsed_s", r["wall_s"]))
        cpu = med(rs, sb._cpu)
        walls = [r.get("elapsed_s", r["wall_s"]) for r in rs]
        floor = by.get(FLOOR.get(name, ""))
        rp = rc = ""
        if floor:
            rp = f"{wall / med(floor, lambda r: r.get('elapsed_s', r['wall_s'])):.2f}x"
            rc = f"{cpu / med(floor, sb._cpu):.2f}x"
        lines.append(f"| {name} | {len(rs)} | {wall:.2f} | {min(walls):.1f} - {max(walls):.1f} "
                     f"| {cpu:.1f} | {rp} | {rc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""Loyalty programme benchmark: HTTP throughput and latency, large-ledger reads, tier job.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, database ``test``)::

    PYTHONPATH=src python bench/programme_bench.py [--seconds 15] [--members 100000]

Needs wrk (``apt-get install wrk``): the load is generated in C by bench/programme_wrk.lua so
that the client takes little of the CPUs the server is measured on. Writes
bench/results_programme.md. Parts:

1. Sustained earn + redeem over HTTP (``cvm programme serve``, 1 and 2 server processes)
   from 50 connections, on SQLite and PostgreSQL: operations/s, p50/p99 latency, then a
   ledger audit and a count of stored writes against answered ones.
2. PostgreSQL with ``--members`` members and 20 ledger entries each (16 earn lots, 4
   redemptions with their allocations), bulk-loaded in SQL in booking order, all members'
   first earns, then all their second ones..., so that a member's entries lie on different
   pages as in a real ledger (``--keep-large SCHEMA`` keeps it for the next run): balance
   and statement requests over HTTP from 1 and 50 connections, the tier job over all
   members, and the ledger audit.
3. Earn + redeem through the Python API for a member holding 730 open lots (a purchase a
   day for 24 months) beside one holding a few, on SQLite and PostgreSQL: CPU per operation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cvm.config import Settings  # noqa: E402
from cvm.programme import Programme  # noqa: E402
from cvm.workspace import Workspace  # noqa: E402

PG = os.environ.get("CVM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLIENTS = 50


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], ready) -> subprocess.Popen:
    """Start a server (`args` after the Python executable, with src/ on the path) and wait
    until `ready()` stops raising httpx.TransportError."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            ready()
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def serve(ws: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """`cvm programme serve` on the workspace: (its process, its base URL)."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(["-c", "from cvm.cli import main; main()", "programme", "serve", "-w",
                   str(ws), "--port", str(port), "--workers", str(workers)],
                  lambda: httpx.get(url + "/openapi.json", timeout=1).raise_for_status())
    return proc, url


def workspace(tmp: Path, url: str) -> tuple[Path, Programme]:
    ws = Workspace.init(tmp / uuid.uuid4().hex[:8], Settings().updated(**{
        "programme.database_url": url, "programme.return_window_days": 0}))
    prog = Programme.from_workspace(ws)
    prog.init()
    return ws.path, prog


WRK_SCRIPT = Path(__file__).with_name("programme_wrk.lua")


def wrk(url: str, mode: str, key: str, members: int, prefix: str, seconds: float,
        connections: int = CLIENTS, threads: int = 2) -> dict:
    """Run wrk (bench/programme_wrk.lua) against the server; its JSON summary."""
    exe = shutil.which("wrk")
    if exe is None:
        sys.exit("wrk is not installed: apt-get install wrk (the load generator, in C)")
    out = subprocess.run(
        [exe, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s",
         "--timeout", "30s", "-s", str(WRK_SCRIPT), url, "--", mode, key, str(members),
         prefix, uuid.uuid4().hex[:8]], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _procs() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds used) of every process (Linux /proc)."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            f = text[text.rindex(")") + 2:].split()
            out[int(entry.name)] = (int(f[1]), name, (int(f[11]) + int(f[12])) / tick)
    return out


def _cpu(root: int) -> tuple[float, float]:
    """CPU seconds used so far by the server (`root` and its descendants) and by PostgreSQL's
    processes."""
    procs, tree = _procs(), {root}
    changed = True
    while changed:
        kids = {pid for pid, (ppid, _, _) in procs.items() if ppid in tree} - tree
        changed = bool(kids)
        tree |= kids
    server = sum(procs[p][2] for p in tree if p in procs)
    return server, sum(c for _, name, c in procs.values() if name == "postgres")


def _write_load(proc: subprocess.Popen, base: str, key: str, seconds: float) -> dict:
    """wrk's write load on the server `proc` at `base`, then stop it: the run's row (rates,
    latencies, CPU per operation of the server's processes and of PostgreSQL's)."""
    try:
        before = _cpu(proc.pid)
        run = wrk(base, "write", key, 1000, "m", seconds)
        after = _cpu(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    return {"requests": run["requests"], "seconds": run["seconds"],
            "ops_per_s": run["requests"] / run["seconds"],
            "p50_ms": run["p50_us"] / 1000, "p99_ms": run["p99_us"] / 1000,
            "server_cpu_ms": 1000 * (after[0] - before[0]) / run["requests"],
            "db_cpu_ms": 1000 * (after[1] - before[1]) / run["requests"],
            "statuses": run["statuses"], "socket_errors": sum(run["errors"].values())}


def throughput(dialect: str, url: str, tmp: Path, seconds: float, workers: int) -> dict:
    ws, prog = workspace(tmp, url)
    prog.add_rule("base", points_per_step=10, step=100)
    key = prog.create_api_key("till")
    for i in range(1000):
        prog.create_member(f"m{i}")
        prog.adjust(f"m{i}", 1000, "bench float")
    proc, base = serve(ws, workers)
    out = {"dialect": dialect, "workers": workers, **_write_load(proc, base, key, seconds)}
    with prog.store.read() as conn:
        stored = conn.execute(sa.text(
            "SELECT count(*) FROM operations WHERE kind IN ('earn', 'redeem')")).scalar_one()
    out["audit_problems"] = len(prog.audit())
    # wrk stops with up to one request per connection in flight: the server may have booked
    # it without wrk reading the answer, never the other way round
    out["unanswered_stored"] = stored - out["statuses"].get("201", 0)
    prog.close()
    return out


FLOOR_APPS = Path(__file__).with_name("floor_apps.py")


def floor(kind: str, seconds: float, workers: int) -> dict:
    """The same write load against the HTTP stack alone (bench/floor_apps.py): `kind` "bare"
    (uvicorn with a plain ASGI app) or "fastapi" (cvm's earn and redeem signatures, no
    ledger), answering a constant 201."""
    port = _port()
    base = f"http://127.0.0.1:{port}"
    proc = _start([str(FLOOR_APPS), kind, str(port), str(workers)],
                  lambda: httpx.post(base + "/api/v1/members/m0/earn", timeout=1,
                                     json={"transaction_id": "t", "amount": "1.00"}))
    label = {"bare": "none: uvicorn + plain ASGI app", "fastapi": "none: FastAPI, same routes"}
    return {"dialect": label[kind], "workers": workers,
            **_write_load(proc, base, "none", seconds), "floor": True}


BULK = [
    "INSERT INTO members (member_id, joined_on, status, created_at) "
    "SELECT 'b' || i, DATE '2024-01-01', 'active', now() FROM generate_series(0, :n - 1) i",
    "INSERT INTO operations (idem_key, request_hash, kind, member_id, actor, created_at, result)"
    " SELECT 'bulk:' || i, 'bulk', 'bulk', 'b' || i, 'bench', now(), '{}'::json "
    "FROM generate_series(0, :n - 1) i",
    "INSERT INTO ledger_entries (op_id, member_id, kind, points, source_txn, reason, booked_at,"
    " matures_at, expires_at, clawback_points) SELECT o.op_id, o.member_id, 'earn', 10,"
    " 'bt' || k, 'bulk earn', now() - (100 - k) * interval '1 day',"
    " now() - (100 - k) * interval '1 day', now() + interval '600 days', 0"
    " FROM operations o CROSS JOIN generate_series(1, 16) k WHERE o.kind = 'bulk'"
    " ORDER BY k, o.op_id",
    "INSERT INTO ledger_entries (op_id, member_id, kind, points, source_txn, reason, booked_at,"
    " clawback_points) SELECT o.op_id, o.member_id, 'redeem', -10, 'br' || k, 'bulk redeem',"
    " now() - interval '10 days', 0"
    " FROM operations o CROSS JOIN generate_series(1, 4) k WHERE o.kind = 'bulk'"
    " ORDER BY k, o.op_id",
    # statistics of the rows loaded so far (ANALYZE sees this transaction's own rows): the
    # join below is planned as a nested loop over 4M debits without them (stopped after 22
    # minutes without a row)
    "ANALYZE ledger_entries",
    "INSERT INTO allocations (debit_entry_id, lot_entry_id, member_id, points, booked_at)"
    " SELECT d.entry_id, l.entry_id, d.member_id, 10, now() FROM ledger_entries d"
    " JOIN ledger_entries l ON l.member_id = d.member_id"
    " AND l.source_txn = 'bt' || substr(d.source_txn, 3) WHERE d.kind = 'redeem'"
    " ORDER BY d.entry_id",
    "INSERT INTO operations (idem_key, request_hash, kind, member_id, actor, created_at,"
    " amount_cents, result) SELECT 'bulk-spend:' || i, 'bulk', 'earn', 'b' || i, 'bench',"
    " now() - interval '30 days', (i % 2000) * 1000, '{}'::json FROM generate_series(0, :n - 1) i",
]


def large(tmp: Path, n: int, workers: list[int], seconds: float, keep: str | None) -> dict:
    """Reads and the tier job on n members with 20 entries each (bulk-loaded in SQL).

    With `keep`, the schema of that name is used if it exists (loaded by an earlier run with
    the same --keep) and is kept afterwards; else a new schema is loaded and dropped.
    """
    schema = keep or f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'ledger_entries'", (schema,)).first() is not None
        c.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    try:
        ws, prog = workspace(tmp, f"{PG}?options=-csearch_path%3D{schema}")
        load_s = None
        if not exists:
            prog.seed_demo()
            t0 = time.perf_counter()
            with prog.store.write() as conn:
                for stmt in BULK:
                    conn.execute(sa.text(stmt), {"n": n})
            with prog.store.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("ANALYZE")
            load_s = time.perf_counter() - t0
        with prog.store.read() as conn:
            entries = conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar_one()
            n = conn.execute(sa.text("SELECT count(*) FROM members WHERE member_id LIKE 'b%'")
                             ).scalar_one()
        key = prog.create_api_key("staff")
        reads = {}
        for w in workers:
            proc, base = serve(ws, w)
            try:
                reads[w] = {"1": wrk(base, "read", key, n, "b", seconds, connections=1),
                            str(CLIENTS): wrk(base, "read", key, n, "b", seconds)}
            finally:
                proc.terminate()
                proc.wait()
            print(w, reads[w])
        if exists:  # a reused ledger: every member untiered again, as after the bulk load
            # (tier_history is append-only: the job appends to it)
            with prog.store.write() as conn:
                conn.execute(sa.text("UPDATE members SET tier_code = NULL, tier_since = NULL, "
                                     "below_since = NULL"))
            with prog.store.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE members")
        t0 = time.perf_counter()
        changes = prog.run_tiers(datetime.now(UTC).date())
        tier_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        problems = prog.audit()
        audit_s = time.perf_counter() - t0
        prog.close()
        return {"members": n, "entries": entries, "load_s": load_s, "reads": reads,
                "tier_job_s": tier_s, "tier_changes": len(changes), "audit_s": audit_s,
                "audit_problems": len(problems)}
    finally:
        if keep is None:
            with admin.connect() as c:
                c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


HEAVY_LOTS = 730   # a purchase a day for the 24 months points live


def heavy(tmp: Path, dialect: str, url: str, lots: int = HEAVY_LOTS, ops: int = 400) -> dict:
    """Earn + redeem through the Python API (no HTTP) for a member holding `lots` open lots
    (one earn an hour before; each earn adds one) and for members holding one or two (a new
    member for each earn + redeem): CPU ms per operation of this process and of
    PostgreSQL's."""
    from datetime import timedelta

    ws, prog = workspace(tmp, url)
    prog.add_rule("base", points_per_step=10, step=100)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    prog.create_member("heavy")
    for i in range(ops // 2):                            # one member per earn + redeem
        prog.create_member(f"light{i}")
        prog.adjust(f"light{i}", 1000, "float", now=t0)
    for d in range(lots):
        prog.earn("heavy", f"h{d}", "250", now=t0 + timedelta(hours=d))
    now = t0 + timedelta(hours=lots + 1)
    out = {"dialect": dialect, "lots": lots}
    for m in ("light", "heavy"):
        cpu, pg, wall = time.process_time(), _cpu(os.getpid())[1], time.perf_counter()
        for i in range(ops // 2):
            member = f"light{i}" if m == "light" else m
            prog.earn(member, f"{m}-{i}", "250", now=now)    # +25 points, a new lot
            prog.redeem(member, 10, now=now)                 # from the oldest lot
        out[m] = {"py_ms": 1000 * (time.process_time() - cpu) / ops,
                  "db_ms": 1000 * (_cpu(os.getpid())[1] - pg) / ops,
                  "wall_ms": 1000 * (time.perf_counter() - wall) / ops}
    out["audit_problems"] = len(prog.audit())
    prog.close()
    return out


def _ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def _throughput_lines(runs: list[dict]) -> list[str]:
    lines = ["", f"## Sustained earn + redeem over HTTP, {CLIENTS} connections", "",
             "Each connection alternates an earn and a redemption on one of 1,000 members, every "
             "write with its own Idempotency-Key; 'unanswered but stored' counts writes the server "
             "booked while wrk, stopping, no longer read their answers (at most one per "
             "connection; a write answered but not stored would make it negative).", "",
             "CPU ms/op: CPU time of the server's processes and of PostgreSQL's during the run, "
             "per operation; with 2 CPUs, ops/s cannot exceed 2,000 / (their sum + wrk's).", "",
             "| store | server processes | requests | ops/s | p50 ms | p99 ms | CPU ms/op "
             "server + db | statuses | socket errors | audit problems | unanswered but stored |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        checks = ("- | -" if r.get("floor")
                  else f"{r['audit_problems']} | {r['unanswered_stored']}")
        lines.append(f"| {r['dialect']} | {r['workers']} | {r['requests']:,} | "
                     f"{r['ops_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['server_cpu_ms']:.2f} + {r['db_cpu_ms']:.2f} | "
                     f"{r['statuses']} | {r['socket_errors']} | {checks} |")
    if any(r.get("floor") for r in runs):
        lines += ["", "Rows with store 'none' are the HTTP stack alone under the same load "
                  "(bench/floor_apps.py): uvicorn with a plain ASGI app, and FastAPI with cvm's "
                  "earn and redeem signatures (path id, body models, Idempotency-Key header, "
                  "sync routes in the same thread pool), both answering a constant 201 without "
                  "a key check or a ledger. No write served by cvm over FastAPI can beat "
                  "FastAPI's row."]
    pg = [r for r in runs if r["dialect"].startswith("PostgreSQL")]
    best = max(pg, key=lambda r: r["ops_per_s"]) if pg else None
    lines += ["", "Targets (issue 7): >= 1,000 operations/s on PostgreSQL and p99 < 50 ms at "
              "50 clients."]
    if best:
        met = best["ops_per_s"] >= 1000 and best["p99_ms"] < 50
        ledgers = [r for r in runs if not r.get("floor")]
        ok = all(r["audit_problems"] == 0 and 0 <= r["unanswered_stored"] <= CLIENTS
                 for r in ledgers)
        lines += ["", f"**{'Met' if met else 'Not met'} here**: best PostgreSQL run "
                  f"{best['ops_per_s']:.0f} ops/s, p99 {best['p99_ms']:.0f} ms. Ledger audit "
                  f"and answered-vs-stored check {'held in every run' if ok else 'FAILED'}: "
                  f"{sum(r['audit_problems'] for r in ledgers)} audit problems in all. At 50 "
                  "closed-loop clients latency is mostly queueing: p50 is about "
                  "50 / (ops/s)."]
    return lines


def report(runs: list[dict], big: dict | None, args,
           heavies: list[dict] = ()) -> str:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(
        "[")[0].strip() or "wrk"
    lines = ["# Loyalty programme benchmark", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.platform()}, "
             f"{os.cpu_count()} CPUs (shared with other jobs), Python "
             f"{platform.python_version()}; server: `cvm programme serve` (uvicorn with "
             "httptools and uvloop, programme.threads = 4, server processes as listed); "
             f"load: {wrk_version} (C) with bench/programme_wrk.lua on the same machine. "
             "Command: `PYTHONPATH=src python bench/programme_bench.py "
             f"--seconds {args.seconds:g} --members {args.members} --workers {args.workers}"
             + (f" --keep-large {args.keep_large}" if args.keep_large else "")
             + "".join(f" --skip-{part}" for part in ("throughput", "floor", "heavy", "large")
                       if getattr(args, f"skip_{part}")) + "`."]
    if runs:
        lines += _throughput_lines(runs)
    if heavies:
        lines += ["", f"## A member with many open lots ({heavies[0]['lots']} lots: a purchase "
                  "a day for 24 months)", "",
                  "Earn + redeem through the Python API, no HTTP, one client: CPU ms per "
                  "operation of the process (with SQLite's work, which runs in it) and of "
                  "PostgreSQL's processes, for that member and for members with one or two "
                  "lots.", "",
                  "| store | member | CPU ms/op Python + db | wall ms/op | audit problems |",
                  "|---|---|---|---|---|"]
        for h in heavies:
            for m, label in (("light", "1-2 lots"), ("heavy", f"{h['lots']} lots")):
                r = h[m]
                db = f"{r['db_ms']:.2f}" if h["dialect"].startswith("PostgreSQL") else "-"
                lines.append(f"| {h['dialect']} | {label} | {r['py_ms']:.2f} + {db} | "
                             f"{r['wall_ms']:.2f} | {h['audit_problems']} |")
    if big:
        load = ("reused from an earlier run" if big["load_s"] is None
                else f"{big['load_s']:.1f} s (SQL, incl. ANALYZE)")
        lines += ["", f"## Large ledger on PostgreSQL: {big['members']:,} members, "
                  f"{big['entries']:,} entries", "",
                  f"Bulk load: {load}. Requests alternate balance and statement of a random "
                  "member; wrk keeps one latency histogram for both.", "",
                  "| server processes | connections | requests/s | p50 ms | p99 ms | statuses |",
                  "|---|---|---|---|---|---|"]
        for w, by_clients in big["reads"].items():
            for c, r in by_clients.items():
                lines.append(f"| {w} | {c} | {r['requests'] / r['seconds']:.0f} | "
                             f"{_ms(r['p50_us'])} | {_ms(r['p99_us'])} | {r['statuses']} |")
        lines += ["", f"Tier job over all {big['members']:,} members: {big['tier_job_s']:.1f} s "
                  f"({big['tier_changes']:,} tier changes).", "",
                  f"Ledger audit over all of them (`cvm programme report audit`): "
                  f"{big['audit_s']:.1f} s, {big['audit_problems']} problems.", "",
                  "Target (issue 7): 1M members / 20M entries answering in < 50 ms p99, tier "
                  "job in minutes."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2", help="server processes to try, e.g. 1,2")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--skip-heavy", action="store_true",
                    help="skip the writes for a member with many open lots")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-floor", action="store_true",
                    help="skip the same load against the HTTP stack without the ledger")
    ap.add_argument("--keep-large", metavar="SCHEMA", default=None,
                    help="load the large ledger into this PostgreSQL schema once and keep it "
                         "(a later run with the same name reuses it)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        workers = [int(w) for w in args.workers.split(",")]
        runs = []
        admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        for w in [] if args.skip_throughput else workers:
            if not args.skip_floor:
                for kind in ("bare", "fastapi"):
                    runs.append(floor(kind, args.seconds, w))
                    print(runs[-1])
            runs.append(throughput("SQLite (WAL)", "", tmp, args.seconds, w))
            print(runs[-1])
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.exec_driver_sql(f"CREATE SCHEMA {schema}")
            try:
                runs.append(throughput("PostgreSQL 15",
                                       f"{PG}?options=-csearch_path%3D{schema}", tmp,
                                       args.seconds, w))
                print(runs[-1])
            finally:
                with admin.connect() as c:
                    c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        heavies = []
        if not args.skip_heavy:
            heavies.append(heavy(tmp, "SQLite (WAL)", ""))
            print(heavies[-1])
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.exec_driver_sql(f"CREATE SCHEMA {schema}")
            try:
                heavies.append(heavy(tmp, "PostgreSQL 15",
                                     f"{PG}?options=-csearch_path%3D{schema}"))
                print(heavies[-1])
            finally:
                with admin.connect() as c:
                    c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
        big = None if args.skip_large else large(tmp, args.members, workers, args.seconds,
                                                  args.keep_large)
        print(big)
    text = report(runs, big, args, heavies)
    (ROOT / "bench" / "results_programme.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""The monthly run (issue 16) at scale: `cvm score run` then `cvm opportunities build`
against the floor, side by side.

The demo company (`cvm.demo`, DemoParams(customers=N), default seed) is generated and
imported into a workspace once per size and kept under ``--cache`` (default
/tmp/scoring_bench), so a rerun does not regenerate it; a copy of the workspace with
``engine = "pyspark"`` in its cvm.toml serves the Spark contender. Then, each in a process
of its own, started one after the other on the same workspace:

1. ``duckdb-scan`` (the floor): DuckDB reading the workspace's transaction parts once,
   ``SELECT count(*), sum(amount), count(DISTINCT customer_id) FROM read_parquet(...)``;
2. ``cvm-duckdb``: the command itself, ``cvm score run --as-of 2024-11-30 -w WS``;
3. ``cvm-duckdb-phases``: the score run in Python (``ws.scoring.run``) with timers around
   its main steps (features, CLV fit, churn models, propensity models, saving), for the
   breakdown of where the time goes (a second DuckDB sample as well);
4. ``cvm-duckdb-opportunities``: ``cvm opportunities build --as-of 2024-11-30 -w WS``
   (the scores of the day turned into opportunities); the report adds a row for it and
   the score run together (times and CPU added, the larger peak), the monthly run; the
   build comes after both score runs because a score run reads the opportunities already
   built as contacts (`cvm.scoring.contacts`), and the operational database (which holds
   nothing else here) is removed before the first run, so a rerun starts the same;
5. ``cvm-duckdb-opportunities-phases``: the build in Python (``ws.opportunities.build``)
   with timers around its steps (reading the scores, the customer facts, product lines,
   the evidence frame, the plan, saving);
6. ``cvm-spark`` and ``cvm-spark-opportunities``: both commands on the Spark copy
   (local[2], the default settings);
7. ``duckdb-scan`` again, to see whether the machine's speed moved during the runs.

Every process runs under ``/usr/bin/time -v`` (wall time, max RSS of the process and of
its reaped children) while a sampler adds up the resident memory of the whole process
tree five times a second (for Spark: Python plus its JVM, which /usr/bin/time may not see).
Load averages are read at the start and end of each. After each cvm run the stored
score_history of the day is summed per score, and after each build the stored opportunities
of the day are counted per kind, control and owner, so the DuckDB and Spark runs can be
compared.
A process still running after ``--timeout`` seconds is killed and reported as such, with
the phases it had finished (phases runner) or nothing (the command).

    PYTHONPATH=src python bench/scoring_bench.py --sizes 100000 1000000

Writes results_scoring.md and results_scoring.json to the cache folder (the section of
bench/RESULTS.md is written from them by hand, with its reading).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2024-11-30"

# ---- runners: `python scoring_bench.py --run NAME --ws DIR` -------------------------------


def run_floor(ws: Path, as_of: str) -> dict:
    """DuckDB scanning the transactions once: the least any run over them can cost."""
    import duckdb

    parts = sorted(str(p) for p in (ws / "warehouse" / "transactions").glob("*.parquet"))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    n, total, customers = con.execute(
        "SELECT count(*), sum(amount), count(DISTINCT customer_id) FROM read_parquet(?)",
        [parts]).fetchone()
    seconds = time.perf_counter() - t0
    return {"seconds_inside": seconds, "rows": n, "sum_amount": round(float(total), 2),
            "customers": customers, "threads": con.execute(
                "SELECT current_setting('threads')").fetchone()[0]}


def _memory_mb() -> tuple[float, float]:
    """This process's resident memory now and its peak so far (VmRSS, VmHWM), in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line[:5]] = int(line.split()[1]) / 1024
    return out.get("VmRSS", float("nan")), out.get("VmHWM", float("nan"))


class _Timer:
    """Inclusive time of wrapped calls, keyed by the path of wrapped calls above them."""

    def __init__(self):
        self.stack: list[str] = []
        self.rows: dict[tuple[str, ...], list[float]] = {}
        self.t0 = time.perf_counter()

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            self.stack.append(name)
            path = tuple(self.stack)
            start = time.perf_counter()
            self.rows.setdefault(path, [0, 0.0, 0.0])  # in the order the steps start
            try:
                return fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - start
                self.stack.pop()
                row = self.rows[path]
                row[0] += 1
                row[1] += took
                rss, hwm = _memory_mb()
                row[2] = max(row[2], hwm)
                # written as it goes: a run killed by the timeout still says what it did
                print(f"[{time.perf_counter() - self.t0:8.1f} s] {' > '.join(path)}: "
                      f"{took:.2f} s; RSS {rss:,.0f} MB, peak so far {hwm:,.0f} MB",
                      file=sys.stderr, flush=True)
        return timed


def run_phases(ws_dir: Path, as_of: str) -> dict:
    """``ws.scoring.run(as_of)`` with timers around its main steps."""
    t_start = time.perf_counter()
    import cvm.churn.history as history
    import cvm.churn.training as training
    import cvm.scoring.run as run
    from cvm import Workspace
    from cvm.scoring.propensity import PropensityModel

    timer = _Timer()
    # names looked up in cvm.scoring.run's namespace when run_scores runs
    for attr, label in [
        ("_frame", "query -> pandas (_frame)"),
        ("_value_scores", "value_tier + profitability"),
        ("lifecycle_stage", "lifecycle_stage"),
        ("_revenue_potential", "revenue_potential (CLV fit + score)"),
        ("_loyalty", "loyalty (survey classes)"),
        ("_training_frame", "propensity training frame (cut-offs: features + labels)"),
        ("_churn", "churn_probability + default_risk + overall_risk"),
        ("product_lines", "product lines (buyers per brand)"),
        ("_wide", "wide table"),
        ("_long", "long table (score_history rows)"),
    ]:
        setattr(run, attr, timer.wrap(label, getattr(run, attr)))
    # imported inside cvm.scoring.run._contract_churn at call time: patch their modules
    history.training_frame = timer.wrap("churn training frame", history.training_frame)
    history.workspace_features = timer.wrap("workspace_features (builds the expression)",
                                            history.workspace_features)
    training.ChurnModel.fit = timer.wrap("ChurnModel.fit (CV of model + baseline, final fit)",
                                         training.ChurnModel.fit)
    training.ChurnModel.score = timer.wrap("ChurnModel.score", training.ChurnModel.score)
    PropensityModel.fit = timer.wrap("PropensityModel.fit", PropensityModel.fit)
    PropensityModel.predict = timer.wrap("PropensityModel.predict", PropensityModel.predict)
    Workspace.save_result = timer.wrap("save_result", Workspace.save_result)

    ws = Workspace.open(ws_dir)
    _ = ws.scoring  # imports the scoring modules (sklearn, LightGBM, statsmodels...)
    t_ready = time.perf_counter()
    result = ws.scoring.run(as_of)
    t_end = time.perf_counter()
    phases = [{"path": list(p), "calls": c, "seconds": s, "peak_mb": m}
              for p, (c, s, m) in timer.rows.items()]
    return {"seconds_inside": t_end - t_ready, "imports_and_open": t_ready - t_start,
            "phases": phases, "customers_scored": len(result.scores),
            "models": result.models.to_dict("records")}


def run_opportunity_phases(ws_dir: Path, as_of: str) -> dict:
    """``ws.opportunities.build(as_of)`` with timers around its steps."""
    t_start = time.perf_counter()
    import cvm.opportunities.facade as facade
    from cvm import Workspace
    from cvm.scoring.facade import ScoringFacade

    timer = _Timer()
    # names looked up in cvm.opportunities.facade's namespace when build runs
    for attr, label in [("customer_facts", "customer facts (complaints, NPS, last purchase)"),
                        ("evidence_frame", "evidence frame"),
                        ("plan", "plan (rules, contact policy, control, owners)")]:
        setattr(facade, attr, timer.wrap(label, getattr(facade, attr)))
    facade._store.history = timer.wrap("stored history (earlier opportunities)",
                                       facade._store.history)
    facade._store.save_plan = timer.wrap("save plan (operational database)",
                                         facade._store.save_plan)
    ScoringFacade.list = timer.wrap("scores of the day (ws.scoring.list)", ScoringFacade.list)
    facade.OpportunitiesFacade._tier_progress = timer.wrap(
        "tier progress (programme)", facade.OpportunitiesFacade._tier_progress)
    import cvm.scoring.features as features
    features.product_lines = timer.wrap("product lines", features.product_lines)

    ws = Workspace.open(ws_dir)
    _ = ws.opportunities
    t_ready = time.perf_counter()
    built = ws.opportunities.build(as_of)
    t_end = time.perf_counter()
    phases = [{"path": list(p), "calls": c, "seconds": s, "peak_mb": m}
              for p, (c, s, m) in timer.rows.items()]
    return {"seconds_inside": t_end - t_ready, "imports_and_open": t_ready - t_start,
            "phases": phases, "opportunities": len(built.opportunities),
            "held_back": len(built.held_back)}


def run_opportunity_check(ws_dir: Path, as_of: str) -> dict:
    """The stored opportunities of the day, counted per kind, control and owner, with the
    sum of their priorities (rounded): DuckDB against Spark."""
    from cvm import Workspace

    df = Workspace.open(ws_dir).with_settings(engine="duckdb").opportunities.list(as_of)
    kinds = {}
    for (kind, control), part in df.groupby(["kind", "control"], sort=True):
        kinds[f"{kind} (control)" if control else kind] = {
            "rows": int(len(part)), "sum": round(float(part["priority"].sum()), 3),
            "labels": {str(k): int(v) for k, v in part["owner"].value_counts().sort_index()
                       .items()}}
    return {"customers": int(df["customer_id"].nunique()), "rows": int(len(df)),
            "scores": kinds}


def run_check(ws_dir: Path, as_of: str) -> dict:
    """The stored scores of the day, summed per score (rounded): DuckDB against Spark."""
    from cvm import Workspace

    # read on DuckDB whatever the workspace's engine: the stored Parquet is the same, and
    # collecting 1M customers' scores through Spark needs more than its 2 GB driver heap
    h = Workspace.open(ws_dir).with_settings(engine="duckdb").scoring.history(as_of)
    g = h.groupby("score")
    out = {}
    for name, part in g:
        out[name] = {"rows": int(len(part)),
                     "sum": round(float(part["value"].sum()), 3) if part["value"].notna().any()
                     else None,
                     "labels": {str(k): int(v) for k, v in
                                part["label"].value_counts().sort_index().items()}}
    return {"customers": int(h["customer_id"].nunique()), "rows": int(len(h)), "scores": out}


RUNNERS = {"floor": run_floor, "phases": run_phases, "check": run_check,
           "opportunity-phases": run_opportunity_phases,
           "opportunity-check": run_opportunity_check}
CONTENDERS = ("duckdb-scan", "cvm-duckdb", "cvm-duckdb-opportunities",
              "cvm-duckdb (scores + opportunities)", "cvm-duckdb-phases",
              "cvm-duckdb-opportunities-phases", "cvm-spark", "cvm-spark-opportunities",
              "cvm-spark (scores + opportunities)", "duckdb-scan (again, at the end)")
#: The monthly run: a score run and the build after it, reported together as well.
MONTHLY = {"cvm-duckdb (scores + opportunities)": ("cvm-duckdb", "cvm-duckdb-opportunities"),
           "cvm-spark (scores + opportunities)": ("cvm-spark", "cvm-spark-opportunities")}
#: The check each contender's stored result is compared with.
BASE = {"cvm-duckdb-phases": "cvm-duckdb", "cvm-spark": "cvm-duckdb",
        "cvm-duckdb-opportunities-phases": "cvm-duckdb-opportunities",
        "cvm-spark-opportunities": "cvm-duckdb-opportunities"}

# ---- measuring a process -----------------------------------------------------------------


class _TreeSampler(threading.Thread):
    """Peak of the summed resident memory of a process and all its descendants, and of
    each command name (python, java...), sampled every ``interval`` seconds."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_total = 0
        self.peak_by_name: dict[str, int] = {}
        self.stopped = threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")
        #: CPU time (clock ticks) of each process of the tree at its last sample
        self.cpu_by_pid: dict[int, tuple[str, int]] = {}
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu_by_name(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, ticks in self.cpu_by_pid.values():
            out[name] = out.get(name, 0) + ticks / self.tick
        return out

    def _tree(self) -> dict[int, tuple[str, int, int]]:
        children: dict[int, list[int]] = {}
        info: dict[int, tuple[str, int, int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as fh:
                    stat = fh.read()
                with open(f"/proc/{entry.name}/statm") as fh:
                    rss = int(fh.read().split()[1]) * self.page
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            ppid, ticks = int(fields[1]), int(fields[11]) + int(fields[12])  # utime + stime
            pid = int(entry.name)
            children.setdefault(ppid, []).append(pid)
            info[pid] = (name, rss, ticks)
        out, todo = {}, [self.root]
        while todo:
            pid = todo.pop()
            if pid in info:
                out[pid] = info[pid]
            todo.extend(children.get(pid, []))
        return out

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            tree = self._tree()
            by_name: dict[str, int] = {}
            for pid, (name, rss, ticks) in tree.items():
                by_name[name] = by_name.get(name, 0) + rss
                self.cpu_by_pid[pid] = (name, ticks)
            self.peak_total = max(self.peak_total, sum(by_name.values()))
            for name, rss in by_name.items():
                self.peak_by_name[name] = max(self.peak_by_name.get(name, 0), rss)


def _time_v(path: Path) -> dict:
    """Wall time, max RSS and CPU times from /usr/bin/time -v's report."""
    text = path.read_text() if path.exists() else ""
    out = {}
    for key, pat in [("user_s", r"User time \(seconds\): ([\d.]+)"),
                     ("system_s", r"System time \(seconds\): ([\d.]+)"),
                     ("max_rss_kb", r"Maximum resident set size \(kbytes\): (\d+)")]:
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["elapsed_s"] = secs
    return out


def measure(name: str, cmd: list[str], log: Path, timeout: int) -> dict:
    """Run ``cmd`` under /usr/bin/time -v with the tree sampler; its stderr goes to ``log``
    and its stdout to ``log`` with suffix .out; the last stdout line, if JSON, is the
    runner's own result."""
    timing = log.with_suffix(".time")
    timing.unlink(missing_ok=True)
    load_start = os.getloadavg()
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(timing), *cmd],
                                stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True, env=_env())
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        status = "ok"
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this function started
            out, _ = proc.communicate()
            status = f"killed after {timeout} s"
        wall = time.perf_counter() - t0
        sampler.stopped.set()
        sampler.join()
    load_end = os.getloadavg()
    if status == "ok" and proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()
        status = "failed: " + (tail[-1][:200] if tail else f"exit {proc.returncode}")
    result: dict = {}
    log.with_suffix(".out").write_text(out or "")  # the whole output, for checks on it
    lines = (out or "").strip().splitlines()
    if lines and lines[-1].startswith("{"):
        result = json.loads(lines[-1])
    elif lines:
        result["stdout_tail"] = lines[-3:]
    peaks = {k: round(v / 2**20) for k, v in sampler.peak_by_name.items()}
    return dict(result, name=name, status=status, command=" ".join(cmd),
                started=started.strftime("%Y-%m-%d %H:%M:%S"), wall_s=wall,
                load_start=[round(x, 2) for x in load_start],
                load_end=[round(x, 2) for x in load_end],
                peak_tree_mb=round(sampler.peak_total / 2**20), peak_by_name_mb=peaks,
                tree_cpu_by_name_s={k: round(v, 1) for k, v in sampler.cpu_by_name().items()},
                **_time_v(timing))


#: The cvm source the measured processes import (`pin_source`).
SRC = HERE.parent / "src"


def _env() -> dict:
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=str(SRC) + (os.pathsep + path if path else ""))


def pin_source(cache: Path) -> str:
    """Export HEAD's src/ to ``cache/src-<commit>`` and measure that: other people commit to
    this working tree while a run lasts, and a process importing a module lazily would
    otherwise run code newer than the one it started with. Returns the commit."""
    global SRC
    repo = HERE.parent
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        print(f"note: src/ has uncommitted changes; measuring HEAD {commit[:10]} without "
              f"them:\n{dirty}", file=sys.stderr)
    dest = cache / f"src-{commit[:10]}"
    if not (dest / "src" / "cvm" / "__init__.py").exists():
        tmp = cache / f".src-{commit[:10]}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(repo), "archive", commit, "src"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    SRC = dest / "src"
    return commit


# ---- data ------------------------------------------------------------------------------


def prepare(cache: Path, customers: int) -> tuple[Path, Path, dict]:
    """The demo company at ``customers`` imported into ``cache/cN/ws`` (once), and its copy
    with engine = "pyspark" at ``cache/cN/ws-spark``."""
    from cvm.demo import DemoParams, build_demo

    d = cache / f"c{customers}"
    ws, spark = d / "ws", d / "ws-spark"
    info_file = d / "prepared.json"
    if not info_file.exists():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        t0 = time.perf_counter()
        _, reports = build_demo(ws, DemoParams(customers=customers))
        seconds = time.perf_counter() - t0
        shutil.rmtree(ws / "data")  # the generated files, now in the warehouse
        shutil.copytree(ws, spark, ignore=shutil.ignore_patterns(".cvm"))
        toml = spark / "cvm.toml"
        text = toml.read_text()
        assert re.search(r'^engine = "duckdb"$', text, re.M), "cvm.toml names no engine"
        toml.write_text(re.sub(r'^engine = "duckdb"$', 'engine = "pyspark"', text,
                               flags=re.M))
        info = {"customers": customers, "build_demo_s": round(seconds, 1),
                "rows": {r.table: r.rows_added for r in reports},
                "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")}
        info_file.write_text(json.dumps(info))
    return ws, spark, json.loads(info_file.read_text())


# ---- driver ----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", choices=sorted(RUNNERS))
    ap.add_argument("--ws", type=Path)
    ap.add_argument("--as-of", default=AS_OF)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/scoring_bench"))
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    ap.add_argument("--src", type=Path, default=None,
                    help="cvm source folder to measure (default: HEAD's src/, exported)")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="contenders to leave out: cvm-duckdb cvm-duckdb-phases cvm-spark")
    args = ap.parse_args()
    if args.run:
        print(json.dumps(RUNNERS[args.run](args.ws, args.as_of), default=str))
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    commit = pin_source(args.cache) if args.src is None else "(--src " + str(args.src) + ")"
    if args.src is not None:
        global SRC
        SRC = args.src.resolve()
    py, me = sys.executable, str(Path(__file__).resolve())
    cvm = str(Path(py).with_name("cvm"))
    out_json = args.cache / "results_scoring.json"
    # rows of earlier invocations at other sizes are kept: one report over every size
    names = [n for n in CONTENDERS if n not in args.skip]
    rows = [r for r in (json.loads(out_json.read_text()) if out_json.exists() else [])
            if r["customers"] not in args.sizes or r["name"] not in names]
    for size in args.sizes:
        ws, spark, info = prepare(args.cache, size)
        print(json.dumps(info), flush=True)
        logs = ws.parent / "logs"
        logs.mkdir(exist_ok=True)
        # no opportunities of an earlier invocation: the score run reads them as contacts
        # (scoring.contacts), so every score run here starts from the same state, and both
        # score runs on DuckDB come before the build
        for target in (ws, spark):
            for f in target.glob("programme.db*"):
                f.unlink()
        plan = [
            ("duckdb-scan", [py, me, "--run", "floor", "--ws", str(ws)]),
            ("cvm-duckdb", [cvm, "score", "run", "--as-of", args.as_of, "-w", str(ws)]),
            ("cvm-duckdb-phases", [py, me, "--run", "phases", "--ws", str(ws),
                                   "--as-of", args.as_of]),
            ("cvm-duckdb-opportunities", [cvm, "opportunities", "build", "--as-of",
                                          args.as_of, "-w", str(ws)]),
            ("cvm-duckdb-opportunities-phases", [py, me, "--run", "opportunity-phases",
                                                 "--ws", str(ws), "--as-of", args.as_of]),
            ("cvm-spark", [cvm, "score", "run", "--as-of", args.as_of, "-w", str(spark)]),
            ("cvm-spark-opportunities", [cvm, "opportunities", "build", "--as-of",
                                         args.as_of, "-w", str(spark)]),
            ("duckdb-scan (again, at the end)", [py, me, "--run", "floor", "--ws", str(ws)]),
        ]
        for name, cmd in plan:
            if name in args.skip:
                continue
            r = measure(name, cmd, logs / f"{name.split()[0]}.log", args.timeout)
            r.update(customers=size, transactions=info["rows"]["transactions"],
                     commit=commit[:10])
            if name.startswith("cvm-") and r["status"] == "ok":
                target = spark if name.startswith("cvm-spark") else ws
                check = "opportunity-check" if "opportunities" in name else "check"
                chk = subprocess.run([py, me, "--run", check, "--ws", str(target),
                                      "--as-of", args.as_of], capture_output=True,
                                     text=True, env=_env())
                if chk.returncode == 0:
                    r["check"] = json.loads(chk.stdout.strip().splitlines()[-1])
                else:
                    r["check_error"] = chk.stderr.strip().splitlines()[-1][:300]
            print(json.dumps({k: v for k, v in r.items() if k not in ("phases", "check",
                                                                     "models")}),
                  flush=True)
            rows.append(r)
            out_json.write_text(json.dumps(rows, indent=1, default=str))
    text = report(rows, args)
    (args.cache / "results_scoring.md").write_text(text)
    print(text)


def _versions() -> str:
    from importlib.metadata import version

    names = ["duckdb", "ibis-framework", "pyspark", "lightgbm", "scikit-learn", "pandas",
             "numpy", "pyarrow"]
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    java = java.splitlines()[0] if java else "?"
    return (f"cvm {version('cvm')}, Python {platform.python_version()}, "
            + ", ".join(f"{n} {version(n)}" for n in names) + f"; {java}")


def _machine() -> str:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM"


def _same(a: dict | None, b: dict | None) -> str:
    if not a or not b:
        return ""
    if a["rows"] != b["rows"]:
        return f"differs: {a['rows']:,} against {b['rows']:,} rows"
    diffs = []
    for name, x in a["scores"].items():
        y = b["scores"].get(name)
        if y is None or x["rows"] != y["rows"] or x["labels"] != y["labels"]:
            diffs.append(name)
        elif x["sum"] is not None and abs(x["sum"] - y["sum"]) > 1e-6 * max(1, abs(x["sum"])):
            diffs.append(f"{name} ({x['sum']} vs {y['sum']})")
    return "same" if not diffs else "differs: " + ", ".join(diffs)


def _cpu(r: dict) -> float:
    """CPU seconds of the run: /usr/bin/time's (the process and its reaped children), or
    the sampled CPU time of the whole tree if larger (Spark's JVM is not always reaped)."""
    timed = r.get("user_s", 0) + r.get("system_s", 0)
    return max(timed, sum(r.get("tree_cpu_by_name_s", {}).values()))


def _together(name: str, parts: list[dict]) -> dict:
    """The monthly run: a score run and the build after it, one process after the other:
    their times and CPU added, the larger of their peaks."""
    a, b = sorted(parts, key=lambda r: CONTENDERS.index(r["name"]))
    status = "ok" if a["status"] == b["status"] == "ok" else "; ".join(
        f"{r['name']}: {r['status']}" for r in (a, b) if r["status"] != "ok")
    return {"name": name, "status": status, "customers": a["customers"],
            "transactions": a["transactions"], "commit": a.get("commit", ""),
            "started": a["started"], "load_start": a["load_start"], "load_end": b["load_end"],
            "elapsed_s": a.get("elapsed_s", a["wall_s"]) + b.get("elapsed_s", b["wall_s"]),
            "wall_s": a["wall_s"] + b["wall_s"], "user_s": _cpu(a) + _cpu(b), "system_s": 0,
            "max_rss_kb": max(a.get("max_rss_kb", 0), b.get("max_rss_kb", 0)),
            "peak_tree_mb": max(a["peak_tree_mb"], b["peak_tree_mb"])}


def report(rows: list[dict], args) -> str:
    lines = [
        f"Machine: {_machine()}. Versions: {_versions()}.",
        f"Command: `PYTHONPATH=src python bench/scoring_bench.py --sizes "
        f"{' '.join(map(str, args.sizes))}` (timeout {args.timeout} s a process).",
        "",
        "| customers | transactions | contender | seconds | CPU s | peak MB | vs floor "
        "| commit | started (UTC) | load avg 1 min, start → end | stored results |",
        "|---:|---:|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for size in sorted(dict.fromkeys(r["customers"] for r in rows)):
        mine = [r for r in rows if r["customers"] == size]
        mine += [_together(name, [r for r in mine if r["name"] in parts])
                 for name, parts in MONTHLY.items()
                 if sum(r["name"] in parts for r in mine) == 2]
        mine.sort(key=lambda r: CONTENDERS.index(r["name"]))
        floor = next((r for r in mine if r["name"] == "duckdb-scan" and r["status"] == "ok"),
                     None)
        checks = {r["name"]: r.get("check") for r in mine}
        for r in mine:
            scan = r["name"].startswith("duckdb-scan") and r["status"] == "ok"
            # the floor's time is its query; a cvm run's time is the whole process
            secs = r["seconds_inside"] if scan else r.get("elapsed_s", r["wall_s"])
            ratio = f"{secs / floor['seconds_inside']:.1f}x" if floor else ""
            peak = max(r.get("max_rss_kb", 0) / 1024, r["peak_tree_mb"])
            extra = ""
            if r["status"] != "ok":
                extra = f" ({r['status']})"
            elif scan:
                extra = f" (query only; whole process {r.get('elapsed_s', r['wall_s']):.1f} s)"
            elif r["name"].startswith("cvm-spark") and "peak_by_name_mb" in r:
                extra = " (JVM {:,} MB, Python {:,} MB)".format(
                    r["peak_by_name_mb"].get("java", 0), r["peak_by_name_mb"].get("cvm", 0))
            base = BASE.get(r["name"])
            same = (f"vs {base}: {_same(r.get('check'), checks.get(base))}"
                    if base and r.get("check") else "")
            lines.append(
                f"| {size:,} | {r['transactions']:,} | {r['name']}{extra} | {secs:.1f} | "
                f"{_cpu(r):.0f} | {peak:,.0f} | {ratio} | {r.get('commit', '')} | "
                f"{r['started']} | {r['load_start'][0]:.2f} → "
                f"{r['load_end'][0]:.2f} | {same} |")
    for r in rows:
        if r.get("phases"):
            lines += ["", f"Phases of {r['name']} at {r['customers']:,} customers "
                          f"(imports and open {r['imports_and_open']:.1f} s, run "
                          f"{r['seconds_inside']:.1f} s):", "",
                      "| step | calls | seconds | process peak so far, MB |",
                      "|---|---:|---:|---:|"]
            for p in r["phases"]:
                peak = f"{p['peak_mb']:,.0f}" if p.get("peak_mb") else ""
                lines.append(f"| {'&nbsp;&nbsp;' * (len(p['path']) - 1)}{p['path'][-1]} | "
                             f"{p['calls']} | {p['seconds']:.1f} | {peak} |")
            top = sum(p["seconds"] for p in r["phases"] if len(p["path"]) == 1)
            rest = ("rest of the run (as-of view, row counts, first day, notes)"
                    if r["name"] == "cvm-duckdb-phases" else "rest of the build (not timed apart)")
            lines.append(f"| {rest} | | "
                         f"{r['seconds_inside'] - top:.1f} | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

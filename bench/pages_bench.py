"""Server time of each page (issue 18) on a large demo workspace after its monthly run.

Two steps, each a process of its own:

1. ``prepare``: a demo workspace of ``--customers`` (``cvm.demo.build_demo``), or a copy of
   one already imported (``--copy-from``, e.g. the 1M workspace `scoring_bench.py` keeps
   under /tmp/scoring_bench), then the month's jobs for the last complete month of its data
   (the score run, the opportunities, the cases, the demo loyalty programme, the KPI tree),
   each timed, and a manager user (``bench``) to log in with. Written to
   ``prepared.json`` beside the workspace.
2. ``run``: ``cvm serve`` on the workspace in another process (one worker, 127.0.0.1, a
   free port); one httpx client logs in through the form as the manager and asks each
   page once (the first view: a page's queries run, and are kept until the warehouse
   changes), then ``--requests`` times more, one at a time; each request's time is taken
   from before sending to the last byte of the body, over loopback. p50 and p95 of those,
   with the first view, the answer's status and size, the load averages before and after.
   Written to ``results_pages.json`` and ``results_pages.md`` beside the workspace (the
   section of bench/RESULTS.md is written from them by hand, with its reading).

    PYTHONPATH=src python bench/pages_bench.py prepare --ws /tmp/pages_bench/ws1m \\
        --copy-from /tmp/scoring_bench/c1000000/ws
    PYTHONPATH=src python bench/pages_bench.py run --ws /tmp/pages_bench/ws1m

``profile --page /cases`` samples the server with py-spy (when installed) while the page is
asked for again and again after its first view, and prints where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

PAGES = ["/", "/value", "/clv", "/loyalty", "/retention", "/service", "/opportunities",
         "/cases", "/programme", "/customers/{customer}"]
USER, PASSWORD = "bench", "bench pass phrase"
TARGET_MS = 300.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu or platform.machine()}), {mem:.0f} GiB, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def prepare(args) -> None:
    from cvm.demo import DemoParams, build_demo
    from cvm.workspace import Workspace

    ws_dir = Path(args.ws)
    steps: dict[str, float] = {}
    start = time.perf_counter()
    if args.copy_from:
        if ws_dir.exists():
            shutil.rmtree(ws_dir)
        shutil.copytree(args.copy_from, ws_dir, ignore=shutil.ignore_patterns(
            "lock", "tmp", "*.db", "*.db-*"))
        ws = Workspace.open(ws_dir)
        steps["copy the imported workspace"] = time.perf_counter() - start
    else:
        ws, _ = build_demo(ws_dir, DemoParams(customers=args.customers))
        steps[f"build_demo({args.customers:,} customers)"] = time.perf_counter() - start
    latest = ws.latest_day()
    day = latest if (latest + dt.timedelta(days=1)).day == 1 else (
        latest.replace(day=1) - dt.timedelta(days=1))

    def job(name, fn):
        t = time.perf_counter()
        out = fn()
        steps[name] = time.perf_counter() - t
        print(f"{name}: {steps[name]:.1f} s", flush=True)
        return out

    job(f"score run {day}", lambda: ws.scoring.run(day))
    job(f"opportunities build {day}", lambda: ws.opportunities.build(day))
    job(f"cases open {day}", lambda: ws.cases.open(day))
    prog = ws.programme
    job("programme init --demo (1,000 members)", lambda: prog.init(demo=True, members=1000))
    prog.close()
    job(f"kpi {day}", lambda: ws.kpi.compute(day))
    try:
        ws.users.add(USER, PASSWORD, "manager")
    except Exception as exc:  # noqa: BLE001 - a rerun finds the user there
        if "exists already" not in str(exc):
            raise
    tiers = ws.value.customer_tiers()
    vip = tiers.filter(tiers.tier == "vip").select("customer_id").limit(1).to_pyarrow()
    info = {"as_of": day.isoformat(), "customers": int(tiers.count().execute()),
            "vip_customer": vip.column(0)[0].as_py(), "steps_s": steps,
            "prepared": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine()}
    (ws_dir.parent / "prepared.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info, indent=1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(client) -> None:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/login", data={"username": USER, "password": PASSWORD,
                                    "csrf_token": token, "next": "/"})
    if r.status_code != 303:
        raise SystemExit(f"login failed: {r.status_code} {r.text[:300]}")


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(args) -> None:
    import httpx

    ws_dir = Path(args.ws)
    info = json.loads((ws_dir.parent / "prepared.json").read_text())
    log = open(ws_dir.parent / "serve.log", "w")
    server, base = _serve(ws_dir, log)
    rows = []
    load_before = _load()
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            _wait(client)
            time.sleep(args.settle)  # let the server's warm-up (cvm.web.warm) finish first
            _login(client)
            for path in PAGES:
                url = path.format(customer=info["vip_customer"])
                t = time.perf_counter()
                first = client.get(url)
                first_ms = (time.perf_counter() - t) * 1000
                if first.status_code == 404:
                    rows.append({"page": path, "status": 404})
                    print(f"{path}: not served (404)", flush=True)
                    continue
                times = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    r = client.get(url)
                    times.append((time.perf_counter() - t) * 1000)
                row = {"page": path, "status": r.status_code, "bytes": len(r.content),
                       "first_ms": round(first_ms, 1), "first_status": first.status_code,
                       "p50_ms": round(_pct(times, 50), 1), "p95_ms": round(_pct(times, 95), 1),
                       "max_ms": round(max(times), 1), "requests": len(times)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    result = {"workspace": str(ws_dir), "as_of": info["as_of"], "machine": _machine(),
              "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "load_before": load_before, "load_after": _load(), "requests": args.requests,
              "settle_s": args.settle,
              "prepared": info, "pages": rows}
    (ws_dir.parent / "results_pages.json").write_text(json.dumps(result, indent=1))
    lines = ["| page | status | first view ms | p50 ms | p95 ms | max ms | bytes |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] == 404:
            lines.append(f"| `{r['page']}` | 404 (not served) | | | | | |")
            continue
        miss = " **over 300**" if r["p95_ms"] > TARGET_MS else ""
        lines.append(f"| `{r['page']}` | {r['status']} | {r['first_ms']:,.0f} | "
                     f"{r['p50_ms']:,.1f} | {r['p95_ms']:,.1f}{miss} | {r['max_ms']:,.1f} | "
                     f"{r['bytes']:,} |")
    (ws_dir.parent / "results_pages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _serve(ws_dir: Path, log):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "cvm", "serve", "-w", str(ws_dir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def _wait(client) -> None:
    import httpx

    for _ in range(600):
        try:
            client.get("/login")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not answer within a minute")


def profile(args) -> None:
    """Sample the server's threads with py-spy while one page is asked for again and again
    (after its first view); print the share of samples under each frame of a page's work
    (pages run in a thread pool, so an in-process profiler of the main thread sees none)."""
    import collections

    import httpx

    spy = shutil.which(args.py_spy) or args.py_spy
    if not Path(spy).exists():
        raise SystemExit("py-spy not found: pip install py-spy (or --py-spy PATH)")
    ws_dir = Path(args.ws)
    info = json.loads((ws_dir.parent / "prepared.json").read_text())
    url = args.page.format(customer=info["vip_customer"])
    name = re.sub(r"\W+", "_", args.page)
    out = ws_dir.parent / f"profile{name}.txt"
    with open(os.devnull, "w") as null:
        server, base = _serve(ws_dir, null)
        try:
            with httpx.Client(base_url=base, timeout=600) as client:
                _wait(client)
                _login(client)
                client.get(url)
                rec = subprocess.Popen([spy, "record", "-p", str(server.pid), "-r", "200",
                                        "--format", "raw", "-o", str(out), "-d",
                                        str(args.seconds), "--nonblocking"],
                                       stdout=null, stderr=null)
                n, start = 0, time.perf_counter()
                while rec.poll() is None:
                    client.get(url)
                    n += 1
        finally:
            server.terminate()
            server.wait(30)
    print(f"{url}: {n} views in {time.perf_counter() - start:.1f} s; samples in {out}")
    under, total = collections.Counter(), 0
    for line in out.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = [f for f in stack.split(";") if "cvm/web/" in f or "cvm/" in f
                  or "sqlalchemy" in f or "ibis" in f or "pandas" in f or "jinja2" in f]
        if not any("cvm/web/" in f for f in frames):
            continue
        total += int(count)
        for frame in dict.fromkeys(re.sub(r":\d+\)$", ")", f) for f in frames):
            under[frame] += int(count)
    for frame, count in under.most_common(args.top):
        print(f"{100 * count / total:5.1f}%  {frame.split('site-packages/')[-1]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--ws", required=True)
    p.add_argument("--copy-from")
    p.add_argument("--customers", type=int, default=1_000_000)
    r = sub.add_parser("run")
    r.add_argument("--ws", required=True)
    r.add_argument("--requests", type=int, default=30)
    r.add_argument("--settle", type=int, default=0,
                   help="seconds to wait after the server answers before the first view "
                        "(0: first views race the server's warm-up)")
    f = sub.add_parser("profile")
    f.add_argument("--ws", required=True)
    f.add_argument("--page", default="/value")
    f.add_argument("--seconds", type=int, default=15)
    f.add_argument("--top", type=int, default=25)
    f.add_argument("--py-spy", default="py-spy")
    args = ap.parse_args()
    {"prepare": prepare, "run": run, "profile": profile}[args.step](args)


if __name__ == "__main__":
    main()

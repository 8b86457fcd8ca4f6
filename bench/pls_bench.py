"""Benchmark: cvm's PLS path model against the PyPI ``plspm`` package on the ECSI mobi data.

Times one fit (median of repeats) and a 1,000-resample bootstrap, and compares path
coefficients, R² and GoF with the R semPLS reference (shared/data/README.md) and with plspm.

plspm 0.5.7 needs pandas >= 2.1 (it calls DataFrame.map; it fails on 1.5) and is reported
broken with current pandas, so it runs pinned to pandas 2.1.4 in its own virtual environment.
With ``scaled=True`` it standardises with the population sd (n divisor), unlike semPLS's
n - 1, which changes its outer weights by sqrt((n - 1) / n); so it is given indicators
standardised by hand (n - 1 sd) with ``scaled=False``::

    python -m venv /tmp/plspm-venv
    /tmp/plspm-venv/bin/pip install plspm==0.5.7 pandas==2.1.4 "numpy<2"
    PYTHONPATH=src python bench/pls_bench.py --plspm-python /tmp/plspm-venv/bin/python

Writes bench/results_survey.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cvm.survey import PLSPathModel

HERE = Path(__file__).resolve().parent
DATA = next(p for p in (HERE.parents[1] / "shared" / "data", Path("/work/shared/data"))
            if p.is_dir()) / "ecsi" / "mobi.csv"

SEMPLS = {("Image", "Expectation"): 0.504706, ("Expectation", "Quality"): 0.557248,
          ("Quality", "Satisfaction"): 0.512545, ("Value", "Satisfaction"): 0.191816,
          ("Satisfaction", "Loyalty"): 0.483475, ("Complaints", "Loyalty"): 0.071232}

PLSPM_SCRIPT = r"""
import json, sys, time
import pandas as pd
import plspm.config as c
from plspm.mode import Mode
from plspm.plspm import Plspm
from plspm.scheme import Scheme

df = pd.read_csv(sys.argv[1], index_col=0)
z = (df - df.mean()) / df.std(ddof=1)          # standardised by hand, n - 1 sd
paths = json.loads(sys.argv[2]); blocks = json.loads(sys.argv[3]); n_boot = int(sys.argv[4])
lvs = list(blocks)
pm = pd.DataFrame(0, index=lvs, columns=lvs)
for t, ss in paths.items():
    for s in ss:
        pm.loc[t, s] = 1
cfg = c.Config(pm, scaled=False)
for lv, items in blocks.items():
    cfg.add_lv(lv, Mode.A, *[c.MV(i) for i in items])
times = []
for _ in range(5):
    t = time.perf_counter()
    res = Plspm(z, cfg, Scheme.CENTROID)
    times.append(time.perf_counter() - t)
pc = res.path_coefficients()
import numpy
out = {"fit_seconds": sorted(times)[2],
       "env": f"pandas {pd.__version__}, numpy {numpy.__version__}",
       "paths": {f"{s}->{t}": float(pc.loc[t, s]) for t, ss in paths.items() for s in ss},
       "r2": {k: float(v) for k, v in res.inner_summary()["r_squared"].items()},
       "gof": float(res.goodness_of_fit())}
if n_boot:
    t = time.perf_counter()
    boot = Plspm(z, cfg, Scheme.CENTROID, bootstrap=True, bootstrap_iterations=n_boot, processes=2)
    b = boot.bootstrap().paths()
    out["bootstrap_seconds"] = time.perf_counter() - t
    out["bootstrap_se"] = {str(k): float(v) for k, v in b["std.error"].items()}
print(json.dumps(out))
"""


def run_cvm(df: pd.DataFrame, n_boot: int) -> dict:
    times = []
    for _ in range(20):
        t = time.perf_counter()
        fit = PLSPathModel().fit(df)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    boot = PLSPathModel(n_bootstrap=n_boot, random_state=1).fit(df)
    boot_s = time.perf_counter() - t
    b = boot.bootstrap_.query("kind == 'path'").set_index("name")
    return {"fit_seconds": statistics.median(times), "bootstrap_seconds": boot_s,
            "paths": {f"{r['from']}->{r['to']}": r["coefficient"]
                      for r in fit.paths_.to_dict(orient="records")},
            "r2": fit.r2_.to_dict(), "gof": fit.gof_,
            "bootstrap_se": {k.replace(" -> ", "->"): v for k, v in b["se"].items()},
            "model": fit.model_}


def run_plspm(python: str, model, n_boot: int) -> dict | str:
    try:
        done = subprocess.run(
            [python, "-c", PLSPM_SCRIPT, str(DATA), json.dumps(model.paths),
             json.dumps(model.blocks), str(n_boot)],
            capture_output=True, text=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not run: {exc}"
    if done.returncode != 0:
        return "failed: " + done.stderr.strip().splitlines()[-1]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plspm-python", default=os.environ.get("PLSPM_PYTHON"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=HERE / "results_survey.md")
    args = ap.parse_args()
    df = pd.read_csv(DATA, index_col=0)
    ours = run_cvm(df, args.bootstrap)
    peer = run_plspm(args.plspm_python, ours["model"], args.bootstrap) \
        if args.plspm_python else "not run (no --plspm-python)"
    ref_diff = max(abs(ours["paths"][f"{a}->{b}"] - v) for (a, b), v in SEMPLS.items())
    lines = [
        "# PLS path modelling benchmark (ECSI model on mobi, 250 x 24, centroid, standardised)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}; load average "
        f"{os.getloadavg()[0]:.1f} when it finished (the machine is shared). Command: "
        f"`PYTHONPATH=src python bench/pls_bench.py --plspm-python ...`.",
        "",
        "| | cvm | plspm 0.5.7 |",
        "|---|---|---|",
    ]
    p = peer if isinstance(peer, dict) else {}
    fmt = (lambda d, k, f: f.format(d[k]) if k in d else "n/a")  # noqa: E731
    lines.append(f"| one fit (median) | {ours['fit_seconds'] * 1e3:.1f} ms | "
                 f"{fmt(p, 'fit_seconds', '{:.3f} s')} |")
    lines.append(f"| {args.bootstrap}-resample bootstrap | {ours['bootstrap_seconds']:.2f} s "
                 f"(1 process, vectorised) | {fmt(p, 'bootstrap_seconds', '{:.1f} s')} "
                 "(2 processes) |")
    lines.append(f"| GoF | {ours['gof']:.6f} | {fmt(p, 'gof', '{:.6f}')} |")
    lines.append(f"| max abs path diff vs semPLS (6 printed paths) | {ref_diff:.1e} | "
                 + (f"{max(abs(p['paths'][f'{a}->{b}'] - v) for (a, b), v in SEMPLS.items()):.1e}"
                    if p else "n/a") + " |")
    if p:
        diff = max(abs(ours["paths"][k] - p["paths"][k]) for k in ours["paths"])
        lines.append(f"| max abs diff cvm vs plspm, all 12 paths | {diff:.1e} | |")
    lines += ["", "Path coefficients and bootstrap standard errors:", "",
              "| path | cvm | cvm SE | plspm | plspm SE |", "|---|---|---|---|---|"]
    for k, v in ours["paths"].items():
        pv = p.get("paths", {}).get(k)
        pse = next((s for name, s in p.get("bootstrap_se", {}).items()
                    if name.replace(" ", "") == k), None)
        lines.append(f"| {k} | {v:.6f} | {ours['bootstrap_se'][k]:.4f} | "
                     f"{'n/a' if pv is None else f'{pv:.6f}'} | "
                     f"{'n/a' if pse is None else f'{pse:.4f}'} |")
    if not p:
        lines += ["", f"plspm: {peer}"]
    if p:
        lines += ["", f"plspm environment: plspm 0.5.7, {p['env']} (separate venv)."]
    lines += ["", "Notes: plspm is given indicators standardised by hand (n - 1 sd) with "
              "scaled=False; its bootstrap resamples are therefore not re-standardised, while "
              "cvm standardises each resample (as semPLS does), so SEs differ slightly. "
              "Bootstrap SEs also differ by Monte Carlo error (different random resamples)."]
    args.out.write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

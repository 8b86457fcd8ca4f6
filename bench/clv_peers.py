"""Peer fits for bench/clv_bench.py, run in a subprocess with the peer's own Python.

    <python> bench/clv_peers.py {lifetimes,pymc} {bgnbd,paretonbd} DATA.npz

DATA.npz holds arrays x, t_x, T (one entry per customer). Prints one JSON object: fit seconds,
score seconds (lifetimes), the estimates keyed r, alpha, a, b (or r, alpha, s, beta) and the
peer's version. Nothing from cvm is imported: this runs in a virtual environment that may not
have it (PyMC-Marketing, with its own numpy and pytensor, lives in its own one).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

NAMES = {"bgnbd": ["r", "alpha", "a", "b"], "paretonbd": ["r", "alpha", "s", "beta"]}


def run_lifetimes(kind, x, t_x, T):
    import lifetimes
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    fitter = BetaGeoFitter() if kind == "bgnbd" else ParetoNBDFitter()
    t0 = time.perf_counter()
    fitter.fit(x, t_x, T)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fitter.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T)
    fitter.conditional_probability_alive(x, t_x, T)
    score_s = time.perf_counter() - t0
    return {"fit_s": fit_s, "score_s": score_s, "version": lifetimes.__version__,
            "params": {n: float(fitter.params_[n]) for n in NAMES[kind]}}


def run_pymc(kind, x, t_x, T):
    """MAP fit with the default priors, twice (the second with pytensor's cache warm)."""
    import pymc_marketing
    from pymc_marketing.clv import BetaGeoModel, ParetoNBDModel

    data = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x,
                         "T": T})
    cls = BetaGeoModel if kind == "bgnbd" else ParetoNBDModel
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        model = cls(data=data)
        model.fit(method="map", progressbar=False)
        times.append(time.perf_counter() - t0)
    post = model.idata.posterior
    return {"fit_s": times[-1], "fit_s_first": times[0], "score_s": float("nan"),
            "version": pymc_marketing.__version__,
            "params": {n: float(np.asarray(post[n]).reshape(-1)[0]) for n in NAMES[kind]}}


def main() -> int:
    peer, kind, path = sys.argv[1:4]
    arrays = np.load(path)
    x, t_x, T = (arrays[k].astype(float) for k in ("x", "t_x", "T"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = (run_lifetimes if peer == "lifetimes" else run_pymc)(kind, x, t_x, T)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

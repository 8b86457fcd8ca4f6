"""A seeded synthetic company: customers, transactions, surveys, service, contracts.

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): while alive a customer buys
at a Poisson rate lambda ~ Gamma(r, alpha) and after each purchase drops out with
probability p ~ Beta(a, b); spend per transaction is Gamma(shape, nu) with
nu ~ Gamma(q, gamma) (the Gamma-Gamma model), scaled by relationship type. Survey answers,
complaints and contract end reasons depend on whether and why a customer drops out, and
customers take up product lines (brands) in a fixed order, so the later analyses (NPS vs
behaviour, churn reasons, propensity to buy a line) have something real to find.

`generate` writes the files; `build_demo` imports them into a workspace through the same
path a user's files take, and with ``jobs`` runs the month's jobs on it (`month_jobs`) so
that the pages, ``cvm kpi`` and ``cvm report`` have stored results to show. The size is a
parameter (up to 1M customers / 10M transactions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["DemoParams", "generate", "build_demo", "month_jobs", "last_month_end",
           "DEMO_MEMBERS"]

#: Customers the demo enrols in its loyalty programme (as `cvm programme init --demo`).
DEMO_MEMBERS = 1000

_REL_TYPES = np.array(["consumer", "business", "channel", "internal"])
_REL_P = [0.82, 0.12, 0.04, 0.02]
_REL_SPEND = np.array([1.0, 4.0, 8.0, 0.5])
_REGIONS = np.array(["north", "south", "east", "west", "central", "coastal"])
_BRANDS = np.array(["Aurora", "Borealis", "Cirrus", "Delta"])
_PRODUCTS = {b: [f"{b} {s}" for s in ("Basic", "Plus", "Pro")] for b in _BRANDS}
_CHANNELS = np.array(["store", "web", "app", "partner"])
_TOUCHPOINTS = np.array(["branch", "call_centre", "account_manager", "web", "mobile", "on_site"])
_TOUCH_P = [0.2, 0.35, 0.05, 0.2, 0.15, 0.05]
# median first-response delay in minutes by touchpoint: a call answered in seconds, a web
# message in minutes, an engineer on site in hours
_RESPONSE_MIN = np.array([5.0, 0.3, 120.0, 4.0, 2.0, 100.0])
_REASONS = np.array(["active_natural", "active_competitive", "active_our_fault",
                     "passive_non_malicious", "passive_retaliatory"])


@dataclass(frozen=True)
class DemoParams:
    """Size and behaviour of the synthetic company (defaults: about 20,000 customers)."""

    customers: int = 20_000
    start: dt.date = dt.date(2023, 1, 1)
    days: int = 730
    seed: int = 42
    r: float = 0.9  # purchase rate heterogeneity: lambda ~ Gamma(r, alpha) per day
    alpha: float = 22.0
    a: float = 0.8  # dropout: p ~ Beta(a, b)
    b: float = 6.0
    spend_shape: float = 4.0  # Gamma-Gamma: z ~ Gamma(p, nu), nu ~ Gamma(q, gamma)
    spend_q: float = 3.5
    spend_gamma: float = 120.0
    survey_share: float = 0.25


def _ts(start: dt.date, days: np.ndarray) -> np.ndarray:
    base = np.datetime64(start, "s")
    return base + (days * 86400).astype("timedelta64[s]")


def generate(directory: str | Path, params: DemoParams = DemoParams()) -> dict[str, Path]:
    """Write the company's files (Parquet) to ``directory``; return table -> file."""
    rng = np.random.default_rng(params.seed)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    n, days = params.customers, params.days

    # customers: acquired over the first three quarters of the period
    rel = rng.choice(len(_REL_TYPES), n, p=_REL_P)
    signup = rng.uniform(0, days * 0.75, n)
    ids = np.char.zfill(np.arange(1, n + 1).astype(str), 6)
    region = rng.choice(_REGIONS, n)
    plan_family = rng.choice(np.array(["prepaid", "postpaid", "premium"]), n, p=[0.4, 0.45, 0.15])

    # repeat purchases: Poisson while alive, dropout after each purchase
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p_drop = rng.beta(params.a, params.b, n)
    horizon = days - signup
    n_poisson = rng.poisson(lam * horizon)
    n_alive = rng.geometric(p_drop) - 1  # repeat purchases made before dropping out
    n_repeat = np.minimum(n_poisson, n_alive)
    dropped = n_alive < n_poisson
    # given their number, Poisson arrival times are uniform order statistics: draw all
    # n_poisson arrivals of each customer, sort them, keep the first n_repeat
    pown = np.repeat(np.arange(n), n_poisson)
    u = rng.uniform(0, 1, pown.size)
    order = np.lexsort((u, pown))
    pown, u = pown[order], u[order]
    k = np.arange(pown.size) - np.repeat(np.cumsum(n_poisson) - n_poisson, n_poisson)
    keep = k < n_repeat[pown]
    owner = np.concatenate([np.arange(n), pown[keep]])
    day = np.concatenate([signup, signup[pown[keep]] + u[keep] * horizon[pown[keep]]])
    order = np.lexsort((day, owner))
    owner, day = owner[order], day[order]
    last_day = np.zeros(n)
    np.maximum.at(last_day, owner, day)

    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, n)  # rate of the spend gamma
    amount = rng.gamma(params.spend_shape, 1.0 / nu[owner]) * _REL_SPEND[rel[owner]] / 10
    amount = np.round(amount, 2)
    margin = rng.uniform(0.45, 0.8, owner.size)
    # draws kept so that every other column stays as it was before lines came in sequence
    rng.integers(0, len(_BRANDS), n)
    rng.uniform(size=owner.size)
    rng.integers(0, len(_BRANDS), owner.size)
    tier_idx = rng.choice(3, owner.size, p=[0.5, 0.35, 0.15])
    brand_idx = _lines_in_sequence(np.random.default_rng([params.seed, 1]), owner, n)
    products = np.array([_PRODUCTS[b][t] for b in _BRANDS for t in range(3)])
    files = {}
    tx = pa.table({
        "txn_id": pa.array(np.char.add("T", np.arange(1, owner.size + 1).astype(str))),
        "customer": pa.array(ids[owner]),
        "purchased_at": pa.array(_ts(params.start, day)),
        "net_amount": amount,
        "cost": np.round(amount * margin, 2),
        "quantity": rng.integers(1, 4, owner.size).astype(float),
        "product": pa.array(products[brand_idx * 3 + tier_idx]),
        "brand": pa.array(_BRANDS[brand_idx]),
        "channel": pa.array(rng.choice(_CHANNELS, owner.size, p=[0.35, 0.3, 0.25, 0.1])),
    })
    files["transactions"] = out / "transactions.parquet"
    pq.write_table(tx, files["transactions"])

    # service interactions: more, and more complaints, for customers who drop out
    n_int = rng.poisson(np.where(dropped, 2.0, 1.0))
    iown = np.repeat(np.arange(n), n_int)
    opened = signup[iown] + rng.uniform(0, 1, iown.size) * (
        np.where(dropped[iown], last_day[iown] + 30, days) - signup[iown])
    opened = np.minimum(opened, days - 0.01)
    touch = rng.choice(len(_TOUCHPOINTS), iown.size, p=_TOUCH_P)
    complaint = rng.uniform(size=iown.size) < np.where(dropped[iown], 0.3, 0.08)
    kind = np.where(complaint, "complaint", rng.choice(
        np.array(["inquiry", "request", "praise"]), iown.size, p=[0.6, 0.35, 0.05]))
    response_min = _RESPONSE_MIN[touch] * rng.lognormal(0, 0.8, iown.size)
    resolved_days = response_min / 1440 + rng.exponential(np.where(complaint, 3.0, 0.5))
    unresolved = rng.uniform(size=iown.size) < 0.05
    files["interactions"] = out / "interactions.parquet"
    pq.write_table(pa.table({
        "customer_id": pa.array(ids[iown]),
        "touchpoint": pa.array(_TOUCHPOINTS[touch]),
        "kind": pa.array(kind),
        "opened_at": pa.array(_ts(params.start, opened)),
        "first_response_at": pa.array(_ts(params.start, opened + response_min / 1440)),
        "resolved_at": pa.array(np.where(unresolved, None,
                                         _ts(params.start, opened + resolved_days))),
        "category": pa.array(rng.choice(np.array(["billing", "network", "product", "account"]),
                                        iown.size)),
        "outcome": pa.array(np.where(unresolved, "open", "resolved")),
    }), files["interactions"])

    # contracts: one per customer; dropouts end some time after their last purchase
    complaints_per = np.bincount(iown[complaint], minlength=n)
    ends = np.where(dropped, np.minimum(last_day + rng.uniform(20, 90, n), days - 1), np.nan)
    reason_p = np.array([0.2, 0.35, 0.15, 0.22, 0.08])
    fault_p = np.array([0.1, 0.2, 0.5, 0.1, 0.1])
    reasons = np.where(complaints_per > 0,
                       rng.choice(_REASONS, n, p=fault_p), rng.choice(_REASONS, n, p=reason_p))
    has_end = ~np.isnan(ends)
    start_dates = _ts(params.start, np.floor(signup)).astype("datetime64[D]")
    end_dates = _ts(params.start, np.nan_to_num(np.floor(ends))).astype("datetime64[D]")
    files["contracts"] = out / "contracts.parquet"
    pq.write_table(pa.table({
        "customer_id": pa.array(ids),
        "plan": pa.array(plan_family),
        "start": pa.array(start_dates),
        "end": pa.array(np.where(has_end, end_dates, None)),
        "end_reason": pa.array(np.where(has_end, reasons, None)),
    }), files["contracts"])

    files["customers"] = out / "customers.parquet"
    pq.write_table(pa.table({
        "customer_id": pa.array(ids),
        "relationship_type": pa.array(_REL_TYPES[rel]),
        "region": pa.array(region),
        "segment": pa.array(plan_family),
        "signup_date": pa.array(start_dates),
        "age_band": pa.array(rng.choice(np.array(["18-29", "30-44", "45-59", "60+"]), n)),
    }), files["customers"])

    # survey: NPS, satisfaction and intention items; answers lower for those who leave
    files.update(_survey(out, rng, ids, dropped, complaints_per, params))
    return files


def _lines_in_sequence(rng: np.random.Generator, owner: np.ndarray, n: int,
                       adopt_p: float = 0.2) -> np.ndarray:
    """The product line (index into `_BRANDS`) of each transaction, rows sorted by customer
    and time: a customer's first purchase is of a starting line drawn at random; each later
    purchase takes up the next line of the ladder (start, start + 1, ... modulo the number
    of lines) with probability ``adopt_p`` and otherwise buys again one of the lines already
    taken up. Which lines a customer holds therefore tells which line comes next, the
    pattern a propensity model should find."""
    k = len(_BRANDS)
    start = rng.integers(0, k, n)
    first = np.r_[True, owner[1:] != owner[:-1]]
    adopt = (rng.uniform(size=owner.size) < adopt_p) & ~first
    run = np.cumsum(adopt)
    adopted = run - np.maximum.accumulate(np.where(first, run, 0))  # per-customer count
    held = np.minimum(adopted, k - 1)  # lines taken up besides the start line
    step = np.where(adopt & (adopted <= k - 1), adopted,
                    np.floor(rng.uniform(size=owner.size) * (held + 1)).astype(int))
    return (start[owner] + step) % k


def _survey(out: Path, rng: np.random.Generator, ids: np.ndarray, dropped: np.ndarray,
            complaints: np.ndarray, params: DemoParams) -> dict[str, Path]:
    items = [("nps", "nps", 0, 10, "How likely are you to recommend us to a friend?"),
             ("sat", "satisfaction", 1, 10, "Overall, how satisfied are you?"),
             ("repurchase", "loyalty", 1, 5, "I will keep using the service."),
             ("recommend", "loyalty", 1, 5, "I would recommend the service."),
             ("switch", "loyalty", 1, 5, "I am considering switching to another provider.")]
    who = np.flatnonzero(rng.uniform(size=ids.size) < params.survey_share)
    mood = rng.normal(0, 1, who.size) - 0.9 * dropped[who] - 0.6 * np.minimum(complaints[who], 2)
    answers, item_col = [], []
    for code, _, lo, hi, _ in items:
        sign = -1 if code == "switch" else 1
        mid = (lo + hi) / 2 + (hi - lo) * 0.18
        raw = mid + sign * mood * (hi - lo) / 5 + rng.normal(0, (hi - lo) / 10, who.size)
        answers.append(np.clip(np.round(raw), lo, hi))
        item_col.append(np.full(who.size, code))
    resp = np.char.add("R", who.astype(str))
    when = _ts(params.start, rng.uniform(params.days * 0.5, params.days - 1, who.size))
    path = out / "survey_responses.parquet"
    pq.write_table(pa.table({
        "respondent_id": pa.array(np.tile(resp, len(items))),
        "customer_id": pa.array(np.tile(ids[who], len(items))),
        "survey": pa.array(np.full(who.size * len(items), "relationship")),
        "item": pa.array(np.concatenate(item_col)),
        "answer": np.concatenate(answers),
        "timestamp": pa.array(np.tile(when, len(items))),
    }), path)
    defs = out / "survey_items.parquet"
    pq.write_table(pa.table({
        "survey": ["relationship"] * len(items),
        "item": [i[0] for i in items],
        "construct": [i[1] for i in items],
        "scale_min": [float(i[2]) for i in items],
        "scale_max": [float(i[3]) for i in items],
        "label": [i[4] for i in items],
    }), defs)
    return {"survey_items": defs, "survey_responses": path}


#: Import order (customers first so ids are checked) and --map of each demo file.
DEMO_MAPPINGS = {
    "customers": {},
    "transactions": {"transaction_id": "txn_id", "customer_id": "customer",
                     "timestamp": "purchased_at", "amount": "net_amount"},
    "interactions": {},
    "contracts": {},
    "survey_items": {},
    "survey_responses": {},
}


def build_demo(directory: str | Path, params: DemoParams = DemoParams(), on_table=None,
               jobs: bool = False, on_job=None):
    """Generate the demo company into ``directory/data`` and import it into a new workspace
    at ``directory``; with ``jobs``, then run the month's jobs (`month_jobs`, each reported
    to ``on_job``). Returns the Workspace and the import reports."""
    from cvm.workspace import Workspace

    ws = Workspace.init(directory, exist_ok=True)
    files = generate(Path(directory) / "data", params)
    reports = []
    for table, mapping in DEMO_MAPPINGS.items():
        report = ws.import_file(table, files[table], mapping)
        reports.append(report)
        if on_table is not None:
            on_table(report)
    if jobs:
        month_jobs(ws, on_job=on_job)
    return ws, reports


def last_month_end(day: dt.date) -> dt.date:
    """The last day of the last complete month up to ``day``: ``day`` itself when it ends
    its month, else the end of the month before."""
    if (day + dt.timedelta(days=1)).day == 1:
        return day
    return day.replace(day=1) - dt.timedelta(days=1)


def month_jobs(ws, months: int = 2, members: int = DEMO_MEMBERS, on_job=None) -> list[dt.date]:
    """The monthly jobs for the last ``months`` complete month ends of the workspace's data,
    oldest first: the scoring run (`ScoringFacade.run`), the month's opportunities
    (`OpportunitiesFacade.build`) and cases (`CasesFacade.open`); the demo loyalty programme
    with ``members`` customers enrolled (what `cvm programme init --demo` does); then each
    month's KPI tree (`KpiFacade.compute`), so the later month has a trend and
    `cvm score drift` two runs. ``on_job(text, seconds)`` hears of each job done (from
    another thread for the programme). Returns the month ends.

    The programme's enrolment commits each booked purchase durably, so it waits on the
    disk more than it computes: it runs beside the first month's scoring, in a thread with
    its own `Workspace` object (its own engine connection), and is finished before any
    opportunities are built (they read the members' way to the next tier)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from cvm.errors import WorkspaceError
    from cvm.workspace import Workspace

    latest = ws.latest_day()
    if latest is None:
        raise WorkspaceError(f"{ws.path}: no transactions to run the month's jobs on")
    ends = [last_month_end(latest)]
    while len(ends) < months:
        ends.insert(0, ends[0].replace(day=1) - dt.timedelta(days=1))

    def job(text, fn):
        start = time.perf_counter()
        out = fn()
        if on_job is not None:
            on_job(text, time.perf_counter() - start)
        return out

    def programme():
        prog = Workspace(ws.path, ws.settings).programme
        try:
            return prog.init(demo=True, members=members)
        finally:
            prog.close()

    ws.programme.init()  # the operational database created or upgraded once, here
    with ThreadPoolExecutor(max_workers=1) as pool:
        enrolled = pool.submit(job, f"set up the loyalty programme with {members:,} members",
                               programme)
        for i, day in enumerate(ends):
            job(f"scored every customer as of {day}", lambda d=day: ws.scoring.run(d))
            if i == 0:
                enrolled.result()
            job(f"built the opportunities of {day}", lambda d=day: ws.opportunities.build(d))
            job(f"opened the cases up to {day}", lambda d=day: ws.cases.open(d))
        enrolled.result()
    for day in ends:
        job(f"computed the KPIs of {day}", lambda d=day: ws.kpi.compute(d))
    return ends

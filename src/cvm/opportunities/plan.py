"""From the month's scores and facts to a list of opportunities: rules, the contact policy,
the control group, owners, due days (pure pandas, so every step is checked exactly).

Order: each rule's eligible customers (cross-sell: the line with the highest propensity);
then the contact policy on them, highest priority first: no offer of a kind the customer
declined in the last ``suppress_days_after_decline`` days; at most
``max_contacts_per_channel_month`` per customer and channel in the calendar month (counting
earlier runs of the month); at most ``max_open_per_customer`` open at once (counting those
still open from earlier runs); then ``control_share`` of each kind held back at random
(exactly round(share x n), seeded by the day and kind); then owners, round-robin over each
queue's staff within ``capacity``; due = as-of day + ``due_days``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np
import pandas as pd

from cvm.opportunities.rules import Rules

__all__ = ["evidence_frame", "plan", "COLUMNS", "FINAL_OUTCOMES"]

COLUMNS = ["opportunity_id", "as_of", "customer_id", "kind", "line", "priority", "action",
           "channel", "owner", "due", "expires", "control", "status", "evidence"]
#: Outcomes that close an opportunity; contacted and no_answer leave it open.
FINAL_OUTCOMES = ("accepted", "declined", "not_reachable")

#: Evidence each kind's reason is built from (only those present are kept).
EVIDENCE = {
    "retention_call": ("churn_probability", "churn_probability_before", "revenue_potential",
                       "revenue_potential_top", "complaints_30d"),
    "cross_sell": ("line", "best_propensity", "line_mean_propensity", "revenue_potential",
                   "revenue_potential_top"),
    "win_back": ("days_since_purchase", "revenue_potential", "revenue_potential_top"),
    "service_recovery": ("complaints_30d", "detractor_30d", "detractor_day",
                         "revenue_potential", "revenue_potential_top"),
    "payment_reminder": ("default_risk", "revenue_potential", "revenue_potential_top"),
    "tier_upgrade": ("next_tier", "tier_gap", "tier_basis", "revenue_potential",
                     "revenue_potential_top"),
}
_DEFAULT_EVIDENCE = ("revenue_potential", "revenue_potential_top")


def evidence_frame(scores: pd.DataFrame, before: pd.DataFrame | None,
                   facts: pd.DataFrame, lines: dict[str, str]) -> pd.DataFrame:
    """The month's scores (index customer_id) with what the rules and reasons read:
    ``churn_probability_before`` and ``_change`` (against the previous run),
    ``revenue_potential_top`` (the share of customers ranked at or above, 0.05 = top 5%),
    ``best_line``/``best_propensity``/``line_mean_propensity`` (the line not held with the
    highest propensity), and the facts."""
    f = scores.join(facts, how="left")
    if before is not None and "churn_probability" in before.columns:
        f["churn_probability_before"] = before["churn_probability"].reindex(f.index)
        if "churn_probability" in f.columns:
            f["churn_probability_change"] = (f["churn_probability"]
                                             - f["churn_probability_before"])
    if "revenue_potential" in f.columns:
        rp = f["revenue_potential"]
        rank = rp.rank(ascending=False, method="max")
        f["revenue_potential_top"] = rank / rp.notna().sum()
    cols = [c for c in f.columns if c.startswith("propensity_")]
    if cols:
        p = f[cols]
        has = p.notna().any(axis=1)
        best = p.fillna(-1).idxmax(axis=1).where(has)
        f["best_propensity"] = p.max(axis=1, skipna=True)
        keys = {f"propensity_{k}": name for name, k in lines.items()}
        f["best_line_score"] = best
        f["line"] = best.map(keys)
        means = p.mean(skipna=True)
        f["line_mean_propensity"] = best.map(means)
    return f


def _rng(*parts) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8],
                          "little")
    return np.random.default_rng(seed)


def plan(frame: pd.DataFrame, rules: Rules, as_of: dt.date,
         history: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(opportunities with `COLUMNS`, what the policy held back and why).

    ``history``: earlier opportunities with as_of, customer_id, kind, channel, control,
    expires, outcome (the latest, or blank) and outcome_day.
    """
    pol = rules.policy
    cands = []
    for rule in rules.rules:
        ok = rule.eligible(frame)
        if not ok.any():
            continue
        rows = frame[ok]
        keep = EVIDENCE.get(rule.kind, _DEFAULT_EVIDENCE)
        ev = rows[[c for c in keep if c in rows.columns]]
        cands.append(pd.DataFrame({
            "customer_id": rows.index, "kind": rule.kind,
            "line": rows["line"].to_numpy() if rule.kind == "cross_sell" and "line" in rows
            else None,
            "priority": rule.priority(rows), "action": rule.action, "channel": rule.channel,
            "due": as_of + dt.timedelta(days=rule.due_days),
            "evidence": ([{k: _plain(v) for k, v in r.items() if not _blank(v)}
                          for r in ev.to_dict("records")] if ev.shape[1]
                         else [{} for _ in range(len(rows))]),
        }))
    if not cands:
        return pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=["customer_id", "kind",
                                                                    "held_back"])
    c = pd.concat(cands, ignore_index=True)
    c = c.sort_values(["priority", "customer_id", "kind"], ascending=[False, True, True],
                      kind="stable").reset_index(drop=True)
    held = pd.Series("", index=c.index)
    h = history if history is not None else pd.DataFrame(
        columns=["as_of", "customer_id", "kind", "channel", "control", "expires", "outcome",
                 "outcome_day"])
    sent = h[~h["control"].astype(bool)] if len(h) else h
    # 1. suppression after a decline of the same kind
    if len(sent):
        since = as_of - dt.timedelta(days=pol.suppress_days_after_decline)
        dec = sent[(sent["outcome"] == "declined")
                   & (pd.to_datetime(sent["outcome_day"]) > pd.Timestamp(since))]
        declined = set(zip(dec["customer_id"], dec["kind"], strict=True))
        hit = [(a, b) in declined for a, b in zip(c["customer_id"], c["kind"], strict=True)]
        held[np.array(hit, dtype=bool) & (held == "")] = "declined recently"
    # 2. contacts per customer and channel this month; 3. open per customer
    month = (as_of.year, as_of.month)
    used: dict[tuple, int] = {}
    open_now: dict[str, int] = {}
    for r in sent.itertuples(index=False) if len(sent) else []:
        day = pd.Timestamp(r.as_of).date()
        if (day.year, day.month) == month and day < as_of:
            used[(r.customer_id, r.channel)] = used.get((r.customer_id, r.channel), 0) + 1
        final = isinstance(r.outcome, str) and r.outcome in FINAL_OUTCOMES
        if day < as_of and pd.Timestamp(r.expires).date() > as_of and not final:
            open_now[r.customer_id] = open_now.get(r.customer_id, 0) + 1
    for i, r in enumerate(c.itertuples(index=False)):
        if held.iat[i]:
            continue
        key = (r.customer_id, r.channel)
        if used.get(key, 0) >= pol.max_contacts_per_channel_month:
            held.iat[i] = "contact limit for the channel this month"
        elif open_now.get(r.customer_id, 0) >= pol.max_open_per_customer:
            held.iat[i] = "open opportunity limit"
        else:
            used[key] = used.get(key, 0) + 1
            open_now[r.customer_id] = open_now.get(r.customer_id, 0) + 1
    out = c[held == ""].reset_index(drop=True)
    back = c.loc[held != "", ["customer_id", "kind"]].assign(held_back=held[held != ""])
    # 4. the control group, exactly round(share x n) per kind
    out["control"] = False
    for kind, idx in out.groupby("kind").groups.items():
        n = len(idx)
        k = math.floor(pol.control_share * n + 0.5)
        if k:
            chosen = _rng(as_of.isoformat(), kind).choice(np.asarray(idx), k, replace=False)
            out.loc[chosen, "control"] = True
    # 5. owners
    out["owner"], out["status"] = _owners(out, frame, rules)
    out["as_of"] = as_of
    out["expires"] = as_of + dt.timedelta(days=pol.expiry_days)
    out["opportunity_id"] = [f"{as_of:%Y%m%d}-{k}-{cid}"
                             for k, cid in zip(out["kind"], out["customer_id"], strict=True)]
    return out[COLUMNS], back.reset_index(drop=True)


def _owners(out: pd.DataFrame, frame: pd.DataFrame, rules: Rules
            ) -> tuple[list[str], list[str]]:
    o = rules.owners
    rel = frame.get("relationship_type", pd.Series(dtype=object))
    region = frame.get("region", pd.Series(dtype=object))
    manager = frame.get("account_manager", pd.Series(dtype=object))
    load: dict[str, int] = {}
    turn: dict[str, int] = {}
    owners, status = [], []
    for r in out.itertuples(index=False):
        cid = r.customer_id
        if rel.get(cid) == "business":
            m = manager.get(cid)
            group = m if isinstance(m, str) and m.strip() else o.account_manager_queue
        elif isinstance(region.get(cid), str) and region.get(cid).strip():
            group = o.branch_prefix + region.get(cid)
        else:
            group = o.call_centre
        staff = o.staff.get(group) or [group]
        start = turn.get(group, 0)
        pick = None
        for step in range(len(staff)):
            who = staff[(start + step) % len(staff)]
            if r.control or load.get(who, 0) < o.capacity:
                pick = who
                turn[group] = (start + step + 1) % len(staff)
                break
        if pick is None:
            owners.append("")
            status.append("over_capacity")
            continue
        if not r.control:
            load[pick] = load.get(pick, 0) + 1
        owners.append(pick)
        status.append("control" if r.control else "open")
    return owners, status


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _plain(v):
    """JSON-ready evidence values (numpy scalars and dates as Python's)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (dt.date, pd.Timestamp)):
        return pd.Timestamp(v).date().isoformat()
    return v
